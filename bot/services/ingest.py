"""One poll cycle per source: fetch, parse, upsert by canonical id, plan deliveries, report."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.core.models import Paper, PollState
from bot.services.ports import (
    Clock,
    Enricher,
    ListingSource,
    PlanFn,
    Rejected,
    SourceError,
    Store,
)

__all__ = ["IngestService", "PlanFactory", "Preview", "SourceReport"]

log = logging.getLogger(__name__)

# Builds the delivery planner for this cycle (it loads the subscriptions once, before the
# transaction that stores the papers and writes the outbox rows).
PlanFactory = Callable[[], Awaitable[PlanFn | None]]


@dataclass(frozen=True, slots=True)
class SourceReport:
    source: str
    new: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    revised: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    not_modified: bool = False
    note: str | None = None
    error: str | None = None
    enrich_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One line for the terminal and the logs."""
        if self.error is not None:
            return f"{self.source}: failed: {self.error}"
        if self.not_modified:
            return f"{self.source}: not modified since the last poll (304)"
        line = (
            f"{self.source}: {len(self.new)} new, {len(self.updated)} updated "
            f"({len(self.revised)} new versions), {len(self.unchanged)} unchanged, "
            f"{len(self.rejected)} rejected"
        )
        if self.note:
            line += f"; {self.note}"
        if self.enrich_error:
            line += f"; enrichment skipped: {self.enrich_error}"
        return line


@dataclass(frozen=True, slots=True)
class Preview:
    source: str
    new: tuple[Paper, ...] = ()
    error: str | None = None


class IngestService:
    def __init__(
        self,
        store: Store,
        sources: Mapping[str, ListingSource],
        clock: Clock,
        *,
        plan_factory: PlanFactory | None = None,
        enricher: Enricher | None = None,
        prepare: Callable[[Sequence[Paper]], Awaitable[int]] | None = None,
    ) -> None:
        """``prepare``: makes the card parts of papers just stored (CardService.prepare)."""
        self._store = store
        self._sources = sources
        self._clock = clock
        self._plan_factory = plan_factory
        self._enricher = enricher
        self._prepare = prepare

    @property
    def source_names(self) -> list[str]:
        return list(self._sources)

    async def poll_all(self, names: Sequence[str] | None = None) -> list[SourceReport]:
        return [await self.poll(name) for name in (names or list(self._sources))]

    async def poll(self, name: str, *, today: date | None = None) -> SourceReport:
        """One cycle of one source; ``today`` (UTC) is the last day a dated source reads."""
        source = self._sources[name]
        state = await self._store.get_poll_state(name)
        started = self._clock.now()
        try:
            result = await source.poll(state, today=today or started.date())
        except SourceError as exc:  # reported to the caller, which logs or prints it
            await self._store.save_poll_state(
                dataclasses.replace(
                    state,
                    last_attempt=started,
                    last_error=exc.message,
                    last_error_at=self._clock.now(),
                    consecutive_failures=state.consecutive_failures + 1,
                )
            )
            return SourceReport(name, error=exc.message)

        papers = list(result.papers)
        enrich_error = None
        if papers and self._enricher is not None:
            papers, enrich_error = await self._enrich(papers)
        plan = await self._plan_factory() if self._plan_factory and papers else None
        report = await self._store.upsert_papers(papers, now=self._clock.now(), plan=plan)
        changed = bool(report.new or report.updated)
        await self._store.save_poll_state(
            PollState(
                source=name,
                etag=result.etag or (state.etag if result.not_modified else None),
                last_modified=result.last_modified
                or (state.last_modified if result.not_modified else None),
                last_attempt=started,
                last_success=self._clock.now(),
                last_change=self._clock.now() if changed else state.last_change,
                last_error=None,
                last_error_at=state.last_error_at,
                consecutive_failures=0,
            )
        )
        if changed and self._prepare is not None:  # after the poll is on record
            await self._prepare_cards([*report.new, *report.updated])
        for rejected in result.rejected:
            log.info("%s: rejected %s: %s", name, rejected.identifier, rejected.reason)
        return SourceReport(
            name,
            new=report.new,
            updated=report.updated,
            revised=report.revised,
            unchanged=report.unchanged,
            rejected=result.rejected,
            not_modified=result.not_modified,
            note=result.note,
            enrich_error=enrich_error,
        )

    async def _prepare_cards(self, arxiv_ids: Sequence[str]) -> None:
        """The new and changed papers' card parts, made now so that their first lookup does
        not pay for them. A failure here loses nothing: a card makes what it lacks."""
        assert self._prepare is not None
        try:
            stored = await self._store.get_papers(arxiv_ids)
            await self._prepare([s.paper for s in stored.values()])
        except Exception as exc:
            log.warning("preparing the cards of %d papers failed: %s", len(arxiv_ids), exc)

    async def preview(self, name: str) -> Preview:
        """What a poll would bring that is not stored yet; nothing is stored or remembered."""
        state = await self._store.get_poll_state(name)
        fresh_state = dataclasses.replace(state, etag=None, last_modified=None)
        try:
            result = await self._sources[name].poll(fresh_state, today=self._clock.now().date())
        except SourceError as exc:
            return Preview(name, error=exc.message)
        known = await self._store.get_papers([p.arxiv_id for p in result.papers])
        return Preview(name, new=tuple(p for p in result.papers if p.arxiv_id not in known))

    async def _enrich(self, papers: list[Paper]) -> tuple[list[Paper], str | None]:
        assert self._enricher is not None
        try:
            signals = await self._enricher.enrich([p.arxiv_id for p in papers])
        except SourceError as exc:
            log.warning("enrichment failed: %s", exc)
            return papers, exc.message
        return [
            dataclasses.replace(p, s2=signals[p.arxiv_id]) if p.arxiv_id in signals else p
            for p in papers
        ], None
