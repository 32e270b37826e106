"""The Metrics object's exposition: each family the app records once, with its samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.metrics import Metrics
from bot.core.models import Platform, PollState
from bot.services.ports import QueueStats


def test_recorded_deliveries_lookups_429s_and_papers_are_exposed_once_each() -> None:
    now = datetime(2026, 6, 12, 12, 0, tzinfo=UTC)
    metrics = Metrics()
    metrics.count_deliveries([("discord", "sent", 3), ("slack", "retried", 1)])
    metrics.count_deliveries([("discord", "sent", 2)])
    metrics.observe_lookup(Platform.DISCORD, 0.03)
    metrics.count_rate_limited(Platform.SLACK, 2)  # totals since the publisher started...
    metrics.count_rate_limited(Platform.SLACK, 2)  # ...so a scrape with no new 429 adds none
    metrics.count_rate_limited(Platform.SLACK, 5)
    metrics.describe(
        now=now,
        papers=219,
        queue=QueueStats(
            by_status={"pending": 4, "sent": 7}, oldest_pending=now - timedelta(seconds=90)
        ),
        polls=[PollState("arxiv", last_success=now, consecutive_failures=0)],
        leader=True,
    )
    text = metrics.exposition().decode()

    types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert len(types) == len(set(types))  # one TYPE line per family, as Prometheus asks
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert len(families) == len(types)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }

    assert families["paperwire_deliveries"].type == "counter"
    assert (
        samples["paperwire_deliveries_total", (("outcome", "sent"), ("platform", "discord"))] == 5
    )
    assert (
        samples["paperwire_deliveries_total", (("outcome", "retried"), ("platform", "slack"))] == 1
    )

    assert families["paperwire_lookup_seconds"].type == "histogram"
    discord = (("platform", "discord"),)
    assert samples["paperwire_lookup_seconds_count", discord] == 1
    assert samples["paperwire_lookup_seconds_sum", discord] == 0.03
    assert samples["paperwire_lookup_seconds_bucket", (("le", "0.025"), *discord)] == 0
    assert samples["paperwire_lookup_seconds_bucket", (("le", "0.05"), *discord)] == 1

    assert families["paperwire_rate_limited"].type == "counter"
    assert samples["paperwire_rate_limited_total", (("platform", "slack"),)] == 5

    assert families["paperwire_papers_stored"].type == "gauge"
    assert samples["paperwire_papers_stored", ()] == 219
    assert samples["paperwire_queue", (("status", "pending"),)] == 4
    assert samples["paperwire_queue", (("status", "failed"),)] == 0
    assert samples["paperwire_queue_oldest_due_age_seconds", ()] == 90
    assert samples["paperwire_leader", ()] == 1
    assert samples["paperwire_source_last_success_timestamp_seconds", (("source", "arxiv"),)] == (
        now.timestamp()
    )

    # Each Metrics has its own registry: a second one (another app in the process) starts empty.
    other = Metrics().exposition().decode()
    assert "paperwire_deliveries_total{" not in other
