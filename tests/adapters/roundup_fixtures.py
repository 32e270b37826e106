"""Roundups for the renderer tests: a realistic week from recorded papers, and hostile ones.

The realistic week is 2026-W24 for a reading group in Europe/Paris: the 30 papers of the
recorded Hugging Face Daily Papers response (fixtures/hf_daily_papers/sotawhat_...json), carded
as the app does (Hugging Face's ai_summary as the TL;DR, the extractive key points, the topic
from config/topics.toml), kept when one of the channel's subscriptions matches (21 of them),
with a few reactions from the channel.

Run ``python -m tests.adapters.roundup_fixtures`` to rewrite the golden outputs after a
deliberate change to a renderer, then read the diff before committing it.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from bot.adapters.sources.hf_daily import parse_daily
from bot.core.cards import build_card
from bot.core.models import (
    Card,
    Paper,
    Roundup,
    RoundupCandidate,
    RoundupEntry,
    RoundupSection,
    Summary,
)
from bot.core.query import parse_query
from bot.core.roundup import build_roundup, day_period, week_period
from bot.core.summarize import summarize
from bot.core.topics import Taxonomy, classify, parse_taxonomy
from tests.golden.papers import hostile_cards, raw_cards
from tests.paths import FIXTURES, REPO

__all__ = [
    "GOLDEN_DISCORD",
    "GOLDEN_SLACK",
    "GOLDEN_TEXT",
    "HF_DAILY",
    "REACTIONS",
    "SUBSCRIPTIONS",
    "WEEK",
    "WEEK_NOW",
    "allowed_urls",
    "app_card",
    "hostile_roundups",
    "week_candidates",
    "week_roundup",
]

HERE = Path(__file__).resolve().parent
HF_DAILY = FIXTURES / "hf_daily_papers"
GOLDEN_TEXT = HERE / "golden_roundup_week.txt"
GOLDEN_DISCORD = HERE / "discord" / "golden_roundup_week.json"
GOLDEN_SLACK = HERE / "slack" / "golden_roundup_week.json"

WEEK = "2026-W24"  # Monday 8 to Sunday 14 June 2026
TIMEZONE = "Europe/Paris"
WEEK_NOW = datetime(2026, 6, 12, 14, 0, tzinfo=UTC)  # Friday 16:00 in Paris: roundup time
SUBSCRIPTIONS = (
    "ti:agent OR ti:agents OR ti:agentic",
    "ti:reasoning",
    "ti:attention OR ti:decoding OR ti:efficient",
    "multimodal",
    "ti:alignment OR ti:distillation",
    "abs:benchmark",
)
# What the channel reacted to during the week.
REACTIONS = {"2606.13594": 3, "2606.09304": 2, "2606.13392": 4, "2606.13120": 1}


@cache
def taxonomy() -> Taxonomy:
    with (REPO / "config" / "topics.toml").open("rb") as fh:
        return parse_taxonomy(tomllib.load(fh))


@cache
def hf_papers() -> tuple[Paper, ...]:
    data = (HF_DAILY / "sotawhat_hf_daily_papers_2026-06-12.json").read_bytes()
    return tuple(parse_daily(data).papers)


def app_card(paper: Paper) -> Card:
    """The card the app builds (bot.services.cards.CardService with the Hugging Face tier)."""
    extractive = summarize(paper.title, paper.abstract)
    ai_summary = paper.hf.ai_summary.strip() if paper.hf and paper.hf.ai_summary else ""
    if ai_summary:
        points = tuple(p for p in extractive.key_points if p != ai_summary)
        summary = Summary(ai_summary, points, "hf")
    else:
        summary = extractive
    keywords = paper.hf.ai_keywords if paper.hf else ()
    topic = classify(taxonomy(), paper.title, paper.abstract, paper.categories, keywords=keywords)
    return build_card(paper, summary, topic)


def week_candidates() -> list[RoundupCandidate]:
    """The week's candidates: each recorded paper some subscription matched, with signals."""
    period = week_period(WEEK, TIMEZONE)
    queries = [parse_query(text) for text in SUBSCRIPTIONS]
    candidates: list[RoundupCandidate] = []
    for paper in hf_papers():
        matches = sum(query.matches(paper) for query in queries)
        if not matches:
            continue
        # First seen when arXiv announced it, the day after submission; older ones on Monday.
        announced = (paper.published or period.start) + timedelta(days=1, hours=2)
        first_seen = min(max(announced, period.start + timedelta(hours=6)), WEEK_NOW)
        candidates.append(
            RoundupCandidate(
                card=app_card(paper),
                matches=matches,
                first_seen=first_seen,
                reactions=REACTIONS.get(paper.arxiv_id, 0),
            )
        )
    return candidates


