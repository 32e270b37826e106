"""Matching through the index: exactly the naive answer, at a cost that follows the matches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.matching import SubscriptionIndex
from bot.core.models import Author, HFSignals, Paper
from bot.core.query import PaperView, Query, QueryError, parse_query


def paper(
    arxiv_id: str = "2401.00001",
    title: str = "",
    abstract: str = "",
    authors: tuple[str, ...] = (),
    categories: tuple[str, ...] = ("cs.LG",),
    hf: HFSignals | None = None,
) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=1,
        title=title,
        abstract=abstract,
        authors=tuple(Author(a) for a in authors),
        categories=categories,
        hf=hf,
        sources=frozenset({"hf" if hf is not None else "arxiv"}),
    )


SUBSCRIPTIONS = [
    (1, "cat:cs.CL -survey"),
    (2, "cat:cs.LG"),
    (3, 'au:"Yann LeCun"'),
    (4, "diffusion OR gan"),
    (5, "upvotes>=10"),
    (6, "source:hf"),
    (7, "cat:cs"),
    (8, '"world models" -cat:cs.CV'),
    (9, "cat:cs.LG"),  # the same query as 2, another channel
    (10, "ti:transformer cat:cs.CL"),
    (11, "au:lecun"),
]
PAPERS = {
    "lecun": paper(
        "2401.00001",
        "World Models for Planning",
        "Diffusion policies.",
        ("Yann LeCun", "Ada Lovelace"),
        ("cs.LG", "cs.AI"),
    ),
    "survey": paper(
        "2401.00002",
        "A Survey of Transformers",
        "We review.",
        (),
        ("cs.CL",),
        HFSignals(upvotes=12),
    ),
    "vision": paper("2401.00003", "World models", "GANs for images.", ("Lecun Smith",), ("cs.CV",)),
    "physics": paper("2401.00004", "Cold atoms", "Nothing here.", ("A. B.",), ("physics.atom-ph",)),
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lecun", [2, 3, 4, 7, 8, 9, 11]),
        ("survey", [5, 6, 7, 10]),
        ("vision", [4, 7, 11]),
        ("physics", []),
    ],
)
def test_index_returns_the_ids_whose_query_matches(name: str, expected: list[int]) -> None:
    index = SubscriptionIndex((sid, parse_query(text)) for sid, text in SUBSCRIPTIONS)
    assert sorted(index.match(PAPERS[name])) == expected
    assert sorted(index.match(PaperView(PAPERS[name]))) == expected


def test_match_many_maps_every_paper_by_arxiv_id() -> None:
    index = SubscriptionIndex((sid, parse_query(text)) for sid, text in SUBSCRIPTIONS)
    result = index.match_many(PAPERS.values())
    assert {k: sorted(v) for k, v in result.items()} == {
        p.arxiv_id: sorted(index.match(p)) for p in PAPERS.values()
    }
    assert result["2401.00004"] == []


def test_a_subscription_id_may_appear_only_once() -> None:
    with pytest.raises(ValueError, match="subscription id 1 appears twice"):
        SubscriptionIndex([(1, parse_query("a")), (1, parse_query("b"))])


def test_an_empty_index_matches_nothing() -> None:
    index = SubscriptionIndex([])
    assert len(index) == 0
    assert index.match(PAPERS["lecun"]) == []


def test_stats_show_how_queries_were_filed() -> None:
    index = SubscriptionIndex((sid, parse_query(text)) for sid, text in SUBSCRIPTIONS)
    stats = index.stats
    assert stats.subscriptions == len(SUBSCRIPTIONS)
    assert stats.distinct_queries == len(SUBSCRIPTIONS) - 1  # 2 and 9 share one query
    # by keys alone: cat:cs.LG, cat:cs, source:hf, au:lecun, au:"yann lecun" (two words of
    # one name), upvotes>=10, diffusion OR gan (either key), ti:transformer cat:cs.CL (both);
    # cat:cs.CL -survey and "world models" -cat:cs.CV need a check for the excluded key
    assert stats.by_key_alone == 8
    assert stats.checked == 2
    assert stats.always == 0


def normal_forms(queries: list[Query]) -> list[str]:
    return [q.normalized for q in queries]


def test_only_subscriptions_posted_under_the_papers_keys_are_checked() -> None:
    subs = [(i, parse_query(f'au:"ann author{i}" cat:cs.LG')) for i in range(1000)]
    subs.append((1000, parse_query("transformer upvotes>=3")))
    index = SubscriptionIndex(subs)
    target = paper(
        title="Transformers",
        authors=("Ann Author7",),
        categories=("cs.LG",),
        hf=HFSignals(upvotes=5),
    )
    assert sorted(index.match(target)) == [7, 1000]
    # the author words anchor the first 1000 (rarer than cat:cs.LG): only author7 is looked at
    assert normal_forms(index.candidates(target)) == [
        'cat:cs.LG au:"ann author7"',
        "transformer upvotes>=3",
    ]


def test_exclusions_are_applied_without_checking_each_subscription() -> None:
    subs = [(1, parse_query("cat:cs.LG -survey")), (2, parse_query("cat:cs.LG -cat:cs.CV"))]
    subs += [(3, parse_query("cat:cs.LG diffusion -survey -review"))]
    index = SubscriptionIndex(subs)
    for title, categories, expected in [
        ("Diffusion", ("cs.LG",), [1, 2, 3]),
        ("A survey of diffusion", ("cs.LG",), [2]),
        ("Diffusion: a review", ("cs.LG", "cs.CV"), [1]),
        ("Diffusion", ("cs.CV",), []),
    ]:
        target = paper(title=title, categories=categories)
        assert sorted(index.match(target)) == expected
        assert index.candidates(target) == []


@pytest.mark.parametrize(
    ("exclusion", "excluded"),
    [
        ('-"large language"', True),  # a word pair of the abstract
        ('-"language large"', False),  # the same words, not in this order
        ("-ti:survey", True),
        ("-ti:language", False),  # in the abstract, not the title
        ('-abs:"language model"', True),
        ('-abs:"a survey"', False),  # in the title, not the abstract
        ("-kw:agents", True),  # only in the Hugging Face keywords
        ("-agents", False),  # bare words search the title and abstract only
        ("-au:lovelace", True),
        ('-au:"Ada Lovelace"', True),
        ('-au:"yann lovelace"', False),  # both words, but not in one author's name
    ],
)
def test_exclusions_look_at_the_right_part_of_the_paper(exclusion: str, excluded: bool) -> None:
    # The index keeps only the paper's keys that some query uses: the exclusions must be
    # among them, in their own space.
    query = parse_query(f"cat:cs.LG {exclusion}")
    index = SubscriptionIndex([(1, query), (2, parse_query("cat:cs.LG"))])
    target = paper(
        title="A survey",
        abstract="Large language models.",
        authors=("Yann LeCun", "Ada Lovelace"),
        hf=HFSignals(upvotes=3, ai_keywords=("agents",)),
    )
    assert query.matches(target) is not excluded
    assert sorted(index.match(target)) == ([2] if excluded else [1, 2])


def test_two_key_queries_are_decided_by_keys_alone() -> None:
    subs = [(i, parse_query(f"au:author{i} cat:cs.LG")) for i in range(1000)]
    index = SubscriptionIndex(subs)
    target = paper(authors=("Ann Author7", "Bo Author8"), categories=("cs.LG",))
    assert sorted(index.match(target)) == [7, 8]
    assert index.match(paper(authors=("Ann Author7",), categories=("cs.CV",))) == []
    assert index.candidates(target) == []


def test_queries_that_are_one_key_are_never_checked() -> None:
    index = SubscriptionIndex(
        [(1, parse_query("cat:cs.LG")), (2, parse_query("au:lecun")), (3, parse_query("kw:gan"))]
    )
    target = paper(abstract="GAN", authors=("Yann LeCun",), categories=("cs.LG",))
    assert sorted(index.match(target)) == [1, 2, 3]
    assert index.candidates(target) == []


def test_a_sample_of_papers_steers_anchors_to_rare_keys() -> None:
    # Without a sample every word pair looks as rare as any other; the sample shows that
    # "deep learning model" is common and "generative adversarial network" is not.
    common = "A deep learning model"
    sample = [paper(f"2401.{i:05d}", title=common) for i in range(100)]
    sample += [paper(f"2402.{i:05d}", title="generative adversarial networks") for i in range(5)]
    subs = [(1, parse_query('"generative adversarial network" "deep learning model"'))]
    target = paper(title=common)
    blind = SubscriptionIndex(subs)
    informed = SubscriptionIndex(subs, sample=sample)
    assert blind.match(target) == informed.match(target) == []
    assert len(blind.candidates(target)) == 1  # posted under a pair of "deep learning model"
    assert informed.candidates(target) == []  # posted under a pair of the rare phrase


def test_an_or_group_posts_every_alternative() -> None:
    index = SubscriptionIndex([(1, parse_query("cat:cs.LG (au:lecun OR au:hinton OR diffusion)"))])
    for who, expected in [("Geoffrey Hinton", [1]), ("Yann LeCun", [1]), ("Ada Lovelace", [])]:
        assert index.match(paper(authors=(who,))) == expected
    assert index.match(paper(abstract="Diffusion.", categories=("cs.CV",))) == []


@pytest.mark.parametrize(
    "query",
    [
        "diffusion OR gan",  # decided by either key
        "cat:cs.LG OR cat:stat.ML",  # either category (worked out once per combination)
        "cat:stat.ML OR au:lecun OR diffusion",
        "cat:cs.LG (diffusion OR gan)",  # a category, then either key
        "(diffusion OR gan) (cat:cs.LG OR cat:stat.ML)",  # either, then either
        "(diffusion OR gan) -survey",  # either key, then a check
        '(diffusion OR "adversarial nets") -survey',
    ],
)
def test_a_paper_reaching_a_subscription_by_several_keys_gets_it_once(query: str) -> None:
    index = SubscriptionIndex([(1, parse_query(query)), (2, parse_query("cat:cs.LG"))])
    target = paper(
        title="Diffusion GAN", abstract="Adversarial nets.", categories=("cs.LG", "stat.ML")
    )
    assert sorted(index.match(target)) == [1, 2]


# --- the index is exact: property test against the naive loop ----------------------------

VOCAB = [
    "model", "models", "modeling", "world", "word", "RL", "diffusion", "transformer",
    "Transformers", "graph", "language", "large", "vision", "José", "jose", "survey", "agent",
]  # fmt: skip
NAMES = ["Yann LeCun", "José Ramírez", "Ada Lovelace", "Li Wei", "Wei Li", "Geoffrey Hinton"]
CATEGORIES = ["cs.LG", "cs.CL", "cs.CV", "stat.ML", "math.OC", "hep-th", "cond-mat.soft"]

_text = st.lists(st.sampled_from(VOCAB), max_size=12).map(" ".join)
PAPERS_ST = st.builds(
    lambda i, t, a, au, cats, hf: paper(f"2401.{i:05d}", t, a, tuple(au), tuple(cats), hf),
    st.integers(0, 99999),
    _text,
    _text,
    st.lists(st.sampled_from(NAMES), max_size=3),
    st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True),
    st.none()
    | st.builds(
        lambda up, kws: HFSignals(upvotes=up, ai_keywords=tuple(kws)),
        st.integers(0, 60),
        st.lists(_text, max_size=2),
    ),
)
_word = st.sampled_from(VOCAB)
_atom = st.one_of(
    _word,
    st.lists(_word, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    st.tuples(st.sampled_from(["ti:", "abs:", "kw:"]), _word).map("".join),
    st.sampled_from(NAMES).map(lambda n: f'au:"{n}"'),
    st.sampled_from(["au:li", "au:wei", 'au:"J Ramirez"', "au:lecun"]),
    st.sampled_from([*CATEGORIES, "cs", "stat", "math"]).map(lambda c: f"cat:{c}"),
    st.sampled_from(["source:hf", "source:arxiv"]),
    st.integers(0, 60).map(lambda n: f"upvotes>={n}"),
)
_unit = st.one_of(
    _atom,
    _atom,
    _atom.map(lambda a: "-" + a),
    st.lists(_atom, min_size=2, max_size=3).map(" OR ".join),
)
QUERY_TEXTS = st.lists(_unit, min_size=1, max_size=4).map(" ".join)


def parse_or_none(text: str) -> Query | None:
    try:
        return parse_query(text)
    except QueryError:
        return None


@settings(max_examples=250, deadline=None)
@given(
    st.lists(QUERY_TEXTS.map(parse_or_none), min_size=1, max_size=30),
    st.lists(PAPERS_ST, min_size=1, max_size=8),
    st.booleans(),
)
def test_the_index_matches_exactly_what_the_naive_loop_matches(
    queries: list[Query | None], papers: list[Paper], with_sample: bool
) -> None:
    subs = [(sid, q) for sid, q in enumerate(queries) if q is not None]
    index = SubscriptionIndex(subs, sample=papers if with_sample else ())
    for p in papers:
        assert sorted(index.match(p)) == [sid for sid, q in subs if q.matches(p)]


@settings(max_examples=150, deadline=None)
@given(QUERY_TEXTS)
def test_generated_queries_round_trip_through_their_normal_form(text: str) -> None:
    query = parse_or_none(text)
    if query is not None:
        assert parse_query(query.normalized).normalized == query.normalized
