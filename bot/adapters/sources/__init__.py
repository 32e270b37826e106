"""Paper sources: the arXiv listing feed and query API, HF Daily Papers, Semantic Scholar.

All of them talk through one shared ``HttpClient`` (``_http``), which whoever builds it opens
and closes. ``build_sources`` wires them from the Settings; nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.adapters.sources._http import HostLimiter, HttpClient, HttpResponse
from bot.adapters.sources.arxiv_api import ArxivApiSource, parse_api_feed
from bot.adapters.sources.arxiv_rss import ArxivRssSource, parse_listing
from bot.adapters.sources.hf_daily import HFDailySource, parse_daily
from bot.adapters.sources.semantic_scholar import SemanticScholarEnricher

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [
    "ArxivApiSource",
    "ArxivRssSource",
    "HFDailySource",
    "HostLimiter",
    "HttpClient",
    "HttpResponse",
    "SemanticScholarEnricher",
    "Sources",
    "build_sources",
    "parse_api_feed",
    "parse_daily",
    "parse_listing",
]


@dataclass(frozen=True, slots=True)
class Sources:
    """Every source, sharing one HttpClient; ``s2`` is None unless enrichment is enabled."""

    rss: ArxivRssSource
    api: ArxivApiSource
    hf: HFDailySource
    s2: SemanticScholarEnricher | None


def build_sources(settings: Settings, http: HttpClient) -> Sources:
    """The sources the settings ask for, on ``http`` (build it with HttpClient.from_settings)."""
    s2 = None
    if settings.s2_enabled:
        key = settings.s2_api_key.get_secret_value() if settings.s2_api_key else None
        s2 = SemanticScholarEnricher(settings.s2_api_url, http, api_key=key)
    return Sources(
        rss=ArxivRssSource(settings.arxiv_rss_url, http, settings.arxiv_categories),
        api=ArxivApiSource(settings.arxiv_api_url, http),
        hf=HFDailySource(settings.hf_api_url, http, days=settings.hf_days),
        s2=s2,
    )
