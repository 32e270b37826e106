"""A fake arXiv (API + listing feed), Hugging Face and Semantic Scholar on 127.0.0.1.

It serves the real recorded fixtures by request, answers conditional GETs with 304, counts
requests per path, and injects faults on demand. Use it in-process from async tests::

    async with FakeSources() as fake:
        fake.fail(FakeSources.ARXIV_API, Fault.UNAVAILABLE, times=2)
        ... point the real clients at fake.arxiv_api_url ...
        assert fake.count(FakeSources.ARXIV_API) == 3

from a background thread for subprocess tests::

    with FakeSources.running_in_thread() as fake:
        subprocess.run([...], env={**os.environ, **fake.env()})

or by hand: ``python -m tests.fakes.sources --port 8765`` prints the variables to export.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from aiohttp import web
from lxml import etree

from tests.fakes._server import LoopbackServer
from tests.paths import FIXTURES

__all__ = [
    "FakeSources",
    "Fault",
    "RecordedRequest",
    "billion_laughs",
    "external_entity_payload",
]

_ATOM = "{http://www.w3.org/2005/Atom}"
_NEW_ID = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")
_OLD_ID = re.compile(r"^[a-z][a-z-]*(\.[A-Z]{2})?/\d{7}(v\d+)?$")
_VERSION = re.compile(r"v(\d+)$")

RSS_TRIMMED = FIXTURES / "arxiv_rss" / "aioarxiv_rss_new_all_archives_2024-11-28_trimmed189.xml"
RSS_FULL = FIXTURES / "arxiv_rss" / "aioarxiv_rss_new_all_archives_2024-11-28_full.xml.gz"
RSS_WEEKEND = FIXTURES / "arxiv_rss" / "allnewsai_rss_new_cs.CL_weekend_empty_2026-08-01.xml"
RSS_ERROR = FIXTURES / "arxiv_rss" / "aioarxiv_rss_new_error_bad_archive.xml"
API_LISTING = FIXTURES / "arxiv_api" / "arxivpy_q_testing_s0_m100_cfe7536492ca.xml"
API_ERROR = FIXTURES / "arxiv_api" / "arxivpy_id_abc_s0_m100_b79c8dcf6bc3.xml"
HF_DAILY_FILES = (
    FIXTURES / "hf_daily_papers" / "sotawhat_hf_daily_papers_2026-06-12.json",
    FIXTURES / "hf_daily_papers" / "allnewsai_hf_daily_papers_2026-07.json",
    FIXTURES / "hf_daily_papers" / "newsassistant_hf_daily_papers_2026-07.json",
)
S2_SEARCH = FIXTURES / "semantic_scholar" / "sotawhat_s2_paper_search_transformer.json"


class Fault(StrEnum):
    """What a path answers instead of the fixture, while the fault lasts."""

    UNAVAILABLE = "503"  # HTTP 503 (with Retry-After when given)
    RATE_LIMITED = "429"  # HTTP 429 with Retry-After (default "1")
    STALL = "stall"  # accept the request, never answer
    TRICKLE = "trickle"  # the whole body, a few bytes at a time with a pause between (slowly)
    REDIRECT = "redirect"  # HTTP 302 to ``location`` (given to ``fail``)
    TRUNCATED = "truncated"  # Content-Length promises the whole body; half is sent, then close
    PARTIAL = "partial"  # a complete HTTP answer whose document is cut in half
    HTML = "html"  # an HTML error page with status 200
    BOMB = "bomb"  # a billion-laughs XML bomb
    XXE = "xxe"  # an external-entity payload pointing at /etc/passwd and a canary URL
    ERROR_FEED = "error_feed"  # API: HTTP 400 + error feed; RSS: the "Feed error" channel
    WEEKEND = "weekend"  # RSS: the real empty weekend feed
    NOT_FOUND = "404"
    SERVER_ERROR = "500"


@dataclass
class _Rule:
    path: str
    fault: Fault
    remaining: int | None  # None: until cleared
    retry_after: str | None
    location: str | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    started: float  # time.monotonic() on arrival
    finished: float | None = None
    status: int | None = None
    fault: Fault | None = None


@dataclass
class _Entry:
    arxiv_id: str  # canonical, unversioned
    version: int
    xml: bytes
    text: str  # lower-cased title, summary and authors, for search


@dataclass
class _State:
    rules: list[_Rule] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)


class FakeSources(LoopbackServer):
    """The fake servers, all on one port; each service lives under its own path prefix."""

    thread_name = "fake-sources"

    ARXIV_API = "/arxiv/api/query"
    ARXIV_RSS = "/arxiv/rss"
    HF_API = "/hf/api"
    HF_DAILY = "/hf/api/daily_papers"
    HF_PAPERS = "/hf/api/papers"
    S2_API = "/s2/graph/v1"
    S2_BATCH = "/s2/graph/v1/paper/batch"
    CANARY = "/canary"  # an XXE payload points here: any hit means an entity was fetched
    TRICKLE_BYTES = 4  # a trickling answer sends this many bytes ...
    TRICKLE_PAUSE = 0.05  # ... then pauses this long (seconds): far below any read timeout

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rss_feed: Literal["trimmed", "full"] | Path = "trimmed",
    ) -> None:
        super().__init__(host=host, port=port)
        self._lock = threading.Lock()
        self._state = _State()
        self._rss = self._load_rss(rss_feed)
        self._rss_etag = _etag(self._rss)
        self._rss_last_modified = _last_build(self._rss)
        self._weekend = RSS_WEEKEND.read_bytes()
        self._entries = _index_api_entries()
        self._listing = _listing_ids()
        self._daily = _index_daily()
        self._hf_papers = {
            item["paper"]["id"]: item for items in self._daily.values() for item in items
        }
        self.s2_records: dict[str, dict[str, Any]] = _index_s2()

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def arxiv_api_url(self) -> str:
        return self.url + self.ARXIV_API

    @property
    def arxiv_rss_url(self) -> str:
        return self.url + self.ARXIV_RSS

    @property
    def hf_api_url(self) -> str:
        return self.url + self.HF_API

    @property
    def s2_api_url(self) -> str:
        return self.url + self.S2_API

    def env(self) -> dict[str, str]:
        """The environment variables that point paperwire at this fake."""
        return {
            "PAPERWIRE_ARXIV_API_URL": self.arxiv_api_url,
            "PAPERWIRE_ARXIV_RSS_URL": self.arxiv_rss_url,
            "PAPERWIRE_HF_API_URL": self.hf_api_url,
            "PAPERWIRE_S2_API_URL": self.s2_api_url,
        }

    # --- faults and counters --------------------------------------------------------------------

    def fail(
        self,
        path: str,
        fault: Fault,
        *,
        times: int | None = None,
        retry_after: str | float | None = None,
        location: str | None = None,
    ) -> None:
        """Answer requests whose path starts with ``path`` with ``fault`` (``times`` times).

        ``location`` is where ``Fault.REDIRECT`` sends the client (any URL, or a path).
        """
        fault = Fault(fault)
        if (fault is Fault.REDIRECT) != (location is not None):
            raise ValueError("Fault.REDIRECT needs a location, and only it takes one")
        text = None if retry_after is None else str(retry_after)
        with self._lock:
            self._state.rules.append(_Rule(path, fault, times, text, location))

    def clear_faults(self) -> None:
        with self._lock:
            self._state.rules.clear()

    def count(self, path: str = "/") -> int:
        """How many requests arrived for paths starting with ``path``."""
        with self._lock:
            return sum(1 for r in self._state.requests if r.path.startswith(path))

    def requests(self, path: str = "/") -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._state.requests if r.path.startswith(path)]

    def max_in_flight(self, path: str) -> int:
        """The most requests under ``path`` ever handled at the same time."""
        with self._lock:
            return self._state.max_in_flight.get(path, 0)

    def reset_counts(self) -> None:
        with self._lock:
            self._state.requests.clear()
            self._state.max_in_flight.clear()

    @property
    def rss_etag(self) -> str:
        return self._rss_etag

    # --- dispatch -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            started=time.monotonic(),
        )
        prefixes = [
            p
            for p in (self.ARXIV_API, self.ARXIV_RSS, self.HF_API, self.S2_API)
            if request.path.startswith(p)
        ]
        with self._lock:
            self._state.requests.append(record)
            for prefix in prefixes:
                now = self._state.in_flight.get(prefix, 0) + 1
                self._state.in_flight[prefix] = now
                self._state.max_in_flight[prefix] = max(
                    now, self._state.max_in_flight.get(prefix, 0)
                )
            rule = self._take_rule(request.path)
        try:
            if rule is not None:
                record.fault = rule.fault
                response = await self._fault(request, rule)
            else:
                response = await self._route(request, body)
            record.status = response.status
            return response
        finally:
            record.finished = time.monotonic()
            with self._lock:
                for prefix in prefixes:
                    self._state.in_flight[prefix] -= 1

    def _take_rule(self, path: str) -> _Rule | None:
        for rule in self._state.rules:
            if path.startswith(rule.path) and (rule.remaining is None or rule.remaining > 0):
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule
        return None

    async def _route(self, request: web.Request, body: bytes) -> web.StreamResponse:
        path = request.path
        if path == self.ARXIV_API:
            return self._api(request)
        if path.startswith(self.ARXIV_RSS + "/"):
            return self._rss_response(request, self._rss, self._rss_etag, self._rss_last_modified)
        if path == self.HF_DAILY:
            return self._hf_daily(request)
        if path.startswith(self.HF_PAPERS + "/"):
            return self._hf_paper(path.removeprefix(self.HF_PAPERS + "/"))
        if path == self.S2_BATCH and request.method == "POST":
            return self._s2_batch(body)
        if path == self.CANARY:
            return web.Response(text="canary")
        return web.json_response({"error": f"no route for {path}"}, status=404)

    # --- arXiv --------------------------------------------------------------------------------

    def _api(self, request: web.Request) -> web.Response:
        query = request.query
        start = _int_param(query.get("start"), 0)
        max_results = _int_param(query.get("max_results"), 10)
        id_list = [i.strip() for i in query.get("id_list", "").split(",") if i.strip()]
        for raw in id_list:
            if not (_NEW_ID.match(raw) or _OLD_ID.match(raw)):
                return web.Response(
                    body=_api_error_feed(raw),
                    status=400,
                    content_type="application/atom+xml",
                    charset="utf-8",
                )
        if id_list:
            entries = []
            for raw in id_list:
                version = _VERSION.search(raw)
                entry = self._entries.get(_VERSION.sub("", raw))
                if entry is None or (version and int(version.group(1)) != entry.version):
                    continue
                entries.append(entry)
        else:
            terms = _search_terms(query.get("search_query", ""))
            entries = [
                self._entries[i]
                for i in self._listing
                if all(term in self._entries[i].text for term in terms)
            ]
            if query.get("sortBy") == "submittedDate":
                newest = query.get("sortOrder", "descending") == "descending"
                entries.sort(key=_published, reverse=newest)
        page = entries[start : start + max_results]
        title = escape("arXiv Query: " + "&".join(f"{k}={v}" for k, v in query.items()))
        return web.Response(
            body=_api_feed(title, page, total=len(entries), start=start, per_page=max_results),
            content_type="application/atom+xml",
            charset="utf-8",
        )

    def _rss_response(
        self, request: web.Request, body: bytes, etag: str, last_modified: str | None
    ) -> web.Response:
        headers = {"ETag": etag}
        if last_modified:
            headers["Last-Modified"] = last_modified
        if request.headers.get("If-None-Match") == etag or (
            last_modified is not None
            and "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == last_modified
        ):
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=body, headers=headers, content_type="application/rss+xml", charset="utf-8"
        )

    # --- Hugging Face -------------------------------------------------------------------------

    def _hf_daily(self, request: web.Request) -> web.Response:
        day = request.query.get("date", "")
        limit = _int_param(request.query.get("limit"), 50)
        if day and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            return web.json_response({"error": "Invalid date"}, status=400)
        items = self._daily.get(day, [])[:limit]
        return web.json_response(items)

    def _hf_paper(self, arxiv_id: str) -> web.Response:
        item = self._hf_papers.get(arxiv_id)
        if item is None:
            return web.json_response({"error": "Paper not found"}, status=404)
        return web.json_response(item["paper"])

    # --- Semantic Scholar ---------------------------------------------------------------------

    def _s2_batch(self, body: bytes) -> web.Response:
        try:
            ids = json.loads(body)["ids"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "Unacceptable JSON body"}, status=400)
        if not isinstance(ids, list) or len(ids) > 500:
            return web.json_response({"error": "-ids- must be a list of at most 500"}, status=400)
        answer: list[dict[str, Any] | None] = []
        for raw in ids:
            key = raw.removeprefix("ARXIV:") if isinstance(raw, str) else ""
            answer.append(self.s2_records.get(key))
        return web.json_response(answer)

    # --- faults -------------------------------------------------------------------------------

    async def _fault(self, request: web.Request, rule: _Rule) -> web.StreamResponse:
        fault = rule.fault
        is_rss = request.path.startswith(self.ARXIV_RSS)
        if fault in (Fault.UNAVAILABLE, Fault.RATE_LIMITED, Fault.SERVER_ERROR, Fault.NOT_FOUND):
            status = {"503": 503, "429": 429, "500": 500, "404": 404}[fault.value]
            headers = {}
            retry_after = rule.retry_after
            if fault is Fault.RATE_LIMITED and retry_after is None:
                retry_after = "1"
            if retry_after is not None:
                headers["Retry-After"] = retry_after
            return web.Response(status=status, text=f"fake {status}", headers=headers)
        if fault is Fault.STALL:
            assert self._stop is not None
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=3600)
            return web.Response(status=503, text="stalled")
        if fault is Fault.REDIRECT:
            assert rule.location is not None
            return web.Response(status=302, headers={"Location": rule.location})
        if fault is Fault.TRICKLE:
            return await self._trickle(request)
        if fault in (Fault.TRUNCATED, Fault.PARTIAL):
            full = await self._normal_body(request)
            half = full[: len(full) // 2]
            if fault is Fault.PARTIAL:
                return web.Response(body=half, content_type=_content_type(request.path))
            response = web.StreamResponse(status=200)
            response.content_type = _content_type(request.path)
            response.content_length = len(full)
            await response.prepare(request)
            await response.write(half)
            if request.transport is not None:
                request.transport.close()
            return response
        if fault is Fault.HTML:
            return web.Response(body=_HTML_PAGE, content_type="text/html", charset="utf-8")
        if fault is Fault.BOMB:
            root = "rss" if is_rss else "feed"
            return web.Response(body=billion_laughs(root), content_type=_content_type(request.path))
        if fault is Fault.XXE:
            return web.Response(
                body=external_entity_payload(is_rss, self.url + self.CANARY),
                content_type=_content_type(request.path),
            )
        if fault is Fault.ERROR_FEED:
            if is_rss:
                return web.Response(body=RSS_ERROR.read_bytes(), content_type="application/rss+xml")
            return web.Response(
                body=API_ERROR.read_bytes(), status=400, content_type="application/atom+xml"
            )
        if fault is Fault.WEEKEND:
            etag = _etag(self._weekend)
            return self._rss_response(request, self._weekend, etag, _last_build(self._weekend))
        raise AssertionError(f"unhandled fault {fault}")

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        """The normal answer, ``TRICKLE_BYTES`` at a time, ``TRICKLE_PAUSE`` apart.

        Every pause is shorter than a read timeout, so only a deadline on the whole answer
        stops a client from waiting for it; it stops when the client hangs up or the server
        stops.
        """
        assert self._stop is not None
        full = await self._normal_body(request)
        response = web.StreamResponse(status=200)
        response.content_type = _content_type(request.path)
        response.content_length = len(full)
        await response.prepare(request)
        step = self.TRICKLE_BYTES
        for start in range(0, len(full), step):
            transport = request.transport
            if transport is None or transport.is_closing() or self._stop.is_set():
                break
            try:
                await response.write(full[start : start + step])
            except ConnectionError:  # the client gave up
                break
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.TRICKLE_PAUSE)
        return response

    async def _normal_body(self, request: web.Request) -> bytes:
        response = await self._route(request, b"")
        assert isinstance(response, web.Response)
        assert response.body is not None
        body = response.body
        assert isinstance(body, bytes)
        return body

    # --- loading --------------------------------------------------------------------------------

    @staticmethod
    def _load_rss(which: Literal["trimmed", "full"] | Path) -> bytes:
        if which == "trimmed":
            return RSS_TRIMMED.read_bytes()
        if which == "full":
            return gzip.decompress(RSS_FULL.read_bytes())
        path = Path(which)
        data = path.read_bytes()
        return gzip.decompress(data) if path.suffix == ".gz" else data


def _content_type(path: str) -> str:
    if path.startswith(FakeSources.ARXIV_RSS):
        return "application/rss+xml"
    if path.startswith(FakeSources.ARXIV_API):
        return "application/atom+xml"
    return "application/json"


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def _last_build(feed: bytes) -> str | None:
    match = re.search(rb"<lastBuildDate>([^<]+)</lastBuildDate>", feed)
    if match is None:
        return None
    when = parsedate_to_datetime(match.group(1).decode()).astimezone(UTC)
    return format_datetime(when, usegmt=True)


def _int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _published(entry: _Entry) -> str:
    """The entry's first-version date (ISO text sorts by time)."""
    found = re.search(rb"<published>([^<]+)</published>", entry.xml)
    return found.group(1).decode() if found else ""


