"""What "inert" means for untrusted text in chat payloads, and text that tests it.

Shared by the safety, card and renderer tests. The checkers are written independently of
``bot.core.safety``: they state what Discord and Slack would parse, not how we escape.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import strategies as st

from bot.core.safety import ZWSP

__all__ = ["HOSTILE_PIECES", "discord_problems", "hostile_text", "slack_problems"]

# Text an attacker (or a broken feed) might put in a title or abstract.
HOSTILE_PIECES = [
    "@everyone",
    "@here",
    "@EVERYONE",
    "<@123456789012345678>",
    "<@!1>",
    "<@&1>",
    "<#1>",
    "<t:1700000000:R>",
    "<:blob:1>",
    "<a:blob:1>",
    "</cmd:1>",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0123ABC>",
    "<#C0123ABC>",
    "<!subteam^S1>",
    "<https://evil.example|click>",
    "[x](https://evil.example)",
    "[x](<https://evil.example>)",
    "**bold**",
    "__under__",
    "_it_",
    "~~strike~~",
    "~s~",
    "`code`",
    "```block```",
    "||spoiler||",
    "# heading",
    "-# subtext",
    "> quote",
    ">>> quote",
    "- item",
    "1. item",
    "\\",
    "\\*",
    "&amp;",
    "&",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u200d",
    "\ufeff",
    "\u00ad",
    "\U000e0041",
    "\x00",
    "\x1b[31m",
    "\n",
    "\u2028",
    "e\u0301",
    "👨\u200d👩\u200d👧",
    "🇫🇷",
    "👍🏽",
    "x_i",
    "2*3",
]

hostile_text = st.lists(
    st.one_of(
        st.sampled_from(HOSTILE_PIECES),
        st.text(
            alphabet=st.characters(blacklist_categories=["Cs"]),
            max_size=12,
        ),
        st.just(" "),
    ),
    max_size=40,
).map("".join)


# --- checkers: what "inert" means, written independently of the code under test ---------


def _unescaped(text: str) -> list[tuple[int, str]]:
    """Characters of ``text`` not preceded by an escaping backslash, with their positions."""
    out: list[tuple[int, str]] = []
    index = 0
    while index < len(text):
        if text[index] == "\\" and index + 1 < len(text):
            index += 2
            continue
        out.append((index, text[index]))
        index += 1
    return out


def discord_problems(text: str, *, line_start: bool = True) -> list[str]:
    """Why ``text`` would not be inert as (part of) Discord markdown; [] when it is."""
    problems: list[str] = []
    live = _unescaped(text)
    for _, char in live:
        if char in "*_~`|[]<>":
            problems.append(f"unescaped {char!r}")
    if (len(text) - len(text.rstrip("\\"))) % 2:
        problems.append("a dangling backslash")
    if re.search(r"@(everyone|here)", text, re.IGNORECASE):
        problems.append("a live mass mention")
    if re.search(r"[\r\n\u2028\u2029\x85]", text):
        problems.append("a line break")
    if line_start and re.match(r"\s*([#>+-]|\d+\.)", text):
        problems.append("a line-start marker")
    problems.extend(_invisible_problems(text))
    return problems


def slack_problems(text: str, *, mrkdwn: bool = True) -> list[str]:
    """Why ``text`` would not be inert in a Slack text object; [] when it is."""
    problems: list[str] = []
    if "<" in text or ">" in text:
        problems.append("a raw angle bracket")
    for match in re.finditer("&", text):
        if not re.match(r"&(amp|lt|gt);", text[match.start() :]):
            problems.append("a bare or partial entity")
    if re.search(r"@(everyone|here|channel)", text, re.IGNORECASE):
        problems.append("a live mass mention")
    if mrkdwn:
        if re.search(r"[`~]", text):
            problems.append("a code or strike marker")
        # Slack opens bold or italics only at a word start, so that is what must not be left.
        if re.search(r"(?<![^\W_])[*_]", text):
            problems.append("a bold or italic marker that can open a span")
        if re.match(r"\s*&gt;", text):
            problems.append("a quote at the line start")
    if re.search(r"[\r\n\u2028\u2029\x85]", text):
        problems.append("a line break")
    problems.extend(_invisible_problems(text))
    return problems


def _invisible_problems(text: str) -> list[str]:
    bad = [
        char
        for char in text
        if unicodedata.category(char) in ("Cf", "Cs", "Cc") and char not in (ZWSP, " ")
    ]
    # Our own zero-width space may only follow an "@".
    stray = [m.start() for m in re.finditer(ZWSP, text) if text[m.start() - 1 : m.start()] != "@"]
    return [f"invisible {bad[:3]!r}"] * bool(bad) + ["a stray zero-width space"] * bool(stray)
