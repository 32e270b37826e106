"""Looking one paper up: the store first, then arXiv (and Hugging Face for its signals)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta

from bot.services.ports import (
    Clock,
    HFSource,
    LookupSource,
    PaperNotFound,
    SourceError,
    Store,
    StoredPaper,
)

__all__ = ["RECENT_SIZE", "RECENT_TTL", "LookupService"]

log = logging.getLogger(__name__)

# How long a looked-up paper is answered from memory (its HF signals may lag this much).
RECENT_TTL = timedelta(minutes=5)
RECENT_SIZE = 4096
# Lookups of the same moment are read from the store together, at most this many at a time.
READ_BATCH = 256


class LookupService:
    def __init__(
        self, store: Store, arxiv: LookupSource, hf: HFSource | None, clock: Clock
    ) -> None:
        self._store = store
        self._arxiv = arxiv
        self._hf = hf
        self._clock = clock
        # Papers recently looked up: the same paper asked for again within RECENT_TTL (a
        # channel discussing it) is answered from memory. Only lookups read this; deliveries
        # always read the store.
        self._recent: OrderedDict[str, tuple[datetime, StoredPaper]] = OrderedDict()
        # Store reads waiting for the reader, by id; the reader takes them in batches, so a
        # burst of lookups (a busy channel, a crowd) costs a few queries instead of one each.
        self._waiting: dict[str, asyncio.Future[StoredPaper | None]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def stored(self, arxiv_id: str) -> StoredPaper | None:
        """The stored paper (recently read ones from memory), or None: never asks arXiv."""
        now = self._clock.now()
        hit = self._recent.get(arxiv_id)
        if hit is not None and now - hit[0] < RECENT_TTL:
            return hit[1]
        stored = await asyncio.shield(self._read(arxiv_id))
        if stored is not None:
            self._remember(stored, now)
        return stored

    def _read(self, arxiv_id: str) -> asyncio.Future[StoredPaper | None]:
        waiting = self._waiting.get(arxiv_id)
        if waiting is None:
            waiting = asyncio.get_running_loop().create_future()
            # A reader whose every asker gave up (a cancelled command) must not leave an
            # exception nobody retrieves.
            waiting.add_done_callback(_retrieve)
            self._waiting[arxiv_id] = waiting
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_waiting())
        return waiting

    async def _read_waiting(self) -> None:
        batch: dict[str, asyncio.Future[StoredPaper | None]] = {}
        try:
            while self._waiting:
                await asyncio.sleep(0)  # the lookups of this moment join the batch
                ids = list(self._waiting)[:READ_BATCH]
                batch = {arxiv_id: self._waiting.pop(arxiv_id) for arxiv_id in ids}
                try:
                    found = await self._store.get_papers(ids)
                except Exception as exc:  # every asker of this batch gets the store's error
                    for waiting in batch.values():
                        if not waiting.done():
                            waiting.set_exception(exc)
                    continue
                for arxiv_id, waiting in batch.items():
                    if not waiting.done():
                        waiting.set_result(found.get(arxiv_id))
        finally:  # stopped (shutdown): nobody is left waiting for an answer that never comes
            for waiting in [*batch.values(), *self._waiting.values()]:
                if not waiting.done():
                    waiting.cancel()
            self._waiting.clear()

    def _remember(self, stored: StoredPaper, now: datetime) -> None:
        self._recent[stored.paper.arxiv_id] = (now, stored)
        self._recent.move_to_end(stored.paper.arxiv_id)
        while len(self._recent) > RECENT_SIZE:
            self._recent.popitem(last=False)

    async def get(self, arxiv_id: str, *, refresh: bool = False) -> StoredPaper:
        """The stored paper, fetching and storing it first when it is not known yet.

        Raises PaperNotFound when arXiv does not know the id, SourceError when arXiv cannot
        be asked. Hugging Face is a bonus: its failure never fails the lookup.
        """
        if not refresh:
            stored = await self.stored(arxiv_id)
            if stored is not None:
                return stored
        found = await self._arxiv.lookup([arxiv_id])
        paper = found.get(arxiv_id)
        if paper is None:
            raise PaperNotFound(arxiv_id)
        if self._hf is not None:
            try:
                signals = await self._hf.paper(arxiv_id)
            except SourceError as exc:
                log.warning("Hugging Face lookup of %s failed: %s", arxiv_id, exc)
                signals = None
            if signals is not None:
                paper = replace(paper, hf=signals, sources=paper.sources | {"hf"})
        await self._store.upsert_papers([paper], now=self._clock.now())
        stored = await self._store.get_paper(arxiv_id)
        assert stored is not None  # we just wrote it
        self._remember(stored, self._clock.now())
        return stored


def _retrieve(future: asyncio.Future[StoredPaper | None]) -> None:
    if not future.cancelled():
        future.exception()
