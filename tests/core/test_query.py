"""The subscription query language: normal forms, matching, and errors that say where and why."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.categories import CATEGORIES
from bot.core.models import Author, HFSignals, Paper
from bot.core.query import (
    MAX_NESTING,
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    PaperView,
    Query,
    QueryError,
    fold,
    parse_query,
    parse_stored_query,
    stem,
    words,
)

# --- normal forms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("cat:cs.CL -survey", "cat:cs.CL -survey"),
        (
            'cat:cs.CL cat:cs.LG "mixture of experts" -survey au:"Yann LeCun" '
            "upvotes>=20 source:hf",
            'cat:cs.CL cat:cs.LG source:hf au:"yann lecun" "mixture of experts" '
            "upvotes>=20 -survey",
        ),
        # OR binds tighter than the implicit AND, and the normal form shows the grouping
        ("a b OR c", "a (b OR c)"),
        ("llm | gpt", "(gpt OR llm)"),
        ("cat:cs.LG|cat:cs.CL", "(cat:cs.CL OR cat:cs.LG)"),
        ("(a OR b) OR c", "(a OR b OR c)"),
        ("a OR a", "a"),
        # negating a group excludes each alternative
        ("-(survey OR review) cat:cs", "cat:cs -review -survey"),
        ("NOT survey llm", "llm -survey"),
        ("x AND y", "x y"),
        # aliases, case, accents and smart quotes
        ("author:LeCun", "au:lecun"),
        ("TITLE:Transformer", "ti:transformer"),
        ("abstract:graphs", "abs:graphs"),
        ("Source:HuggingFace", "source:hf"),
        ("ti:José", "ti:jose"),
        ("“mixture of experts”", '"mixture of experts"'),
        ('"transformer"', "transformer"),
        # punctuation inside a word makes a phrase of its parts
        ("GPT-4", '"gpt 4"'),
        ("state-of-the-art", '"state of the art"'),
        # categories: archive lower case, two-letter subject classes upper case
        ("cat:CS.cl", "cat:cs.CL"),
        ("cat:cs.*", "cat:cs"),
        ("cat:cond-mat.mes-hall", "cat:cond-mat.mes-hall"),
        ("cat:astro-ph.ga", "cat:astro-ph.GA"),
        ('cat:"stat.ML"', "cat:stat.ML"),
        # upvotes: > N is >= N+1, :N and =N are >= N, the highest floor wins
        ("upvotes>5", "upvotes>=6"),
        ("upvotes:20", "upvotes>=20"),
        ("upvotes >= 20", "upvotes>=20"),
        ("upvotes>=5 upvotes>=20 llm", "llm upvotes>=20"),
        ("-upvotes>=10 llm", "llm -upvotes>=10"),
        # duplicates collapse
        ("llm llm LLM", "llm"),
    ],
)
def test_normal_form(text: str, normalized: str) -> None:
    assert parse_query(text).normalized == normalized


@pytest.mark.parametrize(
    "variants",
    [
        [
            "cat:cs.CL -survey",
            "  -survey   CAT:cs.cl ",
            "-survey cat:cs.CL",
            "NOT survey cat:cs.cl",
        ],
        [
            'au:"Yann LeCun" diffusion',
            'Diffusion author:"yann  lecun"',
            'diffusion AU:"YANN LECUN"',
        ],
        ["a OR b c", "c b|a", "c (b OR a)", "c AND (a | b)"],
        [
            '"Mixture of Experts" ti:José',
            'ti:jose "mixture   of experts"',
            "ti:JOSE “mixture of experts”",
        ],
    ],
)
def test_the_same_subscription_typed_differently_has_one_normal_form(variants: list[str]) -> None:
    assert len({parse_query(v).normalized for v in variants}) == 1


def test_queries_compare_by_normal_form() -> None:
    assert parse_query("b a") == parse_query("a  b")
    assert parse_query("a") != parse_query("ti:a")
    assert str(parse_query("B  a")) == "a b"


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "says"),
    [
        (
            'cat:cs.CL "large language',
            10,
            'unbalanced quote at position 10: close the phrase with "',
        ),
        ("auth:hinton", 0, 'unknown field "auth" at position 0: use cat, au/author, ti/title'),
        ("llm http://example.com", 4, 'unknown field "http"'),
        ("upvotes>=abc", 9, "upvotes needs a whole number"),
        ("upvotes>=", 9, "write upvotes>=20"),
        ("upvotes>=-3", 9, "whole number"),
        ("upvotes<5", 0, "write upvotes>=N"),
        ("upvotes>=99999999999", 9, "more than any paper gets"),
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("AND", 0, "AND without a term"),
        ("a" * 5000, MAX_QUERY_LENGTH, "query too long (5000 characters)"),
        ("-survey", 0, "add at least one positive term"),
        ("-survey -cat:cs.CV -(a OR b)", 0, "add at least one positive term"),
        ("llm OR", 4, "OR without a term after it"),
        ("OR llm", 0, "OR without a term before it"),
        ("a | | b", 2, "OR without a term after it"),
        ("(a OR) b", 3, "OR without a term after it"),
        ('llm ""', 4, "empty phrase"),
        ('ti:"  "', 3, "empty phrase"),
        ("llm !!!", 4, "has no letters or digits"),
        ("ti:", 3, "has no value"),
        ("cat:", 4, "write cat:cs.CL"),
        ("cat:machine-learning", 4, 'unknown arXiv archive "machine-learning"'),
        ("cat:cs/CL", 4, "is not an arXiv category"),
        # categories must exist; the closest real ones are suggested
        ("cat:cs.XX", 4, "no such arXiv category cs.XX at position 4: write cat:cs for all of cs"),
        ("llm cat:cs.LC", 8, "no such arXiv category cs.LC at position 8: did you mean cat:cs.CL?"),
        ("cat:cs.ML", 4, "did you mean cat:cs.LG or cat:stat.ML?"),
        ("cat:cs.L", 4, "did you mean cat:cs.CL, cat:cs.DL or cat:cs.FL?"),  # not a prefix
        ("cat:math.XY", 4, "https://arxiv.org/category_taxonomy"),
        ("-cat:cs.XX llm", 5, "no such arXiv category cs.XX"),
        ("(cat:cs.CL OR cat:cs.XX)", 18, "no such arXiv category cs.XX"),
        ('cat:"cs.XX"', 4, "no such arXiv category cs.XX"),
        ("cat:hepth", 4, 'unknown arXiv archive "hepth" at position 4: did you mean cat:hep-th?'),
        ("cat:CL", 4, "did you mean cat:cs.CL?"),
        ("cat:cs_LG", 4, "did you mean cat:cs.LG?"),
        # a field name in Latin letters, full-width or not, is a field or an error
        ("ｆｏｏ:bar", 0, 'unknown field "ｆｏｏ"'),
        ("upvotes≤5", 0, "write upvotes>=N"),
        ("upvotes＜5", 0, "write upvotes>=N"),
        ("upvotes>=２x", 9, "upvotes needs a whole number, not '２x'"),
        # parentheses only group alternatives: deep nesting is refused, not a crash
        ("(" * 497 + "a", MAX_NESTING, f"parentheses nested more than {MAX_NESTING} deep"),
        ("-(" * 249 + "a", 2 * MAX_NESTING + 1, "like (a OR b OR c)"),
        ("(" * (MAX_NESTING + 1) + "a" + ")" * (MAX_NESTING + 1), MAX_NESTING, "nested"),
        ("source:twitter", 7, "use source:arxiv or source:hf"),
        ('au:"Y."', 3, "au: needs a name"),
        ("- survey", 0, "a - with no term after it"),
        ("llm -", 4, "a - with no term after it"),
        ("llm NOT", 4, "no term after it"),
        ("llm -survey OR review", 4, "a negated term inside an OR group"),
        ("(llm OR -survey)", 8, "a negated term inside an OR group"),
        ("(a b)", 3, "two terms in parentheses without OR"),
        ("(a OR b", 0, "unclosed ("),
        ("a) b", 1, "unmatched )"),
        ("() a", 0, "empty parentheses"),
        ("llm -LLM", 4, "llm is both required and excluded"),
        (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), 150, f"more than {MAX_TERMS} terms"),
    ],
)
def test_bad_queries_name_the_position_and_the_fix(text: str, position: int, says: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    error = caught.value
    assert error.position == position
    assert says in str(error)
    assert f"at position {position}: {error.hint}" in str(error)
    assert error.hint


def test_query_error_is_a_value_error() -> None:
    assert issubclass(QueryError, ValueError)


def test_parentheses_nest_up_to_the_limit() -> None:
    deep = "(" * MAX_NESTING + "a OR b" + ")" * MAX_NESTING
    assert parse_query(deep).normalized == "(a OR b)"
    assert parse_query("-" + deep + " c").normalized == "c -a -b"


# --- look-alike characters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        # a field name in look-alike letters is the field it shows
        ("c\u0430t:cs.CL", "cat:cs.CL"),  # Cyrillic а
        ("\u0430u:lecun", "au:lecun"),  # Cyrillic а
        ("t\u0456:diffusion", "ti:diffusion"),  # Cyrillic і
        ("\u03a4\u0399:transformer", "ti:transformer"),  # Greek capitals
        ("s\u043eurce:hf", "source:hf"),  # Cyrillic о
        ("\u0570f", "\u0570f"),  # ... but a word is a word: Armenian հ stays
        ("ｃａｔ:cs.CL", "cat:cs.CL"),  # full-width
        ("\U0001d41c\U0001d41a\U0001d42d:cs.CL", "cat:cs.CL"),  # mathematical bold
        ("c\u200bat:cs.CL", "cat:cs.CL"),  # an invisible zero-width space
        # the colon
        ("cat：cs.CL", "cat:cs.CL"),  # full-width
        ("cat∶cs.CL", "cat:cs.CL"),  # ratio
        ("ｃａｔ：ｃｓ．ＣＬ", "cat:cs.CL"),
        # categories and sources in look-alikes
        ("cat:\u0441s.CL", "cat:cs.CL"),  # Cyrillic с
        ("cat:cs.C\u200bL", "cat:cs.CL"),
        ("source:\u04bbf", "source:hf"),  # Cyrillic һ
        # the comparison and its number
        ("upvotes＞＝20", "upvotes>=20"),
        ("upvotes ＞＝ 20", "upvotes>=20"),
        ("upvotes≥20", "upvotes>=20"),
        ("upvotes⩾20", "upvotes>=20"),
        ("upvotes＞19", "upvotes>=20"),
        ("upvotes：20", "upvotes>=20"),
        ("u\u0440votes>=20", "upvotes>=20"),  # Cyrillic р
        ("ｕｐｖｏｔｅｓ>=20", "upvotes>=20"),
        ("upvotes>=２０", "upvotes>=20"),
        ("upvotes>=\u0662\u0660", "upvotes>=20"),  # Arabic-Indic digits
        # the minus sign, bar, parentheses, quotes and OR
        ("\u2013survey llm", "llm -survey"),  # en dash
        ("\u2212survey llm", "llm -survey"),  # minus sign
        ("－survey llm", "llm -survey"),  # full-width
        ("llm ｜ gpt", "(gpt OR llm)"),
        ("（a OR b） c", "c (a OR b)"),
        ("＂mixture of experts＂", '"mixture of experts"'),
        ("llm \u041eR gpt", "(gpt OR llm)"),  # Cyrillic О
        # words in other scripts are words, before a colon too
        ("кот:собака", '"кот собака"'),
        ("ti:модель", "ti:модель"),
        ("GPT\u20134", '"gpt 4"'),  # a dash inside a word separates, as "-" does
    ],
)
def test_look_alike_characters_mean_what_they_show(text: str, normalized: str) -> None:
    assert parse_query(text).normalized == normalized


# --- categories ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CATEGORIES)
def test_every_arxiv_category_is_accepted_in_any_case_and_written_in_arxivs_spelling(
    name: str,
) -> None:
    assert parse_query(f"cat:{name}").normalized == f"cat:{name}"
    assert parse_query(f"cat:{name.upper()}").normalized == f"cat:{name}"
    assert parse_query(f"CAT:{name.lower()}").normalized == f"cat:{name}"


# --- stored queries -----------------------------------------------------------------------

# Normal forms as the parser wrote them before categories were checked and look-alikes read
# (each printed by parse_query at that time): a subscription's identity, stored in databases.
STORED = [
    "cat:cs.CL -survey",
    'cat:cs.CL cat:cs.LG source:hf au:"yann lecun" "mixture of experts" upvotes>=20 -survey',
    "a (b OR c)",
    "(cat:cs.CL OR cat:cs.LG)",
    "cat:cs -review -survey",
    "cat:cond-mat.mes-hall",
    "cat:astro-ph.GA cat:hep-th",
    "(cat:math-ph OR cat:math.MP)",
    "cat:q-fin.EC",
    "cat:cmp-lg",
    "cat:astro-ph",
    "cat:physics.optics -cat:physics.gen-ph",
    "cat:chao-dyn cat:nlin.CD",
    "(cat:cs.SY OR cat:eess.SY)",
    "cat:stat.ML upvotes>=8",
    "(cat:cs.GL OR cat:cs.OH)",
    'ti:jose "tr\u0430nsformer model"',  # a Cyrillic а inside a word
    "модель трансформер",
    'ti:модель abs:"неиронная сеть"',
    '"αβ crown" verification',
    "βvae",
    "kw:大语言模型",
    'au:"przemyslaw kowalski"',
    "llm \u043er",  # Cyrillic о: a word, not OR
    "u\u0440votes",  # Cyrillic р: a word, not upvotes
    "fine fullwidth",
    '"gpt 4" evaluation',
    '"llm survey"',
    'ti:"state of the art" -abs:benchmark',
    'au:"y lecun" diffusion',
    "source:arxiv kw:moe",
    "llm upvotes>=0",
    "cat:cs (au:lecun OR ti:a OR abs:b OR kw:c)",
    '"a b c" -"d e"',
    "\u0663 \u066e\u0663",
    'cat:cs ("score matching" OR diffusion)',
    "dz ss ι",
    "ti:\u0441at",  # Cyrillic с: a word in ti:, not a field
    '"кот собака"',
    '"gpt4 mini"',
    "naːma",  # IPA's ː is a letter, not a colon
    "a\ua4fdb",  # so is Lisu's ꓽ
]


@pytest.mark.parametrize("normalized", STORED)
def test_a_stored_normal_form_parses_to_itself(normalized: str) -> None:
    assert parse_query(normalized).normalized == normalized
    assert parse_stored_query(normalized).normalized == normalized


@pytest.mark.parametrize(
    "normalized", ["cat:cs.XX -survey", "(cat:cs.CL OR cat:cs.l)", "cat:math.QQ diffusion"]
)
def test_a_stored_query_with_a_category_the_taxonomy_lacks_still_loads(normalized: str) -> None:
    with pytest.raises(QueryError, match="no such arXiv category"):
        parse_query(normalized)
    query = parse_stored_query(normalized)
    assert query.normalized == normalized
    assert not query.matches(paper(categories=("cs.LG", "math.AG")))


def test_the_normal_form_itself_must_fit_the_length_limit() -> None:
    # ß folds to ss and "|" is written " OR ": 346 characters typed, 680 once written out
    text = "|".join(f"{'ß' * 6}{i}" for i in range(MAX_TERMS))
    assert len(text) < MAX_QUERY_LENGTH
    with pytest.raises(QueryError, match="once written out in full"):
        parse_query(text)
    few = "|".join(f"{'ß' * 6}{i}" for i in range(3))
    assert parse_query(few).normalized == "(ssssssssssss0 OR ssssssssssss1 OR ssssssssssss2)"


# --- matching -----------------------------------------------------------------------------


def paper(
    title: str = "A study",
    abstract: str = "",
    authors: tuple[str, ...] = (),
    categories: tuple[str, ...] = ("cs.LG",),
    hf: HFSignals | None = None,
    sources: tuple[str, ...] = ("arxiv",),
) -> Paper:
    return Paper(
        arxiv_id="2401.00001",
        version=1,
        title=title,
        abstract=abstract,
        authors=tuple(Author(a) for a in authors),
        categories=categories,
        hf=hf,
        sources=frozenset(sources),
    )


LECUN = paper(
    title="Self-Supervised World Models for Planning",
    abstract="We train Transformers on video. Our modeling approach scales.",
    authors=("José Ramírez", "Yann LeCun", "Przemysław Kowalski"),
    categories=("cs.LG", "cs.AI", "stat.ML"),
)
HF = paper(
    title="Mixture of Experts at Scale",
    abstract="Sparse routing for large language models.",
    categories=("cs.CL",),
    hf=HFSignals(upvotes=42, ai_keywords=("sparse MoE", "expert routing")),
    sources=("hf",),
)
PHYSICS = paper(
    title="Quantum Gases in Optical Lattices",
    abstract="We study cold atoms; RL is not involved.",
    categories=("cond-mat.quant-gas", "physics.atom-ph"),
)


@pytest.mark.parametrize(
    ("query", "target", "expected"),
    [
        # accents and case, both ways
        ("au:jose", LECUN, True),
        ("au:José", LECUN, True),
        ("au:RAMIREZ", LECUN, True),
        ("au:przemyslaw", LECUN, True),  # ł spelled out
        ('au:"Yann LeCun"', LECUN, True),
        ("au:lecun", LECUN, True),
        ('au:"LeCun Yann"', LECUN, True),  # name order does not matter
        ('au:"Y. LeCun"', LECUN, True),  # an initial
        ('au:"J LeCun"', LECUN, False),  # the initial must fit the same author
        ('au:"Yann Ramirez"', LECUN, False),  # all tokens in ONE author's name
        ("au:lec", LECUN, False),  # whole words only
        # word boundaries
        ("RL", LECUN, False),
        ("world", LECUN, True),
        ("RL", PHYSICS, True),
        ("plan", LECUN, True),  # planning -> plan (light stemming)
        ("super", LECUN, False),  # Self-Supervised is self + supervised
        ("supervised", LECUN, True),
        # light stemming
        ("transformer", LECUN, True),
        ("model", LECUN, True),  # Models in the title
        ("modelling", LECUN, True),  # modeling in the abstract
        ("scaling", LECUN, True),  # scales
        ("gas", PHYSICS, True),  # Gases
        ("lattice", PHYSICS, True),
        # phrases: consecutive words in one field
        ('"world models"', LECUN, True),
        ('"world model"', LECUN, True),
        ('"models world"', LECUN, False),
        ('"planning we"', LECUN, False),  # does not run from the title into the abstract
        ('"self supervised"', LECUN, True),
        ('"large language model"', HF, True),
        # fields
        ("ti:video", LECUN, False),
        ("abs:video", LECUN, True),
        ("ti:planning", LECUN, True),
        ("abs:planning", LECUN, False),
        ("routing", HF, True),
        ("moe", HF, False),  # ai_keywords are only searched by kw:
        ("kw:moe", HF, True),
        ('kw:"expert routing"', HF, True),
        ('kw:"sparse routing"', HF, True),  # kw: covers the abstract too
        ('kw:"moe expert"', HF, False),  # not across two keywords
        # categories: exact, or a whole archive
        ("cat:cs", LECUN, True),
        ("cat:cs.AI", LECUN, True),  # not only the primary category
        ("cat:stat", LECUN, True),
        ("cat:cs.CV", LECUN, False),
        ("cat:cond-mat.quant-gas", PHYSICS, True),
        ("cat:physics", PHYSICS, True),
        ("cat:cond-mat.soft", PHYSICS, False),
        # negation and OR
        ("cat:cs -survey", LECUN, True),
        ("cat:cs -video", LECUN, False),
        ("cat:cs -abs:video", LECUN, False),
        ("cat:cs -ti:video", LECUN, True),
        ("cat:cs -cat:stat.ML", LECUN, False),
        ('cat:cs -"world models"', LECUN, False),
        ("diffusion OR transformer", LECUN, True),
        ("diffusion | gan", LECUN, False),
        ("cat:cs.CV OR cat:stat.ML", LECUN, True),
        ("cat:cs.LG diffusion OR planning", LECUN, True),
        ("cat:cs.CV diffusion OR planning", LECUN, False),
        ("-(video OR gan) cat:cs", LECUN, False),
        # sources and upvotes
        ("source:hf", HF, True),
        ("source:arxiv", HF, False),
        ("source:arxiv", LECUN, True),
        ("source:hf", LECUN, False),
        ("upvotes>=42", HF, True),
        ("upvotes>42", HF, False),
        ("upvotes>=0", HF, True),
        ("upvotes>=0", LECUN, False),  # no HF signals: never qualifies
        ("cat:cs -upvotes>=10", LECUN, True),  # ... so excluding high upvotes keeps it
        ("cat:cs -upvotes>=10", HF, False),
    ],
)
def test_query_matches_paper(query: str, target: Paper, expected: bool) -> None:
    assert parse_query(query).matches(target) is expected
    assert parse_query(query).matches(PaperView(target)) is expected


def test_a_paper_with_hf_signals_counts_as_an_hf_paper_whatever_its_sources_say() -> None:
    signals = paper(hf=HFSignals(upvotes=3), sources=("arxiv",))
    assert parse_query("source:hf").matches(signals)
    assert parse_query("source:arxiv").matches(signals)


# --- text normalisation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("José Ramírez", ["jose", "ramirez"]),
        ("Przemysław Møldrup Weißl", ["przemyslaw", "moldrup", "weissl"]),
        ("Ｆｕｌｌwidth ﬁne", ["fullwidth", "fine"]),
        ("GPT-4o, state-of-the-art!", ["gpt", "4o", "state", "of", "the", "art"]),
        ("snake_case", ["snake", "case"]),
        ("", []),
    ],
)
def test_words_are_folded_runs_of_letters_and_digits(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_ascii_words_are_runs_of_lower_case_letters_and_digits(text: str) -> None:
    assert words(text) == re.findall(r"[a-z0-9]+", text.lower())


@pytest.mark.parametrize(
    ("forms", "stemmed"),
    [
        (["transformer", "transformers"], "transformer"),
        (["model", "models", "modeling", "modelling", "modeled"], "model"),
        (["embed", "embeds", "embedding", "embeddings", "embedded"], "embed"),
        (["image", "images", "imaging"], "imag"),
        (["study", "studies", "studied", "studying"], "study"),
        (["class", "classes"], "class"),
        (["bias", "biases"], "bias"),
        (["process", "processes", "processing"], "process"),
        (["rl"], "rl"),
        (["gpt4"], "gpt4"),
        (["string", "strings"], "string"),  # no vowel left without -ing
    ],
)
def test_light_stemming_conflates_these_forms(forms: list[str], stemmed: str) -> None:
    assert {stem(f) for f in forms} == {stemmed}


@pytest.mark.parametrize(("a", "b"), [("world", "word"), ("learner", "learning"), ("us", "use")])
def test_light_stemming_keeps_these_apart(a: str, b: str) -> None:
    assert stem(a) != stem(b)


@given(st.text(max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


# --- round trip on generated queries ------------------------------------------------------

_WORDS = st.sampled_from(
    ["llm", "LLMs", "diffusion", "José", "world", "RL", "graph", "vision", "or", "and", "Ǆ", "ß",
     "c\u0430t", "\u041eR", "u\u0440votes", "naːma", "ｃａｔ", "GPT\u20134"]
)  # fmt: skip
_ATOMS = st.one_of(
    _WORDS,
    st.lists(_WORDS, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    st.tuples(st.sampled_from(["ti:", "abs:", "kw:", "title:", "au:", "author:"]), _WORDS).map(
        "".join
    ),
    st.sampled_from(["cat:cs", "cat:cs.CL", "cat:stat.ml", "cat:cond-mat.soft", "source:hf"]),
    st.integers(0, 500).map(lambda n: f"upvotes>={n}"),
    st.text(max_size=6),  # noise: most of it is rejected, some of it is words
)
_UNITS = st.one_of(
    _ATOMS,
    _ATOMS.map(lambda a: "-" + a),
    st.lists(_ATOMS, min_size=2, max_size=3).map(" OR ".join),
    st.lists(_ATOMS, min_size=2, max_size=3).map(lambda xs: "(" + " | ".join(xs) + ")"),
)
QUERIES = st.lists(_UNITS, min_size=1, max_size=6).map(" ".join)


def parse_or_error(text: str) -> Query | QueryError:
    try:
        return parse_query(text)
    except QueryError as error:
        return error


@settings(max_examples=300, deadline=None)
@given(QUERIES)
def test_parsing_the_normal_form_gives_the_same_normal_form(text: str) -> None:
    query = parse_or_error(text)
    if isinstance(query, QueryError):
        assert 0 <= query.position <= len(text)
        return
    again = parse_query(query.normalized)
    assert again.normalized == query.normalized
    assert again == query


# Pieces that stress the structure: grouping, negation, quotes, fields, their look-alikes.
_PIECES = st.sampled_from(
    ["(", ")", "-", "-(", "((", "))", "|", " ", "OR", "AND", "NOT", '"', "“", "a", "llm", "x1",
     "cat:", "cs", ".", "CL", "au:", "ti:", "upvotes", ">=", "≥", "＞", "1", "：", "ｃａｔ",
     "\u0430", "\u2013", "（", "）", "\u200b", "Ǆ", "ß", "кот"]
)  # fmt: skip
_NESTED = st.tuples(
    st.integers(0, MAX_QUERY_LENGTH), st.sampled_from(["(", "-(", "(-", "((a OR "])
).map(lambda nd: (nd[1] * nd[0] + "a" + ")" * nd[0])[:MAX_QUERY_LENGTH])
_ANY_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(max_size=MAX_QUERY_LENGTH),
    st.lists(_PIECES, max_size=MAX_QUERY_LENGTH).map(lambda ps: "".join(ps)[:MAX_QUERY_LENGTH]),
    _NESTED,
)


@settings(max_examples=400, deadline=None)
@given(_ANY_TEXT)
# Deep nesting (once a RecursionError; Hypothesis raises the recursion limit while it runs, so
# the error table above is what pins the nesting limit).
@example("(" * 497 + "a")
@example("(" * MAX_QUERY_LENGTH)
@example("-(" * (MAX_QUERY_LENGTH // 2))
def test_any_text_parses_or_raises_query_error(text: str) -> None:
    assert len(text) <= MAX_QUERY_LENGTH
    query = parse_or_error(text)  # anything but QueryError fails the test
    if isinstance(query, QueryError):
        assert 0 <= query.position <= len(text)
        assert query.hint
    else:
        assert parse_query(query.normalized).normalized == query.normalized
