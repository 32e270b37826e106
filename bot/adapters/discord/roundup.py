"""Roundup -> Discord message bodies: a header post, and the topic sections for its thread (pure).

The header is one embed: the roundup's title, its period and tally, and the contents (each
topic and its count). The thread holds one message per topic section (more when a section
would pass a limit): a ``## topic`` line, then one embed per paper with its title linked to the
abstract, the authors, the one-line TL;DR, the key insights, links to Hugging Face and the code,
and the arXiv id and signals in the footer. Paper text is untrusted: it goes through
``discord_escape`` and ``truncate``, ``scheme://`` is escaped so no bare address turns into a
link (the only links are the ones built here), every limit of DESIGN.md section 6 holds, and
every message allows no mentions. A paper that cannot be shown is counted ("… and N more").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from bot.adapters.discord.render import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_COLOR,
    EMBED_TOTAL_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
)
from bot.core.models import Link, Roundup, RoundupEntry, RoundupKind, RoundupSection
from bot.core.roundup import (
    MAX_INSIGHTS,
    empty_text,
    entry_signals_text,
    period_text,
    roundup_title,
    tally_text,
)
from bot.core.safety import discord_escape, measure, scrub, truncate

__all__ = [
    "AUTHOR_LIMIT",
    "MAX_EMBEDS",
    "MAX_PARTS_PER_SECTION",
    "THREAD_NAME_LIMIT",
    "DiscordRoundup",
    "render_discord_roundup",
]

log = logging.getLogger(__name__)

# Discord's limits beyond those of a card (DESIGN.md section 6).
MAX_EMBEDS = 10
AUTHOR_LIMIT = 256
THREAD_NAME_LIMIT = 100
# Our own: a topic takes at most this many thread messages (10 papers each at most); past
# that the last one says how many more there are, rather than flooding the thread.
MAX_PARTS_PER_SECTION = 5

ROUNDUP_EMOJI = "📰"

# Budgets for one paper's embed, well inside Discord's limits, so that any paper fits in a
# message with room to spare: title 256 + authors 200 + description 2,400 + footer 200.
_AUTHORS_BUDGET = 200
_TLDR_BUDGET = 500
_INSIGHT_BUDGET = 350
_FOOTER_BUDGET = 200
_LINK_LABEL_BUDGET = 40
_LINKS_BUDGET = 1200  # the links line: Hugging Face and code, whatever their addresses
_URL_LIMIT = 512
_TOPIC_BUDGET = 120  # a topic's label in a heading or a contents line
# Room kept in the header's description for the lines around the contents.
_HEADER_RESERVE = 600

# A URL we put in a masked link or an embed's url: http(s), and nothing that could end the
# link early or be read as markdown.
_SAFE_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~:/?#@!$&+,;=%-]*)?"
)


@dataclass(frozen=True, slots=True)
class DiscordRoundup:
    """The messages of one roundup: post ``header``, open a thread named ``thread_name`` on
    it, and post ``sections`` there in order. No sections: post the header alone, no thread."""

    thread_name: str
    header: dict[str, Any]
    sections: list[dict[str, Any]]


def render_discord_roundup(roundup: Roundup) -> DiscordRoundup:
    """The header message, thread name and section messages for ``roundup``."""
    title = f"{ROUNDUP_EMOJI} {roundup_title(roundup)}"
    if roundup.is_empty:
        line = f"**{title}** · {empty_text(roundup.period)}"
        return DiscordRoundup(
            thread_name=_thread_name(roundup),
            header=_message(truncate(line, CONTENT_LIMIT), []),
            sections=[],
        )
    sections: list[dict[str, Any]] = []
    number = 0
    for section in roundup.sections:
        sections.extend(_section_messages(section, number))
        number += len(section.entries)
    return DiscordRoundup(
        thread_name=_thread_name(roundup),
        header=_message("", [_header_embed(roundup, title)]),
        sections=sections,
    )


def _message(content: str, embeds: list[dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = {"content": content}
    if embeds:
        payload["embeds"] = embeds
    payload["allowed_mentions"] = {"parse": []}
    return payload


def _thread_name(roundup: Roundup) -> str:
    kind = "Digest" if roundup.period.kind is RoundupKind.DAILY else "Roundup"
    count = roundup.paper_count
    name = f"{kind} {roundup.period.label} · {count} paper" + ("" if count == 1 else "s")
    return truncate(name, THREAD_NAME_LIMIT)


def _inert(text: str, limit: int, *, markdown: bool = True) -> str:
    """Untrusted ``text`` escaped for Discord and trimmed to ``limit``; no address is live."""
    clean = scrub(text).strip()
    # Escaping only lengthens text, so a prefix a little over the limit is all truncate needs.
    escaped = discord_escape(clean[: limit + 16], markdown=markdown)
    if markdown:  # "\:" shows as ":" but stops Discord turning "https://..." into a link
        escaped = escaped.replace("://", "\\://")
    return truncate(escaped, limit)


def _topic_label(section: RoundupSection) -> str:
    return _inert(section.topic.label, _TOPIC_BUDGET) or "Other"


# --- the header ----------------------------------------------------------------------------


def _header_embed(roundup: Roundup, title: str) -> dict[str, Any]:
    tally = tally_text(roundup)
    if roundup.period.kind is RoundupKind.WEEKLY:
        first = f"**{period_text(roundup.period)}** · {tally}"
    else:  # a digest's title names its day
        first = tally[0].upper() + tally[1:]
    lines = [first, "", "**Contents**"]
    budget = DESCRIPTION_LIMIT - _HEADER_RESERVE
    topics = [f"{_topic_label(section)} ({len(section.entries)})" for section in roundup.sections]
    shown = 0
    for line in topics:
        if measure(line) + 1 > budget:
            break
        lines.append(line)
        budget -= measure(line) + 1
        shown += 1
    if shown < len(topics):
        lines.append(f"… and {len(topics) - shown} more topics")
    lines.extend(["", "The papers are in the thread below."])
    footer = f"paperwire · {roundup.period.label} · {roundup.period.timezone}"
    return {
        "type": "rich",
        "title": truncate(title, TITLE_LIMIT),
        "description": "\n".join(lines),
        "color": EMBED_COLOR,
        "footer": {"text": _inert(footer, FOOTER_LIMIT, markdown=False)},
    }


# --- the sections --------------------------------------------------------------------------


def _section_messages(section: RoundupSection, before: int) -> list[dict[str, Any]]:
    """One or more messages for ``section``; papers are numbered on from ``before``."""
    parts: list[list[dict[str, Any]]] = [[]]
    used = 0
    for index, entry in enumerate(section.entries):
        embed = _paper_embed(entry, before + index + 1)
        size = _embed_size(embed)
        if parts[-1] and (len(parts[-1]) == MAX_EMBEDS or used + size > EMBED_TOTAL_LIMIT):
            if len(parts) == MAX_PARTS_PER_SECTION:
                break
            parts.append([])
            used = 0
        parts[-1].append(embed)
        used += size
    hidden = len(section.entries) - sum(len(part) for part in parts)
    if hidden:
        log.info("roundup section %r: %d papers not shown", section.topic.key, hidden)

    label = _topic_label(section)
    count = len(section.entries)
    heading = f"## {label} · {count} paper" + ("" if count == 1 else "s")
    messages: list[dict[str, Any]] = []
    for number, embeds in enumerate(parts, start=1):
        content = heading if len(parts) == 1 else f"{heading} ({number}/{len(parts)})"
        if hidden and number == len(parts):
            content += f"\n… and {hidden} more in this topic, not shown here"
        messages.append(_message(truncate(content, CONTENT_LIMIT), embeds))
    return messages


def _paper_embed(entry: RoundupEntry, number: int) -> dict[str, Any]:
    title = _inert(entry.title, TITLE_LIMIT - 8) or _inert(f"arXiv:{entry.versioned_id}", 200)
    embed: dict[str, Any] = {"type": "rich", "title": f"{number}. {title}"}
    url = _url(entry.links, "Abstract")
    if url is not None:
        embed["url"] = url
    authors = _inert(entry.authors_line, _AUTHORS_BUDGET, markdown=False)
    if authors:
        embed["author"] = {"name": authors}
    description = _description(entry)
    if description:
        embed["description"] = description
    embed["color"] = EMBED_COLOR
    parts = [f"arXiv:{entry.versioned_id}", entry_signals_text(entry)]
    footer = _inert(" · ".join(part for part in parts if part), _FOOTER_BUDGET, markdown=False)
    if footer:
        embed["footer"] = {"text": footer}
    return embed


def _description(entry: RoundupEntry) -> str:
    """The one-line TL;DR, the insights as bullets, then the links beyond the abstract."""
    lines: list[str] = []
    tldr = _inert(entry.tldr, _TLDR_BUDGET)
    if tldr:
        lines.append(tldr)
    for insight in entry.insights[:MAX_INSIGHTS]:
        text = _inert(insight, _INSIGHT_BUDGET)
        if text:
            lines.append(f"• {text}")
    links: list[str] = []
    room = _LINKS_BUDGET
    for link in entry.links:
        label = _inert(link.label, _LINK_LABEL_BUDGET)
        if link.label == "Abstract" or not label or not _usable(link.url):
            continue
        text = f"[{label}]({link.url})"
        if measure(text) + 3 > room:
            break
        links.append(text)
        room -= measure(text) + 3
    if links:
        lines.append(" · ".join(links))
    return "\n".join(lines)


def _url(links: tuple[Link, ...], label: str) -> str | None:
    for link in links:
        if link.label == label and _usable(link.url):
            return link.url
    return None


def _usable(url: str) -> bool:
    return measure(url) <= _URL_LIMIT and _SAFE_URL.fullmatch(url) is not None


def _embed_size(embed: dict[str, Any]) -> int:
    """What an embed counts toward Discord's 6,000 characters a message."""
    return (
        measure(embed.get("title", ""))
        + measure(embed.get("description", ""))
        + measure(embed.get("author", {}).get("name", ""))
        + measure(embed.get("footer", {}).get("text", ""))
        + sum(measure(f["name"]) + measure(f["value"]) for f in embed.get("fields", []))
    )
