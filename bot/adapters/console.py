"""The console publisher: cards printed to the terminal, for a bot with no chat token yet."""

from __future__ import annotations

import sys
import textwrap
from typing import TextIO

from bot.core.models import Card, DestinationRef

__all__ = ["ConsolePublisher", "render_text"]


def render_text(card: Card, *, width: int = 88) -> str:
    """A card as plain text for a terminal."""
    wrap = textwrap.TextWrapper(width=width, break_long_words=False, break_on_hyphens=False)
    bullet = textwrap.TextWrapper(
        width=width, initial_indent="  • ", subsequent_indent="    ", break_long_words=False
    )
    lines = [*wrap.wrap(card.title), card.authors_line]
    cats = ", ".join(c for c in (card.primary_category, *card.cross_lists) if c)
    meta = [f"arXiv:{card.versioned_id}"]
    if cats:
        meta.append(cats)
    if card.published:
        meta.append(card.published.date().isoformat())
    meta.append(card.topic.label)
    lines.append(" · ".join(meta))
    signals = []
    if card.upvotes is not None:
        signals.append(f"▲ {card.upvotes} upvotes")
    if card.comments:
        signals.append(f"{card.comments} comments")
    if card.citation_count is not None:
        signals.append(f"{card.citation_count} citations")
    if card.code_url:
        signals.append(f"code: {card.code_url}")
    if signals:
        lines.append(" · ".join(signals))
    lines.append("")
    lines.extend(wrap.wrap(f"TL;DR ({card.tldr_source}): {card.tldr}"))
    for point in card.key_points:
        lines.extend(bullet.wrap(point))
    lines.append("")
    lines.extend(f"{link.label}: {link.url}" for link in card.links)
    return "\n".join(lines)


class ConsolePublisher:
    """ports.Publisher that prints; message ids are the delivery nonce (always unique)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def publish(self, ref: DestinationRef, card: Card, *, nonce: str) -> str:
        stream = self._stream or sys.stdout
        rule = "─" * 88
        stream.write(f"{rule}\n{render_text(card)}\n")
        stream.flush()
        return f"console:{nonce}"

    async def find_existing(self, ref: DestinationRef, card: Card, *, nonce: str) -> str | None:
        # A terminal keeps no history we could search; re-printing a card is harmless.
        return None
