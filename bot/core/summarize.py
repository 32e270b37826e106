"""The built-in extractive TL;DR and key points: offline, deterministic and fast.

The TL;DR is the abstract sentence that most likely states the paper's contribution, chosen
by two small linear models over cheap features (cue phrases, position, overlap with the title
and the rest of the abstract, length, how likely each word is to appear in a TL;DR), then
compressed: framing such as "In this paper," and parenthetical asides are dropped, never
cutting a word. The weights were fitted on the SciTLDR-A dev set by ``bench/fit_summary.py``;
``bench/summary.py`` scores the result on the test set. Key points are the method, a result
with numbers and what is released, each kept short. Pure Python and precompiled regexes:
thousands of abstracts a second on one core.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, reduce
from itertools import chain, pairwise, repeat
from operator import or_

from bot.core.models import Summary
from bot.core.text import clean_abstract, clean_title, split_sentences, unwrap

__all__ = [
    "KEY_POINT_MAX",
    "MAX_KEY_POINTS",
    "TLDR_MAX",
    "summarize",
    "summarize_sentences",
]

log = logging.getLogger(__name__)

MAX_KEY_POINTS = 3
KEY_POINT_MAX = 160  # characters
TLDR_MAX = 300  # characters; longer contribution sentences are cut at a clause boundary
# Abstracts far beyond any real one (arXiv caps them near 1,920 characters) are cut first,
# so a hostile record costs no more than a long paper.
_ABSTRACT_MAX = 20_000
_TITLE_MAX = 1_000
_SENTENCES_MAX = 60

# --------------------------------------------------------------------------------------------
# Words and cues
#
# Each sentence is lowercased and tokenised once; cue phrases are found through per-token
# and per-word-pair bit masks rather than one regex each, which keeps the summarizer at
# thousands of abstracts a second in pure Python.

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _words(
    "a an the of for and or to in on with by from as at is are was were be been being this "
    "that these those we our us it its their they which who whom whose can could may might "
    "will would shall should do does did not no than then there here via into over under "
    "between through about also such both each more most other some any all only very much "
    "many so just using use used based new novel paper work approach method show propose"
)
_SUFFIX = re.compile(r"(?:ations?|izations?|ings?|ed|es|s|ly|ment|ness|ity|al|ive|ize|ise)$")


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match "networks" with "network" across sentences."""
    if len(word) <= 4:
        return word
    return _SUFFIX.sub("", word) or word


# The cues, one bit each. Those marked "pair" need two consecutive words, "start" the first
# words of the sentence.
_CUE_NAMES = (
    "we_propose",  # pair: we propose / introduce / present ...
    "we_aim",  # pair: we aim / seek ...; our goal
    "we_study",  # pair: we study / investigate / explore ...
    "this_paper",  # pair: this paper, our work, here we ...
    "paper_verb",  # pair: paper proposes, work presents ...
    "we_show",  # pair: we show / demonstrate / find ...
    "results",  # experiments, empirical; pair: results show
    "outperform",  # outperforms, improves, better; state of the art
    "novel",
    "our",
    "we",
    "data",  # benchmark, dataset, task
    "background",  # recent, widely, existing, prior; pair: has been
    "problem",  # however, challenge, problem, limitation ...
    "number",  # a token with a digit
    "percent",
    "method",  # approach, method, framework, model ...
    "called",  # called, dubbed, named; pair: refer to
    "acronym",  # (ABC)
    "starts_we",  # start: we, our
    "by_ing",  # pair: by doing
    "further",  # also; start: finally, moreover ...
    "anaphor",  # start: this, these, it, they ...
    "to_this_end",  # start: to this end, to address ...
    "specifically",  # start: specifically, in particular
    "latex",  # $ or a backslash
    "colon",
    "contrast_start",  # start: however, but, although ...
    "theory",  # theory, prove, bound, guarantee, converge
    # Key-point cues (not features)
    "kp_result",  # outperform, improve, achieve, reduce, accuracy, speedup ...
    "kp_artifact",  # code, dataset, model, weights ...
    "kp_available",  # available, released, open-source, github, http ...
    "kp_method",  # pair: we use / train / build ...; our method; based on; by doing
)
_BIT = {name: 1 << i for i, name in enumerate(_CUE_NAMES)}
_FEATURE_CUES = _CUE_NAMES[: _CUE_NAMES.index("kp_result")]


def _expand(spec: str) -> list[str]:
    """Word lists with optional endings: "propos(e|es|ed)" -> propose, proposes, proposed."""
    out: list[str] = []
    for item in spec.split():
        stem, _, rest = item.partition("(")
        if rest:
            out += [stem + ending for ending in rest.rstrip(")").split("|")]
        else:
            out.append(stem)
    return out


