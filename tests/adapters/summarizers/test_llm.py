"""The LLM tier: the real LLMSummarizer against a fake OpenAI-compatible server on loopback,
through the real CardService and SqlStore (SQLite, and PostgreSQL when available)."""

from __future__ import annotations

import json
import logging
import re
import tomllib
import traceback
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.adapters.db.store import SqlStore
from bot.adapters.summarizers.llm import (
    MAX_POINT_CHARS,
    MAX_POINTS,
    MAX_TLDR_CHARS,
    LLMBadResponse,
    LLMError,
    LLMRejected,
    LLMSummarizer,
    LLMUnavailable,
    UnusableAnswer,
    chat_completions_url,
    parse_answer,
)
from bot.core.models import HFSignals, Paper, Summary
from bot.core.topics import Taxonomy, parse_taxonomy
from bot.services.cards import CardService, HuggingFaceTier, SemanticScholarTier, TierSpec
from tests.fakes.clock import FakeClock
from tests.fakes.openai import FakeOpenAI, Fault
from tests.paths import REPO

KEY = "sk-paperwire-test-4f1c9a7e2b"
TIMEOUT = 1.0  # seconds; the stall cases wait this long, the others answer in ms
HF_SUMMARY = "Hugging Face says this paper halves the cost of serving language models."


def answer_from_title(body: Mapping[str, Any]) -> str:
    """The fake model's answer names the paper, so a cached answer can be told apart."""
    user = body["messages"][-1]["content"]
    title = re.search(r"Title: (.*)", user)
    name = title.group(1) if title else "an unknown paper"
    return json.dumps(
        {
            "tldr": f"The model explains {name} in one short sentence.",
            "points": [f"{name} has a first point.", "It has a second point."],
        }
    )


def make_paper(n: int = 1, *, version: int = 1, hf_summary: str | None = None) -> Paper:
    return Paper(
        arxiv_id=f"2411.{10000 + n}",
        version=version,
        title=f"Paper {n}: Faster Serving of Language Models",
        abstract=(
            "Large language models are costly to serve. "
            f"We propose FastServe-{n}, a scheduler that halves inference cost. "
            "On five benchmarks it matches the baseline accuracy while using 50% fewer FLOPs. "
            "We release our code."
        ),
        categories=("cs.CL", "cs.LG"),
        hf=HFSignals(upvotes=3, ai_summary=hf_summary) if hf_summary else None,
    )


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    with (REPO / "config" / "topics.toml").open("rb") as fh:
        return parse_taxonomy(tomllib.load(fh))


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(answer_from_title) as fake:
        yield fake


@pytest.fixture
async def summarizer(llm: FakeOpenAI) -> AsyncIterator[LLMSummarizer]:
    async with LLMSummarizer(llm.base_url, SecretStr(KEY), "fake-model", timeout=TIMEOUT) as s:
        yield s


def card_service(
    store: SqlStore,
    summarizer: LLMSummarizer,
    taxonomy: Taxonomy,
    clock: FakeClock,
    *,
    budget: int | None = None,
) -> CardService:
    tiers = [
        TierSpec(summarizer, daily_budget=budget),
        TierSpec(HuggingFaceTier()),
        TierSpec(SemanticScholarTier()),
    ]
    return CardService(store, tiers, taxonomy, clock)


# --- through the chain, on every database ------------------------------------------------


async def test_card_takes_its_tldr_and_points_from_the_llm(
    store: SqlStore,
    llm: FakeOpenAI,
    summarizer: LLMSummarizer,
    taxonomy: Taxonomy,
    clock: FakeClock,
) -> None:
    service = card_service(store, summarizer, taxonomy, clock)
    paper = make_paper(1, hf_summary=HF_SUMMARY)

    card = await service.card_for(paper)

    assert card.tldr_source == "llm"
    assert "Paper 1" in card.tldr
    assert card.key_points[0].startswith("Paper 1")
    assert llm.calls == 1
    assert llm.authorizations == [f"Bearer {KEY}"]


async def test_llm_answers_are_cached_per_paper_and_version(
    store: SqlStore,
    llm: FakeOpenAI,
    summarizer: LLMSummarizer,
    taxonomy: Taxonomy,
    clock: FakeClock,
) -> None:
    service = card_service(store, summarizer, taxonomy, clock)
    first = await service.summary_for(make_paper(1))
    assert llm.calls == 1

    again = await service.summary_for(make_paper(1))
    restarted = card_service(store, summarizer, taxonomy, clock)  # the cache is the database
    after_restart = await restarted.summary_for(make_paper(1))
    assert llm.calls == 1
    assert again == after_restart == first
    assert first.tier == "llm"

    revised = await service.summary_for(make_paper(1, version=2))
    assert llm.calls == 2
    assert revised.tier == "llm"


