"""Card -> chat.postMessage arguments: within every limit, inert paper text, golden cards."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from slack_sdk.models.blocks import Block

from bot.adapters.slack.render import render_slack
from bot.core.models import Card, Link, Topic
from bot.core.safety import measure
from tests.golden.inert import slack_problems
from tests.golden.papers import GOLDEN, MINIMAX, Golden, hostile_cards, raw_cards

# --- the validator: every limit of DESIGN.md section 6, and inert paper text --------------

# Our own mrkdwn around paper text: a bold label, a bold primary category, bullets.
OUR_MARKUP = re.compile(r"\A\*(TL;DR|Authors:|Topic:)\* |\A\*([^*]*)\*(?= · |\Z)|\A• ")


def slack_violations(payload: dict[str, Any], card: Card) -> list[str]:
    """Everything about ``payload`` that Slack would reject or that would not be inert."""
    problems: list[str] = []

    def check(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    def mrkdwn(text_object: dict[str, Any], limit: int, where: str) -> None:
        text = text_object.get("text", "")
        check(text_object.get("type") == "mrkdwn", f"{where}: mrkdwn")
        check(text_object.get("verbatim") is True, f"{where}: verbatim (no auto-linking)")
        check(0 < measure(text) <= limit, f"{where}: length {measure(text)}")
        for line in text.split("\n"):
            problems.extend(f"{where}: {p}" for p in slack_problems(OUR_MARKUP.sub(r"\2", line)))

    def plain(text_object: dict[str, Any], limit: int, where: str) -> None:
        text = text_object.get("text", "")
        check(text_object.get("type") == "plain_text", f"{where}: plain_text")
        check(0 < measure(text) <= limit, f"{where}: length {measure(text)}")
        problems.extend(f"{where}: {p}" for p in slack_problems(text, mrkdwn=False))

    check(set(payload) <= {"text", "blocks", "metadata", "unfurl_links", "unfurl_media"}, "keys")
    check("channel" not in payload, "the caller adds the channel")
    check(payload.get("unfurl_links") is False, "unfurl_links off")
    check(payload.get("unfurl_media") is False, "unfurl_media off")
    check(
        payload.get("metadata")
        == {
            "event_type": "paperwire_card",
            "event_payload": {"arxiv_id": card.arxiv_id, "version": card.version},
        },
        "metadata carries the arXiv id and version",
    )
    text = payload.get("text", "")
    check(0 < measure(text) <= 4000, f"fallback text length {measure(text)}")
    problems.extend(f"fallback: {p}" for p in slack_problems(text))

    blocks = payload.get("blocks", [])
    check(1 <= len(blocks) <= 50, "one to fifty blocks")
    total = measure(text) + measure(json.dumps(blocks, ensure_ascii=False))
    check(total <= 12_000, f"message size {total} over 12,000")
    action_ids: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            plain(block["text"], 150, "header")
        elif kind == "section":
            mrkdwn(block["text"], 3000, "section")
        elif kind == "context":
            elements = block.get("elements", [])
            check(1 <= len(elements) <= 10, "one to ten context elements")
            for element in elements:
                mrkdwn(element, 3000, "context")
        elif kind == "actions":
            buttons = block.get("elements", [])
            check(1 <= len(buttons) <= 25, "one to 25 actions")
            for button in buttons:
                check(button.get("type") == "button", "a button")
                plain(button["text"], 75, "button")
                check(_link_ok(button.get("url", "")), f"button url {button.get('url')!r}")
                action_ids.append(button.get("action_id", ""))
        else:
            problems.append(f"an unexpected block {kind!r}")
    check(len(set(action_ids)) == len(action_ids), "action ids unique")
    check(all(0 < len(a) <= 255 for a in action_ids), "action ids 1 to 255 characters")
    if not problems:  # slack_sdk's own validation of the block limits agrees
        for parsed in Block.parse_all(blocks):
            parsed.validate_json()
    return problems


def _link_ok(url: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and measure(url) <= 3000
        and url.isascii()
        and url.isprintable()
        and not any(char in url for char in " <>|")
    )


# --- any card, however hostile --------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(hostile_cards)
def test_any_paper_renders_within_every_limit_and_inert(card: Card) -> None:
    assert slack_violations(render_slack(card), card) == []


@settings(max_examples=100, deadline=None)
@given(raw_cards)
def test_any_card_renders_within_every_limit_and_inert(card: Card) -> None:
    assert slack_violations(render_slack(card), card) == []


# --- the validator catches what it should (so the tests above can fail) ---------------------


def _section(payload: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in payload["blocks"] if b["type"] == "section")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p["blocks"][0]["text"].update(text="x" * 151), "header: length"),
        (lambda p: p["blocks"][0]["text"].update(text="<!channel>"), "angle bracket"),
        (lambda p: _section(p)["text"].update(text="*TL;DR* <https://e.x|hi>"), "angle"),
        (lambda p: _section(p)["text"].update(text="*TL;DR* AT&T"), "entity"),
        (lambda p: _section(p)["text"].update(text="*TL;DR* @channel"), "mass mention"),
        (lambda p: _section(p)["text"].update(text="*TL;DR* *bold*"), "bold or italic"),
        (lambda p: _section(p)["text"].update(text="*TL;DR* `x`"), "code"),
        (lambda p: _section(p)["text"].pop("verbatim"), "verbatim"),
        (lambda p: _section(p)["text"].update(text="y" * 3001), "section: length"),
        (lambda p: p.update(text="z" * 4001), "fallback text length"),
        (lambda p: p["blocks"].extend([{"type": "divider"}] * 50), "fifty blocks"),
        (lambda p: p["metadata"]["event_payload"].update(version=9), "metadata"),
        (lambda p: p.update(unfurl_links=True), "unfurl_links"),
        (lambda p: p["blocks"][-1]["elements"][0].update(url="https://e.x|a"), "button url"),
        (lambda p: p["blocks"][-1]["elements"][1].update(action_id="paperwire_link_0"), "unique"),
        (lambda p: p["blocks"][2]["elements"].extend([p["blocks"][2]["elements"][0]] * 9), "ten"),
    ],
)
def test_the_validator_catches_each_kind_of_violation(mutate: Any, expected: str) -> None:
    card = MINIMAX.card()
    payload = render_slack(card)
    assert slack_violations(payload, card) == []
    mutate(payload)
    assert any(expected in problem for problem in slack_violations(payload, card))


# --- what a channel sees --------------------------------------------------------------------


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda golden: golden.name)
def test_golden_fixture_cards(golden: Golden) -> None:
    card = golden.card()
    payload = render_slack(card)
    assert slack_violations(payload, card) == []
    expected = json.loads(golden.path("slack").read_text(encoding="utf-8"))
    assert payload == expected


def test_blocks_are_exactly_what_slack_sdk_would_build() -> None:
    blocks = render_slack(MINIMAX.card())["blocks"]
    assert [block.to_dict() for block in Block.parse_all(blocks)] == blocks


def test_the_message_reads_header_tldr_points_context_and_buttons() -> None:
    payload = render_slack(MINIMAX.card())
    header, section, context, actions = payload["blocks"]
    assert header["text"]["text"] == "MiniMax Sparse Attention"
    assert section["text"]["text"].startswith("*TL;DR* MiniMax Sparse Attention enables")
    assert section["text"]["text"].count("\n• ") == 3
    assert [e["text"] for e in context["elements"]] == [
        "*Authors:* Xunhao Lai, Weiqi Xu, Yufeng Yang et al. (11 authors)",
        "*Topic:* 🧱 Architectures and attention",
        "▲ 103 upvotes · 💬 4 comments",
        "arXiv:2606.13392v1 · Submitted 11 Jun 2026 · TL;DR by Hugging Face",
    ]
    assert [(b["text"]["text"], b["url"]) for b in actions["elements"]] == [
        ("Abstract", "https://arxiv.org/abs/2606.13392"),
        ("PDF", "https://arxiv.org/pdf/2606.13392"),
        ("HTML", "https://arxiv.org/html/2606.13392v1"),
        ("Hugging Face", "https://huggingface.co/papers/2606.13392"),
        ("Code", "https://github.com/MiniMax-AI/MSA"),
    ]
    assert payload["text"].startswith("MiniMax Sparse Attention (arXiv:2606.13392v1): MiniMax")


def test_hostile_paper_text_comes_out_inert() -> None:
    card = dataclasses.replace(
        MINIMAX.card(),
        title="<!channel> Free <https://evil.example|prizes> & more",
        tldr="*Big* _claim_ ~gone~ `code` <@U123> <#C42> @here",
        authors_line="> Eve\u202e",
        topic=Topic(name="<!subteam^S1>", emoji=""),
    )
    payload = render_slack(card)
    header, section, context, _ = payload["blocks"]
    assert header["text"]["text"] == (
        "&lt;!channel&gt; Free &lt;https://evil.example|prizes&gt; &amp; more"
    )
    assert section["text"]["text"].startswith(
        "*TL;DR* ∗Big∗ ˍclaimˍ ∼gone∼ ˋcodeˋ &lt;@U123&gt; &lt;#C42&gt; @\u200bhere"
    )
    assert context["elements"][0]["text"] == "*Authors:* › Eve"
    assert context["elements"][1]["text"] == "*Topic:* &lt;!subteam^S1&gt;"
    assert "<" not in payload["text"]
    assert ">" not in payload["text"]


def test_an_empty_card_still_makes_a_valid_message() -> None:
    card = dataclasses.replace(
        MINIMAX.card(),
        title="",
        tldr="",
        key_points=(),
        authors_line="",
        topic=Topic(name=""),
        links=(Link("PDF", "javascript:alert(1)"),),
        upvotes=None,
        comments=None,
    )
    payload = render_slack(card)
    assert slack_violations(payload, card) == []
    assert [block["type"] for block in payload["blocks"]] == ["header", "context"]
    assert payload["blocks"][0]["text"]["text"] == "arXiv:2606.13392v1"


def test_a_huge_card_is_trimmed_at_word_boundaries() -> None:
    card = dataclasses.replace(
        MINIMAX.card(),
        title="Attention " * 1000,
        tldr="Sparse attention is fast. " * 1000,
        key_points=("point " * 1000,) * 3,
    )
    payload = render_slack(card)
    assert slack_violations(payload, card) == []
    header, section, *_ = payload["blocks"]
    assert header["text"]["text"].endswith("Attention…")
    assert section["text"]["text"].split("\n")[0].endswith("fast.")
    assert section["text"]["text"].endswith("point…")