_VERB_ENDINGS = "(|s|d|ed)"
_UNIGRAMS: dict[str, tuple[str, ...]] = {
    "novel": ("novel", "new"),
    "our": ("our",),
    "we": ("we",),
    "data": tuple(_expand("dataset(|s) task(|s) corpus corpora")),
    "background": tuple(
        _expand(
            "recent(|ly) widely popular(|ity) remain(|s) often typically existing prior "
            "traditional(|ly) conventional(|ly) current(|ly) previous(|ly) commonly"
        )
    ),
    "problem": tuple(_expand("however unclear lack(|s|ing)")),
    "method": tuple(
        _expand(
            "approach(|es) method(|s) framework(|s) model(|s) algorithm(|s) technique(|s) "
            "architecture(|s) scheme(|s) strategy strategies network(|s) procedure(|s) "
            "objective(|s) loss"
        )
    ),
    "called": ("called", "dubbed", "named", "termed"),
    "percent": ("percent", "percentage"),
    "further": ("also",),
    "theory": ("prove", "proof", "theorem", "theorems"),
    "kp_result": tuple(
        _expand(
            "accuracy accuracies speedup speed faster fewer lower higher gain(|s) sota f1 bleu auc"
        )
    ),
    "kp_artifact": tuple(
        _expand(
            "code(|s) dataset(|s) data model(|s) weights checkpoint(|s) benchmark(|s) "
            "implementation(|s) software library toolkit demo corpus"
        )
    ),
    "kp_available": tuple(
        _expand(
            "available release(|s|d) open opensource(|d) publicly public github huggingface "
            "http https url"
        )
    ),
}
# Words that start with these prefixes carry the cue (experiment, experiments, experimental).
_PREFIXES: dict[str, tuple[str, ...]] = {
    "results": ("experiment", "empiric"),
    "outperform": ("outperform", "improv", "superior", "better", "surpass"),
    "data": ("benchmark",),
    "background": ("popular",),
    "problem": ("challeng", "problem", "limitation", "difficult", "issue", "suffer", "fail"),
    "theory": ("theor", "bound", "guarantee", "converge"),
    "kp_result": ("outperform", "improv", "achiev", "reduc", "surpass", "accelerat"),
}
_PAIRS: dict[str, list[tuple[str, str]]] = {
    "we_propose": [
        ("we", v)
        for v in _expand(
            "propose introduce present develop design describe devise formulate put offer "
            "build construct create release contribute"
        )
    ],
    "we_aim": [("we", v) for v in _expand("aim seek attempt try set")]
    + [("our", v) for v in ("goal", "aim", "objective")],
    "we_study": [
        ("we", v)
        for v in _expand(
            "study investigate explore examine analyze analyse assess consider address tackle "
            "focus revisit characterize characterise compare evaluate"
        )
    ],
    "this_paper": [
        (a, b)
        for a in ("this", "our", "present")
        for b in ("paper", "work", "study", "article", "note", "project")
    ]
    + [("here", "we"), ("herein", "we")],
    "paper_verb": [
        (a, b)
        for a in ("paper", "work", "study", "article")
        for b in _expand(
            "propose(|s) present(|s) introduce(|s) describe(|s) studies investigate(|s) "
            "explore(|s) show(|s) develop(|s) address(|es) tackle(|s)"
        )
    ],
    "we_show": [
        ("we", v)
        for v in _expand(
            "show demonstrate find prove observe establish argue report confirm verify"
        )
    ],
    "results": [
        (a, b)
        for a in ("results", "experiments", "experiment", "evaluation", "evaluations")
        for b in ("show", "demonstrate", "indicate", "suggest", "reveal", "confirm")
    ],
    "outperform": [("the", "art")],  # state-of-the-art
    "background": [("has", "been"), ("have", "been")],
    "problem": [("open", "question")],
    "called": [("refer", "to")],
    "kp_result": [("the", "art")],
    "kp_method": [
        ("we", v)
        for v in _expand(
            "propose introduce present develop design use employ leverage train build "
            "formulate extend combine adopt apply"
        )
    ]
    + [("our", v) for v in _expand("method approach model framework algorithm system architecture")]
    + [("based", "on"), ("consists", "of"), ("relies", "on")],
}
_STARTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "starts_we": (("we",), ("our",)),
    "further": (
        *((w,) for w in _expand("further finally moreover additionally also furthermore")),
        *((w,) for w in ("lastly", "second", "third", "then")),
        ("in", "addition"),
    ),
    "anaphor": tuple((w,) for w in ("this", "these", "it", "they", "such", "those")),
    "to_this_end": (
        ("to", "this", "end"),
        ("to", "that", "end"),
        *(("to", w) for w in _expand("address tackle solve overcome alleviate remedy cope")),
        ("to", "mitigate"),
    ),
    "specifically": (("specifically",), ("in", "particular"), ("concretely",)),
    "contrast_start": tuple(
        (w,) for w in ("however", "but", "yet", "unfortunately", "despite", "although", "while")
    ),
}


def _table() -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    words: dict[str, int] = {}
    for name, items in _UNIGRAMS.items():
        for word in items:
            words[word] = words.get(word, 0) | _BIT[name]
    pairs: dict[tuple[str, str], int] = {}
    for name, pair_list in _PAIRS.items():
        for pair in pair_list:
            pairs[pair] = pairs.get(pair, 0) | _BIT[name]
    return words, pairs


_WORD_BITS, _PAIR_BITS = _table()
_ALL_PREFIXES = tuple((p, _BIT[name]) for name, ps in _PREFIXES.items() for p in ps)
_NUMBER_BIT = _BIT["number"]
_PERCENT_BIT, _ACRONYM_BIT = _BIT["percent"], _BIT["acronym"]
_LATEX_BIT, _COLON_BIT = _BIT["latex"], _BIT["colon"]
_BY_ING_BIT = _BIT["by_ing"] | _BIT["kp_method"]
_ACRONYM = re.compile(r"\([A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*\)")


