"""The extractive TL;DR and key points: real abstracts, compression rules and properties."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import summarize as sm
from bot.core.models import Summary
from bot.core.summarize import (
    KEY_POINT_MAX,
    MAX_KEY_POINTS,
    TLDR_MAX,
    summarize,
    summarize_sentences,
)
from bot.core.text import clean_abstract
from tests.paths import FIXTURES

HF_DAILY = FIXTURES / "hf_daily_papers"
SNAPSHOT = (
    FIXTURES / "arxiv_metadata_snapshot" / "kaggle_arxiv_metadata_oai_snapshot_first200.jsonl"
)
_ENDS = (".", "!", "?", "…", "。")
_WORDS = re.compile(r"\w+")
# A sentence must not end on a word that leaves it hanging.
_HANGING = {"a", "an", "the", "of", "and", "or", "to", "with", "for", "in", "on", "by", "from"}


@cache
def hf_papers() -> dict[str, tuple[str, str]]:
    """arXiv id -> (title, abstract) of every recorded Hugging Face Daily Papers entry."""
    found = {}
    for path in sorted(HF_DAILY.glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            found[item["paper"]["id"]] = (item["paper"]["title"], item["paper"]["summary"])
    return found


@cache
def snapshot() -> tuple[tuple[str, str], ...]:
    """(title, abstract) of the first 200 arXiv papers: hard-wrapped, with TeX, mostly physics."""
    with SNAPSHOT.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    return tuple((row["title"], row["abstract"]) for row in rows)


def words(text: str) -> set[str]:
    return set(_WORDS.findall(text.lower()))


def assert_reads_as_a_sentence(text: str, source: str) -> None:
    """Built from the source's own whole words; a capital (or a name) first; a stop last."""
    assert text.endswith(_ENDS), text
    assert "\n" not in text
    assert words(text) <= words(source), words(text) - words(source)
    first = text.split()[0]
    assert not first[0].islower() or sm._STYLISED.match(first) or len(first[0].upper()) > 1
    last = _WORDS.findall(text.lower())
    assert not last or last[-1] not in _HANGING, text
    assert text.count("(") == text.count(")") or source.count("(") != source.count(")")


# ------------------------------------------------------------------------------------------
# Real abstracts


@pytest.mark.parametrize(
    ("arxiv_id", "tldr"),
    [
        (
            "2606.13392",  # MiniMax Sparse Attention
            "We introduce MiniMax Sparse Attention, a blockwise sparse attention built upon "
            "Grouped Query Attention.",
        ),
        (
            "2606.11409",  # Risk Under Pressure
            "We propose a compute-aware evaluation framework based on computational pressure, "
            "measured in cumulative floating-point operations, as a proxy for adversarial effort.",
        ),
        (
            "2606.08103",  # Revisiting Articulated Parts Perception in Robot Manipulation
            "We propose a new representation of articulated parts, Geometric Primary Structure, "
            "an abstraction of the part geometry structure to balance scalability and quality.",
        ),
        (
            "2607.23193",  # OmniScope
            "We propose OmniScope, a training-free token compression framework that uses the "
            "query as a shared semantic anchor while estimating relevance separately for audio "
            "and video.",
        ),
    ],
)
def test_tldr_states_the_contribution_of_real_papers(arxiv_id: str, tldr: str) -> None:
    title, abstract = hf_papers()[arxiv_id]
    summary = summarize(title, abstract)
    assert summary.tldr == tldr
    assert summary.tier == "extractive"


def test_key_points_give_the_method_a_number_and_the_code() -> None:
    title, abstract = hf_papers()["2606.13392"]  # MiniMax Sparse Attention
    points = summarize(title, abstract).key_points
    assert len(points) == 3
    assert points[0].startswith("We co-design MSA with a GPU execution path")
    assert "28.4x" in points[1]
    assert points[2] == "Our inference kernel is available at: https://github.com/MiniMax-AI/MSA."