async def test_daily_budget_falls_through_then_refills_a_day_later(
    store: SqlStore,
    llm: FakeOpenAI,
    summarizer: LLMSummarizer,
    taxonomy: Taxonomy,
    clock: FakeClock,
) -> None:
    service = card_service(store, summarizer, taxonomy, clock, budget=2)
    sources = [(await service.card_for(make_paper(n))).tldr_source for n in (1, 2)]
    assert sources == ["llm", "llm"]

    third = await service.card_for(make_paper(3, hf_summary=HF_SUMMARY))
    fourth = await service.card_for(make_paper(4))
    assert (third.tldr_source, fourth.tldr_source) == ("hf", "extractive")
    assert llm.calls == 2

    clock.advance(hours=23)
    assert (await service.card_for(make_paper(5))).tldr_source == "extractive"
    assert llm.calls == 2

    clock.advance(hours=1, seconds=1)
    assert (await service.card_for(make_paper(4))).tldr_source == "llm"
    assert llm.calls == 3


async def test_failed_calls_use_up_the_budget_too(
    store: SqlStore,
    llm: FakeOpenAI,
    summarizer: LLMSummarizer,
    taxonomy: Taxonomy,
    clock: FakeClock,
) -> None:
    service = card_service(store, summarizer, taxonomy, clock, budget=2)
    llm.fault = Fault.SERVER_ERROR
    for n in (1, 2, 3):
        assert (await service.card_for(make_paper(n))).tldr_source == "extractive"
    assert llm.calls == 2


@pytest.mark.parametrize(
    ("fault", "hf_summary", "expected_source"),
    [
        (Fault.SERVER_ERROR, HF_SUMMARY, "hf"),
        (Fault.SERVER_ERROR, None, "extractive"),
        (Fault.GARBAGE, HF_SUMMARY, "hf"),
        (Fault.STALL, None, "extractive"),
    ],
)
async def test_a_failing_endpoint_falls_through_to_the_next_tier(
    store: SqlStore,
    llm: FakeOpenAI,
    summarizer: LLMSummarizer,
    taxonomy: Taxonomy,
    clock: FakeClock,
    fault: Fault,
    hf_summary: str | None,
    expected_source: str,
) -> None:
    service = card_service(store, summarizer, taxonomy, clock)
    paper = make_paper(1, hf_summary=hf_summary)
    llm.fault = fault

    card = await service.card_for(paper)

    assert card.tldr_source == expected_source
    assert card.tldr
    assert llm.calls == 1
    # The failure was not cached: once the endpoint recovers, the LLM is asked again.
    llm.fault = None
    assert (await service.card_for(paper)).tldr_source == "llm"
    assert llm.calls == 2


async def test_an_unusable_answer_falls_through_and_is_not_cached(
    store: SqlStore,
    llm: FakeOpenAI,
    summarizer: LLMSummarizer,
    taxonomy: Taxonomy,
    clock: FakeClock,
) -> None:
    service = card_service(store, summarizer, taxonomy, clock)
    llm.content = json.dumps({"tldr": "", "points": ["a point"]})

    card = await service.card_for(make_paper(1, hf_summary=HF_SUMMARY))

    assert card.tldr_source == "hf"
    assert await store.get_summary("2411.10001", 1, "llm") is None


