"""What every fake server shares: one aiohttp catch-all handler on 127.0.0.1, run in-process
(``async with``) for async tests or on its own event loop in a thread for subprocess tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

from aiohttp import web

__all__ = ["LoopbackServer"]


class LoopbackServer:
    """Subclasses implement ``_handle``; ``_stop`` is set when the server stops (stalled
    handlers wait on it, so shutting down never hangs)."""

    thread_name = "fake-server"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._stop: asyncio.Event | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._stop = asyncio.Event()
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        # A deep backlog: a burst of hundreds of connections (the lookup benchmark) is queued,
        # not refused and retried a second later.
        site = web.TCPSite(runner, self.host, self._port, backlog=1024)
        await site.start()
        self._port = int(runner.addresses[0][1])  # the port the OS picked when given 0
        self._runner = runner

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @classmethod
    @contextmanager
    def running_in_thread(cls, **kwargs: Any) -> Iterator[Self]:
        """Run the fake on its own event loop in a daemon thread (for subprocess tests)."""
        fake = cls(**kwargs)
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(fake.start())
            except BaseException as exc:  # handed to the caller below
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(fake.stop())
            loop.close()

        thread = threading.Thread(target=run, name=cls.thread_name, daemon=True)
        thread.start()
        ready.wait(timeout=30)
        if errors:
            raise errors[0]
        try:
            yield fake
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"
