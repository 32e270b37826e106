"""APScheduler 3.x jobs: each source's poll, the delivery loop. The job store stays in memory;
jobs are rebuilt at start from the settings (and, later, from the database)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

__all__ = ["Job", "build_scheduler"]

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


def build_scheduler(
    polls: Mapping[str, tuple[Job, float]],
    deliver: tuple[Job, float],
) -> AsyncIOScheduler:
    """A scheduler with one interval job per source (minutes) and the delivery loop (seconds).

    Polls start at once and then run with jitter; ``coalesce`` and ``max_instances=1`` make a
    slow poll skip rather than pile up.
    """
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    for index, (name, (job, minutes)) in enumerate(polls.items()):
        scheduler.add_job(
            job,
            IntervalTrigger(minutes=minutes, jitter=min(60.0, minutes * 6)),
            id=f"poll:{name}",
            name=f"poll {name}",
            coalesce=True,
            max_instances=1,
            next_run_time=now + timedelta(seconds=2 * index),
            misfire_grace_time=int(minutes * 30),
        )
    job, seconds = deliver
    scheduler.add_job(
        job,
        IntervalTrigger(seconds=seconds),
        id="deliver",
        name="deliver",
        coalesce=True,
        max_instances=1,
        next_run_time=now + timedelta(seconds=5),
    )
    return scheduler
