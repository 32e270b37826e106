"""Card -> Discord message body: within every limit, inert paper text, golden fixture cards."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import urlsplit

import discord
import pytest
from hypothesis import given, settings

from bot.adapters.discord.render import render_discord
from bot.core.models import Card, Link, Topic
from bot.core.safety import measure
from tests.golden.inert import discord_problems
from tests.golden.papers import GOLDEN, MINIMAX, Golden, hostile_cards, raw_cards

# --- the validator: every limit of DESIGN.md section 6, and inert paper text --------------

BLOCK_MARKUP = re.compile(r"\A\*\*TL;DR\*\* |\A• ")


def discord_violations(payload: dict[str, Any]) -> list[str]:
    """Everything about ``payload`` that Discord would reject or that would not be inert."""
    problems: list[str] = []

    def check(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    check(payload.get("allowed_mentions") == {"parse": []}, "allowed_mentions must allow nothing")
    content = payload.get("content", "")
    check(isinstance(content, str) and measure(content) <= 2000, "content over 2000")
    check(content == "", "paper text must not go into content")
    embeds = payload.get("embeds", [])
    check(1 <= len(embeds) <= 10, "one to ten embeds")
    total = 0
    for embed in embeds:
        title = embed.get("title", "")
        check(0 < measure(title) <= 256, f"title length {measure(title)}")
        problems.extend(f"title: {p}" for p in discord_problems(title))
        if "url" in embed:
            check(_link_ok(embed["url"], 2048), f"embed url {embed['url']!r}")
        description = embed.get("description")
        if description is not None:
            check(0 < measure(description) <= 4096, f"description length {measure(description)}")
            for line in description.split("\n"):
                if line:
                    stripped = BLOCK_MARKUP.sub("", line)
                    check(stripped != line, f"a description line of ours: {line[:40]!r}")
                    problems.extend(f"description: {p}" for p in discord_problems(stripped))
        fields = embed.get("fields", [])
        check(len(fields) <= 25, "at most 25 fields")
        for field in fields:
            name, value = field["name"], field["value"]
            check(0 < measure(name) <= 256, f"field name length {measure(name)}")
            check(0 < measure(value) <= 1024, f"field value length {measure(value)}")
            check(isinstance(field.get("inline", False), bool), "inline is a bool")
            if name == "Categories":  # the primary category in our bold, then the cross-lists
                value = re.sub(r"\A\*\*(.*?)\*\*(?= · |\Z)", r"\1", value)
            problems.extend(f"field {name}: {p}" for p in discord_problems(value))
            total += measure(name) + measure(value)
        footer = embed.get("footer", {}).get("text", "")
        check(measure(footer) <= 2048, "footer over 2048")
        problems.extend(f"footer: {p}" for p in _plain_problems(footer))
        author = embed.get("author", {}).get("name", "")
        check(measure(author) <= 256, "author over 256")
        check(0 <= embed.get("color", 0) <= 0xFFFFFF, "colour out of range")
        total += measure(title) + measure(description or "") + measure(footer) + measure(author)
    check(total <= 6000, f"embeds total {total} over 6000")

    rows = payload.get("components", [])
    check(len(rows) <= 5, "at most five action rows")
    for row in rows:
        check(row.get("type") == 1, "an action row")
        buttons = row.get("components", [])
        check(1 <= len(buttons) <= 5, "one to five buttons a row")
        for button in buttons:
            check(button.get("type") == 2 and button.get("style") == 5, "a link button")
            check("custom_id" not in button, "link buttons carry no custom_id")
            label = button.get("label", "")
            check(0 < measure(label) <= 80, f"button label length {measure(label)}")
            problems.extend(f"button label: {p}" for p in _plain_problems(label))
            check(_link_ok(button.get("url", ""), 512), f"button url {button.get('url')!r}")
    return problems


def _plain_problems(text: str) -> list[str]:
    """Plain text fields (footer, labels) render no markdown; they must still be clean."""
    return [
        p for p in discord_problems(text) if p.startswith(("invisible", "a line break", "a live"))
    ]


def _link_ok(url: str, limit: int) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and measure(url) <= limit
        and url.isascii()
        and url.isprintable()
        and " " not in url
    )


# --- any card, however hostile --------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(hostile_cards)
def test_any_paper_renders_within_every_limit_and_inert(card: Card) -> None:
    payload = render_discord(card)
    assert discord_violations(payload) == []
    json.dumps(payload)  # plain JSON, nothing else


@settings(max_examples=100, deadline=None)
@given(raw_cards)
def test_any_card_renders_within_every_limit_and_inert(card: Card) -> None:
    payload = render_discord(card)
    assert discord_violations(payload) == []
    # discord.py's own reckoning of the 6,000-character total agrees.
    assert len(discord.Embed.from_dict(payload["embeds"][0])) <= 6000


# --- the validator catches what it should (so the tests above can fail) ---------------------


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p.update(allowed_mentions={"parse": ["everyone"]}), "allowed_mentions"),
        (lambda p: p.pop("allowed_mentions"), "allowed_mentions"),
        (lambda p: p["embeds"][0].update(title="x" * 257), "title length"),
        (lambda p: p["embeds"][0].update(title="hi @everyone"), "mass mention"),
        (lambda p: p["embeds"][0].update(description="**TL;DR** [a](https://e.x)"), "'['"),
        (lambda p: p["embeds"][0].update(description="**TL;DR** <@1>"), "'<'"),
        (lambda p: p["embeds"][0].update(description="# big"), "a description line"),
        (lambda p: p["embeds"][0]["fields"][0].update(value="a\u202eb"), "invisible"),
        (lambda p: p["embeds"][0]["fields"][0].update(value="y" * 1025), "field value"),
        (lambda p: p["embeds"][0].update(fields=[{"name": "n", "value": "v" * 1000}] * 7), "total"),
        (lambda p: p["components"][0]["components"][0].update(url="javascript:x"), "url"),
        (lambda p: p["components"][0]["components"].extend([{}] * 5), "five buttons"),
    ],
)
def test_the_validator_catches_each_kind_of_violation(mutate: Any, expected: str) -> None:
    payload = render_discord(MINIMAX.card())
    assert discord_violations(payload) == []
    mutate(payload)
    assert any(expected in problem for problem in discord_violations(payload))


# --- what a channel sees --------------------------------------------------------------------


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda golden: golden.name)
def test_golden_fixture_cards(golden: Golden) -> None:
    payload = render_discord(golden.card())
    assert discord_violations(payload) == []
    expected = json.loads(golden.path("discord").read_text(encoding="utf-8"))
    assert payload == expected


def test_the_embed_reads_title_tldr_points_and_fields() -> None:
    embed = render_discord(MINIMAX.card())["embeds"][0]
    assert embed["title"] == "MiniMax Sparse Attention"
    assert embed["url"] == "https://arxiv.org/abs/2606.13392"
    assert embed["description"].startswith("**TL;DR** MiniMax Sparse Attention enables")
    assert embed["description"].count("\n• ") == 3
    assert [f["name"] for f in embed["fields"]] == ["Authors", "Topic", "Signals"]
    assert embed["fields"][2]["value"] == "▲ 103 upvotes · 💬 4 comments"
    assert embed["footer"]["text"] == (
        "arXiv:2606.13392v1 · Submitted 11 Jun 2026 · TL;DR by Hugging Face"
    )


def test_buttons_link_abstract_pdf_html_hugging_face_and_code() -> None:
    (row,) = render_discord(MINIMAX.card())["components"]
    assert [(b["label"], b["url"]) for b in row["components"]] == [
        ("Abstract", "https://arxiv.org/abs/2606.13392"),
        ("PDF", "https://arxiv.org/pdf/2606.13392"),
        ("HTML", "https://arxiv.org/html/2606.13392v1"),
        ("Hugging Face", "https://huggingface.co/papers/2606.13392"),
        ("Code", "https://github.com/MiniMax-AI/MSA"),
    ]


def test_more_than_five_links_wrap_into_rows_of_five() -> None:
    links = tuple(Link(f"L{i}", f"https://example.org/{i}") for i in range(12))
    rows = render_discord(dataclasses.replace(MINIMAX.card(), links=links))["components"]
    assert [len(row["components"]) for row in rows] == [5, 5, 2]


def test_hostile_paper_text_comes_out_escaped() -> None:
    card = dataclasses.replace(
        MINIMAX.card(),
        title="@everyone [free](https://evil.example) <@123>",
        tldr="**Big** claim <#1> ||spoiler|| `code` @here",
        authors_line="# Eve\u202e, <@&42>",
        topic=Topic(name="<:pwn:1>", emoji=""),
    )
    embed = render_discord(card)["embeds"][0]
    assert embed["title"] == "@\u200beveryone \\[free\\](https://evil.example) \\<@123\\>"
    assert embed["description"].startswith(
        "**TL;DR** \\*\\*Big\\*\\* claim \\<#1\\> \\|\\|spoiler\\|\\| \\`code\\` @\u200bhere"
    )
    assert embed["fields"][0]["value"] == "\\# Eve, \\<@&42\\>"
    assert embed["fields"][1]["value"] == "\\<:pwn:1\\>"


def test_an_empty_card_still_makes_a_valid_message() -> None:
    card = dataclasses.replace(
        MINIMAX.card(),
        title="\u200b",
        tldr="",
        key_points=(),
        authors_line="",
        topic=Topic(name=""),
        links=(),
        upvotes=None,
        comments=None,
    )
    payload = render_discord(card)
    assert discord_violations(payload) == []
    embed = payload["embeds"][0]
    assert embed["title"] == "arXiv:2606.13392v1"
    assert "description" not in embed
    assert "fields" not in embed
    assert "url" not in embed
    assert "components" not in payload


def test_a_huge_card_is_trimmed_at_word_boundaries() -> None:
    card = dataclasses.replace(
        MINIMAX.card(),
        title="Attention " * 1000,
        tldr="Sparse attention is fast. " * 1000,
        key_points=("point " * 1000,) * 3,
        authors_line="Name Surname, " * 1000,
    )
    embed = render_discord(card)["embeds"][0]
    assert embed["title"].endswith("Attention…")
    assert measure(embed["title"]) <= 256
    assert embed["description"].split("\n")[0].endswith("fast.")
    assert embed["fields"][0]["value"].endswith(("Name…", "Surname…"))
    assert discord_violations(render_discord(card)) == []