def week_roundup() -> Roundup:
    return build_roundup(
        week_candidates(), week_period(WEEK, TIMEZONE), now=WEEK_NOW, destination_id=7
    )


def allowed_urls(roundup: Roundup) -> set[str]:
    """Every URL a rendering of ``roundup`` may link to: the links of its entries."""
    return {link.url for section in roundup.sections for e in section.entries for link in e.links}


# --- hostile roundups ----------------------------------------------------------------------

_PERIODS = st.sampled_from([week_period(WEEK, TIMEZONE), day_period("2026-06-12", TIMEZONE)])
_MOMENTS = st.datetimes(
    min_value=datetime(2026, 6, 1), max_value=datetime(2026, 6, 20), timezones=st.just(UTC)
)


def _many(cards: list[Card], count: int, one_topic: bool) -> list[Card]:
    """``count`` distinct papers made of ``cards`` (ids made unique), in one topic or several."""
    out: list[Card] = []
    for index in range(count):
        card = cards[index % len(cards)]
        topic = cards[0].topic if one_topic else card.topic
        out.append(dataclasses.replace(card, arxiv_id=f"{index:03d}{card.arxiv_id}", topic=topic))
    return out


@st.composite
def _built(draw: st.DrawFn) -> Roundup:
    """A roundup built by bot.core.roundup from hostile cards (up to 45 in one topic)."""
    cards = draw(st.lists(st.one_of(hostile_cards, raw_cards), min_size=1, max_size=3))
    count = draw(st.integers(1, 45))
    many = _many(cards, count, draw(st.booleans()))
    candidates = [
        RoundupCandidate(
            card=card,
            matches=draw(st.integers(-3, 10**6)),
            first_seen=draw(_MOMENTS),
            reactions=draw(st.integers(-3, 10**9)),
        )
        for card in many
    ]
    cap = draw(st.integers(1, 60))
    period = draw(_PERIODS)
    return build_roundup(candidates, period, now=WEEK_NOW, cap=cap, destination_id=1)


def _raw_entry(card: Card, score: float) -> RoundupEntry:
    """An entry straight from a card's (unbounded) text: renderers must cope with any entry."""
    return RoundupEntry(
        arxiv_id=card.arxiv_id,
        version=card.version,
        title=card.title,
        authors_line=card.authors_line,
        tldr=card.tldr,
        insights=card.key_points * 3,  # up to 30, where an entry built by core has two
        links=card.links * 2,
        upvotes=card.upvotes,
        comments=card.comments,
        matches=1,
        reactions=0,
        first_seen=WEEK_NOW,
        score=score,
    )


@st.composite
def _raw(draw: st.DrawFn) -> Roundup:
    """A roundup of entries nobody bounded: 1 to 40 papers over 1 to 30 topics."""
    cards = draw(st.lists(raw_cards, min_size=1, max_size=3))
    many = _many(cards, draw(st.integers(1, 40)), draw(st.booleans()))
    topics = draw(st.integers(1, 30))
    sections: list[RoundupSection] = []
    for start in range(topics):
        chunk = many[start::topics]
        if chunk:
            entries = tuple(_raw_entry(card, 1.0) for card in chunk)
            sections.append(RoundupSection(chunk[0].topic, entries))
    total = draw(st.integers(0, 10**6))
    return Roundup(1, draw(_PERIODS), tuple(sections), total_candidates=total)


hostile_roundups: st.SearchStrategy[Roundup] = st.one_of(_built(), _raw())


# --- golden outputs ------------------------------------------------------------------------


def _write_goldens() -> None:
    from bot.adapters.discord.roundup import render_discord_roundup
    from bot.adapters.roundup_text import render_roundup_text
    from bot.adapters.slack.roundup import render_slack_roundup

    roundup = week_roundup()
    GOLDEN_TEXT.write_text(render_roundup_text(roundup) + "\n", encoding="utf-8")
    discord = dataclasses.asdict(render_discord_roundup(roundup))
    GOLDEN_DISCORD.write_text(json.dumps(discord, indent=2, ensure_ascii=False) + "\n", "utf-8")
    slack = dataclasses.asdict(render_slack_roundup(roundup))
    GOLDEN_SLACK.write_text(json.dumps(slack, indent=2, ensure_ascii=False) + "\n", "utf-8")
    for path in (GOLDEN_TEXT, GOLDEN_DISCORD, GOLDEN_SLACK):
        print(path)


if __name__ == "__main__":
    _write_goldens()
