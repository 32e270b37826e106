"""Which process leads: polls the sources and runs the roundup jobs (DESIGN.md section 10).

On PostgreSQL the leader holds a session advisory lock on a connection of its own, taken
from the pool and kept checked out for as long as it leads (never shared with a query, and
invalidated rather than returned when it is let go, so no pooled session keeps the lock):
if the process dies, or its connection does, PostgreSQL releases the lock and
another process takes it at its next try (every ``retry_seconds``, so within a minute). Every
process delivers whether it leads or not. On SQLite (one machine, one process) the process
always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["LEADER_LOCK", "Leadership"]

log = logging.getLogger(__name__)

# The advisory lock's key: any constant the deployment's other locks do not use ("pwlead").
LEADER_LOCK = 0x7077_6C65_6164


class Leadership:
    """``is_leader`` tells whether this process leads now; ``start``/``stop`` run the tries."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        retry_seconds: float = 15.0,
        on_lead: Callable[[], None] | None = None,
    ) -> None:
        """``on_lead``: called when this process becomes the leader (not at start)."""
        self._engine = engine
        self._on_lead = on_lead
        self._retry = retry_seconds
        self._always = engine.dialect.name != "postgresql"
        self._leading = self._always
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def wait_changed(self) -> None:
        """Until leadership is gained or lost (for tests and the log)."""
        await self._changed.wait()
        self._changed.clear()

    async def start(self) -> None:
        if self._always or self._task is not None:
            return
        await self._try()
        self._task = asyncio.create_task(self._keep(), name="leadership")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._release()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._retry)
            await self._try()

    async def _try(self) -> None:
        """Check the lock we hold is still ours, or try to take it."""
        try:
            if self._conn is not None:
                await self._conn.execute(text("SELECT 1"))  # the lock lives as long as this
                return
            conn = await self._engine.connect()
            got = (
                await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK})
            ).scalar_one()
            await conn.commit()  # the session lock outlives the transaction
            if got:
                self._conn = conn
                self._set(True)
            else:
                await conn.close()
        except Exception as exc:  # the database is down: we no longer know, so we do not lead
            log.warning("leadership: %s: %s", type(exc).__name__, exc)
            await self._release()

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                # Invalidate, not just close: a pooled connection would keep its session, and
                # the lock with it. Ending the session releases the advisory lock.
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()
        self._set(self._always)

    def _set(self, leading: bool) -> None:
        if leading != self._leading:
            self._leading = leading
            log.warning(
                "this process %s the leader: %s",
                "is now" if leading else "is no longer",
                "it polls the sources and runs the roundups"
                if leading
                else "another process polls; this one delivers",
            )
            self._changed.set()
            if leading and self._on_lead is not None:
                self._on_lead()
