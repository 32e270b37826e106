"""Paper -> Card: the authors line, cleaned text, cross-lists, links, signals and bounds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings

from bot.core.cards import (
    authors_line,
    build_card,
    categories_text,
    dates_text,
    format_date,
    signals_text,
    tldr_credit,
)
from bot.core.models import Author, Card, HFSignals, Link, Paper, S2Signals, Summary, Topic
from bot.core.safety import measure
from tests.golden.papers import AEW10, HOT_JUPITERS, MINIMAX, OMEGA_TEST, hostile_papers

TOPIC = Topic(name="Theory", emoji="📐", key="theory")
SUMMARY = Summary(tldr="We prove a thing.", key_points=("It holds.",))


def paper(**changes: object) -> Paper:
    fields: dict[str, object] = {
        "arxiv_id": "2403.13043",
        "version": 2,
        "title": "A Title",
        "abstract": "An abstract.",
        "authors": (Author("Ada Lovelace"),),
        "categories": ("cs.CL", "cs.LG"),
    }
    fields.update(changes)
    return Paper(**fields)  # type: ignore[arg-type]  # a test table of loosely typed fields


def card(**changes: object) -> Card:
    return build_card(paper(**changes), SUMMARY, TOPIC)


@pytest.mark.parametrize(
    ("names", "line"),
    [
        ([], ""),
        (["Ada Lovelace"], "Ada Lovelace"),
        (["Ada Lovelace", "Alan Turing"], "Ada Lovelace and Alan Turing"),
        (["A", "B", "C"], "A, B and C"),
        (["A", "B", "C", "D"], "A, B, C et al. (4 authors)"),
        ([f"N{i}" for i in range(34)], "N0, N1, N2 et al. (34 authors)"),
    ],
)
def test_authors_line_names_three_then_counts(names: list[str], line: str) -> None:
    assert authors_line(names) == line
    assert card(authors=tuple(Author(n) for n in names)).authors_line == line


def test_the_34_author_fixture_reads_et_al_with_the_count() -> None:
    built = AEW10.card()
    assert built.authors_line == (
        "Kees A. Schouhamer Immink, Stan Baggen, Ferdaous Chaabane et al. (34 authors)"
    )
    assert built.author_count == 34


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Jos\\'e Garc\\'{\\i}a", "José García"),
        ("  Przemys{\\l}aw \n Nowak ", "Przemysław Nowak"),
        ("Eve\u202e\u200b Mallory", "Eve Mallory"),
    ],
)
def test_author_names_are_cleaned_for_display(raw: str, shown: str) -> None:
    assert card(authors=(Author(raw),)).authors_line == shown


def test_blank_author_names_are_neither_shown_nor_counted() -> None:
    built = card(authors=(Author(" "), Author("A"), Author("\u200b"), Author("B")))
    assert (built.authors_line, built.author_count) == ("A and B", 2)


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("$ω$Test: WebView-Oriented Testing", "ωTest: WebView-Oriented Testing"),
        ("Learning $\\alpha$-stable\n  processes", "Learning α-stable processes"),
        ("Caf\\'e &amp; Tea", "Café & Tea"),
        ("Hidden\u00ad soft\u2066 marks", "Hidden soft marks"),
    ],
)
def test_title_is_cleaned_for_display(title: str, shown: str) -> None:
    assert card(title=title).title == shown


def test_tldr_and_key_points_are_cleaned_and_capped_at_three() -> None:
    summary = Summary(
        tldr="We find  $\\beta$ \n matters.",
        key_points=("One.", "", "  ", "Two $\\gamma$.", "Three.", "Four."),
        tier="llm",
    )
    built = build_card(paper(), summary, TOPIC)
    assert built.tldr == "We find β matters."
    assert built.key_points == ("One.", "Two γ.", "Three.")
    assert built.tldr_source == "llm"


@pytest.mark.parametrize(
    ("categories", "primary", "cross"),
    [
        ((), None, ()),
        (("cs.CL",), "cs.CL", ()),
        (("cs.CL", "cs.LG", "stat.ML"), "cs.CL", ("cs.LG", "stat.ML")),
        (("cs.CL", "cs.LG", "cs.CL", "cs.LG", ""), "cs.CL", ("cs.LG",)),
    ],
)
def test_cross_lists_are_the_categories_after_the_primary(
    categories: tuple[str, ...], primary: str | None, cross: tuple[str, ...]
) -> None:
    built = card(categories=categories)
    assert (built.primary_category, built.cross_lists) == (primary, cross)


def test_links_without_hugging_face_are_abstract_pdf_html() -> None:
    assert card().links == (
        Link("Abstract", "https://arxiv.org/abs/2403.13043"),
        Link("PDF", "https://arxiv.org/pdf/2403.13043"),
        Link("HTML", "https://arxiv.org/html/2403.13043v2"),
    )


@pytest.mark.parametrize(
    ("arxiv_id", "html"),
    [
        ("2312.00001", "https://arxiv.org/html/2312.00001v2"),
        ("2311.99999", "https://ar5iv.labs.arxiv.org/html/2311.99999"),
        ("1707.08567", "https://ar5iv.labs.arxiv.org/html/1707.08567"),
        ("astro-ph/0601001", "https://ar5iv.labs.arxiv.org/html/astro-ph/0601001"),
    ],
)
def test_html_link_goes_where_a_rendering_exists(arxiv_id: str, html: str) -> None:
    links = {link.label: link.url for link in card(arxiv_id=arxiv_id).links}
    assert links["HTML"] == html


def test_hugging_face_adds_its_page_code_and_signals() -> None:
    hf = HFSignals(upvotes=103, comments=4, github_repo="https://github.com/MiniMax-AI/MSA")
    built = card(hf=hf, s2=S2Signals(citation_count=12))
    assert [link.label for link in built.links] == [
        "Abstract",
        "PDF",
        "HTML",
        "Hugging Face",
        "Code",
    ]
    assert built.links[3].url == "https://huggingface.co/papers/2403.13043"
    assert built.code_url == "https://github.com/MiniMax-AI/MSA"
    assert (built.upvotes, built.comments, built.citation_count) == (103, 4, 12)


def test_without_enrichment_the_signals_are_unknown() -> None:
    built = card()
    assert (built.upvotes, built.comments, built.code_url, built.citation_count) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    "repo",
    [
        "javascript:alert(1)",
        "<https://evil.example|click>",
        "https://github.com/a b",
        "https://github.com/" + "a" * 600,
        "https://gíthub.com/x",
        "",
    ],
)
def test_an_unusable_code_url_is_dropped(repo: str) -> None:
    built = card(hf=HFSignals(github_repo=repo))
    assert built.code_url is None
    assert "Code" not in [link.label for link in built.links]


def test_golden_fixture_cards_read_well() -> None:
    assert HOT_JUPITERS.card().primary_category == "astro-ph"
    assert OMEGA_TEST.card().title == "ωTest: WebView-Oriented Testing for Android Applications"
    minimax = MINIMAX.card()
    assert minimax.tldr_source == "hf"
    assert minimax.cross_lists == ()
    assert minimax.authors_line == "Xunhao Lai, Weiqi Xu, Yufeng Yang et al. (11 authors)"


def test_a_huge_record_makes_a_small_card() -> None:
    authors = tuple(Author(f"Author Number {i}") for i in range(5_000))
    built = build_card(
        paper(title="word " * 20_000, authors=authors),
        Summary(tldr="x" * 100_000, key_points=("y " * 50_000,) * 10),
        TOPIC,
    )
    assert built.author_count == 5_000
    assert built.authors_line.endswith("et al. (5000 authors)")
    assert built.title.endswith("…")
    assert measure(built.title) <= 500
    assert measure(built.tldr) <= 1000
    assert len(built.key_points) == 3
    assert all(point.endswith("…") and measure(point) <= 400 for point in built.key_points)


@settings(max_examples=150, deadline=None)
@given(hostile_papers)
def test_any_paper_makes_a_bounded_card(any_paper: Paper) -> None:
    built = build_card(any_paper, Summary(tldr=any_paper.abstract), TOPIC)
    assert measure(built.title) <= 500
    assert measure(built.tldr) <= 1000
    assert measure(built.authors_line) <= 3 * 100 + 40
    assert len(built.key_points) <= 3
    assert all(link.url.startswith("https://") for link in built.links)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 6, 11, tzinfo=UTC), "11 Jun 2026"),
        (datetime(2006, 1, 2, 14, 57, tzinfo=UTC), "2 Jan 2006"),
        (datetime(1999, 12, 31, 23, 59, tzinfo=UTC), "31 Dec 1999"),
    ],
)
def test_format_date_is_day_month_year(moment: datetime, text: str) -> None:
    assert format_date(moment) == text


@pytest.mark.parametrize(
    ("published", "updated", "version", "text"),
    [
        (None, None, 1, ""),
        (datetime(2024, 3, 19, tzinfo=UTC), None, 1, "Submitted 19 Mar 2024"),
        (
            datetime(2024, 3, 19, 10, tzinfo=UTC),
            datetime(2024, 3, 19, 18, tzinfo=UTC),
            1,
            "Submitted 19 Mar 2024",
        ),
        (
            datetime(2024, 3, 19, tzinfo=UTC),
            datetime(2024, 5, 2, tzinfo=UTC),
            3,
            "Submitted 19 Mar 2024 · v3 2 May 2024",
        ),
        (None, datetime(2024, 5, 2, tzinfo=UTC), 2, "v2 2 May 2024"),
    ],
)
def test_dates_text_says_when_submitted_and_revised(
    published: datetime | None, updated: datetime | None, version: int, text: str
) -> None:
    assert dates_text(card(published=published, updated=updated, version=version)) == text


@pytest.mark.parametrize(
    ("hf", "s2", "text"),
    [
        (None, None, ""),
        (HFSignals(upvotes=0), None, "▲ 0 upvotes"),
        (HFSignals(upvotes=1, comments=1), None, "▲ 1 upvote · 💬 1 comment"),
        (
            HFSignals(upvotes=1234, comments=5),
            S2Signals(citation_count=2),
            "▲ 1,234 upvotes · 💬 5 comments · 📚 2 citations",
        ),
        (None, S2Signals(citation_count=None), ""),
        (None, S2Signals(citation_count=1), "📚 1 citation"),
    ],
)
def test_signals_text_shows_what_is_known(
    hf: HFSignals | None, s2: S2Signals | None, text: str
) -> None:
    assert signals_text(card(hf=hf, s2=s2)) == text


def test_categories_text_splits_primary_and_cross_lists() -> None:
    assert categories_text(card(categories=("cs.CL", "cs.LG", "stat.ML"))) == (
        "cs.CL",
        "cs.LG · stat.ML",
    )
    assert categories_text(card(categories=())) == ("", "")


@pytest.mark.parametrize(
    ("tier", "tldr", "credit"),
    [
        ("llm", "A claim.", "TL;DR by an LLM"),
        ("hf", "A claim.", "TL;DR by Hugging Face"),
        ("s2", "A claim.", "TL;DR by Semantic Scholar"),
        ("extractive", "A claim.", "TL;DR from the abstract"),
        ("mystery", "A claim.", ""),
        ("llm", "", ""),
    ],
)
def test_tldr_credit_names_who_wrote_the_tldr(tier: str, tldr: str, credit: str) -> None:
    built = build_card(paper(), Summary(tldr=tldr, tier=tier), TOPIC)
    assert tldr_credit(built) == credit