@lru_cache(maxsize=1 << 16)
def _word_bits(word: str) -> int:
    bits = _WORD_BITS.get(word, 0)
    for prefix, bit in _ALL_PREFIXES:
        if word.startswith(prefix):
            bits |= bit
    if not word.isalpha() and any(c.isdigit() for c in word):
        bits |= _NUMBER_BIT
    return bits


def _starts_table() -> dict[str, tuple[tuple[tuple[str, ...], int], ...]]:
    table: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    for name, starts in _STARTS.items():
        for start in starts:
            table.setdefault(start[0], []).append((start[1:], _BIT[name]))
    return {word: tuple(rests) for word, rests in table.items()}


_START_BITS = _starts_table()


def _start_bits(tokens: list[str]) -> int:
    """Cues that hold when the sentence starts with certain words ("To this end", "However")."""
    rests = _START_BITS.get(tokens[0]) if tokens else None
    if not rests:
        return 0
    bits = 0
    following = tuple(tokens[1:3])
    for rest, bit in rests:
        if following[: len(rest)] == rest:
            bits |= bit
    return bits


@dataclass(frozen=True, slots=True)
class _Sentence:
    """One sentence as the summarizer sees it: text, words, their stems, content stems, cues."""

    text: str
    tokens: list[str]
    stems: tuple[str, ...]
    content: frozenset[str]
    bits: int


@lru_cache(maxsize=1 << 16)
def _token(word: str) -> tuple[str, int, str | None]:
    """A word's stem, cue bits, and its stem again if it is a content word (else None)."""
    stem = _stem(word)
    return stem, _word_bits(word), stem if len(word) > 2 and word not in _STOP else None


def _analyse(text: str) -> _Sentence:
    tokens = _WORD.findall(text.lower())
    if not tokens:
        return _Sentence(text, tokens, (), frozenset(), _start_bits(tokens))
    stems, word_bits, contents = zip(*map(_token, tokens), strict=True)
    # Cue bits of every word and of every pair of neighbouring words, OR-ed together.
    bits = reduce(or_, word_bits, 0)
    bits = reduce(or_, map(_PAIR_BITS.get, pairwise(tokens), repeat(0)), bits)
    if "by" in tokens and any(a == "by" and b.endswith("ing") for a, b in pairwise(tokens)):
        bits |= _BY_ING_BIT
    bits |= _start_bits(tokens)
    if "%" in text:
        bits |= _PERCENT_BIT
    if "(" in text and _ACRONYM.search(text):
        bits |= _ACRONYM_BIT
    if "$" in text or "\\" in text:
        bits |= _LATEX_BIT
    if ":" in text:
        bits |= _COLON_BIT
    return _Sentence(text, tokens, stems, frozenset(filter(None, contents)), bits)


# --------------------------------------------------------------------------------------------
# The sentence model (fitted by bench/fit_summary.py)
#
# Two linear models score each sentence. The sentence model regresses a sentence's ROUGE-1
# against the gold TL;DRs on the features below. The word model estimates, for each word of
# the abstract, how likely it is to appear in a gold TL;DR (from whether it is in the title,
# how many sentences use it, and for frequent words the word itself); a sentence's expected
# overlap, 2 * sum(p) / (length + _WORD_MODEL_LENGTH), rewards short sentences dense with
# such words. The pick maximises sentence score + _WORD_MODEL_WEIGHT * expected overlap.

_FEATURE_NAMES: tuple[str, ...] = (
    "bias",
    "first",
    "second",
    "third",
    "middle",
    "last",
    "relative_position",
    "short_abstract",
    *_FEATURE_CUES,
    "after_background",
    "after_problem",
    "first_proposal",
    "after_proposal",
    "no_proposal",
    "title_recall",
    "title_precision",
    "centrality",
    "length",
    "length_squared",
    "very_short",
    "very_long",
    "title_density",  # words also in the title, per (length + 6)
    "shared_density",  # how many other sentences share each word, per (length + 6)
    "stopword_density",
    "title_density_20",  # the same two per (length + 20)
    "shared_density_20",
)
_WORD_FEATURE_NAMES: tuple[str, ...] = (
    "bias",
    "in_title",
    "sentence_share",  # the share of the other sentences that use the word
    "frequency",  # occurrences in the abstract, capped at 6, over 6
    "only_once",  # used by one sentence only
    "number",
    "in_claim",  # used by a sentence that states the aim ("we propose", "this paper")
    "in_first",  # used by the first sentence
    "long",  # a stem of 7 letters or more
    "stopword",
)
_FEATURE_BITS = tuple(_BIT[name] for name in _FEATURE_CUES)
_PROPOSAL = _BIT["we_propose"] | _BIT["paper_verb"]
_CLAIM = _PROPOSAL | _BIT["this_paper"] | _BIT["we_aim"]  # sentences that state the aim
_BACKGROUND = _BIT["background"]
_PROBLEM = _BIT["problem"]


def _title_stems(title: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in _WORD.findall(title.lower()))


def _word_stats(sentences: Sequence[_Sentence]) -> tuple[dict[str, int], dict[str, int]]:
    """How many sentences use each stem, and how often it occurs in all."""
    shared = Counter(chain.from_iterable(set(s.stems) for s in sentences))
    counts = Counter(chain.from_iterable(s.stems for s in sentences))
    return shared, counts


