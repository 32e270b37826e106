"""Fakes for our own ports (never for a library): a publisher, a listing source, arXiv; and
the real card and chat services built on them."""

from __future__ import annotations

import asyncio
import tomllib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from bot.core.models import Card, DestinationRef, Paper, Platform, PollState, Roundup
from bot.core.topics import Taxonomy, parse_taxonomy
from bot.services.cards import CardService
from bot.services.chat import ChatService
from bot.services.lookup import LookupService
from bot.services.ports import (
    CardParts,
    FetchResult,
    SourceError,
    Store,
    StoredPaper,
    TransientPublishError,
)
from bot.services.status import StatusService
from bot.services.subscriptions import SubscriptionService
from tests.fakes.clock import FakeClock
from tests.paths import REPO

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def default_taxonomy() -> Taxonomy:
    with (REPO / "config" / "topics.toml").open("rb") as fh:
        return parse_taxonomy(tomllib.load(fh))


def card_service(store: Store, clock: FakeClock) -> CardService:
    return CardService(store, [], default_taxonomy(), clock)


def chat_service(
    store: Store,
    clock: FakeClock,
    arxiv: FakeArxiv,
    platform: Platform = Platform.DISCORD,
    **options: Any,
) -> ChatService:
    """The real ChatService on ``store``, with ``arxiv`` for lookups and title search;
    ``options``: ChatService's own (roundups, slack_manager_group)."""
    return ChatService(
        store,
        clock,
        lookup=LookupService(store, arxiv, None, clock),
        cards=card_service(store, clock),
        subscriptions=SubscriptionService(store, clock),
        search=arxiv,
        status=StatusService(
            store,
            clock,
            sources={"arxiv": 60},
            platforms={platform: True},
            database="x",
        ),
        **options,
    )


@dataclass
class Post:
    ref: DestinationRef
    arxiv_id: str
    version: int
    nonce: str
    message_id: str


@dataclass
class FakePublisher:
    """ports.Publisher that records posts; ``faults`` are raised, in order, by ``publish``
    (to whichever channel posts next: with one channel only); ``faults_for[ref]`` by the
    posts to that channel (channels are served at the same time, in no fixed order)."""

    posts: list[Post] = field(default_factory=list)
    faults: deque[Exception] = field(default_factory=deque)
    faults_for: dict[DestinationRef, deque[Exception]] = field(default_factory=dict)
    lookups: int = 0

    async def publish(self, ref: DestinationRef, card: Card, *, nonce: str) -> str:
        mine = self.faults_for.get(ref)
        if mine:
            raise mine.popleft()
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


@dataclass
class FakeRoundupPublisher:
    """ports.RoundupPublisher that records parts; ``sections`` per roundup is its topic count.

    ``lose_answer_of``: the part numbers whose post is stored but whose answer is lost (the
    publisher raises a maybe-posted timeout), as after a crash or a dropped connection."""

    posts: list[tuple[int, int, str | None]] = field(
        default_factory=list
    )  # (roundup, part, thread)
    reactions_by_id: dict[str, int] = field(default_factory=dict)
    lose_answer_of: set[int] = field(default_factory=set)

    def roundup_parts(self, roundup: Roundup) -> int:
        return 1 + len(roundup.sections)

    async def post_roundup_part(
        self,
        ref: DestinationRef,
        roundup: Roundup,
        part: int,
        *,
        header: str | None,
        thread: str | None,
        nonce: str,
    ) -> tuple[str, str | None]:
        used = None if part == 0 else (thread or header)
        self.posts.append((roundup.destination_id, part, used))
        if part in self.lose_answer_of:
            self.lose_answer_of.discard(part)
            raise TransientPublishError("the answer was lost", maybe_posted=True)
        return nonce, used

    async def find_roundup_part(
        self,
        ref: DestinationRef,
        roundup: Roundup,
        part: int,
        *,
        header: str | None,
        thread: str | None,
        nonce: str,
    ) -> str | None:
        posted = any(r == roundup.destination_id and p == part for r, p, _ in self.posts)
        return nonce if posted else None

    async def reactions(self, ref: DestinationRef, message_ids: Sequence[str]) -> dict[str, int]:
        return {m: self.reactions_by_id[m] for m in message_ids if m in self.reactions_by_id}


class CountingStore:
    """A store (the real one) that counts its paper reads (which a test may fail or hold) and
    its card parts read and written."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.paper_reads: list[list[str]] = []
        self.fail: Exception | None = None
        self.hold: asyncio.Event | None = None
        self.reading = asyncio.Event()
        self.parts_reads = 0
        self.parts_written: list[CardParts] = []

    async def get_papers(self, arxiv_ids: Sequence[str]) -> dict[str, StoredPaper]:
        self.paper_reads.append(list(arxiv_ids))
        self.reading.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail is not None:
            raise self.fail
        return await self._store.get_papers(arxiv_ids)

    async def get_card_parts(self, arxiv_ids: Sequence[str]) -> dict[str, CardParts]:
        self.parts_reads += 1
        return await self._store.get_card_parts(arxiv_ids)

    async def put_card_parts(self, parts: Sequence[CardParts], *, now: datetime) -> None:
        self.parts_written.extend(parts)
        await self._store.put_card_parts(parts, now=now)

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)
