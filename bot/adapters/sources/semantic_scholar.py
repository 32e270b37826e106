"""Semantic Scholar batch enrichment: TL;DR and citation count, optional and cached upstream.

``POST {s2_api_url}/paper/batch?fields=tldr,citationCount,externalIds`` with ``ARXIV:{id}``
ids, at most 500 per request. The answer is a list aligned with the ids asked, with ``null``
for ids Semantic Scholar does not know; ``tldr`` (or its ``text``) may be null.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from bot.adapters.sources._http import HttpClient
from bot.adapters.sources._normalise import stored_text_or_none
from bot.core.ids import InvalidArxivId, parse_arxiv_id
from bot.core.models import S2Signals
from bot.services.ports import SourceBadResponse

__all__ = ["MAX_IDS_PER_BATCH", "SemanticScholarEnricher", "parse_batch"]

log = logging.getLogger(__name__)

SOURCE = "s2"
MAX_IDS_PER_BATCH = 500
FIELDS = "tldr,citationCount,externalIds"


def parse_batch(data: bytes, arxiv_ids: Sequence[str]) -> dict[str, S2Signals]:
    """Parse a ``/paper/batch`` answer for the canonical ``arxiv_ids`` asked, in order."""
    try:
        payload = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceBadResponse(SOURCE, "the batch answer is not JSON") from exc
    if not isinstance(payload, list) or len(payload) != len(arxiv_ids):
        raise SourceBadResponse(
            SOURCE, f"expected a list of {len(arxiv_ids)} records, got {type(payload).__name__}"
        )
    found: dict[str, S2Signals] = {}
    for asked, record in zip(arxiv_ids, payload, strict=True):
        if record is None:
            continue
        signals = _signals(asked, record)
        if signals is not None:
            found[asked] = signals
    return found


def _signals(asked: str, record: Any) -> S2Signals | None:
    if not isinstance(record, dict):
        log.warning("s2: record for %s is not an object; skipped", asked)
        return None
    external = record.get("externalIds")
    answered = external.get("ArXiv") if isinstance(external, dict) else None
    if isinstance(answered, str) and answered.strip() != asked:
        log.warning("s2: asked %s, got %s; skipped", asked, answered)
        return None
    tldr = record.get("tldr")
    text = tldr.get("text") if isinstance(tldr, dict) else None
    count = record.get("citationCount")
    return S2Signals(
        tldr=stored_text_or_none(text) if isinstance(text, str) else None,
        citation_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
    )


class SemanticScholarEnricher:
    """Implements ports.Enricher; ``api_key`` (optional) goes in the ``x-api-key`` header."""

    def __init__(
        self,
        api_url: str,
        http: HttpClient,
        *,
        api_key: str | None = None,
        batch_size: int = MAX_IDS_PER_BATCH,
    ) -> None:
        if not 1 <= batch_size <= MAX_IDS_PER_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_IDS_PER_BATCH}")
        self._url = f"{api_url.rstrip('/')}/paper/batch"
        self._http = http
        self._headers = {"x-api-key": api_key} if api_key else {}
        self._batch_size = batch_size

    @property
    def name(self) -> str:
        return SOURCE

    async def enrich(self, arxiv_ids: Sequence[str]) -> dict[str, S2Signals]:
        """Signals by canonical id; ids S2 does not know, or that do not parse, are absent."""
        wanted: list[str] = []
        for raw in arxiv_ids:
            try:
                wanted.append(parse_arxiv_id(raw).id)
            except InvalidArxivId as exc:
                log.warning("s2: not enriching %r: %s", raw, exc.reason)
        wanted = list(dict.fromkeys(wanted))
        found: dict[str, S2Signals] = {}
        for start in range(0, len(wanted), self._batch_size):
            chunk = wanted[start : start + self._batch_size]
            response = await self._http.post_json(
                self._url,
                source=SOURCE,
                params={"fields": FIELDS},
                headers=self._headers,
                json={"ids": [f"ARXIV:{arxiv_id}" for arxiv_id in chunk]},
            )
            found.update(parse_batch(response.content, chunk))
        return found
