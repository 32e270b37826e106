"""The console card: what a terminal shows for a paper, with no empty lines of nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from bot.adapters.console import ConsolePublisher, render_text
from bot.core.cards import build_card
from bot.core.models import Author, Card, DestinationRef, Paper, Platform, Topic
from bot.core.summarize import summarize


def make_card(abstract: str) -> Card:
    """The card the bot builds for a paper with ``abstract``, summarised the offline way."""
    paper = Paper(
        arxiv_id="2403.13043",
        version=1,
        title="Sparse Attention for Long Documents",
        abstract=abstract,
        authors=(Author("Ada Lovelace"), Author("Alan Turing")),
        categories=("cs.CL", "cs.LG"),
        published=datetime(2024, 3, 19, 17, 0, tzinfo=UTC),
    )
    return build_card(paper, summarize(paper.title, abstract), Topic("Efficiency", "⚡", "eff"))


ABSTRACT = (
    "Transformers are slow on long documents. We propose a sparse attention that is three "
    "times faster. It matches dense attention on four benchmarks. Code is released."
)


def test_a_card_shows_its_tldr_with_its_credit_then_its_key_points() -> None:
    card = make_card(ABSTRACT)
    assert card.tldr
    text = render_text(card)
    lines = text.splitlines()
    tldr = next(i for i, line in enumerate(lines) if line.startswith("TL;DR: "))
    assert lines[tldr - 1] == ""
    assert "(TL;DR from the abstract)" in " ".join(lines)
    assert any(line.startswith("  • ") for line in lines[tldr:])


@pytest.mark.parametrize("abstract", ["", "   "])
def test_an_abstract_that_yields_no_tldr_leaves_the_tldr_line_out(abstract: str) -> None:
    card = make_card(abstract)
    assert card.tldr == ""
    text = render_text(card)
    assert "TL;DR" not in text
    # The links follow the header after one empty line, with no empty block between.
    assert "Efficiency\n\nAbstract: https://arxiv.org/abs/2403.13043\n" in text


async def test_the_console_publisher_prints_the_card_under_a_rule() -> None:
    stream = io.StringIO()
    card = make_card("")
    message_id = await ConsolePublisher(stream).publish(
        DestinationRef(Platform.CONSOLE, "", ""), card, nonce="n1"
    )
    assert message_id == "console:n1"
    assert stream.getvalue() == "─" * 88 + "\n" + render_text(card) + "\n"
