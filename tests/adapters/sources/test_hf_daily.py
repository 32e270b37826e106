"""Hugging Face Daily Papers: the real answer parsed field by field; polls against the fake."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.adapters.sources._http import HttpClient
from bot.adapters.sources.hf_daily import HFDailySource, parse_daily, parse_paper_signals
from bot.core.models import Paper, PollState
from bot.services.ports import FetchResult, SourceBadResponse, SourceUnavailable
from tests.fakes.sources import FakeSources, Fault
from tests.paths import FIXTURES

HF = FIXTURES / "hf_daily_papers"
SOTAWHAT = HF / "sotawhat_hf_daily_papers_2026-06-12.json"
DAY = date(2026, 6, 12)


@pytest.fixture(scope="module")
def daily() -> FetchResult:
    return parse_daily(SOTAWHAT.read_bytes(), day=DAY)


@pytest.fixture(scope="module")
def by_id(daily: FetchResult) -> dict[str, Paper]:
    return {p.arxiv_id: p for p in daily.papers}


def test_every_daily_paper_is_kept(daily: FetchResult) -> None:
    assert len(daily.papers) == 30
    assert daily.rejected == ()
    assert all(p.sources == frozenset({"hf"}) and p.hf is not None for p in daily.papers)
    assert all(p.version == 1 and p.categories == () for p in daily.papers)
    assert all(p.hf is not None and p.hf.daily_date == DAY for p in daily.papers)
    assert sum(1 for p in daily.papers if p.hf is not None and p.hf.github_repo) == 16
    assert sum(1 for p in daily.papers if p.hf is not None and p.hf.project_page) == 13


def test_a_paper_with_every_signal_field_by_field(by_id: dict[str, Paper]) -> None:
    paper = by_id["2606.13681"]
    assert paper.hf is not None
    assert paper.hf.upvotes == 118
    assert paper.hf.comments == 3
    assert paper.hf.github_repo == "https://github.com/Aiden0526/EvoArena"
    assert paper.hf.github_stars == 9
    assert paper.hf.project_page == "https://aiden0526.github.io/EvoArena/"
    assert paper.hf.ai_summary
    assert paper.hf.ai_keywords
    assert all(isinstance(k, str) for k in paper.hf.ai_keywords)
    assert paper.published == datetime(2026, 6, 11, tzinfo=UTC)
    assert len(paper.hf.ai_keywords) == 11


def test_a_paper_without_code_or_page(by_id: dict[str, Paper]) -> None:
    paper = by_id["2606.00467"]
    assert paper.title == (
        "On the Limits of LLM Adaptability: Impact of Model-Internalized Priors on Annotation "
        "Task Performance"
    )
    assert paper.abstract.startswith("Large Language Models (LLMs) are increasingly used")
    assert [a.name for a in paper.authors][:2] == ["Etienne Casanova", "Rafal Kocielnik"]
    assert paper.published == datetime(2026, 5, 30, tzinfo=UTC)
    assert paper.hf is not None
    assert (paper.hf.upvotes, paper.hf.comments) == (0, 2)
    assert paper.hf.ai_summary == (
        "Large language models exhibit limited ability to correct zero-shot errors through "
        "prompting, with model performance more strongly linked to definition-specific "
        "familiarity than text-level memorization metrics."
    )
    assert paper.hf.ai_keywords[:2] == ("zero-shot annotation", "LLM-as-a-judge")
    assert len(paper.hf.ai_keywords) == 14
    assert paper.hf.github_repo is None
    assert paper.hf.github_stars is None
    assert paper.hf.project_page is None
    assert paper.hf.daily_date == DAY


def test_the_older_schema_without_ai_fields() -> None:
    result = parse_daily((HF / "allnewsai_hf_daily_papers_2026-07.json").read_bytes())
    assert len(result.papers) == 5
    for paper in result.papers:
        assert paper.hf is not None
        assert paper.hf.ai_summary is None
        assert paper.hf.ai_keywords == ()
        assert paper.hf.daily_date == date(2026, 7, 31)


def _items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(SOTAWHAT.read_bytes())
    return items[:2]


def _broken(change: str) -> list[Any]:
    items: list[Any] = _items()
    first = items[0]
    if change == "id":
        first["paper"]["id"] = "not-an-id"
    elif change == "upvotes":
        first["paper"]["upvotes"] = "lots"
    elif change == "keywords":
        first["paper"]["ai_keywords"] = "one string"
    elif change == "date":
        first["paper"]["publishedAt"] = "last tuesday"
    elif change == "no-paper":
        items[0] = {"title": "orphan"}
    elif change == "title":
        first["paper"]["title"] = "  "
        first["title"] = ""
    return items


@pytest.mark.parametrize("change", ["id", "upvotes", "keywords", "date", "no-paper", "title"])
def test_a_bad_item_is_rejected_and_the_good_one_kept(change: str) -> None:
    result = parse_daily(json.dumps(_broken(change)).encode())
    assert [p.arxiv_id for p in result.papers] == ["2606.12730"]
    assert len(result.rejected) == 1


@pytest.mark.parametrize(
    "body",
    [b'{"error": "Invalid date"}', b"<!DOCTYPE html><html></html>", b'[{"paper": ', b""],
    ids=["error-object", "html", "truncated", "empty"],
)
def test_anything_but_a_list_is_a_bad_response(body: bytes) -> None:
    with pytest.raises(SourceBadResponse):
        parse_daily(body)


def test_single_paper_signals() -> None:
    (item,) = [i for i in json.loads(SOTAWHAT.read_bytes()) if i["paper"]["id"] == "2606.13392"]
    signals = parse_paper_signals(json.dumps(item["paper"]).encode())
    assert signals.upvotes == 103
    assert signals.github_repo == "https://github.com/MiniMax-AI/MSA"
    assert signals.github_stars == 251
    assert signals.comments == 0  # the single-paper answer has no comment count
    assert signals.daily_date == DAY


# --- polls against the fake -------------------------------------------------------------------


async def test_poll_reads_each_day_ending_today(fake: FakeSources, http: HttpClient) -> None:
    source = HFDailySource(fake.hf_api_url, http, days=3)
    assert source.name == "hf"
    result = await source.poll(PollState("hf"), today=date(2026, 6, 13))
    assert len(result.papers) == 30
    assert result.note is None
    asked = [r.query for r in fake.requests(FakeSources.HF_DAILY)]
    assert asked == [
        {"date": "2026-06-11", "limit": "100"},
        {"date": "2026-06-12", "limit": "100"},
        {"date": "2026-06-13", "limit": "100"},
    ]


async def test_a_failing_day_is_named_and_the_others_kept(
    fake: FakeSources, http: HttpClient
) -> None:
    fake.fail(FakeSources.HF_DAILY, Fault.UNAVAILABLE, times=3)  # the first day, every attempt
    source = HFDailySource(fake.hf_api_url, http, days=2)
    result = await source.poll(PollState("hf"), today=DAY)
    assert len(result.papers) == 30
    assert result.note is not None
    assert "2026-06-11" in result.note
    assert "503" in result.note


async def test_when_every_day_fails_the_poll_fails(fake: FakeSources, http: HttpClient) -> None:
    fake.fail(FakeSources.HF_DAILY, Fault.UNAVAILABLE)
    with pytest.raises(SourceUnavailable):
        await HFDailySource(fake.hf_api_url, http, days=2).poll(PollState("hf"), today=DAY)


async def test_paper_lookup(fake: FakeSources, http: HttpClient) -> None:
    source = HFDailySource(fake.hf_api_url, http)
    signals = await source.paper("arXiv:2606.13681v2")
    assert signals is not None
    assert signals.upvotes == 118
    assert await source.paper("2104.12255") is None
    paths = [r.path for r in fake.requests(FakeSources.HF_PAPERS)]
    assert paths == ["/hf/api/papers/2606.13681", "/hf/api/papers/2104.12255"]


async def test_an_empty_day_says_so_instead_of_staying_silent() -> None:
    from datetime import date

    from bot.adapters.sources import HFDailySource, HttpClient
    from bot.core.models import PollState
    from tests.fakes.sources import FakeSources

    async with FakeSources() as fake, HttpClient(user_agent="test", max_retries=0) as http:
        source = HFDailySource(fake.hf_api_url, http, days=1)
        result = await source.poll(PollState(source="hf"), today=date(2030, 1, 1))
    assert result.papers == ()
    assert result.note == "Hugging Face lists no daily papers for 2030-01-01 yet"
