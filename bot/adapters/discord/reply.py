"""A chat ``Reply`` -> the body of a Discord interaction response (pure).

Text replies are one embed (title, and the lines as its description); errors are plain
content; cards are the card's own embed and link buttons (``render_discord``), with any extra
lines (other matches) in a second embed. Every span is escaped here: people's text never
formats, mentions or links; only links the service made are links. Every limit holds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot.adapters.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    TITLE_LIMIT,
    render_discord,
)
from bot.core.chat import Line, Reply, Span, Style
from bot.core.safety import discord_escape, measure, truncate

__all__ = ["EPHEMERAL", "render_lines", "render_reply"]

EPHEMERAL = 64  # message flag: only the person who used the command sees it
_REPLY_COLOR = 0x5865F2
_ERROR_PREFIX = "⚠️ "
_INVISIBLE = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


@functools.lru_cache(maxsize=1024)
def render_reply(reply: Reply) -> dict[str, Any]:
    """``{"content", "embeds", "components", "flags", "allowed_mentions"}`` for ``reply``.

    Cached (a card looked up again renders once): treat the result as read-only.
    """
    payload: dict[str, Any] = {"content": "", "embeds": [], "allowed_mentions": {"parse": []}}
    if reply.cards:
        card = render_discord(reply.cards[0])
        payload["embeds"] = list(card["embeds"])
        if card.get("components"):
            payload["components"] = card["components"]
        used = sum(_embed_size(e) for e in payload["embeds"])
        if reply.lines:
            room = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - used - 16)
            extra = render_lines(reply.lines, room)
            if extra:
                payload["embeds"].append(
                    {"type": "rich", "description": extra, "color": _REPLY_COLOR}
                )
    elif reply.error:
        text = render_lines(reply.lines, CONTENT_LIMIT - len(_ERROR_PREFIX))
        payload["content"] = _ERROR_PREFIX + text
    else:
        title = truncate(discord_escape(reply.title), TITLE_LIMIT)
        room = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - measure(title))
        embed: dict[str, Any] = {"type": "rich", "color": _REPLY_COLOR}
        if title:
            embed["title"] = title
        description = render_lines(reply.lines, room)
        if description or not title:  # Discord refuses an embed with nothing to show
            embed["description"] = description or "…"
        payload["embeds"] = [embed]
    if reply.ephemeral:
        payload["flags"] = EPHEMERAL
    return payload


def render_lines(lines: Sequence[Line], limit: int) -> str:
    """Lines as Discord markdown within ``limit``; what does not fit ends "… N more lines"."""
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


def _blocks(lines: Iterable[Line]) -> Iterable[str]:
    """Each line rendered; consecutive preformatted lines become one code block."""
    pre: list[str] = []
    for line in lines:
        if line and all(span.style is Style.PRE for span in line):
            pre.append("".join(_literal(span.text) for span in line))
            continue
        if pre:
            yield "```\n" + "\n".join(pre) + "\n```"
            pre = []
        yield "".join(_span(span) for span in line)
    if pre:
        yield "```\n" + "\n".join(pre) + "\n```"


def _span(span: Span) -> str:
    if span.style is Style.CHANNEL:
        return f"<#{span.text}>" if span.text.isdigit() else discord_escape(span.text)
    if span.style in (Style.CODE, Style.PRE):
        text = _literal(span.text).strip() or "·"
        return f"`{text}`"
    text = discord_escape(span.text)
    if span.url is not None and span.url.startswith("https://"):
        text = f"[{text}]({span.url})"
    if span.style is Style.BOLD and text:
        text = f"**{text}**"
    return text


def _literal(text: str) -> str:
    """Text for inside backticks: nothing there formats or mentions, but a backtick would end
    the span, so it becomes a look-alike; invisible and control characters go."""
    return _INVISIBLE.sub("", text.replace("\n", " ")).replace("`", "ˋ")


def _embed_size(embed: dict[str, Any]) -> int:
    size = measure(str(embed.get("title", ""))) + measure(str(embed.get("description", "")))
    size += measure(str((embed.get("footer") or {}).get("text", "")))
    size += measure(str((embed.get("author") or {}).get("name", "")))
    for field in embed.get("fields") or []:
        size += measure(str(field.get("name", ""))) + measure(str(field.get("value", "")))
    return size
