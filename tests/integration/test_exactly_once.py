"""Exactly once under fire: real worker processes, SIGKILLed at random moments, against a fake
Slack on 127.0.0.1 that counts every post; and two workers sharing one queue.

The workers are the real command line (`paperwire run --once`) talking to the real store and
the real slack_sdk; nothing is mocked. The fake Slack does not deduplicate anything, so only
the outbox and the in-doubt reconciliation keep a card from being posted twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest

from bot.adapters.db.engine import create_engine, upgrade
from bot.adapters.db.store import SqlStore
from bot.core.models import Author, DeliveryStatus, DestinationRef, Paper, Platform
from bot.services.ports import PlannedDelivery
from tests.fakes.slack import DEFAULT_TEAM, FakeSlack
from tests.paths import REPO

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
CHANNELS = [f"C00000000{i}" for i in range(1, 6)]


async def _seed(url: str, n: int) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        store = SqlStore(engine)
        dests = [
            await store.ensure_destination(DestinationRef(Platform.SLACK, DEFAULT_TEAM, c), now=NOW)
            for c in CHANNELS
        ]
        papers = [
            Paper(
                arxiv_id=f"2611.{i:05d}",
                version=1,
                title=f"Paper number {i} on sparse attention",
                abstract=f"We propose method {i}. It is {i % 7 + 2}x faster. Code is released.",
                authors=(Author("Ann Lee"), Author("José Ramírez")),
                categories=("cs.CL",),
                published=NOW,
                sources=frozenset({"arxiv"}),
            )
            for i in range(1, n + 1)
        ]
        await store.upsert_papers(papers, now=NOW)
        planned = [
            PlannedDelivery(p.arxiv_id, dests[i % len(dests)].id, 1, NOW)
            for i, p in enumerate(papers)
        ]
        assert await store.plan_deliveries(planned, now=NOW) == n
    finally:
        await engine.dispose()


async def _outbox(url: str) -> Counter[DeliveryStatus]:
    engine = create_engine(url)
    try:
        return Counter(d.status for d in await SqlStore(engine).get_deliveries())
    finally:
        await engine.dispose()


def _worker_env(url: str, fake: FakeSlack) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PAPERWIRE_", "SLACK_", "DISCORD_")) and k != "DATABASE_URL"
    }
    env.update(fake.env())
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PAPERWIRE_CONFIG": str(REPO / "config" / "paperwire.toml"),
            "PAPERWIRE_TOPICS_FILE": str(REPO / "config" / "topics.toml"),
            "DATABASE_URL": url,
            # No source is reachable: the workers only deliver.
            "PAPERWIRE_ARXIV_RSS_URL": "http://127.0.0.1:9/rss",
            "PAPERWIRE_ARXIV_API_URL": "http://127.0.0.1:9/api/query",
            "PAPERWIRE_HF_ENABLED": "false",
            "PAPERWIRE_HTTP_MAX_RETRIES": "0",
            "PAPERWIRE_CLAIM_LEASE_SECONDS": "1.5",
            "PAPERWIRE_DELIVER_BATCH": "10",
            "PAPERWIRE_HTTP_TIMEOUT_SECONDS": "5",
            # The fake takes posts as fast as they come; pacing to Slack's 1 a second per
            # channel would only make this test slow.
            "PAPERWIRE_SLACK_CHANNEL_POSTS_PER_SECOND": "10000",
        }
    )
    return env


def _start(env: Mapping[str, str], log: BinaryIO) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--once"],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def _check_exactly_once(fake: FakeSlack, n: int) -> None:
    counts = Counter(fake.card_ids())
    duplicated = {k: v for k, v in counts.items() if v > 1}
    assert not duplicated, f"posted more than once: {duplicated}"
    assert len(counts) == n, f"{n - len(counts)} cards never posted"


def test_sigkilled_workers_post_every_card_exactly_once(database_url: str, tmp_path: Path) -> None:
    n = 500
    asyncio.run(_seed(database_url, n))
    rng = random.Random(20261121)
    log_path = tmp_path / "workers.log"
    with FakeSlack.running_in_thread() as fake, log_path.open("wb") as log:
        env = _worker_env(database_url, fake)
        kills = 0
        for _ in range(6):  # several workers die at random moments, mid-delivery
            proc = _start(env, log)
            target = fake.post_count() + rng.randint(5, 60)
            deadline = time.monotonic() + 60
            while fake.post_count() < target and proc.poll() is None:
                assert time.monotonic() < deadline, "the worker posted nothing for a minute"
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.03))  # between a post and its confirmation, or not
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
            time.sleep(1.6)  # the next worker may reclaim what this one held
        assert kills >= 5, "the workers finished before they could be killed"
        for _ in range(30):  # then workers run to the end (waiting out the dead ones' claims)
            _start(env, log).wait(timeout=300)
            status = asyncio.run(_outbox(database_url))
            if status[DeliveryStatus.SENT] == n:
                break
            time.sleep(1.6)
        else:
            said = log_path.read_text(errors="replace")[-800:]
            pytest.fail(f"the queue did not drain: {status}; the workers said {said!r}")
        _check_exactly_once(fake, n)
        assert fake.post_count() >= n


def test_two_workers_share_a_queue_without_double_posting(
    database_url: str, tmp_path: Path
) -> None:
    n = 1000
    asyncio.run(_seed(database_url, n))
    with FakeSlack.running_in_thread() as fake, (tmp_path / "workers.log").open("wb") as log:
        env = _worker_env(database_url, fake)
        env["PAPERWIRE_CLAIM_LEASE_SECONDS"] = "60"
        for _ in range(10):
            procs = [_start(env, log), _start(env, log)]
            for proc in procs:
                proc.wait(timeout=600)
            if asyncio.run(_outbox(database_url))[DeliveryStatus.SENT] == n:
                break
        _check_exactly_once(fake, n)
        assert asyncio.run(_outbox(database_url)) == Counter({DeliveryStatus.SENT: n})
