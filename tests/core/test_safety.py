"""Untrusted text comes out inert and within limits: scrub, the escapes, and truncate."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.safety import (
    ZWSP,
    discord_escape,
    measure,
    scrub,
    slack_escape,
    truncate,
)
from tests.golden.inert import discord_problems, hostile_text, slack_problems

# --- scrub ---------------------------------------------------------------------------------


def test_scrub_removes_every_format_character_python_knows() -> None:
    kept = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ("Cf", "Cs") and scrub(chr(code))
    ]
    assert kept == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain text", "plain text"),
        ("a\u202ecba", "acba"),  # right-to-left override
        ("a\u2066b\u2069c", "abc"),  # isolates
        ("zero\u200bwidth\u200c\u200djoin\u2060\ufeff", "zerowidthjoin"),
        ("soft\u00adhyphen", "softhyphen"),
        ("tag\U000e0041\U000e007f", "tag"),
        ("bell\x07 esc\x1b del\x7f", "bell esc del"),
        ("two\nlines\r\nand\u2028more\tstuff", "two lines and more stuff"),
        ("lots   of\n\n\nspace", "lots of space"),
        ("e\u0301 ü 日本 🧪", "e\u0301 ü 日本 🧪"),
        ("lone \ud800 surrogate", "lone surrogate"),
    ],
)
def test_scrub_drops_invisible_and_control_characters(raw: str, clean: str) -> None:
    assert scrub(raw) == clean


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("é", 1), ("e\u0301", 2), ("日本", 2), ("🧪", 2), ("🇫🇷", 4)],
)
def test_measure_counts_utf16_code_units(text: str, units: int) -> None:
    assert measure(text) == units


# --- Discord -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("Attention Is All You Need", "Attention Is All You Need"),
        ("ping @everyone and @here", f"ping @{ZWSP}everyone and @{ZWSP}here"),
        ("<@123> <@&4> <#5> <t:1:R>", r"\<@123\> \<@&4\> \<#5\> \<t:1:R\>"),
        ("<:e:1>", r"\<:e:1\>"),
        ("[click](https://evil.example)", r"\[click\](https://evil.example)"),
        ("**b** __u__ ~~s~~ `c` ||x||", r"\*\*b\*\* \_\_u\_\_ \~\~s\~\~ \`c\` \|\|x\|\|"),
        ("back\\slash", r"back\\slash"),
        ("# Heading", r"\# Heading"),
        ("-# small", r"\-# small"),
        ("> quoted", r"\> quoted"),
        ("+ item", r"\+ item"),
        ("12. item", r"12\. item"),
        ("state-of-the-art #1 model", "state-of-the-art #1 model"),
        ("x\u202e\u200by", "xy"),
        ("a\n# b", "a # b"),
    ],
)
def test_discord_escape_makes_markdown_and_mentions_inert(raw: str, escaped: str) -> None:
    assert discord_escape(raw) == escaped
    assert discord_problems(escaped) == []


@settings(max_examples=300)
@given(hostile_text)
def test_discord_escape_of_any_text_is_inert(text: str) -> None:
    assert discord_problems(discord_escape(text)) == []


# --- Slack ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("Attention Is All You Need", "Attention Is All You Need"),
        ("<!channel> <!here>", "&lt;!channel&gt; &lt;!here&gt;"),
        ("<@U123> <#C123>", "&lt;@U123&gt; &lt;#C123&gt;"),
        ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
        ("Q&A: a<b, c>d", "Q&amp;A: a&lt;b, c&gt;d"),
        ("&amp; stays literal", "&amp;amp; stays literal"),
        ("@channel @here", f"@{ZWSP}channel @{ZWSP}here"),
        ("*bold* _it_ ~s~ `c`", "\u2217bold\u2217 \u02cdit\u02cd \u223cs\u223c \u02cbc\u02cb"),
        ("x_i and 2*3 stay", "x_i and 2*3 stay"),
        ("A* search", "A\u2217 search"),
        ("> quote", "\u203a quote"),
        ("a > b", "a &gt; b"),
        ("x\u202e\u200by\nz", "xy z"),
    ],
)
def test_slack_escape_makes_mrkdwn_inert(raw: str, escaped: str) -> None:
    assert slack_escape(raw) == escaped
    assert slack_problems(escaped) == []


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("*bold* _it_ x_i", "*bold* _it_ x_i"),  # plain_text shows these as they are
        ("<!channel> & co", "&lt;!channel&gt; &amp; co"),
        ("> not a quote", "&gt; not a quote"),
    ],
)
def test_slack_escape_for_plain_text_keeps_formatting_characters(raw: str, escaped: str) -> None:
    assert slack_escape(raw, mrkdwn=False) == escaped
    assert slack_problems(escaped, mrkdwn=False) == []


@settings(max_examples=300)
@given(hostile_text)
def test_slack_escape_of_any_text_is_inert(text: str) -> None:
    assert slack_problems(slack_escape(text)) == []
    assert slack_problems(slack_escape(text, mrkdwn=False), mrkdwn=False) == []


# --- truncate ------------------------------------------------------------------------------

SENTENCES = "The first sentence is here. A second sentence follows it, and it is rather long."


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        (SENTENCES, 200, SENTENCES),  # fits: unchanged
        (SENTENCES, len(SENTENCES), SENTENCES),
        (SENTENCES, 12, "The first…"),  # word boundary
        (SENTENCES, 40, "The first sentence is here."),  # whole sentence, no ellipsis
        (SENTENCES, 60, "The first sentence is here. A second sentence follows it…"),
        ("We follow Smith et al. in all experiments here", 30, "We follow Smith et al. in all…"),
        ("Supercalifragilisticexpialidocious", 10, "Supercali…"),  # no space: hard cut
        ("日本語のテキストはスペースがない", 6, "日本語のテ…"),
        ("", 5, ""),
        ("anything", 0, ""),
        ("anything", -3, ""),
        ("abc", 1, "a"),  # no room for an ellipsis
    ],
)
def test_truncate_cuts_at_sentence_or_word_boundaries(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abcd&amp;efgh", 8, "abcd…"),  # never inside an entity
        ("abcd&amp;efgh", 10, "abcd&amp;…"),
        (r"abc\*def", 5, "abc…"),  # never between a backslash and what it escapes
        (r"abc\\def", 5, "abc…"),
        ("abe\u0301\u0301cd", 5, "ab…"),  # never inside a combining sequence
        ("ab🇫🇷🇩🇪", 7, "ab🇫🇷…"),  # flags are pairs
        ("ab👍🏽cd", 5, "ab…"),  # skin tone stays with its emoji
        ("ab👨\u200d👩\u200d👧 x", 8, "ab…"),  # a ZWJ sequence stays whole
        ("ab🧪cd", 4, "ab…"),  # astral characters count two
        ("a list, of, words", 9, "a list…"),  # no dangling comma before the ellipsis
        (r"see \[ note here", 8, "see…"),  # a dangling escaped bracket goes whole
    ],
)
def test_truncate_never_splits_a_character_or_an_escape(
    text: str, limit: int, expected: str
) -> None:
    assert truncate(text, limit) == expected


def test_truncate_uses_the_given_ellipsis() -> None:
    assert truncate("one two three four", 12, ellipsis=" [...]") == "one [...]"


@settings(max_examples=300)
@given(hostile_text, st.integers(min_value=-1, max_value=120))
def test_truncate_of_any_text_fits_and_keeps_a_prefix(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert measure(result) <= max(limit, 0)
    if measure(text) <= limit:
        assert result == text
    else:
        assert text.startswith(result.removesuffix("…"))


@settings(max_examples=300)
@given(hostile_text, st.integers(min_value=1, max_value=120))
def test_truncated_escaped_text_stays_inert(text: str, limit: int) -> None:
    discord = truncate(discord_escape(text), limit)
    assert measure(discord) <= limit
    assert discord_problems(discord) == []
    slack = truncate(slack_escape(text), limit)
    assert measure(slack) <= limit
    assert slack_problems(slack) == []