def _features(
    title: str, sentences: Sequence[_Sentence], shared: dict[str, int] | None = None
) -> list[list[float]]:
    """One sentence-model feature vector per sentence, in _FEATURE_NAMES order."""
    n = len(sentences)
    title_stems = _title_stems(title)
    title_words = frozenset(
        _stem(w) for w in _WORD.findall(title.lower()) if len(w) > 2 and w not in _STOP
    )
    if shared is None:
        shared = _word_stats(sentences)[0]
    first_proposal = next((i for i in range(n) if sentences[i].bits & _PROPOSAL), -1)
    span = max(n - 1, 1)
    rows: list[list[float]] = []
    previous = 0
    for i, sentence in enumerate(sentences):
        words = sentence.content
        bits = sentence.bits
        count = len(sentence.tokens)
        length = min(count, 60) / 30
        overlap = len(title_words & words)
        in_title = 0
        sharing = 0
        for stem in sentence.stems:
            if stem in title_stems:
                in_title += 1
            sharing += shared[stem] - 1
        stopwords = count - len([w for w in sentence.tokens if w not in _STOP])
        per6 = 1 / (count + 6)
        per20 = 1 / (count + 20)
        rows.append(
            [
                1.0,
                float(i == 0),
                float(i == 1),
                float(i == 2),
                float(2 < i < n - 1),
                float(i == n - 1 and n > 1),
                i / span,
                float(n <= 3),
                *[1.0 if bits & bit else 0.0 for bit in _FEATURE_BITS],
                1.0 if previous & _BACKGROUND else 0.0,
                1.0 if previous & _PROBLEM else 0.0,
                float(i == first_proposal),
                float(0 <= first_proposal < i),
                float(first_proposal < 0),
                overlap / len(title_words) if title_words else 0.0,
                overlap / len(words) if words else 0.0,
                sum(shared[w] - 1 for w in words) / len(words) / span if words else 0.0,
                length,
                length * length,
                float(count < 8),
                float(count > 40),
                in_title * per6,
                sharing / span * per6,
                stopwords * per6,
                in_title * per20,
                sharing / span * per20,
            ]
        )
        previous = bits
    return rows


def _word_features(
    title: str, sentences: Sequence[_Sentence], shared: dict[str, int], counts: dict[str, int]
) -> dict[str, list[float]]:
    """The word-model features of every stem in the abstract, in _WORD_FEATURE_NAMES order."""
    title_stems = _title_stems(title)
    span = max(len(sentences) - 1, 1)
    in_claim = {st for s in sentences if s.bits & _CLAIM for st in s.stems}
    in_first = set(sentences[0].stems) if sentences else set()
    return {
        stem: [
            1.0,
            1.0 if stem in title_stems else 0.0,
            (used - 1) / span,
            min(counts[stem], 6) / 6,
            1.0 if used == 1 else 0.0,
            1.0 if stem.isdigit() else 0.0,
            1.0 if stem in in_claim else 0.0,
            1.0 if stem in in_first else 0.0,
            1.0 if len(stem) >= 7 else 0.0,
            1.0 if stem in _STOP else 0.0,
        ]
        for stem, used in shared.items()
    }


