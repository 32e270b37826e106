"""Subscriptions, matching into the outbox, and delivery: exactly once, no flood, no silence.

These run the real services and the real store (SQLite and PostgreSQL) with fakes for our own
ports (a publisher that records posts, a listing source that serves what the test says).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from datetime import UTC, datetime

import pytest

from bot.adapters.db.store import SqlStore
from bot.core.models import (
    Author,
    Card,
    DeliveryMode,
    DestinationRef,
    DestinationSettings,
    HFSignals,
    Paper,
    Platform,
)
from bot.core.query import QueryError
from bot.services.deliver import DeliveryService, backoff_seconds
from bot.services.ingest import IngestService
from bot.services.ports import (
    CardRejected,
    PermanentPublishError,
    SourceUnavailable,
    TransientPublishError,
)
from bot.services.roundups import RoundupService
from bot.services.subscriptions import IndexCache, SubscriptionService, load_planner
from tests.fakes.clock import FakeClock
from tests.services.fakes import FakeListing, FakePublisher, FakeRoundupPublisher, card_service

CONSOLE = DestinationRef.parse("console")
DISCORD = DestinationRef.parse("discord:123456789012345678")


def paper(
    arxiv_id: str, title: str, *, version: int = 1, cats: tuple[str, ...] = ("cs.CL",), **kw: object
) -> Paper:
    fields: dict[str, object] = {
        "abstract": f"We study {title.lower()}. We release code.",
        "authors": (Author("Ann Lee"),),
        "categories": cats,
        "published": datetime(2026, 11, 18, tzinfo=UTC),
        "sources": frozenset({"arxiv"}),
    }
    fields.update(kw)
    return Paper(arxiv_id=arxiv_id, version=version, title=title, **fields)  # type: ignore[arg-type]


class World:
    def __init__(self, store: SqlStore, clock: FakeClock) -> None:
        self.store, self.clock = store, clock
        self.listing = FakeListing()
        self.publisher = FakePublisher()
        self.subs = SubscriptionService(store, clock)
        self.ingest = IngestService(
            store, {"arxiv": self.listing}, clock, plan_factory=lambda: load_planner(store, clock)
        )
        self.deliver = DeliveryService(
            store,
            card_service(store, clock),
            {Platform.CONSOLE: self.publisher, Platform.DISCORD: self.publisher},
            clock,
            lease_seconds=60,
        )

    async def cycle(self, *papers: Paper) -> None:
        self.listing.serve(*papers)
        report = await self.ingest.poll("arxiv")
        assert report.ok, report.error
        await self.deliver.drain()


@pytest.fixture
def world(store: SqlStore, clock: FakeClock) -> World:
    return World(store, clock)


async def test_matching_papers_are_delivered_once_and_a_repoll_posts_nothing(world: World) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL -survey")
    batch = (
        paper("2611.00001", "Sparse attention"),
        paper("2611.00002", "A survey of attention"),
        paper("2611.00003", "Vision things", cats=("cs.CV",)),
    )
    await world.cycle(*batch)
    assert world.publisher.posted_ids() == ["2611.00001"]
    await world.cycle(*batch)
    assert world.publisher.posted_ids() == ["2611.00001"]


async def test_a_new_subscription_does_not_flood_the_backlog(world: World) -> None:
    await world.cycle(paper("2611.00001", "Old news"))
    world.clock.advance(hours=1)
    await world.subs.add(CONSOLE, "cat:cs.CL")
    await world.cycle(paper("2611.00001", "Old news"), paper("2611.00002", "Fresh"))
    assert world.publisher.posted_ids() == ["2611.00002"]


async def test_a_backfill_delivers_the_asked_for_days(world: World) -> None:
    await world.cycle(paper("2611.00001", "Old news"))
    world.clock.advance(hours=5)
    result = await world.subs.add(CONSOLE, "cat:cs.CL", backfill_days=1)
    assert result.backfilled == 1
    await world.deliver.drain()
    assert world.publisher.posted_ids() == ["2611.00001"]


async def test_two_matching_subscriptions_post_a_paper_once(world: World) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    await world.subs.add(CONSOLE, "attention")
    await world.cycle(paper("2611.00001", "Sparse attention"))
    assert world.publisher.posted_ids() == ["2611.00001"]


async def test_a_revision_or_cross_list_is_not_posted_again_by_default(world: World) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    await world.cycle(paper("2611.00001", "Sparse attention"))
    await world.cycle(paper("2611.00001", "Sparse attention v2", version=2))
    await world.cycle(
        paper("2611.00001", "Sparse attention v2", version=2, cats=("cs.LG", "cs.CL"))
    )
    assert world.publisher.posted_ids() == ["2611.00001"]


async def test_a_channel_that_asked_for_revisions_gets_them(world: World) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    dest = await world.store.get_destination(CONSOLE)
    assert dest is not None
    await world.store.update_destination(
        dest.id, settings=dataclasses.replace(dest.settings, revisions=True)
    )
    await world.cycle(paper("2611.00001", "Sparse attention"))
    await world.cycle(paper("2611.00001", "Sparse attention", version=2))
    assert [(p.arxiv_id, p.version) for p in world.publisher.posts] == [
        ("2611.00001", 1),
        ("2611.00001", 2),
    ]


async def test_an_upvote_threshold_crossed_later_delivers_then(world: World) -> None:
    await world.subs.add(CONSOLE, "upvotes>=20")
    hf = frozenset({"hf"})
    await world.cycle(paper("2611.00001", "Popular", hf=HFSignals(upvotes=5), sources=hf))
    assert world.publisher.posted_ids() == []
    await world.cycle(paper("2611.00001", "Popular", hf=HFSignals(upvotes=25), sources=hf))
    assert world.publisher.posted_ids() == ["2611.00001"]


async def test_digest_mode_holds_cards_until_the_digest_hour(world: World) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    dest = await world.store.get_destination(CONSOLE)
    assert dest is not None
    settings = DestinationSettings(timezone="Europe/Paris", mode=DeliveryMode.DIGEST, digest_hour=9)
    await world.store.update_destination(dest.id, settings=settings)
    await world.cycle(paper("2611.00001", "Sparse attention"))  # 12:00 UTC = 13:00 Paris
    await world.cycle(paper("2611.00002", "Dense attention"))
    assert world.publisher.posted_ids() == []
    poster = FakeRoundupPublisher()
    roundups = RoundupService(
        world.store, card_service(world.store, world.clock), {Platform.CONSOLE: poster}, world.clock
    )
    assert await roundups.queue_digest(CONSOLE) is None  # nothing due before 09:00 Paris
    world.clock.advance(hours=20)  # 09:00 Paris the next day
    await world.deliver.drain()
    assert world.publisher.posted_ids() == []  # never one by one: in the digest
    queued = await roundups.queue_digest(CONSOLE)
    assert queued is not None
    assert queued.roundup.period.label == "2026-11-20"
    assert queued.roundup.paper_count == 2
    assert (await roundups.send_due()).posted == 1
    assert await roundups.queue_digest(CONSOLE) is None  # those cards are done
    rows = {d.arxiv_id: d.status.value for d in await world.store.get_deliveries()}
    assert rows == {"2611.00001": "skipped", "2611.00002": "skipped"}


async def test_transient_errors_back_off_as_the_platform_asks(world: World) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    world.publisher.faults.extend(
        [TransientPublishError("429", retry_after=42.0), TransientPublishError("500")]
    )
    await world.cycle(paper("2611.00001", "Sparse attention"))
    assert world.publisher.posted_ids() == []
    [row] = await world.store.get_deliveries()
    assert (row.due_at - world.clock.now()).total_seconds() == 42.0
    world.clock.advance(seconds=41)
    await world.deliver.drain()
    assert world.publisher.faults  # not retried before retry-after
    world.clock.advance(seconds=1)
    await world.deliver.drain()  # the 500
    assert not world.publisher.faults
    world.clock.advance(seconds=backoff_seconds(2))
    await world.deliver.drain()
    assert world.publisher.posted_ids() == ["2611.00001"]


async def test_a_card_that_must_wait_keeps_the_channels_order(world: World) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    world.publisher.faults.append(TransientPublishError("429", retry_after=30.0))
    await world.cycle(
        paper("2611.00001", "First paper"),
        paper("2611.00002", "Second paper"),
        paper("2611.00003", "Third paper"),
    )
    assert world.publisher.posted_ids() == []  # nothing overtakes the card that waits
    world.clock.advance(seconds=30)
    await world.deliver.drain()
    assert world.publisher.posted_ids() == ["2611.00001", "2611.00002", "2611.00003"]


async def test_channels_are_served_at_the_same_time(world: World) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    await world.subs.add(DISCORD, "cat:cs.CL")
    world.listing.serve(paper("2611.00001", "One paper"))
    await world.ingest.poll("arxiv")
    gate = asyncio.Event()
    in_flight = 0
    most = 0
    real_publish = world.publisher.publish

    async def slow_publish(ref: DestinationRef, card: Card, *, nonce: str) -> str:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        if most == 2:
            gate.set()
        await asyncio.wait_for(gate.wait(), 5)  # each waits until both are posting at once
        in_flight -= 1
        return await real_publish(ref, card, nonce=nonce)

    world.publisher.publish = slow_publish  # type: ignore[method-assign]
    await world.deliver.drain()
    assert most == 2
    assert sorted(p.ref.platform.value for p in world.publisher.posts) == ["console", "discord"]


async def test_a_missing_channel_pauses_the_destination_and_says_why(world: World) -> None:
    await world.subs.add(DISCORD, "cat:cs.CL")
    await world.subs.add(CONSOLE, "cat:cs.CL")
    world.publisher.faults_for[DISCORD] = deque(
        [PermanentPublishError("Discord says the channel no longer exists")]
    )
    await world.cycle(paper("2611.00001", "A"), paper("2611.00002", "B"))
    dest = await world.store.get_destination(DISCORD)
    assert dest is not None
    assert dest.paused_reason == "Discord says the channel no longer exists"
    # The other destination is unaffected, the paused one keeps its queue for when it is fixed.
    assert sorted(world.publisher.posted_ids(CONSOLE)) == ["2611.00001", "2611.00002"]
    assert world.publisher.posted_ids(DISCORD) == []
    stats = await world.store.queue_stats()
    assert stats.pending == 2


async def test_a_refused_card_fails_alone_and_the_channel_carries_on(world: World) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    world.publisher.faults.append(CardRejected("Slack refused this card (invalid_blocks)"))
    await world.cycle(paper("2611.00001", "A"), paper("2611.00002", "B"))
    assert world.publisher.posted_ids() == ["2611.00002"]
    dest = await world.store.get_destination(CONSOLE)
    assert dest is not None
    assert dest.paused_reason is None
    assert (await world.store.queue_stats()).failed == 1


async def test_an_in_doubt_row_is_reconciled_not_reposted(world: World, store: SqlStore) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    world.listing.serve(paper("2611.00001", "A"))
    await world.ingest.poll("arxiv")
    # A worker claims the row, posts, and dies before confirming.
    [row] = await store.claim_deliveries(
        now=world.clock.now(), limit=1, lease_seconds=60, token="dead"
    )
    card = await card_service(store, world.clock).card_for(paper("2611.00001", "A"))
    await world.publisher.publish(CONSOLE, card, nonce=f"pw-{row.id}-v1")
    world.clock.advance(seconds=61)
    report = await world.deliver.drain()
    assert report.reconciled == 1
    assert world.publisher.posted_ids() == ["2611.00001"]
    [done] = await store.get_deliveries()
    assert done.message_id == "m1"


async def test_a_timeout_marks_the_row_in_doubt(world: World, store: SqlStore) -> None:
    await world.subs.add(CONSOLE, "cat:cs.CL")
    world.publisher.faults.append(TransientPublishError("timeout", maybe_posted=True))
    await world.cycle(paper("2611.00001", "A"))
    world.clock.advance(seconds=10)
    await world.deliver.drain()
    assert world.publisher.lookups == 1
    assert world.publisher.posted_ids() == ["2611.00001"]


async def test_a_failed_poll_keeps_state_and_reports(world: World, store: SqlStore) -> None:
    world.listing.batches.append(SourceUnavailable("arxiv", "503 Service Unavailable"))
    report = await world.ingest.poll("arxiv")
    assert report.error == "503 Service Unavailable"
    assert report.summary() == "arxiv: failed: 503 Service Unavailable"
    state = await store.get_poll_state("arxiv")
    assert state.consecutive_failures == 1
    assert state.last_error == "503 Service Unavailable"


@pytest.mark.parametrize(
    "bad",
    ['"unbalanced', "auth:lecun", "upvotes>=abc", "x" * 5000, "-survey -review", ""],
)
async def test_bad_queries_are_refused_and_change_nothing(world: World, bad: str) -> None:
    with pytest.raises(QueryError) as info:
        await world.subs.add(CONSOLE, bad)
    assert "position" in str(info.value)
    assert await world.store.list_destinations() == []
    assert await world.store.list_subscriptions() == []


async def test_the_same_query_typed_differently_is_one_subscription(world: World) -> None:
    first = await world.subs.add(CONSOLE, "cat:cs.CL  -survey")
    second = await world.subs.add(CONSOLE, "-survey CAT:cs.CL")
    assert first.created
    assert not second.created
    assert first.subscription.id == second.subscription.id
    removed = await world.subs.remove(CONSOLE, str(first.subscription.id))
    assert removed.query == first.subscription.query
    assert await world.subs.list(CONSOLE) == [(await world.store.get_destination(CONSOLE), [])]


async def test_the_index_is_kept_between_polls_and_rebuilt_when_subscriptions_change(
    world: World,
) -> None:
    cache = IndexCache()
    world.ingest = IngestService(
        world.store,
        {"arxiv": world.listing},
        world.clock,
        plan_factory=lambda: load_planner(world.store, world.clock, cache),
    )
    await world.subs.add(CONSOLE, "cat:cs.CL")
    await world.cycle(paper("2611.00001", "One"))
    await world.cycle(paper("2611.00002", "Two"))
    assert cache.builds == 1
    await world.subs.add(CONSOLE, "au:lee")
    await world.cycle(paper("2611.00003", "Three"))
    assert cache.builds == 2
    assert world.publisher.posted_ids() == ["2611.00001", "2611.00002", "2611.00003"]