def test_key_points_pick_results_with_numbers_and_releases() -> None:
    title, abstract = hf_papers()["2606.13174"]  # TRACE: compiling user corrections
    points = summarize(title, abstract).key_points
    assert any("37.6%" in point for point in points)
    assert any("https://github.com/YujunZhou/TRACE_exp" in point for point in points)


def test_key_points_skip_the_scene_setting_opening() -> None:
    title, abstract = hf_papers()["2606.00467"]  # On the Limits of LLM Adaptability
    first_sentence = abstract.split(". ")[0]
    assert first_sentence.startswith("Large Language Models (LLMs) are increasingly used")
    summary = summarize(title, abstract)
    assert all(not p.startswith("Large Language Models") for p in summary.key_points)
    assert summary.tldr.startswith("We introduce Definition-Specific Familiarity")  # "Crucially,"


@pytest.mark.parametrize("arxiv_id", sorted(hf_papers()))
def test_every_recorded_paper_gets_a_clean_summary(arxiv_id: str) -> None:
    title, abstract = hf_papers()[arxiv_id]
    summary = summarize(title, abstract)
    source = clean_abstract(abstract)
    assert summary.tldr
    assert len(summary.tldr) <= TLDR_MAX
    assert_reads_as_a_sentence(summary.tldr, source)
    assert len(summary.key_points) <= MAX_KEY_POINTS
    for point in summary.key_points:
        assert len(point) <= KEY_POINT_MAX
        assert_reads_as_a_sentence(point, source)
        assert point != summary.tldr
    assert len(set(summary.key_points)) == len(summary.key_points)


def test_hard_wrapped_tex_abstracts_of_a_whole_listing_summarize_cleanly() -> None:
    for title, abstract in snapshot():
        summary = summarize(title, abstract)
        source = clean_abstract(abstract)
        if not source:
            assert summary == Summary(tldr="")
            continue
        assert_reads_as_a_sentence(summary.tldr, source)
        for point in summary.key_points:
            assert_reads_as_a_sentence(point, source)


def test_summary_is_deterministic() -> None:
    for title, abstract in list(hf_papers().values())[:10]:
        assert summarize(title, abstract) == summarize(title, abstract)


# ------------------------------------------------------------------------------------------
# Compression


@pytest.mark.parametrize(
    ("sentence", "compressed"),
    [
        ("In this paper, we propose a new optimiser.", "We propose a new optimiser."),
        ("In this work we study sparse attention.", "We study sparse attention."),
        ("Here we show that depth helps.", "We show that depth helps."),
        ("Herein, we describe a dataset.", "We describe a dataset."),
        ("To this end, we introduce X for Y.", "We introduce X for Y."),
        ("To address these issues, we design a new loss.", "We design a new loss."),
        ("To cope with it effectively, we propose a new structure.", "We propose a new structure."),
        ("Specifically, our method learns rules.", "Our method learns rules."),
        ("Crucially, we introduce a new metric.", "We introduce a new metric."),
        ("In this pre-print, we introduce each archetype.", "We introduce each archetype."),
        ("In this manner, we enable faster decoding.", "We enable faster decoding."),
        ("(ii) we prove a lower bound.", "We prove a lower bound."),
        ("2) Coherence survives only across prompts.", "Coherence survives only across prompts."),
        (
            "We propose Robust Normalization (RobustNorm) for deep networks [12].",
            "We propose Robust Normalization for deep networks.",
        ),
        (
            "Our model (see Smith et al. (2020) for a review) is small.",
            "Our model is small.",
        ),
        ("We evaluate on ImageNet (Deng et al., 2009), COCO.", "We evaluate on ImageNet, COCO."),
        # An aside with a link is what a reader of "code is released" wants.
        (
            "Our code (at https://github.com/a/b) is released [3].",
            "Our code (at https://github.com/a/b) is released.",
        ),
        # Notation is not an aside: f(x), a_f(n), (loop-)space; nor is anything in TeX math.
        ("The map f(x) is smooth everywhere.", "The map f(x) is smooth everywhere."),
        (
            "It lives in even-dimensional (loop-)space.",
            "It lives in even-dimensional (loop-)space.",
        ),
        ("We bound $\\sum (x+y)$ from above.", "We bound $\\sum (x+y)$ from above."),
        ("word2vec embeddings are useful", "word2vec embeddings are useful."),  # stylised name
        ("t-SNE plots show clusters.", "t-SNE plots show clusters."),
        ("the method works well;", "The method works well."),
        # Framing that would leave too little is kept.
        ("In this paper, we do.", "In this paper, we do."),
        # "This paper proposes X" is the sentence's subject, not framing.
        ("This paper proposes a benchmark.", "This paper proposes a benchmark."),
    ],
)
def test_compression_drops_framing_and_asides_only(sentence: str, compressed: str) -> None:
    assert sm._compress(sentence) == compressed


