"""A fake Slack on 127.0.0.1: the Web API that slack_sdk's ``AsyncWebClient`` calls, the
Socket Mode WebSocket its ``SocketModeClient`` connects to, the OAuth pages, and Slack's own
side of the conversation: signed requests to the app's ``/slack/events``, envelopes over
Socket Mode, and the ``response_url`` the app answers commands through.

Workspaces: each has a team id, a bot token (``tokens`` maps token -> team), a bot user,
members (``add_user``: admin, owner, guest...), channels (``add_channel``: creator, private,
archived, whether the bot is a member) and user groups (``add_usergroup``). A revoked token
answers ``token_revoked``, an uninstalled workspace's ``account_inactive``, an unknown one
``invalid_auth``, an app-level ``xapp-`` token anywhere but ``apps.connections.open``
``not_allowed_token_type``.

Web API methods (under ``/api/``): ``auth.test`` (with the ``x-oauth-scopes`` header),
``users.info``, ``conversations.info``, ``conversations.history``, ``usergroups.list``,
``usergroups.users.list``, ``team.info``, ``chat.postMessage``, ``chat.postEphemeral``,
``chat.update``, ``chat.unfurl`` (only for links the fake announced in a ``link_shared``
event), ``views.publish`` (App Home), ``conversations.replies``, ``reactions.get``,
``apps.connections.open`` and ``oauth.v2.access``.
Threads: ``chat.postMessage`` with ``thread_ts`` replies in the thread of a message of that
channel (``thread_not_found`` without one; a reply's ts files the new reply under the same
parent); the parent then shows ``reply_count``, ``latest_reply`` and so on, the channel's
history shows no reply unless ``reply_broadcast``, and ``conversations.replies`` answers the
parent first, then the replies. Reactions: ``react`` gives a stored message reactions, which
``reactions.get`` reports. Scopes: each workspace has the scopes it was installed with
(``add_workspace(scopes=...)``, the OAuth grant, ``set_scopes``); a method listed in
``_NEEDED_SCOPES`` answers ``missing_scope`` (with ``needed`` and ``provided``) without one.
Messages are held to Slack's limits (``validate_message``: 50 blocks, section text 3000,
header 150, context 10 elements, text 40,000) and refused with Slack's error codes and its
``response_metadata.messages``. Faults and rate limits only on demand (``fail``,
``channel_rate``).

Acting as Slack toward the app (``app_url`` is the app's base or its ``/slack/events`` URL):
``send_command``, ``send_event``, ``send_block_action`` and ``send_url_verification`` sign
their body with ``signing_secret`` exactly as Slack does (``tamper=`` sends a request the app
must refuse with 401); ``socket_command``, ``socket_event`` and ``socket_block_action`` send
the same payloads as Socket Mode envelopes. Each returns a ``Delivery`` record: the ack
(HTTP status and body, or the envelope ack), its latency, and ``await record.responses(n)``
for what the app posted to the ``response_url`` (at most 5 posts within 30 minutes, as on
Slack). In-process, from async tests::

    async with FakeSlack() as fake:
        app = AsyncApp(signing_secret=fake.signing_secret,
                       client=AsyncWebClient(token=fake.token, base_url=fake.api_url))
        ...serve app.web_app() on 127.0.0.1...
        record = await fake.send_command(app_url, "/paper", "2403.13043")
        assert record.status == 200
        [answer] = await record.responses(1)

From a background thread for subprocess tests (a worker, or ``paperwire run``)::

    with FakeSlack.running_in_thread() as fake:
        subprocess.Popen([...], env={**os.environ, **fake.env("http")})
        record = fake.call(fake.send_command, app_url, "/paper", "2403.13043")
        answers = fake.call(record.responses, 1)

Socket Mode: ``AsyncSocketModeHandler(app, app_token=fake.app_token)``, whose app's client
has ``base_url=fake.api_url``, gets a ``ws://127.0.0.1:PORT/link/?ticket=...`` URL from
``apps.connections.open`` and connects (nothing else to point at the fake); then
``await fake.socket_command("/paper", "2403.13043")``, ``await fake.socket_disconnect()``,
``await fake.wait_socket_connected(2)``.

OAuth (bolt's ``/slack/install`` and ``/slack/oauth_redirect``): ``fake.authorize(link)``
plays slack.com/oauth/v2/authorize for the install link (or a browser GETs
``fake.authorize_url``): it returns the redirect URL with ``code`` and ``state``, and
``oauth.v2.access`` trades the code for a new workspace with its own bot token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import hashlib
import hmac
import itertools
import json
import math
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal, TypeVar, overload
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from tests.fakes._server import LoopbackServer
from tests.fakes.slack_socket import LINK_PATH, SocketAck, SocketConnection, SocketMode

__all__ = [
    "APP_ID",
    "APP_TOKEN",
    "BOT_ID",
    "BOT_USER_ID",
    "CHANNEL_CREATOR",
    "CLIENT_ID",
    "DEFAULT_CHANNEL",
    "DEFAULT_TEAM",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "SIGNING_SECRET",
    "ActionRecord",
    "CommandRecord",
    "Delivery",
    "EventRecord",
    "FakeSlack",
    "Fault",
    "InstallGrant",
    "Problem",
    "RecordedRequest",
    "SocketAck",
    "SocketConnection",
    "Tamper",
    "UnfurlRecord",
    "ViewRecord",
    "WorkspaceInfo",
    "sign",
    "validate_blocks",
    "validate_message",
    "validate_unfurls",
    "validate_view",
]

T = TypeVar("T")

# Fixed test values, none of them a secret.
DEFAULT_TOKEN = "xoxb-fake-0000-NOT-A-REAL-TOKEN"
DEFAULT_TEAM = "T0FAKE0001"
DEFAULT_CHANNEL = "C0123456789"
DEFAULT_USER = "U0FAKEUSR1"  # who types commands unless a test says otherwise
CHANNEL_CREATOR = "U0CREATOR1"  # the creator of a channel the fake made up
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"
APP_ID = "A0FAKEAPP1"
APP_TOKEN = "xapp-1-A0FAKEAPP1-0000-NOT-A-REAL-TOKEN"
SIGNING_SECRET = "fa4e0000fa4e0000fa4e0000fa4e0000"
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "fake-client-secret-NOT-A-REAL-ONE"
VERIFICATION_TOKEN = "fake-verification-token"  # the deprecated ``token`` field of payloads
DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "links:read",
    "links:write",
    "users:read",
    "channels:read",
    "groups:read",
    "usergroups:read",
    "team:read",
    "reactions:read",
)
API_PREFIX = "/api/"
EVENTS_PATH = "/slack/events"
AUTHORIZE_PATH = "/oauth/v2/authorize"

# Slack's limits.
MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
MARKDOWN_TEXT = 12_000
BLOCK_ID = 255
VIEW_BYTES = 250_000
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 1800.0  # seconds
SIGNATURE_WINDOW = 300  # seconds either side of now that Bolt accepts

Route = Literal["post", "history", "any"]
Mode = Literal["post", "http", "socket", "oauth"]


class Fault(StrEnum):
    """What a call gets instead of the normal answer, while the fault lasts."""

    RATE_LIMITED = "ratelimited"  # HTTP 429, Retry-After, {"ok": false, "error": "ratelimited"}
    SERVER_ERROR = "500"  # HTTP 500 with an HTML page (what Slack's edge sends)
    CHANNEL_NOT_FOUND = "channel_not_found"
    NOT_IN_CHANNEL = "not_in_channel"
    IS_ARCHIVED = "is_archived"
    TOKEN_REVOKED = "token_revoked"
    API_ERROR = "api_error"  # {"ok": false, "error": <the rule's error>} with HTTP 200
    STALL = "stall"  # accept the call, store nothing, never answer
    STALL_AFTER_POST = "stall_after_post"  # do what was asked, then never answer
    DROP_AFTER_POST = "drop_after_post"  # do what was asked, then cut the connection mid-answer


class Tamper(StrEnum):
    """A request Slack would never send: the app must answer each with 401."""

    WRONG_SIGNATURE = "wrong_signature"  # signed with another secret
    STALE_TIMESTAMP = "stale_timestamp"  # signed correctly, but more than 5 minutes ago
    BODY_CHANGED = "body_changed"  # the body was changed after it was signed
    NO_SIGNATURE = "no_signature"  # no X-Slack-Signature / X-Slack-Request-Timestamp


_ERROR_FAULTS = {
    Fault.CHANNEL_NOT_FOUND,
    Fault.NOT_IN_CHANNEL,
    Fault.IS_ARCHIVED,
    Fault.TOKEN_REVOKED,
}
_ROUTES: dict[str, frozenset[str]] = {
    "post": frozenset({"chat.postMessage"}),
    "history": frozenset({"conversations.history"}),
}
# Calls about the app itself, never faulted by route="any".
_IDENTITY_METHODS = frozenset({"auth.test", "apps.connections.open", "oauth.v2.access"})
# The scopes a method needs (any one of them), where the fake holds a workspace to its scopes.
# Only the methods listed are checked: the others answer whatever the workspace was granted.
_NEEDED_SCOPES: dict[str, tuple[str, ...]] = {"reactions.get": ("reactions:read",)}
# Slack promises the complete list of a reaction's users only with ``full``; without it the
# fake lists this many, so code that counts the list rather than reading ``count`` shows.
_REACTION_USERS_SHOWN = 50


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


# --- message limits ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why Slack refuses a message, view or unfurl: its error code and its messages."""

    error: str  # invalid_blocks, msg_too_long, no_text, invalid_arguments, ...
    messages: tuple[str, ...] = ()  # "must be less than 3001 characters [json-pointer:...]"

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            answer["errors"] = list(self.messages)
            answer["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return answer

    def response(self) -> web.Response:
        return web.json_response(self.as_json())


_TEXT_TYPES = ("plain_text", "mrkdwn")
_BLOCK_TYPES = frozenset(
    {
        "actions",
        "call",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
Path = tuple[str | int, ...]


def _at(message: str, path: Path) -> str:
    return f"{message} [json-pointer:/{'/'.join(str(p) for p in path)}]"


def _check_text(obj: Any, path: Path, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [_at("must be an object", path)]
    allowed = ("plain_text",) if plain_only else _TEXT_TYPES
    if obj.get("type") not in allowed:
        return [_at(f"must be one of [{', '.join(allowed)}]", (*path, "type"))]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [_at("must be more than 0 characters", (*path, "text"))]
    if len(text) > limit:
        return [_at(f"must be less than {limit + 1} characters", (*path, "text"))]
    return []


def _check_elements(elements: Any, path: Path, limit: int) -> list[str]:
    if not isinstance(elements, list) or not elements:
        return [_at("must provide at least 1 item", path)]
    if len(elements) > limit:
        return [_at(f"must be less than {limit + 1} items", path)]
    return []


def _check_block(block: Any, path: Path) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [_at("missing required field: type", path)]
    kind = block["type"]
    if kind not in _BLOCK_TYPES:
        return [_at(f"unsupported type: {kind}", (*path, "type"))]
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > BLOCK_ID):
        return [_at(f"must be less than {BLOCK_ID + 1} characters", (*path, "block_id"))]
    problems: list[str] = []
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            problems.append(_at("must provide either text or fields", path))
        if text is not None:
            problems += _check_text(text, (*path, "text"), SECTION_TEXT)
        if fields is not None:
            problems += _check_elements(fields, (*path, "fields"), SECTION_FIELDS)
            for i, item in enumerate(fields if isinstance(fields, list) else []):
                problems += _check_text(item, (*path, "fields", i), FIELD_TEXT)
    elif kind == "header":
        problems += _check_text(block.get("text"), (*path, "text"), HEADER_TEXT, plain_only=True)
    elif kind == "context":
        elements = block.get("elements")
        problems += _check_elements(elements, (*path, "elements"), CONTEXT_ELEMENTS)
        for i, element in enumerate(elements if isinstance(elements, list) else []):
            if isinstance(element, dict) and element.get("type") == "image":
                continue
            problems += _check_text(element, (*path, "elements", i), SECTION_TEXT)
    elif kind == "actions":
        problems += _check_elements(block.get("elements"), (*path, "elements"), ACTIONS_ELEMENTS)
    elif kind == "image":
        if not isinstance(block.get("alt_text"), str) or not block["alt_text"]:
            problems.append(_at("missing required field: alt_text", path))
        if not isinstance(block.get("image_url"), str) and "slack_file" not in block:
            problems.append(_at("missing required field: image_url", path))
    elif kind == "markdown":
        text = block.get("text")
        if not isinstance(text, str) or not text:
            problems.append(_at("must be more than 0 characters", (*path, "text")))
        elif len(text) > MARKDOWN_TEXT:
            problems.append(_at(f"must be less than {MARKDOWN_TEXT + 1} characters", path))
    return problems


def validate_blocks(blocks: Any, *, limit: int = MAX_BLOCKS, path: Path = ("blocks",)) -> list[str]:
    """Everything Slack would object to in a list of blocks (empty: nothing)."""
    if not isinstance(blocks, list):
        return [_at("must be an array", path)]
    if len(blocks) > limit:
        return [_at(f"must be less than {limit + 1} items", path)]
    problems: list[str] = []
    for i, block in enumerate(blocks):
        problems += _check_block(block, (*path, i))
    return problems


def validate_message(text: Any, blocks: Any, *, require_content: bool = True) -> Problem | None:
    """Slack's answer to a message (chat.postMessage, chat.update, a response_url post):
    None when it takes it. ``blocks`` may be the JSON string of a form field."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return Problem("invalid_blocks_format", (_at("must be valid JSON", ("blocks",)),))
    if blocks is not None:
        if not isinstance(blocks, list):
            return Problem("invalid_blocks_format", (_at("must be an array", ("blocks",)),))
        problems = validate_blocks(blocks)
        if problems:
            return Problem("invalid_blocks", tuple(problems))
    if text is not None and len(str(text)) > MAX_TEXT:
        return Problem("msg_too_long")
    if require_content and not text and not blocks:
        return Problem("no_text")
    return None


def validate_view(view: Any) -> Problem | None:
    """Slack's answer to views.publish's ``view`` (an App Home tab): None when it takes it."""
    if isinstance(view, str):
        if len(view.encode()) > VIEW_BYTES:
            return Problem("view_too_large")
        try:
            view = json.loads(view)
        except ValueError:
            return Problem("invalid_arguments", (_at("must be valid JSON", ("view",)),))
    if not isinstance(view, dict):
        return Problem("invalid_arguments", (_at("must be an object", ("view",)),))
    if len(json.dumps(view).encode()) > VIEW_BYTES:
        return Problem("view_too_large")
    if view.get("type") != "home":
        return Problem("invalid_arguments", (_at("must be one of [home]", ("view", "type")),))
    problems = validate_blocks(view.get("blocks"), limit=MAX_VIEW_BLOCKS, path=("view", "blocks"))
    for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            problems.append(_at(f"must be less than {limit + 1} characters", ("view", key)))
    return Problem("invalid_arguments", tuple(problems)) if problems else None


def validate_unfurls(unfurls: Any) -> tuple[dict[str, Any] | None, Problem | None]:
    """chat.unfurl's ``unfurls``: a map from each URL to a message attachment (with blocks,
    or a legacy attachment's text). Returns the decoded map, or Slack's refusal."""
    if isinstance(unfurls, str):
        try:
            unfurls = json.loads(unfurls)
        except ValueError:
            return None, Problem("invalid_unfurls_format")
    if not isinstance(unfurls, dict) or not unfurls:
        return None, Problem("invalid_unfurls_format")
    problems: list[str] = []
    for url, attachment in unfurls.items():
        if not isinstance(attachment, dict):
            return None, Problem("invalid_unfurls_format")
        if "blocks" in attachment:
            problems += validate_blocks(attachment["blocks"], path=("unfurls", url, "blocks"))
        elif not any(isinstance(attachment.get(k), str) for k in ("text", "fallback", "title")):
            return None, Problem("cannot_parse_attachment")
    if problems:
        return None, Problem("invalid_blocks", tuple(problems))
    return unfurls, None


# --- what the fake recorded -----------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str  # the Web API method, e.g. chat.postMessage
    channel: str | None
    params: dict[str, Any]  # the decoded arguments, token removed
    team: str | None  # the workspace the token belongs to; None when it was refused
    started: float
    status: int | None = None
    fault: Fault | None = None
    error: str | None = None  # the answer's ``error`` when it was not ok


@dataclass(frozen=True)
class WorkspaceInfo:
    team_id: str
    name: str
    domain: str
    bot_token: str | None  # the newest token that still works; None once uninstalled
    bot_user_id: str
    bot_id: str
    enterprise_id: str | None
    installed: bool
    channel: str  # the channel commands and events come from unless a test names another


@dataclass(frozen=True)
class UnfurlRecord:
    """One accepted chat.unfurl call."""

    team: str
    channel: str | None
    ts: str | None
    unfurl_id: str | None
    source: str | None
    unfurls: dict[str, Any]


@dataclass(frozen=True)
class ViewRecord:
    """One accepted views.publish call."""

    team: str
    user_id: str
    view: dict[str, Any]  # as Slack stores it: with id, hash, team_id, app_id, bot_id


@dataclass
class InstallGrant:
    """One pass through the fake authorize page: the code, and what it turns into."""

    code: str
    team_id: str
    team_name: str
    user_id: str
    scopes: tuple[str, ...]
    user_scopes: tuple[str, ...]
    redirect_uri: str
    redirect_uri_given: bool  # whether the install link named it (then the exchange must too)
    bot_token: str
    exchanged: bool = False


class Delivery:
    """One request the fake sent the app as Slack (over HTTP or Socket Mode), the app's ack,
    and what it later posted to the request's ``response_url``."""

    def __init__(
        self,
        *,
        kind: str,
        via: Literal["http", "socket"],
        team_id: str,
        payload: dict[str, Any],
        response_url: str | None,
        ttl: float,
        wait_timeout: float,
    ) -> None:
        self.kind = kind  # "command", "event", "block_actions", "url_verification"
        self.via = via
        self.team_id = team_id
        self.payload = payload  # what was sent: form fields, or the JSON body / envelope payload
        self.response_url = response_url
        self.created = time.monotonic()
        self.ttl = ttl
        self.wait_timeout = wait_timeout
        self.sent_headers: dict[str, str] = {}  # HTTP only
        self.status: int | None = None  # the HTTP answer's status; None over Socket Mode
        self.body = ""  # the HTTP answer's body; Socket Mode: the ack's payload as JSON
        self.headers: dict[str, str] = {}  # the HTTP answer's headers
        self.sent_at: float | None = None  # HTTP: when the request went out (time.monotonic)
        self.latency: float | None = None  # seconds from sending it to the ack's arrival
        self.envelope_id: str | None = None  # Socket Mode only
        self.socket_ack: SocketAck | None = None
        self.posts: list[dict[str, Any]] = []  # accepted response_url posts, in order
        self.refused: list[tuple[int, str]] = []  # (status, error) of refused posts
        self._expired = False
        self._posted = asyncio.Event()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} via {self.via} status={self.status}>"

    @property
    def acked(self) -> bool:
        """Whether the app acknowledged: HTTP 200, or an envelope ack."""
        return self.status == 200 if self.via == "http" else self.socket_ack is not None

    @property
    def ack(self) -> Any:
        """The ack's content: its JSON decoded, its text, or None when it was empty."""
        if self.via == "socket":
            return None if self.socket_ack is None else self.socket_ack.payload
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body

    @property
    def expired(self) -> bool:
        return self._expired or time.monotonic() - self.created > self.ttl

    def expire(self) -> None:
        """Let the response_url's 30 minutes pass (posts now get 404 ``expired_url``)."""
        self._expired = True

    async def responses(self, count: int = 1) -> list[dict[str, Any]]:
        """Until the app has posted ``count`` accepted responses; returns them all."""
        if self.response_url is None:
            raise ValueError(f"a {self.kind} has no response_url to respond through")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        while len(self.posts) < count:
            self._posted.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                refused = f"; refused: {self.refused}" if self.refused else ""
                raise TimeoutError(
                    f"{self!r}: {len(self.posts)} of {count} response_url posts "
                    f"in {self.wait_timeout:g} s{refused}"
                )
            with suppress(TimeoutError):
                await asyncio.wait_for(self._posted.wait(), remaining)
        return copy.deepcopy(self.posts)

    # --- called by the fake ---

    def _answered(self, status: int, body: str, headers: dict[str, str], latency: float) -> None:
        self.status, self.body, self.headers, self.latency = status, body, headers, latency

    def _socket_acked(self, envelope_id: str, ack: SocketAck) -> None:
        self.envelope_id, self.socket_ack, self.latency = envelope_id, ack, ack.latency
        self.body = "" if ack.payload is None else json.dumps(ack.payload)

    def _post(self, body: dict[str, Any]) -> None:
        self.posts.append(body)
        self._posted.set()

    def _refuse(self, status: int, error: str) -> None:
        self.refused.append((status, error))
        self._posted.set()


class CommandRecord(Delivery):
    """A slash command: ``payload`` holds the form fields Slack sent."""

    @property
    def command(self) -> str:
        return str(self.payload["command"])

    @property
    def text(self) -> str:
        return str(self.payload["text"])

    @property
    def channel_id(self) -> str:
        return str(self.payload["channel_id"])

    @property
    def user_id(self) -> str:
        return str(self.payload["user_id"])

    @property
    def trigger_id(self) -> str:
        return str(self.payload["trigger_id"])


class EventRecord(Delivery):
    """An Events API delivery: ``payload`` is the ``event_callback`` (or url_verification)."""

    @property
    def event(self) -> dict[str, Any]:
        return dict(self.payload.get("event") or {})

    @property
    def event_id(self) -> str | None:
        return self.payload.get("event_id")


class ActionRecord(Delivery):
    """A ``block_actions`` interaction: ``payload`` is the decoded ``payload`` field."""

    @property
    def action(self) -> dict[str, Any]:
        return dict(self.payload["actions"][0])


# --- the fake's state -----------------------------------------------------------------------


@dataclass
class _Rule:
    fault: Fault
    channel: str | None  # None: every channel
    route: str  # "post", "history", "any" or a Web API method name
    remaining: int | None  # None: until cleared
    retry_after: int
    error: str
    skip: int = 0  # matching calls still to let through before the fault starts


@dataclass
class _User:
    id: str
    team: str
    name: str
    display_name: str
    real_name: str
    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    is_bot: bool = False
    deleted: bool = False


@dataclass
class _Channel:
    id: str
    team: str | None  # None: a channel the fake made up on first use, seen by every workspace
    name: str
    creator: str
    is_private: bool = False
    is_archived: bool = False
    is_member: bool = True
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class _Usergroup:
    id: str
    team: str
    handle: str
    name: str
    users: list[str]
    disabled: bool = False
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class _Workspace:
    id: str
    name: str
    domain: str
    bot_user_id: str
    bot_id: str
    channel: str  # where commands and events come from unless a test says otherwise
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    installed: bool = True
    users: dict[str, _User] = field(default_factory=dict)
    usergroups: dict[str, _Usergroup] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # user -> home view


@dataclass
class _Shared:
    """Links Slack announced in a link_shared event: the ones chat.unfurl may unfurl."""

    team: str
    urls: set[str]


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass
class _State:
    rules: list[_Rule] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # messages
    posts: dict[str, int] = field(default_factory=dict)
    windows: dict[str, _Window] = field(default_factory=dict)
    last_ts: int = 0  # microseconds
    workspaces: dict[str, _Workspace] = field(default_factory=dict)
    channel_info: dict[str, _Channel] = field(default_factory=dict)
    dead_tokens: dict[str, str] = field(default_factory=dict)  # token -> the error it gets
    shared: dict[tuple[str, str], _Shared] = field(default_factory=dict)  # (channel, ts)
    shared_ids: dict[str, _Shared] = field(default_factory=dict)  # unfurl_id
    unfurls: list[UnfurlRecord] = field(default_factory=list)
    views: list[ViewRecord] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    grants: dict[str, InstallGrant] = field(default_factory=dict)  # code -> grant
    deliveries: list[Delivery] = field(default_factory=list)
    responders: dict[str, Delivery] = field(default_factory=dict)  # response_url path


class FakeSlack(LoopbackServer):
    """The fake Slack. Plain methods are thread-safe; coroutine methods run on the fake's
    loop (from another thread: ``fake.call(fake.send_command, ...)``)."""

    thread_name = "fake-slack"

    def __init__(
        self,
        *,
        tokens: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        channel_rate: tuple[int, float] | None = None,
        signing_secret: str = SIGNING_SECRET,
        app_token: str = APP_TOKEN,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        redirect_uri: str | None = None,
        response_url_ttl: float = RESPONSE_URL_TTL,
        wait_timeout: float = 10.0,
    ) -> None:
        """``tokens`` maps each accepted bot token to its team id (one workspace per team);
        ``channel_rate=(1, 1.0)`` imposes Slack's posting pace (429 past it); None posts at
        any rate. ``redirect_uri`` is the app's configured OAuth redirect URL (used when the
        install link names none); ``wait_timeout`` is how long records and ``wait_*`` wait.
        """
        self.tokens = dict(tokens or {DEFAULT_TOKEN: DEFAULT_TEAM})
        super().__init__(host=host, port=port)
        self.signing_secret = signing_secret
        self.app_token = app_token
        self.app_id = APP_ID
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.verification_token = VERIFICATION_TOKEN
        self.response_url_ttl = response_url_ttl
        self.wait_timeout = wait_timeout
        self._channel_rate = channel_rate
        self.rate_limited_answers = 0  # 429s the posting pace (not faults) answered
        self._lock = threading.Lock()
        self._state = _State()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None
        self._changed: asyncio.Event | None = None
        self.socket = SocketMode(
            url_base=lambda: f"ws://{self.host}:{self._port}",
            app_id=self.app_id,
            wait_timeout=wait_timeout,
        )
        for team in self.tokens.values():
            if team not in self._state.workspaces:
                self._new_workspace(team)
            self._state.workspaces[team].users.setdefault(DEFAULT_USER, self._plain_user(team))

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        # An ack's latency runs from the moment the request is on the wire (not from when
        # this loop got round to sending it, which under a burst of 200 is later).
        trace = aiohttp.TraceConfig()
        trace.on_request_headers_sent.append(_mark_sent)
        # No connection limit: a benchmark's 200 concurrent commands must not queue here.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self.wait_timeout),
            trace_configs=[trace],
        )
        await super().start()

    async def stop(self) -> None:
        if self._loop is not None:
            await self.socket.close_all()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        await super().stop()

    @property
    def api_url(self) -> str:
        """The Web API base, as PAPERWIRE_SLACK_API_URL and AsyncWebClient's ``base_url``
        take it (ends with a slash)."""
        return f"http://{self.host}:{self._port}{API_PREFIX}"

    @property
    def authorize_url(self) -> str:
        """The fake slack.com/oauth/v2/authorize, for Bolt's ``authorization_url``: like
        Slack's, it sits at ``../oauth/v2/authorize`` from the Web API base."""
        return f"http://{self.host}:{self._port}{AUTHORIZE_PATH}"

    @property
    def token(self) -> str:
        """The first accepted bot token."""
        return next(iter(self.tokens))

    @property
    def team_id(self) -> str:
        """The first workspace's team id."""
        with self._lock:
            return next(iter(self._state.workspaces))

    def env(self, mode: Mode = "post") -> dict[str, str]:
        """The environment variables that point paperwire's Slack side at this fake.

        ``post``: only the Web API and the bot token (a worker that posts); ``http``: HTTP
        mode for one workspace (plus SLACK_SIGNING_SECRET); ``socket``: Socket Mode (plus
        SLACK_APP_TOKEN); ``oauth``: HTTP mode with OAuth installs (SLACK_SIGNING_SECRET,
        SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, and no bot token).
        """
        env = {"PAPERWIRE_SLACK_API_URL": self.api_url}
        if mode != "oauth":
            env["SLACK_BOT_TOKEN"] = self.token
        if mode in ("http", "oauth"):
            env["SLACK_SIGNING_SECRET"] = self.signing_secret
        if mode == "socket":
            env["SLACK_APP_TOKEN"] = self.app_token
        if mode == "oauth":
            env["SLACK_CLIENT_ID"] = self.client_id
            env["SLACK_CLIENT_SECRET"] = self.client_secret
        return env

    @overload
    def call(self, function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T: ...

    @overload
    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``function(*args, **kwargs)`` on the fake's loop from another thread (thread
        mode) and return its result: ``fake.call(fake.send_command, url, "/paper", "x")``,
        ``fake.call(record.responses, 1)``."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the fake is not running: start it first")
        if _running_loop() is loop:
            raise RuntimeError("fake.call is for other threads: on the fake's loop, await it")

        async def run() -> Any:
            result = function(*args, **kwargs)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                return await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), loop).result(3 * self.wait_timeout)

    # --- workspaces, people, channels ---------------------------------------------------------

    def add_workspace(
        self,
        team_id: str,
        *,
        name: str | None = None,
        domain: str | None = None,
        token: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        scopes: Iterable[str] = DEFAULT_SCOPES,
    ) -> WorkspaceInfo:
        """A workspace with the app installed and a bot token of its own."""
        with self._lock:
            if team_id in self._state.workspaces:
                raise ValueError(f"workspace {team_id} exists already")
            workspace = self._new_workspace(team_id, name=name, domain=domain, scopes=tuple(scopes))
            workspace.enterprise_id, workspace.enterprise_name = enterprise_id, enterprise_name
            self.tokens[token or _new_bot_token(team_id)] = team_id
            return self._info(workspace)

    def workspace(self, team_id: str | None = None) -> WorkspaceInfo:
        with self._lock:
            return self._info(self._workspace(team_id))

    def workspaces(self) -> list[WorkspaceInfo]:
        with self._lock:
            return [self._info(w) for w in self._state.workspaces.values()]

    def add_user(
        self,
        user_id: str,
        *,
        team_id: str | None = None,
        name: str | None = None,
        display_name: str | None = None,
        real_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        """A member of the workspace (replacing one with the same id): an owner is also an
        admin on Slack, so ``is_owner`` implies ``is_admin``."""
        with self._lock:
            workspace = self._workspace(team_id)
            handle = name or user_id.lower()
            workspace.users[user_id] = _User(
                user_id,
                workspace.id,
                handle,
                display_name if display_name is not None else handle,
                real_name or handle.title(),
                is_admin=is_admin or is_owner or is_primary_owner,
                is_owner=is_owner or is_primary_owner,
                is_primary_owner=is_primary_owner,
                is_restricted=is_restricted or is_ultra_restricted,
                is_ultra_restricted=is_ultra_restricted,
                is_bot=is_bot,
                deleted=deleted,
            )

    def add_channel(
        self,
        channel_id: str,
        *,
        team_id: str | None = None,
        name: str | None = None,
        creator: str = CHANNEL_CREATOR,
        is_private: bool = False,
        is_archived: bool = False,
        is_member: bool = True,
    ) -> None:
        """A channel of the workspace (replacing one with the same id); ``is_member``: the
        bot is in it."""
        with self._lock:
            workspace = self._workspace(team_id)
            self._state.channel_info[channel_id] = _Channel(
                channel_id,
                workspace.id,
                name or f"channel-{channel_id.lower()}",
                creator,
                is_private=is_private,
                is_archived=is_archived,
                is_member=is_member,
            )

    def update_channel(
        self,
        channel_id: str,
        *,
        is_archived: bool | None = None,
        is_member: bool | None = None,
        creator: str | None = None,
    ) -> None:
        """Archive a channel, take the bot out of it (or back), change its creator."""
        with self._lock:
            channel = self._state.channel_info.get(channel_id)
            if channel is None:
                raise KeyError(f"no channel {channel_id}: add_channel first")
            if is_archived is not None:
                channel.is_archived = is_archived
            if is_member is not None:
                channel.is_member = is_member
            if creator is not None:
                channel.creator = creator

    def add_usergroup(
        self,
        handle: str,
        users: Iterable[str],
        *,
        team_id: str | None = None,
        name: str | None = None,
        usergroup_id: str | None = None,
        disabled: bool = False,
    ) -> str:
        """A user group (``@handle``) with these members; returns its id (``S...``)."""
        with self._lock:
            workspace = self._workspace(team_id)
            group_id = usergroup_id or f"S0FAKE{next(self._ids):04d}"
            workspace.usergroups[group_id] = _Usergroup(
                group_id, workspace.id, handle, name or handle.title(), list(users), disabled
            )
            return group_id

    def revoke_tokens(self, team_id: str | None = None) -> dict[str, Any]:
        """Revoke the workspace's bot tokens (calls now get ``token_revoked``); returns the
        ``tokens_revoked`` event Slack sends about it."""
        with self._lock:
            workspace = self._workspace(team_id)
            self._kill_tokens(workspace.id, "token_revoked")
            return {
                "type": "tokens_revoked",
                "tokens": {"oauth": [], "bot": [workspace.bot_user_id]},
                "event_ts": self._event_ts(),
            }

    def uninstall(self, team_id: str | None = None) -> dict[str, Any]:
        """The workspace removes the app: its tokens stop working (``account_inactive``);
        returns the ``app_uninstalled`` event Slack sends about it."""
        with self._lock:
            workspace = self._workspace(team_id)
            self._kill_tokens(workspace.id, "account_inactive")
            workspace.installed = False
            return {"type": "app_uninstalled", "event_ts": self._event_ts()}

    # --- faults -------------------------------------------------------------------------------

    def fail(
        self,
        fault: Fault,
        *,
        channel: str | None = None,
        times: int | None = 1,
        retry_after: int = 1,
        error: str = "internal_error",
        route: Route | str = "post",
        after: int = 0,
    ) -> None:
        """The next ``times`` matching calls (None: all, until cleared) get ``fault``, once
        ``after`` matching calls have gone through untouched.

        ``route``: "post" (chat.postMessage, thread replies included), "history"
        (conversations.history), a Web API method name, or "any" (every method but
        auth.test, apps.connections.open and oauth.v2.access). ``error`` is the code
        Fault.API_ERROR answers with; ``retry_after`` is in whole seconds, like Slack's
        Retry-After header. ``fail(Fault.DROP_AFTER_POST, channel=C, after=2)`` lets a
        header and its first reply through and cuts the answer to the second reply.
        """
        if after < 0:
            raise ValueError("after counts calls to let through: 0 or more")
        with self._lock:
            self._state.rules.append(_Rule(fault, channel, route, times, retry_after, error, after))

    def clear_faults(self) -> None:
        with self._lock:
            self._state.rules.clear()

    def add_message(
        self,
        channel: str,
        *,
        text: str,
        metadata: dict[str, Any] | None = None,
        thread_ts: str | None = None,
        **extra: Any,
    ) -> str:
        """Store a message written by someone else (or another code path), a reply in the
        thread of ``thread_ts`` when given; returns its ts."""
        with self._lock:
            root = None
            if thread_ts is not None:
                root = self._thread_root(channel, thread_ts)
                if root is None:
                    raise LookupError(f"no message {thread_ts} in {channel} to reply to")
            message = {"type": "message", "user": "U0SOMEONE1", "text": text, **extra}
            message["ts"] = self._next_ts()
            if metadata is not None:
                message["metadata"] = copy.deepcopy(metadata)
            self._state.channels.setdefault(channel, []).append(message)
            if root is not None:
                self._add_reply(root, message, broadcast=False)
            return str(message["ts"])

    def react(
        self,
        channel: str,
        ts: str,
        name: str = "thumbsup",
        count: int = 1,
        team_id: str | None = None,
    ) -> None:
        """``count`` more people of the workspace (by default the first) react ``:name:`` to
        a stored message (a thread reply too); reactions.get then reports them."""
        if count < 1:
            raise ValueError("count is how many people react: 1 or more")
        with self._lock:
            workspace = self._workspace(team_id)
            message = self._find_message(channel, ts)
            if message is None:
                raise LookupError(
                    f"no message {ts} in {channel}: react to one the fake stored (a post, or "
                    "add_message)"
                )
            users = [
                self._seen_user(workspace, f"U0REACT{next(self._ids):03d}").id for _ in range(count)
            ]
            reactions = message.setdefault("reactions", [])
            same = next((r for r in reactions if r["name"] == name), None)
            if same is None:
                reactions.append({"name": name, "users": users, "count": count})
            else:
                same["users"] += users
                same["count"] += count

    def set_scopes(self, scopes: Iterable[str], *, team_id: str | None = None) -> None:
        """The workspace reinstalled the app with these bot scopes (its token stays)."""
        with self._lock:
            self._workspace(team_id).scopes = tuple(scopes)

    # --- what happened ------------------------------------------------------------------------

    def post_count(self, channel: str | None = None) -> int:
        """Every chat.postMessage call that reached the fake, answered or not."""
        with self._lock:
            if channel is None:
                return sum(self._state.posts.values())
            return self._state.posts.get(channel, 0)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The messages of the channel (None: of every channel) as the channel shows them,
        oldest first, metadata included: in-channel command responses too (Slack shows those
        in the channel), thread replies not (``replies``) unless broadcast to the channel."""
        with self._lock:
            found = [
                copy.deepcopy(m)
                for cid, stored in self._state.channels.items()
                if channel is None or cid == channel
                for m in stored
                if _in_channel(m)
            ]
        return sorted(found, key=lambda m: float(m["ts"]))

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies in the thread of message ``ts`` (not the message), oldest first,
        metadata included."""
        with self._lock:
            if self._find_message(channel, ts) is None:
                raise LookupError(f"no message {ts} in {channel}")
            return [copy.deepcopy(m) for m in self._replies_of(channel, ts)]

    def card_ids(self, channel: str | None = None) -> list[str]:
        """The versioned arXiv id of each card the bot posted (from its metadata), in order:
        messages the channel shows, so thread replies (a roundup's sections) are left out.

        A card posted twice appears twice: ``Counter(fake.card_ids())`` finds duplicates.
        """
        with self._lock:
            bots = {w.bot_id for w in self._state.workspaces.values()}
        ids = []
        for message in self.messages(channel):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if message.get("bot_id") in bots and "arxiv_id" in payload:
                ids.append(f"{payload['arxiv_id']}v{payload.get('version')}")
        return ids

    def payloads(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The decoded arguments of every chat.postMessage call, token removed, in order."""
        return [r.params for r in self.calls("chat.postMessage", channel=channel)]

    def calls(self, method: str, *, channel: str | None = None) -> list[RecordedRequest]:
        """The requests for one Web API method (copies of their arguments), in order."""
        with self._lock:
            return [
                copy.deepcopy(r)
                for r in self._state.requests
                if r.method == method and (channel is None or r.channel == channel)
            ]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Accepted chat.postEphemeral messages (with ``user``, the one who sees it)."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._state.ephemerals
                if channel is None or m["channel"] == channel
            ]

    def unfurls(self) -> list[UnfurlRecord]:
        with self._lock:
            return list(self._state.unfurls)

    def published_views(self, user_id: str | None = None) -> list[ViewRecord]:
        with self._lock:
            return [v for v in self._state.views if user_id is None or v.user_id == user_id]

    def home_view(self, user_id: str, team_id: str | None = None) -> dict[str, Any] | None:
        """The App Home the user sees now: the latest view published for them."""
        with self._lock:
            view = self._workspace(team_id).views.get(user_id)
            return copy.deepcopy(view) if view is not None else None

    def installs(self) -> list[InstallGrant]:
        """Every pass through the authorize page, exchanged or not."""
        with self._lock:
            return list(self._state.grants.values())

    def deliveries(self) -> list[Delivery]:
        """Everything the fake sent the app, in order."""
        with self._lock:
            return list(self._state.deliveries)

    async def wait_until(self, predicate: Callable[[], Any], *, what: str = "") -> Any:
        """Until ``predicate()`` is truthy (checked after every call the app makes, every
        response_url post and every delivery); returns its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        while True:
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"waited {self.wait_timeout:g} s for {what or 'a condition'}; the app made "
                    f"{len(self.requests)} Web API calls"
                )
            with suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_calls(
        self, method: str, count: int = 1, *, channel: str | None = None
    ) -> list[RecordedRequest]:
        """Until the app has made ``count`` calls of ``method`` and each was answered."""

        def answered() -> list[RecordedRequest] | None:
            calls = [r for r in self.calls(method, channel=channel) if r.status is not None]
            return calls if len(calls) >= count else None

        result: list[RecordedRequest] = await self.wait_until(
            answered, what=f"{count} answered {method} call(s)"
        )
        return result

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        if changed is not None:
            changed.set()

    # --- events Slack sends, ready-made -------------------------------------------------------

    def link_shared_event(
        self,
        urls: Sequence[str],
        *,
        channel: str | None = None,
        user: str = DEFAULT_USER,
        team_id: str | None = None,
        source: Literal["conversations_history", "composer"] = "conversations_history",
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """Someone posted (or is composing) a message with these links: from now on Slack
        takes a chat.unfurl for them (as it does for any link_shared event the fake sends).
        For a posted one the message is stored in the channel (the workspace's own channel
        unless ``channel`` is given) too: its ts is ``message_ts``."""
        channel = self.workspace(team_id).channel if channel is None else channel
        links = [{"domain": urlsplit(url).hostname or "", "url": url} for url in urls]
        if source == "composer":
            draft = f"{user}-{uuid.uuid4()}"
            event: dict[str, Any] = {"channel": "COMPOSER", "message_ts": draft}
            event["unfurl_id"] = draft
        else:
            ts = self.add_message(channel, text=" ".join(f"<{url}>" for url in urls), user=user)
            digest = hashlib.sha256(f"{channel}{ts}".encode()).hexdigest()
            event = {"channel": channel, "message_ts": ts, "unfurl_id": f"{channel}.{ts}.{digest}"}
            if thread_ts is not None:
                event["thread_ts"] = thread_ts
        with self._lock:
            event.update(
                type="link_shared",
                user=user,
                is_bot_user_member=True,
                source=source,
                links=links,
                event_ts=self._event_ts(),
            )
            self._share_links(self._workspace(team_id).id, event)
        return event

    def app_home_opened_event(
        self, user: str = DEFAULT_USER, *, team_id: str | None = None, tab: str = "home"
    ) -> dict[str, Any]:
        """The user opened the app's Home tab (with the view they see, once there is one)."""
        with self._lock:
            workspace = self._workspace(team_id)
            event: dict[str, Any] = {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0" + hashlib.sha256(user.encode()).hexdigest()[:8].upper(),
                "tab": tab,
                "event_ts": self._event_ts(),
            }
            view = workspace.views.get(user)
            if view is not None:
                event["view"] = copy.deepcopy(view)
            return event

    def app_mention_event(
        self,
        text: str,
        *,
        channel: str | None = None,
        user: str = DEFAULT_USER,
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """Someone mentions the bot in a message of the channel (stored there too)."""
        channel = self.workspace(team_id).channel if channel is None else channel
        ts = self.add_message(channel, text=text, user=user)
        return {
            "type": "app_mention",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
        }

    # --- acting as Slack: HTTP ----------------------------------------------------------------

    async def send_command(
        self,
        app_url: str,
        command: str = "/paper",
        text: str = "",
        *,
        team_id: str | None = None,
        channel_id: str | None = None,
        user_id: str = DEFAULT_USER,
        channel_name: str | None = None,
        user_name: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        tamper: Tamper | None = None,
    ) -> CommandRecord:
        """A user types ``command text``: POST the signed, form-encoded slash command to the
        app and return the record once the app has answered (the ack).

        ``team_id`` defaults to the first workspace, ``channel_id`` to the workspace's own
        channel (``fake.workspace(team).channel``; DEFAULT_CHANNEL for the first one); an
        unknown user or channel becomes a plain member / a channel of that workspace.
        """
        record = self._command_record(
            "http", command, text, team_id, channel_id, user_id, channel_name, user_name
        )
        body = urlencode(record.payload).encode()
        form = "application/x-www-form-urlencoded"
        await self._post_signed(record, app_url, body, form, retry_num, retry_reason, tamper)
        return record

    async def send_event(
        self,
        app_url: str,
        event: Mapping[str, Any],
        *,
        team_id: str | None = None,
        event_id: str | None = None,
        event_time: int | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        tamper: Tamper | None = None,
    ) -> EventRecord:
        """POST the event (wrapped in Slack's ``event_callback`` envelope), signed; a retry
        (``retry_num``) carries X-Slack-Retry-Num and X-Slack-Retry-Reason. Send the same
        ``event_id`` again to retry a delivery as Slack does."""
        record = self._event_record("http", event, team_id, event_id, event_time)
        body = json.dumps(record.payload).encode()
        await self._post_signed(
            record, app_url, body, "application/json", retry_num, retry_reason, tamper
        )
        return record

    async def send_url_verification(
        self, app_url: str, challenge: str | None = None, *, tamper: Tamper | None = None
    ) -> EventRecord:
        """The handshake Slack does when the Request URL is saved: the app echoes the
        challenge."""
        payload = {
            "token": self.verification_token,
            "challenge": challenge or secrets.token_urlsafe(24),
            "type": "url_verification",
        }
        record = EventRecord(
            kind="url_verification",
            via="http",
            team_id=self.team_id,
            payload=payload,
            response_url=None,
            ttl=self.response_url_ttl,
            wait_timeout=self.wait_timeout,
        )
        self._remember(record)
        body = json.dumps(payload).encode()
        await self._post_signed(record, app_url, body, "application/json", None, "", tamper)
        return record

    async def send_block_action(
        self,
        app_url: str,
        action_id: str,
        *,
        value: str = "",
        block_id: str | None = None,
        team_id: str | None = None,
        channel_id: str | None = None,
        user_id: str = DEFAULT_USER,
        message_ts: str | None = None,
        tamper: Tamper | None = None,
    ) -> ActionRecord:
        """A user clicks a button (``action_id``, ``value``) on a message of the channel:
        POST the ``block_actions`` payload (form field ``payload``), signed."""
        record = self._action_record(
            "http", action_id, value, block_id, team_id, channel_id, user_id, message_ts
        )
        body = urlencode({"payload": json.dumps(record.payload)}).encode()
        await self._post_signed(
            record, app_url, body, "application/x-www-form-urlencoded", None, "", tamper
        )
        return record

    async def _post_signed(
        self,
        record: Delivery,
        app_url: str,
        body: bytes,
        content_type: str,
        retry_num: int | None,
        retry_reason: str,
        tamper: Tamper | None,
    ) -> None:
        session = self._session
        if session is None:
            raise RuntimeError("start the fake before sending requests to the app")
        now = int(time.time())
        timestamp = now - 2 * SIGNATURE_WINDOW if tamper is Tamper.STALE_TIMESTAMP else now
        secret = self.signing_secret
        if tamper is Tamper.WRONG_SIGNATURE:
            secret = hashlib.sha256(secret.encode()).hexdigest()[:32]  # another secret
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(secret, timestamp, body),
        }
        if tamper is Tamper.NO_SIGNATURE:
            del headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
        if tamper is Tamper.BODY_CHANGED:
            body = _altered(body, content_type)
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        record.sent_headers = headers
        try:
            async with session.post(
                _endpoint(app_url), data=body, headers=headers, trace_request_ctx=record
            ) as response:
                text = await response.text()
                latency = time.monotonic() - (record.sent_at or record.created)
                record._answered(response.status, text, dict(response.headers), latency)
        except TimeoutError:
            raise TimeoutError(
                f"the app did not answer a {record.kind} within {self.wait_timeout:g} s "
                f"(Slack gives up after 3 s)"
            ) from None
        self._notify()

    # --- acting as Slack: Socket Mode ---------------------------------------------------------

    async def socket_command(
        self,
        command: str = "/paper",
        text: str = "",
        *,
        team_id: str | None = None,
        channel_id: str | None = None,
        user_id: str = DEFAULT_USER,
        channel_name: str | None = None,
        user_name: str | None = None,
    ) -> CommandRecord:
        """A user types ``command text``: a ``slash_commands`` envelope over the app's
        Socket Mode connection; returns the record once the app has acked it."""
        record = self._command_record(
            "socket", command, text, team_id, channel_id, user_id, channel_name, user_name
        )
        envelope_id, ack = await self.socket.deliver(
            "slash_commands", record.payload, accepts_response_payload=True
        )
        record._socket_acked(envelope_id, ack)
        self._notify()
        return record

    async def socket_event(
        self,
        event: Mapping[str, Any],
        *,
        team_id: str | None = None,
        event_id: str | None = None,
        event_time: int | None = None,
        retry_num: int | None = None,
        retry_reason: str = "timeout",
    ) -> EventRecord:
        """An ``events_api`` envelope (with ``retry_attempt`` when ``retry_num`` is given)."""
        record = self._event_record("socket", event, team_id, event_id, event_time)
        envelope_id, ack = await self.socket.deliver(
            "events_api",
            record.payload,
            accepts_response_payload=False,
            retry_attempt=retry_num,
            retry_reason=retry_reason if retry_num is not None else None,
        )
        record._socket_acked(envelope_id, ack)
        self._notify()
        return record

    async def socket_block_action(
        self,
        action_id: str,
        *,
        value: str = "",
        block_id: str | None = None,
        team_id: str | None = None,
        channel_id: str | None = None,
        user_id: str = DEFAULT_USER,
        message_ts: str | None = None,
    ) -> ActionRecord:
        """An ``interactive`` envelope carrying a ``block_actions`` payload."""
        record = self._action_record(
            "socket", action_id, value, block_id, team_id, channel_id, user_id, message_ts
        )
        envelope_id, ack = await self.socket.deliver(
            "interactive", record.payload, accepts_response_payload=False
        )
        record._socket_acked(envelope_id, ack)
        self._notify()
        return record

    async def wait_socket_connected(self, count: int = 1) -> SocketConnection:
        """Until the app has opened ``count`` Socket Mode connections in all, one still open."""
        return await self.socket.wait_connected(count)

    async def socket_disconnect(self, *, reason: str | None = "refresh_requested") -> None:
        """Slack's ``disconnect`` message (``reason``), after which the client reconnects
        through apps.connections.open; ``reason=None``: the connection just drops."""
        await self.socket.disconnect(reason)

    def socket_connections(self) -> list[SocketConnection]:
        return self.socket.connections

    # --- acting as Slack: the payloads ----------------------------------------------------------

    def _command_record(
        self,
        via: Literal["http", "socket"],
        command: str,
        text: str,
        team_id: str | None,
        channel_id: str | None,
        user_id: str,
        channel_name: str | None,
        user_name: str | None,
    ) -> CommandRecord:
        with self._lock:
            workspace = self._workspace(team_id)
            channel = self._seen_channel(workspace, channel_id or workspace.channel)
            channel_id = channel.id
            user = self._seen_user(workspace, user_id)
            path = f"/commands/{workspace.id}/{next(self._ids)}/{secrets.token_hex(12)}"
        fields = {"token": self.verification_token, "team_id": workspace.id}
        fields["team_domain"] = workspace.domain
        if workspace.enterprise_id is not None:
            fields["enterprise_id"] = workspace.enterprise_id
            fields["enterprise_name"] = workspace.enterprise_name or workspace.enterprise_id
        fields.update(
            {
                "channel_id": channel_id,
                "channel_name": channel_name or channel.name,
                "user_id": user_id,
                "user_name": user_name or user.name,
                "command": command,
                "text": text,
                "api_app_id": self.app_id,
                "is_enterprise_install": "false",
                "response_url": f"http://{self.host}:{self._port}{path}",
                "trigger_id": _trigger_id(),
            }
        )
        record = CommandRecord(
            kind="command",
            via=via,
            team_id=workspace.id,
            payload=fields,
            response_url=fields["response_url"],
            ttl=self.response_url_ttl,
            wait_timeout=self.wait_timeout,
        )
        self._remember(record, path)
        return record

    def _event_record(
        self,
        via: Literal["http", "socket"],
        event: Mapping[str, Any],
        team_id: str | None,
        event_id: str | None,
        event_time: int | None,
    ) -> EventRecord:
        sent: dict[str, Any] = copy.deepcopy(dict(event))
        with self._lock:
            workspace = self._workspace(team_id)
            user = sent.get("user")
            if isinstance(user, str) and sent.get("type") != "tokens_revoked":
                self._seen_user(workspace, user)
            if sent.get("type") == "link_shared":
                self._share_links(workspace.id, sent)
            number = next(self._ids)
        payload: dict[str, Any] = {
            "token": self.verification_token,
            "team_id": workspace.id,
            "context_team_id": workspace.id,
            "context_enterprise_id": workspace.enterprise_id,
            "api_app_id": self.app_id,
            "event": sent,
            "type": "event_callback",
            "event_id": event_id or f"Ev{number:08d}FAKE",
            "event_time": event_time or int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": workspace.enterprise_id,
                    "team_id": workspace.id,
                    "user_id": workspace.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-fake-{workspace.id}-{number}",
        }
        if workspace.enterprise_id is not None:
            payload["enterprise_id"] = workspace.enterprise_id
        record = EventRecord(
            kind="event",
            via=via,
            team_id=workspace.id,
            payload=payload,
            response_url=None,
            ttl=self.response_url_ttl,
            wait_timeout=self.wait_timeout,
        )
        self._remember(record)
        return record

    def _action_record(
        self,
        via: Literal["http", "socket"],
        action_id: str,
        value: str,
        block_id: str | None,
        team_id: str | None,
        channel_id: str | None,
        user_id: str,
        message_ts: str | None,
    ) -> ActionRecord:
        with self._lock:
            workspace = self._workspace(team_id)
            channel = self._seen_channel(workspace, channel_id or workspace.channel)
            channel_id = channel.id
            user = self._seen_user(workspace, user_id)
            path = f"/actions/{workspace.id}/{next(self._ids)}/{secrets.token_hex(12)}"
            message = None
            if message_ts is not None:
                stored = self._state.channels.get(channel_id, [])
                message = next((copy.deepcopy(m) for m in stored if m["ts"] == message_ts), None)
        response_url = f"http://{self.host}:{self._port}{path}"
        action = {
            "action_id": action_id,
            "block_id": block_id or "fake-block",
            "text": {"type": "plain_text", "text": action_id, "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {
                "id": user_id,
                "username": user.name,
                "name": user.name,
                "team_id": workspace.id,
            },
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "container": {
                "type": "message",
                "message_ts": message_ts or "",
                "channel_id": channel_id,
                "is_ephemeral": message is None,
            },
            "trigger_id": _trigger_id(),
            "team": {"id": workspace.id, "domain": workspace.domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": channel.name},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        if message is not None:
            payload["message"] = message
        record = ActionRecord(
            kind="block_actions",
            via=via,
            team_id=workspace.id,
            payload=payload,
            response_url=response_url,
            ttl=self.response_url_ttl,
            wait_timeout=self.wait_timeout,
        )
        self._remember(record, path)
        return record

    def _remember(self, record: Delivery, path: str | None = None) -> None:
        with self._lock:
            self._state.deliveries.append(record)
            if path is not None:
                self._state.responders[path] = record

    def _share_links(self, team: str, event: dict[str, Any]) -> None:
        """Slack now expects chat.unfurl for these links (called with the lock held)."""
        urls = {
            link["url"]
            for link in event.get("links") or []
            if isinstance(link, dict) and isinstance(link.get("url"), str)
        }
        shared = _Shared(team, urls)
        channel, ts = event.get("channel"), event.get("message_ts")
        if isinstance(channel, str) and isinstance(ts, str):
            self._state.shared[(channel, ts)] = shared
        unfurl_id = event.get("unfurl_id")
        if isinstance(unfurl_id, str):
            self._state.shared_ids[unfurl_id] = shared

    # --- OAuth --------------------------------------------------------------------------------

    def authorize(
        self,
        install: str | Mapping[str, str],
        *,
        team_id: str | None = None,
        team_name: str | None = None,
        user_id: str | None = None,
        redirect_uri: str | None = None,
        deny: bool = False,
    ) -> str:
        """A workspace admin approves the install link (a URL, its query string, or the query
        as a mapping): returns where Slack redirects the browser, ``redirect_uri?code=&state=``
        (``deny``: ``?error=access_denied&state=``). ``team_id`` None installs into a new
        workspace; an existing one is re-installed with a fresh token."""
        query = _query(install)
        if query.get("client_id") != self.client_id:
            raise ValueError(
                f"the install link's client_id {query.get('client_id')!r} is not this app's "
                f"({self.client_id!r}): give the app SLACK_CLIENT_ID from fake.env('oauth')"
            )
        target = redirect_uri or query.get("redirect_uri") or self.redirect_uri
        if not target:
            raise ValueError(
                "no redirect URL: the install link names none, so pass redirect_uri= "
                "(the app's /slack/oauth_redirect URL) or set FakeSlack(redirect_uri=...)"
            )
        state = query.get("state", "")
        if deny:
            return _with_query(target, {"error": "access_denied", "state": state})
        scopes = tuple(s for s in query.get("scope", "").split(",") if s)
        user_scopes = tuple(s for s in query.get("user_scope", "").split(",") if s)
        with self._lock:
            number = next(self._ids)
            if team_id is None or team_id not in self._state.workspaces:
                team = team_id or f"T0INST{number:04d}"
                workspace = self._new_workspace(team, name=team_name, scopes=scopes)
            else:
                workspace = self._state.workspaces[team_id]
                workspace.scopes = scopes or workspace.scopes
            installer = user_id or f"U0INST{number:04d}"
            if installer not in workspace.users:
                workspace.users[installer] = self._plain_user(workspace.id, installer)
                workspace.users[installer].is_admin = True
            code = f"{number}.{secrets.token_hex(16)}"
            self._state.grants[code] = InstallGrant(
                code=code,
                team_id=workspace.id,
                team_name=workspace.name,
                user_id=installer,
                scopes=scopes,
                user_scopes=user_scopes,
                redirect_uri=target,
                redirect_uri_given="redirect_uri" in query,
                bot_token=_new_bot_token(workspace.id),
            )
        return _with_query(target, {"code": code, "state": state})

    # --- the server ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith(API_PREFIX):
            return await self._handle_api(request)
        if path in (LINK_PATH, LINK_PATH.rstrip("/")):
            return await self.socket.handle(request)
        if path.startswith(("/commands/", "/actions/")):
            return await self._respond(request)
        if path == AUTHORIZE_PATH:
            return self._authorize_page(request)
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.path.removeprefix(API_PREFIX)
        params, token, basic = await _arguments(request)
        client_secret = params.pop("client_secret", None)  # kept out of the record
        if basic is None and client_secret is not None:
            basic = (str(params.get("client_id", "")), str(client_secret))
        team = self.tokens.get(token) if token else None
        channel = params.get("channel")
        channel = str(channel) if channel is not None else None
        record = RecordedRequest(method, channel, params, team, time.monotonic())
        with self._lock:
            self._state.requests.append(record)
            if method == "chat.postMessage" and channel is not None:
                self._state.posts[channel] = self._state.posts.get(channel, 0) + 1
        response = await self._answer(request, record, token, basic)
        record.status = response.status
        if isinstance(response, web.Response) and response.content_type == "application/json":
            with suppress(ValueError, TypeError, AttributeError):
                answer = json.loads(response.body)  # type: ignore[arg-type]
                if isinstance(answer, dict) and not answer.get("ok"):
                    record.error = answer.get("error")
        self._notify()
        return response

    async def _answer(
        self,
        request: web.Request,
        record: RecordedRequest,
        token: str | None,
        basic: tuple[str, str] | None,
    ) -> web.StreamResponse:
        method = record.method
        if method == "oauth.v2.access":
            return self._oauth_access(record, basic)
        if not token:
            return _error("not_authed")
        with self._lock:
            dead = self._state.dead_tokens.get(token)
        if dead is not None:
            return _error(dead)
        if method == "apps.connections.open":
            if token == self.app_token:
                return web.json_response({"ok": True, "url": self.socket.issue_url()})
            return _error("not_allowed_token_type" if record.team else "invalid_auth")
        if token == self.app_token:
            return _error("not_allowed_token_type")
        if record.team is None:
            return _error("invalid_auth")
        handler = self._METHODS.get(method)
        if handler is None:
            return _error("unknown_method", status=404)
        rule = None if method in _IDENTITY_METHODS else self._take_rule(record.channel, method)
        if rule is not None:
            record.fault = rule.fault
            answer = await self._fault(rule)
            if answer is not None:
                return answer
        if method == "chat.postMessage" and self._channel_rate is not None and rule is None:
            wait = self._spend(record.channel or "")
            if wait is not None:
                self.rate_limited_answers += 1
                return _rate_limited(math.ceil(wait))
        with self._lock:
            workspace = self._state.workspaces[record.team]
            needed = _NEEDED_SCOPES.get(method, ())
            if needed and not set(needed) & set(workspace.scopes):
                response = _missing_scope(needed[0], workspace.scopes)
            else:
                response = handler(self, workspace, record)
        if rule is not None and rule.fault is Fault.STALL_AFTER_POST:
            await self._stall()
            return web.Response(status=503, text="stalled")
        if rule is not None and rule.fault is Fault.DROP_AFTER_POST:
            return await _drop_midway(request, response)
        return response

    def _take_rule(self, channel: str | None, method: str) -> _Rule | None:
        with self._lock:
            for rule in self._state.rules:
                if rule.channel not in (None, channel):
                    continue
                if not (
                    rule.route in ("any", method) or method in _ROUTES.get(rule.route, frozenset())
                ):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._state.rules.remove(rule)
                return rule
        return None

    async def _fault(self, rule: _Rule) -> web.StreamResponse | None:
        """The fault's answer, or None when the call is carried out first (*_AFTER_POST)."""
        fault = rule.fault
        if fault is Fault.RATE_LIMITED:
            return _rate_limited(rule.retry_after)
        if fault is Fault.SERVER_ERROR:
            return web.Response(
                status=500,
                text="<html><body>500 Internal Server Error</body></html>",
                content_type="text/html",
            )
        if fault in _ERROR_FAULTS:
            return _error(fault.value)
        if fault is Fault.API_ERROR:
            return _error(rule.error)
        if fault is Fault.STALL:
            await self._stall()
            return web.Response(status=503, text="stalled")
        return None

    async def _stall(self) -> None:
        assert self._stop is not None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=3600)

    # --- Web API methods (called with the lock held) ------------------------------------------

    def _auth_test(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        answer: dict[str, Any] = {
            "ok": True,
            "url": f"https://{workspace.domain}.slack.com/",
            "team": workspace.name,
            "user": "paperwire",
            "team_id": workspace.id,
            "user_id": workspace.bot_user_id,
            "bot_id": workspace.bot_id,
            "is_enterprise_install": False,
        }
        if workspace.enterprise_id is not None:
            answer["enterprise_id"] = workspace.enterprise_id
        return web.json_response(answer, headers={"x-oauth-scopes": ",".join(workspace.scopes)})

    def _users_info(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        user = workspace.users.get(str(record.params.get("user", "")))
        if user is None:
            return _error("user_not_found")
        return web.json_response({"ok": True, "user": _user_object(user, workspace)})

    def _conversations_info(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        channel = self._visible_channel(workspace, record.channel, create=False)
        if channel is None:
            return _error("channel_not_found")
        return web.json_response({"ok": True, "channel": _channel_object(channel, workspace)})

    def _conversations_history(
        self, workspace: _Workspace, record: RecordedRequest
    ) -> web.Response:
        channel = self._visible_channel(workspace, record.channel, create=True)
        if channel is None:
            return _error("channel_not_found")
        if not channel.is_member and not channel.is_private:
            return _error("not_in_channel")
        params = record.params
        try:
            limit = int(params.get("limit", 100))
        except (TypeError, ValueError):
            return _error("invalid_limit")
        limit = max(1, min(limit, 999))
        with_metadata = _truthy(params.get("include_all_metadata"))
        stored = [m for m in self._state.channels.get(channel.id, []) if _in_channel(m)]
        newest = sorted(stored, key=lambda m: float(m["ts"]), reverse=True)
        answer = [
            {k: copy.deepcopy(v) for k, v in m.items() if with_metadata or k != "metadata"}
            for m in newest[:limit]
        ]
        return web.json_response(
            {
                "ok": True,
                "messages": answer,
                "has_more": len(newest) > limit,
                "pin_count": 0,
                "response_metadata": {"next_cursor": ""},
            }
        )

    def _conversations_replies(
        self, workspace: _Workspace, record: RecordedRequest
    ) -> web.Response:
        """A thread: its parent first, then the replies, oldest first; pages of ``limit``
        (at most 1000) with a cursor. ``oldest``, ``latest`` and ``inclusive`` are ignored."""
        channel = self._visible_channel(workspace, record.channel, create=True)
        if channel is None:
            return _error("channel_not_found")
        if not channel.is_member and not channel.is_private:
            return _error("not_in_channel")
        params = record.params
        root = self._thread_root(channel.id, str(params.get("ts") or ""))
        if root is None:
            return _error("thread_not_found")
        try:
            limit = int(params.get("limit", 1000))
        except (TypeError, ValueError):
            return _error("invalid_limit")
        limit = max(1, min(limit, 1000))
        thread = [root, *self._replies_of(channel.id, root["ts"])]
        start = 0
        cursor = params.get("cursor")
        if cursor:
            try:
                after = base64.b64decode(str(cursor)).decode().removeprefix("next_ts:")
            except (binascii.Error, UnicodeDecodeError):
                return _error("invalid_cursor")
            start = next((i for i, m in enumerate(thread) if m["ts"] == after), -1)
            if start < 0:
                return _error("invalid_cursor")
        page = thread[start : start + limit]
        rest = thread[start + limit :]
        next_cursor = base64.b64encode(f"next_ts:{rest[0]['ts']}".encode()).decode() if rest else ""
        with_metadata = _truthy(params.get("include_all_metadata"))
        answer = [
            {k: copy.deepcopy(v) for k, v in m.items() if with_metadata or k != "metadata"}
            for m in page
        ]
        return web.json_response(
            {
                "ok": True,
                "messages": answer,
                "has_more": bool(rest),
                "response_metadata": {"next_cursor": next_cursor},
            }
        )

    def _reactions_get(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        params = record.params
        ts = params.get("timestamp")
        if not record.channel or not ts:
            return _error("no_item_specified")
        # A channel with messages exists, though no test added it (as for posts and history).
        known = record.channel in self._state.channels
        channel = self._visible_channel(workspace, record.channel, create=known)
        if channel is None:
            return _error("channel_not_found")
        stored = self._find_message(channel.id, str(ts))
        if stored is None:
            return _error("message_not_found")
        full = _truthy(params.get("full"))
        message = {k: copy.deepcopy(v) for k, v in stored.items() if k != "metadata"}
        if "reactions" in message and not full:
            for reaction in message["reactions"]:
                reaction["users"] = reaction["users"][:_REACTION_USERS_SHOWN]
        link = f"https://{workspace.domain}.slack.com/archives/{channel.id}/p"
        message["permalink"] = link + str(stored["ts"]).replace(".", "")
        if not _in_channel(stored):
            message["permalink"] += f"?thread_ts={stored['thread_ts']}&cid={channel.id}"
        return web.json_response(
            {"ok": True, "type": "message", "channel": channel.id, "message": message}
        )

    def _usergroups_list(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        params = record.params
        include_users = _truthy(params.get("include_users"))
        include_disabled = _truthy(params.get("include_disabled"))
        groups = []
        for group in workspace.usergroups.values():
            if group.disabled and not include_disabled:
                continue
            groups.append(_usergroup_object(group, include_users=include_users))
        return web.json_response({"ok": True, "usergroups": groups})

    def _usergroups_users_list(
        self, workspace: _Workspace, record: RecordedRequest
    ) -> web.Response:
        group = workspace.usergroups.get(str(record.params.get("usergroup", "")))
        if group is None:
            return _error("no_such_subteam")
        if group.disabled and not _truthy(record.params.get("include_disabled")):
            return web.json_response({"ok": True, "users": []})
        return web.json_response({"ok": True, "users": list(group.users)})

    def _team_info(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        asked = record.params.get("team")
        if asked and asked != workspace.id:
            return _error("team_not_found")
        team: dict[str, Any] = {
            "id": workspace.id,
            "name": workspace.name,
            "url": f"https://{workspace.domain}.slack.com/",
            "domain": workspace.domain,
            "email_domain": "",
            "icon": {"image_default": True},
            "avatar_base_url": "https://ca.slack-edge.com/",
            "is_verified": False,
        }
        if workspace.enterprise_id is not None:
            team["enterprise_id"] = workspace.enterprise_id
            team["enterprise_name"] = workspace.enterprise_name
        return web.json_response({"ok": True, "team": team})

    def _chat_post_message(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        refused = self._refuse_post(workspace, record.channel)
        if refused is not None:
            return refused
        params = record.params
        blocks = _json_field(params.get("blocks"))
        metadata = _json_field(params.get("metadata"))
        problem = validate_message(params.get("text"), params.get("blocks"))
        if problem is not None:
            return problem.response()
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            return _error("invalid_metadata_format")
        assert record.channel is not None
        root = None
        thread_ts = params.get("thread_ts")
        if thread_ts not in (None, ""):
            # Slack's answer to a reply to nothing is not written down; refusing it shows the
            # bug (a header that was never posted, a ts from another channel).
            root = self._thread_root(record.channel, str(thread_ts))
            if root is None:
                return _error("thread_not_found")
        message = self._store_bot_message(
            workspace, record.channel, params.get("text"), blocks, metadata
        )
        if root is not None:
            self._add_reply(root, message, broadcast=_truthy(params.get("reply_broadcast")))
        return web.json_response(
            {
                "ok": True,
                "channel": record.channel,
                "ts": message["ts"],
                "message": copy.deepcopy(message),
            }
        )

    def _chat_post_ephemeral(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        refused = self._refuse_post(workspace, record.channel)
        if refused is not None:
            return refused
        params = record.params
        user = str(params.get("user", ""))
        if user not in workspace.users:
            return _error("user_not_in_channel")
        problem = validate_message(params.get("text"), params.get("blocks"))
        if problem is not None:
            return problem.response()
        ts = self._next_ts()
        self._state.ephemerals.append(
            {
                "team": workspace.id,
                "channel": record.channel,
                "user": user,
                "text": str(params.get("text") or ""),
                "blocks": _json_field(params.get("blocks")),
                "message_ts": ts,
            }
        )
        return web.json_response({"ok": True, "message_ts": ts})

    def _chat_update(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        channel = self._visible_channel(workspace, record.channel, create=False)
        if channel is None and record.channel not in self._state.channels:
            return _error("channel_not_found")
        if channel is not None and channel.is_archived:
            return _error("is_inactive")
        params = record.params
        stored = self._state.channels.get(record.channel or "", [])
        message = next((m for m in stored if m["ts"] == params.get("ts")), None)
        if message is None:
            return _error("message_not_found")
        if message.get("bot_id") != workspace.bot_id:
            return _error("cant_update_message")
        problem = validate_message(params.get("text"), params.get("blocks"))
        if problem is not None:
            return problem.response()
        message["text"] = str(params.get("text") or "")
        blocks = _json_field(params.get("blocks"))
        if blocks is not None:
            message["blocks"] = copy.deepcopy(blocks)
        metadata = _json_field(params.get("metadata"))
        if metadata is not None:
            message["metadata"] = copy.deepcopy(metadata)
        message["edited"] = {"user": workspace.bot_user_id, "ts": self._next_ts()}
        return web.json_response(
            {
                "ok": True,
                "channel": record.channel,
                "ts": message["ts"],
                "text": message["text"],
                "message": copy.deepcopy(message),
            }
        )

    def _chat_unfurl(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        params = record.params
        channel, ts = params.get("channel"), params.get("ts")
        unfurl_id, source = params.get("unfurl_id"), params.get("source")
        if unfurl_id is not None or source is not None:
            if not unfurl_id:
                return _error("missing_unfurl_id")
            if source not in ("composer", "conversations_history"):
                return _error("invalid_source")
            shared = self._state.shared_ids.get(str(unfurl_id))
        else:
            if not channel:
                return _error("missing_channel")
            if not ts:
                return _error("missing_ts")
            shared = self._state.shared.get((str(channel), str(ts)))
        if "unfurls" not in params:
            return _error("missing_unfurls")
        if shared is None or shared.team != workspace.id:
            return _error("cannot_find_message")
        unfurls, problem = validate_unfurls(params["unfurls"])
        if problem is not None:
            return problem.response()
        assert unfurls is not None
        if not set(unfurls) <= shared.urls:
            return _error("cannot_unfurl_url")
        self._state.unfurls.append(
            UnfurlRecord(
                workspace.id,
                str(channel) if channel else None,
                str(ts) if ts else None,
                str(unfurl_id) if unfurl_id else None,
                str(source) if source else None,
                copy.deepcopy(unfurls),
            )
        )
        return web.json_response({"ok": True})

    def _views_publish(self, workspace: _Workspace, record: RecordedRequest) -> web.Response:
        params = record.params
        user_id = str(params.get("user_id", ""))
        if user_id not in workspace.users:
            return _error("user_not_found")
        problem = validate_view(params.get("view"))
        if problem is not None:
            return problem.response()
        view = _json_field(params.get("view"))
        current = workspace.views.get(user_id)
        given_hash = params.get("hash")
        if given_hash and current is not None and given_hash != current["hash"]:
            return _error("hash_conflict")
        view_id = current["id"] if current is not None else f"V0FAKE{next(self._ids):04d}"
        stored = {
            "id": view_id,
            "team_id": workspace.id,
            "type": "home",
            "blocks": copy.deepcopy(view["blocks"]),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{secrets.token_hex(4)}",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "bot_id": workspace.bot_id,
        }
        workspace.views[user_id] = stored
        self._state.views.append(ViewRecord(workspace.id, user_id, copy.deepcopy(stored)))
        return web.json_response({"ok": True, "view": copy.deepcopy(stored)})

    _METHODS: ClassVar[
        dict[str, Callable[[FakeSlack, _Workspace, RecordedRequest], web.Response]]
    ] = {
        "auth.test": _auth_test,
        "users.info": _users_info,
        "conversations.info": _conversations_info,
        "conversations.history": _conversations_history,
        "conversations.replies": _conversations_replies,
        "reactions.get": _reactions_get,
        "usergroups.list": _usergroups_list,
        "usergroups.users.list": _usergroups_users_list,
        "team.info": _team_info,
        "chat.postMessage": _chat_post_message,
        "chat.postEphemeral": _chat_post_ephemeral,
        "chat.update": _chat_update,
        "chat.unfurl": _chat_unfurl,
        "views.publish": _views_publish,
    }

    def _oauth_access(self, record: RecordedRequest, basic: tuple[str, str] | None) -> web.Response:
        params = record.params
        client_id, client_secret = basic or ("", "")
        if client_id != self.client_id:
            return _error("invalid_client_id")
        if not hmac.compare_digest(client_secret, self.client_secret):
            return _error("bad_client_secret")
        if params.get("grant_type") == "refresh_token":
            return _error("invalid_refresh_token")  # the fake's tokens do not rotate
        with self._lock:
            grant = self._state.grants.get(str(params.get("code", "")))
            if grant is None or grant.exchanged:
                return _error("invalid_code")
            if grant.redirect_uri_given and params.get("redirect_uri") != grant.redirect_uri:
                return _error("bad_redirect_uri")
            grant.exchanged = True
            workspace = self._state.workspaces[grant.team_id]
            workspace.installed = True
            self.tokens[grant.bot_token] = workspace.id
            record.team = workspace.id
            answer: dict[str, Any] = {
                "ok": True,
                "app_id": self.app_id,
                "authed_user": {"id": grant.user_id},
                "scope": ",".join(grant.scopes),
                "token_type": "bot",
                "access_token": grant.bot_token,
                "bot_user_id": workspace.bot_user_id,
                "team": {"id": workspace.id, "name": workspace.name},
                "enterprise": (
                    {"id": workspace.enterprise_id, "name": workspace.enterprise_name}
                    if workspace.enterprise_id
                    else None
                ),
                "is_enterprise_install": False,
            }
            if grant.user_scopes:
                answer["authed_user"].update(
                    {
                        "scope": ",".join(grant.user_scopes),
                        "access_token": f"xoxp-{workspace.id}-{secrets.token_hex(6)}-NOT-REAL",
                        "token_type": "user",
                    }
                )
        return web.json_response(answer)

    def _authorize_page(self, request: web.Request) -> web.Response:
        """The fake slack.com/oauth/v2/authorize: the admin approves at once (302)."""
        try:
            location = self.authorize(dict(request.query))
        except ValueError as exc:
            return web.Response(status=400, text=str(exc), content_type="text/plain")
        raise web.HTTPFound(location)

    # --- the response_url ---------------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        with self._lock:
            record = self._state.responders.get(request.path)
        if record is None:
            return web.Response(status=404, text="no_service")
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        answer = self._respond_answer(record, body)
        if answer is None:
            record._post(body)
            self._show_response(record, body)
            answer = web.Response(text="ok")
        else:
            record._refuse(answer.status, answer.text or "")
        self._notify()
        return answer

    def _respond_answer(self, record: Delivery, body: Any) -> web.Response | None:
        """Why Slack refuses this response_url post, or None when it takes it."""
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        if record.expired:
            return web.Response(status=404, text="expired_url")
        if len(record.posts) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        if body.get("response_type") not in (None, "ephemeral", "in_channel"):
            return web.Response(status=400, text="invalid_payload")
        problem = validate_message(
            body.get("text"), body.get("blocks"), require_content=not body.get("delete_original")
        )
        if problem is not None:
            return web.Response(status=400, text=problem.error)
        return None

    def _show_response(self, record: Delivery, body: dict[str, Any]) -> None:
        """An in-channel response is a message of the channel, as on Slack; replace_original
        and delete_original act on the previous one posted through the same URL."""
        channel = record.payload.get("channel_id") or (record.payload.get("channel") or {}).get(
            "id"
        )
        if not isinstance(channel, str):
            return
        with self._lock:
            workspace = self._state.workspaces[record.team_id]
            stored = self._state.channels.setdefault(channel, [])
            previous = next(
                (m for m in reversed(stored) if m.get("response_url") == record.response_url),
                None,
            )
            if previous is not None and body.get("delete_original"):
                stored.remove(previous)
                return
            if body.get("response_type") != "in_channel" and not (
                previous is not None and body.get("replace_original")
            ):
                return
            if previous is not None and body.get("replace_original"):
                previous["text"] = str(body.get("text") or "")
                previous["blocks"] = copy.deepcopy(body.get("blocks"))
                return
            message = self._store_bot_message(
                workspace, channel, body.get("text"), body.get("blocks"), body.get("metadata")
            )
            message["response_url"] = record.response_url

    # --- helpers (called with the lock held unless said otherwise) ----------------------------

    def _new_workspace(
        self,
        team_id: str,
        *,
        name: str | None = None,
        domain: str | None = None,
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
    ) -> _Workspace:
        first = not self._state.workspaces
        number = len(self._state.workspaces) + 1
        workspace = _Workspace(
            team_id,
            name or ("Fake workspace" if first else f"Fake workspace {number}"),
            domain or f"fake-{team_id.lower()}",
            BOT_USER_ID if first else f"U0BOT{number:05d}",
            BOT_ID if first else f"B0BOT{number:05d}",
            DEFAULT_CHANNEL
            if first
            else f"C{team_id[1:]}"
            if team_id[:1] == "T"
            else f"C{team_id}",
            scopes=scopes or DEFAULT_SCOPES,
        )
        workspace.users[workspace.bot_user_id] = _User(
            workspace.bot_user_id, team_id, "paperwire", "paperwire", "paperwire", is_bot=True
        )
        self._state.workspaces[team_id] = workspace
        return workspace

    def _plain_user(self, team: str, user_id: str = DEFAULT_USER) -> _User:
        handle = user_id.lower()
        return _User(user_id, team, handle, handle, handle.title())

    def _workspace(self, team_id: str | None) -> _Workspace:
        if team_id is None:
            return next(iter(self._state.workspaces.values()))
        workspace = self._state.workspaces.get(team_id)
        if workspace is None:
            known = ", ".join(self._state.workspaces)
            raise KeyError(f"no workspace {team_id} (the fake has {known}): add_workspace first")
        return workspace

    def _info(self, workspace: _Workspace) -> WorkspaceInfo:
        tokens = [t for t, team in self.tokens.items() if team == workspace.id]
        live = [t for t in tokens if t not in self._state.dead_tokens]
        return WorkspaceInfo(
            workspace.id,
            workspace.name,
            workspace.domain,
            live[-1] if live else None,
            workspace.bot_user_id,
            workspace.bot_id,
            workspace.enterprise_id,
            workspace.installed,
            workspace.channel,
        )

    def _kill_tokens(self, team: str, error: str) -> None:
        for token, owner in self.tokens.items():
            if owner == team:
                self._state.dead_tokens[token] = error

    def _seen_user(self, workspace: _Workspace, user_id: str) -> _User:
        """Slack sent something from this person, so they are a member."""
        user = workspace.users.get(user_id)
        if user is None:
            user = workspace.users[user_id] = self._plain_user(workspace.id, user_id)
        return user

    def _seen_channel(self, workspace: _Workspace, channel_id: str) -> _Channel:
        """Slack sent something from this channel, so it is one of the workspace's."""
        channel = self._state.channel_info.get(channel_id)
        if channel is None:
            channel = self._state.channel_info[channel_id] = _Channel(
                channel_id, workspace.id, f"channel-{channel_id.lower()}", CHANNEL_CREATOR
            )
        elif channel.team not in (None, workspace.id):
            raise ValueError(
                f"channel {channel_id} belongs to workspace {channel.team}, not {workspace.id}: "
                f"send from one of {workspace.id}'s channels (its own is {workspace.channel})"
            )
        return channel

    def _visible_channel(
        self, workspace: _Workspace, channel_id: str | None, *, create: bool
    ) -> _Channel | None:
        """The channel as this workspace's bot sees it: None when it does not exist there (or
        is private without the bot); ``create`` makes one up on first use."""
        if not channel_id:
            return None
        channel = self._state.channel_info.get(channel_id)
        if channel is None:
            if not create:
                return None
            channel = self._state.channel_info[channel_id] = _Channel(
                channel_id, None, f"channel-{channel_id.lower()}", CHANNEL_CREATOR
            )
        if channel.team not in (None, workspace.id):
            return None
        if channel.is_private and not channel.is_member:
            return None
        return channel

    def _refuse_post(self, workspace: _Workspace, channel_id: str | None) -> web.Response | None:
        channel = self._visible_channel(workspace, channel_id, create=True)
        if channel is None:
            return _error("channel_not_found")
        if channel.is_archived:
            return _error("is_archived")
        if not channel.is_member:
            return _error("not_in_channel")
        return None

    def _store_bot_message(
        self,
        workspace: _Workspace,
        channel: str,
        text: Any,
        blocks: Any,
        metadata: Any,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "ts": self._next_ts(),
            "user": workspace.bot_user_id,
            "bot_id": workspace.bot_id,
            "app_id": self.app_id,
            "team": workspace.id,
            "text": str(text or ""),
        }
        if blocks is not None:
            message["blocks"] = copy.deepcopy(blocks)
        if metadata is not None:
            message["metadata"] = copy.deepcopy(metadata)
        self._state.channels.setdefault(channel, []).append(message)
        return message

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self._state.channels.get(channel, []) if m["ts"] == ts), None)

    def _replies_of(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies in message ``ts``'s thread, oldest first (not copies)."""
        stored = self._state.channels.get(channel, [])
        replies = [m for m in stored if m.get("thread_ts") == ts and m["ts"] != ts]
        return sorted(replies, key=lambda m: float(m["ts"]))

    def _thread_root(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message whose thread ``ts`` is in: the message itself, or a reply's parent."""
        message = self._find_message(channel, ts)
        if message is None:
            return None
        root_ts = message.get("thread_ts") or message["ts"]
        return message if root_ts == message["ts"] else self._find_message(channel, root_ts)

    def _add_reply(self, root: dict[str, Any], reply: dict[str, Any], *, broadcast: bool) -> None:
        """File ``reply`` (already stored) in ``root``'s thread; the parent shows the count."""
        reply["thread_ts"] = root["ts"]
        reply["parent_user_id"] = root.get("user")
        if broadcast:
            reply["subtype"] = "thread_broadcast"
        users = list(root.get("reply_users") or [])
        if reply.get("user") not in users:
            users.append(reply.get("user"))
        root.update(
            thread_ts=root["ts"],
            reply_count=int(root.get("reply_count") or 0) + 1,
            reply_users=users,
            reply_users_count=len(users),
            latest_reply=reply["ts"],
        )

    def _next_ts(self) -> str:
        """A fresh, strictly increasing message ts."""
        now = int(time.time() * 1_000_000)
        self._state.last_ts = max(now, self._state.last_ts + 1)
        seconds, micros = divmod(self._state.last_ts, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _event_ts(self) -> str:
        return self._next_ts()

    def _spend(self, channel: str) -> float | None:
        """Count a post against the channel's pace; the wait when it is used up."""
        assert self._channel_rate is not None
        limit, period = self._channel_rate
        now = time.monotonic()
        with self._lock:
            window = self._state.windows.get(channel)
            if window is None or now - window.start >= period:
                window = self._state.windows[channel] = _Window(now)
            if window.count >= limit:
                return max(0.001, period - (now - window.start))
            window.count += 1
        return None


# --- wire shapes ----------------------------------------------------------------------------


def _user_object(user: _User, workspace: _Workspace) -> dict[str, Any]:
    return {
        "id": user.id,
        "team_id": workspace.id,
        "name": user.name,
        "deleted": user.deleted,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": "Europe/London",
        "tz_label": "Greenwich Mean Time",
        "tz_offset": 0,
        "profile": {
            "real_name": user.real_name,
            "display_name": user.display_name,
            "real_name_normalized": user.real_name,
            "display_name_normalized": user.display_name,
            "team": workspace.id,
        },
        "is_admin": user.is_admin,
        "is_owner": user.is_owner,
        "is_primary_owner": user.is_primary_owner,
        "is_restricted": user.is_restricted,
        "is_ultra_restricted": user.is_ultra_restricted,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": int(time.time()),
    }


def _channel_object(channel: _Channel, workspace: _Workspace) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_private,
        "is_group": channel.is_private,
        "is_im": False,
        "is_mpim": False,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": channel.is_archived,
        "is_general": False,
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": False,
        "is_org_shared": False,
        "is_ext_shared": False,
        "is_pending_ext_shared": False,
        "context_team_id": workspace.id,
        "creator": channel.creator,
        "is_member": channel.is_member,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
    }


def _usergroup_object(group: _Usergroup, *, include_users: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": group.id,
        "team_id": group.team,
        "is_usergroup": True,
        "name": group.name,
        "description": "",
        "handle": group.handle,
        "is_external": False,
        "date_create": group.created,
        "date_update": group.created,
        "date_delete": group.created if group.disabled else 0,
        "auto_type": None,
        "created_by": CHANNEL_CREATOR,
        "updated_by": CHANNEL_CREATOR,
        "deleted_by": CHANNEL_CREATOR if group.disabled else None,
        "prefs": {"channels": [], "groups": []},
        "user_count": str(len(group.users)),
    }
    if include_users:
        answer["users"] = list(group.users)
    return answer


async def _mark_sent(
    session: aiohttp.ClientSession,
    context: Any,
    params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    record = context.trace_request_ctx
    if isinstance(record, Delivery):
        record.sent_at = time.monotonic()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _new_bot_token(team_id: str) -> str:
    return f"xoxb-{team_id}-{secrets.token_hex(6)}-NOT-A-REAL-TOKEN"


def _trigger_id() -> str:
    return f"{time.time_ns() // 1000}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"


def _endpoint(app_url: str) -> str:
    """The app's request URL: its base URL gets Bolt's default path, /slack/events."""
    parts = urlsplit(app_url)
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path=EVENTS_PATH))
    return app_url


def _altered(body: bytes, content_type: str) -> bytes:
    """The same request with a change after signing (still well-formed)."""
    if content_type == "application/json":
        return b"{ " + body[1:]
    return body + b"&tampered=1"


def _query(install: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(install, Mapping):
        return {str(k): str(v) for k, v in install.items()}
    text = install.strip()
    query = urlsplit(text).query if "://" in text else text.lstrip("?")
    return dict(parse_qsl(query, keep_blank_values=True))


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


async def _drop_midway(request: web.Request, answer: web.Response) -> web.StreamResponse:
    """Send half the answer, then cut the connection."""
    whole = bytes(answer.body) if isinstance(answer.body, bytes | bytearray) else b""
    response = web.StreamResponse(status=answer.status)
    response.content_type = answer.content_type
    response.content_length = len(whole)
    await response.prepare(request)
    await response.write(whole[: len(whole) // 2])
    if request.transport is not None:
        request.transport.close()
    return response


async def _arguments(
    request: web.Request,
) -> tuple[dict[str, Any], str | None, tuple[str, str] | None]:
    """The call's arguments (query, then form or JSON body), its token, and the HTTP Basic
    credentials (client_id, client_secret) when given."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            with suppress(ValueError, UnicodeDecodeError):
                body = json.loads(await request.read())
                if isinstance(body, dict):
                    params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    token = params.pop("token", None)
    basic = None
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = auth.removeprefix("Bearer ").strip()
    elif auth.startswith("Basic "):
        with suppress(binascii.Error, UnicodeDecodeError, ValueError):
            user, _, password = (
                base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
            )
            basic = (user, password)
    return params, (str(token) if token else None), basic


def _json_field(value: Any) -> Any:
    """A form field carries JSON as a string; a JSON body carries it as is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _in_channel(message: dict[str, Any]) -> bool:
    """Whether the channel shows the message: not a thread reply, unless broadcast."""
    thread_ts = message.get("thread_ts")
    return thread_ts in (None, message["ts"]) or message.get("subtype") == "thread_broadcast"


def _missing_scope(needed: str, provided: Iterable[str]) -> web.Response:
    return web.json_response(
        {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(provided)}
    )


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _error(code: str, *, status: int = 200) -> web.Response:
    return web.json_response({"ok": False, "error": code}, status=status)


def _rate_limited(retry_after: int) -> web.Response:
    return web.json_response(
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": str(retry_after)},
    )
