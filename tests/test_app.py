"""The composition root's runtime, in process: the published roundups on the web server (a
page and an Atom feed, only for a channel that chose to publish them) and /metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from lxml import etree

from bot.adapters.db.engine import create_engine, upgrade
from bot.app import App, Runtime, open_app
from bot.core.models import (
    DestinationRef,
    DestinationSettings,
    Link,
    Roundup,
    RoundupEntry,
    RoundupSection,
    Topic,
)
from bot.core.roundup import week_period
from bot.settings import load_settings

CLOSED = "http://127.0.0.1:9"  # nothing listens: the sources fail fast, nothing leaves loopback
REF = DestinationRef.parse("discord:123456789012345678")


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[App, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    settings = load_settings(
        database_url=url,
        web_host="127.0.0.1",
        web_port=0,
        arxiv_api_url=f"{CLOSED}/api",
        arxiv_rss_url=f"{CLOSED}/rss",
        hf_api_url=f"{CLOSED}/hf",
        http_max_retries=0,
    )
    async with open_app(settings) as app:
        runtime = Runtime(app)
        await runtime.start()
        assert runtime._web is not None
        try:
            yield app, f"http://127.0.0.1:{runtime._web.port}"
        finally:
            await runtime.stop()


def _roundup(destination_id: int) -> Roundup:
    entry = RoundupEntry(
        arxiv_id="2606.13392",
        version=1,
        title="MiniMax Sparse Attention <script>",
        authors_line="Xunhao Lai et al.",
        tldr="Sparse attention for long contexts.",
        insights=(),
        links=(Link("Abstract", "https://arxiv.org/abs/2606.13392"),),
        upvotes=103,
        comments=4,
        matches=1,
        reactions=0,
        first_seen=datetime(2026, 6, 9, tzinfo=UTC),
        score=1.0,
    )
    return Roundup(
        destination_id,
        week_period("2026-W24", "UTC"),
        (RoundupSection(Topic("Architectures", "🏗️", "architectures"), (entry,)),),
        total_candidates=1,
    )


async def _get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_a_published_roundup_has_a_page_and_a_feed(running: tuple[App, str]) -> None:
    app, base = running
    dest = await app.store.ensure_destination(
        REF, now=datetime.now(UTC), settings=DestinationSettings(roundup_public=True)
    )
    queued, _ = await app.store.queue_roundup(_roundup(dest.id), now=datetime.now(UTC))
    claimed = await app.store.claim_roundups(
        now=datetime.now(UTC), limit=1, lease_seconds=60, token="t"
    )
    assert [q.id for q in claimed] == [queued.id]
    await app.store.finish_roundup(queued.id, "t", now=datetime.now(UTC))

    status, kind, page = await _get(f"{base}/roundups/{REF.slug}/2026-W24")
    assert status == 200
    assert kind.startswith("text/html")
    assert "MiniMax Sparse Attention &lt;script&gt;" in page
    status, kind, feed = await _get(f"{base}/roundups/{REF.slug}.atom")
    assert status == 200
    assert kind.startswith("application/atom+xml")
    root = etree.fromstring(feed.encode())
    [link] = root.findall("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}link")
    assert link.get("href") == f"{base}/roundups/{REF.slug}/2026-W24"
    assert (await _get(f"{base}/roundups/{REF.slug}/2026-W23"))[0] == 404


async def test_an_unpublished_channel_shows_nothing(running: tuple[App, str]) -> None:
    app, base = running
    dest = await app.store.ensure_destination(REF, now=datetime.now(UTC))  # the default: private
    await app.store.queue_roundup(_roundup(dest.id), now=datetime.now(UTC))
    assert (await _get(f"{base}/roundups/{REF.slug}/2026-W24"))[0] == 404
    assert (await _get(f"{base}/roundups/{REF.slug}.atom"))[0] == 404
    assert (await _get(f"{base}/roundups/not-a-destination.atom"))[0] == 404


async def test_metrics_are_prometheus_text(running: tuple[App, str]) -> None:
    _, base = running
    status, kind, body = await _get(f"{base}/metrics")
    assert status == 200
    assert kind.startswith("text/plain")
    assert "paperwire_queue{status=" in body
    assert "paperwire_leader 1.0" in body


def test_the_card_recipe_is_the_same_in_every_process() -> None:
    # Prepared card parts are made by the process that polls and read by every other one:
    # their recipe must not depend on the process (a set's order changes with the hash seed).
    script = (
        "from bot.app import card_recipe, load_taxonomy; from bot.settings import Settings; "
        "print(card_recipe(load_taxonomy(Settings())))"
    )
    recipes = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(recipes) == 1
    assert len(next(iter(recipes))) == 16
