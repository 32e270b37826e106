"""Delivery against a misbehaving platform: the real services, store and discord.py publisher
against the fake Discord on 127.0.0.1 answering 429 with retry_after, 500s, and
"Unknown Channel"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from bot.adapters.db.store import SqlStore
from bot.adapters.discord.publisher import DiscordPublisher
from bot.core.models import Author, DestinationRef, Paper, Platform
from bot.services.deliver import DeliveryService, backoff_seconds
from bot.services.subscriptions import SubscriptionService, load_planner
from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord, Fault
from tests.services.fakes import card_service

GOOD = DestinationRef(Platform.DISCORD, "", "111111111111111111")
GONE = DestinationRef(Platform.DISCORD, "", "222222222222222222")
NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)


def paper(n: int) -> Paper:
    return Paper(
        arxiv_id=f"2611.{n:05d}",
        version=1,
        title=f"Sparse attention, part {n}",
        abstract="We propose a sparse attention. It is 3x faster.",
        authors=(Author("Ann Lee"),),
        categories=("cs.CL",),
        sources=frozenset({"arxiv"}),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def publisher(fake: FakeDiscord) -> AsyncIterator[DiscordPublisher]:
    pub = DiscordPublisher(
        SecretStr(fake.token), api_url=fake.api_url, timeout=2.0, max_retry_wait=0.5
    )
    async with pub:
        yield pub


async def _queue(store: SqlStore, clock: FakeClock, *refs: DestinationRef, n: int = 2) -> None:
    subs = SubscriptionService(store, clock)
    for ref in refs:
        await subs.add(ref, "cat:cs.CL")
    plan = await load_planner(store, clock)
    await store.upsert_papers([paper(i) for i in range(1, n + 1)], now=clock.now(), plan=plan)


def _service(store: SqlStore, clock: FakeClock, publisher: DiscordPublisher) -> DeliveryService:
    return DeliveryService(
        store, card_service(store, clock), {Platform.DISCORD: publisher}, clock, lease_seconds=30
    )


async def test_a_long_retry_after_is_honoured(
    store: SqlStore, clock: FakeClock, fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    await _queue(store, clock, GOOD, n=1)
    fake.fail(Fault.RATE_LIMITED, retry_after=30.0)
    service = _service(store, clock, publisher)
    report = await service.drain()
    assert report.retried == 1
    assert fake.messages(GOOD.channel) == []
    [row] = await store.get_deliveries()
    assert (row.due_at - clock.now()).total_seconds() == pytest.approx(30.0, abs=1.0)
    clock.advance(seconds=29)
    assert (await service.drain()).handled == 0  # not before the platform said
    clock.advance(seconds=2)
    assert (await service.drain()).sent == 1
    assert len(fake.messages(GOOD.channel)) == 1


async def test_server_errors_back_off_and_then_deliver_once(
    store: SqlStore, clock: FakeClock, fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    await _queue(store, clock, GOOD, n=1)
    fake.fail(Fault.SERVER_ERROR, times=2)
    service = _service(store, clock, publisher)
    for attempt in (1, 2):
        report = await service.drain()
        assert report.retried == 1
        clock.advance(seconds=backoff_seconds(attempt))
    # A 500 may have been posted anyway: the row is in doubt and checked before a re-post.
    assert (await service.drain()).sent == 1
    assert len(fake.messages(GOOD.channel)) == 1


async def test_a_missing_channel_pauses_its_destination_and_says_why(
    store: SqlStore, clock: FakeClock, fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    await _queue(store, clock, GOOD, GONE, n=2)
    fake.fail(Fault.UNKNOWN_CHANNEL, channel=GONE.channel, times=None)
    report = await _service(store, clock, publisher).drain()
    assert report.sent == 2
    assert len(fake.messages(GOOD.channel)) == 2
    gone = await store.get_destination(GONE)
    assert gone is not None
    assert gone.paused_reason == "Discord says the channel no longer exists (Unknown Channel)"
    assert report.paused == [f"{GONE}: {gone.paused_reason}"]
    # Nothing is lost: its cards wait for the channel to be fixed, and are not retried meanwhile.
    assert (await store.queue_stats()).pending == 2
    posts_to_gone = fake.post_count(GONE.channel)
    clock.advance(hours=2)
    await _service(store, clock, publisher).drain()
    assert fake.post_count(GONE.channel) == posts_to_gone
