"""Roundups posted through the real discord.py and slack_sdk against the fake platforms: the
header in the channel, the sections in its thread; the reactions the channel gave its cards;
and a crash in the middle of the thread, which neither loses nor doubles a section."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.adapters.db.engine import create_engine, upgrade
from bot.adapters.db.store import SqlStore
from bot.adapters.discord.publisher import DiscordPublisher
from bot.adapters.slack.publisher import SlackPublisher
from bot.core.models import DestinationRef, Platform, Roundup
from bot.services.roundups import RoundupService
from tests.adapters.roundup_fixtures import week_roundup
from tests.fakes.clock import FakeClock
from tests.fakes.discord import (
    BOT_PERMISSIONS,
    CREATE_PUBLIC_THREADS,
    SEND_MESSAGES_IN_THREADS,
    FakeDiscord,
)
from tests.fakes.discord import Fault as DiscordFault
from tests.fakes.slack import DEFAULT_CHANNEL, DEFAULT_TEAM, FakeSlack
from tests.fakes.slack import Fault as SlackFault
from tests.services.fakes import card_service

GUILD = "1800000000000000001"
CHANNEL = "1800000000000000002"
DISCORD = DestinationRef.parse(f"discord:{CHANNEL}")
THREADS = CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS
SLACK = DestinationRef(Platform.SLACK, DEFAULT_TEAM, DEFAULT_CHANNEL)


async def _queue(store: SqlStore, ref: DestinationRef, clock: FakeClock) -> Roundup:
    dest = await store.ensure_destination(ref, now=clock.now())
    roundup = week_roundup()
    roundup = Roundup(dest.id, roundup.period, roundup.sections, roundup.total_candidates)
    await store.queue_roundup(roundup, now=clock.now())
    return roundup


@pytest.fixture
async def store(tmp_path: Path) -> SqlStore:  # type: ignore[misc]
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}")
    await upgrade(engine)
    yield SqlStore(engine)
    await engine.dispose()


async def test_discord_header_then_a_thread_of_sections_once_despite_a_lost_answer(
    store: SqlStore,
) -> None:
    clock = FakeClock()
    async with FakeDiscord() as fake:
        fake.add_guild(GUILD, channels=[CHANNEL])
        publisher = DiscordPublisher(SecretStr(fake.token), api_url=fake.api_url)
        service = RoundupService(
            store, card_service(store, clock), {Platform.DISCORD: publisher}, clock
        )
        roundup = await _queue(store, DISCORD, clock)
        parts = publisher.roundup_parts(roundup)
        assert parts >= 4
        # The third message (the second section) is posted, then its answer is lost.
        fake.fail(DiscordFault.DROP_AFTER_POST, channel=CHANNEL, after=2)
        first = await service.send_due()
        assert first.retried == 1
        clock.advance(minutes=5)
        second = await service.send_due()
        await publisher.close()
    assert second.posted == 1
    [header] = [m for m in fake.messages(CHANNEL) if m["author"]["bot"]]
    [(thread, name)] = fake.threads(CHANNEL).items()
    assert thread == header["id"]
    assert name.startswith("Roundup 2026-W24")
    sections = fake.messages(thread)
    assert len(sections) == parts - 1  # each section exactly once, in order
    contents = [m["content"] for m in sections]
    assert contents == sorted(contents, key=contents.index)
    assert len(set(contents)) == len(contents)


async def test_discord_without_thread_permissions_posts_the_sections_in_the_channel(
    store: SqlStore,
) -> None:
    # Invited with the card permissions only (no Create Public Threads): the roundup still
    # arrives whole, and neither it nor the channel's cards stop.
    clock = FakeClock()
    async with FakeDiscord() as fake:
        fake.add_guild(GUILD, channels=[CHANNEL], bot_permissions=BOT_PERMISSIONS & ~THREADS)
        publisher = DiscordPublisher(SecretStr(fake.token), api_url=fake.api_url)
        service = RoundupService(
            store, card_service(store, clock), {Platform.DISCORD: publisher}, clock
        )
        roundup = await _queue(store, DISCORD, clock)
        parts = publisher.roundup_parts(roundup)
        report = await service.send_due()
        await publisher.close()
    assert report.posted == 1
    assert fake.threads(CHANNEL) == {}
    posted = [m for m in fake.messages(CHANNEL) if m["author"]["bot"]]
    assert len(posted) == parts  # the header, then each section, in the channel
    dest = await store.get_destination(DISCORD)
    assert dest is not None
    assert dest.paused_reason is None


async def test_slack_header_then_replies_once_despite_a_lost_answer(store: SqlStore) -> None:
    clock = FakeClock()
    async with FakeSlack() as fake:
        publisher = SlackPublisher(
            SecretStr(fake.token), api_url=fake.api_url, posts_per_second=1000
        )
        service = RoundupService(
            store, card_service(store, clock), {Platform.SLACK: publisher}, clock
        )
        roundup = await _queue(store, SLACK, clock)
        parts = publisher.roundup_parts(roundup)
        fake.fail(SlackFault.DROP_AFTER_POST, channel=DEFAULT_CHANNEL, after=2)
        assert (await service.send_due()).retried == 1
        clock.advance(minutes=5)
        assert (await service.send_due()).posted == 1
        await publisher.close()
    [header] = fake.messages(DEFAULT_CHANNEL)
    replies = fake.replies(DEFAULT_CHANNEL, header["ts"])
    assert len(replies) == parts - 1
    assert [r["metadata"]["event_payload"]["part"] for r in replies] == list(range(1, parts))


async def test_reactions_are_read_from_the_platforms() -> None:
    async with FakeDiscord() as discord_fake, FakeSlack() as slack_fake:
        discord_fake.add_guild(GUILD, channels=[CHANNEL])
        discord = DiscordPublisher(SecretStr(discord_fake.token), api_url=discord_fake.api_url)
        slack = SlackPublisher(SecretStr(slack_fake.token), api_url=slack_fake.api_url)
        message = discord_fake.add_message(CHANNEL, author_id="1", content="a card")
        discord_fake.react(CHANNEL, message, "👍", count=3)
        ts = slack_fake.add_message(DEFAULT_CHANNEL, text="a card")
        slack_fake.react(DEFAULT_CHANNEL, ts, "thumbsup", count=2)
        assert await discord.reactions(DISCORD, [message, "1800000000000000999"]) == {message: 3}
        assert await slack.reactions(SLACK, [ts]) == {ts: 2}
        await discord.close()
        await slack.close()
