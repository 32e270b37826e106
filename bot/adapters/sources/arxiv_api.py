"""The arXiv query API (export.arxiv.org/api/query): batched id lookups and search.

Atom in both the modern format and the legacy one (hard-wrapped titles and summaries,
namespaces declared on each element, offsets instead of Z). The 400 error feed (one entry
titled "Error" whose id is ``.../api/errors#...``) is never a paper: it becomes
SourceRequestRejected with arXiv's own words. Ids arXiv does not know are simply absent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

from lxml import etree

from bot.adapters.sources._http import HttpClient
from bot.adapters.sources._normalise import (
    bulk_build,
    iso_utc,
    stored_name,
    stored_text,
    stored_text_or_none,
)
from bot.adapters.sources._xml import BrokenRecord, parse_records
from bot.core.ids import InvalidArxivId, parse_arxiv_id
from bot.core.models import Author, Paper
from bot.services.ports import (
    FetchResult,
    Rejected,
    SourceBadResponse,
    SourceRequestRejected,
)

__all__ = ["MAX_IDS_PER_REQUEST", "ArxivApiSource", "parse_api_feed", "to_search_query"]

log = logging.getLogger(__name__)

SOURCE = "arxiv"
MAX_IDS_PER_REQUEST = 100
MAX_RESULTS = 2000  # the API's own ceiling for max_results

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_ERROR_ID = re.compile(r"^https?://arxiv\.org/api/errors", re.IGNORECASE)
_FIELD_PREFIX = re.compile(r"\b(?:ti|au|abs|co|jr|cat|rn|id|all|submittedDate):", re.IGNORECASE)


def parse_api_feed(data: bytes) -> FetchResult:
    """Parse an arXiv API Atom feed into papers and rejected entries (pure: bytes in).

    An entry that is not well-formed XML on its own (one invalid UTF-8 byte) is rejected with
    the reason, and the others kept. Raises SourceRequestRejected for the API's error feed and
    SourceBadResponse for anything that is not an Atom feed.
    """
    root, broken = parse_records(
        data,
        source=SOURCE,
        what="arXiv API Atom feed",
        record="entry",
        where="the API URL",
        setting="PAPERWIRE_ARXIV_API_URL",
    )
    if root.tag != f"{_ATOM}feed":
        raise SourceBadResponse(SOURCE, f"expected an Atom <feed>, got <{_localname(root)}>")
    entries = list(root.iterfind(f"{_ATOM}entry"))
    for entry in entries:
        if _ERROR_ID.match((entry.findtext(f"{_ATOM}id") or "").strip()):
            summary = stored_text(entry.findtext(f"{_ATOM}summary") or "") or "unspecified error"
            raise SourceRequestRejected(SOURCE, f"arXiv API error: {summary}")

    papers: dict[str, Paper] = {}
    rejected = [_broken_entry(b) for b in broken]
    with bulk_build():
        for entry in entries:
            outcome = _parse_entry(entry)
            if isinstance(outcome, Rejected):
                rejected.append(outcome)
                continue
            earlier = papers.get(outcome.arxiv_id)
            if earlier is None or outcome.version > earlier.version:
                papers[outcome.arxiv_id] = outcome
    for bad in rejected:
        log.warning("arxiv api: rejected %s: %s", bad.identifier, bad.reason)
    return FetchResult(papers=tuple(papers.values()), rejected=tuple(rejected))


def _broken_entry(broken: BrokenRecord) -> Rejected:
    return Rejected(broken.text_of("id") or f"(entry at byte {broken.offset})", broken.reason)


def _parse_entry(entry: etree._Element) -> Paper | Rejected:
    entry_id = (entry.findtext(f"{_ATOM}id") or "").strip()
    label = entry_id or "(entry without id)"
    raw_id = entry_id.split("/abs/", 1)[1] if "/abs/" in entry_id else entry_id
    try:
        parsed = parse_arxiv_id(raw_id)
    except InvalidArxivId as exc:
        return Rejected(label, f"not an arXiv id ({exc.reason})")
    if parsed.version is None:
        return Rejected(label, "the entry id carries no version")
    title = stored_text(entry.findtext(f"{_ATOM}title") or "")
    if not title:
        return Rejected(label, "empty title")
    try:
        published = iso_utc(entry.findtext(f"{_ATOM}published"))
        updated = iso_utc(entry.findtext(f"{_ATOM}updated"))
    except ValueError as exc:
        return Rejected(label, str(exc))

    primary = entry.find(f"{_ARXIV}primary_category")
    categories: list[str] = []
    if primary is not None and primary.get("term"):
        categories.append(primary.get("term", "").strip())
    categories.extend(
        term.strip() for c in entry.iterfind(f"{_ATOM}category") if (term := c.get("term"))
    )
    return Paper(
        arxiv_id=parsed.id,
        version=parsed.version,
        title=title,
        abstract=stored_text(entry.findtext(f"{_ATOM}summary") or ""),
        authors=tuple(_authors(entry.iterfind(f"{_ATOM}author"))),
        categories=tuple(dict.fromkeys(c for c in categories if c)),
        published=published,
        updated=updated,
        doi=stored_text_or_none(entry.findtext(f"{_ARXIV}doi")),
        journal_ref=stored_text_or_none(entry.findtext(f"{_ARXIV}journal_ref")),
        comment=stored_text_or_none(entry.findtext(f"{_ARXIV}comment")),
        sources=frozenset({SOURCE}),
    )


def _authors(elements: Iterable[etree._Element]) -> Iterable[Author]:
    for element in elements:
        name = stored_name(element.findtext(f"{_ATOM}name") or "")
        if not name:
            continue
        affiliations = [
            stored_name(text) for a in element.iterfind(f"{_ARXIV}affiliation") if (text := a.text)
        ]
        affiliation = "; ".join(a for a in affiliations if a) or None
        yield Author(name=name, affiliation=affiliation)


def _localname(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else "?"


def _canonical_ids(raw_ids: Iterable[str]) -> Iterable[str]:
    for raw in raw_ids:
        try:
            yield parse_arxiv_id(raw).id
        except InvalidArxivId as exc:
            log.warning("arxiv api: not looking up %r: %s", raw, exc.reason)


def to_search_query(text: str) -> str:
    """Free text -> arXiv ``search_query`` (``all:a AND all:b``); field syntax passes as is."""
    stripped = " ".join(text.split())
    if _FIELD_PREFIX.search(stripped):
        return stripped
    terms: list[str] = []
    for match in re.finditer(r'"([^"]+)"|(\S+)', stripped):
        phrase, word = match.group(1), match.group(2)
        if phrase:
            terms.append(f'all:"{" ".join(phrase.split())}"')
        elif word and word.upper() not in {"AND", "OR", "ANDNOT"}:
            cleaned = word.strip("\"'()")
            if cleaned:
                terms.append(f"all:{cleaned}")
    return " AND ".join(terms)


class ArxivApiSource:
    """``lookup`` (many ids per request, chunks of <= 100) and ``search`` over the query API."""

    def __init__(
        self, api_url: str, http: HttpClient, *, batch_size: int = MAX_IDS_PER_REQUEST
    ) -> None:
        if not 1 <= batch_size <= MAX_IDS_PER_REQUEST:
            raise ValueError(f"batch_size must be between 1 and {MAX_IDS_PER_REQUEST}")
        self._url = api_url
        self._http = http
        self._batch_size = batch_size

    @property
    def name(self) -> str:
        return SOURCE

    async def lookup(self, arxiv_ids: Sequence[str]) -> dict[str, Paper]:
        """Latest versions by canonical id; unknown ids are absent.

        Ids go through ``parse_arxiv_id`` first. One that does not parse is left out (and
        logged) rather than sent: arXiv answers a batch holding one malformed id with a 400
        for the whole batch, which would lose the good ones.
        """
        wanted = list(dict.fromkeys(_canonical_ids(arxiv_ids)))
        found: dict[str, Paper] = {}
        for start in range(0, len(wanted), self._batch_size):
            chunk = wanted[start : start + self._batch_size]
            result = await self._query(
                {"id_list": ",".join(chunk), "start": 0, "max_results": len(chunk)}
            )
            asked = set(chunk)
            for paper in result.papers:
                if paper.arxiv_id in asked:
                    found[paper.arxiv_id] = paper
                else:
                    log.warning("arxiv api: answer for %s, which was not asked", paper.arxiv_id)
        return found

    async def search(self, query: str, *, limit: int = 10, newest: bool = False) -> list[Paper]:
        """Papers matching ``query`` (free text or arXiv field syntax), most relevant first
        (``newest``: most recently submitted first)."""
        search_query = to_search_query(query)
        if not search_query or limit < 1:
            return []
        result = await self._query(
            {
                "search_query": search_query,
                "start": 0,
                "max_results": min(limit, MAX_RESULTS),
                "sortBy": "submittedDate" if newest else "relevance",
                "sortOrder": "descending",
            }
        )
        return list(result.papers[:limit])

    async def _query(self, params: dict[str, str | int]) -> FetchResult:
        # arXiv answers a malformed request with HTTP 400 and an Atom error feed: read it.
        response = await self._http.get(self._url, source=SOURCE, params=params, accept=(400,))
        result = parse_api_feed(response.content)
        if response.status == 400:
            raise SourceRequestRejected(SOURCE, "arXiv API answered HTTP 400")
        return result
