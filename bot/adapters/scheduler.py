"""APScheduler 3.x jobs: each source's poll, the delivery loop, each channel's weekly roundup.
The job store stays in memory: jobs are built at start from the settings and the database, and
the roundup jobs are brought in line with the database every minute."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

__all__ = ["Job", "Weekly", "build_scheduler", "sync_weekly_jobs"]

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


@dataclass(frozen=True, slots=True)
class Weekly:
    """A job at one local hour of one day a week, in an IANA time zone (day names, as
    APScheduler's CronTrigger takes them: mon ... sun)."""

    day: str
    hour: int
    timezone: str

    def trigger(self) -> CronTrigger:
        return CronTrigger(
            day_of_week=self.day, hour=self.hour, minute=0, timezone=ZoneInfo(self.timezone)
        )


def sync_weekly_jobs(
    scheduler: AsyncIOScheduler, prefix: str, wanted: Mapping[str, tuple[Weekly, Job]]
) -> None:
    """Make the scheduler's ``prefix:*`` jobs exactly ``wanted`` (key -> when, what): new
    ones added, changed schedules rescheduled, the rest removed. The database is the truth;
    this runs at start and whenever it may have changed."""
    existing = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(f"{prefix}:")}
    for key, (when, job) in wanted.items():
        job_id = f"{prefix}:{key}"
        name = f"{prefix} {key} {when.day} {when.hour:02d}:00 {when.timezone}"
        current = existing.pop(job_id, None)
        if current is None:
            scheduler.add_job(
                job,
                when.trigger(),
                id=job_id,
                name=name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=3600,
            )
            log.info("scheduled %s", name)
        elif current.name != name:
            scheduler.modify_job(job_id, name=name)
            scheduler.reschedule_job(job_id, trigger=when.trigger())
            log.info("rescheduled %s", name)
    for job_id in existing:
        scheduler.remove_job(job_id)
