"""What state paperwire is in: sources, platforms, the queue, pauses (for `paperwire status`,
``/healthz`` and ``/papers status``), and a log that reports an outage once, not every tick."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.calendar import FeedState, ago, feed_health
from bot.core.models import DestinationRef, Platform, PollState
from bot.services.ports import Clock, QueueStats, Store

__all__ = [
    "PLATFORM_SETTING",
    "IncidentLog",
    "PlatformHealth",
    "SourceHealth",
    "StatusReport",
    "StatusService",
]

log = logging.getLogger(__name__)

# The settings a platform needs before its cards can go out (None: always available).
PLATFORM_SETTING = {
    Platform.DISCORD: "DISCORD_TOKEN",
    Platform.SLACK: "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)",
}


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    state: FeedState
    message: str  # one line: "ok: last success 5 minutes ago", "failing: ...", "never polled"
    interval_minutes: int
    next_due: datetime | None = None
    last_attempt: datetime | None = None

    @property
    def failing(self) -> bool:
        return self.state in {FeedState.FAILING, FeedState.NEVER}


@dataclass(frozen=True, slots=True)
class PlatformHealth:
    platform: Platform
    configured: bool  # its token is set
    waiting: int = 0  # cards queued for its channels
    paused_reason: str | None = None  # the platform refused or could not be reached
    retry_at: datetime | None = None

    @property
    def problem(self) -> str | None:
        """One line saying why its cards do not go out, or None when they do."""
        if not self.configured:
            if not self.waiting:
                return None
            return (
                f"no {self.platform.value} token: {self.waiting} cards wait until you set "
                f"{PLATFORM_SETTING.get(self.platform, 'its token')} and restart paperwire run"
            )
        if self.paused_reason:
            return f"{self.platform.value} paused: {self.paused_reason}"
        return None


@dataclass(frozen=True, slots=True)
class StatusReport:
    now: datetime
    database: str
    sources: tuple[SourceHealth, ...]
    platforms: tuple[PlatformHealth, ...]
    papers: int
    queue: QueueStats
    destinations: int
    subscriptions: int
    paused: tuple[tuple[DestinationRef, str], ...] = ()

    @property
    def problems(self) -> list[str]:
        """What is wrong, a line each (empty when everything works)."""
        lines = [f"{s.name}: {s.message}" for s in self.sources if s.failing]
        lines.extend(p.problem for p in self.platforms if p.problem)
        return lines

    @property
    def healthy(self) -> bool:
        return not self.problems


class StatusService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        sources: Mapping[str, int],
        platforms: Mapping[Platform, bool],
        database: str,
    ) -> None:
        """``sources``: each polled source and its interval in minutes; ``platforms``: each
        chat platform and whether its token is configured; ``database``: where the data is."""
        self._store = store
        self._clock = clock
        self._sources = dict(sources)
        self._platforms = dict(platforms)
        self._database = database

    async def report(self) -> StatusReport:
        now = self._clock.now()
        states = {s.source: s for s in await self._store.all_poll_states()}
        stats = await self._store.queue_stats()
        destinations = await self._store.list_destinations()
        platform_states = {p.platform: p for p in await self._store.platform_states()}
        platforms = []
        for platform, configured in self._platforms.items():
            state = platform_states.get(platform)
            platforms.append(
                PlatformHealth(
                    platform,
                    configured,
                    waiting=stats.pending_by_platform.get(platform.value, 0),
                    paused_reason=state.paused_reason if state else None,
                    retry_at=state.retry_at if state else None,
                )
            )
        return StatusReport(
            now=now,
            database=self._database,
            sources=tuple(
                source_health(name, states.get(name), now, minutes)
                for name, minutes in self._sources.items()
            ),
            platforms=tuple(platforms),
            papers=await self._store.count_papers(),
            queue=stats,
            destinations=len(destinations),
            subscriptions=len(await self._store.list_subscriptions()),
            paused=tuple((d.ref, d.paused_reason) for d in destinations if d.paused_reason),
        )


def source_health(name: str, state: PollState | None, now: datetime, minutes: int) -> SourceHealth:
    """How one polled source is doing; arXiv's quiet days are explained by its calendar."""
    state = state or PollState(source=name)
    next_due = None
    if state.last_attempt is not None:
        next_due = state.last_attempt + timedelta(minutes=minutes)
    if name == "arxiv":
        health = feed_health(
            now,
            last_success=state.last_success,
            last_change=state.last_change,
            last_error=state.last_error,
            last_error_at=state.last_error_at,
        )
        return SourceHealth(
            name, health.state, health.message, minutes, next_due, state.last_attempt
        )
    failed_last = state.last_error_at is not None and (
        state.last_success is None or state.last_error_at > state.last_success
    )
    if failed_last:
        since = f"; last success {ago(now, state.last_success)}" if state.last_success else ""
        message = f"failing: {state.last_error}{since}"
        return SourceHealth(name, FeedState.FAILING, message, minutes, next_due, state.last_attempt)
    if state.last_success is None:
        return SourceHealth(
            name, FeedState.NEVER, "never polled yet", minutes, next_due, state.last_attempt
        )
    message = f"ok: last success {ago(now, state.last_success)}"
    return SourceHealth(name, FeedState.OK, message, minutes, next_due, state.last_attempt)


@dataclass
class IncidentLog:
    """Logs a dependency's failure once when it starts and once when it ends, not every tick."""

    logger: logging.Logger = field(default_factory=lambda: log)
    _open: dict[str, str] = field(default_factory=dict)

    def failed(self, key: str, message: str) -> None:
        if self._open.get(key) != message:
            first = key not in self._open
            self._open[key] = message
            self.logger.error("%s%s", message, "" if first else " (still failing)")

    def recovered(self, key: str, message: str) -> None:
        if self._open.pop(key, None) is not None:
            self.logger.warning("%s", message)

    def current(self, key: str) -> str | None:
        return self._open.get(key)
