"""Roundup -> console text and JSON: a realistic week that reads well, any roundup is safe."""

from __future__ import annotations

import json
import re
import unicodedata

from hypothesis import given, settings

from bot.adapters.roundup_text import render_roundup_text, roundup_json
from bot.core.models import Roundup, RoundupCandidate
from bot.core.roundup import build_roundup, day_period, week_period
from tests.adapters.roundup_fixtures import (
    GOLDEN_TEXT,
    SUBSCRIPTIONS,
    WEEK_NOW,
    hostile_roundups,
    week_candidates,
    week_roundup,
)
from tests.golden.papers import MINIMAX


def numbered(text: str) -> list[int]:
    """The entry numbers of a printed roundup, in order ("\n\n 7. Title" starts entry 7; a
    topic heading, underlined with "─", is not an entry whatever its name)."""
    return [int(n) for n in re.findall(r"\n\n ?([0-9]+)\. (?![^\n]*\n─)", text)]


def test_golden_week() -> None:
    assert render_roundup_text(week_roundup()) + "\n" == GOLDEN_TEXT.read_text(encoding="utf-8")


def test_the_realistic_week_is_the_channels_best_fifteen_of_its_matches() -> None:
    candidates = week_candidates()
    assert len(candidates) == 21  # of the 30 recorded papers, those a subscription matched
    assert len(SUBSCRIPTIONS) == 6
    roundup = week_roundup()
    assert (roundup.paper_count, roundup.total_candidates) == (15, 21)
    # By score: community upvotes, the channel's reactions and matches all show.
    entries = sorted((e for s in roundup.sections for e in s.entries), key=lambda e: -e.score)
    assert [(e.arxiv_id, e.upvotes, e.reactions) for e in entries[:5]] == [
        ("2606.13392", 103, 4),  # MiniMax Sparse Attention: upvoted and reacted to
        ("2606.13681", 118, 0),  # EvoArena: the day's most upvoted
        ("2606.13594", 3, 3),  # few upvotes, but the channel reacted three times
        ("2606.08063", 74, 0),
        ("2606.09304", 6, 2),
    ]
    assert [s.topic.key for s in roundup.sections][:2] == ["architectures", "reasoning"]


def test_the_week_reads_like_a_roundup() -> None:
    text = render_roundup_text(week_roundup())
    lines = text.split("\n")
    assert lines[0] == "📰 Weekly roundup · 2026-W24 · 8–14 Jun 2026"
    assert lines[1] == "The top 15 of 21 papers this week."
    assert lines[3].startswith("Contents: 🏗️ Architectures and attention (1) · ")
    # Papers numbered 1 to 15 in reading order, each with its abstract link.
    assert numbered(text) == list(range(1, 16))
    assert text.count("    Abstract: https://arxiv.org/abs/") == 15
    assert " 1. MiniMax Sparse Attention" in lines
    # No line runs past the width unless it is one unbreakable word (a URL).
    assert all(len(line) <= 88 or " " not in line.strip() for line in lines)


def test_an_empty_roundup_is_one_line() -> None:
    roundup = build_roundup([], week_period("2026-W48", "Europe/Paris"), now=WEEK_NOW)
    assert render_roundup_text(roundup) == (
        "📰 Weekly roundup · 2026-W48 · "
        "No new papers matched this channel's subscriptions this week."
    )
    day = day_period("2026-11-27", "Europe/Paris")
    assert render_roundup_text(build_roundup([], day, now=day.end)) == (
        "📰 Daily digest · Fri 27 Nov 2026 · "
        "No new papers matched this channel's subscriptions on Fri 27 Nov 2026."
    )


def test_a_daily_digest_has_the_same_shape() -> None:
    day = day_period("2026-06-12", "Europe/Paris")
    candidate = RoundupCandidate(MINIMAX.card(), matches=1, first_seen=day.start)
    text = render_roundup_text(build_roundup([candidate], day, now=day.end))
    assert text.split("\n")[:4] == [
        "📰 Daily digest · Fri 12 Jun 2026",
        "1 paper.",
        "",
        "Contents: 🧱 Architectures and attention (1)",
    ]


@settings(max_examples=60, deadline=None)
@given(hostile_roundups)
def test_any_roundup_prints_safely_and_shows_every_paper(roundup: Roundup) -> None:
    text = render_roundup_text(roundup)
    for char in text:  # no terminal escapes, bidi tricks or invisible characters
        assert char == "\n" or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
    assert numbered(text) == list(range(1, roundup.paper_count + 1))
    document = roundup_json(roundup)
    assert json.loads(json.dumps(document)) == document
    assert sum(len(s["papers"]) for s in document["sections"]) == roundup.paper_count


def test_json_holds_everything_a_renderer_uses() -> None:
    document = roundup_json(week_roundup())
    assert {k: v for k, v in document.items() if k not in ("contents", "sections")} == {
        "title": "Weekly roundup · 2026-W24",
        "kind": "weekly",
        "period": "2026-W24",
        "period_text": "8–14 Jun 2026",
        "timezone": "Europe/Paris",
        "start": "2026-06-07T22:00:00+00:00",
        "end": "2026-06-14T22:00:00+00:00",
        "destination_id": 7,
        "total_candidates": 21,
        "papers": 15,
        "summary": "the top 15 of 21 papers this week",
    }
    assert document["contents"][1] == {
        "key": "reasoning",
        "name": "Reasoning and agents",
        "emoji": "🧠",
        "count": 5,
    }
    paper = document["sections"][0]["papers"][0]
    assert paper == {
        "arxiv_id": "2606.13392",
        "version": 1,
        "title": "MiniMax Sparse Attention",
        "authors": "Xunhao Lai, Weiqi Xu, Yufeng Yang et al. (11 authors)",
        "tldr": paper["tldr"],
        "insights": paper["insights"],
        "links": [
            {"label": "Abstract", "url": "https://arxiv.org/abs/2606.13392"},
            {"label": "Hugging Face", "url": "https://huggingface.co/papers/2606.13392"},
            {"label": "Code", "url": "https://github.com/MiniMax-AI/MSA"},
        ],
        "upvotes": 103,
        "comments": 4,
        "matches": 2,
        "reactions": 4,
        "first_seen": "2026-06-12T02:00:00+00:00",
        "score": paper["score"],
    }
    assert len(paper["insights"]) == 2
    assert paper["score"] == round(paper["score"], 4) > 0
