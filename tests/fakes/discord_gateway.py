"""The gateway half of the fake Discord: a WebSocket on the fake's own port that discord.py's
``DiscordWebSocket`` logs in to, as it would to ``wss://gateway.discord.gg``.

What it speaks (Discord's gateway v10, JSON encoding): HELLO, IDENTIFY (token, intents,
privileged intents the app has not enabled), heartbeats and their ACKs, READY then one
GUILD_CREATE per guild, RESUME (replaying every dispatch the client missed, then RESUMED),
RECONNECT and INVALID_SESSION on demand, sequence numbers, Discord's close codes, and
transport compression: ``zlib-stream`` (one zlib stream per connection, every message
flushed with Z_SYNC_FLUSH so it ends in ``00 00 ff ff``) or ``zstd-stream`` when a zstd
module is importable here. ``FakeDiscord`` owns one ``Gateway``; tests use it through
``FakeDiscord``'s methods.

Every dispatch goes through one writer task per connection, so frames leave in sequence
order and the compression stream stays whole; a dispatch is only ``put_nowait`` on a queue,
so hundreds of concurrent interactions cost little and no lock is held while waiting.

A heartbeat the fake asks for (op 1) doubles as a barrier: discord.py handles gateway
messages one after another, so its answer carries the sequence of everything it has
processed (``wait_processed``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

__all__ = [
    "GATEWAY_PATH",
    "GUILD_MEMBERS",
    "GUILD_PRESENCES",
    "MESSAGE_CONTENT",
    "PRIVILEGED_INTENTS",
    "RESUME_GATEWAY_PATH",
    "Connection",
    "Gateway",
    "GatewayHost",
    "Session",
    "zstd_available",
]

GATEWAY_PATH = "/gateway"
# READY's resume_gateway_url: another path of the same fake, so a test can see that the
# client resumed where READY told it to (Discord hands out another host).
RESUME_GATEWAY_PATH = "/gateway-resume"

# Opcodes.
DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

# Privileged intents: refused (close 4014) unless the app has them enabled.
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
_KNOWN_INTENTS = (1 << 26) - 1

# Discord's close codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
CLOSE_REASONS = {
    4000: "Unknown error.",
    4001: "Unknown opcode.",
    4002: "Decode error.",
    4003: "Not authenticated.",
    4004: "Authentication failed.",
    4005: "Already authenticated.",
    4007: "Invalid seq.",
    4008: "Rate limited.",
    4009: "Session timed out.",
    4010: "Invalid shard.",
    4011: "Sharding required.",
    4012: "Invalid API version.",
    4013: "Invalid intent(s).",
    4014: "Disallowed intent(s).",
}
_MAX_CLIENT_PAYLOAD = 4096  # bytes; larger payloads close the connection with 4002
_CLIENT_RATE = (120, 60.0)  # payloads per connection per window, else 4008
_CLOSE_TIMEOUT = 5.0  # how long a close waits for the client's close frame


class GatewayHost(Protocol):
    """What the gateway asks of the fake it belongs to (``FakeDiscord``)."""

    token: str
    privileged_intents: int
    shard_count: int  # the shards the bot must connect with (1: unsharded)

    @property
    def resume_gateway_url(self) -> str: ...

    def ready_data(self) -> dict[str, Any]:
        """READY's ``d`` without ``session_id`` and ``resume_gateway_url``."""
        ...

    def guild_creates(self) -> list[dict[str, Any]]:
        """GUILD_CREATE's ``d`` for each guild the bot is in, as sent after READY."""
        ...

    def guild_members(self, guild_id: str, user_ids: list[str] | None) -> list[dict[str, Any]]:
        """The member objects a REQUEST_GUILD_MEMBERS for ``guild_id`` finds."""
        ...


def zstd_available() -> bool:
    """Whether this Python can compress zstd-stream (``zstandard`` or 3.14's
    ``compression.zstd``, the modules discord.py looks for)."""
    try:
        _zstd_compressor()
    except ImportError:
        return False
    return True


