"""Roundup -> Slack ``chat.postMessage`` arguments: a header message and thread replies (pure).

The header message holds the roundup's title, its period and tally, and the contents (each
topic and its count); each topic section is posted as a reply in its thread (several replies
when a section would pass a limit): a header block with the topic, then per paper a section
(the title linked to the abstract, the one-line TL;DR, the key insights) and a context line
(authors, signals, Hugging Face and code links). Paper text is untrusted: it goes through
``slack_escape`` and ``truncate``; every mrkdwn object is ``verbatim`` so Slack links nothing
by itself (the only links are the ones built here); every limit of DESIGN.md section 6 holds.
Message metadata names the roundup and the part, so a sender unsure whether a message went
out can look for it. A paper that cannot be shown is counted ("… and N more").
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from bot.adapters.slack.render import HEADER_LIMIT, MAX_BLOCKS, MESSAGE_LIMIT, SECTION_LIMIT
from bot.core.models import Link, Roundup, RoundupEntry, RoundupKind, RoundupSection
from bot.core.roundup import (
    MAX_INSIGHTS,
    empty_text,
    entry_signals_text,
    period_text,
    roundup_title,
    tally_text,
)
from bot.core.safety import measure, scrub, slack_escape, truncate

__all__ = [
    "MAX_PARTS_PER_SECTION",
    "METADATA_EVENT_TYPE",
    "SlackRoundup",
    "render_slack_roundup",
]

log = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "paperwire_roundup"
# Our own: a topic takes at most this many thread replies; past that the last one says how
# many more there are, rather than flooding the thread.
MAX_PARTS_PER_SECTION = 5

ROUNDUP_EMOJI = "📰"

# Budgets for one paper, well inside Slack's limits, so that any paper fits in a message with
# room to spare even when JSON doubles every character (quotes and backslashes).
_TITLE_BUDGET = 300
_TLDR_BUDGET = 500
_INSIGHT_BUDGET = 350
_CONTEXT_BUDGET = 300
_LINK_LABEL_BUDGET = 40
_LINKS_BUDGET = 1200  # the links in the context line: Hugging Face and code
_URL_LIMIT = 512
_TOPIC_BUDGET = 120
_FALLBACK_BUDGET = 300
# What a message may take: Slack's ~12,000 characters less room for the metadata and slack in
# our reckoning (we count the fallback text plus the blocks as JSON).
_MESSAGE_BUDGET = MESSAGE_LIMIT - 500

# A URL we put in <url|label>: http(s), and nothing that could end the link early.
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~:/?#@!$+,;=%-]*)?")


@dataclass(frozen=True, slots=True)
class SlackRoundup:
    """The messages of one roundup: post ``header``, then each of ``sections`` as a reply in
    its thread (``thread_ts`` of the header), in order. No sections: the header alone."""

    header: dict[str, Any]
    sections: list[dict[str, Any]]


def render_slack_roundup(roundup: Roundup) -> SlackRoundup:
    """The ``chat.postMessage`` arguments (without ``channel``) of every message of ``roundup``."""
    title = f"{ROUNDUP_EMOJI} {roundup_title(roundup)}"
    if roundup.is_empty:
        empty = empty_text(roundup.period)
        line = f"{ROUNDUP_EMOJI} *{roundup_title(roundup)}* · {empty}"
        blocks = [{"type": "section", "text": _text(line)}]
        return SlackRoundup(_message(roundup, 0, 0, f"{title} · {empty}", blocks), [])
    sections: list[dict[str, Any]] = []
    plans: list[tuple[RoundupSection, list[list[dict[str, Any]]], int]] = []
    number = 0
    for section in roundup.sections:
        parts, hidden = _pack(section, number)
        plans.append((section, parts, hidden))
        number += len(section.entries)
    total = sum(len(parts) for _, parts, _ in plans)
    for section, parts, hidden in plans:
        for index, blocks in enumerate(parts, start=1):
            part = len(sections) + 1
            sections.append(
                _section_message(roundup, section, blocks, (index, len(parts)), hidden, part, total)
            )
    return SlackRoundup(_header(roundup, title, total), sections)


def _text(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str, limit: int) -> dict[str, Any]:
    clean = scrub(text).strip()
    value = truncate(slack_escape(clean[: limit + 16], mrkdwn=False), limit)
    return {"type": "plain_text", "text": value, "emoji": True}


def _mrkdwn(text: str, limit: int) -> str:
    """Untrusted ``text`` escaped for mrkdwn and trimmed to ``limit``."""
    clean = scrub(text).strip()
    # Escaping only lengthens text, so a prefix a little over the limit is all truncate needs.
    return truncate(slack_escape(clean[: limit + 16]), limit)


def _message(
    roundup: Roundup, part: int, parts: int, fallback: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "text": _mrkdwn(fallback, _FALLBACK_BUDGET),
        "blocks": blocks,
        "metadata": {
            "event_type": METADATA_EVENT_TYPE,
            "event_payload": {
                "destination_id": roundup.destination_id,
                "period": roundup.period.label,
                "part": part,  # 0: the header; 1 to parts: the thread replies in order
                "parts": parts,
            },
        },
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _topic_label(section: RoundupSection) -> str:
    return scrub(section.topic.label).strip() or "Other"


def _json_measure(blocks: list[dict[str, Any]]) -> int:
    return measure(json.dumps(blocks, ensure_ascii=False))


# --- the header ----------------------------------------------------------------------------


def _header(roundup: Roundup, title: str, parts: int) -> dict[str, Any]:
    tally = tally_text(roundup)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(title, HEADER_LIMIT)},
        {"type": "section", "text": _text(_first_line(roundup, tally))},
    ]
    lines = ["*Contents*"]
    budget = SECTION_LIMIT - 200
    topics = [
        f"{_mrkdwn(_topic_label(section), _TOPIC_BUDGET)} ({len(section.entries)})"
        for section in roundup.sections
    ]
    shown = 0
    for line in topics:
        if measure(line) + 1 > budget:
            break
        lines.append(line)
        budget -= measure(line) + 1
        shown += 1
    if shown < len(topics):
        lines.append(f"… and {len(topics) - shown} more topics")
    blocks.append({"type": "section", "text": _text("\n".join(lines))})
    blocks.append(
        {"type": "context", "elements": [_text("The papers are in the thread of this message.")]}
    )
    fallback = f"{roundup_title(roundup)}: {tally}"
    return _message(roundup, 0, parts, fallback, blocks)


def _first_line(roundup: Roundup, tally: str) -> str:
    if roundup.period.kind is RoundupKind.WEEKLY:
        return f"*{period_text(roundup.period)}* · {tally}"
    return tally[0].upper() + tally[1:]  # a digest's title names its day


# --- the sections --------------------------------------------------------------------------


def _pack(section: RoundupSection, before: int) -> tuple[list[list[dict[str, Any]]], int]:
    """The paper blocks of ``section`` in messages, and how many papers did not fit."""
    # Room for the header block, the fallback and the "… and N more" line of each part.
    room = _MESSAGE_BUDGET - 1200
    parts: list[list[dict[str, Any]]] = [[]]
    used = 0
    for index, entry in enumerate(section.entries):
        blocks = _paper_blocks(entry, before + index + 1)
        size = _json_measure(blocks) + 2
        if parts[-1] and (len(parts[-1]) + len(blocks) > MAX_BLOCKS - 2 or used + size > room):
            if len(parts) == MAX_PARTS_PER_SECTION:
                break
            parts.append([])
            used = 0
        parts[-1].extend(blocks)
        used += size
    shown = sum(1 for part in parts for block in part if block["type"] == "section")
    hidden = len(section.entries) - shown
    if hidden:
        log.info("roundup section %r: %d papers not shown", section.topic.key, hidden)
    return parts, hidden


def _section_message(
    roundup: Roundup,
    section: RoundupSection,
    paper_blocks: list[dict[str, Any]],
    position: tuple[int, int],
    hidden: int,
    part: int,
    parts: int,
) -> dict[str, Any]:
    index, of = position
    count = len(section.entries)
    suffix = f" · {count} paper" + ("" if count == 1 else "s")
    if of > 1:
        suffix += f" ({index}/{of})"
    # The topic gives way to the count: a long name is cut, never what follows it.
    label = _plain(_topic_label(section), min(_TOPIC_BUDGET, HEADER_LIMIT - measure(suffix)))
    heading = {"type": "plain_text", "text": label["text"] + suffix, "emoji": True}
    blocks: list[dict[str, Any]] = [{"type": "header", "text": heading}]
    blocks.extend(paper_blocks)
    if hidden and index == of:
        note = f"… and {hidden} more in this topic, not shown here"
        blocks.append({"type": "context", "elements": [_text(note)]})
    fallback = f"{roundup_title(roundup)}: {_topic_label(section)}{suffix}"
    return _message(roundup, part, parts, fallback, blocks)


def _paper_blocks(entry: RoundupEntry, number: int) -> list[dict[str, Any]]:
    title = _mrkdwn(entry.title, _TITLE_BUDGET) or _mrkdwn(f"arXiv:{entry.versioned_id}", 100)
    url = _url(entry.links, "Abstract")
    lines = [f"*{number}. <{url}|{title}>*" if url is not None else f"*{number}. {title}*"]
    tldr = _mrkdwn(entry.tldr, _TLDR_BUDGET)
    if tldr:
        lines.append(tldr)
    for insight in entry.insights[:MAX_INSIGHTS]:
        text = _mrkdwn(insight, _INSIGHT_BUDGET)
        if text:
            lines.append(f"• {text}")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _text("\n".join(lines))}]

    context = [
        _mrkdwn(entry.authors_line, _CONTEXT_BUDGET),
        f"arXiv:{_mrkdwn(entry.versioned_id, 60)}",
        _mrkdwn(entry_signals_text(entry), _CONTEXT_BUDGET),
    ]
    room = _LINKS_BUDGET
    for link in entry.links:
        label = _mrkdwn(link.label, _LINK_LABEL_BUDGET)
        if link.label == "Abstract" or not label or not _usable(link.url):
            continue
        text = f"<{link.url}|{label}>"
        if measure(text) + 3 > room:
            break
        context.append(text)
        room -= measure(text) + 3
    line = " · ".join(part for part in context if part)
    blocks.append({"type": "context", "elements": [_text(line)]})
    return blocks


def _url(links: tuple[Link, ...], label: str) -> str | None:
    for link in links:
        if link.label == label and _usable(link.url):
            return link.url
    return None


def _usable(url: str) -> bool:
    return measure(url) <= _URL_LIMIT and _SAFE_URL.fullmatch(url) is not None
