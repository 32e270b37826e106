"""A fake Discord on 127.0.0.1: the REST API and the gateway, enough of both for discord.py's
``HTTPClient`` to post and for a real ``discord.Client`` with a ``CommandTree`` to log in,
sync its commands and answer slash commands.

REST (under ``/api/v10``). Channel posts: ``POST /channels/{id}/messages`` and
``GET /channels/{id}/messages?limit=N`` store messages per channel (snowflake ids, newest
first on read), honour ``nonce`` with ``enforce_nonce`` like Discord does, count every post
and inject faults on demand; channels spring into existence on first use, and
``fail(Fault.UNKNOWN_CHANNEL, channel=..., times=None)`` makes one disappear. One message:
``GET /channels/{id}/messages/{message_id}`` (with its ``reactions`` once ``react`` gave it
some). Threads: ``POST /channels/{id}/messages/{message_id}/threads`` starts a public thread
(type 11) from a message; as on Discord the thread's id is the message's, a second thread
from the same message gets 400 160004, and the thread is a channel of its own (posts, history,
``GET /channels/{thread_id}``, ``messages(thread_id)``). The bot's own
calls: ``GET /users/@me``, ``GET /oauth2/applications/@me`` (and ``/applications/@me``),
``GET /gateway`` and ``/gateway/bot``, ``GET /channels/{id}``, command sync (``PUT``,
``GET``, ``POST`` and ``DELETE`` of ``/applications/{app}/commands`` and
``/applications/{app}/guilds/{guild}/commands``), interaction callbacks
(``POST /interactions/{id}/{token}/callback``), follow-ups (``POST /webhooks/{app}/{token}``)
and the original response and follow-ups by id (``GET``/``PATCH``/``DELETE``
``/webhooks/{app}/{token}/messages/{@original|id}``).

Discord's rules a bot can get wrong are enforced: a callback comes within
``interaction_deadline`` (3 s) of the dispatch or gets 404 10062, a second one gets 400 40060,
follow-ups and edits work for ``interaction_token_ttl`` (15 minutes), and every message body
(channel post, callback, follow-up, edit) goes through ``validate_message``: Discord's
length, count and shape limits, answered with 400 50035 and errors nested by field path.
Nothing is rate-limited unless a fault or ``channel_rate`` says so. A guild's
``bot_permissions`` govern threads: starting one needs Create Public Threads, posting in one
Send Messages in Threads (403 50013 without).

Gateway (``tests/fakes/discord_gateway.py``): ``gateway_url`` (``ws://.../gateway``).

In-process, from async tests::

    async with FakeDiscord() as fake:
        guild = fake.add_guild(GUILD, name="Lab", channels={CHANNEL: "papers"})
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        task = asyncio.create_task(client.start(fake.token))
        await fake.wait_ready()  # READY and GUILD_CREATEs processed; discord.py's on_ready
        # follows guild_ready_timeout (2 s) later: a guild added before that is no "join"
        record = await fake.invoke("papers", {"query": "cat:cs.CL"}, subcommand="subscribe")
        answer = await record.response()   # type 4 or 5, flags, latency
        message = await record.final()     # the reply, after the edit when deferred

From a background thread for subprocess tests (a worker, or ``paperwire run``)::

    with FakeDiscord.running_in_thread() as fake:
        subprocess.Popen([...], env={**os.environ, **fake.env()})
        fake.call(fake.wait_ready)
        record = fake.call(fake.invoke, "paper", {"query": "2403.13043"})
        answer = fake.call(record.response)
        many = fake.call(lambda: asyncio.gather(*(fake.invoke("paper", ...) for _ in range(200))))
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar, overload
from urllib.parse import urlsplit

from aiohttp import web

from tests.fakes._server import LoopbackServer
from tests.fakes.discord_gateway import (
    GATEWAY_PATH,
    GUILD_MEMBERS,
    GUILD_PRESENCES,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    RESUME_GATEWAY_PATH,
    Connection,
    Gateway,
    Session,
)

__all__ = [
    "ADMINISTRATOR",
    "APPLICATION_ID",
    "BOT_PERMISSIONS",
    "BOT_USER_ID",
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "GUILD_MEMBERS",
    "GUILD_PRESENCES",
    "MANAGE_CHANNELS",
    "MEMBER_PERMISSIONS",
    "MESSAGE_CONTENT",
    "OWNER_ID",
    "PRIVILEGED_INTENTS",
    "FakeDiscord",
    "Fault",
    "FormProblem",
    "GuildInfo",
    "InteractionCallback",
    "InteractionRecord",
    "RecordedRequest",
    "validate_choices",
    "validate_commands",
    "validate_message",
    "validate_thread",
]

T = TypeVar("T")

DEFAULT_TOKEN = "fake-discord-bot-token.NOT-A-REAL-ONE"  # a fixed test token, not a secret
BOT_USER_ID = "1100000000000000001"
APPLICATION_ID = BOT_USER_ID  # an app made since 2018 has its bot user's id
OWNER_ID = "1100000000000000002"  # owns the application and, by default, every guild
DEFAULT_USER_ID = "1100000000000000003"  # who invokes commands unless a test says otherwise
API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
# What @everyone has in a new server (without Manage Channels): the default invoker's.
MEMBER_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
# What the bot gets in a guild unless add_guild says otherwise (its invite link's set).
BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | READ_MESSAGE_HISTORY
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
)

# Message flags.
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_VOICE_MESSAGE = 1 << 13
IS_COMPONENTS_V2 = 1 << 15
HAS_THREAD = 1 << 5  # set by Discord on a message a thread was started from
_CHANNEL_POST_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE
_INTERACTION_FLAGS = SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS

# Interaction and callback types.
APPLICATION_COMMAND = 2
APPLICATION_COMMAND_AUTOCOMPLETE = 4
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
MODAL = 9
_CALLBACKS_FOR = {
    APPLICATION_COMMAND: (CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, MODAL),
    APPLICATION_COMMAND_AUTOCOMPLETE: (APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,),
}
_CHAT_INPUT_REPLY = 20  # message type of a slash command's reply
PUBLIC_THREAD = 11  # channel type
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)  # minutes a thread may idle before it archives

Route = Literal["post", "history", "message", "thread", "any", "callback", "webhook"]
# The routes of a channel's messages, all of which "any" covers.
_CHANNEL_ROUTES: tuple[Route, ...] = ("post", "history", "message", "thread")


class Fault(StrEnum):
    """What a request gets instead of the normal answer, while the fault lasts."""

    RATE_LIMITED = "429"  # 429 + retry_after (body, Retry-After, X-RateLimit-*, Via)
    SERVER_ERROR = "500"  # 500 with Discord's JSON error body
    BAD_GATEWAY = "502"  # 502 with an HTML page, as Cloudflare sends
    UNKNOWN_CHANNEL = "10003"  # 404 {"code": 10003, "message": "Unknown Channel"}
    MISSING_ACCESS = "50001"  # 403 {"code": 50001, "message": "Missing Access"}
    MISSING_PERMISSIONS = "50013"  # 403 {"code": 50013, "message": "Missing Permissions"}
    ECHO_AUTH = "echo_auth"  # 403 whose message repeats the Authorization header (a careless proxy)
    STALL = "stall"  # accept the request, store nothing, never answer
    STALL_AFTER_POST = "stall_after_post"  # do what was asked, then never answer
    DROP_AFTER_POST = "drop_after_post"  # do what was asked, then cut the connection mid-answer


@dataclass
class _Rule:
    fault: Fault
    channel: str | None  # None: every channel
    route: Route
    remaining: int | None  # None: until cleared
    retry_after: float
    skip: int = 0  # matching requests still to let through before the fault starts


@dataclass
class RecordedRequest:
    method: str
    path: str
    channel: str | None
    body: Any  # the parsed JSON body (multipart: its payload_json), or None
    started: float  # time.monotonic() on arrival
    status: int | None = None  # None while unanswered (or never answered: a stall)
    fault: Fault | None = None
    kind: str = ""  # "post", "history", "message", "thread", "callback", "webhook", "commands"


@dataclass
class _Message:
    data: dict[str, Any]
    nonce: str | None
    created: float  # time.monotonic(), for the enforce_nonce window


@dataclass
class _Thread:
    """A public thread started from a message: a channel whose id is that message's."""

    id: str
    parent_id: str
    guild_id: str | None  # None: its parent is a channel the fake made up on first use
    name: str
    auto_archive_duration: int
    rate_limit_per_user: int
    created: str  # ISO timestamp


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass
class _Guild:
    id: str
    name: str
    owner_id: str
    channels: dict[str, str]  # id -> name, in order
    bot_permissions: int
    member_count: int
    locale: str
    joined_at: str
    bot_role_id: str
    present: bool = True


@dataclass(frozen=True)
class GuildInfo:
    """A guild of the fake, as ``add_guild`` made it."""

    id: str
    name: str
    owner_id: str
    channels: dict[str, str]  # id -> name

    @property
    def channel_id(self) -> str:
        """The first (default) text channel's id."""
        return next(iter(self.channels))


@dataclass
class _State:
    rules: list[_Rule] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    channels: dict[str, list[_Message]] = field(default_factory=dict)
    posts: dict[str, int] = field(default_factory=dict)
    windows: dict[str, _Window] = field(default_factory=dict)
    guilds: dict[str, _Guild] = field(default_factory=dict)
    commands: dict[str | None, list[dict[str, Any]]] = field(default_factory=dict)
    threads: dict[str, _Thread] = field(default_factory=dict)  # id -> thread, oldest first
    message_ids: set[str] = field(default_factory=set)  # every message's, to tell from channels
    last_id: int = 0


# --- interactions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InteractionCallback:
    """The bot's answer to an interaction: ``POST /interactions/{id}/{token}/callback``."""

    type: int  # 4 message, 5 deferred, 8 autocomplete result, 9 modal
    data: dict[str, Any] | None
    latency: float  # seconds from the dispatch to the callback's arrival (time.monotonic)

    @property
    def flags(self) -> int:
        return int((self.data or {}).get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def deferred(self) -> bool:
        return self.type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE

    @property
    def choices(self) -> list[dict[str, Any]]:
        return list((self.data or {}).get("choices") or [])


_DELETED: dict[str, Any] = {}


class InteractionRecord:
    """One interaction the fake dispatched, and everything the bot did with it."""

    def __init__(
        self,
        *,
        payload: dict[str, Any],
        name: str,
        created: float,
        deadline: float,
        token_ttl: float,
        wait_timeout: float,
    ) -> None:
        self.payload = payload  # the INTERACTION_CREATE ``d``, as sent
        self.id: str = payload["id"]
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.name = name  # "papers subscribe"
        self.guild_id: str | None = payload.get("guild_id")
        self.channel_id: str = payload["channel_id"]
        self.user_id: str = (payload.get("member") or payload)["user"]["id"]
        self.created = created
        self.deadline = deadline
        self.token_ttl = token_ttl
        self.wait_timeout = wait_timeout
        self.callback: InteractionCallback | None = None
        self.original: dict[str, Any] | None = None  # the live original response message
        self.followups: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []  # PATCH bodies of the original response
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._callback: asyncio.Future[InteractionCallback] = loop.create_future()
        self._final: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._expired = asyncio.Event()
        self._followed = asyncio.Event()
        loop.call_later(deadline, self._expired.set)

    def __repr__(self) -> str:
        return f"<InteractionRecord /{self.name} id={self.id} type={self.type}>"

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None

    @property
    def expired(self) -> bool:
        """Whether the callback deadline has passed (a callback now gets 10062)."""
        return self._expired.is_set()

    def token_valid(self) -> bool:
        return time.monotonic() - self.created <= self.token_ttl

    async def response(self) -> InteractionCallback:
        """The bot's callback (waits for it, at most the fake's ``wait_timeout``)."""
        timeout = self.wait_timeout
        try:
            return await asyncio.wait_for(asyncio.shield(self._callback), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"the bot did not answer /{self.name} (interaction {self.id}) within "
                f"{timeout:g} s: is it connected, is the command registered, did it crash?"
            ) from None

    async def final(self) -> dict[str, Any]:
        """The message the user ends up with: a type-4 reply at once, a deferred one after
        the bot's first edit of ``@original``."""
        timeout = self.wait_timeout
        try:
            message = await asyncio.wait_for(asyncio.shield(self._final), timeout)
        except TimeoutError:
            state = "deferred and never edited" if self.callback else "never answered"
            raise TimeoutError(
                f"/{self.name} (interaction {self.id}) was {state} within {timeout:g} s"
            ) from None
        if message is _DELETED:
            raise LookupError(f"the bot deleted the response to /{self.name} before editing it")
        return copy.deepcopy(message)

    async def wait_followups(self, count: int = 1) -> list[dict[str, Any]]:
        """Until the bot has sent ``count`` follow-ups; returns them all."""
        timeout = self.wait_timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.followups) < count:
            self._followed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                got = len(self.followups)
                raise TimeoutError(f"/{self.name}: {got} of {count} follow-ups in {timeout:g} s")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._followed.wait(), remaining)
        return copy.deepcopy(self.followups)

    async def wait_expired(self) -> None:
        """Until the callback deadline has passed (a timer, not a poll)."""
        await self._expired.wait()

    # --- called by the fake ---

    def _acknowledge(self, callback: InteractionCallback, message: dict[str, Any] | None) -> None:
        self.callback = callback
        self.original = message
        if not self._callback.done():
            self._callback.set_result(callback)
        if callback.type == CHANNEL_MESSAGE_WITH_SOURCE and message is not None:
            self._final.set_result(message)

    def _edited(self, message: dict[str, Any]) -> None:
        if not self._final.done():
            self._final.set_result(message)

    def _deleted(self) -> None:
        self.original = None
        if not self._final.done():
            self._final.set_result(_DELETED)

    def _followup(self, message: dict[str, Any]) -> None:
        self.followups.append(message)
        self._followed.set()