# BEGIN FITTED WEIGHTS (written by bench/fit_summary.py; do not edit by hand)
# Ridge regressions on SciTLDR-A dev; the blend was chosen by cross-validation there.
_WEIGHTS: tuple[float, ...] = (
    +0.053694,  # bias
    -0.014793,  # first
    -0.021723,  # second
    -0.013907,  # third
    -0.013741,  # middle
    -0.020205,  # last
    -0.014113,  # relative_position
    +0.002675,  # short_abstract
    +0.013541,  # we_propose
    +0.049494,  # we_aim
    +0.014809,  # we_study
    +0.038054,  # this_paper
    +0.009531,  # paper_verb
    +0.010184,  # we_show
    -0.009655,  # results
    -0.001446,  # outperform
    +0.006130,  # novel
    -0.009117,  # our
    +0.016177,  # we
    -0.009841,  # data
    -0.006160,  # background
    -0.002526,  # problem
    -0.005079,  # number
    -0.014945,  # percent
    +0.008011,  # method
    -0.010136,  # called
    +0.002917,  # acronym
    +0.016659,  # starts_we
    -0.008545,  # by_ing
    -0.015164,  # further
    +0.007476,  # anaphor
    +0.003649,  # to_this_end
    +0.015630,  # specifically
    -0.009583,  # latex
    -0.019345,  # colon
    -0.003030,  # contrast_start
    +0.006293,  # theory
    -0.000312,  # after_background
    -0.004579,  # after_problem
    +0.070401,  # first_proposal
    +0.010740,  # after_proposal
    +0.005658,  # no_proposal
    +0.080705,  # title_recall
    +0.155687,  # title_precision
    +0.064536,  # centrality
    +0.197065,  # length
    -0.089124,  # length_squared
    -0.053421,  # very_short
    +0.003633,  # very_long
    +0.079070,  # title_density
    +0.253458,  # shared_density
    +0.036066,  # stopword_density
    +0.021342,  # title_density_20
    +0.127057,  # shared_density_20
)
_WORD_WEIGHTS: tuple[float, ...] = (
    +0.139740,  # bias
    +0.313715,  # in_title
    +0.135165,  # sentence_share
    +0.228259,  # frequency
    -0.081358,  # only_once
    -0.095971,  # number
    +0.097286,  # in_claim
    +0.021144,  # in_first
    +0.013772,  # long
    -0.049110,  # stopword
)
_WORD_VOCABULARY: dict[str, float] = {
    "the": +0.339287,
    "of": +0.283216,
    "to": +0.333632,
    "a": +0.425423,
    "and": +0.343496,
    "we": +0.140047,
    "in": +0.150066,
    "that": +0.270217,
    "on": +0.145807,
    "is": -0.044600,
    "learn": +0.153758,
    "for": +0.289475,
    "model": +0.226509,
    "network": +0.147152,
    "this": +0.268324,
    "with": +0.191178,
    "train": +0.220148,
    "as": +0.006253,
    "by": +0.182767,
    "our": -0.145007,
    "are": -0.038470,
    "task": +0.174848,
    "method": +0.326576,
    "an": +0.185904,
    "can": +0.067965,
    "neur": +0.160742,
    "from": +0.071934,
    "data": +0.080625,
    "which": +0.149554,
    "be": +0.014930,
    "show": +0.050777,
    "deep": +0.045421,
    "approach": +0.068201,
    "represent": +0.122700,
    "such": -0.106450,
    "it": -0.036948,
    "bas": +0.133981,
    "result": -0.036902,
    "us": +0.109299,
    "performance": -0.020899,
    "problem": +0.083116,
    "algorithm": +0.132537,
    "propose": +0.174274,
    "dataset": -0.019959,
    "or": -0.053004,
    "work": -0.041439,
    "these": -0.082319,
    "state": +0.002131,
    "more": +0.018067,
    "paper": +0.418682,
    "experiment": -0.075523,
    "also": -0.090440,
    "has": -0.120086,
    "new": +0.145519,
    "adversari": +0.131348,
    "image": +0.190546,
    "different": +0.001439,
    "gradient": +0.161318,
    "not": +0.000369,
    "have": -0.104620,
    "generat": +0.108704,
    "domain": +0.100161,
    "function": +0.076896,
    "inform": +0.108663,
    "distribution": +0.130656,
    "layer": +0.182205,
    "robust": +0.140727,
    "between": +0.057394,
    "while": -0.112468,
    "large": -0.042111,
    "demonstrate": -0.090611,
    "both": -0.038347,
    "two": +0.048282,
    "input": -0.024009,
    "art": -0.024219,
    "propos": +0.225791,
    "over": +0.051556,
    "at": -0.018363,
    "high": +0.052192,
    "well": -0.052304,
    "find": -0.061589,
    "one": -0.057679,
    "time": -0.030906,
    "their": +0.006272,
    "parameter": -0.028570,
    "framework": +0.205552,
    "graph": +0.107860,
    "recent": -0.110749,
    "when": -0.012168,
    "optim": +0.127127,
    "but": -0.048728,
    "present": +0.040654,
    "convolution": +0.076960,
    "only": -0.014995,
    "into": +0.017414,
    "each": -0.017870,
    "space": +0.073169,
    "loss": +0.106899,
    "however": -0.117972,
    "weight": +0.209660,
}
_WORD_MODEL_WEIGHT = 0.4
_WORD_MODEL_LENGTH = 12.0
# END FITTED WEIGHTS


def _reference_scores(title: str, sentences: Sequence[_Sentence]) -> list[float]:
    """The models as written: feature vectors times weights (the fitting script's view)."""
    shared, counts = _word_stats(sentences)
    rows = _features(title, sentences, shared)
    scores = [sum(w * x for w, x in zip(_WEIGHTS, row, strict=True)) for row in rows]
    value = {
        stem: sum(w * x for w, x in zip(_WORD_WEIGHTS, row, strict=True))
        + _WORD_VOCABULARY.get(stem, 0.0)
        for stem, row in _word_features(title, sentences, shared, counts).items()
    }
    for i, sentence in enumerate(sentences):
        expected = sum(value[stem] for stem in sentence.stems)
        scores[i] += _WORD_MODEL_WEIGHT * 2 * expected / (len(sentence.stems) + _WORD_MODEL_LENGTH)
    return scores


# strict=False so that bench/fit_summary.py can import the module after the features change;
# a test checks that the fitted weights match the features one for one.
_W = dict(zip(_FEATURE_NAMES, _WEIGHTS, strict=False))
_CUE_WEIGHTS = tuple(
    (bit, _W[name]) for name, bit in zip(_FEATURE_CUES, _FEATURE_BITS, strict=True) if _W[name]
)
_FEATURE_MASK = sum(_FEATURE_BITS)
_WW = dict(zip(_WORD_FEATURE_NAMES, _WORD_WEIGHTS, strict=False))


@lru_cache(maxsize=4096)
def _cue_score(bits: int) -> float:
    return sum(weight for bit, weight in _CUE_WEIGHTS if bits & bit)


@lru_cache(maxsize=1 << 16)
def _static_word_value(stem: str) -> float:
    """The part of a stem's word-model value that does not depend on the abstract."""
    return (
        _WW["bias"]
        + (_WW["number"] if stem.isdigit() else 0.0)
        + (_WW["long"] if len(stem) >= 7 else 0.0)
        + (_WW["stopword"] if stem in _STOP else 0.0)
        + _WORD_VOCABULARY.get(stem, 0.0)
    )


