"""Reads of the same moment, made together: ``Coalescer(fetch).get(key)``.

Concurrent callers asking for different keys within one turn of the event loop (or while the
previous read is still out) share one ``fetch`` of up to ``batch`` keys, so a burst of lookups
costs a few queries instead of one each. A failure reaches every caller of its batch; a
caller that is cancelled leaves the others their answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["Coalescer"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    def __init__(
        self, fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]], *, batch: int = 256
    ) -> None:
        self._fetch = fetch
        self._batch = batch
        self._waiting: dict[K, asyncio.Future[V | None]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        """``fetch``'s answer for ``key`` (None when it has none)."""
        return await asyncio.shield(self._join(key))

    def _join(self, key: K) -> asyncio.Future[V | None]:
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = asyncio.get_running_loop().create_future()
            # A read whose every asker gave up must not leave an exception nobody retrieves.
            waiting.add_done_callback(_retrieve)
            self._waiting[key] = waiting
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read())
        return waiting

    async def _read(self) -> None:
        batch: dict[K, asyncio.Future[V | None]] = {}
        try:
            while self._waiting:
                await asyncio.sleep(0)  # the askers of this moment join the batch
                keys = list(self._waiting)[: self._batch]
                batch = {key: self._waiting.pop(key) for key in keys}
                try:
                    found = await self._fetch(keys)
                except Exception as exc:  # every asker of this batch gets the error
                    for waiting in batch.values():
                        if not waiting.done():
                            waiting.set_exception(exc)
                    continue
                for key, waiting in batch.items():
                    if not waiting.done():
                        waiting.set_result(found.get(key))
        finally:  # stopped (shutdown): nobody is left waiting for an answer that never comes
            for waiting in [*batch.values(), *self._waiting.values()]:
                if not waiting.done():
                    waiting.cancel()
            self._waiting.clear()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
