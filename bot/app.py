"""The composition root: builds the clients, the store and the services; opens and closes them.

Only this module (and the command line above it) knows every adapter. Nothing is built at
import time: ``open_app`` builds everything inside an async context and closes it on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import signal
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.console import ConsolePublisher
from bot.adapters.db.engine import DatabaseError, check_migrated, create_engine, describe_url
from bot.adapters.db.store import SqlStore
from bot.adapters.discord.bot import DiscordGateway
from bot.adapters.discord.publisher import DiscordPublisher
from bot.adapters.scheduler import Weekly, build_scheduler, sync_weekly_jobs
from bot.adapters.slack.bot import SlackApp, SlackMode
from bot.adapters.slack.publisher import InstallationTokens, SlackPublisher
from bot.adapters.sources import HttpClient, build_sources
from bot.adapters.summarizers.llm import LLMSummarizer
from bot.adapters.web import WebServer
from bot.core.models import Platform
from bot.core.redact import Redactor
from bot.core.topics import Taxonomy, TaxonomyError, parse_taxonomy
from bot.services.cards import (
    CardService,
    HuggingFaceTier,
    SemanticScholarTier,
    TierSpec,
)
from bot.services.chat import ChatService
from bot.services.deliver import DeliveryService
from bot.services.ingest import IngestService
from bot.services.lookup import LookupService
from bot.services.platforms import PlatformHealthService
from bot.services.ports import ListingSource, Publisher, RoundupPublisher
from bot.services.roundups import RoundupService
from bot.services.status import IncidentLog, StatusReport, StatusService
from bot.services.subscriptions import SubscriptionService, load_planner
from bot.settings import Settings

__all__ = ["App", "SystemClock", "load_taxonomy", "open_app", "run_forever"]

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 7.0  # seconds jobs in flight get to finish at SIGTERM (orchestrators wait 10)
# The default taxonomy, shipped inside the package (an installed wheel has no config/ folder);
# config/topics.toml is the same file, for a team to copy and edit.
_PACKAGED_TOPICS = Path(__file__).resolve().parent / "topics.toml"


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
    slack_installations: AsyncSQLAlchemyInstallationStore | None
    store: SqlStore
    clock: SystemClock
    lookup: LookupService
    cards: CardService
    ingest: IngestService
    subscriptions: SubscriptionService
    status: StatusService
    platforms: PlatformHealthService
    deliver: DeliveryService
    chat: ChatService
    roundups: RoundupService


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
        store = SqlStore(engine, redact=Redactor(settings.secrets()))
        async with HttpClient.from_settings(settings) as http:
            sources = build_sources(settings, http)
            listing: dict[str, ListingSource] = {"arxiv": sources.rss}
            if settings.hf_enabled:
                listing["hf"] = sources.hf
            tiers = _tiers(settings)
            cards = CardService(store, tiers, taxonomy, clock)
            # Made here, connected by their first post: a command that posts nothing never
            # logs in to Discord or Slack, and one that is down stops only its own deliveries.
            console = ConsolePublisher()
            publishers: dict[Platform, Publisher] = {Platform.CONSOLE: console}
            posters: dict[Platform, RoundupPublisher] = {Platform.CONSOLE: console}
            discord_pub = slack_pub = None
            if settings.discord_token is not None:
                discord_pub = DiscordPublisher.from_settings(settings)
                publishers[Platform.DISCORD] = posters[Platform.DISCORD] = discord_pub
            installations = None
            if settings.slack_oauth:
                assert settings.slack_client_id is not None
                installations = AsyncSQLAlchemyInstallationStore(settings.slack_client_id, engine)
                slack_pub = SlackPublisher.from_settings(
                    settings, InstallationTokens(installations)
                )
            elif settings.slack_bot_token is not None:
                slack_pub = SlackPublisher.from_settings(settings)
            if slack_pub is not None:
                publishers[Platform.SLACK] = posters[Platform.SLACK] = slack_pub
            lookup = LookupService(
                store, sources.api, sources.hf if settings.hf_enabled else None, clock
            )
            subscriptions = SubscriptionService(store, clock)
            status = StatusService(
                store,
                clock,
                sources={
                    "arxiv": settings.arxiv_poll_minutes,
                    **({"hf": settings.hf_poll_minutes} if settings.hf_enabled else {}),
                },
                platforms={
                    Platform.DISCORD: settings.discord_token is not None,
                    Platform.SLACK: settings.slack_enabled,
                },
                database=describe_url(settings.database_url),
            )
            platforms = PlatformHealthService(store, clock)
            roundups = RoundupService(
                store, cards, posters, clock, lease_seconds=settings.claim_lease_seconds
            )
            try:
                yield App(
                    settings=settings,
                    engine=engine,
                    slack_installations=installations,
                    store=store,
                    clock=clock,
                    lookup=lookup,
                    cards=cards,
                    ingest=IngestService(
                        store,
                        listing,
                        clock,
                        plan_factory=lambda: load_planner(store, clock),
                        enricher=sources.s2,
                    ),
                    subscriptions=subscriptions,
                    status=status,
                    platforms=platforms,
                    deliver=DeliveryService(
                        store,
                        cards,
                        publishers,
                        clock,
                        lease_seconds=settings.claim_lease_seconds,
                        batch=settings.deliver_batch,
                        health=platforms,
                    ),
                    chat=ChatService(
                        store,
                        clock,
                        lookup=lookup,
                        cards=cards,
                        subscriptions=subscriptions,
                        search=sources.api,
                        status=status,
                        roundups=roundups,
                        slack_manager_group=settings.slack_manager_group,
                    ),
                    roundups=roundups,
                )
            finally:
                for pub in (discord_pub, slack_pub):
                    if pub is not None:
                        await pub.close()
                for spec in tiers:
                    close = getattr(spec.summarizer, "aclose", None)
                    if close is not None:
                        await close()
    finally:
        await engine.dispose()


async def run_forever(app: App, *, stop: asyncio.Event | None = None) -> None:
    """The bot: scheduled polls and deliveries plus the web endpoints, until SIGINT/SIGTERM.

    A failing job (a source, a platform, the database) is reported once, in the log and in
    ``/healthz``, and tried again at its next run; it never ends the process.
    """
    settings = app.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    incidents = IncidentLog(log)
    log.info("database: %s", describe_url(settings.database_url))

    running: set[asyncio.Task[object]] = set()  # jobs in flight, finished before exiting

    async def guarded(name: str, job: Callable[[], Awaitable[object]]) -> None:
        task = asyncio.current_task()
        if task is not None:
            running.add(task)
        try:
            await job()
        except DatabaseError as exc:
            incidents.failed("database", f"database unavailable: {exc}")
            return
        except Exception as exc:  # one line; the traceback only at DEBUG
            log.error("%s failed: %s: %s", name, type(exc).__name__, exc)
            log.debug("%s failed", name, exc_info=True)
            return
        finally:
            if task is not None:
                running.discard(task)
        incidents.recovered("database", "database is back")

    async def poll(name: str) -> None:
        report = await app.ingest.poll(name)
        log.log(logging.INFO if report.ok else logging.WARNING, "%s", report.summary())

    async def deliver() -> None:
        posted = await app.roundups.send_due()
        if posted.posted or posted.retried:
            log.info("roundups: %d posted, %d to retry", posted.posted, posted.retried)
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
        name: (
            functools.partial(guarded, f"poll {name}", functools.partial(poll, name)),
            float(intervals[name]),
        )
        for name in app.ingest.source_names
    }
    scheduler = build_scheduler(
        polls, (functools.partial(guarded, "deliver", deliver), settings.deliver_every_seconds)
    )

    async def schedule_roundups() -> None:
        """Each channel's weekly roundup at its own day, hour and time zone, as the database
        says now (a channel that changed its settings is rescheduled within a minute)."""
        active = {s.destination_id for s in await app.store.list_subscriptions() if not s.paused}
        wanted = {
            str(d.id): (
                Weekly(d.settings.roundup_day, d.settings.roundup_hour, d.settings.timezone),
                functools.partial(
                    guarded, f"roundup {d.ref}", functools.partial(app.roundups.queue, d.ref)
                ),
            )
            for d in await app.store.list_destinations()
            if d.settings.roundup_enabled and d.id in active
        }
        sync_weekly_jobs(scheduler, "roundup", wanted)

    scheduler.add_job(
        functools.partial(guarded, "roundup schedule", schedule_roundups),
        "interval",
        seconds=60,
        id="roundup-schedule",
        next_run_time=datetime.now(UTC),
        coalesce=True,
        max_instances=1,
    )

    async def health() -> tuple[int, dict[str, object]]:
        try:
            report = await app.status.report()
        except DatabaseError as exc:
            incidents.failed("database", f"database unavailable: {exc}")
            return 503, {"status": "unavailable", "database": str(exc)}
        return 200, health_body(report)

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

    slack = None
    if settings.slack_enabled and not settings.slack_commands:
        log.warning(
            "Slack: cards are posted, but /paper and /papers cannot reach paperwire: set "
            "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode at /slack/events)"
        )
    elif settings.slack_enabled:
        slack = SlackApp(
            SlackMode(
                api_url=settings.slack_api_url,
                bot_token=settings.slack_bot_token,
                app_token=settings.slack_app_token,
                signing_secret=settings.slack_signing_secret,
                client_id=settings.slack_client_id if settings.slack_oauth else None,
                client_secret=settings.slack_client_secret,
                manager_group=settings.slack_manager_group,
            ),
            app.chat,
            app.engine,
            app.slack_installations,
        )
    web = WebServer(
        settings.web_host, settings.web_port, health, metrics, slack.routes() if slack else ()
    )
    try:
        await web.start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise ConfigError(
            f"port {settings.web_port} is already in use (is another paperwire running?): "
            "set PAPERWIRE_WEB_PORT (or PORT) to a free port, e.g. PAPERWIRE_WEB_PORT=8081"
        ) from None
    await guarded("start", app.deliver.recheck_platforms)
    gateways: list[DiscordGateway] = []
    if settings.discord_token is not None:

        async def report_discord(problem: str | None, refused: bool) -> None:
            async def record() -> None:
                if problem is None:
                    await app.platforms.up(Platform.DISCORD)
                else:
                    await app.platforms.down(Platform.DISCORD, problem, refused=refused)

            await guarded("discord status", record)

        gateways.append(
            DiscordGateway(
                settings.discord_token,
                app.chat,
                api_url=settings.discord_api_url,
                gateway_url=settings.discord_gateway_url,
                guild_id=settings.discord_guild_id,
                report=report_discord,
            )
        )
    for gateway in gateways:
        await gateway.start()
    if slack is not None:
        await guarded("slack start", slack.start)
    scheduler.start()
    if not settings.has_chat:
        log.info("no chat token set: cards for the console destination print here")
    with contextlib.suppress(DatabaseError):
        if not await app.store.list_subscriptions():
            log.info(
                "no subscriptions yet: papers are stored, nothing is posted; subscribe with e.g. "
                '`paperwire subs add console "cat:cs.CL -survey"` (it starts from the next poll)'
            )
    try:
        await stop.wait()
    finally:
        # No new jobs; the ones in flight (a poll, posts) finish, within a bound, and rows
        # claimed but not begun are handed back for the next start or another worker.
        scheduler.pause()
        app.deliver.stop()
        if running:
            log.info("finishing %d jobs in flight before stopping", len(running))
            await asyncio.wait(set(running), timeout=SHUTDOWN_GRACE)
        scheduler.shutdown(wait=False)
        for gateway in gateways:
            await gateway.stop()
        if slack is not None:
            await slack.stop()
        await web.stop()


def health_body(report: StatusReport) -> dict[str, object]:
    """/healthz's JSON: "ok", or "degraded" with each problem (a source failing or never
    polled, a platform paused); the process itself works, so the HTTP status stays 200."""
    return {
        "status": "ok" if report.healthy else "degraded",
        "problems": report.problems,
        "database": report.database,
        "sources": {s.name: {"state": s.state.value, "message": s.message} for s in report.sources},
        "platforms": {
            p.platform.value: {
                "configured": p.configured,
                "waiting": p.waiting,
                "paused": p.paused_reason,
            }
            for p in report.platforms
        },
        "queue": {"pending": report.queue.pending, "in_progress": report.queue.claimed},
    }