def _scores(title: str, sentences: Sequence[_Sentence]) -> list[float]:
    """The same scores as _reference_scores, computed without building feature vectors."""
    n = len(sentences)
    span = max(n - 1, 1)
    w = _W
    title_stems = _title_stems(title)
    title_words = frozenset(
        _stem(x) for x in _WORD.findall(title.lower()) if len(x) > 2 and x not in _STOP
    )
    shared, counts = _word_stats(sentences)
    # The word model's value of each stem, then its sum over each sentence's words.
    in_title_w, share_w = _WW["in_title"], _WW["sentence_share"] / span
    frequency_w, once_w = _WW["frequency"] / 6, _WW["only_once"]
    claim_w, first_w = _WW["in_claim"], _WW["in_first"]
    in_claim = {stem for s in sentences if s.bits & _CLAIM for stem in s.stems}
    in_first = set(sentences[0].stems)
    static = _static_word_value
    value = {
        stem: static(stem)
        + share_w * (used - 1)
        + frequency_w * min(counts[stem], 6)
        + (once_w if used == 1 else 0.0)
        + (in_title_w if stem in title_stems else 0.0)
        + (claim_w if stem in in_claim else 0.0)
        + (first_w if stem in in_first else 0.0)
        for stem, used in shared.items()
    }
    first_proposal = next((i for i in range(n) if sentences[i].bits & _PROPOSAL), -1)
    position = (w["first"], w["second"], w["third"])
    scores: list[float] = []
    previous = 0
    for i, sentence in enumerate(sentences):
        stems = sentence.stems
        words = sentence.content
        bits = sentence.bits
        count = len(sentence.tokens)
        length = min(count, 60) / 30
        overlap = len(title_words & words)
        in_title = len([s for s in stems if s in title_stems])
        sharing = (sum(map(shared.__getitem__, stems)) - len(stems)) / span
        stopwords = len([x for x in sentence.tokens if x in _STOP])
        per6, per20 = 1 / (count + 6), 1 / (count + 20)
        score = w["bias"] + _cue_score(bits & _FEATURE_MASK) + w["relative_position"] * i / span
        if i < 3:
            score += position[i]
        elif i < n - 1:
            score += w["middle"]
        if i == n - 1 and n > 1:
            score += w["last"]
        if n <= 3:
            score += w["short_abstract"]
        if previous & _BACKGROUND:
            score += w["after_background"]
        if previous & _PROBLEM:
            score += w["after_problem"]
        if i == first_proposal:
            score += w["first_proposal"]
        elif 0 <= first_proposal < i:
            score += w["after_proposal"]
        elif first_proposal < 0:
            score += w["no_proposal"]
        if title_words:
            score += w["title_recall"] * overlap / len(title_words)
        if words:
            score += w["title_precision"] * overlap / len(words)
            score += (
                w["centrality"]
                * (sum(map(shared.__getitem__, words)) - len(words))
                / (len(words) * span)
            )
        score += w["length"] * length + w["length_squared"] * length * length
        if count < 8:
            score += w["very_short"]
        elif count > 40:
            score += w["very_long"]
        score += (
            per6 * (w["title_density"] * in_title + w["shared_density"] * sharing)
            + w["stopword_density"] * stopwords * per6
            + per20 * (w["title_density_20"] * in_title + w["shared_density_20"] * sharing)
        )
        expected = sum(map(value.__getitem__, stems))
        score += _WORD_MODEL_WEIGHT * 2 * expected / (len(stems) + _WORD_MODEL_LENGTH)
        scores.append(score)
        previous = bits
    return scores


# --------------------------------------------------------------------------------------------
# Compression

_CONNECTIVES = (
    r"to (?:this|that) end|to do so|to achieve this|to (?:this|that) aim|"
    r"to (?:address|tackle|overcome|mitigate|alleviate|remedy|solve|fill|bridge|close|resolve)"
    r" (?:this|these|such|the above|both|this research|the|those)(?: \w+){0,3}|"
    r"specifically|in particular|concretely|moreover|furthermore|additionally|in addition|"
    r"finally|lastly|however|therefore|thus|hence|instead|consequently|as a result|"
    r"accordingly|overall|in summary|in short|to summari[sz]e|in conclusion|first(?:ly)?|"
    r"second(?:ly)?|third(?:ly)?|then|here|herein|in contrast|on the other hand|"
    r"crucially|importantly|notably|interestingly|surprisingly|critically|in practice|"
    r"to (?:the best of )?our knowledge|"
    r"in (?:this|that|such a) (?:context|setting|regard|manner|way|fashion|spirit|vein|light)|"
    r"(?:in order )?to [^,;:()]{3,120}(?=,\s*we\b)|"
    r"(?:motivated|inspired|guided|driven) by [^,;:()]{1,80}|building (?:up)?on [^,;:()]{1,80}|"
    r"based on (?:this|these|such|the above) (?:\w+ ){0,2}(?:observations?|insights?|"
    r"findings?|analys[ie]s|results?|ideas?)"
)
_LEAD_FRAME = re.compile(
    r"^(?:(?:in|within|through|with) (?:this|the present|our|the current) "
    r"(?:paper|work|study|article|note|letter|thesis|report|manuscript|chapter|project|"
    r"contribution|abstract|pre-?print|position paper|survey|review|tutorial|short paper|"
    r"extended abstract|technical report|proposal)"
    rf"|{_CONNECTIVES})\s*(?:,\s*|\s+(?=we\b))",
    re.IGNORECASE,
)
_HERE_WE = re.compile(
    r"^(?:here|herein|now|thus|therefore|hence|instead|then|also),?\s+(?=we\b)", re.I
)
# Parenthetical asides and bracketed citations, one level of nesting, with the space before.
# An aside follows a space: "f(x)" and "a_f(n)" are notation, not asides.
# And it is followed by a space or punctuation: "(loop-)space" is a word.
_PARENTHETICAL = re.compile(r"\s+(?:\((?:[^()]|\([^()]*\))*\)|\[[^\[\]]*\])(?![\w(\[-])")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_DOUBLE_COMMA = re.compile(r",\s*([,.;:])")
_STOPS = frozenset(".!?。！？…")
_CLOSERS = "\"'”’)]"
_JUNK = ",;:-–—"
# A first word that is a stylised name stays as written: t-SNE, word2vec, iPhone, k-means.
_STYLISED = re.compile(r"^[a-z][\w-]*(?:[A-Z0-9]|-[a-z])")


