"""Card -> the JSON body of Discord's ``POST /channels/{id}/messages`` (pure).

One embed (title linked to the abstract, TL;DR and key points, fields for authors, topic,
categories and signals, footer with the versioned arXiv id and dates) and one row of link
buttons. Paper text is untrusted: it goes through ``discord_escape`` and ``truncate``, every
limit of DESIGN.md section 6 is respected, and ``allowed_mentions`` allows nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.core.cards import categories_text, dates_text, signals_text, tldr_credit
from bot.core.models import Card
from bot.core.safety import discord_escape, measure, scrub, truncate

__all__ = [
    "BUTTONS_PER_ROW",
    "BUTTON_LABEL_LIMIT",
    "BUTTON_URL_LIMIT",
    "CONTENT_LIMIT",
    "DESCRIPTION_LIMIT",
    "EMBED_COLOR",
    "EMBED_TOTAL_LIMIT",
    "FIELD_NAME_LIMIT",
    "FIELD_VALUE_LIMIT",
    "FOOTER_LIMIT",
    "MAX_ACTION_ROWS",
    "MAX_FIELDS",
    "TITLE_LIMIT",
    "render_discord",
]

log = logging.getLogger(__name__)

# Discord's limits (DESIGN.md section 6; https://discord.com/developers/docs/resources/message).
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
MAX_FIELDS = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000  # title + description + field names and values + footer + author
BUTTONS_PER_ROW = 5
MAX_ACTION_ROWS = 5
BUTTON_LABEL_LIMIT = 80
BUTTON_URL_LIMIT = 512

EMBED_COLOR = 0xB31B1B  # arXiv's red

# Our own budgets, well inside Discord's: a card is read at a glance, not scrolled.
_TLDR_BUDGET = 1200
_POINT_BUDGET = 400
_AUTHORS_BUDGET = 512
_SHORT_FIELD_BUDGET = 256

_CATEGORY = re.compile(r"[A-Za-z][A-Za-z0-9.-]*")  # cs.CL, astro-ph, math.GT: safe to bold

_ACTION_ROW = 1
_BUTTON = 2
_LINK_STYLE = 5


def render_discord(card: Card) -> dict[str, Any]:
    """The message body that posts ``card``: one embed, link buttons, no mentions allowed."""
    title = _inert(card.title, TITLE_LIMIT) or _inert(f"arXiv:{card.versioned_id}", TITLE_LIMIT)
    fields = _fields(card)
    footer = truncate(discord_escape(_footer(card), markdown=False), FOOTER_LIMIT)

    used = measure(title) + measure(footer)
    used += sum(measure(f["name"]) + measure(f["value"]) for f in fields)
    description = _description(card, min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - used))

    embed: dict[str, Any] = {"type": "rich", "title": title}
    url = abstract_url(card)
    if url is not None:
        embed["url"] = url
    if description:
        embed["description"] = description
    embed["color"] = EMBED_COLOR
    if fields:
        embed["fields"] = fields
    embed["footer"] = {"text": footer}

    payload: dict[str, Any] = {"content": "", "embeds": [embed]}
    rows = _button_rows(card)
    if rows:
        payload["components"] = rows
    payload["allowed_mentions"] = {"parse": []}
    return payload


def abstract_url(card: Card) -> str | None:
    """The arXiv abstract page the embed title links to (the card's first link)."""
    for link in card.links:
        if _usable_url(link.url):
            return link.url
    return None


def _inert(text: str, limit: int) -> str:
    """Untrusted ``text`` escaped for Discord markdown and trimmed to ``limit``."""
    clean = scrub(text).strip()
    # Escaping only lengthens text, so a prefix a little over the limit is all truncate needs.
    return truncate(discord_escape(clean[: limit + 16]), limit)


def _description(card: Card, budget: int) -> str:
    """The TL;DR, then up to three key points as bullets, within ``budget``."""
    if budget <= 0:
        return ""
    lines: list[str] = []
    tldr = _inert(card.tldr, min(_TLDR_BUDGET, budget - 10))
    if tldr:
        lines.append(f"**TL;DR** {tldr}")
    points: list[str] = []
    for point in card.key_points[:3]:
        text = _inert(point, _POINT_BUDGET)
        if text:
            points.append(f"• {text}")
    description = lines[0] if lines else ""
    for index, point in enumerate(points):
        separator = "\n\n" if index == 0 and description else "\n"
        candidate = f"{description}{separator}{point}"
        if measure(candidate) > budget:
            break
        description = candidate
    return description if measure(description) <= budget else ""


def _fields(card: Card) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    authors = _inert(card.authors_line, _AUTHORS_BUDGET)
    if authors:
        fields.append({"name": "Authors", "value": authors, "inline": False})
    topic = _inert(card.topic.label, _SHORT_FIELD_BUDGET)
    if topic:
        fields.append({"name": "Topic", "value": topic, "inline": True})
    categories = _categories(card)
    if categories:
        fields.append({"name": "Categories", "value": categories, "inline": True})
    signals = signals_text(card)
    if signals:
        fields.append({"name": "Signals", "value": _inert(signals, 256), "inline": True})
    return fields[:MAX_FIELDS]


def _categories(card: Card) -> str:
    """The primary category in bold (when it looks like one), then the cross-lists."""
    primary, cross = categories_text(card)
    first = _inert(primary, 64)
    if _CATEGORY.fullmatch(first):
        first = f"**{first}**"
    return " · ".join(part for part in (first, _inert(cross, _SHORT_FIELD_BUDGET)) if part)


def _footer(card: Card) -> str:
    """``arXiv:ID vN · dates · credit``: the publisher finds its posts by this prefix."""
    parts = [f"arXiv:{card.versioned_id}", dates_text(card), tldr_credit(card)]
    return " · ".join(part for part in parts if part)


def _button_rows(card: Card) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    for link in card.links:
        label = truncate(discord_escape(link.label, markdown=False).strip(), BUTTON_LABEL_LIMIT)
        if not label or not _usable_url(link.url):
            log.debug("dropping link %r of %s: unusable as a button", link.label, card.arxiv_id)
            continue
        buttons.append({"type": _BUTTON, "style": _LINK_STYLE, "label": label, "url": link.url})
    rows = [
        {"type": _ACTION_ROW, "components": buttons[start : start + BUTTONS_PER_ROW]}
        for start in range(0, len(buttons), BUTTONS_PER_ROW)
    ]
    return rows[:MAX_ACTION_ROWS]


def _usable_url(url: str) -> bool:
    """A link button takes an http(s) URL of at most 512 characters, with nothing odd in it."""
    return (
        url.startswith(("https://", "http://"))
        and measure(url) <= BUTTON_URL_LIMIT
        and url.isascii()
        and url.isprintable()
        and " " not in url
    )
