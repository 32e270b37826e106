"""Secrets never survive redaction, in any form a server might echo them."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.redact import MASK, Redactor

TOKEN = "MTEwMDAw.fake+token/with=signs"


@pytest.mark.parametrize(
    "echo",
    [
        f"401: Unauthorized (Authorization: Bot {TOKEN})",
        f"GET https://example.org/x?key={quote(TOKEN, safe='')}",
        f"form body token={quote_plus(TOKEN)}",
        json.dumps({"echo": TOKEN + '"quoted'}),
        f"{TOKEN}{TOKEN}",
    ],
)
def test_every_form_of_a_secret_is_masked(echo: str) -> None:
    redacted = Redactor([TOKEN])(echo)
    assert "fake" not in redacted
    assert MASK in redacted


def test_no_secrets_leaves_text_alone() -> None:
    redact = Redactor([None or "", "abc"])  # empty and too-short values are not secrets
    assert not redact
    assert redact("abc def") == "abc def"


def test_a_secret_containing_another_is_masked_whole() -> None:
    redact = Redactor(["secret-part", "secret-part-and-more"])
    assert redact("x secret-part-and-more y") == f"x {MASK} y"


def test_repr_hides_the_secrets() -> None:
    assert TOKEN not in repr(Redactor([TOKEN]))


@given(st.text(), st.text(min_size=6, alphabet=st.characters(codec="utf-8")))
def test_redacted_text_never_contains_the_secret(prefix: str, secret: str) -> None:
    text = prefix + secret + prefix
    assert secret not in Redactor([secret])(text) or secret in MASK
