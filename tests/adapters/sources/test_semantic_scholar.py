"""Semantic Scholar batch enrichment against the fake: TL;DR, citations, nulls, batching."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.adapters.sources._http import HttpClient
from bot.adapters.sources.semantic_scholar import SemanticScholarEnricher, parse_batch
from bot.core.models import S2Signals
from bot.services.ports import SourceBadResponse
from tests.fakes.sources import FakeSources
from tests.paths import FIXTURES

TURING = (
    FIXTURES / "semantic_scholar" / "semanticscholar_py_Paper_turing1950_trimmed_citations25.json"
)


def _turing_tldr() -> dict[str, Any]:
    tldr: dict[str, Any] = json.loads(TURING.read_bytes())["tldr"]
    return tldr


async def test_enrich_batches_arxiv_ids_and_skips_unknown_ones(
    fake: FakeSources, http: HttpClient
) -> None:
    fake.s2_records["2104.12255"] = {
        "paperId": "x",
        "externalIds": {"ArXiv": "2104.12255"},
        "citationCount": 12,
        "tldr": _turing_tldr(),
    }
    fake.s2_records["1605.08386"] = {
        "paperId": "y",
        "externalIds": {"ArXiv": "1605.08386"},
        "citationCount": 0,
        "tldr": None,
    }
    enricher = SemanticScholarEnricher(fake.s2_api_url, http, api_key="k-123")
    found = await enricher.enrich(
        ["2104.12255v1", "1605.08386", "2501.99999", "2103.14030", "not-an-id"]
    )
    assert found["2104.12255"] == S2Signals(tldr=_turing_tldr()["text"], citation_count=12)
    assert found["1605.08386"] == S2Signals(tldr=None, citation_count=0)
    assert found["2103.14030"] == S2Signals(tldr=None, citation_count=None)
    assert "2501.99999" not in found
    (request,) = fake.requests(FakeSources.S2_BATCH)
    assert request.method == "POST"
    assert request.query == {"fields": "tldr,citationCount,externalIds"}
    assert request.headers["x-api-key"] == "k-123"
    assert json.loads(request.body) == {
        "ids": ["ARXIV:2104.12255", "ARXIV:1605.08386", "ARXIV:2501.99999", "ARXIV:2103.14030"]
    }


async def test_enrich_sends_at_most_the_batch_size(fake: FakeSources, http: HttpClient) -> None:
    enricher = SemanticScholarEnricher(fake.s2_api_url, http, batch_size=2)
    await enricher.enrich(["2103.14030", "2012.07436", "2004.05150"])
    sizes = [len(json.loads(r.body)["ids"]) for r in fake.requests(FakeSources.S2_BATCH)]
    assert sizes == [2, 1]
    assert "x-api-key" not in fake.requests(FakeSources.S2_BATCH)[0].headers


@pytest.mark.parametrize(
    ("body", "ids"),
    [
        (b"not json", ["2104.12255"]),
        (b'{"error": "x"}', ["2104.12255"]),
        (b"[null, null]", ["2104.12255"]),  # not aligned with the ids asked
    ],
)
def test_a_malformed_batch_answer_is_a_bad_response(body: bytes, ids: list[str]) -> None:
    with pytest.raises(SourceBadResponse):
        parse_batch(body, ids)


def test_a_record_for_another_paper_is_not_taken() -> None:
    body = json.dumps([{"externalIds": {"ArXiv": "9999.99999"}, "citationCount": 3}]).encode()
    assert parse_batch(body, ["2104.12255"]) == {}


def test_a_null_tldr_text_is_none() -> None:
    body = json.dumps([{"tldr": {"model": "tldr@v2.0.0", "text": None}, "citationCount": 1}])
    assert parse_batch(body.encode(), ["2104.12255"]) == {"2104.12255": S2Signals(None, 1)}
