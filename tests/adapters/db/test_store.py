"""The Store contract: every test runs on SQLite and, when available, on PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.adapters.db.engine import DatabaseNotMigrated, check_migrated, create_engine
from bot.adapters.db.store import SqlStore
from bot.core.models import (
    AnnounceType,
    Author,
    DeliveryMode,
    DeliveryStatus,
    DestinationRef,
    DestinationSettings,
    HFSignals,
    Paper,
    Platform,
    PollState,
    S2Signals,
    Summary,
)
from bot.services.ports import PlannedDelivery, StoredPaper, UpsertReport

NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
CONSOLE = DestinationRef(Platform.CONSOLE, "", "console")
DISCORD = DestinationRef(Platform.DISCORD, "", "123456789012345678")


def make_paper(arxiv_id: str = "2403.13043", version: int = 1, **kw: object) -> Paper:
    fields: dict[str, object] = {
        "title": f"Paper {arxiv_id}",
        "abstract": "We study things.",
        "authors": (Author("José Ramírez", "Universidad de Chile, Santiago"), Author("Ann Lee")),
        "categories": ("cs.CL", "cs.LG"),
        "published": datetime(2024, 3, 19, 17, 0, tzinfo=UTC),
        "updated": datetime(2024, 3, 19, 17, 0, tzinfo=UTC),
        "announce_type": AnnounceType.NEW,
        "sources": frozenset({"arxiv"}),
    }
    fields.update(kw)
    return Paper(arxiv_id=arxiv_id, version=version, **fields)  # type: ignore[arg-type]


async def test_a_stored_paper_comes_back_field_for_field(store: SqlStore) -> None:
    paper = make_paper(
        doi="10.1000/xyz",
        journal_ref="J. Things 1 (2024)",
        comment="12 pages",
        hf=HFSignals(
            upvotes=42,
            comments=3,
            ai_summary="A summary.",
            ai_keywords=("llm", "eval"),
            github_repo="https://github.com/a/b",
            github_stars=10,
            project_page="https://p.example",
            daily_date=date(2024, 3, 20),
        ),
        s2=S2Signals(tldr="Short.", citation_count=7),
        sources=frozenset({"arxiv", "hf"}),
    )
    report = await store.upsert_papers([paper], now=NOW)
    assert report == UpsertReport(new=("2403.13043",))
    stored = await store.get_paper("2403.13043")
    assert stored is not None
    assert stored.paper == paper
    assert stored.first_seen == NOW
    assert stored.first_seen.tzinfo is not None


async def test_upserting_the_same_paper_again_changes_nothing(store: SqlStore) -> None:
    await store.upsert_papers([make_paper()], now=NOW)
    report = await store.upsert_papers([make_paper()], now=NOW + timedelta(hours=1))
    assert report.unchanged == ("2403.13043",)
    assert not report.new
    assert not report.updated
    stored = await store.get_paper("2403.13043")
    assert stored is not None
    assert stored.last_changed == NOW


async def test_a_new_version_revises_the_record_and_keeps_first_seen(store: SqlStore) -> None:
    await store.upsert_papers([make_paper(version=1)], now=NOW)
    later = NOW + timedelta(days=3)
    report = await store.upsert_papers([make_paper(version=2, title="Better title")], now=later)
    assert report.revised == ("2403.13043",)
    assert report.updated == ("2403.13043",)
    stored = await store.get_paper("2403.13043")
    assert stored is not None
    assert (stored.paper.version, stored.paper.title) == (2, "Better title")
    assert (stored.first_seen, stored.last_changed) == (NOW, later)


async def test_hugging_face_signals_merge_into_the_arxiv_record(store: SqlStore) -> None:
    await store.upsert_papers([make_paper(version=3)], now=NOW)
    from_hf = make_paper(
        version=1,
        title="HF's copy of the title",
        hf=HFSignals(upvotes=99),
        sources=frozenset({"hf"}),
    )
    report = await store.upsert_papers([from_hf], now=NOW)
    assert report.updated == ("2403.13043",)
    assert not report.revised
    stored = await store.get_paper("2403.13043")
    assert stored is not None
    assert stored.paper.version == 3  # an HF record never lowers the version
    assert stored.paper.title == "Paper 2403.13043"  # arXiv stays authoritative
    assert stored.paper.hf == HFSignals(upvotes=99)
    assert stored.paper.sources == frozenset({"arxiv", "hf"})


async def test_one_batch_with_the_same_paper_twice_stores_one_record(store: SqlStore) -> None:
    report = await store.upsert_papers(
        [make_paper(), make_paper(hf=HFSignals(upvotes=5), sources=frozenset({"hf"}))], now=NOW
    )
    assert report.new == ("2403.13043",)
    assert await store.count_papers() == 1


async def test_old_style_ids_and_long_author_lists_round_trip(store: SqlStore) -> None:
    authors = tuple(Author(f"Author Number{i}") for i in range(34))
    paper = make_paper("astro-ph/0601001", authors=authors, categories=("astro-ph",))
    await store.upsert_papers([paper], now=NOW)
    stored = await store.get_paper("astro-ph/0601001")
    assert stored is not None
    assert stored.paper.authors == authors


async def test_poll_state_is_saved_and_replaced(store: SqlStore) -> None:
    assert await store.get_poll_state("arxiv") == PollState(source="arxiv")
    state = PollState(source="arxiv", etag='"abc"', last_success=NOW, consecutive_failures=0)
    await store.save_poll_state(state)
    failed = dataclasses.replace(state, last_error="503", last_error_at=NOW, consecutive_failures=1)
    await store.save_poll_state(failed)
    assert await store.get_poll_state("arxiv") == failed
    assert await store.all_poll_states() == [failed]


async def test_summaries_are_cached_per_paper_version_and_tier(store: SqlStore) -> None:
    await store.upsert_papers([make_paper()], now=NOW)
    summary = Summary("It works.", ("a", "b"), "llm")
    await store.put_summary("2403.13043", 1, summary, now=NOW)
    assert await store.get_summary("2403.13043", 1, "llm") == summary
    assert await store.get_summary("2403.13043", 2, "llm") is None
    assert await store.get_summary("2403.13043", 1, "extractive") is None
    assert await store.count_summaries_since("llm", NOW - timedelta(hours=1)) == 1
    assert await store.count_summaries_since("llm", NOW + timedelta(hours=1)) == 0


async def test_destinations_are_created_once_and_keep_their_settings(store: SqlStore) -> None:
    first = await store.ensure_destination(DISCORD, now=NOW)
    again = await store.ensure_destination(DISCORD, now=NOW + timedelta(days=1))
    assert first == again
    settings = DestinationSettings(timezone="Europe/Paris", mode=DeliveryMode.DIGEST)
    changed = await store.update_destination(first.id, settings=settings)
    assert changed.settings == settings
    paused = await store.update_destination(first.id, paused_reason="channel not found")
    assert paused.paused_reason == "channel not found"
    cleared = await store.update_destination(first.id, clear_pause=True)
    assert cleared.paused_reason is None
    assert await store.get_destination(DISCORD) == cleared
    assert await store.list_destinations() == [cleared]


async def test_the_same_subscription_twice_is_recognised(store: SqlStore) -> None:
    dest = await store.ensure_destination(CONSOLE, now=NOW)
    sub, created = await store.add_subscription(dest.id, "cat:cs.CL", now=NOW, starts_at=NOW)
    again, created_again = await store.add_subscription(
        dest.id, "cat:cs.CL", now=NOW, starts_at=NOW
    )
    assert created
    assert not created_again
    assert sub == again
    assert await store.set_subscription_paused(dest.id, sub.id, True)
    assert (await store.list_subscriptions(dest.id))[0].paused
    assert not await store.remove_subscription(dest.id + 1, sub.id)  # someone else's channel
    assert await store.remove_subscription(dest.id, sub.id)
    assert await store.list_subscriptions() == []


async def _queue(store: SqlStore, n: int) -> int:
    dest = await store.ensure_destination(CONSOLE, now=NOW)
    ids = [f"2403.{13000 + i}" for i in range(n)]
    await store.upsert_papers([make_paper(i) for i in ids], now=NOW)
    planned = [PlannedDelivery(i, dest.id, 1, NOW) for i in ids]
    assert await store.plan_deliveries(planned, now=NOW) == n
    return dest.id


async def test_planning_a_delivery_twice_writes_one_row(store: SqlStore) -> None:
    dest_id = await _queue(store, 1)
    again = await store.plan_deliveries([PlannedDelivery("2403.13000", dest_id, 1, NOW)], now=NOW)
    assert again == 0
    assert len(await store.get_deliveries()) == 1


async def test_planning_inside_the_upsert_transaction(store: SqlStore) -> None:
    dest = await store.ensure_destination(CONSOLE, now=NOW)

    def plan(report: UpsertReport, papers: Sequence[StoredPaper]) -> list[PlannedDelivery]:
        assert {p.paper.arxiv_id for p in papers} == set(report.new)
        assert all(p.first_seen == NOW for p in papers)
        return [PlannedDelivery(a, dest.id, 1, NOW) for a in report.new]

    await store.upsert_papers(
        [make_paper("2403.00001"), make_paper("2403.00002")], now=NOW, plan=plan
    )
    rows = await store.get_deliveries()
    assert sorted(r.arxiv_id for r in rows) == ["2403.00001", "2403.00002"]


async def test_a_failing_plan_stores_neither_papers_nor_deliveries(store: SqlStore) -> None:
    def plan(report: UpsertReport, papers: object) -> list[PlannedDelivery]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.upsert_papers([make_paper()], now=NOW, plan=plan)
    assert await store.get_paper("2403.13043") is None


async def test_claim_confirm_and_the_queue_drains(store: SqlStore) -> None:
    await _queue(store, 3)
    claimed = await store.claim_deliveries(now=NOW, limit=2, lease_seconds=60, token="w1")
    assert [d.attempts for d in claimed] == [1, 1]
    assert all(d.status is DeliveryStatus.CLAIMED and not d.in_doubt for d in claimed)
    # One sender per destination at a time: the rest waits for w1 to finish.
    assert await store.claim_deliveries(now=NOW, limit=10, lease_seconds=60, token="w2") == []
    for d in claimed:
        assert await store.confirm_delivery(d.id, "w1", message_id="m", now=NOW)
    rest = await store.claim_deliveries(now=NOW, limit=10, lease_seconds=60, token="w2")
    assert len(rest) == 1
    assert await store.confirm_delivery(rest[0].id, "w2", message_id="m", now=NOW)
    assert await store.claim_deliveries(now=NOW, limit=10, lease_seconds=60, token="w3") == []
    stats = await store.queue_stats()
    assert (stats.pending, stats.claimed, stats.sent) == (0, 0, 3)


async def test_a_stale_token_cannot_confirm(store: SqlStore) -> None:
    await _queue(store, 1)
    [d] = await store.claim_deliveries(now=NOW, limit=1, lease_seconds=60, token="w1")
    later = NOW + timedelta(seconds=61)
    [again] = await store.claim_deliveries(now=later, limit=1, lease_seconds=60, token="w2")
    assert again.id == d.id
    assert again.in_doubt
    assert again.attempts == 2
    assert not await store.confirm_delivery(d.id, "w1", message_id="late", now=later)
    assert await store.confirm_delivery(d.id, "w2", message_id="m2", now=later)
    [row] = await store.get_deliveries()
    assert row.message_id == "m2"


async def test_retry_waits_until_due_and_remembers_a_possible_post(store: SqlStore) -> None:
    await _queue(store, 1)
    [d] = await store.claim_deliveries(now=NOW, limit=1, lease_seconds=60, token="w1")
    due = NOW + timedelta(seconds=30)
    assert await store.retry_delivery(d.id, "w1", due_at=due, error="timeout", maybe_posted=True)
    assert await store.claim_deliveries(now=NOW, limit=1, lease_seconds=60, token="w2") == []
    [again] = await store.claim_deliveries(now=due, limit=1, lease_seconds=60, token="w2")
    assert again.in_doubt
    assert again.last_error == "timeout"


async def test_a_paused_destination_is_not_claimed(store: SqlStore) -> None:
    dest_id = await _queue(store, 2)
    await store.update_destination(dest_id, paused_reason="missing permission")
    assert await store.claim_deliveries(now=NOW, limit=5, lease_seconds=60, token="w") == []
    await store.update_destination(dest_id, clear_pause=True)
    assert len(await store.claim_deliveries(now=NOW, limit=5, lease_seconds=60, token="w")) == 2


async def test_a_revision_reopens_a_sent_row_only_for_a_newer_version(store: SqlStore) -> None:
    dest_id = await _queue(store, 1)
    [d] = await store.claim_deliveries(now=NOW, limit=1, lease_seconds=60, token="w")
    await store.confirm_delivery(d.id, "w", message_id="m1", now=NOW)
    assert (
        await store.plan_deliveries([PlannedDelivery("2403.13000", dest_id, 1, NOW)], now=NOW) == 0
    )
    v2 = PlannedDelivery("2403.13000", dest_id, 2, NOW)
    assert await store.plan_deliveries([v2], now=NOW) == 0  # no revisions asked for
    reopen = dataclasses.replace(v2, reopen=True)
    assert await store.plan_deliveries([reopen], now=NOW) == 1
    [row] = await store.get_deliveries()
    assert (row.status, row.version, row.message_id) == (DeliveryStatus.PENDING, 2, None)


async def test_a_destination_with_a_live_claim_waits(store: SqlStore) -> None:
    await _queue(store, 3)
    first = await store.claim_deliveries(now=NOW, limit=1, lease_seconds=60, token="w1")
    assert len(first) == 1
    assert await store.claim_deliveries(now=NOW, limit=5, lease_seconds=60, token="w2") == []
    later = NOW + timedelta(seconds=61)  # the claim lapsed: the in-doubt row comes first
    again = await store.claim_deliveries(now=later, limit=5, lease_seconds=60, token="w2")
    assert next(d.id for d in again) == first[0].id
    assert again[0].in_doubt
    assert len(again) == 3


async def test_concurrent_claims_never_share_a_row(store: SqlStore) -> None:
    dest_ids = []
    for i in range(8):
        ref = DestinationRef(Platform.DISCORD, "", f"1234567890123456{i:02d}")
        dest_ids.append((await store.ensure_destination(ref, now=NOW)).id)
    ids = [f"2403.{13000 + i}" for i in range(40)]
    await store.upsert_papers([make_paper(i) for i in ids], now=NOW)
    planned = [PlannedDelivery(a, dest_ids[n % 8], 1, NOW) for n, a in enumerate(ids)]
    await store.plan_deliveries(planned, now=NOW)

    async def worker(name: str) -> list[int]:
        got: list[int] = []
        while True:
            batch = await store.claim_deliveries(now=NOW, limit=3, lease_seconds=60, token=name)
            if not batch:
                if (await store.queue_stats()).pending == 0:
                    return got
                await asyncio.sleep(0)  # every free destination is busy with another worker
                continue
            got.extend(d.id for d in batch)
            for d in batch:  # done with it: the destination is free again
                await store.confirm_delivery(d.id, name, message_id="m", now=NOW)

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    every = [i for r in results for i in r]
    assert len(every) == len(set(every)) == 40


async def test_an_unmigrated_database_is_refused_with_the_fixing_command(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with pytest.raises(DatabaseNotMigrated, match="paperwire db upgrade"):
            await check_migrated(engine)
    finally:
        await engine.dispose()


async def test_prune_deletes_only_what_is_done_and_old(store: SqlStore) -> None:
    old = datetime(2026, 1, 1, tzinfo=UTC)
    dest = await store.ensure_destination(DestinationRef.parse("console"), now=old)
    papers = [make_paper(f"2601.0000{i}") for i in range(1, 4)]
    await store.upsert_papers(papers, now=old)
    await store.plan_deliveries(
        [PlannedDelivery(p.arxiv_id, dest.id, 1, old) for p in papers], now=old
    )
    claimed = await store.claim_deliveries(now=old, limit=2, lease_seconds=60, token="t")
    await store.confirm_delivery(claimed[0].id, "t", message_id="m1", now=old)  # sent, old
    # claimed[1] stays claimed (in flight); the third stays pending (due): both are kept.
    await store.put_summary("2601.00001", 1, Summary("tl;dr", (), "llm"), now=old)
    counts = await store.prune(before=old + timedelta(days=1))
    assert counts["deliveries"] == 1
    assert counts["summaries"] == 1
    left = {d.arxiv_id: d.status.value for d in await store.get_deliveries()}
    assert sorted(left.values()) == ["claimed", "pending"]
