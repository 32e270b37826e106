"""The Store port on SQLAlchemy 2.x (async): SQLite for one process, PostgreSQL for many.

Rows convert to domain types here and nowhere else. Every public method is one transaction,
opened through ``engine.reading`` or ``engine.writing``, so every failure of the database comes
out as a one-line ``DatabaseError``. On PostgreSQL the outbox is claimed with
``FOR UPDATE SKIP LOCKED`` so several workers share the queue; on SQLite the single writer lock
gives the same guarantee. Several processes may upsert the same papers at once (see ``_upsert``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.adapters.db.engine import DatabaseConflict, reading, writing
from bot.adapters.db.tables import (
    card_parts,
    deliveries,
    destinations,
    papers,
    platform_state,
    poll_state,
    roundups,
    subscriptions,
    summaries,
    workspaces,
)
from bot.core.merge import Change, merge_paper
from bot.core.models import (
    AnnounceType,
    Author,
    Delivery,
    DeliveryMode,
    DeliveryStatus,
    Destination,
    DestinationRef,
    DestinationSettings,
    HFSignals,
    Link,
    Paper,
    Platform,
    PlatformState,
    PollState,
    QueuedRoundup,
    Roundup,
    RoundupEntry,
    RoundupKind,
    RoundupPeriod,
    RoundupSection,
    RoundupStatus,
    S2Signals,
    Subscription,
    Summary,
    Topic,
)
from bot.services.ports import (
    CardParts,
    PlanFn,
    PlannedDelivery,
    QueueStats,
    StoredPaper,
    UpsertReport,
)

__all__ = ["SqlStore"]

log = logging.getLogger(__name__)

_CHUNK = 500  # ids per IN (...) clause, rows per INSERT
_ATTEMPTS = 5  # runs of a write transaction that keeps losing to concurrent ones
_T = TypeVar("_T")
_Row = Mapping[Any, Any]  # a result row as a mapping (RowMapping, or a dict built from one)


# --- rows <-> domain ----------------------------------------------------------------------


def _paper_to_row(paper: Paper) -> dict[str, Any]:
    hf, s2 = paper.hf, paper.s2
    return {
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": [[a.name, a.affiliation] for a in paper.authors],
        "categories": list(paper.categories),
        "published": paper.published,
        "updated": paper.updated,
        "announce_type": paper.announce_type.value if paper.announce_type else None,
        "doi": paper.doi,
        "journal_ref": paper.journal_ref,
        "comment": paper.comment,
        "hf_upvotes": hf.upvotes if hf else None,
        "hf_comments": hf.comments if hf else None,
        "hf_ai_summary": hf.ai_summary if hf else None,
        "hf_ai_keywords": list(hf.ai_keywords) if hf else None,
        "hf_github_repo": hf.github_repo if hf else None,
        "hf_github_stars": hf.github_stars if hf else None,
        "hf_project_page": hf.project_page if hf else None,
        "hf_daily_date": hf.daily_date if hf else None,
        "s2_tldr": s2.tldr if s2 else None,
        "s2_citations": s2.citation_count if s2 else None,
        "sources": sorted(paper.sources),
    }


def _row_to_paper(row: _Row) -> Paper:
    hf = None
    if row["hf_upvotes"] is not None:
        daily: date | None = row["hf_daily_date"]
        hf = HFSignals(
            upvotes=row["hf_upvotes"],
            comments=row["hf_comments"] or 0,
            ai_summary=row["hf_ai_summary"],
            ai_keywords=tuple(row["hf_ai_keywords"] or ()),
            github_repo=row["hf_github_repo"],
            github_stars=row["hf_github_stars"],
            project_page=row["hf_project_page"],
            daily_date=daily,
        )
    s2 = None
    if row["s2_tldr"] is not None or row["s2_citations"] is not None:
        s2 = S2Signals(tldr=row["s2_tldr"], citation_count=row["s2_citations"])
    return Paper(
        arxiv_id=row["arxiv_id"],
        version=row["version"],
        title=row["title"],
        abstract=row["abstract"],
        authors=tuple(Author(name, aff) for name, aff in row["authors"]),
        categories=tuple(row["categories"]),
        published=row["published"],
        updated=row["updated"],
        announce_type=AnnounceType(row["announce_type"]) if row["announce_type"] else None,
        doi=row["doi"],
        journal_ref=row["journal_ref"],
        comment=row["comment"],
        hf=hf,
        s2=s2,
        sources=frozenset(row["sources"]),
    )


def _row_to_stored(row: _Row) -> StoredPaper:
    return StoredPaper(_row_to_paper(row), row["first_seen"], row["last_changed"])


def _row_to_destination(row: _Row) -> Destination:
    return Destination(
        id=row["id"],
        ref=DestinationRef(Platform(row["platform"]), row["workspace"], row["channel"]),
        settings=DestinationSettings(
            timezone=row["timezone"],
            mode=DeliveryMode(row["mode"]),
            digest_hour=row["digest_hour"],
            revisions=row["revisions"],
            roundup_day=row["roundup_day"],
            roundup_hour=row["roundup_hour"],
            roundup_enabled=row["roundup_enabled"],
            roundup_size=row["roundup_size"],
            roundup_quiet=row["roundup_quiet"],
            roundup_public=row["roundup_public"],
        ),
        created_at=row["created_at"],
        paused_reason=row["paused_reason"],
    )


def _settings_to_row(settings: DestinationSettings) -> dict[str, Any]:
    return {
        "timezone": settings.timezone,
        "mode": settings.mode.value,
        "digest_hour": settings.digest_hour,
        "revisions": settings.revisions,
        "roundup_day": settings.roundup_day,
        "roundup_hour": settings.roundup_hour,
        "roundup_enabled": settings.roundup_enabled,
        "roundup_size": settings.roundup_size,
        "roundup_quiet": settings.roundup_quiet,
        "roundup_public": settings.roundup_public,
    }


def _row_to_subscription(row: _Row) -> Subscription:
    return Subscription(
        id=row["id"],
        destination_id=row["destination_id"],
        query=row["query"],
        created_at=row["created_at"],
        starts_at=row["starts_at"],
        paused=row["paused"],
        added_by=row["added_by"],
        added_by_name=row["added_by_name"],
    )


def _row_to_delivery(row: _Row, *, in_doubt: bool | None = None) -> Delivery:
    return Delivery(
        id=row["id"],
        arxiv_id=row["arxiv_id"],
        destination_id=row["destination_id"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        due_at=row["due_at"],
        created_at=row["created_at"],
        version=row["version"],
        claimed_until=row["claimed_until"],
        claim_token=row["claim_token"],
        in_doubt=row["maybe_posted"] if in_doubt is None else in_doubt,
        message_id=row["message_id"],
        last_error=row["last_error"],
        sent_at=row["sent_at"],
    )


def _row_to_poll_state(row: _Row) -> PollState:
    return PollState(
        source=row["source"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_attempt=row["last_attempt"],
        last_success=row["last_success"],
        last_change=row["last_change"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        consecutive_failures=row["consecutive_failures"],
    )


def _roundup_to_json(roundup: Roundup) -> dict[str, Any]:
    period = roundup.period
    return {
        "destination_id": roundup.destination_id,
        "total_candidates": roundup.total_candidates,
        "period": {
            "kind": period.kind.value,
            "label": period.label,
            "first_day": period.first_day.isoformat(),
            "last_day": period.last_day.isoformat(),
            "timezone": period.timezone,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
        "sections": [
            {
                "topic": [s.topic.name, s.topic.emoji, s.topic.key],
                "entries": [
                    {
                        "arxiv_id": e.arxiv_id,
                        "version": e.version,
                        "title": e.title,
                        "authors_line": e.authors_line,
                        "tldr": e.tldr,
                        "insights": list(e.insights),
                        "links": [[link.label, link.url] for link in e.links],
                        "upvotes": e.upvotes,
                        "comments": e.comments,
                        "matches": e.matches,
                        "reactions": e.reactions,
                        "first_seen": e.first_seen.isoformat(),
                        "score": e.score,
                    }
                    for e in s.entries
                ],
            }
            for s in roundup.sections
        ],
    }


def _roundup_from_json(data: Mapping[str, Any]) -> Roundup:
    p = data["period"]
    period = RoundupPeriod(
        kind=RoundupKind(p["kind"]),
        label=p["label"],
        first_day=date.fromisoformat(p["first_day"]),
        last_day=date.fromisoformat(p["last_day"]),
        timezone=p["timezone"],
        start=datetime.fromisoformat(p["start"]),
        end=datetime.fromisoformat(p["end"]),
    )
    sections = tuple(
        RoundupSection(
            topic=Topic(*s["topic"]),
            entries=tuple(
                RoundupEntry(
                    arxiv_id=e["arxiv_id"],
                    version=e["version"],
                    title=e["title"],
                    authors_line=e["authors_line"],
                    tldr=e["tldr"],
                    insights=tuple(e["insights"]),
                    links=tuple(Link(label, url) for label, url in e["links"]),
                    upvotes=e["upvotes"],
                    comments=e["comments"],
                    matches=e["matches"],
                    reactions=e["reactions"],
                    first_seen=datetime.fromisoformat(e["first_seen"]),
                    score=e["score"],
                )
                for e in s["entries"]
            ),
        )
        for s in data["sections"]
    )
    return Roundup(data["destination_id"], period, sections, data["total_candidates"])


def _row_to_queued(row: _Row, *, in_doubt: bool | None = None) -> QueuedRoundup:
    return QueuedRoundup(
        id=row["id"],
        destination_id=row["destination_id"],
        roundup=_roundup_from_json(row["content"]),
        status=RoundupStatus(row["status"]),
        attempts=row["attempts"],
        part_ids=tuple(row["part_ids"] or ()),
        thread_id=row["thread_id"],
        in_doubt=bool(row["maybe_posted"]) if in_doubt is None else in_doubt,
        claim_token=row["claim_token"],
    )


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


# --- the store ----------------------------------------------------------------------------


class SqlStore:
    """ports.Store on an AsyncEngine. The caller opens and disposes the engine."""

    def __init__(self, engine: AsyncEngine, *, redact: Callable[[str], str] | None = None) -> None:
        """``redact`` masks secrets in the free text this store writes (errors and reasons a
        remote server may have echoed a token into): what is stored is shown later."""
        self._engine = engine
        self._pg = engine.dialect.name == "postgresql"
        self._redact = redact or (lambda text: text)

    def _text(self, text: str | None, limit: int = 2000) -> str | None:
        return None if text is None else self._redact(text)[:limit]

    def _insert(self, table: Any) -> Any:
        return pg_insert(table) if self._pg else sqlite_insert(table)

    # papers ------------------------------------------------------------------------------

    async def _transaction(self, work: Callable[[AsyncConnection], Awaitable[_T]]) -> _T:
        """Run ``work`` in one write transaction, again when a concurrent one made it fail.

        PostgreSQL rolls the loser of a deadlock or serialization failure back whole, so running
        ``work`` again is safe (it must do nothing outside the transaction); SQLite's writers
        queue for the lock instead (BEGIN IMMEDIATE, see engine.py).
        """
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with writing(self._engine) as conn:
                    return await work(conn)
            except DatabaseConflict:
                if attempt == _ATTEMPTS:
                    raise
                log.info(
                    "a concurrent transaction won; trying again (%d of %d)", attempt, _ATTEMPTS
                )
                # A moment's jitter, so two losers do not meet again at once.
                await asyncio.sleep(random.uniform(0, 0.02 * attempt))  # noqa: S311 - not crypto
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def upsert_papers(
        self, papers_in: Sequence[Paper], *, now: datetime, plan: PlanFn | None = None
    ) -> UpsertReport:
        # The same paper twice in one batch (arXiv + HF) folds into one record first.
        incoming: dict[str, Paper] = {}
        for paper in papers_in:
            incoming[paper.arxiv_id], _ = merge_paper(incoming.get(paper.arxiv_id), paper)

        async def work(conn: AsyncConnection) -> UpsertReport:
            return await self._upsert(conn, incoming, now=now, plan=plan)

        return await self._transaction(work)

    async def _upsert(
        self,
        conn: AsyncConnection,
        incoming: Mapping[str, Paper],
        *,
        now: datetime,
        plan: PlanFn | None,
    ) -> UpsertReport:
        """Insert the papers nobody stored yet, then merge into the rest.

        Another process may store the same papers at the same moment: a new paper is inserted
        with ON CONFLICT DO NOTHING, and one that another transaction inserted meanwhile is
        merged into like any stored paper. Ids go in sorted order, so two writers lock and
        insert in the same order and do not deadlock each other.
        """
        ids = sorted(incoming)
        existing = await self._load_papers(conn, ids, lock=True)
        fresh = [arxiv_id for arxiv_id in ids if arxiv_id not in existing]
        inserted: set[str] = set()
        for chunk in _chunks(fresh):
            rows = [
                {
                    **_paper_to_row(incoming[arxiv_id]),
                    "first_seen": now,
                    "last_changed": now,
                }
                for arxiv_id in chunk
            ]
            stmt = self._insert(papers).on_conflict_do_nothing().returning(papers.c.arxiv_id)
            inserted.update((await conn.execute(stmt, rows)).scalars())
        lost = [arxiv_id for arxiv_id in fresh if arxiv_id not in inserted]
        if lost:  # stored by a concurrent transaction since we looked
            existing.update(await self._load_papers(conn, lost, lock=True))

        new: list[str] = []
        updated: list[str] = []
        revised: list[str] = []
        unchanged: list[str] = []
        merged_papers: list[StoredPaper] = []
        for arxiv_id, paper in incoming.items():
            if arxiv_id in inserted:
                new.append(arxiv_id)
                merged_papers.append(StoredPaper(paper, now, now))
                continue
            old = existing[arxiv_id]
            merged, change = merge_paper(old.paper, paper)
            if change is Change.UNCHANGED:
                unchanged.append(arxiv_id)
                merged_papers.append(StoredPaper(merged, old.first_seen, old.last_changed))
                continue
            await conn.execute(
                update(papers)
                .where(papers.c.arxiv_id == arxiv_id)
                .values(**_paper_to_row(merged), last_changed=now)
            )
            updated.append(arxiv_id)
            if change is Change.REVISED:
                revised.append(arxiv_id)
            merged_papers.append(StoredPaper(merged, old.first_seen, now))
        report = UpsertReport(tuple(new), tuple(updated), tuple(revised), tuple(unchanged))
        if plan is not None:
            await self._plan(conn, plan(report, merged_papers), now=now)
        return report

    async def _load_papers(
        self, conn: AsyncConnection, ids: Sequence[str], *, lock: bool = False
    ) -> dict[str, StoredPaper]:
        found: dict[str, StoredPaper] = {}
        for chunk in _chunks(ids):
            stmt = select(papers).where(papers.c.arxiv_id.in_(chunk))
            if lock and self._pg:
                # Locked in id order, the order every writer uses (see _upsert).
                stmt = stmt.order_by(papers.c.arxiv_id).with_for_update()
            for row in (await conn.execute(stmt)).mappings():
                found[row["arxiv_id"]] = _row_to_stored(row)
        return found

    async def get_paper(self, arxiv_id: str) -> StoredPaper | None:
        return (await self.get_papers([arxiv_id])).get(arxiv_id)

    async def get_papers(self, arxiv_ids: Sequence[str]) -> dict[str, StoredPaper]:
        """The papers, each with its prepared card parts when it has them (one query)."""
        found: dict[str, StoredPaper] = {}
        parts = [c.label(f"part_{c.name}") for c in card_parts.c if c.name != "arxiv_id"]
        joined = papers.outerjoin(card_parts, card_parts.c.arxiv_id == papers.c.arxiv_id)
        async with reading(self._engine) as conn:
            for chunk in _chunks(list(arxiv_ids)):
                stmt = (
                    select(papers, *parts).select_from(joined).where(papers.c.arxiv_id.in_(chunk))
                )
                for row in (await conn.execute(stmt)).mappings():
                    stored = _row_to_stored(row)
                    if row["part_digest"] is not None:
                        summary = Summary(
                            row["part_tldr"], tuple(row["part_key_points"]), "extractive"
                        )
                        prepared = CardParts(
                            row["arxiv_id"], row["part_digest"], summary, row["part_topic"]
                        )
                        stored = dataclasses.replace(stored, parts=prepared)
                    found[row["arxiv_id"]] = stored
        return found

    async def papers_seen_between(self, start: datetime, end: datetime) -> list[StoredPaper]:
        stmt = (
            select(papers)
            .where(papers.c.first_seen >= start, papers.c.first_seen < end)
            .order_by(papers.c.first_seen, papers.c.arxiv_id)
        )
        async with reading(self._engine) as conn:
            return [_row_to_stored(row) for row in (await conn.execute(stmt)).mappings()]

    async def count_papers(self) -> int:
        async with reading(self._engine) as conn:
            return int((await conn.execute(select(func.count()).select_from(papers))).scalar_one())

    # poll state --------------------------------------------------------------------------

    async def get_poll_state(self, source: str) -> PollState:
        async with reading(self._engine) as conn:
            row = (
                (await conn.execute(select(poll_state).where(poll_state.c.source == source)))
                .mappings()
                .first()
            )
        return _row_to_poll_state(row) if row else PollState(source=source)

    async def save_poll_state(self, state: PollState) -> None:
        values = {
            "source": state.source,
            "etag": state.etag,
            "last_modified": state.last_modified,
            "last_attempt": state.last_attempt,
            "last_success": state.last_success,
            "last_change": state.last_change,
            "last_error": self._text(state.last_error),
            "last_error_at": state.last_error_at,
            "consecutive_failures": state.consecutive_failures,
        }
        stmt = self._insert(poll_state).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[poll_state.c.source],
            set_={k: v for k, v in values.items() if k != "source"},
        )
        async with writing(self._engine) as conn:
            await conn.execute(stmt)

    async def all_poll_states(self) -> list[PollState]:
        async with reading(self._engine) as conn:
            rows = (await conn.execute(select(poll_state).order_by(poll_state.c.source))).mappings()
            return [_row_to_poll_state(row) for row in rows]

    # summaries ---------------------------------------------------------------------------

    async def get_summary(self, arxiv_id: str, version: int, tier: str) -> Summary | None:
        stmt = select(summaries).where(
            summaries.c.arxiv_id == arxiv_id,
            summaries.c.version == version,
            summaries.c.tier == tier,
        )
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            return None
        return Summary(row["tldr"], tuple(row["key_points"]), row["tier"])

    async def put_summary(
        self, arxiv_id: str, version: int, summary: Summary, *, now: datetime
    ) -> None:
        values = {
            "arxiv_id": arxiv_id,
            "version": version,
            "tier": summary.tier,
            "tldr": summary.tldr,
            "key_points": list(summary.key_points),
            "created_at": now,
        }
        stmt = self._insert(summaries).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[summaries.c.arxiv_id, summaries.c.version, summaries.c.tier],
            set_={"tldr": summary.tldr, "key_points": list(summary.key_points)},
        )
        async with writing(self._engine) as conn:
            await conn.execute(stmt)

    async def get_card_parts(self, arxiv_ids: Sequence[str]) -> dict[str, CardParts]:
        found: dict[str, CardParts] = {}
        async with reading(self._engine) as conn:
            for chunk in _chunks(list(arxiv_ids)):
                stmt = select(card_parts).where(card_parts.c.arxiv_id.in_(chunk))
                for row in (await conn.execute(stmt)).mappings():
                    summary = Summary(row["tldr"], tuple(row["key_points"]), "extractive")
                    found[row["arxiv_id"]] = CardParts(
                        row["arxiv_id"], row["digest"], summary, row["topic"]
                    )
        return found

    async def put_card_parts(self, parts: Sequence[CardParts], *, now: datetime) -> None:
        if not parts:
            return
        async with writing(self._engine) as conn:
            for start in range(0, len(parts), _CHUNK):
                rows = [
                    {
                        "arxiv_id": p.arxiv_id,
                        "digest": p.digest,
                        "tldr": p.summary.tldr,
                        "key_points": list(p.summary.key_points),
                        "topic": p.topic,
                        "created_at": now,
                    }
                    for p in parts[start : start + _CHUNK]
                ]
                stmt = self._insert(card_parts).values(rows)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[card_parts.c.arxiv_id],
                    set_={
                        name: stmt.excluded[name]
                        for name in ("digest", "tldr", "key_points", "topic", "created_at")
                    },
                )
                await conn.execute(stmt)

    async def count_summaries_since(self, tier: str, since: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(summaries)
            .where(summaries.c.tier == tier, summaries.c.created_at >= since)
        )
        async with reading(self._engine) as conn:
            return int((await conn.execute(stmt)).scalar_one())

    # destinations and subscriptions ------------------------------------------------------

    async def ensure_destination(
        self,
        ref: DestinationRef,
        *,
        now: datetime,
        settings: DestinationSettings | None = None,
    ) -> Destination:
        values = {
            "platform": ref.platform.value,
            "workspace": ref.workspace,
            "channel": ref.channel,
            "created_at": now,
            "paused_reason": None,
            **_settings_to_row(settings or DestinationSettings()),
        }
        stmt = self._insert(destinations).values(**values).on_conflict_do_nothing()
        async with writing(self._engine) as conn:
            await conn.execute(stmt)
            row = (await conn.execute(self._destination_query(ref))).mappings().one()
        return _row_to_destination(row)

    @staticmethod
    def _destination_query(ref: DestinationRef) -> Any:
        return select(destinations).where(
            destinations.c.platform == ref.platform.value,
            destinations.c.workspace == ref.workspace,
            destinations.c.channel == ref.channel,
        )

    async def get_destination(self, ref: DestinationRef) -> Destination | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(self._destination_query(ref))).mappings().first()
        return _row_to_destination(row) if row else None

    async def get_destination_by_id(self, destination_id: int) -> Destination | None:
        async with reading(self._engine) as conn:
            row = (
                (
                    await conn.execute(
                        select(destinations).where(destinations.c.id == destination_id)
                    )
                )
                .mappings()
                .first()
            )
        return _row_to_destination(row) if row else None

    async def list_destinations(self) -> list[Destination]:
        async with reading(self._engine) as conn:
            rows = (await conn.execute(select(destinations).order_by(destinations.c.id))).mappings()
            return [_row_to_destination(row) for row in rows]

    async def update_destination(
        self,
        destination_id: int,
        *,
        settings: DestinationSettings | None = None,
        paused_reason: str | None = None,
        clear_pause: bool = False,
    ) -> Destination:
        values: dict[str, Any] = {}
        if settings is not None:
            values.update(_settings_to_row(settings))
        if paused_reason is not None:
            values["paused_reason"] = self._text(paused_reason)
        elif clear_pause:
            values["paused_reason"] = None
        async with writing(self._engine) as conn:
            if values:
                await conn.execute(
                    update(destinations).where(destinations.c.id == destination_id).values(**values)
                )
            row = (
                (
                    await conn.execute(
                        select(destinations).where(destinations.c.id == destination_id)
                    )
                )
                .mappings()
                .one()
            )
        return _row_to_destination(row)

    async def add_subscription(
        self,
        destination_id: int,
        query: str,
        *,
        now: datetime,
        starts_at: datetime,
        added_by: str | None = None,
        added_by_name: str | None = None,
    ) -> tuple[Subscription, bool]:
        """Add the subscription; (existing, False) when the destination already has it."""
        stmt = (
            self._insert(subscriptions)
            .values(
                destination_id=destination_id,
                query=query,
                created_at=now,
                starts_at=starts_at,
                paused=False,
                added_by=added_by,
                added_by_name=added_by_name[:128] if added_by_name else None,
            )
            .on_conflict_do_nothing()
        )
        async with writing(self._engine) as conn:
            result = await conn.execute(stmt)
            created = result.rowcount == 1
            row = (
                (
                    await conn.execute(
                        select(subscriptions).where(
                            subscriptions.c.destination_id == destination_id,
                            subscriptions.c.query == query,
                        )
                    )
                )
                .mappings()
                .one()
            )
        return _row_to_subscription(row), created

    async def remove_subscription(self, destination_id: int, subscription_id: int) -> bool:
        stmt = delete(subscriptions).where(
            subscriptions.c.id == subscription_id,
            subscriptions.c.destination_id == destination_id,
        )
        async with writing(self._engine) as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def set_subscription_paused(
        self, destination_id: int, subscription_id: int, paused: bool
    ) -> bool:
        stmt = (
            update(subscriptions)
            .where(
                subscriptions.c.id == subscription_id,
                subscriptions.c.destination_id == destination_id,
            )
            .values(paused=paused)
        )
        async with writing(self._engine) as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def list_subscriptions(self, destination_id: int | None = None) -> list[Subscription]:
        stmt = select(subscriptions).order_by(subscriptions.c.id)
        if destination_id is not None:
            stmt = stmt.where(subscriptions.c.destination_id == destination_id)
        async with reading(self._engine) as conn:
            return [_row_to_subscription(row) for row in (await conn.execute(stmt)).mappings()]

    # the outbox --------------------------------------------------------------------------

    async def plan_deliveries(self, planned: Sequence[PlannedDelivery], *, now: datetime) -> int:
        async def work(conn: AsyncConnection) -> int:
            return await self._plan(conn, planned, now=now)

        return await self._transaction(work)

    async def _plan(
        self, conn: AsyncConnection, planned: Sequence[PlannedDelivery], *, now: datetime
    ) -> int:
        """Insert outbox rows; one per (paper, destination), whatever happens twice.

        A row that already exists is left alone, except that a revision planned with ``reopen``
        (the destination asked for revisions) re-opens a row sent for an older version. Rows go
        in key order, the order every writer uses, so two writers do not deadlock each other.
        """
        written = 0
        for item in sorted(planned, key=lambda p: (p.arxiv_id, p.destination_id)):
            values = {
                "arxiv_id": item.arxiv_id,
                "destination_id": item.destination_id,
                "version": item.version,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "due_at": item.due_at,
                "created_at": now,
                "maybe_posted": False,
            }
            stmt = self._insert(deliveries).values(**values).on_conflict_do_nothing()
            result = await conn.execute(stmt)
            if result.rowcount == 1:
                written += 1
                continue
            if not item.reopen:
                continue
            reopen = (
                update(deliveries)
                .where(
                    deliveries.c.arxiv_id == item.arxiv_id,
                    deliveries.c.destination_id == item.destination_id,
                    deliveries.c.status == DeliveryStatus.SENT.value,
                    deliveries.c.version < item.version,
                )
                .values(
                    version=item.version,
                    status=DeliveryStatus.PENDING.value,
                    attempts=0,
                    due_at=item.due_at,
                    claim_token=None,
                    claimed_until=None,
                    maybe_posted=False,
                    message_id=None,
                    last_error=None,
                )
            )
            written += (await conn.execute(reopen)).rowcount
        return written

    def _claimable(self, now: datetime, platforms: Collection[Platform] | None) -> list[Any]:
        """The conditions of a row that may be claimed now (see claim_deliveries)."""
        due = or_(
            and_(deliveries.c.status == DeliveryStatus.PENDING.value, deliveries.c.due_at <= now),
            and_(
                deliveries.c.status == DeliveryStatus.CLAIMED.value,
                deliveries.c.claimed_until < now,
            ),
        )
        down = select(platform_state.c.platform).where(
            platform_state.c.paused_reason.is_not(None), platform_state.c.retry_at > now
        )
        stopped = [
            destinations.c.paused_reason.is_not(None),
            destinations.c.platform.in_(down),
            # A channel in digest mode gets its cards in the daily digest, not one by one.
            destinations.c.mode == DeliveryMode.DIGEST.value,
        ]
        if platforms is not None:
            stopped.append(destinations.c.platform.not_in([p.value for p in platforms]))
        paused = select(destinations.c.id).where(or_(*stopped))
        # A destination with a live claim elsewhere waits: one sender per channel at a time
        # keeps the channel's order and, after a crash, lets the in-doubt rows (the oldest)
        # be checked before anything newer is posted there.
        busy = select(deliveries.c.destination_id).where(
            deliveries.c.status == DeliveryStatus.CLAIMED.value,
            deliveries.c.claimed_until >= now,
        )
        return [
            due,
            deliveries.c.destination_id.not_in(paused),
            deliveries.c.destination_id.not_in(busy),
        ]

    async def due_destinations(
        self, *, now: datetime, platforms: Collection[Platform] | None = None, limit: int
    ) -> list[int]:
        stmt = (
            select(deliveries.c.destination_id, func.min(deliveries.c.due_at).label("first"))
            .where(*self._claimable(now, platforms))
            .group_by(deliveries.c.destination_id)
            .order_by("first", deliveries.c.destination_id)
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            return [int(row[0]) for row in (await conn.execute(stmt)).all()]

    async def claim_deliveries(
        self,
        *,
        now: datetime,
        limit: int,
        lease_seconds: float,
        token: str,
        platforms: Collection[Platform] | None = None,
        destination_ids: Collection[int] | None = None,
    ) -> list[Delivery]:
        """Claim up to ``limit`` due rows for a lease; expired claims come back in doubt.

        Only destinations on ``platforms`` (None: every platform), and none on a platform
        paused until later (its token refused, or out of reach); only ``destination_ids``
        when given.
        """
        where = self._claimable(now, platforms)
        if destination_ids is not None:
            where.append(deliveries.c.destination_id.in_(list(destination_ids)))
        pick = (
            select(deliveries)
            .where(*where)
            .order_by(deliveries.c.due_at, deliveries.c.id)
            .limit(limit)
        )
        if self._pg:
            pick = pick.with_for_update(skip_locked=True, of=deliveries)
        until = now + timedelta(seconds=lease_seconds)
        claimed: list[Delivery] = []
        async with writing(self._engine) as conn:
            rows = list((await conn.execute(pick)).mappings())
            for row in rows:
                # An expired claim means a worker took it and never confirmed: in doubt.
                in_doubt = bool(row["maybe_posted"]) or row["status"] == DeliveryStatus.CLAIMED
                result = await conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.id == row["id"],
                        deliveries.c.status == row["status"],
                        or_(
                            deliveries.c.claim_token == row["claim_token"],
                            deliveries.c.claim_token.is_(None),
                        ),
                    )
                    .values(
                        status=DeliveryStatus.CLAIMED.value,
                        claim_token=token,
                        claimed_until=until,
                        attempts=deliveries.c.attempts + 1,
                        maybe_posted=in_doubt,
                    )
                )
                if result.rowcount != 1:
                    continue  # another worker got it first
                claimed.append(
                    _row_to_delivery(
                        {
                            **row,
                            "status": DeliveryStatus.CLAIMED.value,
                            "claim_token": token,
                            "claimed_until": until,
                            "attempts": row["attempts"] + 1,
                        },
                        in_doubt=in_doubt,
                    )
                )
        return claimed

    def _owned(self, delivery_id: int, token: str) -> Any:
        return and_(
            deliveries.c.id == delivery_id,
            deliveries.c.claim_token == token,
            deliveries.c.status == DeliveryStatus.CLAIMED.value,
        )

    async def confirm_delivery(
        self, delivery_id: int, token: str, *, message_id: str, now: datetime
    ) -> bool:
        stmt = (
            update(deliveries)
            .where(self._owned(delivery_id, token))
            .values(
                status=DeliveryStatus.SENT.value,
                message_id=message_id,
                sent_at=now,
                claimed_until=None,
                maybe_posted=False,
                last_error=None,
            )
        )
        async with writing(self._engine) as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def retry_delivery(
        self,
        delivery_id: int,
        token: str,
        *,
        due_at: datetime,
        error: str,
        maybe_posted: bool = False,
    ) -> bool:
        stmt = (
            update(deliveries)
            .where(self._owned(delivery_id, token))
            .values(
                status=DeliveryStatus.PENDING.value,
                due_at=due_at,
                claim_token=None,
                claimed_until=None,
                last_error=self._text(error),
                maybe_posted=maybe_posted,
            )
        )
        async with writing(self._engine) as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def fail_delivery(self, delivery_id: int, token: str, *, error: str) -> bool:
        stmt = (
            update(deliveries)
            .where(self._owned(delivery_id, token))
            .values(
                status=DeliveryStatus.FAILED.value,
                claim_token=None,
                claimed_until=None,
                last_error=self._text(error),
            )
        )
        async with writing(self._engine) as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def get_deliveries(self, destination_id: int | None = None) -> list[Delivery]:
        stmt = select(deliveries).order_by(deliveries.c.id)
        if destination_id is not None:
            stmt = stmt.where(deliveries.c.destination_id == destination_id)
        async with reading(self._engine) as conn:
            return [_row_to_delivery(row) for row in (await conn.execute(stmt)).mappings()]

    async def queue_stats(self, destination_id: int | None = None) -> QueueStats:
        where = [] if destination_id is None else [deliveries.c.destination_id == destination_id]
        async with reading(self._engine) as conn:
            rows = (
                await conn.execute(
                    select(deliveries.c.status, func.count())
                    .where(*where)
                    .group_by(deliveries.c.status)
                )
            ).all()
            oldest = (
                await conn.execute(
                    select(func.min(deliveries.c.due_at)).where(
                        deliveries.c.status == DeliveryStatus.PENDING.value, *where
                    )
                )
            ).scalar_one()
            by_platform = (
                await conn.execute(
                    select(destinations.c.platform, func.count())
                    .select_from(
                        deliveries.join(
                            destinations, deliveries.c.destination_id == destinations.c.id
                        )
                    )
                    .where(deliveries.c.status == DeliveryStatus.PENDING.value, *where)
                    .group_by(destinations.c.platform)
                )
            ).all()
        counts = {str(status): int(n) for status, n in rows}
        return QueueStats(
            pending=counts.get(DeliveryStatus.PENDING.value, 0),
            claimed=counts.get(DeliveryStatus.CLAIMED.value, 0),
            sent=counts.get(DeliveryStatus.SENT.value, 0),
            failed=counts.get(DeliveryStatus.FAILED.value, 0),
            oldest_pending=oldest,
            by_status=counts,
            pending_by_platform={str(p): int(n) for p, n in by_platform},
        )

    # pauses by place -----------------------------------------------------------------------

    def _place(
        self, platform: Platform, workspace: str | None, channels: Sequence[str] | None
    ) -> Any:
        if workspace is None and not channels:
            raise ValueError("name a workspace or channels")
        where = []
        if workspace is not None:
            where.append(destinations.c.workspace == workspace)
        if channels:
            where.append(destinations.c.channel.in_(list(channels)))
        return and_(destinations.c.platform == platform.value, or_(*where))

    async def pause_destinations(
        self,
        platform: Platform,
        *,
        reason: str,
        workspace: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> int:
        stmt = (
            update(destinations)
            .where(
                self._place(platform, workspace, channels), destinations.c.paused_reason.is_(None)
            )
            .values(paused_reason=self._text(reason))
        )
        async with writing(self._engine) as conn:
            return int((await conn.execute(stmt)).rowcount)

    async def resume_destinations(
        self,
        platform: Platform,
        *,
        reason: str,
        workspace: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> int:
        stmt = (
            update(destinations)
            .where(
                self._place(platform, workspace, channels),
                destinations.c.paused_reason == self._text(reason),
            )
            .values(paused_reason=None)
        )
        async with writing(self._engine) as conn:
            return int((await conn.execute(stmt)).rowcount)

    # platforms and workspaces ----------------------------------------------------------------

    async def platform_states(self) -> list[PlatformState]:
        async with reading(self._engine) as conn:
            rows = (await conn.execute(select(platform_state))).mappings()
            return [
                PlatformState(
                    Platform(row["platform"]),
                    paused_reason=row["paused_reason"],
                    paused_at=row["paused_at"],
                    retry_at=row["retry_at"],
                    last_ok=row["last_ok"],
                )
                for row in rows
            ]

    async def save_platform_state(self, state: PlatformState) -> None:
        values = {
            "platform": state.platform.value,
            "paused_reason": self._text(state.paused_reason),
            "paused_at": state.paused_at,
            "retry_at": state.retry_at,
            "last_ok": state.last_ok,
        }
        stmt = self._insert(platform_state).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[platform_state.c.platform],
            set_={k: v for k, v in values.items() if k != "platform"},
        )
        async with writing(self._engine) as conn:
            await conn.execute(stmt)

    async def mark_workspace_used(
        self, platform: Platform, workspace: str, *, now: datetime
    ) -> bool:
        stmt = (
            self._insert(workspaces)
            .values(platform=platform.value, workspace=workspace, first_used=now)
            .on_conflict_do_nothing()
        )
        async with writing(self._engine) as conn:
            return int((await conn.execute(stmt)).rowcount) == 1

    # roundups ----------------------------------------------------------------------------------

    async def queue_roundup(
        self, roundup: Roundup, *, now: datetime, status: RoundupStatus = RoundupStatus.PENDING
    ) -> tuple[QueuedRoundup, bool]:
        """Queue the destination's roundup of its period once: (the queued one, created?)."""
        async with writing(self._engine) as conn:
            return await self._queue_roundup(conn, roundup, now=now, status=status)

    async def _queue_roundup(
        self, conn: AsyncConnection, roundup: Roundup, *, now: datetime, status: RoundupStatus
    ) -> tuple[QueuedRoundup, bool]:
        paper_ids = [e.arxiv_id for s in roundup.sections for e in s.entries]
        stmt = (
            self._insert(roundups)
            .values(
                destination_id=roundup.destination_id,
                week=roundup.period.label,
                status=status.value,
                paper_ids=paper_ids,
                content=_roundup_to_json(roundup),
                part_ids=[],
                created_at=now,
                due_at=now,
                attempts=0,
                maybe_posted=False,
            )
            .on_conflict_do_nothing()
        )
        created = (await conn.execute(stmt)).rowcount == 1
        row = (
            (
                await conn.execute(
                    select(roundups).where(
                        roundups.c.destination_id == roundup.destination_id,
                        roundups.c.week == roundup.period.label,
                    )
                )
            )
            .mappings()
            .one()
        )
        return _row_to_queued(row), created

    async def queue_digest(
        self, roundup: Roundup, delivery_ids: Sequence[int], *, now: datetime
    ) -> tuple[QueuedRoundup, bool]:
        """Queue a daily digest and, in the same transaction, mark the cards it carries as
        delivered by it (so each paper reaches the channel once, in the digest)."""
        async with writing(self._engine) as conn:
            queued, created = await self._queue_roundup(
                conn, roundup, now=now, status=RoundupStatus.PENDING
            )
            if created and delivery_ids:
                await conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.id.in_(list(delivery_ids)),
                        deliveries.c.status == DeliveryStatus.PENDING.value,
                    )
                    .values(
                        status=DeliveryStatus.SKIPPED.value,
                        message_id=f"digest:{roundup.period.label}",
                        sent_at=now,
                    )
                )
        return queued, created

    async def claim_roundups(
        self,
        *,
        now: datetime,
        limit: int,
        lease_seconds: float,
        token: str,
        platforms: Collection[Platform] | None = None,
    ) -> list[QueuedRoundup]:
        """Claim due roundups for a lease; an expired claim comes back in doubt."""
        due = or_(
            and_(roundups.c.status == RoundupStatus.PENDING.value, roundups.c.due_at <= now),
            and_(roundups.c.status == RoundupStatus.CLAIMED.value, roundups.c.claimed_until < now),
        )
        stopped = [destinations.c.paused_reason.is_not(None)]
        if platforms is not None:
            stopped.append(destinations.c.platform.not_in([p.value for p in platforms]))
        paused = select(destinations.c.id).where(or_(*stopped))
        pick = (
            select(roundups)
            .where(due, roundups.c.destination_id.not_in(paused))
            .order_by(roundups.c.due_at, roundups.c.id)
            .limit(limit)
        )
        if self._pg:
            pick = pick.with_for_update(skip_locked=True, of=roundups)
        until = now + timedelta(seconds=lease_seconds)
        claimed: list[QueuedRoundup] = []
        async with writing(self._engine) as conn:
            for row in list((await conn.execute(pick)).mappings()):
                in_doubt = bool(row["maybe_posted"]) or row["status"] == RoundupStatus.CLAIMED
                result = await conn.execute(
                    update(roundups)
                    .where(roundups.c.id == row["id"], roundups.c.status == row["status"])
                    .values(
                        status=RoundupStatus.CLAIMED.value,
                        claim_token=token,
                        claimed_until=until,
                        attempts=roundups.c.attempts + 1,
                        maybe_posted=in_doubt,
                    )
                )
                if result.rowcount == 1:
                    claimed.append(
                        _row_to_queued(
                            {**row, "claim_token": token, "attempts": row["attempts"] + 1},
                            in_doubt=in_doubt,
                        )
                    )
        return claimed

    def _owns_roundup(self, roundup_id: int, token: str) -> Any:
        return and_(
            roundups.c.id == roundup_id,
            roundups.c.claim_token == token,
            roundups.c.status == RoundupStatus.CLAIMED.value,
        )

    async def record_roundup_part(
        self,
        roundup_id: int,
        token: str,
        *,
        part_ids: Sequence[str],
        thread_id: str | None,
        lease_seconds: float,
        now: datetime,
    ) -> bool:
        """Record the parts posted so far (and the thread); extends the claim's lease."""
        values: dict[str, Any] = {
            "part_ids": list(part_ids),
            "maybe_posted": False,
            "claimed_until": now + timedelta(seconds=lease_seconds),
        }
        if thread_id is not None:
            values["thread_id"] = thread_id
        if part_ids:
            values["message_id"] = part_ids[0]
        stmt = update(roundups).where(self._owns_roundup(roundup_id, token)).values(**values)
        async with writing(self._engine) as conn:
            return int((await conn.execute(stmt)).rowcount) == 1

    async def finish_roundup(self, roundup_id: int, token: str, *, now: datetime) -> bool:
        stmt = (
            update(roundups)
            .where(self._owns_roundup(roundup_id, token))
            .values(
                status=RoundupStatus.SENT.value,
                posted_at=now,
                claim_token=None,
                claimed_until=None,
                last_error=None,
            )
        )
        async with writing(self._engine) as conn:
            return int((await conn.execute(stmt)).rowcount) == 1

    async def retry_roundup(
        self, roundup_id: int, token: str, *, due_at: datetime, error: str, maybe_posted: bool
    ) -> bool:
        stmt = (
            update(roundups)
            .where(self._owns_roundup(roundup_id, token))
            .values(
                status=RoundupStatus.PENDING.value,
                due_at=due_at,
                claim_token=None,
                claimed_until=None,
                last_error=self._text(error),
                maybe_posted=maybe_posted,
            )
        )
        async with writing(self._engine) as conn:
            return int((await conn.execute(stmt)).rowcount) == 1

    async def list_roundups(
        self, destination_id: int, *, limit: int = 20, label: str | None = None
    ) -> list[QueuedRoundup]:
        """The destination's queued and posted roundups, newest period first."""
        stmt = select(roundups).where(
            roundups.c.destination_id == destination_id, roundups.c.content.is_not(None)
        )
        if label is not None:
            stmt = stmt.where(roundups.c.week == label)
        stmt = stmt.order_by(roundups.c.created_at.desc(), roundups.c.id.desc()).limit(limit)
        async with reading(self._engine) as conn:
            return [_row_to_queued(row) for row in (await conn.execute(stmt)).mappings()]

    # housekeeping ------------------------------------------------------------------------------

    async def prune(self, *, before: datetime) -> dict[str, int]:
        """Delete what is done and older than ``before``: posted or failed deliveries (never a
        row still due or in flight), cached summaries, posted roundups. How many of each."""
        done = [
            DeliveryStatus.SENT.value,
            DeliveryStatus.FAILED.value,
            DeliveryStatus.SKIPPED.value,
        ]
        statements = {
            "deliveries": delete(deliveries).where(
                deliveries.c.status.in_(done),
                func.coalesce(deliveries.c.sent_at, deliveries.c.created_at) < before,
            ),
            "summaries": delete(summaries).where(summaries.c.created_at < before),
            "roundups": delete(roundups).where(
                roundups.c.status.in_([RoundupStatus.SENT.value, RoundupStatus.SILENT.value]),
                roundups.c.created_at < before,
            ),
        }
        counts: dict[str, int] = {}
        async with writing(self._engine) as conn:
            for name, stmt in statements.items():
                counts[name] = int((await conn.execute(stmt)).rowcount)
        return counts
