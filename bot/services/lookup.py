"""Looking one paper up: the store first, then arXiv (and Hugging Face for its signals)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta

from bot.services.batching import Coalescer
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
        # Lookups of the same moment read the store together (a burst costs a few queries).
        self._reads: Coalescer[str, StoredPaper] = Coalescer(store.get_papers, batch=READ_BATCH)

    async def stored(self, arxiv_id: str) -> StoredPaper | None:
        """The stored paper (recently read ones from memory), or None: never asks arXiv."""
        now = self._clock.now()
        hit = self._recent.get(arxiv_id)
        if hit is not None and now - hit[0] < RECENT_TTL:
            return hit[1]
        stored = await self._reads.get(arxiv_id)
        if stored is not None:
            self._remember(stored, now)
        return stored

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