# --- message limits -------------------------------------------------------------------------


@dataclass(frozen=True)
class FormProblem:
    """Why Discord refuses a body: where (a field path), its error code and message.
    ``api_code`` 50035 answers Invalid Form Body with the errors nested by path."""

    path: tuple[str | int, ...]
    code: str
    message: str
    api_code: int = 50035

    def response(self) -> web.Response:
        if self.api_code != 50035:
            return _error(400, self.api_code, self.message)
        errors: dict[str, Any] = {"_errors": [{"code": self.code, "message": self.message}]}
        for part in reversed(self.path):
            errors = {str(part): errors}
        return _json({"message": "Invalid Form Body", "code": 50035, "errors": errors}, status=400)


def _too_long(path: tuple[str | int, ...], limit: int) -> FormProblem:
    return FormProblem(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _bad_length(path: tuple[str | int, ...], low: int, high: int) -> FormProblem:
    return FormProblem(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def _required(path: tuple[str | int, ...]) -> FormProblem:
    return FormProblem(path, "BASE_TYPE_REQUIRED", "This field is required")


def _not_url(path: tuple[str | int, ...]) -> FormProblem:
    return FormProblem(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def _check_text(
    value: Any, path: tuple[str | int, ...], limit: int, *, required: bool = False
) -> FormProblem | None:
    if value is None:
        return _required(path) if required else None
    if not isinstance(value, str):
        return FormProblem(path, "BASE_TYPE_STRING", "Could not interpret the value as string.")
    if required and not value.strip():
        return _required(path)
    # Discord counts characters (code points) against these limits.
    if len(value) > limit:
        return _too_long(path, limit)
    return None


def _check_url(
    value: Any, path: tuple[str | int, ...], *, limit: int = 2048, attachment: bool = False
) -> FormProblem | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        return _too_long(path, limit) if isinstance(value, str) else _not_url(path)
    parts = urlsplit(value)
    schemes = ("http", "https", "attachment") if attachment else ("http", "https")
    if parts.scheme not in schemes or not parts.netloc:
        return _not_url(path)
    return None


def validate_message(
    body: Any, *, interaction: bool = False, edit: bool = False, files: int = 0
) -> FormProblem | None:
    """Discord's limits on a message body (a channel post, an interaction reply, a follow-up,
    or with ``edit`` an edit, where absent fields stay as they were). None when it passes.

    content 2000; 10 embeds; title 256; description 4096; 25 fields of 256/1024; footer 2048;
    author 256; all embeds together 6000; 5 action rows of at most 5 buttons (or one select);
    button labels 80, custom ids 100, link urls 512; nonce 25; flags a bot may set (on
    interactions EPHEMERAL, SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS); no empty message.
    """
    if not isinstance(body, dict):
        return FormProblem((), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    problem = _check_text(body.get("content"), ("content",), 2000)
    if problem is not None:
        return problem
    embeds = body.get("embeds")
    if embeds is not None:
        if not isinstance(embeds, list):
            return FormProblem(("embeds",), "BASE_TYPE_LIST", "Must be a list of embeds.")
        if len(embeds) > 10:
            return _too_long(("embeds",), 10)
        total = 0
        for index, embed in enumerate(embeds):
            problem, size = _check_embed(embed, ("embeds", index))
            if problem is not None:
                return problem
            total += size
        if total > 6000:
            return FormProblem(
                ("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
            )
    components = body.get("components")
    if components is not None:
        problem = _check_components(components)
        if problem is not None:
            return problem
    flags = body.get("flags")
    if flags is not None:
        if not isinstance(flags, int) or isinstance(flags, bool):
            return FormProblem(("flags",), "NUMBER_TYPE_COERCE", "Value is not int.")
        if flags & IS_COMPONENTS_V2:
            return FormProblem(
                ("flags",), "MESSAGE_FLAGS_INVALID", "The fake does not model Components V2."
            )
        allowed = _INTERACTION_FLAGS if interaction else _CHANNEL_POST_FLAGS
        if edit:
            allowed |= EPHEMERAL | LOADING  # an edit repeats flags it cannot change
        if flags & ~allowed:
            return FormProblem(
                ("flags",), "MESSAGE_FLAGS_INVALID", f"Flags {flags & ~allowed} cannot be set here."
            )
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        return _too_long(("nonce",), 25)
    mentions = body.get("allowed_mentions")
    if mentions is not None:
        problem = _check_mentions(mentions)
        if problem is not None:
            return problem
    if edit:
        return None
    if not (
        body.get("content")
        or embeds
        or components
        or body.get("sticker_ids")
        or body.get("poll")
        or files
    ):
        return FormProblem((), "", "Cannot send an empty message", api_code=50006)
    return None


def _check_embed(embed: Any, path: tuple[str | int, ...]) -> tuple[FormProblem | None, int]:
    if not isinstance(embed, dict):
        return FormProblem(path, "DICT_TYPE_CONVERT", "Each embed must be an object."), 0
    size = 0
    for key, limit in (("title", 256), ("description", 4096)):
        problem = _check_text(embed.get(key), (*path, key), limit)
        if problem is not None:
            return problem, 0
        size += len(embed.get(key) or "")
    problem = _check_url(embed.get("url"), (*path, "url"))
    if problem is not None:
        return problem, 0
    color = embed.get("color")
    if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
        return FormProblem(
            (*path, "color"), "NUMBER_TYPE_MAX", "int value should be <= 16777215."
        ), 0
    timestamp = embed.get("timestamp")
    if timestamp is not None:
        try:
            datetime.fromisoformat(str(timestamp))
        except ValueError:
            return FormProblem(
                (*path, "timestamp"), "DATE_TIME_TYPE_PARSE", "Could not parse the timestamp."
            ), 0
    parts: list[tuple[str, str, int, tuple[str, ...]]] = [
        ("footer", "text", 2048, ("icon_url",)),
        ("author", "name", 256, ("url", "icon_url")),
    ]
    for key, text_key, limit, urls in parts:
        part = embed.get(key)
        if part is None:
            continue
        if not isinstance(part, dict):
            return FormProblem((*path, key), "DICT_TYPE_CONVERT", "Must be an object."), 0
        problem = _check_text(part.get(text_key), (*path, key, text_key), limit, required=True)
        if problem is not None:
            return problem, 0
        size += len(part[text_key])
        for url_key in urls:
            problem = _check_url(part.get(url_key), (*path, key, url_key), attachment=True)
            if problem is not None:
                return problem, 0
    for key in ("image", "thumbnail"):
        part = embed.get(key)
        if part is None:
            continue
        if not isinstance(part, dict) or part.get("url") is None:
            return _required((*path, key, "url")), 0
        problem = _check_url(part["url"], (*path, key, "url"), attachment=True)
        if problem is not None:
            return problem, 0
    fields = embed.get("fields")
    if fields is not None:
        if not isinstance(fields, list):
            return FormProblem((*path, "fields"), "BASE_TYPE_LIST", "Must be a list."), 0
        if len(fields) > 25:
            return _too_long((*path, "fields"), 25), 0
        for index, item in enumerate(fields):
            where = (*path, "fields", index)
            if not isinstance(item, dict):
                return FormProblem(where, "DICT_TYPE_CONVERT", "Must be an object."), 0
            for key, limit in (("name", 256), ("value", 1024)):
                problem = _check_text(item.get(key), (*where, key), limit, required=True)
                if problem is not None:
                    return problem, 0
                size += len(item[key])
    return None, size


_BUTTON = 2
_SELECTS = (3, 5, 6, 7, 8)
_LINK_STYLE = 5
_PREMIUM_STYLE = 6


def _check_components(components: Any) -> FormProblem | None:
    if not isinstance(components, list):
        return FormProblem(("components",), "BASE_TYPE_LIST", "Must be a list.")
    if len(components) > 5:
        return _too_long(("components",), 5)
    custom_ids: set[str] = set()
    for row_index, row in enumerate(components):
        where: tuple[str | int, ...] = ("components", row_index)
        if not isinstance(row, dict):
            return FormProblem(where, "DICT_TYPE_CONVERT", "Must be an object.")
        if row.get("type") != 1:
            if isinstance(row.get("type"), int) and 9 <= row["type"] <= 17:
                return FormProblem(
                    (*where, "type"), "UNION_TYPE_CHOICES", "The fake does not model Components V2."
                )
            return FormProblem(
                (*where, "type"), "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).'
            )
        children = row.get("components")
        if not isinstance(children, list) or not 1 <= len(children) <= 5:
            return _bad_length((*where, "components"), 1, 5)
        for index, child in enumerate(children):
            at = (*where, "components", index)
            if not isinstance(child, dict):
                return FormProblem(at, "DICT_TYPE_CONVERT", "Must be an object.")
            kind = child.get("type")
            if kind in _SELECTS and len(children) > 1:
                return FormProblem(
                    at,
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "The specified component exceeds the maximum width",
                )
            if kind == _BUTTON:
                problem = _check_button(child, at)
            elif kind in _SELECTS:
                problem = _check_select(child, at)
            else:
                problem = FormProblem(
                    (*at, "type"), "UNION_TYPE_CHOICES", "Not a component an action row holds."
                )
            if problem is not None:
                return problem
            custom_id = child.get("custom_id")
            if custom_id is not None:
                if custom_id in custom_ids:
                    return FormProblem(
                        (*at, "custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                custom_ids.add(custom_id)
    return None


def _check_button(button: dict[str, Any], at: tuple[str | int, ...]) -> FormProblem | None:
    style = button.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        return FormProblem((*at, "style"), "BASE_TYPE_CHOICES", "Value must be one of (1..6).")
    problem = _check_text(button.get("label"), (*at, "label"), 80)
    if problem is not None:
        return problem
    if style == _LINK_STYLE:
        if button.get("url") is None:
            return _required((*at, "url"))
        if button.get("custom_id") is not None:
            return FormProblem(
                (*at, "custom_id"), "BUTTON_COMPONENT_CUSTOM_ID_WITH_URL", "A link has no custom id"
            )
        problem = _check_url(button["url"], (*at, "url"), limit=512)
        if problem is not None:
            return problem
    elif style == _PREMIUM_STYLE:
        if button.get("sku_id") is None:
            return _required((*at, "sku_id"))
    else:
        problem = _check_text(button.get("custom_id"), (*at, "custom_id"), 100, required=True)
        if problem is not None:
            return problem
        if button.get("url") is not None:
            return FormProblem(
                (*at, "url"), "BUTTON_COMPONENT_URL_WITH_CUSTOM_ID", "Only a link has a url"
            )
    if style != _PREMIUM_STYLE and not button.get("label") and not button.get("emoji"):
        return FormProblem(at, "BUTTON_COMPONENT_INVALID", "A button needs a label or an emoji")
    return None


def _check_select(select: dict[str, Any], at: tuple[str | int, ...]) -> FormProblem | None:
    problem = _check_text(select.get("custom_id"), (*at, "custom_id"), 100, required=True)
    if problem is None:
        problem = _check_text(select.get("placeholder"), (*at, "placeholder"), 150)
    if problem is not None or select.get("type") != 3:
        return problem
    options = select.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= 25:
        return _bad_length((*at, "options"), 1, 25)
    for index, option in enumerate(options):
        where = (*at, "options", index)
        if not isinstance(option, dict):
            return FormProblem(where, "DICT_TYPE_CONVERT", "Must be an object.")
        for key, required in (("label", True), ("value", True), ("description", False)):
            problem = _check_text(option.get(key), (*where, key), 100, required=required)
            if problem is not None:
                return problem
    return None


def _check_mentions(mentions: Any) -> FormProblem | None:
    if not isinstance(mentions, dict):
        return FormProblem(("allowed_mentions",), "DICT_TYPE_CONVERT", "Must be an object.")
    parse = mentions.get("parse", [])
    if not isinstance(parse, list) or not set(parse) <= {"roles", "users", "everyone"}:
        return FormProblem(
            ("allowed_mentions", "parse"),
            "BASE_TYPE_CHOICES",
            'Value must be one of ("roles", "users", "everyone").',
        )
    for key in ("users", "roles"):
        listed = mentions.get(key, [])
        if not isinstance(listed, list) or len(listed) > 100:
            return _too_long(("allowed_mentions", key), 100)
    return None


def validate_thread(body: Any) -> FormProblem | None:
    """Discord's rules for starting a thread from a message: a name of 1 to 100 characters,
    ``auto_archive_duration`` (when given) one of 60, 1440, 4320 or 10080 minutes, and a slow
    mode (``rate_limit_per_user``) of 0 to 21600 seconds or null. None when it passes."""
    if not isinstance(body, dict):
        return FormProblem((), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    name = body.get("name")
    if name is None:
        return _required(("name",))
    if not isinstance(name, str):
        return FormProblem(
            ("name",), "BASE_TYPE_STRING", "Could not interpret the value as string."
        )
    if not name.strip() or len(name) > 100:
        return _bad_length(("name",), 1, 100)
    duration = body.get("auto_archive_duration")
    if duration is not None and (isinstance(duration, bool) or duration not in ARCHIVE_DURATIONS):
        return FormProblem(
            ("auto_archive_duration",),
            "BASE_TYPE_CHOICES",
            f"Value must be one of {{{', '.join(map(str, ARCHIVE_DURATIONS))}}}.",
        )
    slow = body.get("rate_limit_per_user")
    if slow is not None and (
        isinstance(slow, bool) or not isinstance(slow, int) or not 0 <= slow <= 21600
    ):
        return FormProblem(
            ("rate_limit_per_user",), "NUMBER_TYPE_MAX", "int value should be <= 21600."
        )
    return None


def validate_choices(data: Any, option_type: int) -> FormProblem | None:
    """An autocomplete result: at most 25 choices, names of 1-100 characters, values of the
    option's type (strings up to 100 characters)."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        return _required(("data", "choices"))
    choices = data["choices"]
    if len(choices) > 25:
        return _too_long(("data", "choices"), 25)
    for index, choice in enumerate(choices):
        where: tuple[str | int, ...] = ("data", "choices", index)
        if not isinstance(choice, dict):
            return FormProblem(where, "DICT_TYPE_CONVERT", "Must be an object.")
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            return _bad_length((*where, "name"), 1, 100)
        problem = _check_choice_value(choice.get("value"), option_type, (*where, "value"))
        if problem is not None:
            return problem
    return None


def _check_choice_value(
    value: Any, option_type: int, where: tuple[str | int, ...]
) -> FormProblem | None:
    if option_type == _STRING:
        if not isinstance(value, str):
            return FormProblem(where, "BASE_TYPE_STRING", "Must be a string.")
        if len(value) > 100:
            return _too_long(where, 100)
    elif option_type == _INTEGER:
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 2**53:
            return FormProblem(where, "NUMBER_TYPE_COERCE", "Value is not int.")
    elif option_type == _NUMBER and (not isinstance(value, int | float) or isinstance(value, bool)):
        return FormProblem(where, "NUMBER_TYPE_COERCE", "Value is not a number.")
    return None


# --- application commands -------------------------------------------------------------------

_SUB_COMMAND, _SUB_COMMAND_GROUP = 1, 2
_STRING, _INTEGER, _BOOLEAN, _USER, _CHANNEL, _ROLE, _MENTIONABLE, _NUMBER, _ATTACHMENT = range(
    3, 12
)
_CHAT_INPUT = 1
# Discord's name rule for chat-input commands and options: 1-32 word characters or dashes,
# lower case where the script has case.
_NAME = re.compile(r"^[-_'\w]{1,32}$")
_COMMAND_SIZE_LIMIT = 8000


def validate_commands(payload: Any) -> FormProblem | None:
    """A bulk overwrite (``PUT .../commands``) as Discord checks it: names, descriptions,
    options, choices and their counts, duplicates, and each command's total size."""
    if not isinstance(payload, list):
        return FormProblem((), "BASE_TYPE_LIST", "Must be a list of application commands.")
    counts: dict[int, int] = {}
    seen: set[tuple[Any, str]] = set()
    for index, command in enumerate(payload):
        where: tuple[str | int, ...] = (index,)
        if not isinstance(command, dict):
            return FormProblem(where, "DICT_TYPE_CONVERT", "Must be an object.")
        kind = command.get("type", _CHAT_INPUT)
        if kind not in (1, 2, 3, 4):
            return FormProblem(
                (*where, "type"), "BASE_TYPE_CHOICES", "Value must be one of (1..4)."
            )
        counts[kind] = counts.get(kind, 0) + 1
        name = command.get("name")
        problem = _check_name(name, (*where, "name"), chat_input=kind == _CHAT_INPUT)
        if problem is not None:
            return problem
        if (kind, str(name)) in seen:
            return FormProblem(
                (*where, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique ({name})",
            )
        seen.add((kind, str(name)))
        description = command.get("description", "")
        if kind == _CHAT_INPUT:
            problem = _check_description(description, (*where, "description"))
        elif description:
            problem = FormProblem(
                (*where, "description"),
                "APPLICATION_COMMAND_INVALID_DESCRIPTION",
                "Context menu commands cannot have description",
            )
        if problem is None:
            problem = _check_options(command.get("options"), (*where, "options"), depth=0)
        if problem is not None:
            return problem
        permissions = command.get("default_member_permissions")
        if permissions is not None and not str(permissions).isdigit():
            return FormProblem(
                (*where, "default_member_permissions"), "NUMBER_TYPE_COERCE", "Value is not int."
            )
        if _command_size(command) > _COMMAND_SIZE_LIMIT:
            return FormProblem(
                where,
                "APPLICATION_COMMAND_TOO_LARGE",
                f"Command exceeds maximum size ({_COMMAND_SIZE_LIMIT})",
            )
    if counts.get(_CHAT_INPUT, 0) > 100:
        return _too_long((), 100)
    return None


def _check_name(name: Any, where: tuple[str | int, ...], *, chat_input: bool) -> FormProblem | None:
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        return _bad_length(where, 1, 32)
    if chat_input and (not _NAME.match(name) or name != name.lower()):
        return FormProblem(
            where,
            "APPLICATION_COMMAND_INVALID_NAME",
            f"Command name is invalid: {name!r} (lower case letters, digits, - and _ only)",
        )
    return None


def _check_description(description: Any, where: tuple[str | int, ...]) -> FormProblem | None:
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        return _bad_length(where, 1, 100)
    return None


def _check_options(options: Any, where: tuple[str | int, ...], *, depth: int) -> FormProblem | None:
    if options is None:
        return None
    if not isinstance(options, list):
        return FormProblem(where, "BASE_TYPE_LIST", "Must be a list.")
    if len(options) > 25:
        return _too_long(where, 25)
    names: set[str] = set()
    optional_seen = False
    kinds = {o.get("type") for o in options if isinstance(o, dict)}
    if kinds & {_SUB_COMMAND, _SUB_COMMAND_GROUP} and kinds - {_SUB_COMMAND, _SUB_COMMAND_GROUP}:
        return FormProblem(
            where,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-commands and groups cannot be mixed with other options",
        )
    for index, option in enumerate(options):
        at = (*where, index)
        if not isinstance(option, dict):
            return FormProblem(at, "DICT_TYPE_CONVERT", "Must be an object.")
        kind = option.get("type")
        if not isinstance(kind, int) or not 1 <= kind <= 11:
            return FormProblem((*at, "type"), "BASE_TYPE_CHOICES", "Value must be one of (1..11).")
        if (kind == _SUB_COMMAND_GROUP and depth > 0) or (kind == _SUB_COMMAND and depth > 1):
            return FormProblem(
                (*at, "type"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-commands nest at most two levels (a group of sub-commands)",
            )
        problem = _check_name(option.get("name"), (*at, "name"), chat_input=True)
        if problem is None:
            problem = _check_description(option.get("description"), (*at, "description"))
        if problem is not None:
            return problem
        if option["name"] in names:
            return FormProblem(
                (*at, "name"),
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(option["name"])
        if kind in (_SUB_COMMAND, _SUB_COMMAND_GROUP):
            if kind == _SUB_COMMAND_GROUP and any(
                isinstance(o, dict) and o.get("type") != _SUB_COMMAND
                for o in option.get("options") or []
            ):
                return FormProblem(
                    (*at, "options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "A group holds sub-commands only",
                )
            problem = _check_options(option.get("options"), (*at, "options"), depth=depth + 1)
            if problem is not None:
                return problem
            continue
        if option.get("required"):
            if optional_seen:
                return FormProblem(
                    (*at, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        choices = option.get("choices")
        if choices is not None:
            if option.get("autocomplete"):
                return FormProblem(
                    (*at, "autocomplete"),
                    "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES",
                    "Autocomplete and choices cannot both be set",
                )
            problem = validate_choices({"choices": choices}, kind)
            if problem is not None:
                return FormProblem((*at, *problem.path[1:]), problem.code, problem.message)
        for key in ("min_length", "max_length"):
            value = option.get(key)
            if value is not None and not 0 <= int(value) <= 6000:
                return FormProblem((*at, key), "NUMBER_TYPE_MAX", "int value should be <= 6000.")
    return None


def _command_size(command: dict[str, Any]) -> int:
    def size(options: list[dict[str, Any]]) -> int:
        total = 0
        for option in options:
            total += len(option.get("name", "")) + len(option.get("description", ""))
            for choice in option.get("choices") or []:
                total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
            total += size(option.get("options") or [])
        return total

    return (
        len(command.get("name", ""))
        + len(command.get("description", ""))
        + size(command.get("options") or [])
    )


# --- the fake -------------------------------------------------------------------------------


class FakeDiscord(LoopbackServer):
    """The fake API and gateway. Plain methods are thread-safe; coroutine methods run on the
    fake's loop (from another thread: ``fake.call(fake.invoke, ...)``)."""

    thread_name = "fake-discord"
    APPLICATION_ID = APPLICATION_ID

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        nonce_window: float = 300.0,
        channel_rate: tuple[int, float] | None = None,
        global_rate: tuple[int, float] | None = None,
        heartbeat_interval: float = 41.25,
        privileged_intents: int = 0,
        interaction_deadline: float = 3.0,
        interaction_token_ttl: float = 900.0,
        wait_timeout: float = 15.0,
        shards: int = 1,
    ) -> None:
        """``channel_rate=(5, 5.0)`` imposes Discord's own per-channel bucket (5 posts per 5 s,
        announced in X-RateLimit headers so discord.py paces itself); None posts at any rate.
        ``global_rate=(50, 1.0)`` the bot's global limit on posts (429 past it).
        ``heartbeat_interval`` is HELLO's, in seconds; ``privileged_intents`` the ones the
        app has enabled (GUILD_MEMBERS | ...: others close IDENTIFY with 4014);
        ``interaction_deadline`` how long a callback may take (Discord: 3 s);
        ``wait_timeout`` how long the ``wait_*`` methods and records wait for the bot.
        ``shards``: the shard count the bot must IDENTIFY with (``/gateway/bot`` recommends
        it; an unsharded IDENTIFY is closed with 4011 when it is above 1); each guild's
        events, interactions included, go to the shard ``(guild_id >> 22) % shards`` only.
        """
        self.token = token
        self.shard_count = shards
        super().__init__(host=host, port=port)
        self.privileged_intents = privileged_intents
        self._nonce_window = nonce_window
        self._channel_rate = channel_rate
        self._global_rate = global_rate
        self.rate_limited_answers = 0  # 429s the rate limits (not faults) answered
        self._deadline = interaction_deadline
        self._token_ttl = interaction_token_ttl
        self.wait_timeout = wait_timeout
        self._lock = threading.Lock()
        self._state = _State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._interactions: dict[str, InteractionRecord] = {}
        self._by_token: dict[str, InteractionRecord] = {}
        self.gateway = Gateway(
            self, heartbeat_interval=heartbeat_interval, wait_timeout=wait_timeout
        )

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await super().start()

    async def stop(self) -> None:
        if self._loop is not None:
            await self.gateway.close_all()
        await super().stop()

    @property
    def api_url(self) -> str:
        """The REST base, as PAPERWIRE_DISCORD_API_URL takes it."""
        return f"http://{self.host}:{self._port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """The gateway, as PAPERWIRE_DISCORD_GATEWAY_URL and DEFAULT_GATEWAY take it."""
        return f"ws://{self.host}:{self._port}{GATEWAY_PATH}"

    @property
    def resume_gateway_url(self) -> str:
        """READY's resume_gateway_url: where discord.py resumes (another path of this fake)."""
        return f"ws://{self.host}:{self._port}{RESUME_GATEWAY_PATH}"

    def env(self) -> dict[str, str]:
        """The environment variables that point paperwire's Discord side at this fake."""
        return {
            "PAPERWIRE_DISCORD_API_URL": self.api_url,
            "PAPERWIRE_DISCORD_GATEWAY_URL": self.gateway_url,
            "DISCORD_TOKEN": self.token,
        }

    @overload
    def call(self, function: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T: ...

    @overload
    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``function(*args, **kwargs)`` on the fake's loop from another thread (thread
        mode) and return its result: ``fake.call(fake.invoke, "paper", {...})``,
        ``fake.call(record.response)``."""
        timeout = 2 * self.wait_timeout
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

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout)

    def _on_loop(self, function: Callable[[], T]) -> T:
        """Run gateway work on the fake's loop: here when already there (or not started)."""
        loop = self._loop
        if loop is None or not loop.is_running() or _running_loop() is loop:
            return function()
        return self.call(function)

    def _require_loop(self, what: str) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None:
            raise RuntimeError(f"start the fake before {what}")
        if _running_loop() is not loop:
            raise RuntimeError(
                f"the fake runs on another loop (thread mode): use fake.call(...) for {what}"
            )
        return loop

    # --- faults -------------------------------------------------------------------------------

    def fail(
        self,
        fault: Fault,
        *,
        channel: str | None = None,
        times: int | None = 1,
        retry_after: float = 1.0,
        route: Route = "post",
        after: int = 0,
    ) -> None:
        """The next ``times`` matching requests (None: all, until cleared) get ``fault``,
        once ``after`` matching requests have gone through untouched.

        ``route``: of a channel's messages, "post", "history", "message" (GET one) or
        "thread" (start one from a message), or "any" (all four); "callback" for interaction
        callbacks; "webhook" for follow-ups and the original response. ``channel`` matches
        that channel and the threads started in it, so ``fail(Fault.DROP_AFTER_POST,
        channel=C, after=2)`` lets a header and one thread post through and cuts the next.
        """
        if after < 0:
            raise ValueError("after counts requests to let through: 0 or more")
        with self._lock:
            self._state.rules.append(_Rule(fault, channel, route, times, retry_after, after))

    def clear_faults(self) -> None:
        with self._lock:
            self._state.rules.clear()

    def add_message(
        self,
        channel: str,
        *,
        author_id: str,
        embeds: list[dict[str, Any]] | None = None,
        content: str = "",
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Store a message someone else (or a slash-command reply) wrote; returns its id."""
        with self._lock:
            message = self._new_message(
                channel, author_id, content, copy.deepcopy(embeds or []), []
            )
            message.update(extra or {})
            self._state.channels.setdefault(channel, []).append(
                _Message(message, None, time.monotonic())
            )
            return str(message["id"])

    def react(
        self, channel_id: str, message_id: str, emoji: str = "\N{THUMBS UP SIGN}", count: int = 1
    ) -> None:
        """People react to a stored message: ``count`` more reactions of ``emoji`` (a unicode
        emoji, or a custom one as ``name:id``). Reading the message then shows them."""
        if count < 1:
            raise ValueError("count is how many people react: 1 or more")
        name, _, emoji_id = emoji.partition(":")
        wanted: dict[str, Any] = {"id": emoji_id or None, "name": name}
        with self._lock:
            stored = self._find_message(str(channel_id), str(message_id))
            if stored is None:
                raise LookupError(
                    f"no message {message_id} in channel {channel_id}: react to one the fake "
                    "stored (a post, or add_message)"
                )
            # Replaced whole, never changed in place: a reader may be serialising the old list.
            reactions = [dict(r) for r in stored.data.get("reactions") or []]
            same = next((r for r in reactions if _same_emoji(r["emoji"], wanted)), None)
            if same is None:
                reactions.append(_reaction(wanted, count))
            else:
                reactions[reactions.index(same)] = _reaction(same["emoji"], same["count"] + count)
            stored.data["reactions"] = reactions

    def threads(self, channel_id: str | None = None) -> dict[str, str]:
        """The threads started in a channel (every channel: None), id -> name, oldest first.
        A thread's id is the id of the message it was started from; its messages are
        ``messages(thread_id)``."""
        with self._lock:
            return {
                t.id: t.name
                for t in self._state.threads.values()
                if channel_id is None or t.parent_id == channel_id
            }

    # --- guilds -------------------------------------------------------------------------------

    def add_guild(
        self,
        guild_id: str,
        *,
        name: str = "Test Server",
        channels: Mapping[str, str] | Iterable[str] | None = None,
        owner_id: str = OWNER_ID,
        member_count: int = 2,
        bot_permissions: int = BOT_PERMISSIONS,
        locale: str = "en-US",
    ) -> GuildInfo:
        """Put the bot in a guild. ``channels``: text channels, ids -> names (or just ids);
        by default one "general". After the bot has connected this dispatches GUILD_CREATE,
        as when a server invites the bot."""
        with self._lock:
            if channels is None:
                named = {self._snowflake(): "general"}
            elif isinstance(channels, Mapping):
                named = {str(k): str(v) for k, v in channels.items()}
            else:
                named = {str(c): f"channel-{str(c)[-4:]}" for c in channels}
            if not named:
                raise ValueError("a guild needs at least one text channel")
            guild = _Guild(
                id=str(guild_id),
                name=name,
                owner_id=owner_id,
                channels=named,
                bot_permissions=bot_permissions,
                member_count=member_count,
                locale=locale,
                joined_at=_now_iso(),
                bot_role_id=self._snowflake(),
            )
            self._state.guilds[guild.id] = guild
            payload = self._guild_create(guild)
        self._on_loop(lambda: self.gateway.dispatch_to_guild("GUILD_CREATE", payload, guild.id))
        return GuildInfo(guild.id, guild.name, guild.owner_id, dict(guild.channels))

    def remove_guild(self, guild_id: str) -> None:
        """Take the bot out of a guild (kicked): GUILD_DELETE without ``unavailable``. Posts
        to its channels then get 403 Missing Access."""
        with self._lock:
            guild = self._state.guilds.get(str(guild_id))
            if guild is None or not guild.present:
                raise LookupError(f"the bot is not in guild {guild_id}")
            guild.present = False
        self._on_loop(
            lambda: self.gateway.dispatch_to_guild(
                "GUILD_DELETE", {"id": str(guild_id)}, str(guild_id)
            )
        )

    def guilds(self) -> list[GuildInfo]:
        with self._lock:
            return [
                GuildInfo(g.id, g.name, g.owner_id, dict(g.channels))
                for g in self._state.guilds.values()
                if g.present
            ]

    # --- the gateway, for tests ---------------------------------------------------------------

    @property
    def sessions(self) -> list[Session]:
        return list(self.gateway.sessions)

    @property
    def connections(self) -> list[Connection]:
        return list(self.gateway.connections)

    async def wait_connected(self) -> Session:
        """Until a bot has a live, identified (or resumed) gateway connection."""
        self._require_loop("wait_connected")
        await self.gateway.wait_until(
            lambda: any(s.live for s in self.gateway.sessions), "a bot to connect"
        )
        session = self.gateway.current
        assert session is not None
        return session

    async def wait_ready(self) -> Session:
        """Until a bot has logged in and processed READY and every GUILD_CREATE after it."""
        self._require_loop("wait_ready")

        def ready() -> bool:
            session = self.gateway.current
            return session is not None and session.processed_seq >= session.ready_seq > 0

        await self.gateway.wait_until(ready, "a bot to log in and process READY")
        session = self.gateway.current
        assert session is not None
        return session

    async def wait_processed(self) -> None:
        """Until the bot has processed every dispatch sent so far (e.g. after add_guild)."""
        self._require_loop("wait_processed")
        await self.gateway.wait_processed()

    async def disconnect(self, code: int | None = 4000) -> None:
        """Close the bot's gateway connection (None: cut it without a close frame). With a
        code discord.py may resume on (4000, 1006, ...), it RESUMEs and gets what it missed."""
        self._require_loop("disconnect")
        await self.gateway.disconnect(code)

    def reconnect(self) -> None:
        """Op 7 RECONNECT: the bot closes and resumes."""
        self._on_loop(self.gateway.reconnect)

    def invalidate_session(self, *, resumable: bool = False) -> None:
        """Op 9 INVALID_SESSION (discord.py waits 5 s before a fresh IDENTIFY)."""
        self._on_loop(lambda: self.gateway.invalidate(resumable=resumable))

    def ready_data(self) -> dict[str, Any]:
        with self._lock:
            guild_ids = [g.id for g in self._state.guilds.values() if g.present]
        return {
            "v": 10,
            "user": _bot_me(),
            "guilds": [{"id": gid, "unavailable": True} for gid in guild_ids],
            "application": {"id": APPLICATION_ID, "flags": self._application_flags()},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "session_type": "normal",
            "_trace": ['["fake-discord",{"micros":0}]'],
        }

    def guild_creates(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                self._guild_create(g, initial=True)
                for g in self._state.guilds.values()
                if g.present
            ]

    def guild_members(self, guild_id: str, user_ids: list[str] | None) -> list[dict[str, Any]]:
        with self._lock:
            guild = self._state.guilds.get(guild_id)
        if guild is None:
            return []
        members = [_bot_member(guild)]
        if user_ids:
            members += [_member(uid, guild.joined_at) for uid in user_ids if uid != BOT_USER_ID]
        return members

    def _application_flags(self) -> int:
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        for intent, flag in (
            (GUILD_PRESENCES, 1 << 13),
            (GUILD_MEMBERS, 1 << 15),
            (MESSAGE_CONTENT, 1 << 19),
        ):
            if self.privileged_intents & intent:
                flags |= flag  # the *_LIMITED flag of an app in fewer than 100 servers
        return flags

    def _guild_create(self, guild: _Guild, *, initial: bool = False) -> dict[str, Any]:
        """GUILD_CREATE's ``d`` (called with the lock held or before sharing)."""
        channels = [
            _channel(cid, name, None, position)
            for position, (cid, name) in enumerate(guild.channels.items())
        ]
        data: dict[str, Any] = {
            "id": guild.id,
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": guild.owner_id,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": guild.locale,
            "features": [],
            "application_id": None,
            "system_channel_id": next(iter(guild.channels)),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "incidents_data": None,
            "roles": _roles(guild),
            "emojis": [],
            "stickers": [],
            "joined_at": guild.joined_at,
            "large": False,
            "lazy": True,
            "member_count": guild.member_count,
            "members": [_bot_member(guild)],
            "channels": channels,
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
        if initial:
            # Guilds READY listed as unavailable arrive with unavailable false; a guild the
            # bot joins later comes without the key (discord.py then dispatches guild_join).
            data["unavailable"] = False
        return data

    # --- application commands -----------------------------------------------------------------

    def registered_commands(self, guild_id: str | None = None) -> list[dict[str, Any]]:
        """The commands the bot synced: global ones, or ``guild_id``'s (as Discord stores
        them: with ids, application_id, version, ...)."""
        with self._lock:
            return copy.deepcopy(self._state.commands.get(guild_id, []))

    def _find_command(self, name: str, guild_id: str | None) -> dict[str, Any] | None:
        with self._lock:
            scopes: list[str | None] = [guild_id, None] if guild_id else [None]
            for scope in scopes:
                for command in self._state.commands.get(scope, []):
                    if command["name"] == name and command.get("type", 1) == _CHAT_INPUT:
                        return command  # read-only: a sync replaces commands whole
        return None

    def _store_commands(
        self, scope: str | None, payload: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A bulk overwrite: same name and type keep their id; changes get a new version."""
        with self._lock:
            old = {(c.get("type", 1), c["name"]): c for c in self._state.commands.get(scope, [])}
            stored = []
            for given in payload:
                kind = given.get("type", 1)
                before = old.get((kind, given["name"]))
                command = self._command_object(scope, given)
                if before is not None:
                    command["id"] = before["id"]
                    unchanged = _comparable(before) == _comparable(command)
                    command["version"] = before["version"] if unchanged else self._snowflake()
                stored.append(command)
            self._state.commands[scope] = stored
            return copy.deepcopy(stored)

    def _command_object(self, scope: str | None, given: dict[str, Any]) -> dict[str, Any]:
        permissions = given.get("default_member_permissions")
        command: dict[str, Any] = {
            "id": self._snowflake(),
            "application_id": APPLICATION_ID,
            "version": self._snowflake(),
            "default_member_permissions": None if permissions is None else str(permissions),
            "type": given.get("type", 1),
            "name": given["name"],
            "name_localizations": given.get("name_localizations"),
            "description": given.get("description", ""),
            "description_localizations": given.get("description_localizations"),
            "nsfw": bool(given.get("nsfw", False)),
            "contexts": given.get("contexts"),
            "integration_types": given.get("integration_types") or [0],
        }
        if given.get("options"):
            command["options"] = copy.deepcopy(given["options"])
        if scope is None:
            command["dm_permission"] = given.get("dm_permission", True)
        else:
            command["guild_id"] = scope
        return command

    # --- interactions -------------------------------------------------------------------------

    async def invoke(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        guild_id: str | None = None,
        channel_id: str | None = None,
        user_id: str = DEFAULT_USER_ID,
        permissions: int = MEMBER_PERMISSIONS,
        roles: Iterable[str] = (),
        locale: str = "en-US",
        dm: bool = False,
        integration_override: bool = False,
    ) -> InteractionRecord:
        """A user runs a slash command: dispatch a real-shaped INTERACTION_CREATE (type 2) for
        the registered command ``name`` ("papers subscribe" or ``subcommand="subscribe"``,
        "group sub" for a group), with ``options`` typed by its registered schema.

        ``guild_id`` defaults to the bot's only guild and ``channel_id`` to that guild's first
        channel; ``permissions`` are the invoker's in that channel. Like Discord's client,
        this refuses a command the user cannot see (``default_member_permissions`` not held)
        unless ``integration_override`` (a server admin allowed it in Integrations).
        """
        return await self._interact(
            APPLICATION_COMMAND,
            name,
            options or {},
            subcommand=subcommand,
            focused=None,
            value="",
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            permissions=permissions,
            roles=roles,
            locale=locale,
            dm=dm,
            integration_override=integration_override,
        )

    async def autocomplete(
        self,
        name: str,
        *,
        focused: str,
        value: str = "",
        options: Mapping[str, Any] | None = None,
        subcommand: str | None = None,
        guild_id: str | None = None,
        channel_id: str | None = None,
        user_id: str = DEFAULT_USER_ID,
        permissions: int = MEMBER_PERMISSIONS,
        integration_override: bool = False,
    ) -> list[dict[str, Any]]:
        """A user types ``value`` into option ``focused``: dispatch the autocomplete
        interaction (type 4) and return the choices of the bot's type-8 answer."""
        record = await self._interact(
            APPLICATION_COMMAND_AUTOCOMPLETE,
            name,
            options or {},
            subcommand=subcommand,
            focused=focused,
            value=value,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            permissions=permissions,
            roles=(),
            locale="en-US",
            dm=False,
            integration_override=integration_override,
        )
        callback = await record.response()
        return callback.choices

    def interactions(self) -> list[InteractionRecord]:
        """Every interaction dispatched, in order."""
        return list(self._interactions.values())

    async def _interact(
        self,
        kind: int,
        name: str,
        options: Mapping[str, Any],
        *,
        subcommand: str | None,
        focused: str | None,
        value: str,
        guild_id: str | None,
        channel_id: str | None,
        user_id: str,
        permissions: int,
        roles: Iterable[str],
        locale: str,
        dm: bool,
        integration_override: bool,
    ) -> InteractionRecord:
        self._require_loop("invoke")
        if self.gateway.current is None:
            raise RuntimeError("no bot is logged in to the fake gateway: await fake.wait_ready()")
        words = name.split()
        name, path = words[0], words[1:] + (subcommand.split() if subcommand else [])
        guild = None if dm else self._pick_guild(guild_id)
        command = self._find_command(name, None if guild is None else guild.id)
        if command is None:
            where = "globally" if guild is None else f"globally or in guild {guild.id}"
            raise LookupError(f"no command /{name} is registered {where}: sync the tree first")
        if guild is not None:
            channel = channel_id or next(iter(guild.channels))
            if channel not in guild.channels:
                raise LookupError(f"guild {guild.id} has no channel {channel}")
            self._check_visible(command, permissions, integration_override)
        else:
            channel = channel_id or self._snowflake_locked()
            if (
                "guild_id" in command
                or command.get("contexts") == [0]
                or not command.get("dm_permission", True)
            ):
                raise PermissionError(f"/{name} cannot be used in DMs")
        built, resolved = _build_options(
            command, path, options, focused=focused, value=value, guild=guild
        )
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": _CHAT_INPUT,
            "options": built,
        }
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        payload = self._interaction_payload(
            kind, data, guild, channel, user_id, permissions, list(roles), locale
        )
        record = InteractionRecord(
            payload=payload,
            name=" ".join([name, *path]),
            created=time.monotonic(),
            deadline=self._deadline,
            token_ttl=self._token_ttl,
            wait_timeout=self.wait_timeout,
        )
        self._interactions[record.id] = record
        self._by_token[record.token] = record
        session = self.gateway.for_guild(guild.id if guild is not None else None)
        if session is None:
            raise RuntimeError(f"no shard of the bot receives guild {guild_id}'s events")
        self.gateway.dispatch("INTERACTION_CREATE", payload, session)
        return record

    def _pick_guild(self, guild_id: str | None) -> _Guild:
        with self._lock:
            present = {g.id: g for g in self._state.guilds.values() if g.present}
        if guild_id is None:
            if len(present) != 1:
                raise LookupError(f"the bot is in {len(present)} guilds: say which with guild_id=")
            return next(iter(present.values()))
        if str(guild_id) not in present:
            raise LookupError(f"the bot is not in guild {guild_id}: add_guild it first")
        return present[str(guild_id)]

    def _check_visible(
        self, command: dict[str, Any], permissions: int, integration_override: bool
    ) -> None:
        needed = command.get("default_member_permissions")
        if needed is None or integration_override or permissions & ADMINISTRATOR:
            return
        need = int(needed)
        if need == 0 or permissions & need != need:
            raise PermissionError(
                f"Discord would not offer /{command['name']} to this user: it needs "
                f"default_member_permissions={need} (pass permissions=..., or "
                "integration_override=True for a server that allowed it in Integrations)"
            )

    def _interaction_payload(
        self,
        kind: int,
        data: dict[str, Any],
        guild: _Guild | None,
        channel_id: str,
        user_id: str,
        permissions: int,
        roles: list[str],
        locale: str,
    ) -> dict[str, Any]:
        with self._lock:
            interaction_id = self._snowflake()
        payload: dict[str, Any] = {
            "id": interaction_id,
            "application_id": APPLICATION_ID,
            "type": kind,
            "data": data,
            "channel_id": channel_id,
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(64),
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild is not None:
            member = _member(user_id, guild.joined_at, roles=roles)
            member["permissions"] = str(permissions)
            channel = _channel(
                channel_id,
                guild.channels[channel_id],
                guild.id,
                list(guild.channels).index(channel_id),
            )
            channel["permissions"] = str(permissions)
            app_permissions = ADMINISTRATOR if guild.bot_permissions & ADMINISTRATOR else 0
            payload.update(
                guild_id=guild.id,
                guild={"id": guild.id, "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                channel=channel,
                member=member,
                app_permissions=str(guild.bot_permissions | app_permissions),
                authorizing_integration_owners={"0": guild.id},
                context=0,
            )
        else:
            user = _user(user_id)
            payload.update(
                user=user,
                channel={
                    "id": channel_id,
                    "type": 1,
                    "last_message_id": None,
                    "flags": 0,
                    "recipients": [user],
                },
                app_permissions=str(BOT_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        return payload

    # --- what happened ------------------------------------------------------------------------

    def post_count(self, channel: str | None = None) -> int:
        """Every POST to a channel's messages that reached the fake, answered or not."""
        with self._lock:
            if channel is None:
                return sum(self._state.posts.values())
            return self._state.posts.get(channel, 0)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Stored messages, oldest first (as a POST answer shows them, nonce included), of a
        channel or a thread (its id), or of all of them (None). Non-ephemeral interaction
        replies and follow-ups are here too (type 20)."""
        with self._lock:
            found = [
                copy.deepcopy(m.data)
                for cid, stored in self._state.channels.items()
                if channel is None or cid == channel
                for m in stored
            ]
        return sorted(found, key=lambda m: int(m["id"]))

    def card_ids(self, channel: str | None = None) -> list[str]:
        """The versioned arXiv id of each card the bot posted to a channel (from the embed
        footer), in order; interaction replies (type 20) are not posts and are left out, and
        so are messages in threads: cards go to channels, a thread holds a roundup's sections.

        A card posted twice appears twice: ``Counter(fake.card_ids())`` finds duplicates.
        """
        with self._lock:
            threads = set(self._state.threads)
        ids = []
        for message in self.messages(channel):
            if message["author"]["id"] != BOT_USER_ID or message.get("type") == _CHAT_INPUT_REPLY:
                continue
            if message["channel_id"] in threads:
                continue
            for embed in message.get("embeds", []):
                footer = str((embed.get("footer") or {}).get("text", ""))
                if footer.startswith("arXiv:"):
                    ids.append(footer.removeprefix("arXiv:").split(" ", 1)[0])
                    break
        return ids

    def payloads(self, channel: str | None = None) -> list[Any]:
        """The JSON bodies of every POST to a channel's messages, in arrival order."""
        with self._lock:
            return [
                copy.deepcopy(r.body)
                for r in self._state.requests
                if r.kind == "post" and (channel is None or r.channel == channel)
            ]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    # --- the server ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in (GATEWAY_PATH, RESUME_GATEWAY_PATH):
            if request.headers.get("Upgrade", "").lower() != "websocket":
                return _error(400, 0, "400: Bad Request (the gateway speaks WebSocket)")
            return await self.gateway.serve(request)
        body, files = await _read_body(request)
        parts = path.removeprefix(API_PREFIX).strip("/").split("/")
        kind, channel = "", None
        if len(parts) >= 3 and parts[0] == "channels" and parts[2] == "messages":
            channel = parts[1]
            if len(parts) == 3:
                kind = {"POST": "post", "GET": "history"}.get(request.method, "")
            elif len(parts) == 4 and request.method == "GET":
                kind = "message"
            elif len(parts) == 5 and parts[4] == "threads" and request.method == "POST":
                kind = "thread"
        elif parts[0] == "interactions":
            kind = "callback"
        elif parts[0] == "webhooks":
            kind = "webhook"
        elif "commands" in parts:
            kind = "commands"
        record = RecordedRequest(request.method, path, channel, body, time.monotonic(), kind=kind)
        with self._lock:
            self._state.requests.append(record)
            if kind == "post" and channel is not None:
                self._state.posts[channel] = self._state.posts.get(channel, 0) + 1
        response = await self._answer(request, record, parts, files)
        record.status = response.status
        return response

    async def _answer(
        self, request: web.Request, record: RecordedRequest, parts: list[str], files: int
    ) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return _error(404, 0, "404: Not Found")
        method = request.method
        # Routes that take no bot token: the gateway URL, and interaction callbacks and
        # webhooks, which the interaction token authorises.
        if method == "GET" and parts == ["gateway"]:
            return _json({"url": self.gateway_url})
        if parts[0] == "interactions" and len(parts) == 4 and parts[3] == "callback":
            if method != "POST":
                return _error(405, 0, "405: Method Not Allowed")
            return await self._callback(request, record, parts[1], parts[2], files)
        if parts[0] == "webhooks" and len(parts) >= 3:
            return await self._webhook(request, record, parts, files)
        if request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, 0, "401: Unauthorized")
        if method == "GET" and parts == ["users", "@me"]:
            return _json(_bot_me())
        if method == "GET" and parts in (
            ["oauth2", "applications", "@me"],
            ["applications", "@me"],
        ):
            return _json(self._application())
        if method == "GET" and parts == ["gateway", "bot"]:
            return _json(
                {
                    "url": self.gateway_url,
                    "shards": self.shard_count,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 999,
                        "reset_after": 14_400_000,
                        "max_concurrency": 1,
                    },
                }
            )
        if parts[0] == "applications" and "commands" in parts:
            return self._commands(request, record, parts)
        if method == "GET" and len(parts) == 2 and parts[0] == "channels":
            return self._get_channel(parts[1])
        channel = record.channel
        kind = next((k for k in _CHANNEL_ROUTES if k == record.kind), None)
        if channel is None or kind is None:
            return _error(404, 0, "404: Not Found")
        rule = self._take_rule(channel, kind)
        if rule is not None:
            record.fault = rule.fault
            answer = await self._fault(rule)
            if answer is not None:
                return answer
        if self._removed_channel(channel):
            return _error(403, 50001, "Missing Access")
        if self._message_not_channel(channel):
            return _error(404, 10003, "Unknown Channel")
        if kind == "history":
            return self._history(request, channel)
        if kind == "message":
            return self._get_message(channel, parts[3])
        if kind == "thread":
            return await self._start_thread(request, record, channel, parts[3], rule)
        return await self._post(request, record, channel, rule, files)

    def _take_rule(self, channel: str | None, kind: Route) -> _Rule | None:
        with self._lock:
            thread = self._state.threads.get(channel or "")
            parent = thread.parent_id if thread is not None else None
            for rule in self._state.rules:
                if rule.channel is not None and rule.channel not in (channel, parent):
                    continue
                if rule.route != kind and not (rule.route == "any" and kind in _CHANNEL_ROUTES):
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
        """The fault's answer, or None when the request takes effect first (*_AFTER_POST)."""
        fault = rule.fault
        if fault is Fault.RATE_LIMITED:
            return _rate_limited(rule.retry_after, limit=5)
        if fault is Fault.SERVER_ERROR:
            return _error(500, 0, "500: Internal Server Error")
        if fault is Fault.BAD_GATEWAY:
            return web.Response(
                status=502,
                text="<html><body>502 Bad Gateway</body></html>",
                content_type="text/html",
            )
        if fault is Fault.UNKNOWN_CHANNEL:
            return _error(404, 10003, "Unknown Channel")
        if fault is Fault.MISSING_ACCESS:
            return _error(403, 50001, "Missing Access")
        if fault is Fault.MISSING_PERMISSIONS:
            return _error(403, 50013, "Missing Permissions")
        if fault is Fault.ECHO_AUTH:
            return _error(403, 50007, f"Cannot send messages (Authorization: Bot {self.token})")
        if fault is Fault.STALL:
            await self._stall()
            return web.Response(status=503, text="stalled")
        return None

    async def _after(
        self, request: web.Request, rule: _Rule | None, response: web.Response
    ) -> web.StreamResponse:
        """Deliver ``response`` of a request that took effect, or stall or cut it (faults)."""
        if rule is None or response.status >= 300:
            return response
        if rule.fault is Fault.STALL_AFTER_POST:
            await self._stall()
            return web.Response(status=503, text="stalled")
        if rule.fault is Fault.DROP_AFTER_POST:
            whole = bytes(response.body or b"")  # type: ignore[arg-type]
            cut = web.StreamResponse(status=response.status, headers=response.headers)
            cut.content_length = len(whole)
            await cut.prepare(request)
            await cut.write(whole[: len(whole) // 2])
            if request.transport is not None:
                request.transport.close()
            return cut
        return response

    async def _stall(self) -> None:
        assert self._stop is not None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=3600)

    def _removed_channel(self, channel: str) -> bool:
        with self._lock:
            thread = self._state.threads.get(channel)
            if thread is not None:
                channel = thread.parent_id
            return any(not g.present and channel in g.channels for g in self._state.guilds.values())

    def _message_not_channel(self, channel: str) -> bool:
        """Whether ``channel`` is a message's id with no thread started from it: the fake
        makes channels up on first use, but not out of a message (a thread started late)."""
        with self._lock:
            return channel in self._state.message_ids and channel not in self._state.threads

    def _get_channel(self, channel_id: str) -> web.Response:
        with self._lock:
            thread = self._state.threads.get(channel_id)
            if thread is not None:
                guild = self._state.guilds.get(thread.guild_id or "")
                if guild is not None and not guild.present:
                    return _error(403, 50001, "Missing Access")
                return _json(self._thread_object(thread))
            for guild in self._state.guilds.values():
                if channel_id in guild.channels:
                    if not guild.present:
                        return _error(403, 50001, "Missing Access")
                    position = list(guild.channels).index(channel_id)
                    return _json(
                        _channel(channel_id, guild.channels[channel_id], guild.id, position)
                    )
        return _error(404, 10003, "Unknown Channel")

    def _application(self) -> dict[str, Any]:
        with self._lock:
            count = sum(1 for g in self._state.guilds.values() if g.present)
        install = {"scopes": ["bot", "applications.commands"], "permissions": str(BOT_PERMISSIONS)}
        return {
            "id": APPLICATION_ID,
            "name": "paperwire",
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": _user(OWNER_ID),
            "team": None,
            "flags": self._application_flags(),
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "redirect_uris": [],
            "rpc_origins": [],
            "tags": [],
            "install_params": install,
            "integration_types_config": {"0": {"oauth2_install_params": install}},
            "approximate_guild_count": count,
            "bot": _bot_user(),
            "is_monetized": False,
        }

    def _commands(
        self, request: web.Request, record: RecordedRequest, parts: list[str]
    ) -> web.Response:
        # /applications/{app}/commands[/{id}] or /applications/{app}/guilds/{g}/commands[/{id}]
        if len(parts) < 3 or parts[1] != APPLICATION_ID:
            return _error(403, 50001, "Missing Access")
        scope: str | None = None
        rest = parts[2:]
        if rest[0] == "guilds" and len(rest) >= 3:
            scope, rest = rest[1], rest[2:]
            with self._lock:
                guild = self._state.guilds.get(scope)
                if guild is None or not guild.present:
                    return _error(403, 50001, "Missing Access")
        if rest[0] != "commands" or len(rest) > 2:
            return _error(404, 0, "404: Not Found")
        method = request.method
        if len(rest) == 1:
            if method == "GET":
                return _json(self.registered_commands(scope))
            if method == "PUT":
                problem = validate_commands(record.body)
                if problem is not None:
                    return problem.response()
                return _json(self._store_commands(scope, record.body))
            if method == "POST":
                problem = validate_commands([record.body])
                if problem is not None:
                    return problem.response()
                with self._lock:
                    current = [
                        c
                        for c in self._state.commands.get(scope, [])
                        if (c.get("type", 1), c["name"])
                        != (record.body.get("type", 1), record.body["name"])
                    ]
                    others = [_strip_ids(c) for c in current]
                stored = self._store_commands(scope, [*others, record.body])
                return _json(stored[-1], status=201)
            return _error(405, 0, "405: Method Not Allowed")
        command_id = rest[1]
        with self._lock:
            commands = self._state.commands.get(scope, [])
            found = next((c for c in commands if c["id"] == command_id), None)
            if found is None:
                return _error(404, 10063, "Unknown application command")
            if method == "GET":
                return _json(copy.deepcopy(found))
            if method == "DELETE":
                commands.remove(found)
                return web.Response(status=204)
        return _error(405, 0, "405: Method Not Allowed")

    def _history(self, request: web.Request, channel: str) -> web.Response:
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return FormProblem(("limit",), "NUMBER_TYPE_COERCE", "Value is not int.").response()
        if not 1 <= limit <= 100:
            return FormProblem(
                ("limit",), "NUMBER_TYPE_MAX", "Must be between 1 and 100."
            ).response()
        with self._lock:
            stored = list(self._state.channels.get(channel, []))
            # Discord does not return a message's nonce when reading history.
            newest = [
                {k: v for k, v in m.data.items() if k != "nonce"}
                for m in sorted(stored, key=lambda m: int(m.data["id"]), reverse=True)[:limit]
            ]
        return _json(newest, headers=self._bucket_headers(channel))

    async def _post(
        self,
        request: web.Request,
        record: RecordedRequest,
        channel: str,
        rule: _Rule | None,
        files: int,
    ) -> web.StreamResponse:
        if self._global_rate is not None and rule is None:
            wait = self._spend("\0global", self._global_rate)
            if wait is not None:
                self.rate_limited_answers += 1
                return _rate_limited(wait, limit=self._global_rate[0])
        if self._channel_rate is not None and rule is None:
            wait = self._spend(channel)
            if wait is not None:
                self.rate_limited_answers += 1
                return _rate_limited(wait, limit=self._channel_rate[0])
        body = record.body
        problem = validate_message(body, files=files)
        if problem is not None:
            return problem.response()
        with self._lock:
            in_thread = channel in self._state.threads
        if in_thread and self._lacks(channel, SEND_MESSAGES_IN_THREADS):
            return _error(403, 50013, "Missing Permissions")
        nonce = body.get("nonce")
        nonce = None if nonce is None else str(nonce)
        with self._lock:
            stored = self._state.channels.setdefault(channel, [])
            existing = None
            if nonce is not None and body.get("enforce_nonce"):
                now = time.monotonic()
                existing = next(
                    (
                        m
                        for m in stored
                        if m.nonce == nonce and now - m.created <= self._nonce_window
                    ),
                    None,
                )
            if existing is not None:
                message = copy.deepcopy(existing.data)
            else:
                message = self._new_message(
                    channel,
                    BOT_USER_ID,
                    str(body.get("content") or ""),
                    list(body.get("embeds") or []),
                    list(body.get("components") or []),
                )
                message["flags"] = int(body.get("flags") or 0)
                if nonce is not None:
                    message["nonce"] = nonce
                stored.append(_Message(message, nonce, time.monotonic()))
                message = copy.deepcopy(message)
                self._thread_posted(channel)
        response = _json(message, headers=self._bucket_headers(channel))
        return await self._after(request, rule, response)

    def _get_message(self, channel: str, message_id: str) -> web.Response:
        with self._lock:
            stored = self._find_message(channel, message_id)
            if stored is None:
                return _error(404, 10008, "Unknown Message")
            # Discord does not return a message's nonce when reading it back.
            message = {k: v for k, v in stored.data.items() if k != "nonce"}
        return _json(message)

    async def _start_thread(
        self,
        request: web.Request,
        record: RecordedRequest,
        channel: str,
        message_id: str,
        rule: _Rule | None,
    ) -> web.StreamResponse:
        """A public thread from a message, as Discord starts one: its id is the message's."""
        body = record.body
        problem = validate_thread(body)
        if problem is not None:
            return problem.response()
        if self._lacks(channel, CREATE_PUBLIC_THREADS):
            return _error(403, 50013, "Missing Permissions")
        with self._lock:
            if channel in self._state.threads:
                return _error(400, 50024, "Cannot execute action on this channel type")
            stored = self._find_message(channel, message_id)
            if stored is None:
                return _error(404, 10008, "Unknown Message")
            if message_id in self._state.threads:
                return _error(400, 160004, "A thread has already been created for this message")
            guild_id = next(
                (g.id for g in self._state.guilds.values() if channel in g.channels), None
            )
            thread = _Thread(
                id=message_id,
                parent_id=channel,
                guild_id=guild_id,
                name=body["name"],
                # Unless given, a thread takes its channel's default: 24 hours.
                auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
                rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
                created=_now_iso(),
            )
            self._state.threads[thread.id] = thread
            self._state.channels.setdefault(thread.id, [])
            answer = self._thread_object(thread)
            stored.data["flags"] = int(stored.data.get("flags") or 0) | HAS_THREAD
            stored.data["thread"] = {k: v for k, v in answer.items() if k != "member"}
        if guild_id is not None:
            created = {**answer, "newly_created": True}
            self._on_loop(lambda: self.gateway.dispatch("THREAD_CREATE", created))
        return await self._after(request, rule, _json(answer, status=201))

    def _thread_object(self, thread: _Thread) -> dict[str, Any]:
        """The thread's channel object, with the bot as its member (called with the lock)."""
        stored = self._state.channels.get(thread.id, [])
        data: dict[str, Any] = {
            "id": thread.id,
            "type": PUBLIC_THREAD,
            "parent_id": thread.parent_id,
            "owner_id": BOT_USER_ID,
            "name": thread.name,
            "last_message_id": stored[-1].data["id"] if stored else None,
            "message_count": len(stored),
            "total_message_sent": len(stored),
            "member_count": 1,
            "rate_limit_per_user": thread.rate_limit_per_user,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": thread.auto_archive_duration,
                "archive_timestamp": thread.created,
                "locked": False,
                "create_timestamp": thread.created,
            },
            "member": {
                "id": thread.id,
                "user_id": BOT_USER_ID,
                "join_timestamp": thread.created,
                "flags": 0,
            },
        }
        if thread.guild_id is not None:
            data["guild_id"] = thread.guild_id
        return data

    def _thread_posted(self, channel: str) -> None:
        """After a post to a thread: its starter message shows the new counts (lock held)."""
        thread = self._state.threads.get(channel)
        if thread is None:
            return
        starter = self._find_message(thread.parent_id, thread.id)
        if starter is not None:
            shown = self._thread_object(thread)
            starter.data["thread"] = {k: v for k, v in shown.items() if k != "member"}

    def _find_message(self, channel: str, message_id: str) -> _Message | None:
        """A stored message of the channel (called with the lock held)."""
        return next(
            (m for m in self._state.channels.get(channel, []) if m.data["id"] == message_id), None
        )

    def _lacks(self, channel: str, permission: int) -> bool:
        """Whether the bot lacks ``permission`` in a channel (a thread: in its parent) of a
        guild it was added to; a channel of no known guild allows everything."""
        with self._lock:
            thread = self._state.threads.get(channel)
            if thread is not None:
                channel = thread.parent_id
            for guild in self._state.guilds.values():
                if channel in guild.channels:
                    granted = guild.bot_permissions
                    return not granted & ADMINISTRATOR and granted & permission != permission
        return False

    # --- interaction callbacks and webhooks ---------------------------------------------------

    async def _callback(
        self,
        request: web.Request,
        record: RecordedRequest,
        interaction_id: str,
        token: str,
        files: int,
    ) -> web.StreamResponse:
        interaction = self._interactions.get(interaction_id)
        if interaction is None or not secrets.compare_digest(interaction.token, token):
            return _error(404, 10062, "Unknown interaction")
        record.channel = interaction.channel_id
        rule = self._take_rule(interaction.channel_id, "callback")
        if rule is not None:
            record.fault = rule.fault
            refused = await self._fault(rule)
            if refused is not None:
                return refused
        if interaction.acknowledged:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        if interaction.expired:
            return _error(404, 10062, "Unknown interaction")
        body = record.body
        if not isinstance(body, dict) or not isinstance(body.get("type"), int):
            return _required(("type",)).response()
        kind = body["type"]
        if kind not in _CALLBACKS_FOR.get(interaction.type, ()):
            return FormProblem(
                ("type",),
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Callback type {kind} cannot answer an interaction of type {interaction.type}.",
            ).response()
        data = body.get("data")
        message: dict[str, Any] | None = None
        if kind == CHANNEL_MESSAGE_WITH_SOURCE:
            problem = validate_message(data, interaction=True, files=files)
            if problem is not None:
                return FormProblem(
                    ("data", *problem.path), problem.code, problem.message, problem.api_code
                ).response()
            assert isinstance(data, dict)  # validate_message checked it
            message = self._interaction_message(interaction, data, loading=False)
        elif kind == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            flags = int((data or {}).get("flags") or 0)
            if flags & ~EPHEMERAL:
                return FormProblem(
                    ("data", "flags"), "MESSAGE_FLAGS_INVALID", "A deferral takes only EPHEMERAL."
                ).response()
            message = self._interaction_message(interaction, {"flags": flags}, loading=True)
        elif kind == APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            problem = validate_choices(data, _focused_type(interaction.payload))
            if problem is not None:
                return problem.response()
        elif kind == MODAL and not (isinstance(data, dict) and data.get("custom_id")):
            return _required(("data", "custom_id")).response()
        callback = InteractionCallback(
            type=kind, data=data, latency=record.started - interaction.created
        )
        interaction._acknowledge(callback, message)
        answer: dict[str, Any] = {
            "interaction": {"id": interaction.id, "type": interaction.type},
        }
        if message is not None:
            answer["interaction"].update(
                response_message_id=message["id"],
                response_message_loading=bool(message["flags"] & LOADING),
                response_message_ephemeral=bool(message["flags"] & EPHEMERAL),
            )
            answer["resource"] = {"type": kind, "message": message}
        elif kind == MODAL:
            answer["resource"] = {"type": kind}
        return await self._after(request, rule, _json(answer))

    def _interaction_message(
        self, interaction: InteractionRecord, data: dict[str, Any], *, loading: bool
    ) -> dict[str, Any]:
        """The original response (or a follow-up) as Discord stores it; a non-ephemeral one
        also lands in the channel's messages."""
        flags = int(data.get("flags") or 0) | (LOADING if loading else 0)
        with self._lock:
            message = self._new_message(
                interaction.channel_id,
                BOT_USER_ID,
                str(data.get("content") or ""),
                list(data.get("embeds") or []),
                list(data.get("components") or []),
            )
            user = (interaction.payload.get("member") or interaction.payload)["user"]
            message.update(
                type=_CHAT_INPUT_REPLY,
                flags=flags,
                webhook_id=APPLICATION_ID,
                application_id=APPLICATION_ID,
                interaction_metadata={
                    "id": interaction.id,
                    "type": interaction.type,
                    "user": user,
                    "authorizing_integration_owners": interaction.payload.get(
                        "authorizing_integration_owners", {}
                    ),
                    "name": interaction.name,
                    "command_type": 1,
                },
            )
            if not flags & EPHEMERAL:
                self._state.channels.setdefault(interaction.channel_id, []).append(
                    _Message(message, None, time.monotonic())
                )
        return message

    async def _webhook(
        self, request: web.Request, record: RecordedRequest, parts: list[str], files: int
    ) -> web.StreamResponse:
        # /webhooks/{app}/{token} (POST: follow-up) or .../messages/{@original|id}
        app_id, token, rest = parts[1], parts[2], parts[3:]
        interaction = self._by_token.get(token)
        if app_id != APPLICATION_ID:
            return _error(404, 10015, "Unknown Webhook")
        if interaction is None or not interaction.token_valid():
            return _error(401, 50027, "Invalid Webhook Token")
        record.channel = interaction.channel_id
        rule = self._take_rule(interaction.channel_id, "webhook")
        if rule is not None:
            record.fault = rule.fault
            answer = await self._fault(rule)
            if answer is not None:
                return answer
        if not interaction.acknowledged:
            return _error(404, 10015, "Unknown Webhook")
        method = request.method
        if not rest:
            if method != "POST":
                return _error(405, 0, "405: Method Not Allowed")
            return await self._followup(request, record, interaction, rule, files)
        if len(rest) != 2 or rest[0] != "messages":
            return _error(404, 0, "404: Not Found")
        target = self._webhook_message(interaction, rest[1])
        if target is None:
            return _error(404, 10008, "Unknown Message")
        if method == "GET":
            return _json(target)
        if method == "DELETE":
            self._delete_message(interaction, target)
            return await self._after(request, rule, web.Response(status=204))
        if method != "PATCH":
            return _error(405, 0, "405: Method Not Allowed")
        body = record.body
        problem = validate_message(body, interaction=True, edit=True, files=files)
        if problem is not None:
            return problem.response()
        with self._lock:
            after = {k: body[k] if k in body else target.get(k) for k in _EDITABLE}
            if not (
                after["content"]
                or after["embeds"]
                or after["components"]
                or after["attachments"]
                or files
            ):
                return FormProblem((), "", "Cannot send an empty message", 50006).response()
            was_loading = bool(target["flags"] & LOADING)
            for key in _EDITABLE:
                if key in body:
                    empty: Any = "" if key == "content" else []
                    target[key] = empty if body[key] is None else copy.deepcopy(body[key])
            kept = target["flags"] & (EPHEMERAL | SUPPRESS_EMBEDS)
            target["flags"] = kept | (int(body.get("flags") or 0) & SUPPRESS_EMBEDS)
            if not was_loading:
                target["edited_timestamp"] = _now_iso()
            message = copy.deepcopy(target)
        if target is interaction.original:
            interaction.edits.append(copy.deepcopy(body))
            interaction._edited(message)
        return await self._after(request, rule, _json(message))

    async def _followup(
        self,
        request: web.Request,
        record: RecordedRequest,
        interaction: InteractionRecord,
        rule: _Rule | None,
        files: int,
    ) -> web.StreamResponse:
        body = record.body
        problem = validate_message(body, interaction=True, files=files)
        if problem is not None:
            return problem.response()
        message = self._interaction_message(interaction, body, loading=False)
        interaction._followup(message)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return await self._after(request, rule, _json(message))
        return await self._after(request, rule, web.Response(status=204))

    def _webhook_message(
        self, interaction: InteractionRecord, message_id: str
    ) -> dict[str, Any] | None:
        if message_id == "@original":
            return interaction.original
        return next((m for m in interaction.followups if m["id"] == message_id), None)

    def _delete_message(self, interaction: InteractionRecord, message: dict[str, Any]) -> None:
        with self._lock:
            stored = self._state.channels.get(interaction.channel_id, [])
            stored[:] = [m for m in stored if m.data is not message]
        if message is interaction.original:
            interaction._deleted()
        else:
            interaction.followups.remove(message)

    def _new_message(
        self,
        channel: str,
        author_id: str,
        content: str,
        embeds: list[dict[str, Any]],
        components: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """A message object (called with the lock held). Its embeds and components come from a
        freshly parsed body and are never changed in place (an edit replaces whole keys), so
        they are shared, not copied: copying was the fake's main cost under load. Readers
        (``messages``, ``final``) get copies."""
        now = datetime.now(UTC)
        author = _bot_user() if author_id == BOT_USER_ID else _user(author_id)
        message_id = self._snowflake(now)
        self._state.message_ids.add(message_id)
        return {
            "id": message_id,
            "type": 0,
            "channel_id": channel,
            "author": author,
            "content": content,
            "timestamp": now.isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": embeds,
            "components": components,
            "pinned": False,
            "flags": 0,
        }

    def _snowflake(self, now: datetime | None = None) -> str:
        """A new, increasing snowflake id (called with the lock held)."""
        now = now or datetime.now(UTC)
        snowflake = (int(now.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22
        self._state.last_id = max(snowflake, self._state.last_id + 1)
        return str(self._state.last_id)

    def _snowflake_locked(self) -> str:
        with self._lock:
            return self._snowflake()

    def _spend(self, channel: str, rate: tuple[int, float] | None = None) -> float | None:
        """Count a post against the channel's bucket (or ``rate``'s, keyed by ``channel``);
        the wait when the bucket is empty."""
        rate = rate or self._channel_rate
        assert rate is not None
        limit, period = rate
        now = time.monotonic()
        with self._lock:
            window = self._state.windows.get(channel)
            if window is None or now - window.start >= period:
                window = self._state.windows[channel] = _Window(now)
            if window.count >= limit:
                return max(0.001, period - (now - window.start))
            window.count += 1
        return None

    def _bucket_headers(self, channel: str) -> dict[str, str]:
        """The X-RateLimit headers of a successful answer (the post was charged in _spend)."""
        if self._channel_rate is None:
            # No pacing: a bucket that never runs dry, so discord.py never waits.
            return _bucket(limit=50, remaining=49, reset_after=1.0)
        limit, period = self._channel_rate
        with self._lock:
            window = self._state.windows.get(channel)
            now = time.monotonic()
            if window is None or now - window.start >= period:
                return _bucket(limit=limit, remaining=limit, reset_after=period)
            return _bucket(
                limit=limit,
                remaining=max(0, limit - window.count),
                reset_after=max(0.001, period - (now - window.start)),
            )


_EDITABLE = ("content", "embeds", "components", "attachments", "allowed_mentions")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _read_body(request: web.Request) -> tuple[Any, int]:
    """The request's JSON body (a multipart body's ``payload_json``) and its file count."""
    if not request.can_read_body:
        return None, 0
    if request.content_type == "multipart/form-data":
        form = await request.post()
        files = sum(1 for value in form.values() if isinstance(value, web.FileField))
        raw = form.get("payload_json")
        body = None
        if isinstance(raw, str):
            with suppress(ValueError):
                body = json.loads(raw)
        return body, files
    with suppress(ValueError, UnicodeDecodeError):
        return json.loads(await request.read()), 0
    return None, 0


def _comparable(command: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in command.items() if k not in ("id", "version")}


def _strip_ids(command: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in command.items() if k not in ("id", "version", "application_id")}


def _focused_type(payload: dict[str, Any]) -> int:
    options = payload.get("data", {}).get("options") or []
    while options:
        focused = next((o for o in options if o.get("focused")), None)
        if focused is not None:
            return int(focused["type"])
        nested = next((o for o in options if o.get("type") in (1, 2)), None)
        options = (nested or {}).get("options") or []
    return _STRING


def _build_options(
    command: dict[str, Any],
    path: list[str],
    given: Mapping[str, Any],
    *,
    focused: str | None,
    value: str,
    guild: _Guild | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The interaction's ``data.options`` (sub-commands nested) and ``data.resolved``, typed
    by the registered schema, as Discord's client sends them."""
    top: list[dict[str, Any]] = []
    target = top
    schema: list[dict[str, Any]] = command.get("options") or []
    label = f"/{command['name']}"
    for part in path:
        sub = next(
            (
                o
                for o in schema
                if o["name"] == part and o["type"] in (_SUB_COMMAND, _SUB_COMMAND_GROUP)
            ),
            None,
        )
        if sub is None:
            known = [o["name"] for o in schema if o["type"] in (_SUB_COMMAND, _SUB_COMMAND_GROUP)]
            raise LookupError(f"{label} has no subcommand {part!r}; it has {known}")
        node: dict[str, Any] = {"name": part, "type": sub["type"], "options": []}
        target.append(node)
        target, schema, label = node["options"], sub.get("options") or [], f"{label} {part}"
    subs = [o["name"] for o in schema if o["type"] in (_SUB_COMMAND, _SUB_COMMAND_GROUP)]
    if subs:
        raise LookupError(f"{label} needs a subcommand: one of {subs}")
    by_name = {o["name"]: o for o in schema}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise ValueError(f"{label} has no option {unknown}; it has {sorted(by_name)}")
    if focused is not None:
        option = by_name.get(focused)
        if option is None or not option.get("autocomplete"):
            raise ValueError(f"{label}: option {focused!r} does not autocomplete")
    resolved: dict[str, Any] = {}
    for option in schema:
        name = option["name"]
        if name == focused:
            target.append({"name": name, "type": option["type"], "value": value, "focused": True})
        elif name in given:
            typed = _typed_value(option, given[name], label, guild, resolved)
            target.append({"name": name, "type": option["type"], "value": typed})
        elif option.get("required") and focused is None:
            raise ValueError(f"{label} needs option {name!r} (Discord's client requires it)")
    return top, resolved


def _typed_value(
    option: dict[str, Any],
    value: Any,
    label: str,
    guild: _Guild | None,
    resolved: dict[str, Any],
) -> Any:
    kind, name = option["type"], option["name"]
    where = f"{label} option {name!r}"
    if kind == _STRING:
        if not isinstance(value, str):
            raise TypeError(f"{where} takes a string, not {value!r}")
        low, high = option.get("min_length", 0), option.get("max_length", 6000)
        if not low <= len(value) <= high:
            raise ValueError(f"{where} takes {low} to {high} characters")
    elif kind in (_INTEGER, _NUMBER):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{where} takes a number, not {value!r}")
        if kind == _INTEGER and not isinstance(value, int):
            raise TypeError(f"{where} takes an integer, not {value!r}")
        low, high = option.get("min_value"), option.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{where} takes {low} to {high}")
    elif kind == _BOOLEAN:
        if not isinstance(value, bool):
            raise TypeError(f"{where} takes True or False, not {value!r}")
    elif kind in (_USER, _MENTIONABLE):
        value = str(value)
        resolved.setdefault("users", {})[value] = _user(value)
        if guild is not None:
            member = _member(value, guild.joined_at)
            del member["user"]
            member["permissions"] = str(MEMBER_PERMISSIONS)
            resolved.setdefault("members", {})[value] = member
    elif kind == _CHANNEL:
        value = str(value)
        if guild is None or value not in guild.channels:
            raise ValueError(f"{where}: channel {value} is not in the guild")
        channel = _channel(value, guild.channels[value], guild.id, 0)
        resolved.setdefault("channels", {})[value] = {
            k: channel[k] for k in ("id", "name", "type", "parent_id", "nsfw", "flags")
        } | {"permissions": str(MEMBER_PERMISSIONS)}
    elif kind == _ROLE:
        value = str(value)
        roles = {r["id"]: r for r in _roles(guild)} if guild is not None else {}
        if value not in roles:
            raise ValueError(f"{where}: role {value} is not in the guild")
        resolved.setdefault("roles", {})[value] = roles[value]
    else:
        raise NotImplementedError(f"{where}: the fake does not send attachments")
    choices = option.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise ValueError(f"{where} takes one of {[c['value'] for c in choices]}")
    return value


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer with Discord's exact content type: discord.py decodes JSON only when the
    header reads ``application/json`` (aiohttp's json_response adds a charset)."""
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


def _bot_user() -> dict[str, Any]:
    return {
        "id": BOT_USER_ID,
        "username": "paperwire",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": True,
        "flags": 0,
    }


def _bot_me() -> dict[str, Any]:
    """``GET /users/@me`` and READY's user: the bot user with its account fields."""
    return {
        **_bot_user(),
        "public_flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "mfa_enabled": True,
        "locale": "en-US",
        "premium_type": 0,
        "email": None,
        "verified": True,
        "bio": "",
    }


def _user(user_id: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": f"user{user_id[-4:]}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "public_flags": 0,
    }


def _member(user_id: str, joined_at: str, *, roles: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "user": _user(user_id),
        "nick": None,
        "avatar": None,
        "banner": None,
        "roles": list(roles),
        "joined_at": joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
        "unusual_dm_activity_until": None,
    }


def _bot_member(guild: _Guild) -> dict[str, Any]:
    member = _member(BOT_USER_ID, guild.joined_at, roles=[guild.bot_role_id])
    member["user"] = _bot_user()
    return member


def _roles(guild: _Guild) -> list[dict[str, Any]]:
    def role(
        role_id: str, name: str, permissions: int, position: int, **extra: Any
    ) -> dict[str, Any]:
        return {
            "id": role_id,
            "name": name,
            "description": None,
            "permissions": str(permissions),
            "position": position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
            **extra,
        }

    return [
        role(guild.id, "@everyone", MEMBER_PERMISSIONS, 0),
        role(
            guild.bot_role_id,
            "paperwire",
            guild.bot_permissions,
            1,
            managed=True,
            tags={"bot_id": BOT_USER_ID},
        ),
    ]


def _channel(channel_id: str, name: str, guild_id: str | None, position: int) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "id": channel_id,
        "type": 0,
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": 0,
    }
    if guild_id is not None:
        channel["guild_id"] = guild_id
    return channel


def _reaction(emoji: dict[str, Any], count: int) -> dict[str, Any]:
    """A message's reaction as Discord shows it to the bot, who did not react itself."""
    return {
        "emoji": dict(emoji),
        "count": count,
        "count_details": {"burst": 0, "normal": count},
        "burst_colors": [],
        "me": False,
        "me_burst": False,
    }


def _same_emoji(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Custom emoji are the same by id, unicode ones by name."""
    if one.get("id") or other.get("id"):
        return bool(one.get("id") == other.get("id"))
    return bool(one.get("name") == other.get("name"))


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _bucket(*, limit: int, remaining: int, reset_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": "fake-channel-messages",
    }


def _rate_limited(retry_after: float, *, limit: int) -> web.Response:
    """Discord's 429: the body discord.py reads, its headers, and Via (discord.py insists)."""
    headers = {
        **_bucket(limit=limit, remaining=0, reset_after=retry_after),
        "Retry-After": str(math.ceil(retry_after)),
        "X-RateLimit-Scope": "user",
        "Via": "1.1 google",
    }
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
    return _json(body, status=429, headers=headers)
