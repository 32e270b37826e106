"""Secrets out of text: what a remote server echoes back must not reach a log, a row or a chat.

A server that repeats our ``Authorization`` header in its error page, or a library that puts
the request URL (with a key in it) into its exception, would otherwise carry a token into
``paused_reason``, ``paperwire status`` or the log. ``Redactor`` replaces every configured
secret, and the forms it takes on the wire (URL-encoded, JSON-escaped), with ``**********``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "MIN_SECRET_LENGTH", "Redactor"]

MASK = "**********"
# Shorter values (a client id like "123", a test stub) would blank ordinary words.
MIN_SECRET_LENGTH = 6


class Redactor:
    """Callable: ``redact(text)`` is ``text`` with every secret masked. No secrets: identity."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) < MIN_SECRET_LENGTH:
                continue
            forms.update(
                (secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1])
            )
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __repr__(self) -> str:
        return "Redactor(**********)"

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)
