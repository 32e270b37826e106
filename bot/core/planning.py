"""Deciding deliveries: which stored papers go to which destinations, and when (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.matching import SubscriptionIndex
from bot.core.models import DeliveryMode, Destination, Paper, Subscription

__all__ = ["Candidate", "PlannedDelivery", "next_digest_time", "plan_deliveries"]


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    arxiv_id: str
    destination_id: int
    version: int
    due_at: datetime
    # Re-open a row already sent for an older version (the destination asked for revisions).
    reopen: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """A paper that changed in this cycle, with when we first saw it."""

    paper: Paper
    first_seen: datetime
    revised: bool = False  # its version went up in this cycle


def next_digest_time(now: datetime, timezone: str, hour: int) -> datetime:
    """The next ``hour``:00 in ``timezone`` at or after ``now`` (returned in UTC)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target < local:
        target = (target + timedelta(days=1)).replace(hour=hour)
    return target.astimezone(now.tzinfo)


def plan_deliveries(
    candidates: Iterable[Candidate],
    index: SubscriptionIndex,
    subscriptions: Mapping[int, Subscription],
    destinations: Mapping[int, Destination],
    *,
    now: datetime,
) -> list[PlannedDelivery]:
    """One delivery per (paper, destination) whose active subscriptions match the paper.

    A subscription only takes papers first seen at or after it starts (no backlog flood). A
    revision is re-posted only where the destination asked for revisions; elsewhere the outbox
    row (unique per paper and destination) keeps the paper from being posted twice.
    """
    planned: list[PlannedDelivery] = []
    for cand in candidates:
        targets: set[int] = set()
        for sub_id in index.match(cand.paper):
            sub = subscriptions.get(sub_id)
            if sub is None or sub.paused or cand.first_seen < sub.starts_at:
                continue
            dest = destinations.get(sub.destination_id)
            if dest is None or dest.paused_reason is not None:
                continue
            targets.add(dest.id)
        for dest_id in sorted(targets):
            settings = destinations[dest_id].settings
            due = (
                next_digest_time(now, settings.timezone, settings.digest_hour)
                if settings.mode is DeliveryMode.DIGEST
                else now
            )
            planned.append(
                PlannedDelivery(
                    cand.paper.arxiv_id,
                    dest_id,
                    cand.paper.version,
                    due,
                    reopen=cand.revised and settings.revisions,
                )
            )
    return planned
