"""The Slack app manifest: what it asks Slack for, kept in step with the command set, and the
copy for HTTP mode with every request URL under the address given."""

from __future__ import annotations

import copy
import re
import tomllib
from typing import Any

import pytest
import yaml

from bot.adapters.slack.manifest import (
    EVENTS_PATH,
    OAUTH_REDIRECT_PATH,
    InvalidRequestURL,
    http_manifest,
    load_manifest,
    manifest_text,
    request_base,
)
from bot.core import chat, ids
from tests.paths import REPO

PACKAGE_FILE = REPO / "bot" / "adapters" / "slack" / "manifest.yml"
DEPLOY_FILE = REPO / "deploy" / "slack-manifest.yml"

SCOPES = {
    "commands",
    "chat:write",
    "links:read",
    "links:write",
    "users:read",
    "channels:read",
    "groups:read",
    "usergroups:read",
    "channels:history",
    "groups:history",
    "reactions:read",
}
BOT_EVENTS = {"app_home_opened", "link_shared", "app_uninstalled", "tokens_revoked"}


@pytest.fixture
def manifest() -> dict[str, Any]:
    return load_manifest()


# --- one file, shipped in the package and in deploy/ ------------------------------------


def test_the_deploy_file_is_the_packaged_manifest_byte_for_byte() -> None:
    assert DEPLOY_FILE.read_bytes() == PACKAGE_FILE.read_bytes(), (
        "deploy/slack-manifest.yml differs from bot/adapters/slack/manifest.yml, the one "
        "`paperwire slack manifest` prints: edit the package file, then "
        "cp bot/adapters/slack/manifest.yml deploy/slack-manifest.yml"
    )


def test_the_manifest_is_package_data_so_an_installed_cli_finds_it() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    assert "manifest.yml" in package_data["bot.adapters.slack"]


def test_manifest_text_is_the_file_as_is() -> None:
    assert manifest_text() == PACKAGE_FILE.read_text(encoding="utf-8")


# --- only fields Slack knows, within Slack's limits --------------------------------------

# The keys each object of a v1 manifest may have and the length limits of the strings we use,
# from Slack's published schema (github.com/slackapi/manifest-schema,
# schemas/manifest.schema.1.0.0.json): it refuses any other key, so a typo is caught here.
KNOWN_KEYS: dict[str, set[str]] = {
    "": {"_metadata", "display_information", "features", "oauth_config", "settings"},
    "_metadata": {"major_version", "minor_version"},
    "display_information": {"name", "description", "background_color", "long_description"},
    "features": {"app_home", "bot_user", "slash_commands", "unfurl_domains", "shortcuts"},
    "features.app_home": {
        "home_tab_enabled",
        "messages_tab_enabled",
        "messages_tab_read_only_enabled",
    },
    "features.bot_user": {"display_name", "always_online"},
    "features.slash_commands[]": {"command", "url", "description", "usage_hint", "should_escape"},
    "oauth_config": {"redirect_urls", "scopes", "token_management_enabled", "pkce_enabled"},
    "oauth_config.scopes": {"bot", "user", "bot_optional", "user_optional"},
    "settings": {
        "allowed_ip_address_ranges",
        "event_subscriptions",
        "incoming_webhooks",
        "interactivity",
        "org_deploy_enabled",
        "socket_mode_enabled",
        "token_rotation_enabled",
    },
    "settings.event_subscriptions": {"request_url", "bot_events", "user_events"},
    "settings.interactivity": {"is_enabled", "request_url", "message_menu_options_url"},
}
MAX_LENGTH = {
    "display_information.name": 35,
    "display_information.description": 140,
    "features.bot_user.display_name": 80,
    "features.slash_commands[].command": 32,
    "features.slash_commands[].description": 2000,
    "features.slash_commands[].usage_hint": 1000,
    "features.slash_commands[].url": 3000,
    "settings.event_subscriptions.request_url": 3500,
    "settings.interactivity.request_url": 3500,
    "oauth_config.redirect_urls[]": 2500,
}
UNFURL_DOMAIN = re.compile(r"^(?![.-])[-a-z0-9.]+[a-z0-9]$")  # the schema's pattern


def schema_problems(manifest: dict[str, Any]) -> list[str]:
    """Keys Slack does not know and strings over Slack's limits, by their dotted path."""
    problems: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if path in KNOWN_KEYS:
                problems.extend(
                    f"{path or 'top level'}: unknown key {key!r}"
                    for key in value
                    if key not in KNOWN_KEYS[path]
                )
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for child in value:
                walk(child, f"{path}[]")
        elif isinstance(value, str) and len(value) > MAX_LENGTH.get(path, 10_000):
            problems.append(f"{path}: {len(value)} characters, over {MAX_LENGTH[path]}")

    walk(manifest, "")
    return problems


