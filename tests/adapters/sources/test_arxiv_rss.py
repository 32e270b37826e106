"""The arXiv listing feed: real fixtures parsed field by field, and the poll against the fake."""

from __future__ import annotations

import gzip
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.sources._http import HttpClient
from bot.adapters.sources.arxiv_rss import ArxivRssSource, parse_listing, split_creators
from bot.core.models import AnnounceType, Author, Paper, PollState
from bot.services.ports import FetchResult, SourceBadResponse, SourceRequestRejected
from tests.fakes.sources import FakeSources
from tests.paths import FIXTURES

RSS = FIXTURES / "arxiv_rss"
TRIMMED = RSS / "aioarxiv_rss_new_all_archives_2024-11-28_trimmed189.xml"
FULL = RSS / "aioarxiv_rss_new_all_archives_2024-11-28_full.xml.gz"
ANNOUNCED = datetime(2024, 11, 28, 5, 0, tzinfo=UTC)  # Thu, 28 Nov 2024 00:00:00 -0500


@pytest.fixture(scope="module")
def trimmed() -> FetchResult:
    return parse_listing(TRIMMED.read_bytes())


@pytest.fixture(scope="module")
def by_id(trimmed: FetchResult) -> dict[str, Paper]:
    return {p.arxiv_id: p for p in trimmed.papers}


def test_every_item_of_the_trimmed_feed_is_kept(trimmed: FetchResult) -> None:
    assert len(trimmed.papers) == 189
    assert trimmed.rejected == ()
    assert trimmed.note is None
    kinds = Counter(p.announce_type for p in trimmed.papers)
    assert kinds == {AnnounceType.NEW: 120, AnnounceType.REPLACE: 60, AnnounceType.CROSS: 9}
    assert all(p.sources == frozenset({"arxiv"}) for p in trimmed.papers)


def test_every_item_of_the_full_feed_is_kept() -> None:
    result = parse_listing(gzip.decompress(FULL.read_bytes()))
    assert len(result.papers) == 1504
    assert result.rejected == ()
    kinds = Counter(p.announce_type for p in result.papers)
    assert kinds == {AnnounceType.NEW: 926, AnnounceType.REPLACE: 569, AnnounceType.CROSS: 9}
    assert sum(1 for p in result.papers if p.doi) == 111
    assert sum(1 for p in result.papers if p.journal_ref) == 97
    assert sum(1 for p in result.papers if len(p.categories) > 1) == 849


def test_a_new_item_field_by_field(by_id: dict[str, Paper]) -> None:
    paper = by_id["2411.17700"]
    assert paper.version == 1
    assert paper.title == (
        "Exploring the Impact of Generative AI on Cross-Border E-Commerce Brand Building in "
        "Chinese Tianjin's Manufacturing Sector"
    )
    assert paper.abstract.startswith("This study investigates the influence of generative")
    assert paper.abstract.endswith("regression and structural equations (PLS-SEM).")
    assert "Announce Type" not in paper.abstract
    assert "arXiv:" not in paper.abstract
    assert paper.authors == (Author("Jun Cui"),)
    assert paper.categories == ("cs.CY",)
    assert paper.announce_type is AnnounceType.NEW
    assert paper.published == ANNOUNCED
    assert paper.updated == ANNOUNCED
    assert paper.doi is None
    assert paper.journal_ref is None
    assert paper.comment is None


def test_a_replaced_old_paper_keeps_its_version_and_no_first_date(by_id: dict[str, Paper]) -> None:
    paper = by_id["1401.3665"]
    assert paper.version == 4
    assert paper.announce_type is AnnounceType.REPLACE
    assert paper.title == "The existence of designs"
    assert paper.published is None  # the feed does not say when v1 appeared
    assert paper.updated == ANNOUNCED  # when this version was announced


def test_a_cross_list_with_doi_and_journal(by_id: dict[str, Paper]) -> None:
    paper = by_id["2202.06515"]
    assert paper.version == 3
    assert paper.announce_type is AnnounceType.CROSS
    assert paper.categories == ("astro-ph.CO", "astro-ph.GA", "physics.flu-dyn")
    assert paper.doi == "10.1063/5.0236964"
    assert paper.journal_ref == "Physics of Fluids 36, 117158 (2024)"
    assert paper.published is None
    assert paper.updated is None


def test_doi_and_journal_reference_of_a_new_item(by_id: dict[str, Paper]) -> None:
    paper = by_id["2411.17758"]
    assert paper.doi == "10.1016/j.segan.2024.101477"
    assert paper.journal_ref == (
        "Sustainable Energy, Grids and Networks, Volume 39, 2024, 101477, ISSN 2352-4677"
    )
    assert paper.categories == ("cs.GT", "cs.CR")


