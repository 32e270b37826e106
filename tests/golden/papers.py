"""Papers for the card and renderer tests: real ones from the fixtures, and hostile ones.

The real papers are written out by hand from the recorded responses named beside each (the
arXiv parser is tested on those files themselves); their summaries and topics are written by
hand too, as an extractive or Hugging Face tier would give them, so the golden payloads do not
move when the summarizer is tuned.

Run ``python -m tests.golden.papers`` to rewrite the golden payload files after a deliberate
change to a renderer, then read the diff before committing it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from bot.core.cards import build_card
from bot.core.models import Author, Card, HFSignals, Link, Paper, S2Signals, Summary, Topic
from tests.golden.inert import HOSTILE_PIECES, hostile_text

__all__ = [
    "GOLDEN",
    "GOLDEN_DIR",
    "Golden",
    "hostile_cards",
    "hostile_papers",
    "raw_cards",
    "trivial_card",
]

GOLDEN_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Golden:
    name: str  # file stem of the golden payloads
    paper: Paper
    summary: Summary
    topic: Topic

    def card(self) -> Card:
        return build_card(self.paper, self.summary, self.topic)

    def path(self, platform: str) -> Path:
        return GOLDEN_DIR / f"{platform}_{self.name}.json"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# fixtures/arxiv_api/arxivpy_id_1707.08567_s0_m100_6a1afebfc6a3.xml: 34 authors, one with "ü".
AEW10 = Golden(
    name="1707.08567",
    paper=Paper(
        arxiv_id="1707.08567",
        version=1,
        title="Proceedings of Workshop AEW10: Concepts in Information Theory and Communications",
        abstract=(
            'The 10th Asia-Europe workshop in "Concepts in Information Theory and '
            'Communications" AEW10 was held in Boppard, Germany on June 21-23, 2017. It is '
            "based on a longstanding cooperation between Asian and European scientists. The "
            "first workshop was held in Eindhoven, the Netherlands in 1989. The idea of the "
            "workshop is threefold: 1) to improve the communication between the scientist in "
            "the different parts of the world; 2) to exchange knowledge and ideas; and 3) to "
            "pay a tribute to a well respected and special scientist."
        ),
        authors=tuple(
            Author(name)
            for name in (
                "Kees A. Schouhamer Immink",
                "Stan Baggen",
                "Ferdaous Chaabane",
                "Yanling Chen",
                "Peter H. N. de With",
                "Hela Gassara",
                "Hamed Gharbi",
                "Adel Ghazel",
                "Khaled Grati",
                "Naira M. Grigoryan",
                "Ashot Harutyunyan",
                "Masayuki Imanishi",
                "Mitsugu Iwamoto",
                "Ken-ichi Iwata",
                "Hiroshi Kamabe",
                "Brian M. Kurkoski",
                "Shigeaki Kuzuoka",
                "Patrick Langenhuizen",
                "Jan Lewandowsky",
                "Akiko Manada",
                "Shigeki Miyake",
                "Hiroyoshi Morita",
                "Jun Muramatsu",
                "Safa Najjar",
                "Arnak V. Poghosyan",
                "Fatma Rouissi",
                "Yuta Sakai",
                "Ulrich Tamm",
                "Joost van der Putten",
                "Fons van der Sommen",
                "A. J. Han Vinck",
                "Tadashi Wadayama",
                "Dirk Wübben",
                "Hirosuke Yamamoto",
            )
        ),
        categories=("cs.IT",),
        published=_utc("2017-07-27T08:18:33Z"),
        updated=_utc("2017-07-27T08:18:33Z"),
        comment="44 pages, editors for the proceedings: Yanling Chen and A. J. Han Vinck",
        sources=frozenset({"arxiv"}),
    ),
    summary=Summary(
        tldr=(
            'The 10th Asia-Europe workshop in "Concepts in Information Theory and '
            'Communications" AEW10 was held in Boppard, Germany on June 21-23, 2017.'
        ),
        key_points=(
            "Aims: better communication between scientists across the world, an exchange of "
            "knowledge and ideas, and a tribute to a respected scientist.",
        ),
    ),
    topic=Topic(name="Theory", emoji="📐", key="theory"),
)

# fixtures/arxiv_api/arxivpy_id_astro-ph_0601001_s0_m100_3150dca9dc76.xml: an old-style id,
# affiliations, TeX-ish "(1^{+1.39}_{-0.59})" and "V_max<17.5" (an &lt; entity in the XML).
HOT_JUPITERS = Golden(
    name="astro-ph_0601001",
    paper=Paper(
        arxiv_id="astro-ph/0601001",
        version=1,
        title=(
            "Frequency of Hot Jupiters and Very Hot Jupiters from the OGLE-III Transit Surveys "
            "Toward the Galactic Bulge and Carina"
        ),
        abstract=(
            "  We derive the frequencies of hot Jupiters (HJs) with 3--5 day periods and very "
            "hot Jupiters (VHJs) with 1-3 day periods by comparing the planets actually "
            "detected in the OGLE-III survey with those predicted by our models."
        ),
        authors=(
            Author("Andrew Gould", "Ohio State"),
            Author("Susan Dorsher", "Ohio State"),
            Author("B. Scott Gaudi", "CfA"),
            Author("Andrzej Udalski", "Warsaw University Observatory"),
        ),
        categories=("astro-ph",),
        published=_utc("2006-01-02T14:57:58Z"),
        updated=_utc("2006-01-02T14:57:58Z"),
        journal_ref="ActaAstron.56:1-50,2006",
        sources=frozenset({"arxiv"}),
    ),
    summary=Summary(
        tldr=(
            "We derive the frequencies of hot Jupiters (HJs) with 3--5 day periods and very "
            "hot Jupiters (VHJs) with 1-3 day periods by comparing the planets actually "
            "detected in the OGLE-III survey with those predicted by our models."
        ),
        key_points=(
            "Only 4--16% of the stars in the OGLE-III fields satisfying the "
            "spectroscopic-followup limit of V_max<17.5 are sensitive to HJs and VHJs.",
            "At 90% confidence the fraction of stars with planets is "
            "(1/310)(1^{+1.39}_{-0.59}) for HJs and (1/690)(1^{+1.10}_{-0.54}) for VHJs.",
        ),
    ),
    topic=Topic(name="Other", emoji="🗂️", key="other"),
)

# fixtures/arxiv_api/arxivpy_q_testing_s0_m100_cfe7536492ca.xml, entry 2306.03845v1: LaTeX
# math in the title and abstract.
OMEGA_TEST = Golden(
    name="2306.03845",
    paper=Paper(
        arxiv_id="2306.03845",
        version=1,
        title="$ω$Test: WebView-Oriented Testing for Android Applications",
        abstract=(
            "We develop $ω$Test, a test generation technique that searches for event sequences "
            "covering the identified WebView-specific properties. $ω$Test detected 36 "
            "previously-unknown bugs."
        ),
        authors=(
            Author("Jiajun Hu"),
            Author("Lili Wei"),
            Author("Yepang Liu"),
            Author("Shing-Chi Cheung"),
        ),
        categories=("cs.SE",),
        published=_utc("2023-06-06T16:32:00Z"),
        updated=_utc("2023-06-06T16:32:00Z"),
        doi="10.1145/3597926.3598112",
        sources=frozenset({"arxiv"}),
    ),
    summary=Summary(
        tldr=(
            "We develop $ω$Test, a test generation technique that searches for event sequences "
            "covering the identified WebView-specific properties."
        ),
        key_points=(
            "On 74 real-world open-/closed-source Android apps, $ω$Test detected 36 "
            "previously-unknown bugs.",
            "Of the 22 bugs reported to the app developers, 13 were confirmed and 9 fixed.",
        ),
    ),
    topic=Topic(name="Benchmarks and evaluation", emoji="📊", key="evaluation"),
)

# fixtures/hf_daily_papers/sotawhat_hf_daily_papers_2026-06-12.json, paper 2606.13392: a Hugging
# Face daily paper with upvotes, comments, a GitHub repo and an ai_summary (no arXiv record
# yet, so no categories).
MINIMAX = Golden(
    name="2606.13392",
    paper=Paper(
        arxiv_id="2606.13392",
        version=1,
        title="MiniMax Sparse Attention",
        abstract=(
            "We introduce MiniMax Sparse Attention (MSA), a blockwise sparse attention built "
            "upon Grouped Query Attention (GQA)."
        ),
        authors=tuple(
            Author(name)
            for name in (
                "Xunhao Lai",
                "Weiqi Xu",
                "Yufeng Yang",
                "Qiaorui Chen",
                "Yang Xu",
                "Lunbin Zeng",
                "Xiaolong Li",
                "Haohai Sun",
                "Haichao Zhu",
                "Vito Zhang",
                "Pengyu Zhao",
            )
        ),
        published=_utc("2026-06-11T00:00:00.000Z"),
        hf=HFSignals(
            upvotes=103,
            comments=4,
            ai_summary=(
                "MiniMax Sparse Attention enables efficient processing of ultra-long contexts in "
                "large language models through blockwise sparsity and optimized GPU execution, "
                "achieving significant speedups while maintaining performance."
            ),
            ai_keywords=("sparse attention", "Grouped Query Attention", "Top-k selection"),
            github_repo="https://github.com/MiniMax-AI/MSA",
            github_stars=251,
            daily_date=date(2026, 6, 12),
        ),
        sources=frozenset({"hf"}),
    ),
    summary=Summary(
        tldr=(
            "MiniMax Sparse Attention enables efficient processing of ultra-long contexts in "
            "large language models through blockwise sparsity and optimized GPU execution, "
            "achieving significant speedups while maintaining performance."
        ),
        key_points=(
            "On a 109B-parameter model, MSA performs on par with GQA while reducing per-token "
            "attention compute by 28.4x at 1M context.",
            "With its co-designed kernel, MSA achieves 14.2x prefill and 7.6x decoding "
            "wall-clock speedups on H800.",
            "The inference kernel is released at https://github.com/MiniMax-AI/MSA.",
        ),
        tier="hf",
    ),
    topic=Topic(name="Architectures and attention", emoji="🧱", key="architectures"),
)

GOLDEN = (AEW10, HOT_JUPITERS, OMEGA_TEST, MINIMAX)


# --- hostile papers ------------------------------------------------------------------------


def _huge(text: st.SearchStrategy[str], most: int) -> st.SearchStrategy[str]:
    """Usually ``text``; sometimes a piece of it repeated up to ``most`` characters long."""
    repeated = st.tuples(text.filter(bool), st.integers(1, most)).map(
        lambda pair: (pair[0] * (pair[1] // len(pair[0]) + 1))[: pair[1]]
    )
    return st.one_of(text, repeated)


_ids = st.one_of(
    st.from_regex(r"\A[0-9]{4}\.[0-9]{4,5}\Z"),
    st.from_regex(r"\A(astro-ph|hep-th|math|cs|quant-ph)/[0-9]{7}\Z"),
    hostile_text.filter(bool),
)
_urls = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://github.com/org/repo",
            "https://evil.example|click",
            "<https://evil.example|click>",
            "javascript:alert(1)",
            "https://github.com/a b",
            "https://x.example/" + "a" * 600,
            "",
        ]
    ),
    hostile_text,
)
_moments = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1991, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(UTC),
    ),
)
_authors = st.lists(
    st.builds(Author, _huge(hostile_text, 2_000), st.one_of(st.none(), hostile_text)),
    max_size=6,
)
_many_authors = st.tuples(_authors.filter(bool), st.integers(1, 5_000)).map(
    lambda pair: tuple((pair[0] * (pair[1] // len(pair[0]) + 1))[: pair[1]])
)
_categories = st.lists(
    st.one_of(st.sampled_from(["cs.CL", "cs.LG", "stat.ML", "astro-ph", "math.GT"]), hostile_text),
    max_size=8,
).map(tuple)

hostile_papers: st.SearchStrategy[Paper] = st.builds(
    Paper,
    arxiv_id=_ids,
    version=st.integers(1, 10_000),
    title=_huge(hostile_text, 100_000),
    abstract=_huge(hostile_text, 100_000),
    authors=st.one_of(_authors.map(tuple), _many_authors),
    categories=_categories,
    published=_moments,
    updated=_moments,
    hf=st.one_of(
        st.none(),
        st.builds(
            HFSignals,
            upvotes=st.integers(0, 10**12),
            comments=st.integers(0, 10**9),
            github_repo=_urls,
        ),
    ),
    s2=st.one_of(st.none(), st.builds(S2Signals, citation_count=st.none() | st.integers(0, 10**9))),
)


def trivial_card(paper: Paper, emoji: str = "") -> Card:
    """The card of ``paper`` with a summary and topic made of its own (hostile) text."""
    summary = Summary(
        tldr=f"{paper.title} {paper.abstract}",
        key_points=(paper.abstract, paper.title, *(a.name for a in paper.authors[:3])),
        tier=paper.abstract[:50],
    )
    topic = Topic(name=paper.title[:5_000], emoji=emoji, key=paper.arxiv_id)
    return build_card(paper, summary, topic)


hostile_cards: st.SearchStrategy[Card] = st.builds(
    trivial_card, hostile_papers, st.sampled_from(["", *HOSTILE_PIECES])
)


_links = st.lists(
    st.builds(
        Link,
        st.one_of(st.sampled_from(["Abstract", "PDF", "Code", ""]), _huge(hostile_text, 500)),
        st.one_of(_urls.filter(lambda url: url is not None), st.just("https://arxiv.org/abs/1")),
    ),
    max_size=30,
).map(tuple)
_counts = st.none() | st.integers(-(10**6), 10**15)

# Cards built directly, skipping build_card's bounds: a renderer must cope with any card.
raw_cards: st.SearchStrategy[Card] = st.builds(
    Card,
    arxiv_id=_ids,
    version=st.integers(1, 10**9),
    title=_huge(hostile_text, 100_000),
    authors_line=_huge(hostile_text, 100_000),
    author_count=st.integers(0, 10**6),
    primary_category=st.none() | _huge(hostile_text, 5_000),
    cross_lists=st.lists(_huge(hostile_text, 5_000), max_size=50).map(tuple),
    published=_moments,
    updated=_moments,
    tldr=_huge(hostile_text, 100_000),
    tldr_source=hostile_text,
    key_points=st.lists(_huge(hostile_text, 20_000), max_size=10).map(tuple),
    topic=st.builds(Topic, _huge(hostile_text, 5_000), hostile_text, hostile_text),
    links=_links,
    upvotes=_counts,
    comments=_counts,
    code_url=_urls,
    citation_count=_counts,
)


def _write_goldens() -> None:
    """Rewrite every golden payload file from the current renderers."""
    from bot.adapters.discord.render import render_discord
    from bot.adapters.slack.render import render_slack

    renderers: dict[str, Any] = {"discord": render_discord, "slack": render_slack}
    for golden in GOLDEN:
        for platform, render in renderers.items():
            payload = render(golden.card())
            text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
            golden.path(platform).write_text(text, encoding="utf-8")
            print(golden.path(platform))


if __name__ == "__main__":
    _write_goldens()