def _search_terms(search_query: str) -> list[str]:
    terms: list[str] = []
    for match in re.finditer(r'"([^"]+)"|(\S+)', search_query):
        token = (match.group(1) or match.group(2) or "").lower()
        if token.upper() in ("AND", "OR", "ANDNOT"):
            continue
        token = re.sub(r"^[a-z]+:", "", token).strip("\"'()")
        if token:
            terms.append(token)
    return terms


def _index_api_entries() -> dict[str, _Entry]:
    """Every entry of every recorded API answer, by canonical id (modern answers win)."""
    files = sorted((FIXTURES / "arxiv_api" / "legacy2016").glob("*.xml"))
    files += sorted((FIXTURES / "arxiv_api").glob("*.xml"))
    entries: dict[str, _Entry] = {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for path in files:
        root = etree.fromstring(path.read_bytes(), parser=parser)
        for entry in root.iterfind(f"{_ATOM}entry"):
            entry_id = entry.findtext(f"{_ATOM}id") or ""
            if "/abs/" not in entry_id:
                continue  # the error feed's entry
            versioned = entry_id.split("/abs/", 1)[1].strip()
            match = _VERSION.search(versioned)
            version = int(match.group(1)) if match else 1
            canonical = _VERSION.sub("", versioned)
            text = " ".join(
                [
                    entry.findtext(f"{_ATOM}title") or "",
                    entry.findtext(f"{_ATOM}summary") or "",
                    *(a.findtext(f"{_ATOM}name") or "" for a in entry.iterfind(f"{_ATOM}author")),
                ]
            )
            entries[canonical] = _Entry(
                arxiv_id=canonical,
                version=version,
                xml=etree.tostring(entry, encoding="utf-8"),
                text=" ".join(text.lower().split()),
            )
    return entries


def _listing_ids() -> list[str]:
    root = etree.fromstring(API_LISTING.read_bytes())
    ids = []
    for entry in root.iterfind(f"{_ATOM}entry"):
        versioned = (entry.findtext(f"{_ATOM}id") or "").split("/abs/", 1)[1].strip()
        ids.append(_VERSION.sub("", versioned))
    return ids


def _index_daily() -> dict[str, list[dict[str, Any]]]:
    by_day: dict[str, list[dict[str, Any]]] = {}
    for path in HF_DAILY_FILES:
        for item in json.loads(path.read_bytes()):
            day = str(item["paper"].get("submittedOnDailyAt", ""))[:10]
            by_day.setdefault(day, []).append(item)
    return by_day


def _index_s2() -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for paper in json.loads(S2_SEARCH.read_bytes())["data"]:
        arxiv = (paper.get("externalIds") or {}).get("ArXiv")
        if arxiv:
            records[arxiv] = {
                "paperId": paper["paperId"],
                "externalIds": paper["externalIds"],
                "citationCount": paper.get("citationCount"),
                "tldr": paper.get("tldr"),
            }
    return records


def _api_feed(title: str, entries: list[_Entry], *, total: int, start: int, per_page: int) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
        f"  <id>https://arxiv.org/api/fake</id>\n  <title>{title}</title>\n"
        f"  <updated>{now}</updated>\n"
        f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>\n"
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n"
    ).encode()
    return head + b"".join(b"  " + e.xml + b"\n" for e in entries) + b"</feed>\n"


