"""Prometheus metrics (prometheus-client): what an operator graphs and alerts on.

Counters move as things happen (polls, deliveries, 429s, lookups); gauges that describe the
database (papers stored, the queue) are read from it when /metrics is scraped, so every
worker of a deployment reports the same shared state. Each process has its own registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.core.models import Platform, PollState
from bot.services.ports import QueueStats

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "paperwire_polls", "Polls of a source, by outcome", ["source", "outcome"], registry=r
        )
        self.papers = Gauge("paperwire_papers_stored", "Papers in the database", registry=r)
        self.deliveries = Counter(
            "paperwire_deliveries",
            "Cards handled, by platform and outcome",
            ["platform", "outcome"],
            registry=r,
        )
        self.queue = Gauge("paperwire_queue", "Outbox rows, by status", ["status"], registry=r)
        self.oldest_due = Gauge(
            "paperwire_queue_oldest_due_age_seconds",
            "How long the oldest pending card has been due (0 when none is overdue)",
            registry=r,
        )
        self.lookups = Histogram(
            "paperwire_lookup_seconds",
            "Time to answer /paper, by platform",
            ["platform"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.rate_limited = Counter(
            "paperwire_rate_limited", "429 answers received, by platform", ["platform"], registry=r
        )
        self.leader = Gauge(
            "paperwire_leader", "1 when this process polls and runs the roundups", registry=r
        )
        self.last_success = Gauge(
            "paperwire_source_last_success_timestamp_seconds",
            "When a source was last polled successfully",
            ["source"],
            registry=r,
        )
        self.failures = Gauge(
            "paperwire_source_consecutive_failures",
            "Failed polls of a source since its last success",
            ["source"],
            registry=r,
        )
        self._seen_429: dict[Platform, int] = {}

    def observe_lookup(self, platform: Platform, seconds: float) -> None:
        self.lookups.labels(platform.value).observe(seconds)

    def count_deliveries(self, outcomes: Iterable[tuple[str, str, int]]) -> None:
        for platform, outcome, count in outcomes:
            self.deliveries.labels(platform, outcome).inc(count)

    def count_rate_limited(self, platform: Platform, total: int) -> None:
        """``total``: 429s the platform's publisher has seen since it started."""
        delta = total - self._seen_429.get(platform, 0)
        if delta > 0:
            self.rate_limited.labels(platform.value).inc(delta)
            self._seen_429[platform] = total

    def describe(
        self,
        *,
        now: datetime,
        papers: int,
        queue: QueueStats,
        polls: Iterable[PollState],
        leader: bool,
    ) -> None:
        """The gauges, from the database's state as of ``now``."""
        self.papers.set(papers)
        for status in ("pending", "claimed", "sent", "failed"):
            self.queue.labels(status).set(queue.by_status.get(status, 0))
        overdue = 0.0
        if queue.oldest_pending is not None and queue.oldest_pending < now:
            overdue = (now - queue.oldest_pending).total_seconds()
        self.oldest_due.set(overdue)
        self.leader.set(1 if leader else 0)
        for state in polls:
            if state.last_success is not None:
                self.last_success.labels(state.source).set(state.last_success.timestamp())
            self.failures.labels(state.source).set(state.consecutive_failures)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