def test_the_manifest_has_only_fields_slack_knows_within_its_limits(
    manifest: dict[str, Any],
) -> None:
    assert schema_problems(manifest) == []
    assert manifest["_metadata"]["major_version"] == 1
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", manifest["display_information"]["background_color"])
    domains = manifest["features"]["unfurl_domains"]
    assert 1 <= len(domains) <= 5
    assert len(set(domains)) == len(domains)
    assert all(UNFURL_DOMAIN.match(domain) for domain in domains)


def test_the_http_copy_has_only_fields_slack_knows_within_its_limits() -> None:
    assert schema_problems(http_manifest("https://paperwire.example.org/bot")) == []


def test_the_validator_catches_a_mistyped_key(manifest: dict[str, Any]) -> None:
    manifest["features"]["app_home"]["home_tab_enable"] = True
    assert schema_problems(manifest) == ["features.app_home: unknown key 'home_tab_enable'"]


# --- what the app asks for ----------------------------------------------------------------


def test_socket_mode_by_default_with_no_request_urls(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert "request_url" not in settings["event_subscriptions"]
    assert "request_url" not in settings["interactivity"]
    assert "redirect_urls" not in manifest["oauth_config"]
    assert all("url" not in command for command in manifest["features"]["slash_commands"])


def test_the_bot_asks_for_exactly_the_scopes_it_uses(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}  # no user token
    assert sorted(scopes["bot"]) == sorted(SCOPES)


@pytest.mark.parametrize("scope", sorted(SCOPES))
def test_every_scope_says_why_it_is_needed(scope: str) -> None:
    line = re.search(rf"^ +- {re.escape(scope)}( .*)?$", manifest_text(), re.MULTILINE)
    assert line is not None
    assert re.fullmatch(r" +# \w.{10,}", line.group(1) or ""), f"{scope} has no reason"


def test_the_bot_hears_exactly_the_events_it_handles(manifest: dict[str, Any]) -> None:
    assert sorted(manifest["settings"]["event_subscriptions"]["bot_events"]) == sorted(BOT_EVENTS)
    assert "user_events" not in manifest["settings"]["event_subscriptions"]


def test_the_app_home_bot_user_and_settings(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    assert features["app_home"] == {"home_tab_enabled": True, "messages_tab_enabled": False}
    assert features["bot_user"] == {"display_name": "paperwire", "always_online": True}
    assert manifest["display_information"]["name"] == "paperwire"
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_every_host_a_paper_link_may_have_unfurls(manifest: dict[str, Any]) -> None:
    # The hosts whose links parse_arxiv_id reads (private to ids.py: this test keeps the two
    # in step). Slack sends link_shared for a registered domain and its subdomains.
    hosts = ids._ARXIV_HOSTS | ids._HF_HOSTS | ids._ALPHAXIV_HOSTS
    domains = manifest["features"]["unfurl_domains"]
    for host in hosts:
        assert any(host == d or host.endswith(f".{d}") for d in domains), host
    for domain in domains:
        assert any(host == domain or host.endswith(f".{domain}") for host in hosts), domain


# --- the slash commands are the command set ----------------------------------------------


def slash(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in manifest["features"]["slash_commands"] if c["command"] == name]
    assert len(found) == 1, name
    return found[0]


def test_the_slash_commands_are_the_chat_command_set(manifest: dict[str, Any]) -> None:
    names = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert names == [f"/{chat.LOOKUP}", f"/{chat.GROUP}"]
    assert slash(manifest, f"/{chat.LOOKUP}")["description"] == chat.LOOKUP_SPEC.description
    assert slash(manifest, f"/{chat.GROUP}")["description"] == chat.GROUP_DESCRIPTION


def test_the_papers_usage_hint_lists_every_subcommand_in_order(manifest: dict[str, Any]) -> None:
    hint = slash(manifest, f"/{chat.GROUP}")["usage_hint"]
    assert hint.split(" | ") == [spec.name for spec in chat.COMMANDS]


def test_the_paper_usage_hint_shows_forms_parse_slack_reads(manifest: dict[str, Any]) -> None:
    hint = slash(manifest, f"/{chat.LOOKUP}")["usage_hint"]
    assert hint == "2403.13043 | https://arxiv.org/abs/... | title words [--private]"
    assert "--private" in chat.PRIVATE_FLAGS
    _, args = chat.parse_slack(f"/{chat.LOOKUP}", "2403.13043 --private")
    assert args == {"paper": "2403.13043", "private": True}


def test_command_text_arrives_as_typed(manifest: dict[str, Any]) -> None:
    # parse_slack reads plain text: Slack must not rewrite @names and #channels into <...>.
    assert all(c["should_escape"] is False for c in manifest["features"]["slash_commands"])


# --- the copy for HTTP mode -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://paperwire.example.org", "https://paperwire.example.org"),
        ("https://paperwire.example.org/", "https://paperwire.example.org"),
        ("https://example.org/bot/", "https://example.org/bot"),
        ("https://example.org/a/b", "https://example.org/a/b"),
        ("https://example.org:8443/bot", "https://example.org:8443/bot"),
        ("HTTPS://Example.org", "https://Example.org"),
        ("  https://example.org  ", "https://example.org"),  # pasted with spaces around
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
    ],
)
def test_request_base_takes_a_root_or_a_path_prefix(url: str, base: str) -> None:
    assert request_base(url) == base