async def test_the_key_never_reaches_a_log_record(
    store: SqlStore,
    llm: FakeOpenAI,
    summarizer: LLMSummarizer,
    taxonomy: Taxonomy,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    service = card_service(store, summarizer, taxonomy, clock)
    faults = [None, *Fault]
    sources = []
    for n, fault in enumerate(faults):
        llm.fault = fault
        sources.append((await service.card_for(make_paper(n))).tldr_source)
    assert sources == ["llm"] + ["extractive"] * len(Fault)  # every fault fell through

    assert llm.authorizations == [f"Bearer {KEY}"] * len(faults)  # the key was really sent
    assert any("summarizer llm failed" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert KEY not in record.getMessage()
        if record.exc_info:
            assert KEY not in "".join(traceback.format_exception(*record.exc_info))
    assert KEY not in caplog.text


# --- the adapter on its own ----------------------------------------------------------------


async def test_request_asks_for_json_at_temperature_zero_with_bearer_auth(
    llm: FakeOpenAI, summarizer: LLMSummarizer
) -> None:
    paper = make_paper(7)
    await summarizer.summarize(paper)

    [request] = llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.authorization == f"Bearer {KEY}"
    body = request.body
    assert body["model"] == "fake-model"
    assert body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "JSON" in body["messages"][0]["content"]
    assert paper.title in body["messages"][1]["content"]
    assert paper.abstract in body["messages"][1]["content"]


@pytest.mark.parametrize("api_key", [None, SecretStr(""), SecretStr("   ")])
async def test_no_key_sends_no_authorization_header(
    llm: FakeOpenAI, api_key: SecretStr | None
) -> None:
    async with LLMSummarizer(llm.base_url, api_key, "m", timeout=TIMEOUT) as summarizer:
        assert await summarizer.summarize(make_paper()) is not None
    assert llm.authorizations == [None]


@pytest.mark.parametrize("suffix", ["", "/", "/chat/completions", "/chat/completions/"])
async def test_base_url_with_or_without_slash_or_full_path(llm: FakeOpenAI, suffix: str) -> None:
    async with LLMSummarizer(llm.base_url + suffix, None, "m", timeout=TIMEOUT) as summarizer:
        assert await summarizer.summarize(make_paper()) is not None
    assert [r.path for r in llm.requests] == ["/v1/chat/completions"]


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/chat/completions"),
        ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1/chat/completions"),
        ("  https://api.openai.com/v1  ", "https://api.openai.com/v1/chat/completions"),
        ("https://h.example/v1/chat/completions", "https://h.example/v1/chat/completions"),
        ("https://h.example", "https://h.example/chat/completions"),
        (
            "https://h.example/openai/v1?api-version=1",
            "https://h.example/openai/v1/chat/completions?api-version=1",
        ),
    ],
)
def test_chat_completions_url(base_url: str, expected: str) -> None:
    assert chat_completions_url(base_url) == expected


@pytest.mark.parametrize("base_url", ["", "127.0.0.1:8000/v1", "ftp://h.example/v1", "http:///v1"])
def test_a_url_that_is_not_http_is_refused_at_start(base_url: str) -> None:
    with pytest.raises(ValueError, match="PAPERWIRE_LLM_URL"):
        LLMSummarizer(base_url, None, "m", timeout=1.0)


@pytest.mark.parametrize("key", ["sk-caf\u00e9-key", "sk-line\nbreak", "sk-\u200bhidden"])
def test_a_key_that_cannot_be_a_header_is_refused_at_start(key: str) -> None:
    with pytest.raises(ValueError, match="PAPERWIRE_LLM_API_KEY") as caught:
        LLMSummarizer("http://127.0.0.1:9/v1", SecretStr(key), "m", timeout=1.0)
    assert key not in str(caught.value)


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        (Fault.SERVER_ERROR, LLMUnavailable, 500),
        (Fault.RATE_LIMITED, LLMUnavailable, 429),
        (Fault.STALL, LLMUnavailable, None),
        (Fault.UNAUTHORIZED, LLMRejected, 401),
        (Fault.NOT_JSON, LLMBadResponse, 200),
        (Fault.GARBAGE, LLMBadResponse, None),
    ],
)
async def test_endpoint_failures_raise_llm_errors_without_the_key(
    llm: FakeOpenAI,
    summarizer: LLMSummarizer,
    fault: Fault,
    error: type[LLMError],
    status: int | None,
) -> None:
    llm.fault = fault
    with pytest.raises(error) as caught:
        await summarizer.summarize(make_paper())

    assert caught.value.status == status
    assert llm.authorizations == [f"Bearer {KEY}"]
    text = "".join(traceback.format_exception(caught.value))  # with the chained cause
    assert KEY not in text
    assert KEY not in repr(caught.value)
    assert KEY not in caught.value.detail
    assert KEY not in repr(summarizer)


