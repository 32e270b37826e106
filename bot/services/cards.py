"""Paper -> Card: the TL;DR from the first summarizer tier that has one, cached; a topic.

Tiers, in order (DESIGN.md section 4): an LLM when configured (with a daily budget of calls),
Hugging Face's ``ai_summary``, Semantic Scholar's ``tldr``, then the built-in extractive
summarizer, which always answers. Results of the outside tiers are cached per paper, version
and tier in the database.

The extractive summary and the topic cost about a millisecond of CPU a paper: little, but a
crowd of first lookups pays it all at once. So they are prepared when a paper is stored
(``prepare``, called by the poll) and kept in ``card_parts`` with a digest of what they were
made from: the paper's text, categories and keywords, and the recipe (the summarizer's code
and the taxonomy, given by the composition root). A card reads them back (the reads of one
moment together) and makes them again only when the digest differs: an edited taxonomy or a
better summarizer shows at once on old papers too, and nothing stale is ever shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.cards import build_card
from bot.core.models import Card, Paper, Summary, Topic
from bot.core.summarize import summarize
from bot.core.topics import Taxonomy, classify
from bot.services.batching import Coalescer
from bot.services.ports import CardParts, Clock, Store, Summarizer

__all__ = [
    "CardService",
    "ExtractiveTier",
    "HuggingFaceTier",
    "SemanticScholarTier",
    "TierSpec",
]

log = logging.getLogger(__name__)
_DAY = timedelta(days=1)
# A built card is reused this long (a summarizer tier that failed is tried again after it).
CARD_TTL = timedelta(minutes=15)
CARD_CACHE_SIZE = 4096
_PREPARE_SLICE = 16  # papers prepared between two turns of the event loop


class ExtractiveTier:
    """The built-in, offline summarizer (bot.core.summarize)."""

    tier = "extractive"

    async def summarize(self, paper: Paper) -> Summary:
        return summarize(paper.title, paper.abstract)


class HuggingFaceTier:
    """Hugging Face's own ``ai_summary``, when the paper is on Daily Papers."""

    tier = "hf"

    async def summarize(self, paper: Paper) -> Summary | None:
        text = paper.hf.ai_summary if paper.hf else None
        return Summary(text.strip(), (), self.tier) if text and text.strip() else None


class SemanticScholarTier:
    """Semantic Scholar's ``tldr``, when enrichment found one."""

    tier = "s2"

    async def summarize(self, paper: Paper) -> Summary | None:
        text = paper.s2.tldr if paper.s2 else None
        return Summary(text.strip(), (), self.tier) if text and text.strip() else None


@dataclass(frozen=True, slots=True)
class TierSpec:
    summarizer: Summarizer
    daily_budget: int | None = None  # calls per rolling 24 hours; None = unlimited
    cached: bool = True


