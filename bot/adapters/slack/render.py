"""Card -> the arguments of Slack's ``chat.postMessage``, all but ``channel`` (pure).

Block Kit: a header with the title, a section with the TL;DR and key points, a context line
(authors, topic, categories, signals, arXiv id and dates) and a row of link buttons; a
plain-text fallback for notifications; message metadata carrying the arXiv id and version so
a sender can find a post it is unsure about. Paper text is untrusted: it goes through
``slack_escape`` and ``truncate``, mrkdwn objects are ``verbatim`` (no auto-linking of URLs,
channels or mentions), and every limit of DESIGN.md section 6 is respected.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from bot.core.cards import categories_text, dates_text, signals_text, tldr_credit
from bot.core.models import Card
from bot.core.safety import measure, scrub, slack_escape, truncate

__all__ = [
    "BUTTON_TEXT_LIMIT",
    "BUTTON_URL_LIMIT",
    "CONTEXT_ELEMENT_LIMIT",
    "HEADER_LIMIT",
    "MAX_BLOCKS",
    "MESSAGE_LIMIT",
    "METADATA_EVENT_TYPE",
    "SECTION_LIMIT",
    "TEXT_OBJECT_LIMIT",
    "render_slack",
]

log = logging.getLogger(__name__)

# Slack's limits (DESIGN.md section 6; https://docs.slack.dev/reference/block-kit).
MAX_BLOCKS = 50
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
TEXT_OBJECT_LIMIT = 3000
CONTEXT_ELEMENT_LIMIT = 10
BUTTON_TEXT_LIMIT = 75
BUTTON_URL_LIMIT = 3000
MAX_ACTIONS = 25
# "Keep a whole message under about 12,000 characters": we count the fallback text plus the
# blocks serialised as JSON, which is more than Slack can be counting.
MESSAGE_LIMIT = 12_000

METADATA_EVENT_TYPE = "paperwire_card"

_CATEGORY = re.compile(r"[A-Za-z][A-Za-z0-9.-]*")  # cs.CL, astro-ph, math.GT: safe to bold

# Our own budgets, well inside Slack's: a card is read at a glance.
_FALLBACK_BUDGET = 600
_TLDR_BUDGET = 1200
_POINT_BUDGET = 400
_AUTHORS_BUDGET = 512
_CONTEXT_BUDGET = 256
_URL_BUDGET = 512  # no link on a card is longer; a longer one is garbage, not a paper page


def render_slack(card: Card) -> dict[str, Any]:
    """The ``chat.postMessage`` arguments (without ``channel``) that post ``card``."""
    header = _plain(card.title, HEADER_LIMIT) or _plain(f"arXiv:{card.versioned_id}", HEADER_LIMIT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}
    ]
    context = _context(card)
    actions = _actions(card)
    fallback = _fallback(card)

    fixed = [*blocks, *context, *actions]
    room = MESSAGE_LIMIT - measure(fallback) - _json_measure(fixed) - 200
    section = _section(card, min(SECTION_LIMIT, room // 2))  # JSON may double a character
    blocks.extend(section)
    blocks.extend(context)
    blocks.extend(actions)
    return {
        "text": fallback,
        "blocks": blocks[:MAX_BLOCKS],
        "metadata": {
            "event_type": METADATA_EVENT_TYPE,
            "event_payload": {"arxiv_id": card.arxiv_id, "version": card.version},
        },
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _mrkdwn(text: str, limit: int) -> str:
    """Untrusted ``text`` escaped for mrkdwn and trimmed to ``limit``."""
    clean = scrub(text).strip()
    # Escaping only lengthens text, so a prefix a little over the limit is all truncate needs.
    return truncate(slack_escape(clean[: limit + 16]), limit)


def _plain(text: str, limit: int) -> str:
    """Untrusted ``text`` for a plain_text object, trimmed to ``limit``."""
    clean = scrub(text).strip()
    return truncate(slack_escape(clean[: limit + 16], mrkdwn=False), limit)


def _text(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(card: Card, budget: int) -> list[dict[str, Any]]:
    """The TL;DR and up to three key points, within ``budget``; no block when there is none."""
    if budget <= 0:
        return []
    tldr = _mrkdwn(card.tldr, min(_TLDR_BUDGET, budget - 8))
    body = f"*TL;DR* {tldr}" if tldr else ""
    for index, point in enumerate(card.key_points[:3]):
        text = _mrkdwn(point, _POINT_BUDGET)
        if not text:
            continue
        separator = "\n\n" if index == 0 and body else "\n"
        candidate = f"{body}{separator}• {text}" if body else f"• {text}"
        if measure(candidate) > budget:
            break
        body = candidate
    if not body or measure(body) > budget:
        return []
    return [{"type": "section", "text": _text(body)}]


def _context(card: Card) -> list[dict[str, Any]]:
    """One context block: authors, topic, categories, signals, arXiv id and dates."""
    elements: list[dict[str, Any]] = []
    authors = _mrkdwn(card.authors_line, _AUTHORS_BUDGET)
    if authors:
        elements.append(_text(f"*Authors:* {authors}"))
    topic = _mrkdwn(card.topic.label, _CONTEXT_BUDGET)
    if topic:
        elements.append(_text(f"*Topic:* {topic}"))
    categories = _categories(card)
    if categories:
        elements.append(_text(categories))
    signals = signals_text(card)
    if signals:
        elements.append(_text(_mrkdwn(signals, _CONTEXT_BUDGET)))
    parts = [f"arXiv:{card.versioned_id}", dates_text(card), tldr_credit(card)]
    elements.append(_text(_mrkdwn(" · ".join(part for part in parts if part), 400)))
    return [{"type": "context", "elements": elements[:CONTEXT_ELEMENT_LIMIT]}]


def _categories(card: Card) -> str:
    """The primary category in bold (when it looks like one), then the cross-lists."""
    primary, cross = categories_text(card)
    first = _mrkdwn(primary, 64)
    if _CATEGORY.fullmatch(first):
        first = f"*{first}*"
    return " · ".join(part for part in (first, _mrkdwn(cross, _CONTEXT_BUDGET)) if part)


def _actions(card: Card) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    for link in card.links:
        label = _plain(link.label, BUTTON_TEXT_LIMIT)
        if not label or not _usable_url(link.url):
            log.debug("dropping link %r of %s: unusable as a button", link.label, card.arxiv_id)
            continue
        buttons.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "url": link.url,
                # Slack still sends a block_actions event when a link button is clicked:
                # the app acknowledges every action id starting with "paperwire_link_".
                "action_id": f"paperwire_link_{len(buttons)}",
            }
        )
    if not buttons:
        return []
    return [{"type": "actions", "elements": buttons[:MAX_ACTIONS]}]


def _fallback(card: Card) -> str:
    """The notification text: title, versioned id and TL;DR, escaped like any mrkdwn."""
    title = scrub(card.title).strip() or f"arXiv:{card.versioned_id}"
    text = f"{title} (arXiv:{card.versioned_id})"
    tldr = scrub(card.tldr).strip()
    if tldr:
        text += f": {tldr}"
    return _mrkdwn(text, _FALLBACK_BUDGET)


def _json_measure(blocks: list[dict[str, Any]]) -> int:
    return measure(json.dumps(blocks, ensure_ascii=False))


def _usable_url(url: str) -> bool:
    """A link button takes an http(s) URL; we also refuse anything odd or absurdly long."""
    return (
        url.startswith(("https://", "http://"))
        and measure(url) <= min(_URL_BUDGET, BUTTON_URL_LIMIT)
        and url.isascii()
        and url.isprintable()
        and " " not in url
        and "|" not in url
        and "<" not in url
        and ">" not in url
    )
