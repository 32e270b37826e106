"""Fakes for our own ports (never for a library): a publisher, a listing source, a card service."""

from __future__ import annotations

import tomllib
from collections import deque
from dataclasses import dataclass, field
from datetime import date

from bot.core.models import Card, DestinationRef, Paper, PollState
from bot.core.topics import Taxonomy, parse_taxonomy
from bot.services.cards import CardService
from bot.services.ports import FetchResult, SourceError, Store
from tests.fakes.clock import FakeClock
from tests.paths import REPO


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
