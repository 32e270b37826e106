"""What every source does to text and dates before they become domain fields.

Titles and abstracts are stored unwrapped but otherwise as sent (LaTeX kept; display cleaning
happens when a card is built); author names and affiliations get their TeX accents decoded.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from bot.core.text import strip_invisible, tex_to_unicode, unwrap

__all__ = ["bulk_build", "iso_utc", "stored_name", "stored_text", "stored_text_or_none"]


def stored_text(text: str) -> str:
    """Invisible characters dropped, whitespace runs (hard wraps) collapsed, otherwise as sent.

    Fast path for the common case, where there is nothing to clean: a printable string holds
    no control, format (zero-width, bidi) or separator character other than the plain space,
    so only doubled or edge spaces could change. Tests pin the equivalence with
    ``unwrap(strip_invisible(text))``.
    """
    if text.isprintable() and "  " not in text and text == text.strip():
        return text
    return unwrap(strip_invisible(text))


def stored_text_or_none(text: str | None) -> str | None:
    if text is None:
        return None
    return stored_text(text) or None


def stored_name(text: str) -> str:
    r"""An author name or affiliation: stored text with TeX accents as Unicode (``Jos\'e``)."""
    text = stored_text(text)
    return tex_to_unicode(text) if "\\" in text else text


def iso_utc(text: str | None) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset) as a UTC-aware datetime; naive means UTC.

    Raises ValueError naming the text when it is not a date.
    """
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


@contextmanager
def bulk_build() -> Iterator[None]:
    """Pause the cyclic garbage collector while a parser builds thousands of records.

    A listing makes some 10,000 small acyclic objects (papers, authors, tuples); the
    collector's young-generation passes over them find nothing to free yet cost about a fifth
    of the parse. Reference counting still frees everything; the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
