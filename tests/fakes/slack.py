"""A fake Slack Web API on 127.0.0.1: enough of it for slack_sdk's AsyncWebClient to post.

Methods (under ``/api/``): ``auth.test``, ``chat.postMessage`` (JSON or form body, Bearer
token or ``token`` field; stores text, blocks and message metadata; counts every post) and
``conversations.history`` (newest first; metadata only with ``include_all_metadata``).
Faults on demand. In-process from async tests::

    async with FakeSlack() as fake:
        fake.fail(Fault.RATE_LIMITED, retry_after=1)
        ... SlackPublisher(SecretStr(fake.token), api_url=fake.api_url) ...
        assert fake.post_count("C0123456789") == 2

from a background thread for subprocess tests::

    with FakeSlack.running_in_thread() as fake:
        subprocess.Popen([...], env={**os.environ, **fake.env()})
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from aiohttp import web

from tests.fakes._server import LoopbackServer

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_TEAM",
    "DEFAULT_TOKEN",
    "FakeSlack",
    "Fault",
    "RecordedRequest",
]

DEFAULT_TOKEN = "xoxb-fake-0000-NOT-A-REAL-TOKEN"  # a fixed test token, not a secret
DEFAULT_TEAM = "T0FAKE0001"
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"
APP_ID = "A0FAKEAPP1"
API_PREFIX = "/api/"

Route = Literal["post", "history", "any"]


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
    STALL_AFTER_POST = "stall_after_post"  # store the message, then never answer
    DROP_AFTER_POST = "drop_after_post"  # store the message, then cut the connection mid-answer


_ERROR_FAULTS = {
    Fault.CHANNEL_NOT_FOUND,
    Fault.NOT_IN_CHANNEL,
    Fault.IS_ARCHIVED,
    Fault.TOKEN_REVOKED,
}


@dataclass
class _Rule:
    fault: Fault
    channel: str | None  # None: every channel
    route: Route
    remaining: int | None  # None: until cleared
    retry_after: int
    error: str


@dataclass
class RecordedRequest:
    method: str  # the Web API method, e.g. chat.postMessage
    channel: str | None
    params: dict[str, Any]  # the decoded arguments, token removed
    team: str | None  # the workspace the token belongs to; None when it was refused
    started: float
    status: int | None = None
    fault: Fault | None = None


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass
class _State:
    rules: list[_Rule] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    posts: dict[str, int] = field(default_factory=dict)
    windows: dict[str, _Window] = field(default_factory=dict)
    last_ts: int = 0  # microseconds


class FakeSlack(LoopbackServer):
    """The fake Web API. Every public method is thread-safe (the server may run in a thread)."""

    thread_name = "fake-slack"

    def __init__(
        self,
        *,
        tokens: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        channel_rate: tuple[int, float] | None = None,
    ) -> None:
        """``tokens`` maps each accepted bot token to its team id; ``channel_rate=(1, 1.0)``
        imposes Slack's posting pace (429 past it); None posts at any rate.
        """
        self.tokens = dict(tokens or {DEFAULT_TOKEN: DEFAULT_TEAM})
        super().__init__(host=host, port=port)
        self._channel_rate = channel_rate
        self._lock = threading.Lock()
        self._state = _State()

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The Web API base, as PAPERWIRE_SLACK_API_URL takes it (ends with a slash)."""
        return f"http://{self.host}:{self._port}{API_PREFIX}"

    @property
    def token(self) -> str:
        """The first accepted bot token."""
        return next(iter(self.tokens))

    def env(self) -> dict[str, str]:
        """The environment variables that point paperwire's Slack side at this fake."""
        return {"PAPERWIRE_SLACK_API_URL": self.api_url, "SLACK_BOT_TOKEN": self.token}

    # --- faults -------------------------------------------------------------------------------

    def fail(
        self,
        fault: Fault,
        *,
        channel: str | None = None,
        times: int | None = 1,
        retry_after: int = 1,
        error: str = "internal_error",
        route: Route = "post",
    ) -> None:
        """The next ``times`` matching calls (None: all, until cleared) get ``fault``.

        ``error`` is the code Fault.API_ERROR answers with; ``retry_after`` is in whole
        seconds, like Slack's Retry-After header.
        """
        with self._lock:
            self._state.rules.append(_Rule(fault, channel, route, times, retry_after, error))

    def clear_faults(self) -> None:
        with self._lock:
            self._state.rules.clear()

    def add_message(
        self, channel: str, *, text: str, metadata: dict[str, Any] | None = None, **extra: Any
    ) -> str:
        """Store a message written by someone else (or another code path); returns its ts."""
        with self._lock:
            message = {"type": "message", "user": "U0SOMEONE1", "text": text, **extra}
            message["ts"] = self._next_ts()
            if metadata is not None:
                message["metadata"] = copy.deepcopy(metadata)
            self._state.channels.setdefault(channel, []).append(message)
            return str(message["ts"])

    # --- what happened ------------------------------------------------------------------------

    def post_count(self, channel: str | None = None) -> int:
        """Every chat.postMessage call that reached the fake, answered or not."""
        with self._lock:
            if channel is None:
                return sum(self._state.posts.values())
            return self._state.posts.get(channel, 0)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Stored messages, oldest first, metadata included."""
        with self._lock:
            found = [
                copy.deepcopy(m)
                for cid, stored in self._state.channels.items()
                if channel is None or cid == channel
                for m in stored
            ]
        return sorted(found, key=lambda m: float(m["ts"]))

    def card_ids(self, channel: str | None = None) -> list[str]:
        """The versioned arXiv id of each card posted (from its metadata), in order.

        A card posted twice appears twice: ``Counter(fake.card_ids())`` finds duplicates.
        """
        ids = []
        for message in self.messages(channel):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if message.get("bot_id") == BOT_ID and "arxiv_id" in payload:
                ids.append(f"{payload['arxiv_id']}v{payload.get('version')}")
        return ids

    def payloads(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The decoded arguments of every chat.postMessage call, token removed, in order."""
        with self._lock:
            return [
                copy.deepcopy(r.params)
                for r in self._state.requests
                if r.method == "chat.postMessage" and (channel is None or r.channel == channel)
            ]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    # --- the server ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        method = request.path.removeprefix(API_PREFIX)
        params, token = await _arguments(request)
        team = self.tokens.get(token) if token else None
        channel = params.get("channel")
        channel = str(channel) if channel is not None else None
        record = RecordedRequest(method, channel, params, team, time.monotonic())
        with self._lock:
            self._state.requests.append(record)
            if method == "chat.postMessage" and channel is not None:
                self._state.posts[channel] = self._state.posts.get(channel, 0) + 1
        response = await self._answer(request, record, token)
        record.status = response.status
        return response

    async def _answer(
        self, request: web.Request, record: RecordedRequest, token: str | None
    ) -> web.StreamResponse:
        if not token:
            return _error("not_authed")
        if record.team is None:
            return _error("invalid_auth")
        if record.method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://fake.slack.test/",
                    "team": "Fake workspace",
                    "user": "paperwire",
                    "team_id": record.team,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "is_enterprise_install": False,
                }
            )
        kind: Route
        if record.method == "chat.postMessage":
            kind = "post"
        elif record.method == "conversations.history":
            kind = "history"
        else:
            return _error("unknown_method", status=404)
        if not record.channel:
            return _error("channel_not_found")
        rule = self._take_rule(record.channel, kind)
        if rule is not None:
            record.fault = rule.fault
            answer = await self._fault(rule)
            if answer is not None:
                return answer
        if kind == "history":
            return self._history(record)
        return await self._post(request, record, rule)

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

    async def _fault(self, rule: _Rule) -> web.StreamResponse | None:
        """The fault's answer, or None when the message is stored first (the *_AFTER_POST ones)."""
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

    def _history(self, record: RecordedRequest) -> web.Response:
        params = record.params
        try:
            limit = int(params.get("limit", 100))
        except (TypeError, ValueError):
            return _error("invalid_limit")
        limit = max(1, min(limit, 999))
        with_metadata = _truthy(params.get("include_all_metadata"))
        assert record.channel is not None
        with self._lock:
            stored = list(self._state.channels.get(record.channel, []))
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

    async def _post(
        self, request: web.Request, record: RecordedRequest, rule: _Rule | None
    ) -> web.StreamResponse:
        channel = record.channel
        assert channel is not None
        if self._channel_rate is not None and rule is None:
            wait = self._spend(channel)
            if wait is not None:
                return _rate_limited(math.ceil(wait))
        params = record.params
        blocks = _json_field(params.get("blocks"))
        metadata = _json_field(params.get("metadata"))
        text = params.get("text")
        if not text and not blocks:
            return _error("no_text")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > 50):
            return _error("invalid_blocks")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            return _error("invalid_metadata_format")
        with self._lock:
            message: dict[str, Any] = {
                "type": "message",
                "subtype": "bot_message",
                "ts": self._next_ts(),
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "app_id": APP_ID,
                "team": record.team,
                "text": str(text or ""),
            }
            if blocks is not None:
                message["blocks"] = copy.deepcopy(blocks)
            if metadata is not None:
                message["metadata"] = copy.deepcopy(metadata)
            self._state.channels.setdefault(channel, []).append(message)
            answer = {
                "ok": True,
                "channel": channel,
                "ts": message["ts"],
                "message": copy.deepcopy(message),
            }
        if rule is not None and rule.fault is Fault.STALL_AFTER_POST:
            await self._stall()
            return web.Response(status=503, text="stalled")
        if rule is not None and rule.fault is Fault.DROP_AFTER_POST:
            whole = json.dumps(answer).encode()
            response = web.StreamResponse(status=200)
            response.content_type = "application/json"
            response.content_length = len(whole)
            await response.prepare(request)
            await response.write(whole[: len(whole) // 2])
            if request.transport is not None:
                request.transport.close()
            return response
        return web.json_response(answer)

    def _next_ts(self) -> str:
        """A fresh, strictly increasing message ts (called with the lock held)."""
        now = int(time.time() * 1_000_000)
        self._state.last_ts = max(now, self._state.last_ts + 1)
        seconds, micros = divmod(self._state.last_ts, 1_000_000)
        return f"{seconds}.{micros:06d}"

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


async def _arguments(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """The call's arguments (query, then form or JSON body) and its token."""
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
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = auth.removeprefix("Bearer ").strip()
    return params, (str(token) if token else None)


def _json_field(value: Any) -> Any:
    """A form field carries JSON as a string; a JSON body carries it as is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


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
