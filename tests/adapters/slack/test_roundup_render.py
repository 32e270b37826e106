"""Roundup -> Slack messages: within every limit, inert paper text, no paper lost silently."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from slack_sdk.models.blocks import Block

from bot.adapters.slack.roundup import MAX_PARTS_PER_SECTION, SlackRoundup, render_slack_roundup
from bot.core.models import Link, Roundup, RoundupCandidate, RoundupEntry, RoundupSection, Topic
from bot.core.roundup import build_roundup, day_period, week_period
from bot.core.safety import measure
from tests.adapters.roundup_fixtures import (
    GOLDEN_SLACK,
    WEEK_NOW,
    allowed_urls,
    hostile_roundups,
    week_roundup,
)
from tests.golden.inert import slack_problems
from tests.golden.papers import MINIMAX

# --- the validator: every limit of DESIGN.md section 6, inert paper text, every paper -------

# Our own links: <url|label>, the url one we built. Labels are escaped paper text.
OUR_LINK = re.compile(r"<(?P<url>https?://[^|<>\s]+)\|(?P<label>[^<>]*)>")
TITLE_LINE = re.compile(r"\*(?P<number>[0-9]+)\. (?P<title>.*)\*")
HEADING = re.compile(
    r"(?P<label>.+) · (?P<count>[0-9]+) papers?(?: \((?P<part>[0-9]+)/(?P<parts>[0-9]+)\))?"
)
OUR_BOLD = re.compile(r"\A(📰 )?\*([^*]+)\*(?= · |\Z)")
MORE = re.compile(r"… and (?P<hidden>[0-9]+) more in this topic, not shown here")


def text_problems(text: str, urls: set[str], where: str) -> list[str]:
    """slack_problems of ``text`` once our own links are checked and taken out."""
    problems: list[str] = []
    for match in OUR_LINK.finditer(text):
        if match["url"] not in urls:
            problems.append(f"{where}: a link to {match['url']!r}")
        problems.extend(f"{where} link label: {p}" for p in slack_problems(match["label"]))
    rest = OUR_LINK.sub(lambda m: m["label"], text)
    return problems + [f"{where}: {p}" for p in slack_problems(rest)]


def slack_roundup_violations(rendered: SlackRoundup, roundup: Roundup) -> list[str]:
    """Everything Slack would reject, anything not inert, and any paper lost silently."""
    problems: list[str] = []
    urls = allowed_urls(roundup)

    def check(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    messages = [rendered.header, *rendered.sections]
    for part, message in enumerate(messages):
        check(
            set(message) == {"text", "blocks", "metadata", "unfurl_links", "unfurl_media"}, "keys"
        )
        check(message["unfurl_links"] is False and message["unfurl_media"] is False, "unfurls")
        check(
            message["metadata"]
            == {
                "event_type": "paperwire_roundup",
                "event_payload": {
                    "destination_id": roundup.destination_id,
                    "period": roundup.period.label,
                    "part": part,
                    "parts": len(rendered.sections),
                },
            },
            f"metadata of part {part}",
        )
        text = message["text"]
        check(0 < measure(text) <= 4000, f"fallback length {measure(text)}")
        problems.extend(f"fallback: {p}" for p in slack_problems(text))
        blocks = message["blocks"]
        check(1 <= len(blocks) <= 50, "one to fifty blocks")
        size = measure(text) + measure(json.dumps(blocks, ensure_ascii=False))
        check(size <= 12_000, f"message size {size} over 12,000")
        for block in blocks:
            problems.extend(_block_problems(block, urls))
        if not problems:  # slack_sdk's own validation of the block limits agrees
            for parsed in Block.parse_all(blocks):
                parsed.validate_json()

    if roundup.is_empty:
        check(rendered.sections == [], "an empty roundup has no thread")
        check(len(rendered.header["blocks"]) == 1, "an empty roundup is one line")
        return problems
    shown, hidden = _count_papers(rendered.sections, problems)
    check(shown + hidden == roundup.paper_count, f"{shown} shown + {hidden} counted")
    return problems


def _block_problems(block: dict[str, Any], urls: set[str]) -> list[str]:
    problems: list[str] = []
    kind = block.get("type")
    if kind == "header":
        text = block["text"]
        if text.get("type") != "plain_text" or not 0 < measure(text["text"]) <= 150:
            problems.append(f"header {text!r:.60}")
        problems.extend(f"header: {p}" for p in slack_problems(text["text"], mrkdwn=False))
        return problems
    if kind == "section":
        objects, limit = [block["text"]], 3000
    elif kind == "context":
        objects, limit = block["elements"], 3000
        if not 1 <= len(objects) <= 10:
            problems.append("one to ten context elements")
    else:
        return [f"an unexpected block {kind!r}"]
    for text_object in objects:
        text = text_object["text"]
        if text_object.get("type") != "mrkdwn" or text_object.get("verbatim") is not True:
            problems.append(f"{kind}: a verbatim mrkdwn object")
        if not 0 < measure(text) <= limit:
            problems.append(f"{kind}: length {measure(text)}")
        for index, line in enumerate(text.split("\n")):
            title = TITLE_LINE.fullmatch(line)
            if title is not None:  # our bold numbered title, maybe linked
                line = title["title"]
            elif index == 0:  # our bold label or period, first in a block
                line = OUR_BOLD.sub(r"\1\2", line)
            problems.extend(text_problems(line.removeprefix("• "), urls, kind))
    return problems


def _count_papers(sections: list[dict[str, Any]], problems: list[str]) -> tuple[int, int]:
    shown = hidden = 0
    numbers: list[int] = []
    for message in sections:
        heading = message["blocks"][0]
        if heading["type"] != "header" or not HEADING.fullmatch(heading["text"]["text"]):
            problems.append(f"a section heading {heading!r:.80}")
        for block in message["blocks"][1:]:
            if block["type"] == "section":
                shown += 1
                first = block["text"]["text"].split("\n")[0]
                match = TITLE_LINE.fullmatch(first)
                numbers.append(int(match["number"]) if match else -1)
            elif block["type"] == "context":
                more = MORE.fullmatch(block["elements"][0]["text"])
                hidden += int(more["hidden"]) if more else 0
    if numbers != sorted(set(numbers)) or -1 in numbers:
        problems.append("papers out of order, repeated or unnumbered")
    return shown, hidden


# --- any roundup, however hostile -----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(hostile_roundups)
def test_any_roundup_renders_within_every_limit_and_inert(roundup: Roundup) -> None:
    rendered = render_slack_roundup(roundup)
    assert slack_roundup_violations(rendered, roundup) == []


# --- the validator catches what it should (so the test above can fail) ----------------------


def _paper(rendered: SlackRoundup) -> dict[str, Any]:
    text: dict[str, Any] = rendered.sections[0]["blocks"][1]["text"]
    return text


def _context(rendered: SlackRoundup) -> dict[str, Any]:
    element: dict[str, Any] = rendered.sections[0]["blocks"][2]["elements"][0]
    return element


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.sections[0]["blocks"][0]["text"].update(text="x" * 151), "header"),
        (lambda r: _paper(r).update(text="*1. <https://evil.example|x>*"), "a link to"),
        (lambda r: _paper(r).update(text="*1. x*\n<!channel>"), "angle bracket"),
        (lambda r: _paper(r).update(text="*1. x*\n@here now"), "mass mention"),
        (lambda r: _paper(r).update(text="*1. x*\n*bold*"), "bold or italic"),
        (lambda r: _paper(r).update(text="*1. x*\nAT&T"), "entity"),
        (lambda r: _paper(r).pop("verbatim"), "verbatim"),
        (lambda r: _context(r).update(text="<https://evil.example|Code>"), "a link to"),
        (lambda r: r.sections[0]["blocks"].extend([{"type": "divider"}] * 50), "fifty"),
        (lambda r: r.sections[0].update(unfurl_links=True), "unfurls"),
        (lambda r: r.sections[0]["metadata"]["event_payload"].update(part=9), "metadata"),
        (lambda r: r.sections[1].update(blocks=r.sections[1]["blocks"][::3]), "shown"),
        (lambda r: r.sections.reverse(), "metadata"),
        (lambda r: r.header.update(text="a\u202eb"), "invisible"),
    ],
)
def test_the_validator_catches_each_kind_of_violation(mutate: Any, expected: str) -> None:
    roundup = week_roundup()
    rendered = render_slack_roundup(roundup)
    assert slack_roundup_violations(rendered, roundup) == []
    mutate(rendered)
    assert any(expected in problem for problem in slack_roundup_violations(rendered, roundup))


# --- what a channel sees --------------------------------------------------------------------


def test_golden_week() -> None:
    roundup = week_roundup()
    rendered = render_slack_roundup(roundup)
    assert slack_roundup_violations(rendered, roundup) == []
    expected = json.loads(GOLDEN_SLACK.read_text(encoding="utf-8"))
    assert dataclasses.asdict(rendered) == expected


def test_the_header_names_the_week_the_tally_and_the_contents() -> None:
    header = render_slack_roundup(week_roundup()).header
    assert header["text"] == "Weekly roundup · 2026-W24: the top 15 of 21 papers this week"
    blocks = header["blocks"]
    assert blocks[0]["text"]["text"] == "📰 Weekly roundup · 2026-W24"
    assert blocks[1]["text"]["text"] == "*8–14 Jun 2026* · the top 15 of 21 papers this week"
    contents = blocks[2]["text"]["text"].split("\n")
    assert contents[:3] == [
        "*Contents*",
        "🏗️ Architectures and attention (1)",
        "🧠 Reasoning and agents (5)",
    ]


def test_each_topic_is_a_thread_reply_with_its_papers_numbered_in_order() -> None:
    rendered = render_slack_roundup(week_roundup())
    first = rendered.sections[0]["blocks"]
    assert first[0]["text"]["text"] == "🏗️ Architectures and attention · 1 paper"
    assert first[1]["text"]["text"].split("\n")[0] == (
        "*1. <https://arxiv.org/abs/2606.13392|MiniMax Sparse Attention>*"
    )
    assert first[2]["elements"][0]["text"] == (
        "Xunhao Lai, Weiqi Xu, Yufeng Yang et al. (11 authors) · arXiv:2606.13392v1"
        " · ▲ 103 upvotes · 💬 4 comments"
        " · <https://huggingface.co/papers/2606.13392|Hugging Face>"
        " · <https://github.com/MiniMax-AI/MSA|Code>"
    )
    assert [m["metadata"]["event_payload"]["part"] for m in rendered.sections] == list(range(1, 8))


def test_an_empty_roundup_is_one_line() -> None:
    roundup = build_roundup([], week_period("2026-W48", "Europe/Paris"), now=WEEK_NOW)
    rendered = render_slack_roundup(roundup)
    assert rendered.header["text"] == (
        "📰 Weekly roundup · 2026-W48 · "
        "No new papers matched this channel's subscriptions this week."
    )
    assert rendered.header["blocks"] == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "📰 *Weekly roundup · 2026-W48* · "
                "No new papers matched this channel's subscriptions this week.",
                "verbatim": True,
            },
        }
    ]
    assert rendered.sections == []
    assert slack_roundup_violations(rendered, roundup) == []


def test_a_daily_digest_has_the_same_shape() -> None:
    period = day_period("2026-06-12", "Europe/Paris")
    candidate = RoundupCandidate(MINIMAX.card(), matches=1, first_seen=period.start)
    roundup = build_roundup([candidate], period, now=period.end)
    rendered = render_slack_roundup(roundup)
    assert rendered.header["blocks"][0]["text"]["text"] == "📰 Daily digest · Fri 12 Jun 2026"
    assert rendered.header["blocks"][1]["text"]["text"] == "1 paper"
    assert len(rendered.sections) == 1
    assert slack_roundup_violations(rendered, roundup) == []


def _entry(number: int, **fields: Any) -> RoundupEntry:
    base = RoundupEntry(
        arxiv_id=f"2606.{number:05d}",
        version=1,
        title=f"Paper {number}",
        authors_line="A. Author",
        tldr="What it does.",
        insights=(),
        links=(Link("Abstract", f"https://arxiv.org/abs/2606.{number:05d}"),),
        upvotes=1,
        comments=0,
        matches=1,
        reactions=0,
        first_seen=WEEK_NOW,
        score=1.0,
    )
    return dataclasses.replace(base, **fields)


def _one_topic(entries: list[RoundupEntry]) -> Roundup:
    topic = Topic("Reasoning and agents", "🧠", "reasoning")
    period = week_period("2026-W24", "Europe/Paris")
    return Roundup(1, period, (RoundupSection(topic, tuple(entries)),), len(entries))


def test_forty_small_papers_in_one_topic_split_by_the_block_limit() -> None:
    roundup = _one_topic([_entry(n) for n in range(1, 41)])
    rendered = render_slack_roundup(roundup)
    assert [len(m["blocks"]) for m in rendered.sections] == [49, 33]
    assert [m["blocks"][0]["text"]["text"] for m in rendered.sections] == [
        "🧠 Reasoning and agents · 40 papers (1/2)",
        "🧠 Reasoning and agents · 40 papers (2/2)",
    ]
    assert slack_roundup_violations(rendered, roundup) == []


def test_big_papers_split_by_the_message_size() -> None:
    insight = "A long insight that says a great deal about the method and its results. " * 6
    tldr = "A long TL;DR that goes on about the paper at some length. " * 10
    roundup = _one_topic(
        [_entry(n, title="T" * 300, tldr=tldr, insights=(insight, insight)) for n in range(12)]
    )
    rendered = render_slack_roundup(roundup)
    assert len(rendered.sections) > 1
    assert slack_roundup_violations(rendered, roundup) == []


def test_papers_past_the_last_reply_of_a_topic_are_counted_not_dropped() -> None:
    count = MAX_PARTS_PER_SECTION * 24 + 5
    roundup = _one_topic([_entry(n) for n in range(1, count + 1)])
    rendered = render_slack_roundup(roundup)
    assert len(rendered.sections) == MAX_PARTS_PER_SECTION
    assert rendered.sections[-1]["blocks"][-1] == {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "… and 5 more in this topic, not shown here",
                "verbatim": True,
            }
        ],
    }
    assert slack_roundup_violations(rendered, roundup) == []


def test_hostile_paper_text_comes_out_inert() -> None:
    entry = _entry(
        1,
        title="<!channel> *free* <https://evil.example|click>",
        authors_line="@here & <@U123>",
        tldr="Visit https://evil.example and ~now~ `x`",
        insights=("> quoted", "x_i and 2*3 stay"),
        links=(
            Link("Abstract", "https://arxiv.org/abs/2606.00001"),
            Link("Code", "https://github.com/a|b"),
            Link("Hugging Face", "https://huggingface.co/papers/2606.00001>"),
        ),
    )
    roundup = _one_topic([entry])
    rendered = render_slack_roundup(roundup)
    section, context = rendered.sections[0]["blocks"][1:3]
    assert section["text"]["text"].split("\n") == [
        "*1. <https://arxiv.org/abs/2606.00001|&lt;!channel&gt; \u2217free\u2217 "
        "&lt;https://evil.example|click&gt;>*",
        "Visit https://evil.example and \u223cnow\u223c \u02cbx\u02cb",
        "• \u203a quoted",
        "• x_i and 2*3 stay",
    ]
    assert context["elements"][0]["text"] == (
        "@\u200bhere &amp; &lt;@U123&gt; · arXiv:2606.00001v1 · ▲ 1 upvote"
    )
    assert slack_roundup_violations(rendered, roundup) == []


def test_an_entry_with_too_much_of_everything_stays_within_the_limits() -> None:
    links = tuple(Link(f"Mirror {n}", f"https://arxiv.org/abs/2606.{n:05d}") for n in range(30))
    entry = _entry(
        1,
        title="T" * 5000,
        authors_line="A" * 5000,
        tldr="word " * 5000,
        insights=("insight " * 1000,) * 10,
        links=(Link("Abstract", "https://arxiv.org/abs/2606.00001"), *links),
    )
    roundup = _one_topic([entry] * 3)
    rendered = render_slack_roundup(roundup)
    assert slack_roundup_violations(rendered, roundup) == []
    section = rendered.sections[0]["blocks"][1]["text"]["text"]
    assert section.count("\n• ") == 2  # at most two insights, as an entry promises
