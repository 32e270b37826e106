"""Stored text: the fast path never differs from the cleaning functions of bot.core.text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.sources._normalise import iso_utc, stored_name, stored_text
from bot.core.text import strip_invisible, tex_to_unicode, unwrap

_texty = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(" \t\n\r\x0b\x0c\x85\xa0\u200b\u202e\u2009\ufeff\\'{}e")),
        st.characters(),
    ),
    max_size=60,
)


@given(_texty)
def test_stored_text_is_unwrap_of_strip_invisible(text: str) -> None:
    assert stored_text(text) == unwrap(strip_invisible(text))


@given(_texty)
def test_stored_name_also_decodes_tex(text: str) -> None:
    assert stored_name(text) == tex_to_unicode(unwrap(strip_invisible(text)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Quantum Criticality for Extended Nodes\n  on a Bethe Lattice", None),
        ("a\u200bb", "ab"),
        ("  lead and trail  ", "lead and trail"),
    ],
)
def test_stored_text_examples(text: str, expected: str | None) -> None:
    assert stored_text(text) == (expected or " ".join(text.split()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-04-20T16:07:14Z", datetime(2021, 4, 20, 16, 7, 14, tzinfo=UTC)),
        ("2016-10-09T00:00:00-04:00", datetime(2016, 10, 9, 4, 0, tzinfo=UTC)),
        ("2026-05-30T00:00:00.000Z", datetime(2026, 5, 30, tzinfo=UTC)),
        ("2026-05-30T00:00:00", datetime(2026, 5, 30, tzinfo=UTC)),
        (None, None),
        ("  ", None),
    ],
)
def test_iso_dates_become_utc(text: str | None, expected: datetime | None) -> None:
    assert iso_utc(text) == expected


def test_a_bad_iso_date_names_itself() -> None:
    with pytest.raises(ValueError, match="'last tuesday' is not an ISO 8601 date"):
        iso_utc("last tuesday")