class CardService:
    def __init__(
        self,
        store: Store,
        tiers: Sequence[TierSpec],
        taxonomy: Taxonomy,
        clock: Clock,
        *,
        recipe: str | None = None,
    ) -> None:
        """``recipe``: a fingerprint of the summarizer's code and the taxonomy; with it, the
        parts are prepared when papers are stored and read back (see the module docstring)."""
        self._store = store
        self._tiers = list(tiers)
        self._taxonomy = taxonomy
        self._clock = clock
        self._extractive = ExtractiveTier()
        # Calls that produced nothing still cost budget; successes are counted in the cache.
        self._failed_calls: dict[str, deque[datetime]] = {}
        # Recently built cards, by the exact paper record (a new version or new signals is a
        # new key): a lookup of a paper just posted or just looked up costs no summarizing.
        self._recent: OrderedDict[Paper, tuple[datetime, Card]] = OrderedDict()
        # Prepared parts (None: not kept, as in tests that build cards without a recipe).
        self._recipe = recipe
        self._topics = {rule.key: rule.topic for rule in taxonomy.rules}
        self._parts: Coalescer[str, CardParts] = Coalescer(store.get_card_parts)

    def digest(self, paper: Paper) -> str:
        """What a paper's prepared parts are made from, in 32 hex digits."""
        keywords = paper.hf.ai_keywords if paper.hf else ()
        made_of = "\0".join(
            (self._recipe or "", paper.title, paper.abstract, *paper.categories, "", *keywords)
        )
        return hashlib.sha256(made_of.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    async def prepare(self, papers: Sequence[Paper]) -> int:
        """Make and keep the parts of papers just stored (those already kept are skipped);
        how many were made. A few papers at a time, so the event loop stays responsive."""
        if self._recipe is None or not papers:
            return 0
        kept = await self._store.get_card_parts([p.arxiv_id for p in papers])
        made: list[CardParts] = []
        for index, paper in enumerate(papers):
            digest = self.digest(paper)
            old = kept.get(paper.arxiv_id)
            if old is not None and old.digest == digest:
                continue
            topic = self._classify(paper)
            summary = await self._extractive.summarize(paper)
            made.append(CardParts(paper.arxiv_id, digest, summary, topic.key))
            if index % _PREPARE_SLICE == _PREPARE_SLICE - 1:
                await asyncio.sleep(0)
        await self._store.put_card_parts(made, now=self._clock.now())
        return len(made)

    def _classify(self, paper: Paper) -> Topic:
        keywords = paper.hf.ai_keywords if paper.hf else ()
        return classify(
            self._taxonomy, paper.title, paper.abstract, paper.categories, keywords=keywords
        )

    async def _prepared(
        self, paper: Paper, parts: CardParts | None = None
    ) -> tuple[Summary, Topic]:
        """The extractive summary and the topic: prepared ones when they still match."""
        if parts is None and self._recipe is not None:
            parts = await self._parts.get(paper.arxiv_id)
        if parts is not None and parts.digest == self.digest(paper):
            topic = self._topics.get(parts.topic)
            if topic is None and parts.topic == self._taxonomy.fallback.key:
                topic = self._taxonomy.fallback
            if topic is not None:
                return parts.summary, topic
        return await self._extractive.summarize(paper), self._classify(paper)

    async def card_for(self, paper: Paper, parts: CardParts | None = None) -> Card:
        """The paper's card. ``parts``: its prepared parts when the caller read them with the
        paper (``StoredPaper.parts``); otherwise they are read here."""
        now = self._clock.now()
        hit = self._recent.get(paper)
        if hit is not None and now - hit[0] < CARD_TTL:
            self._recent.move_to_end(paper)
            return hit[1]
        fallback, topic = await self._prepared(paper, parts)
        summary, settled = await self._summary(paper, fallback)
        card = build_card(paper, summary, topic)
        if settled:  # a tier that failed this time is tried again next time
            self._recent[paper] = (now, card)
            self._recent.move_to_end(paper)
            while len(self._recent) > CARD_CACHE_SIZE:
                self._recent.popitem(last=False)
        return card

    async def summary_for(self, paper: Paper) -> Summary:
        fallback, _ = await self._prepared(paper)
        return (await self._summary(paper, fallback))[0]

    async def _summary(self, paper: Paper, fallback: Summary) -> tuple[Summary, bool]:
        """The summary, and whether it is settled: no outside tier before it came up empty
        (a failure, or a spent budget) for this paper this time. ``fallback``: the extractive
        summary, whose key points a tier that gives only a TL;DR borrows."""
        settled = True
        for spec in self._tiers:
            found = await self._from_tier(spec, paper)
            if found is not None:
                # A tier that gives only a TL;DR borrows the extractive key points.
                points = found.key_points or tuple(
                    p for p in fallback.key_points if p != found.tldr
                )
                return Summary(found.tldr, points, found.tier), settled
            if spec.cached:  # an outside tier (the LLM): it may answer another time
                settled = False
        return fallback, settled

    async def _from_tier(self, spec: TierSpec, paper: Paper) -> Summary | None:
        name = spec.summarizer.tier
        if spec.cached:
            cached = await self._store.get_summary(paper.arxiv_id, paper.version, name)
            if cached is not None:
                return cached
        if spec.daily_budget is not None and not await self._within_budget(name, spec.daily_budget):
            log.info("summarizer %s: daily budget of %d calls used up", name, spec.daily_budget)
            return None
        try:
            summary = await spec.summarizer.summarize(paper)
        except Exception as exc:  # a tier's failure falls through to the next one
            log.warning("summarizer %s failed on %s: %s", name, paper.arxiv_id, exc)
            self._failed_calls.setdefault(name, deque()).append(self._clock.now())
            return None
        if summary is None:
            self._failed_calls.setdefault(name, deque()).append(self._clock.now())
        elif spec.cached:
            await self._store.put_summary(
                paper.arxiv_id, paper.version, summary, now=self._clock.now()
            )
        return summary

    async def _within_budget(self, name: str, budget: int) -> bool:
        """Calls in the last 24 hours: the cached answers (kept across restarts) + failures."""
        since = self._clock.now() - _DAY
        failures = self._failed_calls.setdefault(name, deque())
        while failures and failures[0] <= since:
            failures.popleft()
        used = await self._store.count_summaries_since(name, since) + len(failures)
        return used < budget
