"""arXiv's announcement calendar, so a quiet feed is explained rather than silent (pure).

arXiv announces new submissions Sunday to Thursday at 20:00 US Eastern; the listing feed is
rebuilt around midnight Eastern after each announcement, so it carries new papers Monday to
Friday (Eastern) and is empty on Saturday and Sunday. Holidays (a handful of days a year) are
not modelled: on those days the status says "stale" until the next announcement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "ANNOUNCE_TIME",
    "EASTERN",
    "FeedHealth",
    "FeedState",
    "ago",
    "announces_on",
    "duration",
    "feed_health",
    "last_announcement",
    "until",
]

EASTERN = ZoneInfo("America/New_York")
ANNOUNCE_TIME = time(20, 0)
_ANNOUNCE_DAYS = {6, 0, 1, 2, 3}  # Sunday..Thursday (Monday is 0)
# The feed is rebuilt after the announcement; allow for its rebuild and our poll interval.
REBUILD_GRACE = timedelta(hours=6)


def announces_on(day_eastern: datetime) -> bool:
    """Whether arXiv announces on this (Eastern) calendar day."""
    return day_eastern.astimezone(EASTERN).weekday() in _ANNOUNCE_DAYS


def last_announcement(now: datetime) -> datetime:
    """The most recent announcement at or before ``now`` (UTC-aware)."""
    local = now.astimezone(EASTERN)
    for back in range(8):
        day = (local - timedelta(days=back)).date()
        moment = datetime.combine(day, ANNOUNCE_TIME, tzinfo=EASTERN)
        if moment <= local and moment.weekday() in _ANNOUNCE_DAYS:
            return moment.astimezone(UTC)
    raise AssertionError("an announcement happens every week")  # pragma: no cover


class FeedState(StrEnum):
    NEVER = "never"  # never polled successfully
    OK = "ok"
    QUIET = "quiet"  # nothing expected right now
    STALE = "stale"  # something was expected and did not come
    FAILING = "failing"  # the last poll failed


@dataclass(frozen=True, slots=True)
class FeedHealth:
    state: FeedState
    message: str


def duration(seconds: float) -> str:
    """ "1 minute", "90 minutes", "5 hours": a span in whole minutes, in hours from two hours on.

    The one place durations are worded, so every message says "1 minute" and "2 hours" alike.
    """
    minutes = max(0, round(seconds / 60))
    if minutes < 120:
        return _count(minutes, "minute")
    return _count(round(minutes / 60), "hour")


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def ago(now: datetime, then: datetime) -> str:
    """ "1 minute ago", "5 hours ago": how long before ``now`` ``then`` was."""
    return f"{duration((now - then).total_seconds())} ago"


def until(now: datetime, then: datetime) -> str:
    """ "1 minute", "3 hours": how long from ``now`` until ``then``, for "next poll in ...".

    At least a minute: a moment seconds away is still to come, and "in 0 minutes" reads as now.
    """
    return duration(max(60.0, (then - now).total_seconds()))


def feed_health(
    now: datetime,
    *,
    last_success: datetime | None,
    last_change: datetime | None,
    last_error: str | None = None,
    last_error_at: datetime | None = None,
) -> FeedHealth:
    """Say, in a line, whether the arXiv feed is doing what the calendar says it should.

    ``last_change`` is the last successful poll whose content differed from the one before.
    """
    if last_error and last_error_at and (last_success is None or last_error_at > last_success):
        since = f"; last success {ago(now, last_success)}" if last_success else ""
        return FeedHealth(FeedState.FAILING, f"failing: {last_error}{since}")
    if last_success is None:
        return FeedHealth(FeedState.NEVER, "never polled: run `paperwire poll`")
    # The latest moment by which the feed should already show an announcement.
    announced = last_announcement(now - REBUILD_GRACE)
    deadline = announced + REBUILD_GRACE
    if last_success < deadline:
        return FeedHealth(FeedState.STALE, f"stale: last success {ago(now, last_success)}")
    if last_change is not None and last_change < announced:
        return FeedHealth(
            FeedState.STALE,
            f"stale: the feed has not changed since {ago(now, last_change)} although arXiv "
            f"announced {ago(now, announced)} (last success {ago(now, last_success)})",
        )
    if not announces_on(now):
        return FeedHealth(
            FeedState.QUIET,
            "no announcement expected today (arXiv announces Sunday to Thursday); "
            f"last success {ago(now, last_success)}",
        )
    return FeedHealth(FeedState.OK, f"ok: last success {ago(now, last_success)}")