@pytest.mark.parametrize(
    ("sentence", "limit", "shortened"),
    [
        ("Short enough.", 50, "Short enough."),
        (
            "We train a large model on web text, leading to strong results on every benchmark.",
            60,
            "We train a large model on web text.",
        ),
        (
            "We study the effect of the learning rate on the stability of training for large "
            "models and the role of warmup.",
            60,
            "We study the effect of the learning rate on the stability…",
        ),
        # ", which" may close a subject still waiting for its verb: cut at a word instead.
        (
            "Context-unaware transfer, where the receiver sees no input, requires dense knowledge.",
            70,
            "Context-unaware transfer, where the receiver sees no input, requires…",
        ),
        ("Averyveryveryverylongwordwithoutspaces goes here.", 10, ""),
    ],
)
def test_shortening_cuts_at_a_clause_or_a_whole_word(
    sentence: str, limit: int, shortened: str
) -> None:
    result = sm._shorten(sentence, limit)
    assert result == shortened
    assert len(result) <= limit


def test_a_tldr_without_framing_comes_from_the_public_api() -> None:
    abstract = (
        "Deep networks are widely used. However, training them is slow. In this paper, we "
        "propose FastNet (a fast network), which trains ten times faster than ResNet [3]. "
        "Experiments show a 2.5% accuracy gain on ImageNet. Code is available at "
        "https://github.com/example/fastnet."
    )
    summary = summarize("FastNet: Fast Training of Deep Networks", abstract)
    assert summary.tldr == "We propose FastNet, which trains ten times faster than ResNet."
    assert summary.key_points == (
        "Experiments show a 2.5% accuracy gain on ImageNet.",
        "Code is available at https://github.com/example/fastnet.",
    )


# ------------------------------------------------------------------------------------------
# Input shapes


@pytest.mark.parametrize("abstract", ["", "   ", "\n\t", "\u200b"])
def test_an_empty_abstract_gives_an_empty_summary(abstract: str) -> None:
    assert summarize("A title", abstract) == Summary(tldr="", key_points=(), tier="extractive")
    assert summarize_sentences("A title", []) == Summary(tldr="")


def test_a_one_sentence_abstract_is_its_own_tldr_without_points() -> None:
    summary = summarize("", "we show that attention is all you need")
    assert summary == Summary(tldr="We show that attention is all you need.")


def test_a_huge_abstract_is_bounded() -> None:
    sentence = "We propose a method that improves accuracy by 3% on ImageNet. "
    summary = summarize("Huge " * 10_000, sentence * 50_000 + "x" * 100_000)
    assert summary.tldr == "We propose a method that improves accuracy by 3% on ImageNet."
    assert len(summary.key_points) <= MAX_KEY_POINTS


def test_a_sentence_longer_than_the_limit_is_cut_cleanly() -> None:
    long = "We propose " + ", ".join(f"component number {i}" for i in range(80)) + "."
    summary = summarize("", long)
    assert len(summary.tldr) <= TLDR_MAX
    assert summary.tldr.endswith("…")
    assert_reads_as_a_sentence(summary.tldr, long)