@pytest.mark.timeout(30)  # a guard, not a measure: without a deadline the trickle takes minutes
async def test_a_trickling_answer_is_unavailable_at_the_deadline(llm: FakeOpenAI) -> None:
    # Every pause is far below the read timeout: only a deadline on the whole answer helps.
    llm.trickle_pause = 0.05
    llm.fault = Fault.TRICKLE
    async with LLMSummarizer(llm.base_url, SecretStr(KEY), "m", timeout=0.3) as summarizer:
        with pytest.raises(LLMUnavailable, match=r"no answer within 0\.3 s"):
            await summarizer.summarize(make_paper())
        llm.fault = None
        assert await summarizer.summarize(make_paper()) is not None  # and it recovers
    assert llm.calls == 2


async def test_rate_limit_carries_retry_after(llm: FakeOpenAI, summarizer: LLMSummarizer) -> None:
    llm.fault = Fault.RATE_LIMITED
    with pytest.raises(LLMUnavailable) as caught:
        await summarizer.summarize(make_paper())
    assert caught.value.retry_after == 7.0


async def test_a_refused_key_says_which_setting_to_fix(
    llm: FakeOpenAI, summarizer: LLMSummarizer
) -> None:
    llm.fault = Fault.UNAUTHORIZED
    with pytest.raises(LLMRejected, match="PAPERWIRE_LLM_API_KEY") as caught:
        await summarizer.summarize(make_paper())
    assert "**********" in caught.value.detail  # the echoed key was redacted


async def test_an_endpoint_nobody_listens_on_is_unavailable() -> None:
    async with FakeOpenAI() as fake:
        url = fake.base_url  # the port is free again once the server is gone
    async with LLMSummarizer(url, SecretStr(KEY), "m", timeout=TIMEOUT) as summarizer:
        with pytest.raises(LLMUnavailable, match="cannot be reached") as caught:
            await summarizer.summarize(make_paper())
    assert KEY not in "".join(traceback.format_exception(caught.value))


