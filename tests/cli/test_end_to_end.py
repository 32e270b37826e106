"""The real command line against the fake arXiv and Hugging Face on 127.0.0.1, as a user runs it."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from lxml import etree

from bot.adapters.db.engine import create_engine
from bot.adapters.db.store import SqlStore
from tests.cli.helpers import Result, paperwire
from tests.fakes.sources import FakeSources, Fault
from tests.paths import FIXTURES

RSS_TRIMMED = FIXTURES / "arxiv_rss" / "aioarxiv_rss_new_all_archives_2024-11-28_trimmed189.xml"
HF_DAILY = FIXTURES / "hf_daily_papers" / "sotawhat_hf_daily_papers_2026-06-12.json"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSources]:
    with FakeSources.running_in_thread() as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, fake: FakeSources) -> Path:
    fake.clear_faults()
    assert run(tmp_path, fake, "db", "upgrade").code == 0
    return tmp_path


def run(cwd: Path, fake: FakeSources, *args: str, **env: str) -> Result:
    settings = {
        **fake.env(),
        "PAPERWIRE_ARXIV_MIN_INTERVAL_SECONDS": "0",
        "PAPERWIRE_HTTP_MAX_RETRIES": "1",
        "PAPERWIRE_HTTP_TIMEOUT_SECONDS": "5",
        "PAPERWIRE_HF_DAYS": "1",
        **env,
    }
    return paperwire(*args, cwd=cwd, env=settings)


@contextlib.asynccontextmanager
async def stored(home: Path) -> AsyncIterator[SqlStore]:
    engine = create_engine(f"sqlite+aiosqlite:///{home / 'paperwire.db'}")
    try:
        yield SqlStore(engine)
    finally:
        await engine.dispose()


def rss_ids() -> list[str]:
    tree = etree.fromstring(RSS_TRIMMED.read_bytes())
    return [
        link.text.rsplit("/abs/", 1)[1]
        for link in tree.iter("link")
        if link.text and "/abs/" in link.text
    ]


def test_poll_stores_exactly_the_feed_and_a_second_poll_stores_nothing(
    home: Path, fake: FakeSources
) -> None:
    first = run(home, fake, "poll", "--source", "arxiv")
    assert first.code == 0, first.err
    expected = set(rss_ids())
    assert first.out.startswith(f"arxiv: {len(expected)} new")

    async def check() -> None:
        async with stored(home) as store:
            assert await store.count_papers() == len(expected)
            papers = await store.get_papers(sorted(expected))
            assert set(papers) == expected
            # Field by field, for a few records with TeX accents and affiliations.
            authors = {a.name: a for p in papers.values() for a in p.paper.authors}
            assert not any("\\" in name or "{" in name for name in authors)
            assert "Przemysław Olbratowski" in authors
            assert "Jarosław Żygierewicz" in authors
            assert authors["Benjamin Rémy"].affiliation == "LEMTA"
            assert authors["Dénes Berta"].affiliation is None
            for p in papers.values():
                assert p.paper.sources == frozenset({"arxiv"})
                assert p.paper.title
                assert p.paper.abstract
                assert p.paper.categories
                assert "\n" not in p.paper.title

    asyncio.run(check())
    second = run(home, fake, "poll", "--source", "arxiv")
    assert second.code == 0, second.err
    assert "not modified" in second.out or " 0 new" in second.out


def test_poll_hf_merges_signals(home: Path, fake: FakeSources) -> None:
    day = json.loads(HF_DAILY.read_text())
    result = run(home, fake, "poll", "--source", "hf", "--day", "2026-06-12")
    assert result.code == 0, result.err
    assert result.out.startswith(f"hf: {len(day)} new")
    again = run(home, fake, "poll", "--source", "hf", "--day", "2026-06-12")
    assert again.out.startswith(f"hf: 0 new, 0 updated (0 new versions), {len(day)} unchanged")


def test_card_stores_old_style_ids_and_long_author_lists_field_by_field(
    home: Path, fake: FakeSources
) -> None:
    assert run(home, fake, "card", "astro-ph/0601001v1").code == 0
    assert run(home, fake, "card", "arXiv:1707.08567").code == 0

    async def check() -> None:
        async with stored(home) as store:
            old = await store.get_paper("astro-ph/0601001")
            assert old is not None
            assert old.paper.version == 1
            assert old.paper.categories[0] == "astro-ph"
            assert old.paper.journal_ref
            assert old.paper.authors[0].name == "Andrew Gould"
            assert old.paper.abstract.startswith("We derive")  # leading spaces gone
            long = await store.get_paper("1707.08567")
            assert long is not None
            assert len(long.paper.authors) == 34
            assert any(a.name == "Dirk Wübben" for a in long.paper.authors)

    asyncio.run(check())


def test_card_for_a_known_paper_prints_it(home: Path, fake: FakeSources) -> None:
    result = run(home, fake, "card", "https://arxiv.org/abs/2104.12255v1")
    assert result.code == 0, result.err
    assert "2104.12255v1" in result.out
    as_json = run(home, fake, "card", "2104.12255", "--format", "json")
    assert as_json.code == 0, as_json.err
    card = json.loads(as_json.out)
    assert card["arxiv_id"] == "2104.12255"
    assert card["tldr"]


@pytest.mark.parametrize("fmt", ["discord", "slack"])
def test_card_prints_the_exact_platform_payload(home: Path, fake: FakeSources, fmt: str) -> None:
    result = run(home, fake, "card", "1707.08567", "--format", fmt)
    assert result.code == 0, result.err
    payload = json.loads(result.out)
    if fmt == "discord":
        assert payload["allowed_mentions"] == {"parse": []}
        assert "et al. (34 authors)" in json.dumps(payload, ensure_ascii=False)
    else:
        assert payload["metadata"]["event_payload"]["arxiv_id"] == "1707.08567"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0000.0000", "does not exist"),  # malformed: month 00
        ("2401.99999", "arXiv has no paper 2401.99999"),  # well formed, unknown to arXiv
    ],
)
def test_card_for_a_paper_that_does_not_exist_says_so_and_exits_2(
    home: Path, fake: FakeSources, text: str, says: str
) -> None:
    result = run(home, fake, "card", text)
    assert result.code == 2
    assert says in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_card_for_an_unknown_paper_says_what_to_check_without_echoing_the_id(
    home: Path, fake: FakeSources
) -> None:
    # The fake arXiv lacks 2403.13043: an example that is the input itself helps nobody.
    result = run(home, fake, "card", "2403.13043")
    assert result.code == 2
    line = result.err.strip()
    assert line.count("2403.13043") == 1, line
    assert "check the id" in line


def test_card_with_arxiv_down_says_unreachable_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = f"http://127.0.0.1:{port}"
    env = {
        "PAPERWIRE_ARXIV_API_URL": f"{down}/api/query",
        "PAPERWIRE_HF_API_URL": f"{down}/hf",
        "PAPERWIRE_HTTP_MAX_RETRIES": "0",
    }
    assert paperwire("db", "upgrade", cwd=tmp_path).code == 0
    result = paperwire("card", "2104.12255", cwd=tmp_path, env=env)
    assert result.code == 1
    assert "arXiv is unreachable" in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_failing_feed_is_reported_by_poll_and_status(home: Path, fake: FakeSources) -> None:
    fake.fail(FakeSources.ARXIV_RSS, Fault.UNAVAILABLE)
    result = run(home, fake, "poll", "--source", "arxiv")
    assert result.code == 1
    assert result.out.startswith("arxiv: failed:")
    status = run(home, fake, "status")
    assert status.code == 0
    assert "arxiv: failing:" in status.out


def test_subscribe_the_console_then_run_once_prints_the_matching_cards_once(
    home: Path, fake: FakeSources
) -> None:
    added = run(home, fake, "subs", "add", "console", "cat:cs.CL -survey", "--backfill", "0")
    assert added.code == 0, added.err
    listed = run(home, fake, "subs", "list", "console")
    assert "cat:cs.CL" in listed.out
    first = run(home, fake, "run", "--once", PAPERWIRE_HF_ENABLED="false")
    assert first.code == 0, first.err
    tree = etree.fromstring(RSS_TRIMMED.read_bytes())
    expected = set()
    for item in tree.iter("item"):
        cats = {c.text for c in item.iter("category")}
        title = (item.findtext("title") or "").lower()
        abstract = (item.findtext("description") or "").lower()
        if "cs.CL" in cats and "survey" not in title and "survey" not in abstract:
            expected.add(item.findtext("link").rsplit("/abs/", 1)[1])
    printed = {
        line.split("arXiv:", 1)[1].split("v", 1)[0].split(" ", 1)[0]
        for line in first.out.splitlines()
        if line.startswith("arXiv:")
    }
    assert printed == expected
    assert f"delivered {len(expected)} cards" in first.err
    again = run(home, fake, "run", "--once", PAPERWIRE_HF_ENABLED="false")
    assert again.code == 0, again.err
    assert again.out == ""


def test_bad_subscription_queries_exit_2_and_change_nothing(home: Path, fake: FakeSources) -> None:
    for bad in ['"unbalanced', "auth:lecun", "upvotes>=abc", "x" * 5000, "-survey"]:
        result = run(home, fake, "subs", "add", "console", bad)
        assert result.code == 2, bad
        assert "position" in result.err
    assert "no subscriptions" in run(home, fake, "subs", "list").out


def test_gzip_fixture_is_readable() -> None:  # the full feed the benchmark uses is present
    path = next((FIXTURES / "arxiv_rss").glob("*_full.xml.gz"))
    assert gzip.decompress(path.read_bytes()).count(b"<item>") == 1504


def test_run_serves_health_and_metrics_and_stops_cleanly_on_sigterm(
    home: Path, fake: FakeSources
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.paths import REPO

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ours = ("PAPERWIRE_", "SLACK_", "DISCORD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(fake.env())
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PAPERWIRE_CONFIG": str(REPO / "config" / "paperwire.toml"),
            "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'paperwire.db'}",
            "PAPERWIRE_WEB_HOST": "127.0.0.1",
            "PORT": str(port),
            "PAPERWIRE_ARXIV_MIN_INTERVAL_SECONDS": "0",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
                    sources = health.get("sources", {})
                    if sources and all(s["state"] != "never" for s in sources.values()):
                        break  # every source has been polled
            except OSError:
                pass
            time.sleep(0.3)
        assert health is not None, "the web endpoint never answered"
        assert health["status"] == "ok", health
        assert health["problems"] == []
        assert health["database"] == str(home / "paperwire.db")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            metrics = r.read().decode()
        assert 'paperwire_source_consecutive_failures{source="arxiv"} 0.0' in metrics
        assert 'paperwire_polls_total{outcome="ok",source="arxiv"} 1.0' in metrics
        assert "paperwire_leader 1.0" in metrics
        families = [line.split()[2] for line in metrics.splitlines() if line.startswith("# TYPE")]
        assert len(families) == len(set(families))  # one TYPE line per metric, as Prometheus asks
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_a_dry_run_prints_what_would_be_posted_and_stores_nothing(
    home: Path, fake: FakeSources
) -> None:
    assert run(home, fake, "subs", "add", "console", "cat:cs.CL").code == 0
    dry = run(home, fake, "run", "--dry-run", PAPERWIRE_HF_ENABLED="false")
    assert dry.code == 0, dry.err
    assert "would be posted (dry run)" in dry.err
    printed = dry.out.count("\narXiv:") + dry.out.startswith("arXiv:")
    assert printed > 0, (dry.out[:300], dry.err)
    status = run(home, fake, "status")
    assert "papers stored: 0" in status.out
    assert "arxiv: never polled" in status.out
    real = run(home, fake, "run", "--once", PAPERWIRE_HF_ENABLED="false")
    assert real.out.count("\narXiv:") == printed


def test_a_roundup_dry_run_prints_the_week_as_text_and_json_and_queues_nothing(
    home: Path, fake: FakeSources
) -> None:
    query = "cat:cs.CL OR cat:cs.LG OR cat:cs.AI OR source:hf"
    assert run(home, fake, "subs", "add", "console", query).code == 0
    assert run(home, fake, "poll", "--source", "arxiv").code == 0
    assert run(home, fake, "poll", "--source", "hf", "--day", "2026-06-12").code == 0

    text = run(home, fake, "roundup", "console", "--dry-run")
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert "Weekly roundup" in lines[0]
    assert any(line.startswith("Contents: ") for line in lines)
    links = [
        line.split("/abs/", 1)[1]
        for line in lines
        if line.strip().startswith("Abstract: https://arxiv.org/abs/")
    ]
    assert links

    printed = run(home, fake, "roundup", "console", "--dry-run", "--format", "json")
    assert printed.code == 0, printed.err
    data = json.loads(printed.out)
    assert data["kind"] == "weekly"
    assert data["sections"]
    ids = [p["arxiv_id"] for s in data["sections"] for p in s["papers"]]
    assert len(ids) == data["papers"]
    assert ids == links  # the same roundup, in the same reading order

    def roundup_rows() -> int:
        with contextlib.closing(sqlite3.connect(home / "paperwire.db")) as db:
            return int(db.execute("SELECT count(*) FROM roundups").fetchone()[0])

    assert roundup_rows() == 0  # a dry run neither queues nor posts
    posted = run(home, fake, "roundup", "console")  # the real thing does record it
    assert posted.code == 0, posted.err
    assert f"({len(ids)} papers)" in posted.out
    assert roundup_rows() == 1
