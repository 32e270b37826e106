"""paperwire's Slack app manifest as shipped, and a copy for HTTP mode (pure: no I/O but the file).

``manifest.yml`` next to this module is the one source: ``paperwire slack manifest`` prints it
as is (Socket Mode, with the comments that say why each scope is needed), and
deploy/slack-manifest.yml is a byte-identical copy for people reading the repository (a test
keeps it so). ``http_manifest`` fills in Slack's request URLs for a paperwire reached at a
public https address: everything at /slack/events, the OAuth install returning to
/slack/oauth_redirect (DESIGN.md section 8).
"""

from __future__ import annotations

import copy
import re
from importlib import resources
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

__all__ = [
    "EVENTS_PATH",
    "INSTALL_PATH",
    "MAX_URL_LENGTH",
    "OAUTH_REDIRECT_PATH",
    "InvalidRequestURL",
    "http_manifest",
    "http_manifest_text",
    "load_manifest",
    "manifest_text",
    "request_base",
]

EVENTS_PATH: Final = "/slack/events"  # Bolt's default: commands, events and interactions
INSTALL_PATH: Final = "/slack/install"
OAUTH_REDIRECT_PATH: Final = "/slack/oauth_redirect"
# The longest redirect URL a manifest may hold (Slack's manifest schema; request URLs may be
# longer): a base that fits it fits everywhere.
MAX_URL_LENGTH: Final = 2500
_EXAMPLE: Final = "https://paperwire.example.org"
_SPACE: Final = re.compile(r"[\s\x00-\x1f\x7f]")
_MANGLED_SCHEME: Final = re.compile(r"[a-z][a-z0-9+.-]*:(?!\d)", re.IGNORECASE)


class InvalidRequestURL(ValueError):
    """``--url`` is not an address Slack can send requests to; the message says what to type."""


def manifest_text() -> str:
    """The manifest file as shipped: Socket Mode, comments and all."""
    package = __name__.rpartition(".")[0]
    return (resources.files(package) / "manifest.yml").read_text(encoding="utf-8")


def load_manifest() -> dict[str, Any]:
    """The shipped manifest as data."""
    data = yaml.safe_load(manifest_text())
    if not isinstance(data, dict):  # our own file: a broken one is a bug, not bad input
        raise TypeError("manifest.yml is not a YAML mapping")
    return data


