"""Fakes for our own ports (never for a library): a publisher, a listing source, a card service."""

from __future__ import annotations

import tomllib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bot.core.models import Card, DestinationRef, Paper, PollState
from bot.core.topics import Taxonomy, parse_taxonomy
from bot.services.cards import CardService
from bot.services.ports import FetchResult, SourceError, Store
from tests.fakes.clock import FakeClock
from tests.paths import REPO

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def default_taxonomy() -> Taxonomy:
    with (REPO / "config" / "topics.toml").open("rb") as fh:
        return parse_taxonomy(tomllib.load(fh))


def card_service(store: Store, clock: FakeClock) -> CardService:
    return CardService(store, [], default_taxonomy(), clock)


@dataclass
class Post:
    ref: DestinationRef
    arxiv_id: str
    version: int
    nonce: str
    message_id: str


@dataclass
class FakePublisher:
    """ports.Publisher that records posts; ``faults`` are raised, in order, by ``publish``."""

    posts: list[Post] = field(default_factory=list)
    faults: deque[Exception] = field(default_factory=deque)
    lookups: int = 0

    async def publish(self, ref: DestinationRef, card: Card, *, nonce: str) -> str:
        if self.faults:
            raise self.faults.popleft()
        message_id = f"m{len(self.posts) + 1}"
        self.posts.append(Post(ref, card.arxiv_id, card.version, nonce, message_id))
        return message_id

    async def find_existing(self, ref: DestinationRef, card: Card, *, nonce: str) -> str | None:
        self.lookups += 1
        return next((p.message_id for p in self.posts if p.ref == ref and p.nonce == nonce), None)

    def posted_ids(self, ref: DestinationRef | None = None) -> list[str]:
        return [p.arxiv_id for p in self.posts if ref is None or p.ref == ref]


@dataclass
class FakeListing:
    """ports.ListingSource serving what the test puts in ``batches`` (one per poll)."""

    name: str = "arxiv"
    batches: deque[FetchResult | SourceError] = field(default_factory=deque)

    async def poll(self, state: PollState, *, today: date) -> FetchResult:
        item = self.batches.popleft() if self.batches else FetchResult()
        if isinstance(item, SourceError):
            raise item
        return item

    def serve(self, *papers: Paper) -> None:
        self.batches.append(FetchResult(papers=papers))


@dataclass
class FakeArxiv:
    """ports.LookupSource over the papers the test gives it; ``calls`` counts requests."""

    papers: dict[str, Paper] = field(default_factory=dict)
    calls: int = 0
    down: SourceError | None = None

    def add(self, *papers: Paper) -> None:
        self.papers.update((p.arxiv_id, p) for p in papers)

    async def lookup(self, arxiv_ids: Sequence[str]) -> dict[str, Paper]:
        self.calls += 1
        if self.down is not None:
            raise self.down
        return {i: self.papers[i] for i in arxiv_ids if i in self.papers}

    async def search(self, query: str, *, limit: int = 10, newest: bool = False) -> list[Paper]:
        self.calls += 1
        if self.down is not None:
            raise self.down
        words = query.lower().split()
        found = [p for p in self.papers.values() if all(w in p.title.lower() for w in words)]
        if newest:
            found.sort(key=lambda p: p.published or p.updated or _EPOCH, reverse=True)
        return found[:limit]
