"""Topic classification: the shipped taxonomy on real papers, the scoring rules, validation."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import tomllib
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from bot.core import topics as topics_module
from bot.core.topics import Taxonomy, TaxonomyError, classify, parse_taxonomy, score_topics
from tests.paths import FIXTURES, REPO, SCITLDR

TOPICS_FILE = REPO / "config" / "topics.toml"
HF_DAILY = FIXTURES / "hf_daily_papers"
RSS = FIXTURES / "arxiv_rss" / "aioarxiv_rss_new_all_archives_2024-11-28_trimmed189.xml"


@cache
def shipped_data() -> dict[str, Any]:
    with TOPICS_FILE.open("rb") as fh:
        return tomllib.load(fh)


@cache
def shipped() -> Taxonomy:
    return parse_taxonomy(shipped_data())


@cache
def papers() -> dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """arXiv id -> (title, abstract, categories, HF keywords) from the recorded fixtures."""
    found: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {}
    for path in sorted(HF_DAILY.glob("*.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            paper = item["paper"]
            keywords = tuple(paper.get("ai_keywords") or ())
            found[paper["id"]] = (paper["title"], paper["summary"], (), keywords)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(RSS.read_bytes(), parser)
    for item in root.iter("item"):
        arxiv_id = (item.findtext("link") or "").rsplit("/", 1)[-1]
        abstract = (item.findtext("description") or "").partition("Abstract:")[2]
        categories = tuple(c.text or "" for c in item.findall("category"))
        found[arxiv_id] = (item.findtext("title") or "", abstract, categories, ())
    return found


def small(**overrides: Any) -> dict[str, Any]:
    """A two-topic taxonomy for testing the rules, with overrides merged into it."""
    data: dict[str, Any] = {
        "fallback": "other",
        "topics": {
            "speech": {
                "name": "Speech",
                "emoji": "🎙️",
                "keywords": ["speech", "speech recognition", "text-to-speech", "voice*"],
                "categories": ["cs.SD", "eess.AS"],
            },
            "vision": {
                "name": "Vision",
                "emoji": "👁️",
                "keywords": ["image", "video", "fine-tuning"],
                "categories": ["cs.CV"],
            },
            "other": {"name": "Other", "emoji": "📄"},
        },
    }
    for key, value in overrides.items():
        data[key] = value
    return data


# ------------------------------------------------------------------------------------------
# The shipped taxonomy


def test_shipped_taxonomy_has_the_default_ml_topics_and_a_fallback() -> None:
    taxonomy = shipped()
    keys = [rule.key for rule in taxonomy.rules]
    assert set(keys) == {
        "benchmarks",
        "training",
        "alignment",
        "reasoning",
        "safety",
        "architectures",
        "efficiency",
        "multimodal",
        "speech",
        "robotics",
        "theory",
    }
    assert taxonomy.fallback.key == "other"
    assert taxonomy.topics[-1] == taxonomy.fallback
    assert all(rule.name and rule.emoji for rule in taxonomy.rules)


@pytest.mark.parametrize(
    ("arxiv_id", "expected"),
    [
        ("2606.08103", "robotics"),  # Revisiting Articulated Parts Perception in Robot Manipulation
        ("2606.12282", "speech"),  # PianoKontext: Expressive Performance Rendering (music audio)
        ("2606.12243", "efficiency"),  # VIA-SD: ... Routing for Speculative Decoding
        ("2606.10423", "reasoning"),  # WebChallenger: ... Generalist Web Agent
        ("2606.13681", "reasoning"),  # EvoArena: ... Memory Evolution for Robust LLM Agents
        ("2606.06113", "multimodal"),  # Structured Defect Grounding for Text-to-Image Feedback
        ("2606.13289", "multimodal"),  # HYDRA-X: Native Unified Multimodal Models
        ("2606.13120", "benchmarks"),  # EvoBrowseComp: Benchmarking Search Agents
        ("2606.00467", "benchmarks"),  # LLM annotation performance, LLM-as-a-judge
        ("2606.11409", "safety"),  # Compute-Aware Evaluation of Adversarial Robustness
        ("2607.26654", "alignment"),  # Constitutional Midtraining ... Alignment Gains
        ("2606.09304", "alignment"),  # SG-OPD: Sign-Gated On-Policy Distillation
        ("2607.28308", "architectures"),  # Coherent Overlap in Sparse Mixture-of-Experts Routing
        ("2411.17727", "robotics"),  # Capture Point Control ... for Harpy (cs.RO)
        ("2411.17720", "efficiency"),  # MAS-Attention: ... Attention Acceleration
        ("2411.17739", "theory"),  # Undecidability of the elementary theory of ... lattice
        ("2411.17723", "other"),  # The Impact of Banking Competition on Interest Rates
        ("2411.17750", "other"),  # Determinants of Longevity amongst SSNIT Pensioners in Ghana
    ],
)
def test_shipped_taxonomy_labels_real_papers(arxiv_id: str, expected: str) -> None:
    title, abstract, categories, keywords = papers()[arxiv_id]
    topic = classify(shipped(), title, abstract, categories, keywords=keywords)
    assert topic.key == expected, sorted(
        ((score, rule.key) for score, rule in score_topics(shipped(), title, abstract, categories)),
        reverse=True,
    )[:3]


def test_classification_is_deterministic_over_a_real_listing() -> None:
    taxonomy = shipped()
    first = [classify(taxonomy, t, a, c, keywords=k) for t, a, c, k in papers().values()]
    again = [classify(taxonomy, t, a, c, keywords=k) for t, a, c, k in papers().values()]
    assert first == again
    assert {topic.key for topic in first} <= {topic.key for topic in taxonomy.topics}


# ------------------------------------------------------------------------------------------
# Scoring rules


def test_a_title_hit_outweighs_an_abstract_mention() -> None:
    taxonomy = parse_taxonomy(small())
    topic = classify(taxonomy, "Speech recognition at scale", "image and video results", ())
    assert topic.key == "speech"


def test_repeated_abstract_mentions_add_up_to_a_topic() -> None:
    taxonomy = parse_taxonomy(small())
    assert classify(taxonomy, "A study", "One image.", ()).key == "other"  # 1.0 < min_score
    assert classify(taxonomy, "A study", "One image, then a video.", ()).key == "vision"


def test_a_keyword_counts_at_most_three_times_in_the_abstract() -> None:
    taxonomy = parse_taxonomy(small())
    scores = {
        rule.key: score
        for score, rule in score_topics(taxonomy, "", "image " * 10 + "speech " * 2, ())
    }
    assert scores == {"speech": 2.0, "vision": 3.0}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("SPEECH", True),  # case does not matter
        ("speeches", True),  # plurals
        ("freespeech", False),  # word boundaries
        ("speechless", False),
        ("text to speech", True),  # spaces and hyphens are interchangeable
        ("text-to-speech", True),
        ("voices, voiced, voicemail", True),  # a trailing * is a prefix match
        ("invoice", False),
    ],
)
def test_keywords_match_whole_words_case_and_hyphen_insensitively(text: str, matches: bool) -> None:
    taxonomy = parse_taxonomy(small())
    score = next(s for s, rule in score_topics(taxonomy, text, "", ()) if rule.key == "speech")
    assert (score > 0) is matches


@pytest.mark.parametrize("title", ["Fine-tuning", "fine tuning", "Finetuning", "FINE-TUNED"])
def test_a_hyphenated_keyword_matches_its_spellings(title: str) -> None:
    taxonomy = parse_taxonomy(small())
    scores = {rule.key: score for score, rule in score_topics(taxonomy, title, "", ())}
    assert scores["vision"] == (0.0 if title == "FINE-TUNED" else 3.0)


def test_primary_category_alone_decides_and_a_cross_list_alone_does_not() -> None:
    taxonomy = parse_taxonomy(small())
    assert classify(taxonomy, "A paper", "Nothing to see.", ("cs.SD", "cs.LG")).key == "speech"
    assert classify(taxonomy, "A paper", "Nothing to see.", ("cs.LG", "cs.SD")).key == "other"


def test_hugging_face_keywords_are_evidence() -> None:
    taxonomy = parse_taxonomy(small())
    topic = classify(taxonomy, "A paper", "Nothing to see.", (), keywords=("speech synthesis",))
    assert topic.key == "other"  # 1.5 < 2.0
    topic = classify(taxonomy, "A paper", "Nothing.", (), keywords=("speech", "voice cloning"))
    assert topic.key == "speech"


def test_ties_go_to_the_topic_listed_first() -> None:
    taxonomy = parse_taxonomy(small())
    assert classify(taxonomy, "Speech and image", "", ()).key == "speech"
    swapped = small()
    swapped["topics"] = dict(reversed(list(swapped["topics"].items())))
    assert classify(parse_taxonomy(swapped), "Speech and image", "", ()).key == "vision"


def test_scoring_weights_come_from_the_file() -> None:
    taxonomy = parse_taxonomy(small(scoring={"title": 1.0, "min_score": 0.5}))
    assert taxonomy.scoring.abstract == 1.0  # unset weights keep their defaults
    assert classify(taxonomy, "An image", "", ()).key == "vision"
    strict = parse_taxonomy(small(scoring={"min_score": 10}))
    assert classify(strict, "Speech recognition from video", "", ()).key == "other"


def test_the_fallback_topic_carries_its_name_and_emoji() -> None:
    topic = classify(parse_taxonomy(small()), "", "", ())
    assert (topic.key, topic.name, topic.label) == ("other", "Other", "📄 Other")


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(max_size=200),
    abstract=st.text(max_size=2000),
    categories=st.lists(st.text(max_size=12), max_size=4),
    keywords=st.lists(st.text(max_size=30), max_size=5),
)
def test_any_text_gets_one_of_the_taxonomy_topics(
    title: str, abstract: str, categories: list[str], keywords: list[str]
) -> None:
    taxonomy = shipped()
    topic = classify(taxonomy, title, abstract, categories, keywords=keywords)
    assert topic in taxonomy.topics


# ------------------------------------------------------------------------------------------
# Validation


def _with_topic(key: str, **fields: Any) -> dict[str, Any]:
    data = small()
    data["topics"] = {**data["topics"], key: fields}
    return data


def _changed(topic: str, field: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(small())
    data["topics"][topic][field] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fallback": "other"}, r"topics: needs at least one \[topics\.KEY\] table"),
        ({"topics": []}, r"topics: needs at least one"),
        (small(fallback="misc"), r"fallback: names 'misc', which is not one of the topics"),
        (small(colour="red"), r"colour: unknown top-level setting"),
        (small(scoring={"title": -1}), r"scoring\.title: must be a finite number >= 0"),
        (small(scoring={"title": "3"}), r"scoring\.title: must be a number, got str"),
        (small(scoring={"title": True}), r"scoring\.title: must be a number, got bool"),
        (small(scoring={"weight": 1}), r"scoring\.weight: unknown setting"),
        (small(scoring=[1]), r"scoring: must be a table"),
        (_with_topic("Bad Key", name="x", keywords=["x"]), r"topic 'Bad Key': key must be"),
        (_changed("speech", "name", ""), r"topic 'speech' field 'name': must not be empty"),
        (_changed("speech", "name", 5), r"topic 'speech' field 'name': must be a string, got int"),
        (_changed("speech", "emoji", ["x"]), r"topic 'speech' field 'emoji': must be a string"),
        (
            _changed("speech", "keywords", "speech"),
            r"topic 'speech' field 'keywords': must be a list of strings, got str",
        ),
        (
            _changed("speech", "keywords", ["speech", 3]),
            r"topic 'speech' field 'keywords\[1\]': must be a string, got int",
        ),
        (
            _changed("speech", "keywords", ["speech", "  "]),
            r"topic 'speech' field 'keywords\[1\]': must not be empty",
        ),
        (
            _changed("speech", "keywords", ["Speech Recognition", "speech-recognition"]),
            r"topic 'speech' field 'keywords\[1\]': 'speech-recognition' repeats "
            r"'Speech Recognition'",
        ),
        (
            _changed("speech", "keywords", ["sp*eech"]),
            r"topic 'speech' field 'keywords\[0\]': 'sp\*eech': '\*' may only end a keyword",
        ),
        (_changed("speech", "keywords", ["--"]), r"field 'keywords\[0\]': '--' has no letters"),
        (
            _changed("speech", "categories", ["cs CL"]),
            r"topic 'speech' field 'categories\[0\]': 'cs CL' is not an arXiv category",
        ),
        (_changed("speech", "colour", "red"), r"topic 'speech' field 'colour': unknown field"),
        (_with_topic("empty", name="Empty"), r"topic 'empty': needs at least one keyword"),
        (_changed("other", "keywords", ["misc"]), r"topic 'other': the fallback topic is"),
    ],
)
def test_bad_taxonomies_are_refused_naming_the_topic_and_field(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(TaxonomyError, match=message):
        parse_taxonomy(data)


def test_the_small_taxonomy_used_above_is_itself_valid() -> None:
    taxonomy = parse_taxonomy(small())
    assert [rule.key for rule in taxonomy.rules] == ["speech", "vision"]


def test_taxonomy_error_is_a_value_error() -> None:
    assert issubclass(TaxonomyError, ValueError)


def test_a_topic_that_is_not_a_table_is_refused() -> None:
    data = small()
    data["topics"]["speech"] = ["speech"]
    with pytest.raises(TaxonomyError, match=r"topic 'speech': must be a table"):
        parse_taxonomy(data)


def test_shipped_file_documents_every_setting_it_uses() -> None:
    text = TOPICS_FILE.read_text(encoding="utf-8")
    for setting in ("name", "emoji", "keywords", "categories", "min_score", "fallback"):
        assert re.search(rf"\b{setting}\b", text.split("\n[topics.")[0]), setting


def _without_prefilter(taxonomy: Taxonomy) -> Taxonomy:
    # An empty anchor is in every text: the keyword alternation then runs on every text.
    rules = tuple(dataclasses.replace(rule, anchors=("",)) for rule in taxonomy.rules)
    return dataclasses.replace(taxonomy, rules=rules)


def test_the_anchor_prefilter_changes_no_score_on_real_abstracts() -> None:
    taxonomy = shipped()
    reference = _without_prefilter(taxonomy)
    lines = (SCITLDR / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines[:300]:
        record = json.loads(line)
        abstract = " ".join(record["source"])
        title = record.get("title") or abstract[:80]
        fast = [score for score, _ in score_topics(taxonomy, title, abstract, ("cs.LG",))]
        slow = [score for score, _ in score_topics(reference, title, abstract, ("cs.LG",))]
        assert fast == slow


@given(st.text(alphabet=st.sampled_from("aAsSkKſKİıßfi -LlMmOoDdEeGgRrNnIiTt"), max_size=80))
def test_the_anchor_prefilter_holds_for_any_case_variant(text: str) -> None:
    taxonomy = shipped()
    reference = _without_prefilter(taxonomy)
    fast = [score for score, _ in score_topics(taxonomy, text, text, ())]
    assert fast == [score for score, _ in score_topics(reference, text, text, ())]


def test_the_packaged_default_is_the_shipped_config_file() -> None:
    # bot/topics.toml is what an installed paperwire falls back to; config/topics.toml is the
    # copy a team edits. They start out the same: `cp config/topics.toml bot/topics.toml`.
    assert (REPO / "bot" / "topics.toml").read_bytes() == (
        REPO / "config" / "topics.toml"
    ).read_bytes()


_KEYWORD_TEXT = st.lists(
    st.sampled_from(
        [
            "large",
            "language",
            "model",
            "models",
            "Language-Models",
            "LLM",
            "diffusion",
            "3D",
            "reinforcement",
            "learning",
            "optimizing",
            "x",
            "-",
            " ",
            ", ",
            "(",
            "s",
            "Graph",
            "neural",
            "networks",
            "speech",
            "recognition",
            "retrieval-augmented",
            "generation",
        ]
    ),
    max_size=40,
).map("".join)


@given(_KEYWORD_TEXT)
def test_anchored_keyword_scan_finds_what_the_full_scan_finds(text: str) -> None:
    # _hits tries the alternation only where an anchor occurs; on ASCII text it must find
    # exactly the matches of finditer over every position (overlaps, plurals, prefixes).
    for rule in shipped().rules:
        assert rule.pattern is not None
        assert rule.ascii_anchors
        expected = topics_module._regex_hits(rule.pattern, text)
        assert topics_module._hits(rule, text, text.lower()) == expected, rule.key


def test_anchored_keyword_scan_on_real_abstracts() -> None:
    taxonomy = shipped()
    lines = (SCITLDR / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    scanned = 0
    for line in lines[:200]:
        abstract = " ".join(json.loads(line)["source"])
        if not abstract.isascii():
            continue
        scanned += 1
        for rule in taxonomy.rules:
            assert rule.pattern is not None
            expected = topics_module._regex_hits(rule.pattern, abstract)
            assert topics_module._hits(rule, abstract, abstract.lower()) == expected
    assert scanned > 150
