"""Each channel's weekly roundup at its own day, hour and time zone, daylight saving included;
the jobs follow the database (a changed schedule is moved, a dropped one removed)."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.adapters.scheduler import Weekly, sync_weekly_jobs


async def _job() -> None:
    return None


def _fires(when: Weekly, after: datetime, count: int) -> list[datetime]:
    trigger = when.trigger()
    fires: list[datetime] = []
    previous = None
    now = after
    for _ in range(count):
        nxt = trigger.get_next_fire_time(previous, now)
        assert nxt is not None
        fires.append(nxt.astimezone(UTC))
        previous, now = nxt, nxt
    return fires


def test_friday_4pm_in_paris_across_the_end_of_summer_time() -> None:
    fires = _fires(Weekly("fri", 16, "Europe/Paris"), datetime(2026, 10, 19, tzinfo=UTC), 3)
    assert fires == [
        datetime(2026, 10, 23, 14, 0, tzinfo=UTC),  # CEST: UTC+2
        datetime(2026, 10, 30, 15, 0, tzinfo=UTC),  # CET since 25 Oct: UTC+1
        datetime(2026, 11, 6, 15, 0, tzinfo=UTC),
    ]


def test_a_channel_in_another_zone_keeps_its_own_local_hour() -> None:
    fires = _fires(Weekly("mon", 9, "Asia/Tokyo"), datetime(2026, 10, 19, 1, tzinfo=UTC), 2)
    assert fires == [
        datetime(2026, 10, 26, 0, 0, tzinfo=UTC),  # 09:00 in Tokyo, no daylight saving
        datetime(2026, 11, 2, 0, 0, tzinfo=UTC),
    ]


async def test_the_jobs_follow_the_database() -> None:
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        sync_weekly_jobs(
            scheduler,
            "roundup",
            {"1": (Weekly("fri", 16, "Europe/Paris"), _job), "2": (Weekly("mon", 9, "UTC"), _job)},
        )
        assert {j.id for j in scheduler.get_jobs()} == {"roundup:1", "roundup:2"}
        sync_weekly_jobs(scheduler, "roundup", {"1": (Weekly("thu", 10, "Europe/Paris"), _job)})
        [job] = scheduler.get_jobs()
        assert job.id == "roundup:1"
        assert "thu 10:00 Europe/Paris" in job.name
        fire = job.trigger.get_next_fire_time(None, datetime(2026, 10, 19, tzinfo=UTC))
        assert fire.astimezone(UTC) == datetime(2026, 10, 22, 8, 0, tzinfo=UTC)
    finally:
        scheduler.shutdown(wait=False)
