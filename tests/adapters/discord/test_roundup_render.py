"""Roundup -> Discord messages: within every limit, inert paper text, no paper lost silently."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import discord
import pytest
from hypothesis import given, settings

from bot.adapters.discord.roundup import (
    MAX_PARTS_PER_SECTION,
    DiscordRoundup,
    render_discord_roundup,
)
from bot.core.models import Link, Roundup, RoundupCandidate, RoundupEntry, Topic
from bot.core.roundup import build_roundup, day_period, week_period
from bot.core.safety import measure
from tests.adapters.roundup_fixtures import (
    GOLDEN_DISCORD,
    WEEK_NOW,
    allowed_urls,
    hostile_roundups,
    week_roundup,
)
from tests.golden.inert import discord_problems
from tests.golden.papers import MINIMAX

# --- the validator: every limit of DESIGN.md section 6, inert paper text, every paper -------

HEADING = re.compile(
    r"## (?P<label>.+) · (?P<count>[0-9]+) papers?(?: \((?P<part>[0-9]+)/(?P<parts>[0-9]+)\))?"
    r"(?:\n… and (?P<hidden>[0-9]+) more in this topic, not shown here)?"
)
MASKED_LINK = re.compile(r"\[(?P<label>(?:[^\]\\]|\\.)*)\]\((?P<url>[^()\s]+)\)")
NUMBERED = re.compile(r"(?P<number>[0-9]+)\. (?P<title>.*)", re.DOTALL)


def paper_text_problems(text: str, *, line_start: bool = True) -> list[str]:
    """discord_problems, plus: no address Discord would turn into a link by itself."""
    problems = discord_problems(text, line_start=line_start)
    if re.search(r"(?<!\\)://", text):
        problems.append("a live address")
    return problems


def plain_problems(text: str) -> list[str]:
    """Plain text (author, footer) renders no markdown; it must still be clean."""
    return [
        p for p in discord_problems(text) if p.startswith(("invisible", "a line break", "a live"))
    ]


def discord_roundup_violations(rendered: DiscordRoundup, roundup: Roundup) -> list[str]:
    """Everything Discord would reject, anything not inert, and any paper lost silently."""
    problems: list[str] = []
    urls = allowed_urls(roundup)

    def check(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    check(0 < measure(rendered.thread_name) <= 100, "thread name 1 to 100 characters")
    check("\n" not in rendered.thread_name, "thread name on one line")
    messages = [rendered.header, *rendered.sections]
    for message in messages:
        check(message.get("allowed_mentions") == {"parse": []}, "allowed_mentions allow nothing")
        check(set(message) <= {"content", "embeds", "allowed_mentions"}, "known keys only")
        content = message.get("content", "")
        check(measure(content) <= 2000, f"content length {measure(content)}")
        embeds = message.get("embeds", [])
        check(len(embeds) <= 10, "at most ten embeds")
        check(bool(content or embeds), "a message says something")
        total = 0
        for embed in embeds:
            title = embed.get("title", "")
            description = embed.get("description", "")
            author = embed.get("author", {}).get("name", "")
            footer = embed.get("footer", {}).get("text", "")
            check(0 < measure(title) <= 256, f"title length {measure(title)}")
            check(measure(description) <= 4096, f"description length {measure(description)}")
            check(measure(author) <= 256, f"author length {measure(author)}")
            check(measure(footer) <= 2048, f"footer length {measure(footer)}")
            check(len(embed.get("fields", [])) <= 25, "at most 25 fields")
            check("url" not in embed or embed["url"] in urls, f"embed url {embed.get('url')!r}")
            check(0 <= embed.get("color", 0) <= 0xFFFFFF, "colour in range")
            problems.extend(f"author: {p}" for p in plain_problems(author))
            problems.extend(f"footer: {p}" for p in plain_problems(footer))
            total += measure(title) + measure(description) + measure(author) + measure(footer)
            # discord.py's own reckoning of the embed agrees.
            check(len(discord.Embed.from_dict(embed)) <= 6000, "discord.py: embed too long")
        check(total <= 6000, f"embeds total {total} over 6000")

    if roundup.is_empty:
        check(rendered.sections == [], "an empty roundup has no thread")
        check("embeds" not in rendered.header, "an empty roundup is one line")
        check("\n" not in rendered.header["content"], "an empty roundup is one line")
        return problems

    problems.extend(_header_problems(rendered.header, roundup))
    shown, hidden = _section_problems(rendered.sections, roundup, urls, problems)
    check(shown + hidden == roundup.paper_count, f"{shown} shown + {hidden} counted")
    return problems


def _header_problems(header: dict[str, Any], roundup: Roundup) -> list[str]:
    problems: list[str] = []
    (embed,) = header["embeds"]
    lines = embed["description"].split("\n")
    topics = lines[3 : lines.index("", 3)]
    more = 0
    if topics and topics[-1].startswith("… and "):
        more = int(topics.pop().split()[2])
    if len(topics) + more != len(roundup.sections):
        problems.append("the contents miss a topic")
    for line, section in zip(topics, roundup.sections, strict=False):
        match = re.fullmatch(r"(.+) \(([0-9]+)\)", line)
        if match is None or int(match.group(2)) != len(section.entries):
            problems.append(f"a contents line {line[:40]!r}")
        else:
            problems.extend(f"contents: {p}" for p in paper_text_problems(match.group(1)))
    return problems


def _section_problems(
    sections: list[dict[str, Any]], roundup: Roundup, urls: set[str], problems: list[str]
) -> tuple[int, int]:
    shown = hidden = 0
    numbers: list[int] = []
    for message in sections:
        match = HEADING.fullmatch(message["content"])
        if match is None:
            problems.append(f"a section heading {message['content'][:60]!r}")
            continue
        problems.extend(f"heading: {p}" for p in paper_text_problems(match["label"]))
        hidden += int(match["hidden"] or 0)
        for embed in message.get("embeds", []):
            shown += 1
            title = NUMBERED.fullmatch(embed["title"])
            if title is None:
                problems.append(f"an unnumbered title {embed['title'][:40]!r}")
                continue
            numbers.append(int(title["number"]))
            problems.extend(
                f"title: {p}" for p in paper_text_problems(title["title"], line_start=False)
            )
            if "description" in embed:
                for line in embed["description"].split("\n"):
                    problems.extend(_description_line_problems(line, urls))
    if numbers != sorted(set(numbers)):
        problems.append("papers out of order or repeated")
    return shown, hidden


def _description_line_problems(line: str, urls: set[str]) -> list[str]:
    links = list(MASKED_LINK.finditer(line))
    if links and " · ".join(m.group() for m in links) == line:  # our links line
        problems = [f"link to {m['url']!r}" for m in links if m["url"] not in urls]
        for m in links:
            problems.extend(f"link label: {p}" for p in paper_text_problems(m["label"]))
        return problems
    text = line.removeprefix("• ")
    return [f"description: {p}" for p in paper_text_problems(text)] if text else ["empty line"]


# --- any roundup, however hostile -----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(hostile_roundups)
def test_any_roundup_renders_within_every_limit_and_inert(roundup: Roundup) -> None:
    rendered = render_discord_roundup(roundup)
    assert discord_roundup_violations(rendered, roundup) == []
    json.dumps(dataclasses.asdict(rendered))  # plain JSON, nothing else


# --- the validator catches what it should (so the test above can fail) ----------------------


def _first_paper(rendered: DiscordRoundup) -> dict[str, Any]:
    embed: dict[str, Any] = rendered.sections[0]["embeds"][0]
    return embed


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.sections[0].update(allowed_mentions={"parse": ["users"]}), "mentions"),
        (lambda r: r.header.pop("allowed_mentions"), "mentions"),
        (lambda r: _first_paper(r).update(title="1. " + "x" * 300), "title length"),
        (lambda r: _first_paper(r).update(title="1. hi @everyone"), "mass mention"),
        (lambda r: _first_paper(r).update(description="see https://evil.example"), "address"),
        (lambda r: _first_paper(r).update(description="[x](https://evil.example)"), "link to"),
        (lambda r: _first_paper(r).update(description="**bold**"), "'*'"),
        (lambda r: _first_paper(r).update(url="https://evil.example"), "embed url"),
        (lambda r: _first_paper(r).update(author={"name": "a\u202eb"}), "invisible"),
        (lambda r: r.sections[0]["embeds"].extend([{"title": "x"}] * 10), "ten embeds"),
        (lambda r: r.sections[0]["embeds"].pop(), "shown"),
        (lambda r: r.sections[0].update(content="## Topic"), "heading"),
        (lambda r: r.header["embeds"][0].update(description="**x**\n\n**Contents**\n\n"), "topic"),
        (lambda r: r.sections.reverse(), "out of order"),
    ],
)
def test_the_validator_catches_each_kind_of_violation(mutate: Any, expected: str) -> None:
    roundup = week_roundup()
    rendered = render_discord_roundup(roundup)
    assert discord_roundup_violations(rendered, roundup) == []
    mutate(rendered)
    assert any(expected in problem for problem in discord_roundup_violations(rendered, roundup))


# --- what a channel sees --------------------------------------------------------------------


def test_golden_week() -> None:
    roundup = week_roundup()
    rendered = render_discord_roundup(roundup)
    assert discord_roundup_violations(rendered, roundup) == []
    expected = json.loads(GOLDEN_DISCORD.read_text(encoding="utf-8"))
    assert dataclasses.asdict(rendered) == expected


def test_the_header_names_the_week_the_tally_and_the_contents() -> None:
    rendered = render_discord_roundup(week_roundup())
    assert rendered.thread_name == "Roundup 2026-W24 · 15 papers"
    (embed,) = rendered.header["embeds"]
    assert embed["title"] == "📰 Weekly roundup · 2026-W24"
    lines = embed["description"].split("\n")
    assert lines[:4] == [
        "**8–14 Jun 2026** · the top 15 of 21 papers this week",
        "",
        "**Contents**",
        "🏗️ Architectures and attention (1)",
    ]
    assert "🧠 Reasoning and agents (5)" in lines
    assert rendered.header["content"] == ""


def test_each_topic_is_a_thread_message_with_its_papers_numbered_in_order() -> None:
    rendered = render_discord_roundup(week_roundup())
    assert [m["content"] for m in rendered.sections[:2]] == [
        "## 🏗️ Architectures and attention · 1 paper",
        "## 🧠 Reasoning and agents · 5 papers",
    ]
    paper = rendered.sections[0]["embeds"][0]
    assert paper["title"] == "1. MiniMax Sparse Attention"
    assert paper["url"] == "https://arxiv.org/abs/2606.13392"
    assert paper["author"] == {"name": "Xunhao Lai, Weiqi Xu, Yufeng Yang et al. (11 authors)"}
    assert paper["footer"] == {"text": "arXiv:2606.13392v1 · ▲ 103 upvotes · 💬 4 comments"}
    assert paper["description"].split("\n")[-1] == (
        "[Hugging Face](https://huggingface.co/papers/2606.13392)"
        " · [Code](https://github.com/MiniMax-AI/MSA)"
    )
    titles = [e["title"] for m in rendered.sections for e in m["embeds"]]
    assert [t.split(".")[0] for t in titles] == [str(n) for n in range(1, 16)]


def test_an_empty_roundup_is_one_line() -> None:
    roundup = build_roundup([], week_period("2026-W48", "Europe/Paris"), now=WEEK_NOW)
    rendered = render_discord_roundup(roundup)
    assert rendered.header == {
        "content": "**📰 Weekly roundup · 2026-W48** · "
        "No new papers matched this channel's subscriptions this week.",
        "allowed_mentions": {"parse": []},
    }
    assert rendered.sections == []
    assert discord_roundup_violations(rendered, roundup) == []


def test_a_daily_digest_has_the_same_shape() -> None:
    period = day_period("2026-06-12", "Europe/Paris")
    candidate = RoundupCandidate(MINIMAX.card(), matches=1, first_seen=period.start)
    roundup = build_roundup([candidate], period, now=period.end)
    rendered = render_discord_roundup(roundup)
    assert rendered.thread_name == "Digest 2026-06-12 · 1 paper"
    assert rendered.header["embeds"][0]["title"] == "📰 Daily digest · Fri 12 Jun 2026"
    assert rendered.header["embeds"][0]["description"].startswith("1 paper\n\n**Contents**\n")
    assert len(rendered.sections) == 1
    assert discord_roundup_violations(rendered, roundup) == []


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
    from bot.core.models import RoundupSection

    topic = Topic("Reasoning and agents", "🧠", "reasoning")
    period = week_period("2026-W24", "Europe/Paris")
    return Roundup(1, period, (RoundupSection(topic, tuple(entries)),), len(entries))


def test_forty_papers_in_one_topic_split_over_messages_of_ten() -> None:
    roundup = _one_topic([_entry(n) for n in range(1, 41)])
    rendered = render_discord_roundup(roundup)
    assert [len(m["embeds"]) for m in rendered.sections] == [10, 10, 10, 10]
    assert [m["content"] for m in rendered.sections] == [
        f"## 🧠 Reasoning and agents · 40 papers ({n}/4)" for n in range(1, 5)
    ]
    assert discord_roundup_violations(rendered, roundup) == []


def test_big_papers_split_by_the_6000_character_total() -> None:
    insight = "A long insight that says a great deal about the method and its results. " * 6
    tldr = "A long TL;DR that goes on about the paper at some length. " * 10
    roundup = _one_topic(
        [_entry(n, title="T" * 300, tldr=tldr, insights=(insight, insight)) for n in range(9)]
    )
    rendered = render_discord_roundup(roundup)
    assert len(rendered.sections) > 1
    assert sum(len(m["embeds"]) for m in rendered.sections) == 9
    assert discord_roundup_violations(rendered, roundup) == []


def test_papers_past_the_last_message_of_a_topic_are_counted_not_dropped() -> None:
    count = MAX_PARTS_PER_SECTION * 10 + 7
    roundup = _one_topic([_entry(n) for n in range(1, count + 1)])
    rendered = render_discord_roundup(roundup)
    assert len(rendered.sections) == MAX_PARTS_PER_SECTION
    assert rendered.sections[-1]["content"].endswith("\n… and 7 more in this topic, not shown here")
    assert discord_roundup_violations(rendered, roundup) == []


def test_hostile_paper_text_comes_out_inert() -> None:
    entry = _entry(
        1,
        title="@everyone [free](https://evil.example) <@123> # big",
        authors_line="**Eve** @here\u202e",
        tldr="Visit https://evil.example/x and <https://evil.example|here> ||now||",
        insights=("> quoted `code` ~~strike~~", "- a list item with @everyone"),
        links=(
            Link("Abstract", "https://arxiv.org/abs/2606.00001"),
            Link("Code", "javascript:alert(1)"),
            Link("Hugging Face", "https://evil.example/)[x](https://worse.example"),
        ),
    )
    roundup = _one_topic([entry])
    rendered = render_discord_roundup(roundup)
    embed = rendered.sections[0]["embeds"][0]
    assert embed["title"] == (
        "1. @\u200beveryone \\[free\\](https\\://evil.example) \\<@123\\> # big"
    )
    assert embed["author"] == {"name": "**Eve** @\u200bhere"}
    assert embed["description"].split("\n") == [
        "Visit https\\://evil.example/x and \\<https\\://evil.example\\|here\\> \\|\\|now\\|\\|",
        "• \\> quoted \\`code\\` \\~\\~strike\\~\\~",
        "• \\- a list item with @\u200beveryone",
    ]
    assert discord_roundup_violations(rendered, roundup) == []


def test_a_hostile_topic_name_is_escaped_and_bounded() -> None:
    roundup = _one_topic([_entry(1)])
    topic = Topic("# <@&1> @everyone " + "x" * 5000, "", "t")
    roundup = dataclasses.replace(
        roundup, sections=(dataclasses.replace(roundup.sections[0], topic=topic),)
    )
    rendered = render_discord_roundup(roundup)
    content = rendered.sections[0]["content"]
    assert content.startswith("## \\# \\<@&1\\> @\u200beveryone xxx")
    assert content.endswith("x… · 1 paper")
    assert discord_roundup_violations(rendered, roundup) == []


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
    rendered = render_discord_roundup(roundup)
    assert discord_roundup_violations(rendered, roundup) == []
    description = rendered.sections[0]["embeds"][0]["description"]
    assert description.count("\n• ") == 2  # at most two insights, as an entry promises
