"""The arXiv listing feed (rss.arxiv.org): one poll per cycle, parsed into domain Papers.

What the feed gives, and what we make of it:
- the version lives only in ``<guid>`` (``oai:arXiv.org:2411.17700v1``) and the description;
- ``arxiv:announce_type`` (new, cross, replace, replace-cross, absonly) is kept on the record;
- authors come as ONE ``dc:creator`` string with TeX escapes and parenthesised affiliations
  that contain commas, so it is split at top-level commas only;
- ``pubDate`` is the announcement date (midnight US Eastern), not a submission time: it is
  the first version's date only for ``new`` items, and this version's date for new and
  replace items; cross-lists get neither (the feed does not say when that version appeared);
- no primary category and no comment: categories are kept in feed order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache

from lxml import etree

from bot.adapters.sources._http import HttpClient
from bot.adapters.sources._normalise import (
    bulk_build,
    stored_name,
    stored_text,
    stored_text_or_none,
)
from bot.adapters.sources._xml import BrokenRecord, parse_records
from bot.core.ids import InvalidArxivId, parse_arxiv_id
from bot.core.models import AnnounceType, Author, Paper, PollState
from bot.services.ports import (
    FetchResult,
    Rejected,
    SourceBadResponse,
    SourceRequestRejected,
)

__all__ = ["ArxivRssSource", "parse_listing", "split_creators"]

log = logging.getLogger(__name__)

SOURCE = "arxiv"
_ARXIV_NS = "http://arxiv.org/schemas/atom"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_ANNOUNCE = f"{{{_ARXIV_NS}}}announce_type"
_DOI = f"{{{_ARXIV_NS}}}DOI"
_JOURNAL = f"{{{_ARXIV_NS}}}journal_reference"
_CREATOR = f"{{{_DC_NS}}}creator"
_GUID_PREFIX = "oai:arXiv.org:"
_FEED_ERROR = "Feed error for query"
_SPLIT_MARKS = re.compile(r"[(){},]")
_PARENS = re.compile(r"[()]")
_ANNOUNCE_TYPES = {t.value: t for t in AnnounceType}
# The announcement date is this version's date only when this version is what was announced.
_DATES_THIS_VERSION = (AnnounceType.NEW, AnnounceType.REPLACE, AnnounceType.REPLACE_CROSS)
_SOURCES = frozenset({SOURCE})
_READ = frozenset(
    {"guid", "link", "title", "description", "pubDate", _ANNOUNCE, _CREATOR, _DOI, _JOURNAL}
)


def parse_listing(data: bytes) -> FetchResult:
    """Parse an rss.arxiv.org listing into papers and rejected items (pure: bytes in).

    An item that is not well-formed XML on its own (one invalid UTF-8 byte) is rejected with
    the reason, and the others kept. Raises SourceRequestRejected for arXiv's feed-error
    channel and SourceBadResponse for anything that is not an RSS listing.
    """
    root, broken = parse_records(
        data,
        source=SOURCE,
        what="arXiv RSS feed",
        record="item",
        where="the listing URL",
        setting="PAPERWIRE_ARXIV_RSS_URL",
    )
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise SourceBadResponse(SOURCE, f"expected an RSS <rss><channel>, got <{_tag(root)}>")
    title = (channel.findtext("title") or "").strip()
    if title.startswith(_FEED_ERROR):
        detail = stored_text(channel.findtext("description") or "") or title
        raise SourceRequestRejected(SOURCE, f"arXiv says: {detail}")

    papers: dict[str, Paper] = {}
    rejected = [_broken_item(b) for b in broken]
    with bulk_build():
        for item in channel.iterfind("item"):
            outcome = _parse_item(item)
            if isinstance(outcome, Rejected):
                rejected.append(outcome)
                continue
            earlier = papers.get(outcome.arxiv_id)
            if earlier is None or outcome.version > earlier.version:
                papers[outcome.arxiv_id] = outcome
    for bad in rejected:
        log.warning("arxiv rss: rejected %s: %s", bad.identifier, bad.reason)
    note = _empty_note(channel) if not papers and not rejected else None
    return FetchResult(papers=tuple(papers.values()), rejected=tuple(rejected), note=note)


def _broken_item(broken: BrokenRecord) -> Rejected:
    label = broken.text_of("guid") or broken.text_of("link") or f"(item at byte {broken.offset})"
    return Rejected(label, broken.reason)


def _fields(item: etree._Element) -> tuple[dict[str, str], list[str]]:
    """One pass over an item's children: the text of the tags we read (first wins), categories."""
    fields: dict[str, str] = {}
    categories: list[str] = []
    for child in item:
        tag = child.tag
        if tag == "category":
            text = child.text
            if text and not text.isspace():
                categories.append(text.strip())
        elif tag in _READ and tag not in fields:
            fields[tag] = child.text or ""
    return fields, categories