class _ZlibStream:
    name = "zlib-stream"

    def __init__(self) -> None:
        self._zlib = zlib.compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)


def _zstd_compressor() -> Callable[[bytes], bytes]:
    """One zstd stream; each call returns a flushed block the client can decode on its own."""
    try:
        import zstandard  # type: ignore[import-not-found]  # optional, like discord.py's
    except ImportError:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+

        stdlib = zstd.ZstdCompressor()

        def compress_stdlib(data: bytes) -> bytes:
            return bytes(stdlib.compress(data, mode=zstd.ZstdCompressor.FLUSH_BLOCK))

        return compress_stdlib
    stream = zstandard.ZstdCompressor().compressobj()

    def compress(data: bytes) -> bytes:
        return bytes(stream.compress(data) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))

    return compress


class _ZstdStream:
    name = "zstd-stream"

    def __init__(self) -> None:
        self.compress = _zstd_compressor()


_Compressor = _ZlibStream | _ZstdStream


@dataclass(eq=False)
class Connection:
    """One WebSocket connection. ``frames`` holds every frame sent, exactly as sent (bytes
    when compressed, str otherwise); ``received`` what the client sent (tokens redacted)."""

    number: int
    path: str
    query: dict[str, str]
    compress: str | None
    opened: float
    kind: str = "new"  # "identify" or "resume" once the client says which
    session: Session | None = None
    close_code: int | None = None  # who closed it: the fake's code, or the client's
    closed_by: str | None = None  # "fake", "client" or "drop"
    frames: list[bytes | str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    _ws: web.WebSocketResponse | None = field(default=None, repr=False)
    _request: web.Request | None = field(default=None, repr=False)
    _compressor: _Compressor | None = field(default=None, repr=False)
    _queue: asyncio.Queue[bytes | str | None] = field(default_factory=asyncio.Queue, repr=False)
    _recent: deque[float] = field(default_factory=deque, repr=False)
    _closing: bool = field(default=False, repr=False)

    @property
    def open(self) -> bool:
        return not self._closing and self.close_code is None

    def send(self, payload: dict[str, Any]) -> None:
        self._enqueue(json.dumps(payload, separators=(",", ":")))

    def _enqueue(self, text: str) -> None:
        if self._closing:
            return
        if self._compressor is None:
            self._queue.put_nowait(text)
        else:
            # Compressed here, in order: the stream's state is shared by every frame.
            self._queue.put_nowait(self._compressor.compress(text.encode()))

    async def _write_loop(self) -> None:
        assert self._ws is not None
        while (frame := await self._queue.get()) is not None:
            try:
                if isinstance(frame, bytes):
                    await self._ws.send_bytes(frame)
                else:
                    await self._ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return  # the socket went away: the session's history still has it all
            self.frames.append(frame)

    async def close(self, code: int) -> None:
        """Close with ``code`` and Discord's reason for it (the client answers the close)."""
        if self._closing or self._ws is None:
            return
        self._closing = True
        self.close_code, self.closed_by = code, "fake"
        self._queue.put_nowait(None)
        reason = CLOSE_REASONS.get(code, "").encode()
        with suppress(ConnectionError, RuntimeError):
            await self._ws.close(code=code, message=reason)

    def drop(self) -> None:
        """Cut the TCP connection without a close frame, as a network failure does."""
        if self._closing:
            return
        self._closing = True
        self.closed_by = "drop"
        self._queue.put_nowait(None)
        if self._request is not None and self._request.transport is not None:
            self._request.transport.abort()


@dataclass(eq=False)
class Session:
    """A gateway session: what IDENTIFY started and RESUME continues."""

    session_id: str
    intents: int
    properties: dict[str, Any]
    identified: float
    seq: int = 0
    connection: Connection | None = None
    invalidated: bool = False
    resumes: int = 0
    ready_seq: int = 0  # the last sequence of READY and its GUILD_CREATEs
    processed_seq: int = 0  # the highest sequence the client's heartbeats reported
    history: list[tuple[int, str]] = field(default_factory=list, repr=False)
    shard: tuple[int, int] | None = None  # (shard id, shard count) from IDENTIFY

    @property
    def live(self) -> bool:
        return self.connection is not None and not self.invalidated

    def covers(self, guild_id: str | int | None) -> bool:
        """Whether this session receives the guild's events: Discord sends a guild's events
        on shard ``(guild_id >> 22) % shard_count`` only."""
        if self.shard is None or guild_id is None:
            return True
        shard_id, count = self.shard
        return (int(guild_id) >> 22) % count == shard_id


class Gateway:
    """The fake gateway. Runs on the fake's event loop; every method must be called there."""

    def __init__(
        self, host: GatewayHost, *, heartbeat_interval: float = 41.25, wait_timeout: float = 15.0
    ) -> None:
        self._host = host
        self.heartbeat_interval = heartbeat_interval  # seconds
        self.wait_timeout = wait_timeout  # seconds a test waits for the bot
        self.sessions: list[Session] = []
        self.connections: list[Connection] = []
        self._changed = asyncio.Event()

    # --- what tests wait on ------------------------------------------------------------------

    @property
    def current(self) -> Session | None:
        """The newest session that has not been invalidated (interactions go there)."""
        for session in reversed(self.sessions):
            if not session.invalidated:
                return session
        return None

    def for_guild(self, guild_id: str | int | None) -> Session | None:
        """The newest session not invalidated that receives ``guild_id``'s events."""
        for session in reversed(self.sessions):
            if not session.invalidated and session.covers(guild_id):
                return session
        return None

    def dispatch_to_guild(self, event: str, data: dict[str, Any], guild_id: str) -> int:
        """Send one dispatch to every session (shard) that receives the guild's events."""
        targets = [s for s in self._active() if s.covers(guild_id)]
        for target in targets:
            self._dispatch(target, event, data)
        return len(targets)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, predicate: Callable[[], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        timeout = self.wait_timeout
        deadline = loop.time() + timeout
        while not predicate():
            changed = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"the fake gateway waited {timeout:g} s for {what}")
            with suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_processed(self) -> None:
        """Until the client has processed every dispatch sent so far: a heartbeat the fake
        asks for comes back with the sequence of the last message the client handled."""
        session = self.current
        if session is None:
            raise RuntimeError("no bot is logged in to the fake gateway")
        target = session.seq
        if session.connection is not None and session.processed_seq < target:
            session.connection.send({"op": HEARTBEAT, "d": None})
        await self.wait_until(
            lambda: session.processed_seq >= target or session.invalidated,
            f"the bot to process dispatch {target}",
        )

    # --- dispatching --------------------------------------------------------------------------

    def dispatch(self, event: str, data: dict[str, Any], session: Session | None = None) -> int:
        """Send (or, while the session is disconnected, keep for its RESUME) one dispatch to
        ``session``, by default to every session not invalidated; returns how many got it."""
        targets = [session] if session is not None else self._active()
        for target in targets:
            self._dispatch(target, event, data)
        return len(targets)

    def _active(self) -> list[Session]:
        return [s for s in self.sessions if not s.invalidated]

    def _dispatch(self, session: Session, event: str, data: dict[str, Any]) -> int:
        session.seq += 1
        text = json.dumps({"op": DISPATCH, "t": event, "s": session.seq, "d": data})
        session.history.append((session.seq, text))
        if session.connection is not None:
            session.connection._enqueue(text)
        return session.seq

    def request_heartbeat(self) -> None:
        for session in self._active():
            if session.connection is not None:
                session.connection.send({"op": HEARTBEAT, "d": None})

    def reconnect(self) -> None:
        """Op 7 RECONNECT to every live connection: the client closes and resumes."""
        for session in self._active():
            if session.connection is not None:
                session.connection.send({"op": RECONNECT, "d": None})

    def invalidate(self, *, resumable: bool) -> None:
        """Op 9 INVALID_SESSION: ``resumable=False`` ends the session (discord.py identifies
        anew, after its own 5-s pause), True lets the client resume it."""
        for session in self._active():
            if session.connection is not None:
                session.connection.send({"op": INVALID_SESSION, "d": resumable})
            if not resumable:
                session.invalidated = True
        self._notify()

    async def disconnect(self, code: int | None) -> None:
        """Close every live connection with ``code`` (None: cut it without a close frame)."""
        closing = []
        for session in self._active():
            connection = session.connection
            if connection is None:
                continue
            session.connection = None  # dispatches from now on wait for the RESUME
            if code is None:
                connection.drop()
            else:
                closing.append(connection.close(code))
        self._notify()
        await asyncio.gather(*closing)

    async def close_all(self) -> None:
        for connection in self.connections:
            if connection.open:
                connection.drop()

    # --- one connection -----------------------------------------------------------------------

    async def serve(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        ws = web.WebSocketResponse(compress=False, timeout=_CLOSE_TIMEOUT, autoping=True)
        await ws.prepare(request)
        connection = Connection(
            number=len(self.connections) + 1,
            path=request.path,
            query=query,
            compress=query.get("compress"),
            opened=time.monotonic(),
            _ws=ws,
            _request=request,
        )
        self.connections.append(connection)
        writer = asyncio.create_task(connection._write_loop(), name="fake-gateway-writer")
        try:
            problem = self._check_query(query)
            if problem is not None:
                await connection.close(problem)
                return ws
            if connection.compress == "zlib-stream":
                connection._compressor = _ZlibStream()
            elif connection.compress == "zstd-stream":
                connection._compressor = _ZstdStream()
            connection.send(
                {"op": HELLO, "d": {"heartbeat_interval": round(self.heartbeat_interval * 1000)}}
            )
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._receive(connection, message.data)
                elif message.type is WSMsgType.BINARY:
                    await self._receive(connection, message.data.decode(errors="replace"))
                if not connection.open:
                    break
        finally:
            self._closed(connection, ws)
            connection._queue.put_nowait(None)
            if writer.done() or connection.closed_by == "drop":
                writer.cancel()
            else:
                with suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(writer, _CLOSE_TIMEOUT)
        return ws

    def _check_query(self, query: dict[str, str]) -> int | None:
        if query.get("v") != "10":
            return 4012
        if query.get("encoding", "json") != "json":
            return 4002  # the fake speaks JSON only, not ETF
        compress = query.get("compress")
        if compress not in (None, "zlib-stream", "zstd-stream"):
            return 4000
        if compress == "zstd-stream" and not zstd_available():
            return 4000
        return None

    def _closed(self, connection: Connection, ws: web.WebSocketResponse) -> None:
        if connection.closed_by is None:
            connection.closed_by = "client"
            connection.close_code = ws.close_code
        connection._closing = True
        session = connection.session
        if session is not None and session.connection is connection:
            session.connection = None
            # A client that closes with 1000 or 1001 ends its session (Discord's rule).
            if connection.closed_by == "client" and connection.close_code in (1000, 1001):
                session.invalidated = True
        self._notify()

    async def _receive(self, connection: Connection, text: str) -> None:
        now = time.monotonic()
        recent = connection._recent
        recent.append(now)
        while recent and now - recent[0] > _CLIENT_RATE[1]:
            recent.popleft()
        if len(recent) > _CLIENT_RATE[0]:
            await connection.close(4008)
            return
        if len(text.encode()) > _MAX_CLIENT_PAYLOAD:
            await connection.close(4002)
            return
        try:
            payload = json.loads(text)
        except ValueError:
            await connection.close(4002)
            return
        if not isinstance(payload, dict):
            await connection.close(4002)
            return
        connection.received.append(_redacted(payload))
        op, data = payload.get("op"), payload.get("d")
        if op == HEARTBEAT:
            connection.send({"op": HEARTBEAT_ACK})
            session = connection.session
            if session is not None and isinstance(data, int):
                session.processed_seq = max(session.processed_seq, data)
                self._notify()
        elif op == IDENTIFY:
            await self._identify(connection, data)
        elif op == RESUME:
            await self._resume(connection, data)
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE, REQUEST_GUILD_MEMBERS):
            if connection.session is None:
                await connection.close(4003)
            elif op == REQUEST_GUILD_MEMBERS:
                self._members_chunk(connection.session, data)
        else:
            await connection.close(4001)

    async def _identify(self, connection: Connection, data: Any) -> None:
        if connection.session is not None:
            await connection.close(4005)
            return
        if not isinstance(data, dict) or data.get("token") != self._host.token:
            await connection.close(4004)
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or isinstance(intents, bool) or intents < 0:
            await connection.close(4013)
            return
        if intents & ~_KNOWN_INTENTS:
            await connection.close(4013)
            return
        if intents & PRIVILEGED_INTENTS & ~self._host.privileged_intents:
            await connection.close(4014)
            return
        shard = _shard(data.get("shard"), self._host.shard_count)
        if shard == "invalid":
            await connection.close(4010)
            return
        if shard is None and self._host.shard_count > 1:
            await connection.close(4011)  # too many guilds for one connection
            return
        session = Session(
            session_id=uuid.uuid4().hex,
            intents=intents,
            properties=dict(data.get("properties") or {}),
            identified=time.monotonic(),
            shard=shard,
        )
        self.sessions.append(session)
        connection.kind, connection.session, session.connection = "identify", session, connection
        ready = {
            **self._host.ready_data(),
            "session_id": session.session_id,
            "resume_gateway_url": self._host.resume_gateway_url,
        }
        if shard is not None:
            ready["shard"] = list(shard)
            ready["guilds"] = [g for g in ready.get("guilds", []) if session.covers(g.get("id"))]
        self._dispatch(session, "READY", ready)
        for guild in self._host.guild_creates():
            if session.covers(guild.get("id")):
                self._dispatch(session, "GUILD_CREATE", guild)
        session.ready_seq = session.seq
        connection.send({"op": HEARTBEAT, "d": None})  # the barrier wait_ready waits on
        self._notify()

    async def _resume(self, connection: Connection, data: Any) -> None:
        if connection.session is not None:
            await connection.close(4005)
            return
        if not isinstance(data, dict) or data.get("token") != self._host.token:
            await connection.close(4004)
            return
        session = next((s for s in self.sessions if s.session_id == data.get("session_id")), None)
        if session is None or session.invalidated:
            connection.send({"op": INVALID_SESSION, "d": False})
            return
        seq = data.get("seq") or 0
        if not isinstance(seq, int) or seq > session.seq:
            await connection.close(4007)
            return
        old = session.connection
        if old is not None:
            old.drop()
        connection.kind, connection.session, session.connection = "resume", session, connection
        session.resumes += 1
        for number, text in session.history:
            if number > seq:
                connection._enqueue(text)
        self._dispatch(session, "RESUMED", {})
        connection.send({"op": HEARTBEAT, "d": None})
        self._notify()

    def _members_chunk(self, session: Session, data: Any) -> None:
        if not isinstance(data, dict):
            return
        guild_id = str(data.get("guild_id"))
        user_ids = data.get("user_ids")
        if user_ids is not None:
            user_ids = [str(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])]
        chunk: dict[str, Any] = {
            "guild_id": guild_id,
            "members": self._host.guild_members(guild_id, user_ids),
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)


def _shard(value: Any, count: int) -> tuple[int, int] | str | None:
    """IDENTIFY's ``shard`` as (id, count), None when absent, "invalid" when Discord would
    refuse it: not two integers, an id outside the count, or another count than required."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return "invalid"
    shard_id, shard_count = value
    if shard_count != count or not 0 <= shard_id < shard_count:
        return "invalid"
    return shard_id, shard_count


def _redacted(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("d")
    if isinstance(data, dict) and "token" in data:
        return {**payload, "d": {**data, "token": "[redacted]"}}
    return payload
