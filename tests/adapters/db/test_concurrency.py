"""Two processes writing the same rows at once (two engines, as two `paperwire poll` would), on
SQLite and on PostgreSQL: both succeed, every row is stored once, merged as one would have been.

The batches overlap in opposite orders, which is what made one of the two fail every time
(SQLite: UNIQUE constraint failed; PostgreSQL: a deadlock or a unique violation).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.adapters.db.engine import create_engine, reading, upgrade, writing
from bot.adapters.db.store import SqlStore
from bot.core.models import DestinationRef, HFSignals, Platform, PollState, Summary
from bot.services.ports import PlanFn, PlannedDelivery, StoredPaper, UpsertReport
from tests.adapters.db.test_store import make_paper

NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
CONSOLE = DestinationRef(Platform.CONSOLE, "", "console")
ROUNDS = 3
PAPERS = 60


@pytest.fixture
async def two_stores(database_url: str) -> AsyncIterator[tuple[SqlStore, SqlStore]]:
    first, second = create_engine(database_url), create_engine(database_url)
    try:
        await upgrade(first)
        yield SqlStore(first), SqlStore(second)
    finally:
        await first.dispose()
        await second.dispose()


def _planner(destination_id: int) -> PlanFn:
    def plan(report: UpsertReport, papers: Sequence[StoredPaper]) -> list[PlannedDelivery]:
        changed = set(report.new) | set(report.updated)
        return [
            PlannedDelivery(p.paper.arxiv_id, destination_id, p.paper.version, NOW)
            for p in papers
            if p.paper.arxiv_id in changed
        ]

    return plan


async def test_two_processes_storing_overlapping_papers_at_once_both_succeed(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    arxiv_store, hf_store = two_stores
    dest = await arxiv_store.ensure_destination(CONSOLE, now=NOW)
    plan = _planner(dest.id)
    for round_ in range(ROUNDS):
        ids = [f"26{round_:02d}.{i:05d}" for i in range(PAPERS)]
        from_arxiv = [make_paper(i, title=f"arXiv title {i}") for i in ids]
        from_hf = [
            make_paper(
                i,
                title=f"HF title {i}",
                sources=frozenset({"hf"}),
                hf=HFSignals(upvotes=7, comments=1),
            )
            for i in reversed(ids)
        ]
        reports = await asyncio.gather(
            arxiv_store.upsert_papers(from_arxiv, now=NOW, plan=plan),
            hf_store.upsert_papers(from_hf, now=NOW, plan=plan),
        )
        # Each paper is new to exactly one of the two; the other merged into it.
        assert Counter(i for r in reports for i in r.new) == Counter(ids)
        stored = await arxiv_store.get_papers(ids)
        assert sorted(stored) == ids
        for arxiv_id, record in stored.items():
            assert record.paper.title == f"arXiv title {arxiv_id}"  # arXiv speaks for the text
            assert record.paper.hf == HFSignals(upvotes=7, comments=1)  # HF's signals kept
            assert record.paper.sources == {"arxiv", "hf"}
    deliveries = await arxiv_store.get_deliveries(dest.id)
    assert len(deliveries) == ROUNDS * PAPERS
    assert len({d.arxiv_id for d in deliveries}) == ROUNDS * PAPERS
    assert await arxiv_store.count_papers() == ROUNDS * PAPERS


async def test_two_processes_planning_the_same_deliveries_write_each_once(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    first, second = two_stores
    dest = await first.ensure_destination(CONSOLE, now=NOW)
    ids = [f"2611.{i:05d}" for i in range(PAPERS)]
    await first.upsert_papers([make_paper(i) for i in ids], now=NOW)
    planned = [PlannedDelivery(i, dest.id, 1, NOW) for i in ids]
    written = await asyncio.gather(
        first.plan_deliveries(planned, now=NOW),
        second.plan_deliveries(list(reversed(planned)), now=NOW),
    )
    assert sum(written) == PAPERS
    assert len(await first.get_deliveries(dest.id)) == PAPERS


async def test_two_processes_creating_the_same_rows_at_once_both_succeed(
    two_stores: tuple[SqlStore, SqlStore],
) -> None:
    first, second = two_stores
    await first.upsert_papers([make_paper("2403.13043")], now=NOW)
    for round_ in range(ROUNDS):
        ref = DestinationRef(Platform.DISCORD, "", f"12345678901234567{round_}")
        a, b = await asyncio.gather(
            first.ensure_destination(ref, now=NOW), second.ensure_destination(ref, now=NOW)
        )
        assert a.id == b.id
        (sub_a, new_a), (sub_b, new_b) = await asyncio.gather(
            first.add_subscription(a.id, "cat:cs.CL", now=NOW, starts_at=NOW),
            second.add_subscription(a.id, "cat:cs.CL", now=NOW, starts_at=NOW),
        )
        assert sub_a.id == sub_b.id
        assert sorted([new_a, new_b]) == [False, True]
        when = NOW + timedelta(minutes=round_)
        await asyncio.gather(
            first.save_poll_state(PollState("arxiv", last_attempt=when)),
            second.save_poll_state(PollState("arxiv", last_attempt=when)),
            first.put_summary("2403.13043", 1, Summary("One.", (), f"t{round_}"), now=NOW),
            second.put_summary("2403.13043", 1, Summary("One.", (), f"t{round_}"), now=NOW),
        )
    assert len(await first.list_destinations()) == ROUNDS
    assert len(await first.list_subscriptions()) == ROUNDS
    assert [s.last_attempt for s in await first.all_poll_states()] == [
        NOW + timedelta(minutes=ROUNDS - 1)
    ]
    for round_ in range(ROUNDS):
        assert await first.get_summary("2403.13043", 1, f"t{round_}") == Summary(
            "One.", (), f"t{round_}"
        )


async def test_sqlite_writers_take_turns_so_a_read_never_waits_for_the_pool(
    tmp_path: Path,
) -> None:
    # A hundred deliveries confirming at once: on SQLite only one can write, and a writer
    # waiting for SQLite's lock must not hold a pooled connection, or a lookup's read waits
    # for the pool behind them all.
    engine = create_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}",
        pool_size=2,
        max_overflow=0,
        pool_timeout=2,
    )
    try:
        await upgrade(engine)
        entered, release = asyncio.Event(), asyncio.Event()
        inside: list[int] = []

        async def writer(n: int) -> None:
            async with writing(engine) as conn:
                inside.append(n)
                entered.set()
                await conn.execute(text("SELECT 1"))
                await release.wait()

        writers = [asyncio.create_task(writer(n)) for n in range(4)]
        await entered.wait()
        async with reading(engine) as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        assert inside == [0]  # the others wait their turn, holding no connection
        release.set()
        await asyncio.gather(*writers)
        assert sorted(inside) == [0, 1, 2, 3]
    finally:
        await engine.dispose()
