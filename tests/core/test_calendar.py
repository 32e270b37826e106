"""arXiv's calendar: quiet days are explained, stale feeds are called stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.calendar import (
    EASTERN,
    FeedState,
    ago,
    duration,
    feed_health,
    last_announcement,
    until,
)


def et(*args: int) -> datetime:
    return datetime(*args, tzinfo=EASTERN).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (et(2026, 11, 19, 21, 0), et(2026, 11, 19, 20, 0)),  # Thursday evening
        (et(2026, 11, 19, 19, 0), et(2026, 11, 18, 20, 0)),  # Thursday before 20:00
        (et(2026, 11, 21, 12, 0), et(2026, 11, 19, 20, 0)),  # Saturday: Thursday's
        (et(2026, 11, 22, 20, 30), et(2026, 11, 22, 20, 0)),  # Sunday evening
        (et(2026, 11, 23, 9, 0), et(2026, 11, 22, 20, 0)),  # Monday morning
    ],
)
def test_last_announcement(now: datetime, expected: datetime) -> None:
    assert last_announcement(now) == expected


def test_friday_and_saturday_say_no_announcement_is_expected() -> None:
    for now in (et(2026, 11, 20, 15, 0), et(2026, 11, 21, 15, 0)):
        polled = now - timedelta(minutes=30)
        health = feed_health(now, last_success=polled, last_change=et(2026, 11, 20, 1, 0))
        assert health.state is FeedState.QUIET
        assert health.message.startswith("no announcement expected")


def test_a_feed_that_did_not_change_after_an_announcement_is_stale() -> None:
    now = et(2026, 11, 18, 12, 0)  # Wednesday noon: Tuesday 20:00's listing is due
    health = feed_health(
        now, last_success=now - timedelta(minutes=20), last_change=et(2026, 11, 16, 1, 0)
    )
    assert health.state is FeedState.STALE


def test_no_success_since_the_rebuild_is_stale_with_hours() -> None:
    now = et(2026, 11, 18, 12, 0)
    health = feed_health(now, last_success=now - timedelta(hours=30), last_change=None)
    assert health.state is FeedState.STALE
    assert health.message == "stale: last success 30 hours ago"


def test_a_failing_poll_is_reported_with_its_error() -> None:
    now = et(2026, 11, 18, 12, 0)
    health = feed_health(
        now,
        last_success=now - timedelta(hours=2),
        last_change=now - timedelta(hours=2),
        last_error="arXiv unreachable (503)",
        last_error_at=now - timedelta(minutes=5),
    )
    assert health.state is FeedState.FAILING
    assert "503" in health.message


def test_fresh_weekday_feed_is_ok() -> None:
    now = et(2026, 11, 18, 12, 0)
    changed, polled = et(2026, 11, 18, 1, 0), et(2026, 11, 18, 11, 0)
    assert feed_health(now, last_success=polled, last_change=changed).state is FeedState.OK


def test_never_polled() -> None:
    assert feed_health(et(2026, 11, 18, 12, 0), last_success=None, last_change=None).state is (
        FeedState.NEVER
    )


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 minutes"),
        (29, "0 minutes"),
        (60, "1 minute"),
        (89, "1 minute"),
        (90, "2 minutes"),
        (45 * 60, "45 minutes"),
        (119 * 60, "119 minutes"),
        (120 * 60, "2 hours"),
        (30 * 3600, "30 hours"),
        (-300, "0 minutes"),  # a clock a little ahead is not a negative span
    ],
)
def test_duration_says_one_minute_and_many_minutes_and_hours(seconds: float, words: str) -> None:
    assert duration(seconds) == words


def test_ago_and_until_word_durations_alike_and_say_1_minute() -> None:
    now = et(2026, 11, 18, 12, 0)
    assert ago(now, now - timedelta(minutes=1)) == "1 minute ago"
    assert ago(now, now - timedelta(hours=3)) == "3 hours ago"
    assert until(now, now + timedelta(minutes=1)) == "1 minute"
    assert until(now, now + timedelta(seconds=5)) == "1 minute"  # soon, not "in 0 minutes"
    assert until(now, now + timedelta(hours=5)) == "5 hours"


def test_a_feed_polled_a_minute_ago_says_1_minute() -> None:
    now = et(2026, 11, 18, 12, 0)
    health = feed_health(
        now, last_success=now - timedelta(minutes=1), last_change=et(2026, 11, 18, 1, 0)
    )
    assert health.message == "ok: last success 1 minute ago"