def test_hard_wrapped_lines_are_rejoined_into_sentences() -> None:
    lines = [
        "Autoregressive image models",
        "have been able to generate small images, but large ones remain hard.",
        "To address this, we propose the Subscale Pixel",
        "Network, a conditional decoder architecture.",
    ]
    summary = summarize_sentences("Subscale Pixel Networks", lines)
    assert (
        summary.tldr == "We propose the Subscale Pixel Network, a conditional decoder architecture."
    )


def test_unicode_and_tex_abstracts_are_summarized() -> None:
    abstract = (
        "Nous étudions les réseaux. We introduce $\\alpha$-Net, a Ωmega-scale model for "
        "naïve Bayes — with 10× speed-ups. Ça marche très bien."
    )
    summary = summarize("α-Net", abstract)
    assert (
        summary.tldr
        == "We introduce α-Net, a Ωmega-scale model for naïve Bayes — with 10× speed-ups."
    )


# ------------------------------------------------------------------------------------------
# Properties

_VOCABULARY = sm._words(
    "we propose introduce a an the novel method model for of and to in on with by this paper "
    "work show that results outperform baselines accuracy dataset code available is are our "
    "which learning networks attention training data 3% 10x however recent"
)
_PIECES = st.sampled_from(
    [
        *sorted(_VOCABULARY),
        "In this paper,",
        "To this end,",
        "(see Fig. 2)",
        "[12]",
        "e.g.",
        "i.e.",
        ";",
    ]
)
_SENTENCES = st.lists(_PIECES, min_size=1, max_size=30).map(
    lambda pieces: " ".join(pieces).capitalize() + " networks."
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_SENTENCES, min_size=1, max_size=12), st.text(max_size=40))
def test_any_abstract_of_sentences_gives_sentences_built_from_its_words(
    sentences: list[str], title: str
) -> None:
    abstract = " ".join(sentences)
    summary = summarize(title, abstract)
    source = clean_abstract(abstract)
    assert summary.tldr
    assert len(summary.tldr) <= TLDR_MAX
    assert_reads_as_a_sentence(summary.tldr, source)
    if summary.tldr.lower().startswith(("in this paper", "to this end")):
        # Framing stays only when too little would be left without it.
        assert len(sm._drop_framing(summary.tldr).split()) < 4
    assert len(summary.key_points) <= MAX_KEY_POINTS
    for point in summary.key_points:
        assert len(point) <= KEY_POINT_MAX
        assert_reads_as_a_sentence(point, source)
    assert summarize(title, abstract) == summary


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000), st.text(max_size=300))
def test_any_text_at_all_gives_a_bounded_summary(abstract: str, title: str) -> None:
    summary = summarize(title, abstract)
    assert len(summary.tldr) <= TLDR_MAX
    assert "\n" not in summary.tldr
    assert summary.tldr == "" or summary.tldr.endswith(_ENDS) or summary.tldr[-1] in "\"'”’)]"
    assert words(summary.tldr) <= words(clean_abstract(abstract))
    assert len(summary.key_points) <= MAX_KEY_POINTS
    assert all(0 < len(point) <= KEY_POINT_MAX for point in summary.key_points)


# ------------------------------------------------------------------------------------------
# The fitted model


def test_fitted_weights_match_the_features_one_for_one() -> None:
    assert len(sm._WEIGHTS) == len(sm._FEATURE_NAMES)
    assert len(sm._WORD_WEIGHTS) == len(sm._WORD_FEATURE_NAMES)
    assert sm._WORD_VOCABULARY
    assert sm._WORD_MODEL_WEIGHT > 0


def test_the_fast_scores_are_the_fitted_models() -> None:
    for title, abstract in list(hf_papers().values()) + list(snapshot()[:40]):
        sentences = sm._prepare(sm.split_sentences(clean_abstract(abstract)))
        if not sentences:
            continue
        fast = sm._scores(title, sentences)
        reference = sm._reference_scores(title, sentences)
        assert fast == pytest.approx(reference, abs=1e-9)