def _capitalise(text: str) -> str:
    if not text or not text[0].islower() or _STYLISED.match(text):
        return text
    upper = text[0].upper()
    # Only letters with a one-letter capital that maps back: not "ß", not the micro sign.
    return upper + text[1:] if len(upper) == 1 and upper.lower() == text[0] else text


def _trim(text: str) -> str:
    """Without trailing spaces, commas, colons and dashes."""
    while True:
        trimmed = text.rstrip().rstrip(_JUNK)
        if trimmed == text:
            return text
        text = trimmed


def _ends_sentence(text: str) -> bool:
    return text.rstrip(_CLOSERS)[-1:] in _STOPS


def _finish(text: str) -> str:
    """Tidy spacing and punctuation, start with a capital and end with a full stop."""
    if " ," in text or " ." in text or " ;" in text or " :" in text or " ?" in text:
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    if "," in text:
        text = _DOUBLE_COMMA.sub(r"\1", text)
    text = _trim(text.strip())
    if text and not _ends_sentence(text):
        text += "."
    return _capitalise(text)


# "(2) ", "ii) ", "a) ": list markers that mean nothing once the sentence stands alone.
_ENUMERATION = re.compile(r"^\(?(?:[0-9]{1,2}|[ivx]{1,4}|[a-h])\)\s+(?=\S)")
# The first words of _LEAD_FRAME and _HERE_WE: most sentences start with none of them.
_FRAME_STARTS = _words(
    "in within through with to specifically particular concretely moreover furthermore "
    "additionally finally lastly however therefore thus hence instead consequently as "
    "accordingly overall first firstly second secondly third thirdly then here herein on "
    "motivated inspired guided driven building based now also crucially importantly notably "
    "interestingly surprisingly critically"
)


def _first_word(text: str) -> str:
    match = _WORD.match(text[:20].lower())
    return match[0] if match else ""


# An aside the grammar leans on ("stated in [22]", "see (3)") is part of the sentence.
_LEANING_ON = re.compile(
    r"(?:^|\s)(?:a|an|the|of|and|or|to|with|for|in|on|at|by|from|see|cf\.|e\.g\.|i\.e\.|"
    r"as|than|via|and/or|is|are|was|were|be|being|been)$",
    re.IGNORECASE,
)


def _drop_aside(match: re.Match[str]) -> str:
    # A link is kept: in "our code (https://github.com/...) is released" it is the point.
    if "://" in match[0] or _LEANING_ON.search(match.string, 0, match.start()):
        return match[0]
    return ""


def _drop_framing(sentence: str) -> str:
    """Drop leading framing ("In this paper, we" -> "We") and parenthetical asides."""
    text = sentence
    if ")" in text[:6]:
        text = _ENUMERATION.sub("", text, count=1)
    for _ in range(3):
        if _first_word(text) not in _FRAME_STARTS:
            break
        match = _LEAD_FRAME.match(text) or _HERE_WE.match(text)
        if match is None or match.end() >= len(text):
            break
        text = text[match.end() :]
    if ("(" in text or "[" in text) and "$" not in text:  # never inside TeX math
        stripped = _PARENTHETICAL.sub(_drop_aside, text)
        if len(stripped.split()) >= 4:
            text = stripped
    return text


def _compress(sentence: str) -> str:
    """The sentence without framing and asides, as a finished sentence (never a fragment)."""
    compressed = _finish(_drop_framing(sentence))
    if len(compressed.split()) < 4:
        return _finish(sentence)
    return compressed


# Where a long sentence may end early and still read as a sentence: before a clause that
# only adds to a complete one. Not before ", which", ", and", ", such as", a colon or a
# dash: what precedes them may be a subject still waiting for its verb, or half a list.
_CLAUSE_BREAK = re.compile(
    r",\s+(?:while|whereas|thereby|thus|hence|but|leading|resulting|allowing|enabling|"
    r"making|yielding|achieving|showing|demonstrating|outperforming|improving|providing|"
    r"reducing)\b|;\s+",
    re.IGNORECASE,
)


# Words that cannot end a shortened sentence, even one marked with an ellipsis.
_HANGING_WORDS = _words(
    "a an the of and or but nor to with without for in on at by from into onto as than that "
    "which whose who where when while via its their our this these is are was were be been we it"
)


def _hangs(text: str) -> bool:
    """Whether the text's last word (of several) leaves it hanging: "... the effect of"."""
    words = text.rsplit(None, 1)
    return len(words) == 2 and words[1].lower() in _HANGING_WORDS


