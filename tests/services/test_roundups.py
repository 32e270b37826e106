"""Weekly roundups through the real store and services: a week of polls with upvotes, matches
and reactions makes a roundup ranked and grouped as RankWeights says; it is queued once per
channel and week, posted part by part, and a lost answer neither loses nor doubles a part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.db.store import SqlStore
from bot.core.models import (
    Author,
    DestinationRef,
    DestinationSettings,
    HFSignals,
    Paper,
    Platform,
    RoundupStatus,
)
from bot.core.roundup import week_period
from bot.services.deliver import DeliveryService
from bot.services.ingest import IngestService
from bot.services.roundups import RoundupService
from bot.services.subscriptions import SubscriptionService, load_planner
from tests.fakes.clock import FakeClock
from tests.services.fakes import FakeListing, FakePublisher, FakeRoundupPublisher, card_service

REF = DestinationRef.parse("discord:123456789012345678")
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 2026-W48


def paper(arxiv_id: str, title: str, abstract: str, *, upvotes: int | None = None) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=1,
        title=title,
        abstract=abstract,
        authors=(Author("Ann Lee"),),
        categories=("cs.CL",),
        published=MONDAY,
        hf=HFSignals(upvotes=upvotes) if upvotes is not None else None,
        sources=frozenset({"arxiv", "hf"} if upvotes is not None else {"arxiv"}),
    )


PAPERS = [
    paper(
        "2611.00001",
        "Sparse attention for long contexts",
        "We propose sparse attention heads for long-context transformers. It is 3x faster.",
        upvotes=40,
    ),
    paper(
        "2611.00002",
        "Reasoning agents that plan",
        "We study planning in LLM agents with tool use and chain of thought reasoning.",
        upvotes=2,
    ),
    paper(
        "2611.00003",
        "A benchmark for summarization",
        "We release a benchmark for evaluating summarization with human annotation.",
    ),
]


class Week:
    def __init__(self, store: SqlStore, clock: FakeClock) -> None:
        self.store, self.clock = store, clock
        self.listing = FakeListing()
        self.cards = FakePublisher()
        self.poster = FakeRoundupPublisher()
        self.subs = SubscriptionService(store, clock)
        self.ingest = IngestService(
            store, {"arxiv": self.listing}, clock, plan_factory=lambda: load_planner(store, clock)
        )
        self.deliver = DeliveryService(
            store, card_service(store, clock), {Platform.DISCORD: self.cards}, clock
        )
        self.roundups = RoundupService(
            store, card_service(store, clock), {Platform.DISCORD: self.poster}, clock
        )

    async def poll(self, *papers: Paper) -> None:
        self.listing.serve(*papers)
        assert (await self.ingest.poll("arxiv")).ok
        await self.deliver.drain()


@pytest.fixture
def week(store: SqlStore) -> Week:
    return Week(store, FakeClock(MONDAY))


async def test_the_weeks_papers_are_ranked_by_the_documented_weights(week: Week) -> None:
    await week.subs.add(REF, "cat:cs.CL")
    await week.subs.add(REF, "agents OR planning")  # a second subscription matches paper 2
    week.clock.advance(hours=1)
    await week.poll(*PAPERS)
    # The channel reacted to the benchmark paper's card, 4 times.
    posted = {p.arxiv_id: p.message_id for p in week.cards.posts}
    week.poster.reactions_by_id[posted["2611.00003"]] = 4
    week.clock.advance(days=3)

    dest = await week.store.get_destination(REF)
    assert dest is not None
    roundup = await week.roundups.build(dest, week_period("2026-W48", "UTC"))

    order = [e.arxiv_id for s in roundup.sections for e in s.entries]
    # reactions 2.0*ln5=3.2 > upvotes ln41=3.7? -> paper 1: 3.71+1.04=4.75; paper 3: 3.22+1.04
    # =4.26; paper 2: ln3=1.10 + 1.5*ln3=1.65 -> 2.75 (each + the same recency)
    assert order == ["2611.00001", "2611.00003", "2611.00002"]
    entries = {e.arxiv_id: e for s in roundup.sections for e in s.entries}
    assert entries["2611.00002"].matches == 2
    assert entries["2611.00003"].reactions == 4
    assert roundup.total_candidates == 3
    # Grouped by topic, topics in the order of their best paper.
    assert next(s.topic.key for s in roundup.sections) == roundup.sections[0].topic.key
    assert len({s.topic.key for s in roundup.sections}) == len(roundup.sections)


async def test_a_channel_that_joined_mid_week_gets_the_whole_week(week: Week) -> None:
    await week.poll(*PAPERS)  # Monday, before the channel subscribed
    week.clock.advance(days=2)
    await week.subs.add(REF, "cat:cs.CL")  # Wednesday
    roundup_dest = await week.store.get_destination(REF)
    assert roundup_dest is not None
    roundup = await week.roundups.build(roundup_dest, week_period("2026-W48", "UTC"))
    assert roundup.paper_count == 3


async def test_queued_once_per_week_and_posted_part_by_part(week: Week) -> None:
    await week.subs.add(REF, "cat:cs.CL")
    week.clock.advance(hours=1)
    await week.poll(*PAPERS)
    first = await week.roundups.queue(REF)
    again = await week.roundups.queue(REF)
    assert first is not None
    assert again is not None
    assert first.id == again.id  # the week's roundup is built once
    report = await week.roundups.send_due()
    assert report.posted == 1
    parts = len(first.roundup.sections) + 1
    assert [part for _, part, _ in week.poster.posts] == list(range(parts))
    assert all(thread == f"pw-r{first.id}-0" for _, part, thread in week.poster.posts if part)
    assert (await week.roundups.send_due()).posted == 0  # nothing is posted twice
    [stored] = await week.store.list_roundups(first.destination_id)
    assert stored.status is RoundupStatus.SENT
    assert len(stored.part_ids) == parts


async def test_a_lost_answer_mid_thread_neither_loses_nor_doubles_a_part(week: Week) -> None:
    await week.subs.add(REF, "cat:cs.CL OR agents OR benchmark")
    week.clock.advance(hours=1)
    await week.poll(*PAPERS)
    queued = await week.roundups.queue(REF)
    assert queued is not None
    parts = len(queued.roundup.sections) + 1
    assert parts >= 3
    week.poster.lose_answer_of = {2}  # the third message is posted, its answer lost
    first = await week.roundups.send_due()
    assert first.retried == 1
    week.clock.advance(minutes=10)
    second = await week.roundups.send_due()
    assert second.posted == 1
    posted = [part for _, part, _ in week.poster.posts]
    assert sorted(posted) == list(range(parts))  # each part exactly once


@pytest.mark.parametrize(("quiet", "posts"), [(False, 1), (True, 0)])
async def test_an_empty_week_says_so_in_one_line_or_stays_silent(
    week: Week, quiet: bool, posts: int
) -> None:
    dest = await week.store.ensure_destination(
        REF, now=week.clock.now(), settings=DestinationSettings(roundup_quiet=quiet)
    )
    await week.subs.add(REF, "cat:math.AG")  # nothing this week matches
    queued = await week.roundups.queue(REF)
    assert queued is not None
    assert queued.roundup.is_empty
    await week.roundups.send_due()
    assert len(week.poster.posts) == posts
    assert dest.id == queued.destination_id


async def test_a_paused_channel_waits_and_its_roundup_goes_when_resumed(week: Week) -> None:
    await week.subs.add(REF, "cat:cs.CL")
    week.clock.advance(hours=1)
    await week.poll(*PAPERS)
    dest = await week.store.get_destination(REF)
    assert dest is not None
    await week.store.update_destination(dest.id, paused_reason="paused by Ada")
    await week.roundups.queue(REF)
    assert (await week.roundups.send_due()).posted == 0
    await week.store.update_destination(dest.id, clear_pause=True)
    week.clock.advance(seconds=1)
    assert (await week.roundups.send_due()).posted == 1
    assert week.clock.now() - MONDAY < timedelta(days=1)