def _api_error_feed(raw_id: str) -> bytes:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", raw_id)
    text = escape(f"incorrect id format for {raw_id}")
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
        "  <id>https://arxiv.org/</id>\n  <title>arXiv Search Results</title>\n"
        "  <updated>2026-04-12T22:59:06Z</updated>\n"
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>\n"
        "  <opensearch:totalResults>1</opensearch:totalResults>\n"
        "  <opensearch:startIndex>0</opensearch:startIndex>\n"
        "  <entry>\n"
        f"    <id>https://arxiv.org/api/errors#incorrect_id_format_for_{slug}</id>\n"
        "    <title>Error</title>\n"
        "    <updated>2026-04-12T22:59:06Z</updated>\n"
        f"    <summary>{text}</summary>\n"
        "    <author>\n      <name>arXiv api core</name>\n    </author>\n"
        "  </entry>\n</feed>\n"
    ).encode()


_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>\n"
    b"<body><h1>Service Temporarily Unavailable</h1>\n<p>The server is temporarily unable to "
    b"service your request.<br>Please try again later.</p><hr></body></html>\n"
)


def billion_laughs(root: str) -> bytes:
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE lolz [", ' <!ENTITY lol "lol">']
    for level in range(1, 10):
        previous = "lol" if level == 1 else f"lol{level - 1}"
        lines.append(f' <!ENTITY lol{level} "{("&" + previous + ";") * 10}">')
    lines.append("]>")
    lines.append(f"<{root}><title>&lol9;</title></{root}>")
    return "\n".join(lines).encode()


def external_entity_payload(rss: bool, canary: str) -> bytes:
    dtd = (
        f"<!DOCTYPE {'rss' if rss else 'feed'} [\n"
        '  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n'
        f'  <!ENTITY net SYSTEM "{canary}">\n]>\n'
    )
    if rss:
        body = (
            '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" version="2.0"><channel>'
            "<title>cs.CL updates on arXiv.org</title><item><title>&xxe;&net;</title>"
            "<description>arXiv:2411.17700v1 Announce Type: new \nAbstract: &xxe;</description>"
            '<guid isPermaLink="false">oai:arXiv.org:2411.17700v1</guid>'
            "<arxiv:announce_type>new</arxiv:announce_type></item></channel></rss>"
        )
    else:
        body = (
            '<feed xmlns="http://www.w3.org/2005/Atom"><entry>'
            "<id>http://arxiv.org/abs/2104.12255v1</id><title>&xxe;&net;</title>"
            "<summary>&xxe;</summary><author><name>&xxe;</name></author></entry></feed>"
        )
    return ('<?xml version="1.0"?>\n' + dtd + body).encode()


# --- by hand ----------------------------------------------------------------------------------


@asynccontextmanager
async def _serve(port: int, rss_feed: Literal["trimmed", "full"]) -> AsyncIterator[FakeSources]:
    async with FakeSources(port=port, rss_feed=rss_feed) as fake:
        yield fake


async def _main(port: int, rss_feed: Literal["trimmed", "full"]) -> None:
    async with _serve(port, rss_feed) as fake:
        for name, value in fake.env().items():
            print(f"export {name}={value}", flush=True)
        print(
            f"fake arXiv/HF/S2 listening on {fake.url}; Ctrl-C to stop", file=sys.stderr, flush=True
        )
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rss", choices=("trimmed", "full"), default="trimmed")
    args = parser.parse_args(argv)
    with suppress(KeyboardInterrupt):
        asyncio.run(_main(args.port, args.rss))


if __name__ == "__main__":
    main()
