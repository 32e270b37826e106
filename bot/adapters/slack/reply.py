"""A chat ``Reply`` -> a Slack message: Block Kit with a plain-text fallback (pure).

Text replies are a header and sections; errors one section; cards the card's own blocks
(``render_slack``), with extra lines (other matches) after them. Every span is escaped here:
people's text never formats, mentions or links; only links the service made are links.
Every limit holds (50 blocks, 3000 per section, 150 per header, about 12,000 in all).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot.adapters.slack.render import HEADER_LIMIT, MAX_BLOCKS, SECTION_LIMIT, render_slack
from bot.core.chat import Line, Reply, Span, Style
from bot.core.safety import measure, slack_escape, truncate

__all__ = ["render_home", "render_lines", "render_reply"]

_ERROR_PREFIX = ":warning: "
_TEXT_BUDGET = 9000  # the reply's sections together, inside Slack's ~12,000 per message
_FALLBACK_LIMIT = 600
_SLACK_ID = re.compile(r"[CG][A-Z0-9]{2,20}")
_INVISIBLE = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


@functools.lru_cache(maxsize=1024)
def render_reply(reply: Reply) -> dict[str, Any]:
    """``{"text", "blocks", "response_type"}`` for a slash command's answer (cached: treat
    the result as read-only)."""
    blocks: list[dict[str, Any]] = []
    fallback = reply.title or reply.plain_text
    if reply.cards:
        card = render_slack(reply.cards[0])
        blocks.extend(card["blocks"])
        fallback = card["text"]
        room = _TEXT_BUDGET - sum(measure(str(b)) for b in blocks) // 2
        blocks.extend(_sections(reply.lines, max(0, room), MAX_BLOCKS - len(blocks)))
    elif reply.error:
        text = _ERROR_PREFIX + render_lines(reply.lines, SECTION_LIMIT - len(_ERROR_PREFIX))
        blocks.append(_section(text))
    else:
        title = truncate(slack_escape(reply.title, mrkdwn=False).strip(), HEADER_LIMIT)
        if title:
            blocks.append({"type": "header", "text": {"type": "plain_text", "text": title}})
        blocks.extend(_sections(reply.lines, _TEXT_BUDGET, MAX_BLOCKS - len(blocks)))
    return {
        "text": truncate(slack_escape(fallback).strip(), _FALLBACK_LIMIT) or "paperwire",
        "blocks": blocks[:MAX_BLOCKS],
        "response_type": "ephemeral" if reply.ephemeral else "in_channel",
    }


def render_home(reply: Reply) -> dict[str, Any]:
    """The App Home tab (``views.publish``'s view) showing ``reply``."""
    message = render_reply(reply)
    return {"type": "home", "blocks": list(message["blocks"])}


def render_lines(lines: Sequence[Line], limit: int) -> str:
    """Lines as mrkdwn within ``limit``; what does not fit ends "… N more"."""
    out: list[str] = []
    used = 0
    blocks = list(_blocks(lines))
    for index, block in enumerate(blocks):
        cost = measure(block) + (1 if out else 0)
        if used + cost > limit:
            rest = f"… {len(blocks) - index} more"
            if out and used + measure(rest) + 1 <= limit:
                out.append(rest)
            elif not out:
                out.append(truncate(block, limit))
            break
        out.append(block)
        used += cost
    return "\n".join(out)


def _sections(lines: Sequence[Line], budget: int, max_blocks: int) -> list[dict[str, Any]]:
    """The lines as sections of at most SECTION_LIMIT each, within ``budget`` in all."""
    sections: list[dict[str, Any]] = []
    current: list[str] = []
    size = 0
    blocks = list(_blocks(lines))
    for index, block in enumerate(blocks):
        block = truncate(block, SECTION_LIMIT)
        cost = measure(block) + 1
        if budget - cost < 0 or (len(sections) + 1 >= max_blocks and size + cost > SECTION_LIMIT):
            current.append(f"… {len(blocks) - index} more")
            break
        if size + cost > SECTION_LIMIT and current:
            sections.append(_section("\n".join(current)))
            current, size = [], 0
        current.append(block)
        size += cost
        budget -= cost
    if current and len(sections) < max_blocks:
        sections.append(_section(truncate("\n".join(current), SECTION_LIMIT)))
    return sections


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text or " ", "verbatim": True}}


def _blocks(lines: Iterable[Line]) -> Iterable[str]:
    """Each line rendered; consecutive preformatted lines become one code block."""
    pre: list[str] = []
    for line in lines:
        if line and all(span.style is Style.PRE for span in line):
            pre.append("".join(_literal(span.text) for span in line))
            continue
        if pre:
            yield "```" + "\n".join(pre) + "```"
            pre = []
        yield "".join(_span(span) for span in line)
    if pre:
        yield "```" + "\n".join(pre) + "```"


def _span(span: Span) -> str:
    if span.style is Style.CHANNEL:
        return f"<#{span.text}>" if _SLACK_ID.fullmatch(span.text) else slack_escape(span.text)
    if span.style in (Style.CODE, Style.PRE):
        return f"`{_literal(span.text).strip() or '·'}`"
    text = slack_escape(span.text)
    if span.url is not None and span.url.startswith("https://") and "|" not in span.url:
        label = text.replace("|", "¦") or span.url
        text = f"<{slack_escape(span.url, mrkdwn=False)}|{label}>"
    if span.style is Style.BOLD and text:
        text = f"*{text}*"
    return text


def _literal(text: str) -> str:
    """Text for inside backticks: ``& < >`` escaped (Slack parses them there too), a backtick
    becomes a look-alike, invisible and control characters go."""
    text = _INVISIBLE.sub("", text.replace("\n", " ")).replace("`", "ˋ")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