async def test_a_server_without_json_mode_is_asked_again_without_it() -> None:
    async with (
        FakeOpenAI(answer_from_title, reject_response_format=True) as fake,
        LLMSummarizer(fake.base_url, None, "m", timeout=TIMEOUT) as summarizer,
    ):
        first = await summarizer.summarize(make_paper(1))
        second = await summarizer.summarize(make_paper(2))
    assert first is not None
    assert second is not None
    assert ["response_format" in r.body for r in fake.requests] == [True, False, False]


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"tldr": "", "points": []}),
        json.dumps({"tldr": "   ", "points": []}),
        json.dumps({"tldr": None}),
        json.dumps({"points": ["only points"]}),
        json.dumps({"tldr": ["a", "list"]}),
        json.dumps({"tldr": "Too short."}),
        json.dumps({"tldr": "A fine sentence about the paper.", "points": 3}),
        json.dumps({"tldr": "A fine sentence about the paper.", "points": [1, 2]}),
        json.dumps({"tldr": "A fine sentence about the paper.", "points": {"a": "b"}}),
    ],
)
async def test_unusable_json_answers_give_none_and_a_log_line(
    llm: FakeOpenAI,
    summarizer: LLMSummarizer,
    content: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    llm.content = content
    assert await summarizer.summarize(make_paper()) is None
    assert any("unusable answer" in r.getMessage() for r in caplog.records)


async def test_a_refusal_gives_none(
    llm: FakeOpenAI, summarizer: LLMSummarizer, caplog: pytest.LogCaptureFixture
) -> None:
    llm.fault = Fault.REFUSAL
    assert await summarizer.summarize(make_paper()) is None
    assert any("declined" in r.getMessage() for r in caplog.records)


async def test_it_closes_the_client_it_made_but_not_one_it_was_given(llm: FakeOpenAI) -> None:
    own = LLMSummarizer(llm.base_url, None, "m", timeout=TIMEOUT)
    async with own:
        assert await own.summarize(make_paper()) is not None
    assert own._client.is_closed

    async with httpx.AsyncClient() as client:
        async with LLMSummarizer(llm.base_url, None, "m", timeout=TIMEOUT, client=client) as lent:
            assert await lent.summarize(make_paper()) is not None
        assert not client.is_closed
        still_open = await client.post(
            f"{llm.base_url}/chat/completions", json={"messages": [{"content": "Title: x"}]}
        )
        assert still_open.status_code == 200


# --- reading the model's answer --------------------------------------------------------------

GOOD_TLDR = "FastServe halves the cost of serving language models."
GOOD = {"tldr": GOOD_TLDR, "points": ["Code is out."]}


@pytest.mark.parametrize(
    "content",
    [
        json.dumps(GOOD),
        f"```json\n{json.dumps(GOOD, indent=2)}\n```",
        f"```\n{json.dumps(GOOD)}\n```",
        f"Here is the summary you asked for:\n{json.dumps(GOOD)}\nHope it helps!",
        f"<think>The user wants {{json}}. Let me think.</think>\n{json.dumps(GOOD)}",
        json.dumps({"TLDR": GOOD["tldr"], "key_points": GOOD["points"]}),
        json.dumps({"tldr": "TL;DR: " + GOOD_TLDR, "points": ["- Code is out."]}),
        json.dumps({"tldr": f'"{GOOD["tldr"]}"', "points": "Code is out."}),
        json.dumps(
            {
                "tldr": "FastServe halves the cost of serving language models",
                "points": ["1. Code is out."],
            }
        ),
    ],
)
def test_answers_are_read_robustly(content: str) -> None:
    assert parse_answer(content) == Summary(GOOD_TLDR, ("Code is out.",), "llm")


@pytest.mark.parametrize(
    ("tldr", "expected"),
    [
        (
            "FastServe halves serving cost. It also does more things. And more.",
            "FastServe halves serving cost.",
        ),
        (
            "FastServe beats prior work (e.g. vLLM and Orca et al. 2022) on 5 tasks. Then more.",
            "FastServe beats prior work (e.g. vLLM and Orca et al. 2022) on 5 tasks.",
        ),
        (
            "FastServe cuts latency by 3.5x on Llama-2.\nSecond line here.",
            "FastServe cuts latency by 3.5x on Llama-2.",
        ),
        ("A  tldr\twith\n odd   spacing here", "A tldr with odd spacing here."),
    ],
)
def test_the_tldr_is_one_clean_sentence(tldr: str, expected: str) -> None:
    assert parse_answer(json.dumps({"tldr": tldr})).tldr == expected


def test_a_long_tldr_is_cut_at_a_word_boundary() -> None:
    words = [f"word{i:03d}" for i in range(200)]
    tldr = parse_answer(json.dumps({"tldr": " ".join(words)})).tldr
    assert len(tldr) <= MAX_TLDR_CHARS
    assert tldr.endswith("…")
    assert all(word in words for word in tldr.removesuffix("…").split())


def test_points_are_trimmed_deduplicated_and_capped() -> None:
    tldr = "FastServe halves the cost of serving language models."
    points = ["  First point. ", "first point", tldr, "", "Second point.", "Third.", "Fourth."]
    long_point = "a " * 400
    summary = parse_answer(json.dumps({"tldr": tldr, "points": [*points, long_point]}))
    assert summary.key_points == ("First point.", "Second point.", "Third.")
    capped = parse_answer(json.dumps({"tldr": tldr, "points": [long_point]}))
    assert len(capped.key_points[0]) <= MAX_POINT_CHARS


@pytest.mark.parametrize(
    "content", ["", "no json here", "{not: json}", "[1, 2, 3]", '"just a string"', "{" * 5000]
)
def test_text_without_a_json_object_is_a_bad_response(content: str) -> None:
    with pytest.raises(LLMBadResponse):
        parse_answer(content)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_answers = st.one_of(
    st.text(max_size=400),
    st.builds(
        lambda tldr, points: json.dumps({"tldr": tldr, "points": points}),
        st.text(max_size=600) | _json_values,
        st.lists(st.text(max_size=300), max_size=6) | _json_values,
    ),
    st.builds(
        lambda prefix, obj, fence: (
            f"{prefix}```json\n{json.dumps(obj)}\n```" if fence else f"{prefix}{json.dumps(obj)}"
        ),
        st.text(max_size=40),
        st.dictionaries(st.sampled_from(["tldr", "points", "TLDR", "x"]), _json_values, max_size=3),
        st.booleans(),
    ),
)


@given(_answers)
def test_any_answer_gives_a_clean_summary_or_a_clear_refusal(content: str) -> None:
    try:
        summary = parse_answer(content)
    except (LLMBadResponse, UnusableAnswer):
        return
    assert summary.tier == "llm"
    assert summary.tldr.strip() == summary.tldr
    assert 0 < len(summary.tldr) <= MAX_TLDR_CHARS
    assert len(summary.key_points) <= MAX_POINTS
    for text in (summary.tldr, *summary.key_points):
        assert text
        assert len(text) <= max(MAX_TLDR_CHARS, MAX_POINT_CHARS)
        assert not re.search(r"[\x00-\x1f\x7f]", text)
        assert "  " not in text
