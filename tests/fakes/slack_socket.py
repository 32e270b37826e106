"""The Socket Mode half of the fake Slack: a WebSocket on the fake's own port that slack_sdk's
``SocketModeClient`` (the one slack_bolt's ``AsyncSocketModeHandler`` drives) connects to after
``apps.connections.open`` handed it a URL, as it would to ``wss://wss-primary.slack.com/link``.

What it speaks (Slack's Socket Mode protocol): a one-use ``ticket`` in the URL (a used or
unknown ticket is refused before the upgrade, so a client that reconnects must ask
``apps.connections.open`` again), ``hello`` on connect, envelopes (``slash_commands``,
``events_api``, ``interactive``) with ``envelope_id`` and ``accepts_response_payload``, the
client's acks ``{"envelope_id", "payload"}``, ``disconnect`` (``refresh_requested`` and the
like) and a dropped connection. ``FakeSlack`` owns one ``SocketMode``; tests use it through
``FakeSlack``'s methods (``socket_command``, ``socket_disconnect``, ...).

Envelopes go to the newest open connection (Slack spreads them over the app's connections;
one is what an app has). Everything here runs on the fake's event loop.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

__all__ = ["LINK_PATH", "SocketAck", "SocketConnection", "SocketMode"]

LINK_PATH = "/link/"
_CLOSE_TIMEOUT = 5.0  # how long a close waits for the client's close frame


@dataclass(frozen=True)
class SocketAck:
    """The app's answer to one envelope: ``{"envelope_id": ..., "payload": ...}``."""

    envelope_id: str
    payload: dict[str, Any] | None  # None: a bare ack
    latency: float  # seconds from sending the envelope to the ack's arrival
    connection: int  # which connection carried it


@dataclass
class SocketConnection:
    """One WebSocket connection the app opened."""

    id: int
    ticket: str
    opened: float
    ws: web.WebSocketResponse = field(repr=False)
    closed: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list, repr=False)
    received: list[Any] = field(default_factory=list, repr=False)


class SocketMode:
    """Tickets, connections, envelopes and acks. ``url_base`` gives ``ws://127.0.0.1:PORT``
    (the port is known only once the fake listens)."""

    def __init__(self, *, url_base: Callable[[], str], app_id: str, wait_timeout: float) -> None:
        self._url_base = url_base
        self.app_id = app_id
        self.wait_timeout = wait_timeout
        self._tickets: set[str] = set()
        self.refused_tickets: list[str] = []  # connection attempts with a used or unknown ticket
        self._connections: list[SocketConnection] = []
        self._pending: dict[str, tuple[asyncio.Future[SocketAck], float]] = {}
        self.acks: list[SocketAck] = []
        self.unmatched: list[Any] = []  # messages from the app that ack nothing we sent
        self._changed: asyncio.Event | None = None

    # --- what the Web API side calls ----------------------------------------------------------

    def issue_url(self) -> str:
        """A fresh one-use connection URL (``apps.connections.open``'s ``url``)."""
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        return f"{self._url_base()}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"

    @property
    def connections(self) -> list[SocketConnection]:
        return list(self._connections)

    def open_connection(self) -> SocketConnection | None:
        for connection in reversed(self._connections):
            if not connection.closed and not connection.ws.closed:
                return connection
        return None

    async def wait_connected(self, count: int = 1) -> SocketConnection:
        """Until the app has opened ``count`` connections in all and one is open; returns it."""

        def ready() -> SocketConnection | None:
            if len(self._connections) < count:
                return None
            return self.open_connection()

        return await self._wait(ready, lambda: f"{count} Socket Mode connection(s)")

    async def deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> tuple[str, SocketAck]:
        """Send one envelope to the open connection; returns its id and the app's ack."""
        connection = await self.wait_connected()
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason or "timeout"
        future: asyncio.Future[SocketAck] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = (future, time.monotonic())
        connection.sent.append(envelope)
        await connection.ws.send_str(json.dumps(envelope))
        try:
            ack = await asyncio.wait_for(asyncio.shield(future), self.wait_timeout)
        except TimeoutError:
            raise TimeoutError(
                f"the app did not ack the {kind} envelope {envelope_id} within "
                f"{self.wait_timeout:g} s over Socket Mode: is a listener registered for it?"
            ) from None
        finally:
            self._pending.pop(envelope_id, None)
        return envelope_id, ack

    async def disconnect(self, reason: str | None) -> None:
        """``reason`` (``refresh_requested``, ``warning``, ``link_disabled``): Slack's
        ``disconnect`` message, after which the client opens a new connection itself; None:
        the connection simply drops (a close frame, 1001)."""
        connection = self.open_connection()
        if connection is None:
            raise RuntimeError("no open Socket Mode connection to disconnect")
        if reason is not None:
            message = {
                "type": "disconnect",
                "reason": reason,
                "debug_info": {"host": "applink-fake-1"},
            }
            connection.sent.append(message)
            await connection.ws.send_str(json.dumps(message))
            return
        connection.closed = True
        await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"going away")
        self._notify()

    async def close_all(self) -> None:
        for connection in self._connections:
            connection.closed = True
            with suppress(Exception):
                await connection.ws.close(code=WSCloseCode.GOING_AWAY)
        for future, _ in self._pending.values():
            if not future.done():
                future.cancel()

    # --- the WebSocket endpoint ---------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            self.refused_tickets.append(ticket)
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(timeout=_CLOSE_TIMEOUT)
        if not ws.can_prepare(request).ok:
            return web.json_response({"ok": False, "error": "not_a_websocket"}, status=400)
        await ws.prepare(request)
        connection = SocketConnection(len(self._connections) + 1, ticket, time.monotonic(), ws)
        self._connections.append(connection)
        hello = {
            "type": "hello",
            "num_connections": sum(1 for c in self._connections if not c.closed),
            "debug_info": {
                "host": "applink-fake-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        connection.sent.append(hello)
        await ws.send_str(json.dumps(hello))
        self._notify()
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._received(connection, message.data)
        finally:
            connection.closed = True
            self._notify()
        return ws

    def _received(self, connection: SocketConnection, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            message = data
        connection.received.append(message)
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        pending = self._pending.get(envelope_id) if isinstance(envelope_id, str) else None
        if pending is None or pending[0].done():
            self.unmatched.append(message)
            return
        assert isinstance(message, dict)
        assert isinstance(envelope_id, str)
        future, sent = pending
        payload = message.get("payload")
        ack = SocketAck(
            envelope_id,
            payload if isinstance(payload, dict) else None,
            time.monotonic() - sent,
            connection.id,
        )
        self.acks.append(ack)
        future.set_result(ack)

    # --- waiting ------------------------------------------------------------------------------

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        if changed is not None:
            changed.set()

    async def _wait(
        self, ready: Callable[[], SocketConnection | None], what: Callable[[], str]
    ) -> SocketConnection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        while True:
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            found = ready()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"waited {self.wait_timeout:g} s for {what()}; the app opened "
                    f"{len(self._connections)}: did it call apps.connections.open and connect?"
                )
            with suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
