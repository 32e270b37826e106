"""Topic classification against a taxonomy a team can edit (``config/topics.toml``).

Each topic lists keyword phrases (matched case-insensitively on word boundaries in the title,
the abstract and Hugging Face's keywords; a title hit weighs most) and arXiv categories
(weaker evidence). The best-scoring topic wins; below ``min_score`` the fallback topic does.
Reading the file is the caller's job: core does no I/O, it only validates the parsed data.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.models import Topic

__all__ = [
    "Scoring",
    "Taxonomy",
    "TaxonomyError",
    "TopicRule",
    "classify",
    "parse_taxonomy",
    "score_topics",
]

log = logging.getLogger(__name__)

_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_CATEGORY = re.compile(r"[A-Za-z-]+(?:\.[A-Za-z-]+)?")
_MAX_KEYWORD = 100
# Each keyword counts at most this many times in the abstract: repetition is evidence, but an
# abstract that says "benchmark" nine times is not nine times more about benchmarks.
_MAX_REPEATS = 3


class TaxonomyError(ValueError):
    """A topics file that cannot be used; the message names the topic and the field."""


@dataclass(frozen=True, slots=True)
class Scoring:
    """How much each kind of evidence weighs (the ``[scoring]`` table of topics.toml)."""

    title: float = 3.0  # per distinct keyword found in the title
    abstract: float = 1.0  # per keyword occurrence in the abstract (at most 3 per keyword)
    keywords: float = 1.5  # per Hugging Face keyword that matches
    primary_category: float = 2.0  # the paper's primary arXiv category is one of the topic's
    category: float = 1.0  # a cross-listed category is one of the topic's
    min_score: float = 2.0  # below this, the fallback topic


@dataclass(frozen=True, slots=True)
class TopicRule:
    """One topic: display name and emoji, keyword phrases and arXiv categories."""

    key: str
    name: str
    emoji: str
    keywords: tuple[str, ...]
    categories: frozenset[str]
    pattern: re.Pattern[str] | None  # one precompiled alternation of every keyword
    # The casefolded first word of each keyword: a text holding none of them cannot match,
    # so the (costly) alternation is skipped for it.
    anchors: tuple[str, ...] = ()
    # Every anchor is non-empty ASCII (see ``_hits``): derived from the anchors.
    ascii_anchors: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ascii_anchors = all(anchor and anchor.isascii() for anchor in self.anchors)
        object.__setattr__(self, "ascii_anchors", ascii_anchors)

    def may_match(self, folded: str) -> bool:
        """Whether ``folded`` (a casefolded text) may hold one of the keywords."""
        return self.pattern is not None and any(anchor in folded for anchor in self.anchors)

    @property
    def topic(self) -> Topic:
        return Topic(name=self.name, emoji=self.emoji, key=self.key)


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """Topic rules in file order (earlier wins ties) and the fallback topic."""

    rules: tuple[TopicRule, ...]
    fallback: Topic
    scoring: Scoring = Scoring()

    @property
    def topics(self) -> tuple[Topic, ...]:
        """Every topic, the fallback last (for menus and roundup grouping)."""
        return (*(rule.topic for rule in self.rules), self.fallback)


def _keyword_regex(keyword: str) -> str:
    """A keyword phrase as a regex: spaces and hyphens interchangeable, plurals allowed.

    A trailing ``*`` makes the last word a prefix (``optimi*`` matches optimiser, optimizing).
    """
    prefix = keyword.endswith("*")
    words = re.split(r"[\s-]+", keyword.rstrip("*").strip())
    body = r"[\s-]*".join(re.escape(word) for word in words if word)
    if prefix:
        return body + r"\w*"
    if words[-1][-1:].isalpha():
        return body + r"(?:s|es)?"
    return body


def _anchor(keyword: str) -> str:
    """The keyword's first word, casefolded: any text the keyword's regex matches (case
    ignored) holds it, since casefolding maps every case variant re.IGNORECASE accepts."""
    return re.split(r"[\s-]+", keyword.rstrip("*").strip())[0].casefold()


def _normalise_keyword(text: str) -> str:
    return " ".join(re.split(r"[\s-]+", text.lower().rstrip("*").strip()))


def _compile(keywords: Sequence[str]) -> re.Pattern[str] | None:
    if not keywords:
        return None
    # Longest first so "large language model" wins over "language model" at the same spot.
    ordered = sorted(keywords, key=lambda k: (-len(k), k))
    alternatives = "|".join(f"(?P<k{i}>{_keyword_regex(k)})" for i, k in enumerate(ordered))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _ordered_keywords(keywords: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(keywords, key=lambda k: (-len(k), k)))


def _fail(where: str, message: str) -> TaxonomyError:
    return TaxonomyError(f"{where}: {message}")


def _string(value: Any, where: str, *, required: bool = True, limit: int = 200) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _fail(where, f"must be a string, got {type(value).__name__}")
    text = value.strip()
    if required and not text:
        raise _fail(where, "must not be empty")
    if len(text) > limit:
        raise _fail(where, f"is longer than {limit} characters")
    return text


def _string_list(value: Any, where: str, field: str, *, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(
            f"{where} field '{field}'", f"must be a list of strings, got {type(value).__name__}"
        )
    return [
        _string(item, f"{where} field '{field}[{index}]'", limit=limit)
        for index, item in enumerate(value)
    ]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise _fail(where, f"must be a finite number >= 0, got {value!r}")
    return number


def _parse_scoring(data: Any) -> Scoring:
    if data is None:
        return Scoring()
    if not isinstance(data, Mapping):
        raise _fail("scoring", "must be a table")
    defaults = Scoring()
    known = set(Scoring.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise _fail(f"scoring.{unknown[0]}", f"unknown setting; known: {', '.join(sorted(known))}")
    values = {name: _number(data[name], f"scoring.{name}") for name in known if name in data}
    return Scoring(**{name: values.get(name, getattr(defaults, name)) for name in known})


_TOPIC_FIELDS = frozenset({"name", "emoji", "keywords", "categories"})


def _parse_rule(key: str, data: Any) -> TopicRule:
    where = f"topic {key!r}"
    if not _KEY.fullmatch(key):
        raise _fail(where, "key must be lowercase letters, digits, '-' or '_' (at most 64)")
    if not isinstance(data, Mapping):
        raise _fail(where, "must be a table with name, emoji, keywords and categories")
    unknown = sorted(set(data) - _TOPIC_FIELDS)
    if unknown:
        raise _fail(
            f"{where} field {unknown[0]!r}",
            "unknown field; known: " + ", ".join(sorted(_TOPIC_FIELDS)),
        )
    name = _string(data.get("name"), f"{where} field 'name'", limit=80)
    emoji = _string(data.get("emoji"), f"{where} field 'emoji'", required=False, limit=16)
    keywords = _string_list(data.get("keywords"), where, "keywords", limit=_MAX_KEYWORD)
    seen: dict[str, str] = {}
    for index, keyword in enumerate(keywords):
        label = f"{where} field 'keywords[{index}]'"
        if not re.search(r"\w", keyword):
            raise _fail(label, f"{keyword!r} has no letters or digits")
        if "*" in keyword.rstrip("*") or keyword.endswith("**"):
            raise _fail(label, f"{keyword!r}: '*' may only end a keyword (a prefix match)")
        normal = _normalise_keyword(keyword)
        if normal in seen:
            raise _fail(label, f"{keyword!r} repeats {seen[normal]!r}")
        seen[normal] = keyword
    categories = _string_list(data.get("categories"), where, "categories", limit=32)
    for index, category in enumerate(categories):
        if not _CATEGORY.fullmatch(category):
            raise _fail(
                f"{where} field 'categories[{index}]'",
                f"{category!r} is not an arXiv category like cs.CL or quant-ph",
            )
    ordered = _ordered_keywords(keywords)
    return TopicRule(
        key=key,
        name=name,
        emoji=emoji,
        keywords=ordered,
        categories=frozenset(c.lower() for c in categories),
        pattern=_compile(ordered),
        anchors=tuple(sorted({_anchor(k) for k in ordered})),
    )


def parse_taxonomy(data: Mapping[str, Any]) -> Taxonomy:
    """Validate parsed topics.toml data into a Taxonomy; TaxonomyError names what is wrong.

    Shape: ``fallback = "other"``, an optional ``[scoring]`` table, and one
    ``[topics.KEY]`` table per topic with ``name``, ``emoji``, ``keywords``, ``categories``.
    """
    if not isinstance(data, Mapping):
        raise TaxonomyError("the taxonomy must be a table")
    unknown = sorted(set(data) - {"fallback", "scoring", "topics"})
    if unknown:
        raise _fail(unknown[0], "unknown top-level setting; known: fallback, scoring, topics")
    topics = data.get("topics")
    if not isinstance(topics, Mapping) or not topics:
        raise _fail("topics", "needs at least one [topics.KEY] table")
    fallback_key = _string(data.get("fallback", "other"), "fallback", limit=64)
    if fallback_key not in topics:
        raise _fail("fallback", f"names {fallback_key!r}, which is not one of the topics")
    rules: list[TopicRule] = []
    fallback: Topic | None = None
    for key, value in topics.items():
        rule = _parse_rule(str(key), value)
        if rule.key == fallback_key:
            fallback = rule.topic
            if rule.keywords or rule.categories:
                raise _fail(
                    f"topic {rule.key!r}",
                    "the fallback topic is what matches nothing: give it no keywords or categories",
                )
            continue
        if not rule.keywords and not rule.categories:
            raise _fail(f"topic {rule.key!r}", "needs at least one keyword or category")
        rules.append(rule)
    if fallback is None:  # pragma: no cover - checked before the loop
        raise _fail("fallback", f"names {fallback_key!r}, which is not one of the topics")
    return Taxonomy(
        rules=tuple(rules), fallback=fallback, scoring=_parse_scoring(data.get("scoring"))
    )


def _regex_hits(pattern: re.Pattern[str], text: str) -> dict[str, int]:
    """How many times each keyword (by group name) occurs in text: the reference scan."""
    counts: dict[str, int] = {}
    for match in pattern.finditer(text):
        group = match.lastgroup
        if group is not None:
            counts[group] = counts.get(group, 0) + 1
    return counts


def _hits(rule: TopicRule, text: str, lowered: str | None) -> dict[str, int]:
    """``_regex_hits`` of the rule's pattern, found faster.

    The alternation tried at every position of an abstract is most of a classification's
    cost. Every match begins with one of the rule's anchors (a keyword's first word), so on
    an ASCII text (``lowered`` is its lower case, same positions; None for any other text)
    the pattern is tried only where an anchor occurs, in order and without overlaps, as
    ``finditer`` would: the same matches, for a fraction of the work. Other texts, and rules
    with a non-ASCII anchor (case-insensitive matching then has look-alikes such as the long
    s), take the reference scan.
    """
    pattern = rule.pattern
    if pattern is None:
        return {}
    if lowered is None or not rule.ascii_anchors:
        return _regex_hits(pattern, text)
    starts: set[int] = set()
    for anchor in rule.anchors:
        at = lowered.find(anchor)
        while at >= 0:
            starts.add(at)
            at = lowered.find(anchor, at + 1)
    counts: dict[str, int] = {}
    end = 0
    for at in sorted(starts):
        if at < end:
            continue
        match = pattern.match(text, at)
        if match is None or match.end() == at:
            continue
        end = match.end()
        group = match.lastgroup
        if group is not None:
            counts[group] = counts.get(group, 0) + 1
    return counts


def _lowered(text: str) -> str | None:
    return text.lower() if text.isascii() else None


def score_topics(
    taxonomy: Taxonomy,
    title: str,
    abstract: str,
    categories: Sequence[str],
    keywords: Iterable[str] = (),
) -> list[tuple[float, TopicRule]]:
    """Every topic's evidence score, in taxonomy order (for explaining a classification)."""
    weights = taxonomy.scoring
    cats = [c.lower() for c in categories]
    primary = cats[0] if cats else None
    cross = set(cats[1:])
    hf_keywords = "\n".join(keywords)
    folded = "\n".join((title, abstract, hf_keywords)).casefold()
    lowered = (_lowered(title), _lowered(abstract), _lowered(hf_keywords))
    scored: list[tuple[float, TopicRule]] = []
    for rule in taxonomy.rules:
        score = 0.0
        if rule.pattern is not None and rule.may_match(folded):
            score += weights.title * len(_hits(rule, title, lowered[0]))
            score += weights.abstract * sum(
                min(n, _MAX_REPEATS) for n in _hits(rule, abstract, lowered[1]).values()
            )
            if hf_keywords:
                score += weights.keywords * len(_hits(rule, hf_keywords, lowered[2]))
        if primary is not None and primary in rule.categories:
            score += weights.primary_category
        score += weights.category * len(cross & rule.categories)
        scored.append((score, rule))
    return scored


def classify(
    taxonomy: Taxonomy,
    title: str,
    abstract: str,
    categories: Sequence[str],
    keywords: Iterable[str] = (),
) -> Topic:
    """The paper's topic: the best-scoring rule (earlier wins ties), else the fallback."""
    best: TopicRule | None = None
    best_score = taxonomy.scoring.min_score
    for score, rule in score_topics(taxonomy, title, abstract, categories, keywords):
        if score >= best_score and (best is None or score > best_score):
            best, best_score = rule, score
    if best is None:
        return taxonomy.fallback
    return best.topic