def test_tex_accented_names_become_unicode(by_id: dict[str, Paper]) -> None:
    names = [a.name for a in by_id["2411.17709"].authors]
    assert names[:3] == ["Martyna Poziomska", "Marian Dovgialo", "Przemysław Olbratowski"]
    assert "Paweł Niedbalski" in names
    assert len(names) == 8
    assert next(a.name for a in by_id["2411.17759"].authors) == "José Roberto Castilho Piqueira"
    assert [a.name for a in by_id["2411.17812"].authors] == [
        "Juan F. Pulido",
        "José L. Ramírez",
        "Andrés R. Vindas-Meléndez",
    ]


def test_affiliations_with_commas_stay_apart_from_names(by_id: dict[str, Paper]) -> None:
    assert by_id["2411.17753"].authors == (
        Author(
            "Aleteia Araujo", "University of Brasilia Brazil, The University of Melbourne Australia"
        ),
        Author("Breno Costa", "University of Brasilia Brazil"),
        Author("Joao Bachiega Jr", "University of Brasilia Brazil"),
        Author("Leonardo R. Carvalho", "University of Brasilia Brazil"),
        Author("Rajkumar Buyya", "The University of Melbourne Australia"),
    )


def test_latex_in_titles_is_kept_for_display_time(by_id: dict[str, Paper]) -> None:
    assert by_id["2411.17737"].title == (
        "The Smith normal form of the Q-walk matrix of the Dynkin graph $A_n$"
    )


def test_no_text_field_carries_line_breaks_or_padding(trimmed: FetchResult) -> None:
    for paper in trimmed.papers:
        for text in (paper.title, paper.abstract, *(a.name for a in paper.authors)):
            assert "\n" not in text
            assert text == text.strip()
            assert "  " not in text


@pytest.mark.parametrize(
    ("creators", "expected"),
    [
        ("Jun Cui", [("Jun Cui", None)]),
        ("A. One, B. Two", [("A. One", None), ("B. Two", None)]),
        (
            "Tianliang Yan (University of Birmingham, School of Physics, Birmingham, UK), Yu Liu",
            [
                ("Tianliang Yan", "University of Birmingham, School of Physics, Birmingham, UK"),
                ("Yu Liu", None),
            ],
        ),
        (
            "Ann Lee (Lab (North, Annex), Univ), Bo Li (X)",
            [("Ann Lee", "Lab (North, Annex), Univ"), ("Bo Li", "X")],
        ),
        (
            "Riad Mokadem (IRIT-PYRAMIDE, IRIT), Abdelkader Hameurlain (IRIT-PYRAMIDE)",
            [("Riad Mokadem", "IRIT-PYRAMIDE, IRIT"), ("Abdelkader Hameurlain", "IRIT-PYRAMIDE")],
        ),
        ("Knut Zoch (for the ATLAS Collaboration)", [("Knut Zoch", "for the ATLAS Collaboration")]),
        (
            "Shuli Jiang (Richard),  Qiuyi (Richard),  Zhang, Gauri Joshi",
            [
                ("Shuli Jiang", "Richard"),
                ("Qiuyi", "Richard"),
                ("Zhang", None),
                ("Gauri Joshi", None),
            ],
        ),
        ("Przemys{\\l}aw Olbratowski", [("Przemysław Olbratowski", None)]),
        (
            "Mar\\'ia Emilia Alonso Garc\\'ia (UCM), Henri Lombardi (LMB)",
            [("María Emilia Alonso García", "UCM"), ("Henri Lombardi", "LMB")],
        ),
        ("Ann Lee (unclosed, affiliation", [("Ann Lee", "unclosed, affiliation")]),
        ("Ann Lee), Bo Li", [("Ann Lee)", None), ("Bo Li", None)]),
        ("", []),
        (" , ,", []),
    ],
)
def test_creators_split_at_top_level_commas_only(
    creators: str, expected: list[tuple[str, str | None]]
) -> None:
    assert [(a.name, a.affiliation) for a in split_creators(creators)] == expected


_word = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll")), min_size=1, max_size=8)
_name = st.lists(_word, min_size=1, max_size=3).map(" ".join)
_affil = st.lists(_word, min_size=1, max_size=4).map(", ".join)


@given(st.lists(st.tuples(_name, st.one_of(st.none(), _affil)), min_size=1, max_size=8))
def test_creators_round_trip(authors: list[tuple[str, str | None]]) -> None:
    text = ", ".join(n if a is None else f"{n} ({a})" for n, a in authors)
    assert [(a.name, a.affiliation) for a in split_creators(text)] == authors


