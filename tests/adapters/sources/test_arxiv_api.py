"""The arXiv query API: real answers parsed field by field; lookups and search against the fake."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.sources._http import HttpClient
from bot.adapters.sources.arxiv_api import ArxivApiSource, parse_api_feed, to_search_query
from bot.core.models import Author, Paper
from bot.services.ports import FetchResult, SourceBadResponse, SourceRequestRejected
from tests.fakes.sources import FakeSources
from tests.paths import FIXTURES

API = FIXTURES / "arxiv_api"
LEGACY = API / "legacy2016"


def _parse(name: str | Path) -> FetchResult:
    path = name if isinstance(name, Path) else API / name
    return parse_api_feed(path.read_bytes())


def _one(name: str | Path) -> Paper:
    (paper,) = _parse(name).papers
    return paper


def test_a_modern_lookup_field_by_field() -> None:
    paper = _one("arxivpy_id_2104.12255v1_s0_m100_6ae69987ffe1.xml")
    assert paper.arxiv_id == "2104.12255"
    assert paper.version == 1
    assert paper.title == "0"
    assert paper.abstract.startswith("What is the funniest number in cryptography? 0.")
    assert paper.authors == (Author("Quan Thoi Minh Nguyen"),)
    assert paper.categories == ("cs.CR",)
    assert paper.published == datetime(2021, 4, 20, 16, 7, 14, tzinfo=UTC)
    assert paper.updated == paper.published
    assert paper.comment is None
    assert paper.doi is None
    assert paper.journal_ref is None
    assert paper.announce_type is None
    assert paper.sources == frozenset({"arxiv"})


def test_the_34_author_paper_keeps_every_author_in_order() -> None:
    paper = _one("arxivpy_id_1707.08567_s0_m100_6a1afebfc6a3.xml")
    assert paper.versioned_id == "1707.08567v1"
    assert len(paper.authors) == 34
    assert paper.authors[0] == Author("Kees A. Schouhamer Immink")
    assert paper.authors[32] == Author("Dirk Wübben")
    assert paper.authors[-1] == Author("Hirosuke Yamamoto")
    assert (
        paper.comment == "44 pages, editors for the proceedings: Yanling Chen and A. J. Han Vinck"
    )
    assert paper.categories == ("cs.IT",)


def test_an_old_style_id_with_affiliations_and_journal() -> None:
    paper = _one("arxivpy_id_astro-ph_0601001_s0_m100_3150dca9dc76.xml")
    assert paper.arxiv_id == "astro-ph/0601001"
    assert paper.version == 1
    assert paper.authors == (
        Author("Andrew Gould", "Ohio State"),
        Author("Susan Dorsher", "Ohio State"),
        Author("B. Scott Gaudi", "CfA"),
        Author("Andrzej Udalski", "Warsaw University Observatory"),
    )
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.comment is not None
    assert paper.comment.startswith("62 pages including 16 figures")
    # The leading two spaces are gone, the entity is decoded, the TeX is kept as sent.
    assert paper.abstract.startswith("We derive the frequencies of hot Jupiters")
    assert "V_max<17.5" in paper.abstract
    assert "(1/310)(1^{+1.39}_{-0.59})" in paper.abstract


def test_an_old_style_versioned_id_with_a_cross_list() -> None:
    paper = _one("arxivpy_id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml")
    assert paper.arxiv_id == "quant-ph/0201082"
    assert paper.version == 1
    assert paper.categories == ("quant-ph", "cs.PL")
    assert paper.comment == "32 pages"


def test_the_primary_category_comes_first() -> None:
    papers = _parse(API / "sotawhat_arxiv_search_transformer_cs.LG_m5.xml").papers
    assert len(papers) == 5
    first = papers[0]
    assert first.versioned_id == "2606.13677v1"
    assert first.categories == ("cs.RO", "cs.AI", "cs.CV", "cs.LG")
    assert first.primary_category == "cs.RO"


def test_the_error_feed_is_never_a_paper() -> None:
    with pytest.raises(SourceRequestRejected, match="incorrect id format for abc") as caught:
        _parse("arxivpy_id_abc_s0_m100_b79c8dcf6bc3.xml")
    assert caught.value.source == "arxiv"


def test_a_partial_miss_returns_what_exists() -> None:
    result = _parse("arxivpy_id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.xml")
    assert [p.arxiv_id for p in result.papers] == ["1707.08567"]
    assert result.rejected == ()


@pytest.mark.parametrize(
    "name",
    [
        "arxivpy_id_0808.05394_s0_m100_7b0c7d0a7cdd.xml",
        "arxivpy_id_0000.0000_s0_m100_8b51d9633a68.xml",
    ],
)
def test_an_unknown_id_is_an_empty_answer(name: str) -> None:
    assert _parse(name) == FetchResult()


def test_the_100_entry_listing() -> None:
    result = _parse("arxivpy_q_testing_s0_m100_cfe7536492ca.xml")
    assert len(result.papers) == 100
    assert result.rejected == ()
    by_id = {p.arxiv_id: p for p in result.papers}
    assert {"cs/0503050", "hep-ph/0301050", "gr-qc/0103067"} <= by_id.keys()
    anarchy = by_id["hep-ph/0301050"]
    assert anarchy.version == 2
    assert anarchy.title == "Statistical Test of Anarchy"
    assert anarchy.published == datetime(2003, 1, 8, 20, 15, 43, tzinfo=UTC)
    assert anarchy.updated == datetime(2003, 6, 30, 3, 20, 20, tzinfo=UTC)
    assert anarchy.doi == "10.1016/j.physletb.2003.08.045"
    assert anarchy.journal_ref == "Phys.Lett.B573:94-100,2003"
    assert anarchy.authors == (Author("Andre de Gouvea"), Author("Hitoshi Murayama"))
    assert sum(1 for p in result.papers if p.doi is None) == 68
    assert sum(1 for p in result.papers if p.journal_ref is None) == 82
    assert sum(1 for p in result.papers if p.comment is None) == 3
    assert sum(1 for p in result.papers if len(p.categories) > 1) == 46
    assert any("Ramírez" in a.name for p in result.papers for a in p.authors)
    assert all(p.categories and p.published and p.updated for p in result.papers)


def test_the_legacy_2016_format_is_unwrapped() -> None:
    paper = _one(LEGACY / "arxivpy2016_id_list=1111.2011v2.xml")
    assert paper.versioned_id == "1111.2011v2"
    assert paper.title == (
        "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert "\n" not in paper.abstract
    assert "  " not in paper.abstract
    assert paper.abstract.startswith(
        "Theoretical description of anisotropic systems, such as layered superconductors"
    )
    assert paper.published == datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)
    assert paper.updated == datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert paper.doi == "10.1103/PhysRevB.85.115117"
    assert paper.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert paper.comment == "8 pages, 3 figures. Published version"
    assert paper.categories == ("cond-mat.str-el", "cond-mat.stat-mech")


def test_legacy_old_style_ids() -> None:
    result = _parse(LEGACY / "arxivpy2016_search_query=au_del_maestro.xml")
    assert len(result.papers) == 10
    old = [p.versioned_id for p in result.papers if "/" in p.arxiv_id]
    assert old == [
        "cond-mat/0412498v1",
        "cond-mat/0603029v1",
        "cond-mat/0607501v2",
        "cond-mat/0702661v2",
    ]
    checker = _one(LEGACY / "arxivpy2016_search_query=au_del_maestro+AND+ti_checkerboard.xml")
    assert checker.title == (
        "From stripe to checkerboard order on the square lattice in the presence of quenched "
        "disorder"
    )
    assert checker.categories == ("cond-mat.str-el", "cond-mat.supr-con")


def test_every_api_fixture_parses_with_utc_dates() -> None:
    files = [p for p in API.glob("*.xml") if "_abc_" not in p.name] + list(LEGACY.glob("*.xml"))
    assert len(files) > 20
    for path in files:
        for paper in parse_api_feed(path.read_bytes()).papers:
            assert paper.published is not None
            assert paper.published.tzinfo is UTC


def _feed(*entries: str) -> bytes:
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
        + "".join(entries)
        + "</feed>"
    ).encode()


def _entry(entry_id: str, title: str = "T", published: str = "2021-04-20T16:07:14Z") -> str:
    return (
        f"<entry><id>{entry_id}</id><title>{title}</title><summary>S</summary>"
        f"<published>{published}</published><updated>{published}</updated>"
        "<author><name>A</name></author></entry>"
    )


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (_entry("http://arxiv.org/abs/nonsense"), "not an arXiv id"),
        (_entry("http://arxiv.org/abs/2104.12255"), "no version"),
        (_entry("http://arxiv.org/abs/2104.12255v1", title=" "), "empty title"),
        (_entry("http://arxiv.org/abs/2104.12255v1", published="yesterday"), "ISO 8601"),
    ],
)
def test_a_bad_entry_is_rejected_and_the_good_one_kept(entry: str, reason: str) -> None:
    result = parse_api_feed(_feed(entry, _entry("http://arxiv.org/abs/1605.08386v1")))
    assert [p.versioned_id for p in result.papers] == ["1605.08386v1"]
    (rejected,) = result.rejected
    assert reason in rejected.reason


def test_an_offset_date_becomes_utc() -> None:
    data = _feed(_entry("http://arxiv.org/abs/1605.08386v1", published="2016-10-09T00:00:00-04:00"))
    (paper,) = parse_api_feed(data).papers
    assert paper.published == datetime(2016, 10, 9, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [(FIXTURES / "arxiv_rss" / "aioarxiv_rss_new_empty_test_archive.xml").read_bytes(), b"<html/>"],
    ids=["rss-not-atom", "html"],
)
def test_anything_but_atom_is_a_bad_response(body: bytes) -> None:
    with pytest.raises(SourceBadResponse):
        parse_api_feed(body)


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("mixture of experts", "all:mixture AND all:of AND all:experts"),
        ('"mixture of experts" survey', 'all:"mixture of experts" AND all:survey'),
        ("ti:transformer AND cat:cs.LG", "ti:transformer AND cat:cs.LG"),
        ("  ", ""),
    ],
)
def test_free_text_becomes_a_search_query(text: str, query: str) -> None:
    assert to_search_query(text) == query


# --- lookups and search against the fake ---------------------------------------------------


async def test_lookup_batches_ids_in_one_request(fake: FakeSources, http: HttpClient) -> None:
    api = ArxivApiSource(fake.arxiv_api_url, http)
    found = await api.lookup(
        ["2104.12255v1", "arXiv:1707.08567", "astro-ph/0601001", "math.GT/0309136", "2501.99999"]
    )
    assert set(found) == {"2104.12255", "1707.08567", "astro-ph/0601001"}
    assert len(found["1707.08567"].authors) == 34
    (request,) = fake.requests(FakeSources.ARXIV_API)
    assert (
        request.query["id_list"] == "2104.12255,1707.08567,astro-ph/0601001,math/0309136,2501.99999"
    )
    assert request.query["max_results"] == "5"


async def test_lookup_chunks_long_id_lists(fake: FakeSources, http: HttpClient) -> None:
    api = ArxivApiSource(fake.arxiv_api_url, http, batch_size=2)
    found = await api.lookup(["2104.12255", "1707.08567", "1605.08386", "2104.12255"])
    assert set(found) == {"2104.12255", "1707.08567", "1605.08386"}
    chunks = [r.query["id_list"] for r in fake.requests(FakeSources.ARXIV_API)]
    assert chunks == ["2104.12255,1707.08567", "1605.08386"]


async def test_lookup_of_nothing_sends_nothing(fake: FakeSources, http: HttpClient) -> None:
    assert await ArxivApiSource(fake.arxiv_api_url, http).lookup([]) == {}
    assert fake.count() == 0


async def test_ids_that_do_not_parse_are_left_out_of_the_batch(
    fake: FakeSources, http: HttpClient
) -> None:
    api = ArxivApiSource(fake.arxiv_api_url, http)
    assert await api.lookup(["abc", "0808.05394"]) == {}
    assert fake.count() == 0
    found = await api.lookup(["abc", "1605.08386"])
    assert list(found) == ["1605.08386"]
    (request,) = fake.requests(FakeSources.ARXIV_API)
    assert request.query["id_list"] == "1605.08386"


async def test_search_returns_papers_in_order(fake: FakeSources, http: HttpClient) -> None:
    api = ArxivApiSource(fake.arxiv_api_url, http)
    papers = await api.search("testing", limit=7)
    listing = [p.arxiv_id for p in _parse("arxivpy_q_testing_s0_m100_cfe7536492ca.xml").papers]
    matching = [i for i in listing if i in {p.arxiv_id for p in papers}]
    assert len(papers) == 7
    assert [p.arxiv_id for p in papers] == matching
    (request,) = fake.requests(FakeSources.ARXIV_API)
    assert request.query["search_query"] == "all:testing"
    assert request.query["max_results"] == "7"
