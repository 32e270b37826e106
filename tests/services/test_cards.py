"""CardService's prepared parts: made when papers are stored, read back by cards, made again
when anything they were made from changed; a card with or without them is the same card."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.adapters.db.store import SqlStore
from bot.core.models import Author, HFSignals, Paper
from bot.services.cards import CardService
from bot.services.ingest import IngestService
from tests.fakes.clock import FakeClock
from tests.services.fakes import CountingStore, FakeListing, default_taxonomy


def paper(number: int, abstract: str = "") -> Paper:
    return Paper(
        arxiv_id=f"2403.{number:05d}",
        version=1,
        title=f"Speculative decoding for large language models, part {number}",
        abstract=abstract
        or (
            "Large language models are slow to decode. We propose speculative decoding with a "
            "small draft model. It is three times faster on summarization benchmarks."
        ),
        authors=(Author("Ann Lee"),),
        categories=("cs.CL",),
        published=datetime(2026, 11, 18, tzinfo=UTC),
        sources=frozenset({"arxiv"}),
    )


def cards(store: object, clock: FakeClock, recipe: str | None = "r1") -> CardService:
    return CardService(store, [], default_taxonomy(), clock, recipe=recipe)  # type: ignore[arg-type]


@pytest.fixture
def counting(store: SqlStore) -> CountingStore:
    return CountingStore(store)


async def test_prepared_parts_make_the_same_card_as_building_it(
    counting: CountingStore, clock: FakeClock
) -> None:
    papers = [paper(n) for n in range(3)]
    assert await cards(counting, clock).prepare(papers) == 3
    fresh = [await cards(counting, clock, recipe=None).card_for(p) for p in papers]
    prepared = [await cards(counting, clock).card_for(p) for p in papers]
    assert prepared == fresh


async def test_a_card_reads_prepared_parts_instead_of_summarizing(
    counting: CountingStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await cards(counting, clock).prepare([paper(1)])
    service = cards(counting, clock)

    def no_summarizing(*args: object, **kwargs: object) -> None:
        raise AssertionError("prepared parts must be used")

    monkeypatch.setattr("bot.services.cards.summarize", no_summarizing)
    monkeypatch.setattr("bot.services.cards.classify", no_summarizing)
    card = await service.card_for(paper(1))
    assert card.tldr
    assert card.topic.key != "other"


async def test_preparing_twice_makes_nothing_new(counting: CountingStore, clock: FakeClock) -> None:
    service = cards(counting, clock)
    assert await service.prepare([paper(1), paper(2)]) == 2
    assert await service.prepare([paper(1), paper(2)]) == 0
    assert len(counting.parts_written) == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda p: dataclasses.replace(p, abstract="We study graphs. Graph networks win."),
        lambda p: dataclasses.replace(p, title="Graph neural networks"),
        lambda p: dataclasses.replace(p, categories=("cs.LG",)),
        lambda p: dataclasses.replace(p, hf=HFSignals(upvotes=3, ai_keywords=("graphs",))),
    ],
)
async def test_parts_made_from_something_else_are_ignored(
    counting: CountingStore, clock: FakeClock, change: object
) -> None:
    old = paper(1)
    await cards(counting, clock).prepare([old])
    new = change(old)  # type: ignore[operator]
    expected = await cards(counting, clock, recipe=None).card_for(new)
    assert await cards(counting, clock).card_for(new) == expected


async def test_another_recipe_ignores_and_remakes_the_parts(
    counting: CountingStore, clock: FakeClock
) -> None:
    await cards(counting, clock, recipe="old summarizer").prepare([paper(1)])
    counting.parts_written.clear()
    assert await cards(counting, clock, recipe="new summarizer").prepare([paper(1)]) == 1
    assert counting.parts_written[0].digest != cards(counting, clock, "old summarizer").digest(
        paper(1)
    )


async def test_without_a_recipe_nothing_is_read_or_kept(
    counting: CountingStore, clock: FakeClock
) -> None:
    service = cards(counting, clock, recipe=None)
    assert await service.prepare([paper(1)]) == 0
    await service.card_for(paper(1))
    assert (counting.parts_reads, counting.parts_written) == (0, [])


async def test_a_poll_prepares_the_parts_of_the_papers_it_stores(
    store: SqlStore, clock: FakeClock
) -> None:
    listing = FakeListing()
    service = cards(store, clock)
    ingest = IngestService(store, {"arxiv": listing}, clock, prepare=service.prepare)
    listing.serve(paper(1), paper(2))
    await ingest.poll("arxiv")
    parts = await store.get_card_parts(["2403.00001", "2403.00002"])
    assert sorted(parts) == ["2403.00001", "2403.00002"]
    stored = await store.get_papers(["2403.00001"])
    assert parts["2403.00001"].digest == service.digest(stored["2403.00001"].paper)

    revised = dataclasses.replace(paper(1), version=2, abstract="We study graphs. It works.")
    listing.serve(revised)
    await ingest.poll("arxiv")
    again = await store.get_card_parts(["2403.00001"])
    stored = await store.get_papers(["2403.00001"])
    assert again["2403.00001"].digest == service.digest(stored["2403.00001"].paper)
    assert again["2403.00001"].digest != parts["2403.00001"].digest


async def test_a_failed_preparation_does_not_fail_the_poll(
    store: SqlStore, clock: FakeClock
) -> None:
    async def broken(papers: Sequence[Paper]) -> int:
        raise OSError("disk full")

    listing = FakeListing()
    ingest = IngestService(store, {"arxiv": listing}, clock, prepare=broken)
    listing.serve(paper(1))
    report = await ingest.poll("arxiv")
    assert report.error is None
    assert list(report.new) == ["2403.00001"]


async def test_the_store_reads_the_parts_with_the_papers(
    store: SqlStore, counting: CountingStore, clock: FakeClock
) -> None:
    await store.upsert_papers([paper(1), paper(2)], now=clock.now())
    service = cards(counting, clock)
    await service.prepare([paper(1)])
    stored = await store.get_papers(["2403.00001", "2403.00002"])
    parts = stored["2403.00001"].parts
    assert parts is not None
    assert parts.digest == service.digest(paper(1))
    assert stored["2403.00002"].parts is None  # not prepared: read as a plain paper
    reads = counting.parts_reads
    card = await service.card_for(stored["2403.00001"].paper, parts)
    assert counting.parts_reads == reads  # nothing more read
    assert card == await cards(counting, clock, recipe=None).card_for(paper(1))
