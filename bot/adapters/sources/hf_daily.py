"""Hugging Face Daily Papers: a day's list (with signals) and the single-paper endpoint.

HF ids carry no version, so HF records say version 1 unless the id has one: the store must
never let an HF record lower a version arXiv reported (``bot.core.merge`` keeps arXiv's).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from bot.adapters.sources._http import HttpClient
from bot.adapters.sources._normalise import iso_utc, stored_name, stored_text, stored_text_or_none
from bot.core.ids import InvalidArxivId, parse_arxiv_id
from bot.core.models import Author, HFSignals, Paper, PollState
from bot.services.ports import (
    FetchResult,
    Rejected,
    SourceBadResponse,
    SourceError,
)

__all__ = ["HFDailySource", "parse_daily", "parse_paper_signals"]

log = logging.getLogger(__name__)

SOURCE = "hf"


def parse_daily(data: bytes, *, day: date | None = None) -> FetchResult:
    """Parse one ``/daily_papers`` answer into papers carrying HFSignals (pure: bytes in).

    ``day`` is the date asked for, used as the daily date when an item lacks its own.
    """
    items = _json(data)
    if not isinstance(items, list):
        raise SourceBadResponse(SOURCE, f"expected a JSON list of papers, got {_kind(items)}")
    papers: dict[str, Paper] = {}
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        outcome = _parse_item(item, index, day)
        if isinstance(outcome, Rejected):
            log.warning("hf: rejected %s: %s", outcome.identifier, outcome.reason)
            rejected.append(outcome)
        else:
            papers.setdefault(outcome.arxiv_id, outcome)
    return FetchResult(papers=tuple(papers.values()), rejected=tuple(rejected))


def parse_paper_signals(data: bytes) -> HFSignals:
    """Parse a ``/papers/{id}`` answer into HFSignals."""
    payload = _json(data)
    if not isinstance(payload, dict):
        raise SourceBadResponse(SOURCE, f"expected a JSON object, got {_kind(payload)}")
    try:
        return _signals(payload, payload, None)
    except (TypeError, ValueError) as exc:
        raise SourceBadResponse(SOURCE, f"unexpected paper record: {exc}") from exc


def _parse_item(item: Any, index: int, day: date | None) -> Paper | Rejected:
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        return Rejected(f"item {index}", "not an object with a 'paper' object")
    paper: dict[str, Any] = item["paper"]
    raw_id = paper.get("id")
    label = raw_id if isinstance(raw_id, str) and raw_id else f"item {index}"
    if not isinstance(raw_id, str):
        return Rejected(label, "no arXiv id")
    try:
        parsed = parse_arxiv_id(raw_id)
    except InvalidArxivId as exc:
        return Rejected(label, f"not an arXiv id ({exc.reason})")
    try:
        title = stored_text(_str(paper.get("title")) or _str(item.get("title")) or "")
        abstract = stored_text(_str(paper.get("summary")) or _str(item.get("summary")) or "")
        signals = _signals(paper, item, day)
        published = _iso(paper.get("publishedAt"))
        authors = _authors(paper.get("authors"))
    except (TypeError, ValueError) as exc:
        return Rejected(label, str(exc))
    if not title:
        return Rejected(label, "empty title")
    return Paper(
        arxiv_id=parsed.id,
        version=parsed.version or 1,
        title=title,
        abstract=abstract,
        authors=authors,
        published=published,
        hf=signals,
        sources=frozenset({SOURCE}),
    )


def _signals(paper: Mapping[str, Any], item: Mapping[str, Any], day: date | None) -> HFSignals:
    keywords = paper.get("ai_keywords")
    if keywords is not None and not (
        isinstance(keywords, list) and all(isinstance(k, str) for k in keywords)
    ):
        raise TypeError("ai_keywords is not a list of strings")
    featured = _iso(paper.get("submittedOnDailyAt"))
    return HFSignals(
        upvotes=_int(paper.get("upvotes"), "upvotes") or 0,
        comments=_int(item.get("numComments"), "numComments") or 0,
        ai_summary=_text(paper.get("ai_summary"), "ai_summary"),
        ai_keywords=tuple(" ".join(k.split()) for k in keywords or () if k.strip()),
        github_repo=_text(paper.get("githubRepo"), "githubRepo"),
        github_stars=_int(paper.get("githubStars"), "githubStars"),
        project_page=_text(paper.get("projectPage"), "projectPage"),
        daily_date=featured.date() if featured is not None else day,
    )


def _authors(raw: Any) -> tuple[Author, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TypeError("authors is not a list")
    authors: list[Author] = []
    for entry in raw:
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name.strip():
            authors.append(Author(name=stored_name(name)))
    return tuple(authors)


def _int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} is not an integer: {value!r}")
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} is not a string: {value!r}")
    return stored_text_or_none(value)


def _iso(value: Any) -> datetime | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"date is not a string: {value!r}")
    return iso_utc(value)


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        head = data[:80].decode("utf-8", "replace").strip().splitlines()
        first = repr(head[0]) if head else "(empty)"
        raise SourceBadResponse(SOURCE, f"not JSON: {first}") from exc


def _kind(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        return f"an error object ({value['error'][:200]!r})"
    return type(value).__name__


class HFDailySource:
    """Polls ``{hf_api_url}/daily_papers?date=...`` for ``days`` days ending ``today``."""

    def __init__(self, api_url: str, http: HttpClient, *, days: int = 2, limit: int = 100) -> None:
        if days < 1:
            raise ValueError("days must be >= 1")
        self._url = api_url.rstrip("/")
        self._http = http
        self._days = days
        self._limit = limit

    @property
    def name(self) -> str:
        return SOURCE

    async def poll(self, state: PollState, *, today: date) -> FetchResult:
        """Each day's list; a day that fails is named in the note while the others are kept.

        Several URLs per poll, so no conditional GET: FetchResult.etag stays None.
        """
        papers: dict[str, Paper] = {}
        rejected: list[Rejected] = []
        failures: list[tuple[date, SourceError]] = []
        days = [today - timedelta(days=back) for back in range(self._days - 1, -1, -1)]
        for day in days:
            try:
                result = await self.daily(day)
            except SourceError as exc:
                log.warning("hf: daily papers for %s failed: %s", day, exc)
                failures.append((day, exc))
                continue
            rejected.extend(result.rejected)
            for paper in result.papers:
                papers[paper.arxiv_id] = paper  # a later day's signals win
        if failures and len(failures) == len(days):
            raise failures[-1][1]
        note = None
        if failures:
            note = "; ".join(f"{day}: {exc.message}" for day, exc in failures)
            note = f"some days could not be read ({note})"
        elif not papers and not rejected:
            # Not silence: Daily Papers is filled by people during the (UTC) day.
            span = str(days[0]) if len(days) == 1 else f"{days[0]} to {days[-1]}"
            note = f"Hugging Face lists no daily papers for {span} yet"
        return FetchResult(papers=tuple(papers.values()), rejected=tuple(rejected), note=note)

    async def daily(self, day: date) -> FetchResult:
        response = await self._http.get(
            f"{self._url}/daily_papers",
            source=SOURCE,
            params={"date": day.isoformat(), "limit": self._limit},
        )
        result = parse_daily(response.content, day=day)
        if len(result.papers) + len(result.rejected) >= self._limit:
            log.info("hf: %s filled the page of %d; later ones were not read", day, self._limit)
        return result

    async def paper(self, arxiv_id: str) -> HFSignals | None:
        canonical = parse_arxiv_id(arxiv_id).id
        response = await self._http.get(
            f"{self._url}/papers/{quote(canonical, safe='/')}", source=SOURCE, accept=(404,)
        )
        if response.status == 404:
            return None
        return parse_paper_signals(response.content)
