"""The command set as data, and Slack's free text read into the same arguments as Discord's
typed options."""

from __future__ import annotations

import re

import pytest

from bot.core.chat import (
    COMMANDS,
    LOOKUP_SPEC,
    Reply,
    SlackParseError,
    code,
    parse_slack,
    plain,
    usage,
)

_NAME = re.compile(r"[a-z0-9_-]{1,32}")


@pytest.mark.parametrize("spec", [LOOKUP_SPEC, *COMMANDS], ids=lambda s: s.name)
def test_every_command_fits_discords_rules(spec: object) -> None:
    assert _NAME.fullmatch(spec.name)  # type: ignore[attr-defined]
    assert 1 <= len(spec.description) <= 100  # type: ignore[attr-defined]
    options = spec.options  # type: ignore[attr-defined]
    assert len(options) <= 25
    for option in options:
        assert _NAME.fullmatch(option.name)
        assert 1 <= len(option.description) <= 100
        assert len(option.choices) <= 25


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/paper", "2403.13043", ("", {"paper": "2403.13043", "private": False})),
        (
            "/paper",
            "--private attention is all",
            ("", {"paper": "attention is all", "private": True}),
        ),
        ("/papers", "", ("help", {})),
        ("/papers", "subscribe cat:cs.CL -survey", ("subscribe", {"query": "cat:cs.CL -survey"})),
        (
            "/papers",
            'sub "mixture of experts" --backfill 7',
            ("subscribe", {"query": '"mixture of experts"', "backfill": 7}),
        ),
        ("/papers", "unsubscribe 3", ("unsubscribe", {"subscription": "3"})),
        ("/papers", "LS", ("list", {})),
        ("/papers", "search speculative decoding", ("search", {"query": "speculative decoding"})),
        (
            "/papers",
            "settings mode digest digest_hour=9 timezone Europe/Paris",
            ("settings", {"mode": "digest", "digest_hour": "9", "timezone": "Europe/Paris"}),
        ),
        ("/papers", "roundup Friday 16:00", ("roundup", {"day": "fri", "hour": 16})),
        ("/papers", "roundup preview", ("roundup", {"action": "preview"})),
        ("/papers", "pause", ("pause", {})),
    ],
)
def test_slack_text_reads_as_discords_options(
    command: str, text: str, expected: tuple[str, dict[str, object]]
) -> None:
    assert parse_slack(command, text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("subscibe cat:cs.CL", "did you mean subscribe?"),
        ("frobnicate", "/papers help"),
        ("subscribe cat:cs.CL --backfill 99", "0 to 30"),
        ("settings mode", "needs a value"),
        ("roundup someday", "fri 16"),
        ("roundup 25", "fri 16"),
    ],
)
def test_slack_text_mistakes_say_what_to_type(text: str, says: str) -> None:
    with pytest.raises(SlackParseError, match=re.escape(says)):
        parse_slack("/papers", text)


def test_usage_marks_required_and_optional_options() -> None:
    [subscribe] = [c for c in COMMANDS if c.name == "subscribe"]
    assert usage(subscribe) == "/papers subscribe <query> [backfill]"
    assert usage(LOOKUP_SPEC) == "/paper <paper> [private]"


def test_a_replys_plain_text_drops_the_markup() -> None:
    reply = Reply(title="Subscribed", lines=((plain("query: "), code("cat:cs.CL")),))
    assert reply.plain_text == "Subscribed\nquery: cat:cs.CL"
