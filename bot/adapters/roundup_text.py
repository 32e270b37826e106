"""Roundup -> plain text for a terminal, and -> a plain JSON-ready dict (pure).

The text is what ``paperwire roundup --dry-run`` and the console show: the title and period,
the tally, the contents line, then each topic with its papers numbered in reading order, each
with its authors and signals, one-line TL;DR, key insights and links. Paper text is scrubbed
of control and invisible characters (no terminal escape sequences get through). The dict is
what ``--format json`` prints: every field a renderer uses, in plain types.
"""

from __future__ import annotations

import textwrap
from typing import Any

from bot.core.models import Roundup, RoundupEntry, RoundupKind, Topic
from bot.core.roundup import (
    contents,
    empty_text,
    entry_signals_text,
    period_text,
    roundup_title,
    tally_text,
)
from bot.core.safety import scrub

__all__ = ["ROUNDUP_EMOJI", "render_roundup_text", "roundup_json"]

ROUNDUP_EMOJI = "📰"
_INDENT = "    "


def render_roundup_text(roundup: Roundup, *, width: int = 88) -> str:
    """The roundup as plain text, wrapped to ``width``; an empty roundup is one line."""
    title = f"{ROUNDUP_EMOJI} {roundup_title(roundup)}"
    if roundup.is_empty:
        return f"{title} · {empty_text(roundup.period)}"
    wrap = textwrap.TextWrapper(width=width, break_long_words=False, break_on_hyphens=False)
    weekly = roundup.period.kind is RoundupKind.WEEKLY  # a digest's title names its day
    lines = [f"{title} · {period_text(roundup.period)}" if weekly else title]
    tally = tally_text(roundup)
    lines.append(tally[0].upper() + tally[1:] + ".")
    lines.append("")
    topics = [f"{_label(topic)} ({count})" for topic, count in contents(roundup)]
    topics[0] = f"Contents: {topics[0]}"
    lines.extend(_joined(topics, width, ""))
    number = 0
    for section in roundup.sections:
        heading = f"{_label(section.topic)} ({len(section.entries)})"
        lines.extend(["", "", heading, "─" * min(width, max(len(heading), 40))])
        for entry in section.entries:
            number += 1
            lines.append("")
            lines.extend(_entry_lines(entry, number, wrap, width))
    return "\n".join(lines)


def _label(topic: Topic) -> str:
    return _clean(topic.label) or "Other"


def _clean(text: str) -> str:
    return scrub(text).strip()


def _entry_lines(
    entry: RoundupEntry, number: int, wrap: textwrap.TextWrapper, width: int
) -> list[str]:
    first = f"{number:>2}. "
    title = textwrap.TextWrapper(
        width=width,
        initial_indent=first,
        subsequent_indent=_INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )
    body = textwrap.TextWrapper(
        width=width,
        initial_indent=_INDENT,
        subsequent_indent=_INDENT,
        break_long_words=False,
        break_on_hyphens=False,
    )
    bullet = textwrap.TextWrapper(
        width=width,
        initial_indent=_INDENT + "• ",
        subsequent_indent=_INDENT + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    lines = title.wrap(_clean(entry.title) or f"arXiv:{_clean(entry.versioned_id)}")
    meta = [_clean(entry.authors_line), *entry_signals_text(entry).split(" · ")]
    lines.extend(_joined([part for part in meta if part], width, _INDENT))
    tldr = _clean(entry.tldr)
    if tldr:
        lines.extend(body.wrap(tldr))
    for insight in entry.insights:
        text = _clean(insight)
        if text:
            lines.extend(bullet.wrap(text))
    for link in entry.links:
        label, url = _clean(link.label), _clean(link.url)
        if label and url:
            lines.append(f"{_INDENT}{label}: {url}")
    return lines


def _joined(items: list[str], width: int, indent: str, separator: str = " · ") -> list[str]:
    """``items`` joined by ``separator`` into lines of ``width``, breaking between items
    rather than inside one (an item longer than a line is wrapped on its own)."""
    lines: list[str] = []
    line = ""
    for item in items:
        candidate = f"{line}{separator}{item}" if line else f"{indent}{item}"
        if line and len(candidate) > width:
            lines.append(line + separator.rstrip())
            candidate = f"{indent}{item}"
        if len(candidate) > width:
            wrapped = textwrap.wrap(
                candidate,
                width=width,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            lines.extend(wrapped[:-1])
            candidate = wrapped[-1] if wrapped else ""
        line = candidate
    if line:
        lines.append(line)
    return lines


def roundup_json(roundup: Roundup) -> dict[str, Any]:
    """The roundup as plain JSON types (strings, numbers, lists, dicts), in display order."""
    period = roundup.period
    return {
        "title": roundup_title(roundup),
        "kind": period.kind.value,
        "period": period.label,
        "period_text": period_text(period),
        "timezone": period.timezone,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "destination_id": roundup.destination_id,
        "total_candidates": roundup.total_candidates,
        "papers": roundup.paper_count,
        "summary": empty_text(period) if roundup.is_empty else tally_text(roundup),
        "contents": [{**_topic_json(topic), "count": count} for topic, count in contents(roundup)],
        "sections": [
            {
                "topic": _topic_json(section.topic),
                "papers": [_entry_json(entry) for entry in section.entries],
            }
            for section in roundup.sections
        ],
    }


def _topic_json(topic: Topic) -> dict[str, Any]:
    return {"key": topic.key, "name": topic.name, "emoji": topic.emoji}


def _entry_json(entry: RoundupEntry) -> dict[str, Any]:
    return {
        "arxiv_id": entry.arxiv_id,
        "version": entry.version,
        "title": entry.title,
        "authors": entry.authors_line,
        "tldr": entry.tldr,
        "insights": list(entry.insights),
        "links": [{"label": link.label, "url": link.url} for link in entry.links],
        "upvotes": entry.upvotes,
        "comments": entry.comments,
        "matches": entry.matches,
        "reactions": entry.reactions,
        "first_seen": entry.first_seen.isoformat(),
        "score": round(entry.score, 4),
    }
