"""Roundup -> a self-contained HTML page, and roundups -> an Atom 1.0 feed (pure: no I/O).

The page is what ``GET /roundups/{destination}/{week}`` serves: one HTML5 document with its
CSS inline and a Content-Security-Policy that forbids scripts and every request (no fonts,
images or frames), readable on a phone and a laptop. The feed is what
``GET /roundups/{destination}.atom`` serves: one entry a roundup (RFC 4287).

Paper text comes from arXiv and Hugging Face, so anyone who can submit a paper controls it: each
piece is scrubbed of control and invisible characters and of what XML forbids, bounded, then
escaped (``html.escape`` with quotes, or lxml for the feed). The only addresses a reader can
follow are the entries' own http(s) links, in-page anchors and the feed's; any other link of an
entry (``javascript:``, a malformed address) is shown as text, never as a link.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from lxml import etree

from bot.adapters.roundup_text import ROUNDUP_EMOJI
from bot.core.models import Link, Roundup, RoundupEntry, RoundupKind, Topic, require_utc
from bot.core.roundup import (
    MAX_INSIGHTS,
    contents,
    empty_text,
    entry_signals_text,
    period_text,
    roundup_title,
    tally_text,
)
from bot.core.safety import measure, scrub, truncate

__all__ = [
    "ATOM_CONTENT_TYPE",
    "ATOM_NS",
    "FEED_TOP_PAPERS",
    "HTML_CONTENT_TYPE",
    "page_title",
    "render_roundup_atom",
    "render_roundup_html",
    "safe_url",
]

log = logging.getLogger(__name__)

HTML_CONTENT_TYPE = "text/html; charset=utf-8"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_TOP_PAPERS = 5  # papers a feed entry names, best first

# Bounds for text nobody bounded before (a roundup built by bot.core.roundup is well inside
# them): a page stays readable whatever an entry holds.
_TITLE_MAX = 500
_AUTHORS_MAX = 400
_TLDR_MAX = 1_000
_INSIGHT_MAX = 500
_LABEL_MAX = 60  # a link's label
_TOPIC_MAX = 200
_CHANNEL_MAX = 200
_URL_MAX = 2_048
_MAX_LINKS = 6  # an entry built by core has three: abstract, Hugging Face, code

# An address we make a link of: http(s), a host name, IPv4 or [IPv6] host, an optional port,
# then only characters RFC 3986 allows in a path, query and fragment. Anything else is text.
_SAFE_URL = re.compile(
    r"https?://(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
    r"(?:[/?#][A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*)?",
    re.IGNORECASE,
)
# What XML 1.0 forbids that ``scrub`` leaves (noncharacters); HTML calls them parse errors.
_NONCHARACTERS = re.compile(
    "[\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(1, 17))
    + "]"
)

# One sheet for the page, hashed into the CSP so that no other style can apply. System fonts,
# a measure of ~42em, dark mode from the reader's setting, long words and URLs that wrap.
_CSS = """\
:root{color-scheme:light dark;--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg:#fff;\
--card:#f8f9fa;--link:#0b57d0;--accent:#b3261e}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#a8adb3;--line:#3c4043;\
--bg:#131314;--card:#1e1f20;--link:#a8c7fa;--accent:#f2b8b5}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:1.0625rem/1.55 system-ui,\
-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;overflow-wrap:anywhere}
main{max-width:44rem;margin:0 auto;padding:1.25rem 1rem 3rem}
a{color:var(--link);text-underline-offset:.15em}
a:focus-visible{outline:2px solid var(--link);outline-offset:2px;border-radius:2px}
header{border-bottom:1px solid var(--line);padding-bottom:1rem;margin-bottom:1.5rem}
.channel{margin:0;color:var(--muted);font-size:.9rem;letter-spacing:.02em}
h1{font-size:1.6rem;line-height:1.25;margin:.25rem 0 .5rem}
h1 .part{white-space:nowrap}
h1 .period{display:block;font-size:1.05rem;font-weight:500;color:var(--muted);margin-top:.2rem}
.tally,.empty{margin:.25rem 0 0;font-size:1.05rem}
nav h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);\
margin:1rem 0 .4rem}
nav ol{margin:0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:.4rem}
nav li a{display:inline-block;padding:.2rem .6rem;border:1px solid var(--line);\
border-radius:999px;text-decoration:none;font-size:.92rem}
nav .count{color:var(--muted)}
section{margin:0 0 2rem;scroll-margin-top:1rem}
section>h2{font-size:1.25rem;margin:0 0 .75rem;padding-bottom:.3rem;\
border-bottom:2px solid var(--line)}
section>h2 .count{color:var(--muted);font-weight:400}
ol.papers{margin:0;padding:0;list-style:none}
.paper{background:var(--card);border:1px solid var(--line);border-radius:10px;\
padding:.85rem 1rem;margin:0 0 .85rem;scroll-margin-top:1rem}
.paper h3{font-size:1.08rem;line-height:1.35;margin:0 0 .3rem}
.paper h3 .n{color:var(--muted);font-weight:500;margin-right:.35rem}
.paper h3 a{text-decoration:none}
.paper h3 a:hover{text-decoration:underline}
.meta{margin:0 0 .45rem;color:var(--muted);font-size:.9rem}
.signals{white-space:nowrap}
.tldr{margin:0 0 .4rem}
.insights{margin:0 0 .5rem;padding-left:1.2rem}
.insights li{margin:.15rem 0;font-size:.97rem}
.links{margin:0;font-size:.92rem;display:flex;flex-wrap:wrap;gap:.3rem 1rem}
.links .text{color:var(--muted)}
footer{margin-top:2.5rem;padding-top:1rem;border-top:1px solid var(--line);color:var(--muted);\
font-size:.85rem}
@media (max-width:30rem){body{font-size:1rem}h1{font-size:1.35rem}\
.paper{padding:.75rem .8rem;border-radius:8px}main{padding:1rem .75rem 2.5rem}}
@media print{nav,footer{display:none}.paper{break-inside:avoid;border:0;padding:0}}
"""
_EXTERNAL = 'rel="noopener noreferrer"'


# --- shared helpers ------------------------------------------------------------------------


def _line(text: str, limit: int) -> str:
    """``text`` as one clean line within ``limit``: no control, invisible or non-characters.

    Only the head of a huge field is scrubbed; a cut made that way still shows as one.
    """
    head = text[: limit * 4 + 16]
    line = _NONCHARACTERS.sub("", scrub(head)).strip()
    if len(head) < len(text):
        return truncate(line, max(1, min(limit, measure(line) - 1)))
    return truncate(line, limit)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def safe_url(url: str) -> str | None:
    """``url`` if a reader may follow it from our page (an http(s) address of sound form and
    length), else None: such a link is shown as text."""
    if len(url) > _URL_MAX or _SAFE_URL.fullmatch(url) is None:
        return None
    return url


def _abstract(entry: RoundupEntry) -> str | None:
    for link in entry.links:
        if link.label == "Abstract":
            return safe_url(link.url)
    return None


def _label(topic: Topic) -> str:
    return _line(topic.label, _TOPIC_MAX) or "Other"


def _heading(roundup: Roundup) -> tuple[str, str]:
    """The roundup's title and, for a week, its dates (a digest's title names its day)."""
    title = roundup_title(roundup)
    if roundup.period.kind is RoundupKind.WEEKLY:
        return title, period_text(roundup.period)
    return title, ""


def page_title(roundup: Roundup) -> str:
    """ "Weekly roundup · 2026-W24 · 8–14 Jun 2026" or "Daily digest · Fri 12 Jun 2026"."""
    title, dates = _heading(roundup)
    return f"{title} · {dates}" if dates else title


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# --- the page ------------------------------------------------------------------------------


def _csp() -> str:
    """No script, no request of any kind; only our own style sheet applies (by its hash)."""
    digest = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; script-src 'none'; "
        f"style-src 'sha256-{digest}'; img-src 'none'; font-src 'none'; "
        "connect-src 'none'; frame-src 'none'; object-src 'none'; media-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def render_roundup_html(
    roundup: Roundup, *, channel_label: str, feed_url: str | None = None
) -> str:
    """The roundup as one self-contained HTML5 page; an empty roundup says so in one line.

    ``channel_label`` names the channel ("#reading-group"); ``feed_url``, when the channel's
    feed is on, is linked from the head and the footer (an http(s) URL or an absolute path).
    """
    feed = _feed_href(feed_url) if feed_url is not None else None
    title, dates = _heading(roundup)
    channel = _line(channel_label, _CHANNEL_MAX)
    full_title = page_title(roundup)
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_esc(_csp())}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="robots" content="noindex">',
        '<meta name="generator" content="paperwire">',
        f"<title>{_esc(full_title)}{' · ' + _esc(channel) if channel else ''}</title>",
    ]
    if feed is not None:
        feed_title = f"{channel} · roundups" if channel else "Roundups"
        lines.append(
            f'<link rel="alternate" type="application/atom+xml" '
            f'title="{_esc(feed_title)}" href="{_esc(feed)}">'
        )
    lines += [f"<style>{_CSS}</style>", "</head>", "<body>", "<main>", "<header>"]
    if channel:
        lines.append(f'<p class="channel">{_esc(channel)}</p>')
    period = f' <span class="period">{_esc(dates)}</span>' if dates else ""
    parts = " · ".join(f'<span class="part">{_esc(part)}</span>' for part in title.split(" · "))
    lines.append(f"<h1>{ROUNDUP_EMOJI} {parts}{period}</h1>")
    if roundup.is_empty:
        lines.append(f'<p class="empty">{_esc(empty_text(roundup.period))}</p>')
        lines.append("</header>")
    else:
        lines.append(f'<p class="tally">{_esc(_sentence(tally_text(roundup)))}</p>')
        lines.extend(_contents_nav(roundup))
        lines.append("</header>")
        number = 0
        for index, section in enumerate(roundup.sections, start=1):
            lines.extend(_section(index, section.topic, section.entries, number))
            number += len(section.entries)
    lines.extend(_footer(feed))
    lines += ["</main>", "</body>", "</html>", ""]
    return "\n".join(lines)


def _feed_href(feed_url: str) -> str:
    if safe_url(feed_url) is not None:
        return feed_url
    path = feed_url.startswith("/") and not feed_url.startswith("//")
    if path and safe_url(f"http://x{feed_url}") is not None:  # the path part of a URL
        return feed_url
    raise ValueError(f"feed_url must be an http(s) URL or an absolute path, got {feed_url!r}")


def _contents_nav(roundup: Roundup) -> list[str]:
    items = [
        f'<li><a href="#topic-{index}">{_esc(_label(topic))}&nbsp;'
        f'<span class="count">({count})</span></a></li>'
        for index, (topic, count) in enumerate(contents(roundup), start=1)
    ]
    return ['<nav aria-label="Contents">', "<h2>Contents</h2>", "<ol>", *items, "</ol>", "</nav>"]


def _section(
    index: int, topic: Topic, entries: Sequence[RoundupEntry], numbered_before: int
) -> list[str]:
    lines = [
        f'<section id="topic-{index}" aria-labelledby="topic-{index}-h">',
        f'<h2 id="topic-{index}-h">{_esc(_label(topic))}&nbsp;'
        f'<span class="count">({len(entries)})</span></h2>',
        '<ol class="papers">',
    ]
    for offset, entry in enumerate(entries, start=1):
        lines.extend(_paper(numbered_before + offset, entry))
    lines += ["</ol>", "</section>"]
    return lines


def _paper(number: int, entry: RoundupEntry) -> list[str]:
    title = _line(entry.title, _TITLE_MAX) or f"arXiv:{_line(entry.versioned_id, _TITLE_MAX)}"
    abstract = _abstract(entry)
    shown = _esc(title)
    if abstract is not None:
        shown = f'<a href="{_esc(abstract)}" {_EXTERNAL}>{shown}</a>'
    lines = [
        f'<li class="paper" id="paper-{number}">',
        f'<h3><span class="n">{number}.</span>{shown}</h3>',
    ]
    meta = []
    authors = _line(entry.authors_line, _AUTHORS_MAX)
    if authors:
        meta.append(f'<span class="authors">{_esc(authors)}</span>')
    signals = entry_signals_text(entry)
    if signals:
        meta.append(f'<span class="signals">{_esc(signals)}</span>')
    if meta:
        lines.append(f'<p class="meta">{" · ".join(meta)}</p>')
    tldr = _line(entry.tldr, _TLDR_MAX)
    if tldr:
        lines.append(f'<p class="tldr">{_esc(tldr)}</p>')
    insights: list[str] = []
    for insight in entry.insights:
        text = _line(insight, _INSIGHT_MAX)
        if text:
            insights.append(f"<li>{_esc(text)}</li>")
        if len(insights) == MAX_INSIGHTS:
            break
    if insights:
        lines.append(f'<ul class="insights">{"".join(insights)}</ul>')
    links = _links(entry.links)
    if links:
        lines.append(f'<p class="links">{"".join(links)}</p>')
    lines.append("</li>")
    return lines


def _links(links: Iterable[Link]) -> list[str]:
    """Each link once by its label: an anchor when its address is safe, else shown as text."""
    out: list[str] = []
    seen: set[str] = set()
    for link in links:
        label = _line(link.label, _LABEL_MAX) or "Link"
        if label in seen or len(seen) == _MAX_LINKS:
            continue
        seen.add(label)
        url = safe_url(link.url)
        if url is not None:
            out.append(f'<a href="{_esc(url)}" {_EXTERNAL}>{_esc(label)}</a>')
            continue
        text = _line(link.url, 200)
        if text:
            out.append(f'<span class="text">{_esc(label)}: {_esc(text)}</span>')
    return out


def _footer(feed: str | None) -> list[str]:
    parts = ["Compiled by paperwire from the papers this channel received."]
    if feed is not None:
        parts.append(
            f'<a href="{_esc(feed)}" rel="alternate" type="application/atom+xml">Atom feed</a>'
        )
    return ["<footer>", f"<p>{' · '.join(parts)}</p>", "</footer>"]


# --- the feed ------------------------------------------------------------------------------


def _atom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _absolute(url: str, what: str) -> str:
    if safe_url(url) is None:
        raise ValueError(f"{what} must be an absolute http(s) URL, got {url[:200]!r}")
    return url


def render_roundup_atom(
    roundups: Sequence[Roundup],
    *,
    channel_label: str,
    feed_url: str,
    page_url: Callable[[Roundup], str],
    updated: datetime,
) -> bytes:
    """An Atom 1.0 feed of ``roundups``, one entry each in the order given (newest first).

    ``feed_url`` is the feed's own address and id; ``page_url`` gives each roundup's page,
    which is also its entry's id (stable: a roundup keeps its address). An entry is updated
    at its period's end, or at ``updated`` (UTC) for a period still running.
    """
    require_utc(updated, "updated")
    _absolute(feed_url, "feed_url")
    channel = _line(channel_label, _CHANNEL_MAX)

    def sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> None:
        child = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrib)
        child.text = text

    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    sub(feed, "id", feed_url)
    sub(feed, "title", f"Paper roundups · {channel}" if channel else "Paper roundups")
    sub(feed, "subtitle", "The best papers this channel received, grouped by topic.")
    sub(feed, "updated", _atom_time(updated))
    author = etree.SubElement(feed, f"{{{ATOM_NS}}}author")
    sub(author, "name", "paperwire")
    sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    sub(feed, "generator", "paperwire")
    for roundup in roundups:
        page = _absolute(page_url(roundup), "page_url(roundup)")
        entry = etree.SubElement(feed, f"{{{ATOM_NS}}}entry")
        sub(entry, "id", page)
        sub(entry, "title", page_title(roundup))
        sub(entry, "updated", _atom_time(min(roundup.period.end, updated)))
        sub(entry, "link", rel="alternate", type="text/html", href=page)
        sub(entry, "summary", _feed_summary(roundup), type="text")
        if not roundup.is_empty:
            sub(entry, "content", _feed_content(roundup, page), type="html")
    log.debug("atom feed %s: %d entries", feed_url, len(roundups))
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="utf-8"))


def _feed_summary(roundup: Roundup) -> str:
    if roundup.is_empty:
        return empty_text(roundup.period)
    topics = " · ".join(f"{_label(topic)} ({count})" for topic, count in contents(roundup))
    return f"{_sentence(tally_text(roundup))} Contents: {topics}"


def _top(roundup: Roundup) -> list[RoundupEntry]:
    """The roundup's best papers, by score (reading order breaks ties)."""
    entries = [entry for section in roundup.sections for entry in section.entries]
    order = sorted(range(len(entries)), key=lambda i: (-entries[i].score, i))
    return [entries[i] for i in order[:FEED_TOP_PAPERS]]


def _feed_content(roundup: Roundup, page: str) -> str:
    """An HTML fragment (escaped again by lxml): the tally, the contents, the top papers."""
    items = []
    for entry in _top(roundup):
        title = _line(entry.title, _TITLE_MAX) or f"arXiv:{_line(entry.versioned_id, 100)}"
        abstract = _abstract(entry)
        shown = _esc(title)
        if abstract is not None:
            shown = f'<a href="{_esc(abstract)}">{shown}</a>'
        tldr = _line(entry.tldr, _TLDR_MAX)
        items.append(f"<li>{shown}{' — ' + _esc(tldr) if tldr else ''}</li>")
    topics = " · ".join(f"{_label(topic)} ({count})" for topic, count in contents(roundup))
    return (
        f"<p>{_esc(_sentence(tally_text(roundup)))}</p>"
        f"<p>Contents: {_esc(topics)}</p>"
        f"<p>Top papers:</p><ol>{''.join(items)}</ol>"
        f'<p><a href="{_esc(page)}">Read the whole roundup</a></p>'
    )
