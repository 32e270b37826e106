"""The console publisher: cards printed to the terminal, for a bot with no chat token yet."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from typing import TextIO

from bot.adapters.roundup_text import render_roundup_text
from bot.core.cards import categories_text, dates_text, signals_text, tldr_credit
from bot.core.models import Card, DestinationRef, Roundup

__all__ = ["ConsolePublisher", "render_text"]


def render_text(card: Card, *, width: int = 88) -> str:
    """A card as plain text for a terminal."""
    wrap = textwrap.TextWrapper(width=width, break_long_words=False, break_on_hyphens=False)
    bullet = textwrap.TextWrapper(
        width=width, initial_indent="  • ", subsequent_indent="    ", break_long_words=False
    )
    primary, cross = categories_text(card)
    meta = [f"arXiv:{card.versioned_id}", primary, cross, dates_text(card), card.topic.label]
    lines = [*wrap.wrap(card.title), card.authors_line, " · ".join(m for m in meta if m)]
    signals = signals_text(card)
    if signals:
        lines.append(signals)
    # An abstract can yield no TL;DR (an empty or withdrawn one): then there is no TL;DR line.
    summary: list[str] = []
    if card.tldr:
        credit = tldr_credit(card)
        summary.extend(wrap.wrap(f"TL;DR: {card.tldr}" + (f" ({credit})" if credit else "")))
    for point in card.key_points:
        summary.extend(bullet.wrap(point))
    if summary:
        lines.extend(["", *summary])
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

    # --- ports.RoundupPublisher: the whole roundup as one printout ---------------------------

    def roundup_parts(self, roundup: Roundup) -> int:
        return 1

    async def post_roundup_part(
        self,
        ref: DestinationRef,
        roundup: Roundup,
        part: int,
        *,
        header: str | None,
        thread: str | None,
        nonce: str,
    ) -> tuple[str, str | None]:
        stream = self._stream or sys.stdout
        stream.write(f"{'═' * 88}\n{render_roundup_text(roundup)}\n")
        stream.flush()
        return f"console:{nonce}", None

    async def find_roundup_part(
        self,
        ref: DestinationRef,
        roundup: Roundup,
        part: int,
        *,
        header: str | None,
        thread: str | None,
        nonce: str,
    ) -> str | None:
        return None

    async def reactions(self, ref: DestinationRef, message_ids: Sequence[str]) -> dict[str, int]:
        return {}  # a terminal has no reactions
