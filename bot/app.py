"""The composition root: builds the clients, the store and the services; opens and closes them.

Only this module (and the command line above it) knows every adapter. Nothing is built at
import time: ``open_app`` builds everything inside an async context and closes it on exit.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.db.engine import check_migrated, create_engine
from bot.adapters.db.store import SqlStore
from bot.adapters.sources import HttpClient, Sources, build_sources
from bot.core.topics import Taxonomy, TaxonomyError, parse_taxonomy
from bot.services.cards import (
    CardService,
    HuggingFaceTier,
    SemanticScholarTier,
    TierSpec,
)
from bot.services.ingest import IngestService
from bot.services.lookup import LookupService
from bot.services.ports import ListingSource
from bot.settings import Settings

__all__ = ["App", "SystemClock", "load_taxonomy", "open_app"]

log = logging.getLogger(__name__)
_PACKAGED_TOPICS = Path(__file__).resolve().parents[1] / "config" / "topics.toml"


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names it and the fix."""


def load_taxonomy(settings: Settings) -> Taxonomy:
    """config/topics.toml (or PAPERWIRE_TOPICS_FILE), falling back to the default shipped one."""
    path = Path(settings.topics_file)
    if not path.is_file():
        if settings.topics_file != "config/topics.toml":
            raise ConfigError(f"PAPERWIRE_TOPICS_FILE: no such file {str(path)!r}")
        path = _PACKAGED_TOPICS
    try:
        with path.open("rb") as fh:
            return parse_taxonomy(tomllib.load(fh))
    except (tomllib.TOMLDecodeError, TaxonomyError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    store: SqlStore
    http: HttpClient
    sources: Sources
    clock: SystemClock
    lookup: LookupService
    cards: CardService
    ingest: IngestService


def _tiers(settings: Settings) -> list[TierSpec]:
    tiers: list[TierSpec] = []
    if settings.llm_url:
        from bot.adapters.summarizers.llm import LLMSummarizer

        tiers.append(
            TierSpec(
                LLMSummarizer(
                    settings.llm_url,
                    settings.llm_api_key,
                    settings.llm_model,
                    timeout=settings.llm_timeout_seconds,
                ),
                daily_budget=settings.llm_daily_budget,
            )
        )
    tiers.append(TierSpec(HuggingFaceTier()))
    if settings.s2_enabled:
        tiers.append(TierSpec(SemanticScholarTier()))
    return tiers


@asynccontextmanager
async def open_app(settings: Settings, *, check_schema: bool = True) -> AsyncIterator[App]:
    clock = SystemClock()
    taxonomy = load_taxonomy(settings)
    engine = create_engine(settings.database_url)
    try:
        if check_schema:
            await check_migrated(engine)
        store = SqlStore(engine)
        async with HttpClient.from_settings(settings) as http:
            sources = build_sources(settings, http)
            listing: dict[str, ListingSource] = {"arxiv": sources.rss}
            if settings.hf_enabled:
                listing["hf"] = sources.hf
            tiers = _tiers(settings)
            try:
                yield App(
                    settings=settings,
                    engine=engine,
                    store=store,
                    http=http,
                    sources=sources,
                    clock=clock,
                    lookup=LookupService(
                        store, sources.api, sources.hf if settings.hf_enabled else None, clock
                    ),
                    cards=CardService(store, tiers, taxonomy, clock),
                    ingest=IngestService(store, listing, clock, enricher=sources.s2),
                )
            finally:
                for spec in tiers:
                    close = getattr(spec.summarizer, "aclose", None)
                    if close is not None:
                        await close()
    finally:
        await engine.dispose()