def _parse_item(item: etree._Element) -> Paper | Rejected:
    fields, categories = _fields(item)
    guid = fields.get("guid", "").strip()
    label = guid or fields.get("link", "").strip() or "(item without guid)"
    head, _, abstract = fields.get("description", "").partition("Abstract:")
    head_words = head.split(None, 1)
    described = head_words[0] if head_words and head_words[0].startswith("arXiv:") else ""
    raw_id = guid.removeprefix(_GUID_PREFIX) if guid else described
    try:
        parsed = parse_arxiv_id(raw_id)
    except InvalidArxivId as exc:
        return Rejected(label, f"not an arXiv id ({exc.reason})")
    version = parsed.version
    if version is None and described:
        try:
            version = parse_arxiv_id(described).version
        except InvalidArxivId:
            version = None
    if version is None:
        return Rejected(label, "no version in the guid or the description")

    title = stored_text(fields.get("title", ""))
    if not title:
        return Rejected(label, "empty title")

    announce_text = fields.get(_ANNOUNCE, "").strip().lower()
    if not announce_text and "Announce Type:" in head:
        announce_text = (head.split("Announce Type:", 1)[1].split() or [""])[0].lower()
    announce = _ANNOUNCE_TYPES.get(announce_text)
    if announce is None and announce_text:
        log.info("arxiv rss: unknown announce type %r on %s", announce_text, label)

    try:
        announced = _rfc822(fields.get("pubDate"))
    except ValueError as exc:
        return Rejected(label, f"bad pubDate: {exc}")
    published = announced if announce is AnnounceType.NEW else None
    updated = announced if announce in _DATES_THIS_VERSION else None

    return Paper(
        arxiv_id=parsed.id,
        version=version,
        title=title,
        abstract=stored_text(abstract.strip()),
        authors=split_creators(fields.get(_CREATOR, "")),
        categories=tuple(dict.fromkeys(categories)),
        published=published,
        updated=updated,
        announce_type=announce,
        doi=stored_text_or_none(fields.get(_DOI)),
        journal_ref=stored_text_or_none(fields.get(_JOURNAL)),
        sources=_SOURCES,
    )


def split_creators(creators: str) -> tuple[Author, ...]:
    """Split arXiv's one ``dc:creator`` string into authors with their affiliations.

    Commas inside parentheses (affiliations, even nested) or TeX braces do not split; the
    parenthesised text of each author becomes its affiliation; TeX accents become Unicode.
    """
    # Most creator strings have nothing to clean: check once, not once per author.
    clean = creators.isprintable() and "  " not in creators and "\\" not in creators
    authors: list[Author] = []
    for chunk in _top_level_split(creators):
        if "(" in chunk:
            # Cutting the affiliation out can leave doubled spaces: always clean these names.
            name, affiliation = _name_and_affiliation(chunk)
            name = stored_name(name)
            if affiliation is not None:
                affiliation = affiliation if clean else stored_name(affiliation) or None
        else:
            affiliation = None
            name = chunk.strip()
            if not clean:
                name = stored_name(name)
        if name:
            authors.append(Author(name, affiliation))
    return tuple(authors)


def _top_level_split(text: str) -> list[str]:
    if "(" not in text and "{" not in text:
        return text.split(",")
    parts: list[str] = []
    depth = 0
    braces = 0
    start = 0
    for match in _SPLIT_MARKS.finditer(text):
        char = match.group()
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "{":
            braces += 1
        elif char == "}":
            braces = max(0, braces - 1)
        elif depth == 0 and braces == 0:  # a comma
            index = match.start()
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _name_and_affiliation(chunk: str) -> tuple[str, str | None]:
    """``Jane Doe (MIT, CSAIL)`` -> (``Jane Doe``, ``MIT, CSAIL``); nested parens stay inside."""
    if "(" not in chunk:
        return chunk, None
    name: list[str] = []
    groups: list[str] = []
    depth = 0
    outside = 0  # where the text outside parentheses resumes
    inside = 0  # where the current top-level group's text starts
    for match in _PARENS.finditer(chunk):
        index = match.start()
        if match.group() == "(":
            if depth == 0:
                name.append(chunk[outside:index])
                inside = index + 1
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                groups.append(chunk[inside:index].strip())
                outside = index + 1
    if depth > 0:  # an unclosed parenthesis: what follows it is the affiliation
        groups.append(chunk[inside:].strip())
    else:
        name.append(chunk[outside:])
    affiliation = "; ".join(g for g in groups if g) or None
    return "".join(name), affiliation


def _empty_note(channel: etree._Element) -> str:
    skip_days = [(day.text or "").strip() for day in channel.iterfind("skipDays/day") if day.text]
    built_text = channel.findtext("lastBuildDate")
    try:
        built = _rfc822(built_text)
    except ValueError:
        built = None
    built_day = built.strftime("%A") if built is not None else None
    when = f" (feed built {built:%A %Y-%m-%d %H:%M} UTC)" if built is not None else ""
    if built_day is not None and built_day in skip_days:
        days = " and ".join(_week_order(skip_days))
        return f"arXiv announces nothing on {days}: the feed is empty{when}"
    return f"the feed has no items{when}"


def _week_order(days: Sequence[str]) -> list[str]:
    order = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    return sorted(days, key=lambda d: order.index(d) if d in order else len(order))


@lru_cache(maxsize=64)  # every item of a listing carries the same announcement date
def _rfc822(text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"{text!r} is not an RFC 822 date") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _tag(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else "?"


class ArxivRssSource:
    """Polls ``{rss_url}/{cat1}+{cat2}...`` conditionally (ETag / Last-Modified from PollState)."""

    def __init__(self, rss_url: str, http: HttpClient, categories: Sequence[str]) -> None:
        if not categories:
            raise ValueError("ArxivRssSource needs at least one category")
        self._url = f"{rss_url.rstrip('/')}/{'+'.join(categories)}"
        self._http = http

    @property
    def name(self) -> str:
        return SOURCE

    @property
    def url(self) -> str:
        return self._url

    async def poll(self, state: PollState, *, today: date) -> FetchResult:
        response = await self._http.get(
            self._url, source=SOURCE, etag=state.etag, last_modified=state.last_modified
        )
        if response.not_modified:
            return FetchResult(
                not_modified=True,
                etag=response.etag or state.etag,
                last_modified=response.last_modified or state.last_modified,
                note="the feed has not changed since the last poll (304)",
            )
        parsed = parse_listing(response.content)
        return FetchResult(
            papers=parsed.papers,
            rejected=parsed.rejected,
            etag=response.etag,
            last_modified=response.last_modified,
            note=parsed.note,
        )
