"""The web endpoints: /healthz for orchestrators and /metrics for Prometheus."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from bot.adapters.db.engine import DatabaseError
from bot.adapters.metrics import CONTENT_TYPE

__all__ = ["Health", "Metrics", "Route", "WebServer"]

log = logging.getLogger(__name__)

# Returns (HTTP status, JSON body) and the metric lines (name, value) to export.
Health = Callable[[], Awaitable[tuple[int, dict[str, object]]]]
Metrics = Callable[[], Awaitable[bytes]]  # the Prometheus text exposition
Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


class WebServer:
    """An aiohttp server; ``start`` binds, ``stop`` closes (whoever starts it stops it)."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Health,
        metrics: Metrics,
        routes: Sequence[Route] = (),
    ) -> None:
        """``routes``: more endpoints (method, path, handler), e.g. Slack's in HTTP mode."""
        self._host, self._port = host, port
        self._health, self._metrics = health, metrics
        self._routes = list(routes)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_view)
        for method, path, handler in self._routes:
            app.router.add_route(method, path, handler)
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        status, body = await self._health()
        return web.json_response(body, status=status)

    async def _metrics_view(self, request: web.Request) -> web.Response:
        try:
            body = await self._metrics()
        except DatabaseError as exc:
            # Prometheus records the failed scrape (up == 0); the reason is one line.
            return web.Response(
                status=503, text=f"# database unavailable: {exc}\n", content_type="text/plain"
            )
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def start(self) -> int:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        sockets = getattr(site._server, "sockets", None) or []
        port = int(sockets[0].getsockname()[1]) if sockets else self._port
        self.port = port
        paths = ", ".join(["/healthz", "/metrics", *(path for _, path, _ in self._routes)])
        log.info("web endpoints on http://%s:%d (%s)", self._host, port, paths)
        return port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