def request_base(url: str) -> str:
    """``url`` checked, without its trailing slash: where paperwire's /slack/... paths go.

    Slack sends requests only to https addresses. A path prefix is kept (a proxy may serve
    paperwire under one); a query or fragment would be dropped by the paths appended, and a
    user name or password Slack would not send, so those are refused.
    """
    text = url.strip()  # pasted with spaces around it
    if not text:
        raise InvalidRequestURL(f"--url needs paperwire's public address, like --url {_EXAMPLE}")
    if _SPACE.search(text):
        raise InvalidRequestURL(
            f"--url has a space or line break in it: give one address, like --url {_EXAMPLE}"
        )
    scheme, sep, rest = text.partition("://")
    if "@" in re.split(r"[/?#]", rest if sep else text, maxsplit=1)[0]:
        # Never shown back, not even in a suggested fix: it may be a password.
        raise InvalidRequestURL(
            "--url must not carry a user name or password (Slack does not send them): "
            "give --url https://HOST"
        )
    if not sep:
        if _MANGLED_SCHEME.match(text):  # https:/host, https:host...: no safe guess
            raise InvalidRequestURL(f"--url must start with https://, like --url {_EXAMPLE}")
        fixed = request_base(f"https://{text}")  # the fix, checked itself (it may still be bad)
        raise InvalidRequestURL(f"--url needs https:// in front: --url {fixed}")
    if scheme.lower() == "http":
        fixed = request_base(f"https://{rest}")
        raise InvalidRequestURL(
            "--url must be https:// (Slack sends requests only to https addresses; put a TLS "
            f"proxy or tunnel in front of paperwire): --url {fixed}"
        )
    if scheme.lower() != "https":
        raise InvalidRequestURL(f"--url must be an https:// address, like --url {_EXAMPLE}")
    if "?" in rest or "#" in rest:
        fixed = request_base("https://" + re.split(r"[?#]", rest, maxsplit=1)[0])
        raise InvalidRequestURL(
            f"--url takes no query or fragment (?... or #...): give the address alone, "
            f"--url {fixed}"
        )
    try:
        parts = urlsplit(f"https://{rest}")
    except ValueError as exc:  # an unclosed [IPv6 literal
        raise InvalidRequestURL(f"--url is not an address ({exc}): try --url {_EXAMPLE}") from None
    if not parts.hostname:
        raise InvalidRequestURL(f"--url needs a host name after https://, like --url {_EXAMPLE}")
    try:
        port = parts.port
    except ValueError:  # not a number, or over 65535
        port = 0
    if port == 0:
        raise InvalidRequestURL(
            f"--url has a bad port: give a number from 1 to 65535, like --url {_EXAMPLE}:8443"
        )
    netloc = parts.netloc.removesuffix(":")  # an empty port
    path = parts.path.rstrip("/")
    for endpoint in (EVENTS_PATH, OAUTH_REDIRECT_PATH, INSTALL_PATH):
        if path.endswith(endpoint):
            prefix = path.removesuffix(endpoint)
            raise InvalidRequestURL(
                f"--url is paperwire's address without {endpoint}: --url https://{netloc}{prefix}"
            )
    base = f"https://{netloc}{path}"
    if len(base) + len(OAUTH_REDIRECT_PATH) > MAX_URL_LENGTH:
        raise InvalidRequestURL(
            f"--url is too long: Slack takes URLs of up to {MAX_URL_LENGTH} characters"
        )
    return base


def http_manifest(url: str, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``manifest`` (the shipped one) for HTTP mode at ``url``: Socket Mode off,
    every request URL and the OAuth redirect filled in. ``manifest`` is left as it was."""
    base = request_base(url)
    events = base + EVENTS_PATH
    result = copy.deepcopy(load_manifest() if manifest is None else manifest)
    features = result["features"]
    features["slash_commands"] = [
        _put(command, "url", events, after="command") for command in features["slash_commands"]
    ]
    settings = result["settings"]
    settings["event_subscriptions"] = _put(settings["event_subscriptions"], "request_url", events)
    settings["interactivity"] = _put(
        settings["interactivity"], "request_url", events, after="is_enabled"
    )
    settings["socket_mode_enabled"] = False
    result["oauth_config"] = _put(
        result["oauth_config"], "redirect_urls", [base + OAUTH_REDIRECT_PATH]
    )
    return result


def http_manifest_text(url: str) -> str:
    """``http_manifest`` as YAML, under a comment saying where Slack will send what."""
    base = request_base(url)
    header = (
        "# paperwire's Slack app manifest for HTTP mode (made by `paperwire slack manifest "
        "--url`).\n"
        f"# Slack sends commands, events and interactions to {base}{EVENTS_PATH}\n"
        f"# and the OAuth install returns to {base}{OAUTH_REDIRECT_PATH}.\n"
        "# Run paperwire with SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (one workspace), or with\n"
        "# SLACK_SIGNING_SECRET, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install it in many\n"
        f"# workspaces from {base}{INSTALL_PATH}. Why each scope is needed: see the Socket\n"
        "# Mode manifest (`paperwire slack manifest`).\n"
    )
    body = yaml.safe_dump(http_manifest(url), sort_keys=False, allow_unicode=True, width=1_000_000)
    return header + body


def _put(
    mapping: dict[str, Any], key: str, value: Any, *, after: str | None = None
) -> dict[str, Any]:
    """``mapping`` with ``key`` set, placed after ``after`` (first when None), as people read."""
    items = [(k, v) for k, v in mapping.items() if k != key]
    at = 0 if after is None else [k for k, _ in items].index(after) + 1
    items.insert(at, (key, value))
    return dict(items)
