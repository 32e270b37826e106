"""A fake Discord REST API on 127.0.0.1: enough of it for discord.py's HTTPClient to post.

It stores messages per channel (snowflake ids, newest first on read), honours ``nonce`` with
``enforce_nonce`` like Discord does, counts every post, and injects faults on demand. Use it
in-process from async tests::

    async with FakeDiscord() as fake:
        fake.fail(Fault.RATE_LIMITED, times=1, retry_after=0.05)
        ... DiscordPublisher(fake.token, api_url=fake.api_url) ...
        assert fake.post_count(CHANNEL) == 2 and len(fake.messages(CHANNEL)) == 1

from a background thread for subprocess tests (a worker that is SIGKILLed)::

    with FakeDiscord.running_in_thread() as fake:
        subprocess.Popen([...], env={**os.environ, **fake.env()})
        ... fake.card_ids(CHANNEL) lists every card posted, duplicates included ...

Routes (under ``/api/v10``): ``GET /users/@me``, ``POST /channels/{id}/messages``,
``GET /channels/{id}/messages?limit=N``. Channels spring into existence on first use;
``fail(Fault.UNKNOWN_CHANNEL, channel=..., times=None)`` makes one disappear.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from aiohttp import web

from tests.fakes._server import LoopbackServer

__all__ = ["BOT_USER_ID", "DEFAULT_TOKEN", "FakeDiscord", "Fault", "RecordedRequest"]

DEFAULT_TOKEN = "fake-discord-bot-token.NOT-A-REAL-ONE"  # a fixed test token, not a secret
BOT_USER_ID = "1100000000000000001"
API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000

Route = Literal["post", "history", "any"]


class Fault(StrEnum):
    """What a request gets instead of the normal answer, while the fault lasts."""

    RATE_LIMITED = "429"  # 429 + retry_after (body, Retry-After, X-RateLimit-*, Via)
    SERVER_ERROR = "500"  # 500 with Discord's JSON error body
    BAD_GATEWAY = "502"  # 502 with an HTML page, as Cloudflare sends
    UNKNOWN_CHANNEL = "10003"  # 404 {"code": 10003, "message": "Unknown Channel"}
    MISSING_ACCESS = "50001"  # 403 {"code": 50001, "message": "Missing Access"}
    MISSING_PERMISSIONS = "50013"  # 403 {"code": 50013, "message": "Missing Permissions"}
    STALL = "stall"  # accept the request, store nothing, never answer
    STALL_AFTER_POST = "stall_after_post"  # store the message, then never answer
    DROP_AFTER_POST = "drop_after_post"  # store the message, then cut the connection mid-answer


@dataclass
class _Rule:
    fault: Fault
    channel: str | None  # None: every channel
    route: Route
    remaining: int | None  # None: until cleared
    retry_after: float


@dataclass
class RecordedRequest:
    method: str
    path: str
    channel: str | None
    body: Any  # the parsed JSON body, or None
    started: float  # time.monotonic() on arrival
    status: int | None = None  # None while unanswered (or never answered: a stall)
    fault: Fault | None = None


@dataclass
class _Message:
    data: dict[str, Any]
    nonce: str | None
    created: float  # time.monotonic(), for the enforce_nonce window


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass
class _State:
    rules: list[_Rule] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    channels: dict[str, list[_Message]] = field(default_factory=dict)
    posts: dict[str, int] = field(default_factory=dict)
    windows: dict[str, _Window] = field(default_factory=dict)
    last_id: int = 0


class FakeDiscord(LoopbackServer):
    """The fake API. Every public method is thread-safe (the server may run in a thread)."""

    thread_name = "fake-discord"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        nonce_window: float = 300.0,
        channel_rate: tuple[int, float] | None = None,
    ) -> None:
        """``channel_rate=(5, 5.0)`` imposes Discord's own per-channel bucket (5 posts per 5 s,
        announced in X-RateLimit headers so discord.py paces itself); None posts at any rate.
        """
        self.token = token
        super().__init__(host=host, port=port)
        self._nonce_window = nonce_window
        self._channel_rate = channel_rate
        self._lock = threading.Lock()
        self._state = _State()

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The REST base, as PAPERWIRE_DISCORD_API_URL takes it."""
        return f"http://{self.host}:{self._port}{API_PREFIX}"

    def env(self) -> dict[str, str]:
        """The environment variables that point paperwire's Discord side at this fake."""
        return {"PAPERWIRE_DISCORD_API_URL": self.api_url, "DISCORD_TOKEN": self.token}

    # --- faults -------------------------------------------------------------------------------

    def fail(
        self,
        fault: Fault,
        *,
        channel: str | None = None,
        times: int | None = 1,
        retry_after: float = 1.0,
        route: Route = "post",
    ) -> None:
        """The next ``times`` matching requests (None: all, until cleared) get ``fault``."""
        with self._lock:
            self._state.rules.append(_Rule(fault, channel, route, times, retry_after))

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
            message = self._new_message(channel, author_id, content, embeds or [], [])
            message.update(extra or {})
            self._state.channels.setdefault(channel, []).append(
                _Message(message, None, time.monotonic())
            )
            return str(message["id"])

    # --- what happened ------------------------------------------------------------------------

    def post_count(self, channel: str | None = None) -> int:
        """Every POST to a channel's messages that reached the fake, answered or not."""
        with self._lock:
            if channel is None:
                return sum(self._state.posts.values())
            return self._state.posts.get(channel, 0)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Stored messages, oldest first (as a POST answer shows them, nonce included)."""
        with self._lock:
            found = [
                copy.deepcopy(m.data)
                for cid, stored in self._state.channels.items()
                if channel is None or cid == channel
                for m in stored
            ]
        return sorted(found, key=lambda m: int(m["id"]))

    def card_ids(self, channel: str | None = None) -> list[str]:
        """The versioned arXiv id of each card the bot posted (from the embed footer), in order.

        A card posted twice appears twice: ``Counter(fake.card_ids())`` finds duplicates.
        """
        ids = []
        for message in self.messages(channel):
            if message["author"]["id"] != BOT_USER_ID:
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
                if r.method == "POST" and (channel is None or r.channel == channel)
            ]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    # --- the server ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        body: Any = None
        if request.can_read_body:
            with suppress(ValueError, UnicodeDecodeError):
                body = json.loads(await request.read())
        channel = None
        parts = path.removeprefix(API_PREFIX).strip("/").split("/")
        if len(parts) == 3 and parts[0] == "channels" and parts[2] == "messages":
            channel = parts[1]
        record = RecordedRequest(request.method, path, channel, body, time.monotonic())
        with self._lock:
            self._state.requests.append(record)
            if channel is not None and request.method == "POST":
                self._state.posts[channel] = self._state.posts.get(channel, 0) + 1
        response = await self._answer(request, record)
        record.status = response.status
        return response

    async def _answer(self, request: web.Request, record: RecordedRequest) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return _error(404, 0, "404: Not Found")
        if request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, 0, "401: Unauthorized")
        route = request.path.removeprefix(API_PREFIX)
        if route == "/users/@me" and request.method == "GET":
            return _json(_bot_user())
        channel = record.channel
        if channel is None or request.method not in ("GET", "POST"):
            return _error(404, 0, "404: Not Found")
        kind: Route = "post" if request.method == "POST" else "history"
        rule = self._take_rule(channel, kind)
        if rule is not None:
            record.fault = rule.fault
            answer = await self._fault(request, rule, record)
            if answer is not None:
                return answer
        if kind == "history":
            return self._history(request, channel)
        return await self._post(request, record, channel, rule)

    def _take_rule(self, channel: str, kind: Route) -> _Rule | None:
        with self._lock:
            for rule in self._state.rules:
                if rule.channel not in (None, channel) or rule.route not in ("any", kind):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._state.rules.remove(rule)
                return rule
        return None

    async def _fault(
        self, request: web.Request, rule: _Rule, record: RecordedRequest
    ) -> web.StreamResponse | None:
        """The fault's answer, or None when the message is stored first (the *_AFTER_POST ones)."""
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
        if fault is Fault.STALL:
            await self._stall()
            return web.Response(status=503, text="stalled")
        return None

    async def _stall(self) -> None:
        assert self._stop is not None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=3600)

    def _history(self, request: web.Request, channel: str) -> web.Response:
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return _invalid_form("limit", "Value is not int.")
        if not 1 <= limit <= 100:
            return _invalid_form("limit", "Must be between 1 and 100.")
        with self._lock:
            stored = list(self._state.channels.get(channel, []))
        newest = sorted(stored, key=lambda m: int(m.data["id"]), reverse=True)[:limit]
        # Discord does not return a message's nonce when reading history.
        answer = [{k: v for k, v in m.data.items() if k != "nonce"} for m in newest]
        return _json(answer, headers=self._bucket_headers(channel))

    async def _post(
        self, request: web.Request, record: RecordedRequest, channel: str, rule: _Rule | None
    ) -> web.StreamResponse:
        if self._channel_rate is not None and rule is None:
            wait = self._spend(channel)
            if wait is not None:
                return _rate_limited(wait, limit=self._channel_rate[0])
        body = record.body
        problem = _validate(body)
        if problem is not None:
            return _invalid_form(*problem)
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
                if nonce is not None:
                    message["nonce"] = nonce
                stored.append(_Message(message, nonce, time.monotonic()))
                message = copy.deepcopy(message)
        headers = self._bucket_headers(channel)
        if rule is not None and rule.fault is Fault.STALL_AFTER_POST:
            await self._stall()
            return web.Response(status=503, text="stalled")
        if rule is not None and rule.fault is Fault.DROP_AFTER_POST:
            whole = json.dumps(message).encode()
            response = web.StreamResponse(status=200, headers=headers)
            response.content_type = "application/json"
            response.content_length = len(whole)
            await response.prepare(request)
            await response.write(whole[: len(whole) // 2])
            if request.transport is not None:
                request.transport.close()
            return response
        return _json(message, headers=headers)

    def _new_message(
        self,
        channel: str,
        author_id: str,
        content: str,
        embeds: list[dict[str, Any]],
        components: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """A message object (called with the lock held)."""
        now = datetime.now(UTC)
        snowflake = (int(now.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22
        self._state.last_id = max(snowflake, self._state.last_id + 1)
        author = _bot_user() if author_id == BOT_USER_ID else _user(author_id)
        return {
            "id": str(self._state.last_id),
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
            "embeds": copy.deepcopy(embeds),
            "components": copy.deepcopy(components),
            "pinned": False,
            "flags": 0,
        }

    def _spend(self, channel: str) -> float | None:
        """Count a post against the channel's bucket; the wait when the bucket is empty."""
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


def _user(user_id: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": f"user{user_id[-4:]}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
    }


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _invalid_form(where: str, message: str) -> web.Response:
    body = {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {where: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}},
    }
    return _json(body, status=400)


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


def _validate(body: Any) -> tuple[str, str] | None:
    """A minimal check of the message body's shape: (field, problem) or None."""
    if not isinstance(body, dict):
        return ("_body", "The request body must be a JSON object.")
    embeds = body.get("embeds") or []
    if not isinstance(embeds, list) or len(embeds) > 10:
        return ("embeds", "Must be a list of at most 10 embeds.")
    if not (body.get("content") or embeds or body.get("components")):
        return ("content", "Cannot send an empty message.")
    if len(str(body.get("content") or "")) > 2000:
        return ("content", "Must be 2000 or fewer in length.")
    for embed in embeds:
        if not isinstance(embed, dict):
            return ("embeds", "Each embed must be an object.")
        if len(str(embed.get("title", ""))) > 256:
            return ("embeds.title", "Must be 256 or fewer in length.")
        if len(str(embed.get("description", ""))) > 4096:
            return ("embeds.description", "Must be 4096 or fewer in length.")
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        return ("nonce", "Must be 25 or fewer in length.")
    mentions = body.get("allowed_mentions")
    if mentions is not None and not isinstance(mentions, dict):
        return ("allowed_mentions", "Must be an object.")
    return None
