"""Subscriptions per destination, and the delivery planner that matching runs through."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.core.matching import SubscriptionIndex
from bot.core.models import Destination, DestinationRef, Paper, Subscription
from bot.core.planning import Candidate, plan_deliveries
from bot.core.query import QueryError, parse_query, parse_stored_query
from bot.core.settings_text import apply_settings
from bot.services.ports import (
    Clock,
    PlanFn,
    PlannedDelivery,
    Store,
    StoredPaper,
    UpsertReport,
)

__all__ = [
    "AddResult",
    "IndexCache",
    "SubscriptionNotFound",
    "SubscriptionService",
    "load_planner",
]

log = logging.getLogger(__name__)
MAX_BACKFILL_DAYS = 30
MAX_SUBSCRIPTIONS_PER_DESTINATION = 50


class SubscriptionNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class AddResult:
    subscription: Subscription
    created: bool
    backfilled: int = 0  # deliveries planned from papers already stored


class IndexCache:
    """The subscription index, kept between polls and rebuilt only when the set of active
    subscriptions changed (building it parses every query: seconds for 10,000 of them)."""

    def __init__(self) -> None:
        self._key: frozenset[tuple[int, str]] | None = None
        self._index: SubscriptionIndex | None = None
        self.builds = 0

    def index(self, subs: Sequence[Subscription]) -> SubscriptionIndex:
        key = frozenset((s.id, s.query) for s in subs)
        if self._index is None or key != self._key:
            self._index = SubscriptionIndex((s.id, parse_stored_query(s.query)) for s in subs)
            self._key = key
            self.builds += 1
        return self._index


async def load_planner(
    store: Store, clock: Clock, cache: IndexCache | None = None
) -> PlanFn | None:
    """Load the active subscriptions once and return the planner the store calls in its
    upsert transaction; None when nothing is subscribed."""
    subs = [s for s in await store.list_subscriptions() if not s.paused]
    if not subs:
        return None
    destinations = {d.id: d for d in await store.list_destinations()}
    by_id = {s.id: s for s in subs}
    index = (cache or IndexCache()).index(subs)
    now = clock.now()

    def plan(report: UpsertReport, papers: Sequence[StoredPaper]) -> list[PlannedDelivery]:
        changed = set(report.new) | set(report.updated)
        revised = set(report.revised)
        candidates = [
            Candidate(p.paper, p.first_seen, revised=p.paper.arxiv_id in revised)
            for p in papers
            if p.paper.arxiv_id in changed
        ]
        return plan_deliveries(candidates, index, by_id, destinations, now=now)

    return plan


class SubscriptionService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def add(
        self,
        ref: DestinationRef,
        query_text: str,
        *,
        backfill_days: int = 0,
        added_by: str | None = None,
        added_by_name: str | None = None,
    ) -> AddResult:
        """Subscribe ``ref`` to a query. It starts from now unless a backfill is asked for.

        Raises QueryError (with position and fix) for a bad query, ValueError for a bad backfill.
        """
        if not 0 <= backfill_days <= MAX_BACKFILL_DAYS:
            raise ValueError(f"backfill must be 0 to {MAX_BACKFILL_DAYS} days, got {backfill_days}")
        query = parse_query(query_text)  # validate before anything is written
        now = self._clock.now()
        dest = await self._store.ensure_destination(ref, now=now)
        existing = await self._store.list_subscriptions(dest.id)
        if len(existing) >= MAX_SUBSCRIPTIONS_PER_DESTINATION and all(
            s.query != query.normalized for s in existing
        ):
            raise ValueError(
                f"{ref} already has {len(existing)} subscriptions, the most a channel can have: "
                "remove one first"
            )
        starts_at = now - timedelta(days=backfill_days)
        sub, created = await self._store.add_subscription(
            dest.id,
            query.normalized,
            now=now,
            starts_at=starts_at,
            added_by=added_by,
            added_by_name=added_by_name,
        )
        backfilled = 0
        if created and backfill_days:
            backfilled = await self._backfill(dest, sub)
        return AddResult(sub, created, backfilled)

    async def _backfill(self, dest: Destination, sub: Subscription) -> int:
        now = self._clock.now()
        stored = await self._store.papers_seen_between(sub.starts_at, now)
        index = SubscriptionIndex([(sub.id, parse_stored_query(sub.query))])
        planned = plan_deliveries(
            [Candidate(p.paper, p.first_seen) for p in stored],
            index,
            {sub.id: sub},
            {dest.id: dest},
            now=now,
        )
        return await self._store.plan_deliveries(planned, now=now)

    async def remove(self, ref: DestinationRef, id_or_query: str) -> Subscription:
        """Remove by subscription id (as `subs list` shows it) or by query text."""
        dest = await self._store.get_destination(ref)
        subs = await self._store.list_subscriptions(dest.id) if dest else []
        target = self._find(subs, id_or_query)
        if dest is None or target is None:
            raise SubscriptionNotFound(
                f"{ref} has no subscription {id_or_query!r}: see `paperwire subs list {ref}`"
            )
        await self._store.remove_subscription(dest.id, target.id)
        return target

    async def set_paused(self, ref: DestinationRef, id_or_query: str, paused: bool) -> Subscription:
        dest = await self._store.get_destination(ref)
        subs = await self._store.list_subscriptions(dest.id) if dest else []
        target = self._find(subs, id_or_query)
        if dest is None or target is None:
            raise SubscriptionNotFound(
                f"{ref} has no subscription {id_or_query!r}: see `paperwire subs list {ref}`"
            )
        await self._store.set_subscription_paused(dest.id, target.id, paused)
        return dataclasses.replace(target, paused=paused)

    async def resume_destination(self, ref: DestinationRef) -> Destination:
        """Clear a pause the platform caused (after a person fixed the channel)."""
        dest = await self.destination(ref)
        return await self._store.update_destination(dest.id, clear_pause=True)

    async def configure(self, ref: DestinationRef, changes: Mapping[str, str]) -> Destination:
        """Change a destination's settings from ``key=value`` text; all or nothing."""
        dest = await self.destination(ref)
        settings = apply_settings(dest.settings, changes)
        return await self._store.update_destination(dest.id, settings=settings)

    async def destination(self, ref: DestinationRef) -> Destination:
        """The destination, or SubscriptionNotFound saying how to create it."""
        dest = await self._store.get_destination(ref)
        if dest is None:
            raise SubscriptionNotFound(
                f"{ref} has no subscriptions yet: add one with `paperwire subs add {ref} QUERY`"
            )
        return dest

    @staticmethod
    def _find(subs: Sequence[Subscription], id_or_query: str) -> Subscription | None:
        text = id_or_query.strip().removeprefix("#")
        if text.isdigit():
            return next((s for s in subs if s.id == int(text)), None)
        try:
            normalized = parse_stored_query(id_or_query).normalized
        except QueryError:
            return None
        return next((s for s in subs if s.query == normalized), None)

    async def preview(
        self, query_text: str, *, days: int, sample: int = 3
    ) -> tuple[int, list[Paper]]:
        """How many papers first seen in the last ``days`` days the query matches, and the
        newest ``sample`` of them (what a subscription would have brought)."""
        index = SubscriptionIndex([(0, parse_stored_query(query_text))])
        now = self._clock.now()
        stored = await self._store.papers_seen_between(now - timedelta(days=days), now)
        matched = [p.paper for p in stored if index.match(p.paper)]
        return len(matched), matched[::-1][:sample]

    async def recent_matches(self, subs: Sequence[Subscription], *, days: int) -> dict[int, int]:
        """For each subscription, how many papers of the last ``days`` days it matches."""
        index = SubscriptionIndex((s.id, parse_stored_query(s.query)) for s in subs)
        now = self._clock.now()
        counts: dict[int, int] = dict.fromkeys((s.id for s in subs), 0)
        for stored in await self._store.papers_seen_between(now - timedelta(days=days), now):
            for sid in index.match(stored.paper):
                counts[sid] += 1
        return counts

    async def would_deliver(self, papers: Sequence[Paper]) -> list[Paper]:
        """The papers that some active subscription matches (for a dry run)."""
        subs = [s for s in await self._store.list_subscriptions() if not s.paused]
        index = SubscriptionIndex((s.id, parse_stored_query(s.query)) for s in subs)
        return [p for p in papers if index.match(p)]

    async def list(
        self, ref: DestinationRef | None = None
    ) -> list[tuple[Destination, list[Subscription]]]:
        if ref is not None:
            dest = await self._store.get_destination(ref)
            if dest is None:
                return []
            return [(dest, await self._store.list_subscriptions(dest.id))]
        subs = await self._store.list_subscriptions()
        return [
            (dest, [s for s in subs if s.destination_id == dest.id])
            for dest in await self._store.list_destinations()
        ]