@given(st.text(max_size=200))
def test_creators_never_crash_nor_yield_empty_names(text: str) -> None:
    for author in split_creators(text):
        assert author.name.strip()


def test_the_weekend_feed_is_empty_and_says_why() -> None:
    result = parse_listing(
        (RSS / "allnewsai_rss_new_cs.CL_weekend_empty_2026-08-01.xml").read_bytes()
    )
    assert result.papers == ()
    assert result.rejected == ()
    assert result.note is not None
    assert "arXiv announces nothing on Saturday and Sunday" in result.note
    assert "Saturday 2026-08-01" in result.note


def test_an_empty_weekday_feed_does_not_blame_the_weekend() -> None:
    result = parse_listing((RSS / "aioarxiv_rss_new_empty_test_archive.xml").read_bytes())
    assert result.papers == ()
    assert result.note is not None
    assert "no items" in result.note
    assert "Saturday" not in result.note


def test_the_feed_error_channel_is_a_rejected_request_in_arxivs_words() -> None:
    with pytest.raises(SourceRequestRejected) as caught:
        parse_listing((RSS / "aioarxiv_rss_new_error_bad_archive.xml").read_bytes())
    assert "Bad archive 'astroph'. Valid archive names are: astro-ph" in str(caught.value)
    assert caught.value.source == "arxiv"


def _item(guid: str, *, title: str = "A title", description: str | None = None) -> bytes:
    if description is None:
        description = (
            f"arXiv:{guid.removeprefix('oai:arXiv.org:')} Announce Type: new \nAbstract: Text."
        )
    return (
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' version="2.0"><channel><title>cs updates</title>'
        f"<item><title>{title}</title><description>{description}</description>"
        f'<guid isPermaLink="false">{guid}</guid><category>cs.CL</category>'
        "<pubDate>Thu, 28 Nov 2024 00:00:00 -0500</pubDate>"
        "<arxiv:announce_type>new</arxiv:announce_type><dc:creator>A. B</dc:creator></item>"
        "<item><title>Good</title><description>arXiv:2411.00001v2 Announce Type: replace \n"
        "Abstract: Fine.</description><guid>oai:arXiv.org:2411.00001v2</guid>"
        "<pubDate>Thu, 28 Nov 2024 00:00:00 -0500</pubDate>"
        "<arxiv:announce_type>replace</arxiv:announce_type></item>"
        "</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_item("oai:arXiv.org:not-an-id"), "not an arXiv id"),
        (_item("oai:arXiv.org:2411.17700", description="no version here"), "no version"),
        (_item("oai:arXiv.org:2411.17700v1", title="  "), "empty title"),
    ],
)
def test_a_bad_item_is_rejected_and_the_good_ones_kept(data: bytes, reason: str) -> None:
    result = parse_listing(data)
    assert [p.versioned_id for p in result.papers] == ["2411.00001v2"]
    (rejected,) = result.rejected
    assert reason in rejected.reason


def test_the_version_can_come_from_the_description() -> None:
    data = _item(
        "oai:arXiv.org:2411.17700",
        description="arXiv:2411.17700v3 Announce Type: new \nAbstract: Text.",
    )
    papers = {p.arxiv_id: p for p in parse_listing(data).papers}
    assert papers["2411.17700"].version == 3


@pytest.mark.parametrize(
    "body",
    [
        b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>',
        b"<!DOCTYPE html><html><body>oops</body></html>",
        TRIMMED.read_bytes()[:100_000],
    ],
    ids=["atom-not-rss", "html", "truncated"],
)
def test_anything_but_a_listing_is_a_bad_response(body: bytes) -> None:
    with pytest.raises(SourceBadResponse):
        parse_listing(body)


# --- the poll, against the fake ---------------------------------------------------------------


async def test_poll_fetches_the_categories_and_a_second_poll_costs_a_304(
    fake: FakeSources, http: HttpClient
) -> None:
    source = ArxivRssSource(fake.arxiv_rss_url, http, ("cs.CL", "cs.LG"))
    assert source.name == "arxiv"
    first = await source.poll(PollState("arxiv"), today=date(2024, 11, 28))
    assert len(first.papers) == 189
    assert not first.not_modified
    assert first.etag == fake.rss_etag
    assert first.last_modified is not None
    state = PollState("arxiv", etag=first.etag, last_modified=first.last_modified)
    second = await source.poll(state, today=date(2024, 11, 28))
    assert second.not_modified
    assert second.papers == ()
    assert second.etag == first.etag
    paths = [r.path for r in fake.requests(FakeSources.ARXIV_RSS)]
    assert paths == ["/arxiv/rss/cs.CL+cs.LG"] * 2
    assert fake.requests(FakeSources.ARXIV_RSS)[1].status == 304
