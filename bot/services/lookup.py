"""Looking one paper up: the store first, then arXiv (and Hugging Face for its signals)."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.services.ports import (
    Clock,
    HFSource,
    LookupSource,
    PaperNotFound,
    SourceError,
    Store,
    StoredPaper,
)

__all__ = ["LookupService"]

log = logging.getLogger(__name__)


class LookupService:
    def __init__(
        self, store: Store, arxiv: LookupSource, hf: HFSource | None, clock: Clock
    ) -> None:
        self._store = store
        self._arxiv = arxiv
        self._hf = hf
        self._clock = clock

    async def get(self, arxiv_id: str, *, refresh: bool = False) -> StoredPaper:
        """The stored paper, fetching and storing it first when it is not known yet.

        Raises PaperNotFound when arXiv does not know the id, SourceError when arXiv cannot
        be asked. Hugging Face is a bonus: its failure never fails the lookup.
        """
        if not refresh:
            stored = await self._store.get_paper(arxiv_id)
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
        return stored
