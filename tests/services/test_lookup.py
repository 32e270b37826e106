"""LookupService: lookups of the same moment share one store read; errors and cancellations
reach only who they concern."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.adapters.db.store import SqlStore
from bot.core.models import Author, Paper
from bot.services.lookup import READ_BATCH, LookupService
from tests.fakes.clock import FakeClock
from tests.services.fakes import CountingStore, FakeArxiv


def paper(number: int) -> Paper:
    return Paper(
        arxiv_id=f"2403.{number:05d}",
        version=1,
        title=f"Paper number {number}",
        abstract="We study a thing. It works.",
        authors=(Author("Ann Lee"),),
        categories=("cs.CL",),
        published=datetime(2026, 11, 18, tzinfo=UTC),
        sources=frozenset({"arxiv"}),
    )


@pytest.fixture
async def counting(store: SqlStore, clock: FakeClock) -> CountingStore:
    await store.upsert_papers([paper(n) for n in range(300)], now=clock.now())
    return CountingStore(store)


def service(store: CountingStore, clock: FakeClock) -> LookupService:
    return LookupService(store, FakeArxiv(), None, clock)  # type: ignore[arg-type]


async def test_a_burst_of_lookups_is_read_in_a_few_batches(
    counting: CountingStore, clock: FakeClock
) -> None:
    lookup = service(counting, clock)
    ids = [f"2403.{n:05d}" for n in range(300)] + ["2403.99999"]
    found = await asyncio.gather(*(lookup.stored(i) for i in ids))
    assert [s.paper.arxiv_id if s else None for s in found] == [*ids[:-1], None]
    assert len(counting.paper_reads) == 2  # 301 ids: a full batch, then the rest
    assert len(counting.paper_reads[0]) == READ_BATCH
    assert sorted(i for read in counting.paper_reads for i in read) == sorted(ids)


async def test_the_same_paper_asked_twice_at_once_is_read_once(
    counting: CountingStore, clock: FakeClock
) -> None:
    lookup = service(counting, clock)
    first, second = await asyncio.gather(lookup.stored("2403.00007"), lookup.stored("2403.00007"))
    assert first is not None
    assert second is not None
    assert counting.paper_reads == [["2403.00007"]]
    assert await lookup.stored("2403.00007") is first  # then from memory
    assert len(counting.paper_reads) == 1


async def test_a_store_error_reaches_every_asker_of_its_batch_and_the_next_read_works(
    counting: CountingStore, clock: FakeClock
) -> None:
    lookup = service(counting, clock)
    counting.fail = OSError("disk I/O error")
    results = await asyncio.gather(
        lookup.stored("2403.00001"), lookup.stored("2403.00002"), return_exceptions=True
    )
    assert all(isinstance(r, OSError) for r in results)
    counting.fail = None
    stored = await lookup.stored("2403.00001")
    assert stored is not None
    assert stored.paper.arxiv_id == "2403.00001"


async def test_one_cancelled_asker_leaves_the_others_their_answer(
    counting: CountingStore, clock: FakeClock
) -> None:
    lookup = service(counting, clock)
    counting.hold = asyncio.Event()
    impatient = asyncio.create_task(lookup.stored("2403.00003"))
    patient = asyncio.create_task(lookup.stored("2403.00003"))
    await counting.reading.wait()
    impatient.cancel()
    counting.hold.set()
    stored = await patient
    assert stored is not None
    assert stored.paper.arxiv_id == "2403.00003"
    assert impatient.cancelled()
