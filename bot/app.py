"""The composition root: builds the clients, the store and the services; opens and closes them.

Only this module (and the command line above it) knows every adapter. Nothing is built at
import time: ``open_app`` builds everything inside an async context and closes it on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.console import ConsolePublisher
from bot.adapters.db.engine import check_migrated, create_engine
from bot.adapters.db.store import SqlStore
from bot.adapters.discord.publisher import DiscordPublisher
from bot.adapters.scheduler import build_scheduler
from bot.adapters.slack.publisher import SlackPublisher
from bot.adapters.sources import HttpClient, build_sources
from bot.adapters.summarizers.llm import LLMSummarizer
from bot.adapters.web import WebServer
from bot.core.models import Platform
from bot.core.topics import Taxonomy, TaxonomyError, parse_taxonomy
from bot.services.cards import (
    CardService,
    HuggingFaceTier,
    SemanticScholarTier,
    TierSpec,
)
from bot.services.deliver import DeliveryService
from bot.services.ingest import IngestService
from bot.services.lookup import LookupService
from bot.services.ports import ListingSource, Publisher
from bot.services.subscriptions import SubscriptionService, load_planner
from bot.settings import Settings

__all__ = ["App", "SystemClock", "load_taxonomy", "open_app", "run_forever"]

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
    store: SqlStore
    clock: SystemClock
    lookup: LookupService
    cards: CardService
    ingest: IngestService
    subscriptions: SubscriptionService
    deliver: DeliveryService


def _tiers(settings: Settings) -> list[TierSpec]:
    tiers: list[TierSpec] = []
    llm = LLMSummarizer.from_settings(settings) if settings.llm_daily_budget > 0 else None
    if llm is not None:
        tiers.append(TierSpec(llm, daily_budget=settings.llm_daily_budget))
    # These two read the paper's own record, so there is nothing to cache.
    tiers.append(TierSpec(HuggingFaceTier(), cached=False))
    if settings.s2_enabled:
        tiers.append(TierSpec(SemanticScholarTier(), cached=False))
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
            cards = CardService(store, tiers, taxonomy, clock)
            publishers: dict[Platform, Publisher] = {Platform.CONSOLE: ConsolePublisher()}
            stack = contextlib.AsyncExitStack()
            await stack.__aenter__()
            try:
                if settings.discord_token is not None:
                    publishers[Platform.DISCORD] = await stack.enter_async_context(
                        DiscordPublisher.from_settings(settings)
                    )
                if settings.slack_bot_token is not None:
                    publishers[Platform.SLACK] = await stack.enter_async_context(
                        SlackPublisher.from_settings(settings)
                    )
                yield App(
                    settings=settings,
                    store=store,
                    clock=clock,
                    lookup=LookupService(
                        store, sources.api, sources.hf if settings.hf_enabled else None, clock
                    ),
                    cards=cards,
                    ingest=IngestService(
                        store,
                        listing,
                        clock,
                        plan_factory=lambda: load_planner(store, clock),
                        enricher=sources.s2,
                    ),
                    subscriptions=SubscriptionService(store, clock),
                    deliver=DeliveryService(
                        store,
                        cards,
                        publishers,
                        clock,
                        lease_seconds=settings.claim_lease_seconds,
                        batch=settings.deliver_batch,
                    ),
                )
            finally:
                await stack.aclose()
                for spec in tiers:
                    close = getattr(spec.summarizer, "aclose", None)
                    if close is not None:
                        await close()
    finally:
        await engine.dispose()


async def run_forever(app: App, *, stop: asyncio.Event | None = None) -> None:
    """The bot: scheduled polls and deliveries plus the web endpoints, until SIGINT/SIGTERM."""
    settings = app.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    async def poll(name: str) -> None:
        report = await app.ingest.poll(name)
        log.log(logging.INFO if report.ok else logging.WARNING, "%s", report.summary())

    async def deliver() -> None:
        report = await app.deliver.run_once()
        if report.handled:
            log.info(
                "delivered %d, retrying %d, reconciled %d",
                report.sent,
                report.retried,
                report.reconciled,
            )
        for line in report.paused:
            log.warning("paused %s", line)

    intervals = {"arxiv": settings.arxiv_poll_minutes, "hf": settings.hf_poll_minutes}
    polls = {
        name: (functools.partial(poll, name), float(intervals[name]))
        for name in app.ingest.source_names
    }
    scheduler = build_scheduler(polls, (deliver, settings.deliver_every_seconds))

    async def health() -> tuple[bool, dict[str, object]]:
        states = {s.source: s for s in await app.store.all_poll_states()}
        details: dict[str, object] = {
            name: {
                "last_success": st.last_success.isoformat() if st.last_success else None,
                "last_error": st.last_error,
            }
            for name, st in states.items()
        }
        return True, {"sources": details}

    async def metrics() -> dict[str, float]:
        stats = await app.store.queue_stats()
        values = {
            f'paperwire_deliveries{{status="{k}"}}': float(v) for k, v in stats.by_status.items()
        }
        for st in await app.store.all_poll_states():
            if st.last_success:
                values[f'paperwire_source_last_success_timestamp{{source="{st.source}"}}'] = (
                    st.last_success.timestamp()
                )
            values[f'paperwire_source_consecutive_failures{{source="{st.source}"}}'] = float(
                st.consecutive_failures
            )
        return values

    web = WebServer(settings.web_host, settings.web_port, health, metrics)
    await web.start()
    scheduler.start()
    if not settings.has_chat:
        log.info("no chat token set: cards for the console destination print here")
    if not await app.store.list_subscriptions():
        log.info(
            "no subscriptions yet: papers are stored, nothing is posted; subscribe with e.g. "
            '`paperwire subs add console "cat:cs.CL -survey"` (it starts from the next poll)'
        )
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await web.stop()
