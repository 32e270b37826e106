"""Paper -> Card: what a channel reads about one paper, before any platform shapes it (pure).

The card holds display text (cleaned of LaTeX, entities and stray markup, but not escaped:
each renderer escapes for its own platform) and bounded sizes, so a hostile or broken record
(a 100k-character title, 5,000 authors) still makes a small card. The helpers at the bottom
phrase the parts every renderer shows the same way (categories, dates, signals).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime

from bot.core.models import Card, Link, Paper, Summary, Topic
from bot.core.safety import measure, scrub, truncate
from bot.core.text import clean_abstract, clean_title

__all__ = [
    "AUTHORS_SHOWN",
    "MAX_KEY_POINTS",
    "authors_line",
    "build_card",
    "categories_text",
    "dates_text",
    "format_date",
    "signals_text",
    "tldr_credit",
]

log = logging.getLogger(__name__)

AUTHORS_SHOWN = 3
MAX_KEY_POINTS = 3
# Bounds on card text (in UTF-16 units, like ``measure``): far above any real arXiv title,
# TL;DR or name, far below what would trouble a renderer.
_TITLE_MAX = 500
_TLDR_MAX = 1000
_POINT_MAX = 400
_NAME_MAX = 100
_CATEGORY_MAX = 32
_URL_MAX = 512

# arXiv renders HTML for papers submitted from December 2023 on; ar5iv has the older ones.
_ARXIV_HTML_SINCE = "2312"
_NEW_STYLE_ID = re.compile(r"([0-9]{4})\.[0-9]{4,5}")
_WEB_URL = re.compile(r"https?://[^\s<>|\"'`\\]+")

# Who wrote the TL;DR, by summarizer tier: readers should know when a machine summarised.
_TLDR_CREDITS = {
    "llm": "TL;DR by an LLM",
    "hf": "TL;DR by Hugging Face",
    "s2": "TL;DR by Semantic Scholar",
    "extractive": "TL;DR from the abstract",
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def build_card(paper: Paper, summary: Summary, topic: Topic) -> Card:
    """The card for ``paper`` with the TL;DR and key points of ``summary`` and its ``topic``."""
    names, count = _author_names(paper)
    hf, s2 = paper.hf, paper.s2
    code_url = _clean_url(hf.github_repo) if hf is not None and hf.github_repo else None
    points = (_bounded(point, _POINT_MAX, clean_abstract) for point in summary.key_points)
    return Card(
        arxiv_id=paper.arxiv_id,
        version=paper.version,
        title=_bounded(paper.title, _TITLE_MAX, clean_title),
        authors_line=authors_line(names, count),
        author_count=count,
        primary_category=_category(paper.primary_category),
        cross_lists=_cross_lists(paper.categories),
        published=paper.published,
        updated=paper.updated,
        tldr=_bounded(summary.tldr, _TLDR_MAX, clean_abstract),
        tldr_source=summary.tier,
        key_points=tuple(point for point in points if point)[:MAX_KEY_POINTS],
        topic=topic,
        links=_links(paper, code_url),
        upvotes=hf.upvotes if hf is not None else None,
        comments=hf.comments if hf is not None else None,
        code_url=code_url,
        citation_count=s2.citation_count if s2 is not None else None,
    )


def authors_line(names: Iterable[str], count: int | None = None) -> str:
    """ "A", "A and B", "A, B and C", or the first three then "et al. (N authors)"."""
    shown = list(names)
    total = len(shown) if count is None else max(count, len(shown))
    shown = shown[:AUTHORS_SHOWN]
    if total > AUTHORS_SHOWN:
        return f"{', '.join(shown)} et al. ({total} authors)"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _author_names(paper: Paper) -> tuple[list[str], int]:
    """The first three display names, and how many authors have a name at all."""
    named = [author.name for author in paper.authors if scrub(author.name).strip()]
    shown: list[str] = []
    for raw in named:
        name = _bounded(raw, _NAME_MAX, clean_title)
        if name:
            shown.append(name)
        if len(shown) == AUTHORS_SHOWN:
            break
    return shown, len(named)


def _bounded(raw: str, limit: int, clean: Callable[[str], str]) -> str:
    """``clean(raw)`` within ``limit``, without cleaning megabytes of a hostile field."""
    head = raw[: limit * 4]  # cleaning only shortens LaTeX and entities, never by 4x overall
    text = scrub(clean(head)).strip()
    if len(head) < len(raw):  # the rest was dropped: make the cut show
        return truncate(text, max(1, min(limit, measure(text) - 1)))
    return truncate(text, limit)


def _category(category: str | None) -> str | None:
    if category is None:
        return None
    return scrub(category).strip()[:_CATEGORY_MAX] or None


def _cross_lists(categories: tuple[str, ...]) -> tuple[str, ...]:
    """The categories after the primary, without repeats or blanks."""
    if not categories:
        return ()
    seen = {_category(categories[0])}
    cross: list[str] = []
    for raw in categories[1:]:
        category = _category(raw)
        if category and category not in seen:
            seen.add(category)
            cross.append(category)
    return tuple(cross)


def _html_url(paper: Paper) -> str:
    """arXiv's own HTML for papers from December 2023 on; ar5iv's rendering before that."""
    match = _NEW_STYLE_ID.fullmatch(paper.arxiv_id)
    if match and match.group(1) >= _ARXIV_HTML_SINCE:
        return paper.html_url
    return f"https://ar5iv.labs.arxiv.org/html/{paper.arxiv_id}"


def _links(paper: Paper, code_url: str | None) -> tuple[Link, ...]:
    links = [
        Link("Abstract", paper.abs_url),
        Link("PDF", paper.pdf_url),
        Link("HTML", _html_url(paper)),
    ]
    if paper.hf_url is not None:
        links.append(Link("Hugging Face", paper.hf_url))
    if code_url is not None:
        links.append(Link("Code", code_url))
    return tuple(links)


def _clean_url(url: str) -> str | None:
    """``url`` when it is a plain http(s) address a button can carry, else None."""
    url = url.strip()
    if len(url) > _URL_MAX or not url.isascii() or not _WEB_URL.fullmatch(url):
        log.debug("ignoring unusable code URL %.80r", url)
        return None
    return url


# --- Phrases every renderer shows the same way ---------------------------------------------


def format_date(moment: datetime) -> str:
    """``11 Jun 2026``: unambiguous in every locale, and short."""
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def dates_text(card: Card) -> str:
    """ "Submitted 11 Jun 2026 · v2 12 Jun 2026", or whatever part of it is known."""
    parts: list[str] = []
    if card.published is not None:
        parts.append(f"Submitted {format_date(card.published)}")
    if card.updated is not None and (
        card.published is None or card.updated.date() != card.published.date()
    ):
        parts.append(f"v{card.version} {format_date(card.updated)}")
    return " · ".join(parts)


def categories_text(card: Card) -> tuple[str, str]:
    """The primary category, and the cross-lists joined with " · " (either may be empty)."""
    return card.primary_category or "", " · ".join(card.cross_lists)


def signals_text(card: Card) -> str:
    """ "▲ 103 upvotes · 💬 4 comments · 12 citations · code", or "" when nothing is known."""
    parts: list[str] = []
    if card.upvotes is not None:
        parts.append(f"▲ {_count(card.upvotes, 'upvote')}")
    if card.comments:
        parts.append(f"💬 {_count(card.comments, 'comment')}")
    if card.citation_count is not None:
        parts.append(f"📚 {_count(card.citation_count, 'citation')}")
    return " · ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def tldr_credit(card: Card) -> str:
    """ "TL;DR by Hugging Face" and the like; "" for no TL;DR or a tier we do not know."""
    return _TLDR_CREDITS.get(card.tldr_source, "") if card.tldr else ""