def test_http_mode_fills_every_request_url_and_turns_socket_mode_off(
    manifest: dict[str, Any],
) -> None:
    http = http_manifest("https://example.org/bot/")
    events = "https://example.org/bot/slack/events"
    assert EVENTS_PATH == "/slack/events"
    assert OAUTH_REDIRECT_PATH == "/slack/oauth_redirect"
    assert http["settings"]["socket_mode_enabled"] is False
    assert http["settings"]["event_subscriptions"]["request_url"] == events
    assert http["settings"]["interactivity"]["request_url"] == events
    assert [c["url"] for c in http["features"]["slash_commands"]] == [events, events]
    assert http["oauth_config"]["redirect_urls"] == ["https://example.org/bot/slack/oauth_redirect"]
    # Nothing else changes.
    rest = copy.deepcopy(http)
    del rest["settings"]["event_subscriptions"]["request_url"]
    del rest["settings"]["interactivity"]["request_url"]
    del rest["oauth_config"]["redirect_urls"]
    for command in rest["features"]["slash_commands"]:
        del command["url"]
    rest["settings"]["socket_mode_enabled"] = True
    assert rest == manifest


def test_http_mode_leaves_the_shipped_manifest_alone(manifest: dict[str, Any]) -> None:
    before = copy.deepcopy(manifest)
    http_manifest("https://example.org", manifest)
    assert manifest == before


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "https://"),
        ("   ", "https://"),
        ("http://example.org", "https://example.org"),  # the fix, spelled out
        ("example.org", "https://example.org"),
        ("example.org:8443", "https://example.org:8443"),
        ("ftp://example.org", "https://"),
        ("wss://example.org", "https://"),
        ("https://", "host"),
        ("https:///slack", "host"),
        ("https:/example.org", "https://"),
        ("https:example.org", "https://"),
        ("https://example.org?team=1", "query"),
        ("https://example.org/bot/?", "--url https://example.org/bot"),
        ("https://example.org#top", "query"),
        ("https://example.org:http", "port"),
        ("https://example.org:99999", "port"),
        ("https://[::1", "https://"),
        ("https://exa mple.org", "space"),
        ("https://example.org/\nbot", "space"),
        ("https://user:hunter2@example.org", "user name or password"),
        ("user:hunter2@example.org", "user name or password"),
        ("http://user:hunter2@example.org", "user name or password"),
        ("https://user:hunter2@example.org?x#y", "user name or password"),
        ("https://example.org/slack/events", "without /slack/events"),
        ("https://example.org/bot/slack/events/", "without /slack/events"),
        ("https://example.org/slack/oauth_redirect", "without /slack/oauth_redirect"),
        ("https://example.org/" + "a" * 2500, "too long"),
    ],
)
def test_a_bad_url_is_one_line_that_says_what_to_type(url: str, says: str) -> None:
    with pytest.raises(InvalidRequestURL) as caught:
        http_manifest(url)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("--url ")
    assert says in message
    assert "hunter2" not in message  # a password typed by mistake is not shown back


def test_the_http_copy_dumps_to_yaml_that_loads_back() -> None:
    from bot.adapters.slack.manifest import http_manifest_text

    text = http_manifest_text("https://example.org/bot")
    assert text.startswith("# ")
    assert yaml.safe_load(text) == http_manifest("https://example.org/bot")
    # In the order people read manifests in, not sorted.
    assert list(yaml.safe_load(text)) == list(load_manifest())
