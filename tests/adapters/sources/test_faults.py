"""Every fault the fake can serve, against every source, through the real httpx client.

For each: no crash, the right error type, the right number of attempts, nothing returned.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import date

import httpx
import pytest

from bot.adapters.sources import build_sources
from bot.adapters.sources._http import HttpClient
from bot.adapters.sources.arxiv_api import ArxivApiSource
from bot.adapters.sources.arxiv_rss import ArxivRssSource
from bot.adapters.sources.hf_daily import HFDailySource
from bot.core.models import PollState
from bot.services.ports import (
    SourceBadResponse,
    SourceError,
    SourceRateLimited,
    SourceRequestRejected,
    SourceUnavailable,
)
from tests.adapters.sources.conftest import MakeClient
from tests.fakes.sources import FakeSources, Fault
from tests.paths import REPO

Call = Callable[[FakeSources, HttpClient], Awaitable[object]]


async def _rss(fake: FakeSources, http: HttpClient) -> object:
    source = ArxivRssSource(fake.arxiv_rss_url, http, ("cs.CL", "cs.LG"))
    return await source.poll(PollState("arxiv"), today=date(2024, 11, 28))


async def _api(fake: FakeSources, http: HttpClient) -> object:
    return await ArxivApiSource(fake.arxiv_api_url, http).lookup(["2104.12255", "1707.08567"])


async def _hf(fake: FakeSources, http: HttpClient) -> object:
    return await HFDailySource(fake.hf_api_url, http, days=1).poll(
        PollState("hf"), today=date(2026, 6, 12)
    )


SOURCES: dict[str, tuple[str, Call]] = {
    "rss": (FakeSources.ARXIV_RSS, _rss),
    "api": (FakeSources.ARXIV_API, _api),
    "hf": (FakeSources.HF_DAILY, _hf),
}

# fault -> (error type, attempts with max_retries=2)
PERSISTENT: dict[Fault, tuple[type[SourceError], int]] = {
    Fault.UNAVAILABLE: (SourceUnavailable, 3),
    Fault.SERVER_ERROR: (SourceUnavailable, 3),
    Fault.RATE_LIMITED: (SourceRateLimited, 3),
    Fault.STALL: (SourceUnavailable, 3),
    Fault.TRUNCATED: (SourceBadResponse, 3),
    Fault.PARTIAL: (SourceBadResponse, 1),
    Fault.HTML: (SourceBadResponse, 1),
    Fault.BOMB: (SourceBadResponse, 1),
    Fault.XXE: (SourceBadResponse, 1),
    Fault.NOT_FOUND: (SourceRequestRejected, 1),
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("fault", PERSISTENT)
async def test_a_persistent_fault_raises_the_right_error_after_the_right_attempts(
    fake: FakeSources, make_client: MakeClient, source: str, fault: Fault
) -> None:
    path, call = SOURCES[source]
    expected, attempts = PERSISTENT[fault]
    fake.fail(path, fault, retry_after="0" if fault is Fault.RATE_LIMITED else None)
    async with make_client(timeout=0.5) as http:
        with pytest.raises(expected) as caught:
            await call(fake, http)
    assert type(caught.value) is expected
    assert caught.value.source == ("hf" if source == "hf" else "arxiv")
    assert fake.count(path) == attempts
    assert fake.count(FakeSources.CANARY) == 0


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    "fault", [Fault.UNAVAILABLE, Fault.RATE_LIMITED, Fault.STALL, Fault.TRUNCATED]
)
async def test_a_passing_fault_is_retried_and_the_answer_kept_whole(
    fake: FakeSources, make_client: MakeClient, source: str, fault: Fault
) -> None:
    path, call = SOURCES[source]
    fake.fail(path, fault, times=2, retry_after="0")
    async with make_client(timeout=0.5) as http:
        result = await call(fake, http)
    async with make_client() as http:
        fake.clear_faults()
        clean = await call(fake, http)
    assert result == clean
    assert fake.count(path) == 3 + 1


@pytest.mark.timeout(30)  # a guard, not a measure: without a deadline a trickle never ends
@pytest.mark.parametrize("source", SOURCES)
async def test_a_trickling_answer_is_a_timeout_at_the_deadline(
    fake: FakeSources, make_client: MakeClient, source: str
) -> None:
    path, call = SOURCES[source]
    fake.fail(path, Fault.TRICKLE)
    async with make_client(timeout=2.0, deadline=0.3) as http:
        with pytest.raises(SourceUnavailable, match=r"0\.3 s deadline") as caught:
            await call(fake, http)
    assert type(caught.value) is SourceUnavailable
    assert fake.count(path) == 1


@pytest.mark.parametrize(
    ("source", "setting"),
    [("rss", "PAPERWIRE_ARXIV_RSS_URL"), ("api", "PAPERWIRE_ARXIV_API_URL")],
)
async def test_an_html_page_with_status_200_is_named_with_the_setting_to_check(
    fake: FakeSources, http: HttpClient, source: str, setting: str
) -> None:
    path, call = SOURCES[source]
    fake.fail(path, Fault.HTML)
    with pytest.raises(SourceBadResponse, match="answered with an HTML page") as caught:
        await call(fake, http)
    assert f"check {setting}" in str(caught.value)
    assert "Service Temporarily Unavailable" in str(caught.value)  # the page's own title
    assert "DTD" not in str(caught.value)


async def test_the_xxe_payload_reads_no_file_and_fetches_nothing(
    fake: FakeSources, http: HttpClient
) -> None:
    for path in (FakeSources.ARXIV_RSS, FakeSources.ARXIV_API):
        fake.fail(path, Fault.XXE)
    for call in (_rss, _api):
        with pytest.raises(SourceBadResponse) as caught:
            await call(fake, http)
        assert "root:" not in str(caught.value)
    assert fake.count(FakeSources.CANARY) == 0


async def test_the_api_error_feed_is_rejected_in_arxivs_words(
    fake: FakeSources, http: HttpClient
) -> None:
    fake.fail(FakeSources.ARXIV_API, Fault.ERROR_FEED)
    with pytest.raises(SourceRequestRejected, match="incorrect id format for abc"):
        await _api(fake, http)
    assert fake.count(FakeSources.ARXIV_API) == 1


async def test_the_rss_feed_error_is_rejected_in_arxivs_words(
    fake: FakeSources, http: HttpClient
) -> None:
    fake.fail(FakeSources.ARXIV_RSS, Fault.ERROR_FEED)
    with pytest.raises(SourceRequestRejected, match="Bad archive 'astroph'"):
        await _rss(fake, http)
    assert fake.count(FakeSources.ARXIV_RSS) == 1


async def test_the_weekend_feed_is_empty_with_a_note_and_a_304_next(
    fake: FakeSources, http: HttpClient
) -> None:
    fake.fail(FakeSources.ARXIV_RSS, Fault.WEEKEND)
    source = ArxivRssSource(fake.arxiv_rss_url, http, ("cs.CL",))
    first = await source.poll(PollState("arxiv"), today=date(2026, 8, 1))
    assert first.papers == ()
    assert first.rejected == ()
    assert first.note is not None
    assert "Saturday and Sunday" in first.note
    state = PollState("arxiv", etag=first.etag, last_modified=first.last_modified)
    second = await source.poll(state, today=date(2026, 8, 1))
    assert second.not_modified


async def test_the_fake_down_is_unavailable(make_client: MakeClient, fake: FakeSources) -> None:
    url = fake.arxiv_api_url
    await fake.stop()
    async with make_client(max_retries=1) as http:
        with pytest.raises(SourceUnavailable, match="connection failed"):
            await ArxivApiSource(url, http).lookup(["2104.12255"])


def test_the_fake_runs_in_a_thread_for_subprocess_tests() -> None:
    with FakeSources.running_in_thread() as fake:
        fake.fail(FakeSources.HF_PAPERS, Fault.NOT_FOUND, times=1)
        env = fake.env()
        assert set(env) == {
            "PAPERWIRE_ARXIV_API_URL",
            "PAPERWIRE_ARXIV_RSS_URL",
            "PAPERWIRE_HF_API_URL",
            "PAPERWIRE_S2_API_URL",
        }
        with httpx.Client() as client:
            missing = client.get(env["PAPERWIRE_HF_API_URL"] + "/papers/2606.13681")
            found = client.get(env["PAPERWIRE_HF_API_URL"] + "/papers/2606.13681")
            feed = client.get(env["PAPERWIRE_ARXIV_API_URL"], params={"id_list": "1707.08567"})
            error = client.get(env["PAPERWIRE_ARXIV_API_URL"], params={"id_list": "12345"})
        assert missing.status_code == 404
        assert found.json()["id"] == "2606.13681"
        assert b"1707.08567v1" in feed.content
        assert error.status_code == 400
        assert b"incorrect id format for 12345" in error.content
        assert fake.count(FakeSources.HF_PAPERS) == 2


def test_the_fake_can_be_run_by_hand() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.sources", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline().strip() for _ in range(4)]
        finally:
            process.terminate()
            process.wait(timeout=10)
    names = [line.removeprefix("export ").split("=", 1)[0] for line in lines]
    assert names == [
        "PAPERWIRE_ARXIV_API_URL",
        "PAPERWIRE_ARXIV_RSS_URL",
        "PAPERWIRE_HF_API_URL",
        "PAPERWIRE_S2_API_URL",
    ]
    assert all("http://127.0.0.1:" in line for line in lines)


async def test_build_sources_wires_every_source_from_the_settings(fake: FakeSources) -> None:
    from bot.settings import Settings

    settings = Settings(
        arxiv_api_url=fake.arxiv_api_url,
        arxiv_rss_url=fake.arxiv_rss_url,
        hf_api_url=fake.hf_api_url,
        s2_api_url=fake.s2_api_url,
        arxiv_categories=("cs.CL", "cs.LG"),
        arxiv_min_interval_seconds=0.0,
        hf_days=1,
    )
    async with HttpClient.from_settings(settings) as http:
        sources = build_sources(settings, http)
        assert sources.s2 is None
        assert sources.rss.url == fake.arxiv_rss_url + "/cs.CL+cs.LG"
        listing = await sources.rss.poll(PollState("arxiv"), today=date(2024, 11, 28))
        found = await sources.api.lookup(["2104.12255"])
        daily = await sources.hf.poll(PollState("hf"), today=date(2026, 6, 12))
    assert len(listing.papers) == 189
    assert found["2104.12255"].title == "0"
    assert len(daily.papers) == 30
    enabled = build_sources(settings.model_copy(update={"s2_enabled": True}), http)
    assert enabled.s2 is not None