def _shorten(sentence: str, limit: int) -> str:
    """Fit a finished sentence in ``limit`` characters: at a clause break, else a word break."""
    if len(sentence) <= limit:
        return sentence
    best = None
    # A clause break that keeps at least half the room; otherwise a word break says more.
    for match in _CLAUSE_BREAK.finditer(sentence, limit // 2, limit):
        head = sentence[: match.start()]
        if (
            len(head) + 1 <= limit
            and len(head.split()) >= 5
            and not _hangs(head)
            and _balanced(head)
        ):
            best = head
    if best is not None:
        return _finish(best)
    cut = sentence.rfind(" ", 0, limit - 1)
    if cut <= 0:
        return ""
    head = sentence[:cut]
    for opening, closing in ("()", "[]"):
        if head.count(opening) > head.count(closing):  # do not leave an aside open
            head = head[: head.rfind(opening)]
    head = _trim(head)
    while _hangs(head):
        head = _trim(head.rsplit(None, 1)[0])
    return _capitalise(head) + "…" if head else ""


# --------------------------------------------------------------------------------------------
# Preparing sentences


def _prepare(sentences: Sequence[str]) -> list[_Sentence]:
    """Unwrap and analyse sentences; re-split them when they are hard-wrapped lines."""
    lines = [unwrap(s) for s in sentences[: _SENTENCES_MAX * 4]]
    lines = [line for line in lines if line]
    if any(not _ends_sentence(line) for line in lines[:-1]):
        lines = split_sentences(" ".join(lines))
    return [_analyse(line) for line in lines[:_SENTENCES_MAX]]


# --------------------------------------------------------------------------------------------
# Key points

_RESULT_BITS = _BIT["kp_result"] | _BIT["outperform"]
_NUMBER_BITS = _BIT["number"] | _BIT["percent"]
_METHOD_BITS = _BIT["kp_method"]


def _is_release(sentence: _Sentence) -> bool:
    bits = sentence.bits
    return bool(bits & _BIT["kp_available"]) and (
        bool(bits & _BIT["kp_artifact"]) or "://" in sentence.text
    )


def _similar(a: _Sentence, b: _Sentence) -> bool:
    """Whether two sentences share most of their words (a key point must add something)."""
    words_a, words_b = a.content, b.content
    if not words_a or not words_b:
        return False
    return len(words_a & words_b) / min(len(words_a), len(words_b)) > 0.7


def _balanced(text: str) -> bool:
    """Brackets that close: a sentence split inside an aside is not a point to show."""
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")


_OWN_WORK = _BIT["we"] | _BIT["our"] | _BIT["this_paper"] | _PROPOSAL | _BIT["results"]
_DANGLING = _BIT["anaphor"]  # "It ...", "These ...": unclear out of context


def _key_points(sentences: list[_Sentence], scores: list[float], chosen: int) -> tuple[str, ...]:
    """Up to three points besides the TL;DR: the method, a result with numbers, a release.

    The opening sentences that set the scene (before the abstract first speaks of its own
    work) and sentences that lean on the previous one ("It ...", "These ...") are not used.
    """
    tldr = sentences[chosen]
    own = next((i for i, s in enumerate(sentences) if s.bits & _OWN_WORK), 0)
    others = [
        i
        for i, s in enumerate(sentences)
        if i != chosen and i >= own and not (s.bits & _DANGLING and i > 0) and _balanced(s.text)
    ]
    by_score = sorted(others, key=lambda i: (-scores[i], i))
    releases = [i for i in others if _is_release(sentences[i])]
    results = [i for i in others if sentences[i].bits & _RESULT_BITS]
    picked: list[int] = []

    def take(candidates: list[int]) -> None:
        for i in candidates:
            sentence = sentences[i]
            if (
                i not in picked
                and not _similar(sentence, tldr)
                and not any(_similar(sentence, sentences[j]) for j in picked)
            ):
                picked.append(i)
                return

    take([i for i in by_score if sentences[i].bits & _METHOD_BITS and i not in releases])
    take(
        [i for i in results if sentences[i].bits & _NUMBER_BITS]
        + [i for i in results if not sentences[i].bits & _NUMBER_BITS]
    )
    take(releases)
    for i in by_score:
        if len(picked) >= MAX_KEY_POINTS:
            break
        take([i])
    points = (_shorten(_compress(sentences[i].text), KEY_POINT_MAX) for i in sorted(picked))
    return tuple(point for point in points if point)


# --------------------------------------------------------------------------------------------
# The summarizer


def summarize_sentences(title: str, sentences: Sequence[str]) -> Summary:
    """The extractive summary of an abstract already split into sentences."""
    prepared = _prepare(sentences)
    if not prepared:
        return Summary(tldr="", key_points=(), tier="extractive")
    scores = _scores(unwrap(title[:_TITLE_MAX]), prepared)
    order = sorted(range(len(prepared)), key=lambda i: (-scores[i], i))
    chosen, tldr = order[0], ""
    for i in order:
        tldr = _shorten(_compress(prepared[i].text), TLDR_MAX)
        if tldr and not tldr.endswith("…") and _balanced(tldr):
            chosen = i
            break
    else:
        tldr = _shorten(_compress(prepared[chosen].text), TLDR_MAX)
    points = _key_points(prepared, scores, chosen)
    return Summary(tldr=tldr, key_points=points, tier="extractive")


def summarize(title: str, abstract: str) -> Summary:
    """The extractive TL;DR and key points of a paper, from its title and abstract."""
    text = clean_abstract(abstract[:_ABSTRACT_MAX])
    return summarize_sentences(clean_title(title[:_TITLE_MAX]), split_sentences(text))
