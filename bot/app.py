"""The composition root: builds the clients, the store and the services; opens and closes them.

Only this module (and the command line above it) knows every adapter. Nothing is built at
import time: ``open_app`` builds everything inside an async context and closes it on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import gc
import hashlib
import logging
import signal
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.console import ConsolePublisher
from bot.adapters.db.engine import DatabaseError, check_migrated, create_engine, describe_url
from bot.adapters.db.leader import Leadership
from bot.adapters.db.store import SqlStore
from bot.adapters.metrics import Metrics
from bot.adapters.roundup_web import (
    ATOM_CONTENT_TYPE,
    HTML_CONTENT_TYPE,
    render_roundup_atom,
    render_roundup_html,
)
from bot.adapters.scheduler import Job, Weekly, build_scheduler, sync_weekly_jobs
from bot.adapters.sources import HttpClient, build_sources
from bot.adapters.summarizers.llm import LLMSummarizer
from bot.adapters.web import WebServer
from bot.core.models import (
    DeliveryMode,
    Destination,
    DestinationRef,
    InvalidDestination,
    Platform,
)
from bot.core.redact import Redactor
from bot.core.roundup import weekly_moment
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
from bot.services.subscriptions import IndexCache, SubscriptionService, load_planner
from bot.settings import Settings

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore

    from bot.adapters.discord.bot import DiscordGateway
    from bot.adapters.slack.bot import SlackApp

__all__ = [
    "App",
    "Runtime",
    "SystemClock",
    "card_recipe",
    "load_taxonomy",
    "open_app",
    "run_forever",
]

log = logging.getLogger(__name__)
# The roundup page's policy again as headers (frame-ancestors only works as a header).
_PAGE_HEADERS = {
    "Content-Type": HTML_CONTENT_TYPE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CATCH_UP = timedelta(hours=12)  # a missed roundup this recent is posted late, not skipped
SHUTDOWN_GRACE = 7.0  # seconds jobs in flight get to finish at SIGTERM (orchestrators wait 10)
# The default taxonomy, shipped inside the package (an installed wheel has no config/ folder);
# config/topics.toml is the same file, for a team to copy and edit.
_PACKAGED_TOPICS = Path(__file__).resolve().parent / "topics.toml"


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names it and the fix."""


def card_recipe(taxonomy: Taxonomy) -> str:
    """The fingerprint of what makes a card's prepared parts: the offline summarizer's code
    (with the text cleaning it uses) and the taxonomy. Any change makes them again."""
    import bot.core.summarize
    import bot.core.text
    import bot.core.topics

    rules = [
        (r.key, r.name, r.emoji, r.keywords, sorted(r.categories)) for r in taxonomy.rules
    ]  # sorted: a set's order changes from one process to the next
    digest = hashlib.sha256(repr((rules, taxonomy.fallback, taxonomy.scoring)).encode())
    for module in (bot.core.summarize, bot.core.text, bot.core.topics):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


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
    publishers: dict[Platform, Publisher]


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
            cards = CardService(store, tiers, taxonomy, clock, recipe=card_recipe(taxonomy))
            # Made here, connected by their first post: a command that posts nothing never
            # logs in to Discord or Slack, and one that is down stops only its own deliveries.
            console = ConsolePublisher()
            publishers: dict[Platform, Publisher] = {Platform.CONSOLE: console}
            posters: dict[Platform, RoundupPublisher] = {Platform.CONSOLE: console}
            discord_pub = slack_pub = None
            # The chat libraries are imported only when configured: commands start faster.
            if settings.discord_token is not None:
                from bot.adapters.discord.publisher import DiscordPublisher

                discord_pub = DiscordPublisher.from_settings(settings)
                publishers[Platform.DISCORD] = posters[Platform.DISCORD] = discord_pub
            installations = None
            if settings.slack_enabled:
                from slack_sdk.oauth.installation_store.sqlalchemy import (
                    AsyncSQLAlchemyInstallationStore,
                )

                from bot.adapters.slack.publisher import InstallationTokens, SlackPublisher
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
                platforms={p: settings.can_post_to(p) for p in (Platform.DISCORD, Platform.SLACK)},
                database=describe_url(settings.database_url),
            )
            platforms = PlatformHealthService(store, clock)
            index_cache = IndexCache()
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
                        plan_factory=lambda: load_planner(store, clock, index_cache),
                        enricher=sources.s2,
                        prepare=cards.prepare,
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
                        concurrency=settings.deliver_concurrency,
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
                    publishers=publishers,
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
    """The bot, until SIGINT/SIGTERM (or ``stop``): see ``Runtime``."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    runtime = Runtime(app)
    await runtime.start()
    try:
        await stop.wait()
    finally:
        await runtime.stop()


class Runtime:
    """The long-lived process, in one place: what starts, in which order, and how it stops.

    Start: the web server (/healthz, /metrics, Slack's HTTP endpoints), the leadership
    (PostgreSQL: one process polls and runs the roundups; every process delivers), the chat
    connections (Discord's gateway, Slack's Socket Mode), then the scheduler's jobs. Stop
    (SIGTERM): no new jobs; the posts in flight finish and claims not begun are handed back,
    within SHUTDOWN_GRACE; then the connections close. A failing job (a source, a platform,
    the database) is reported once, in the log and in /healthz, and tried again at its next
    run: it never ends the process.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings
        self.incidents = IncidentLog(log)
        self.metrics = Metrics()
        self.leadership = Leadership(app.engine, on_lead=self._took_over)
        self._running: set[asyncio.Task[object]] = set()  # jobs in flight
        self._scheduler: AsyncIOScheduler | None = None
        self._gateways: list[DiscordGateway] = []
        self._slack: SlackApp | None = None
        self._web: WebServer | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        settings, app = self.settings, self.app
        log.info("database: %s", describe_url(settings.database_url))
        self._slack = self._slack_app()
        await self._start_web()
        await self.leadership.start()
        await self.guarded("start", app.deliver.recheck_platforms)
        if settings.discord_token is not None:
            from bot.adapters.discord.bot import DiscordGateway

            self._gateways.append(
                DiscordGateway(
                    settings.discord_token,
                    app.chat,
                    api_url=settings.discord_api_url,
                    gateway_url=settings.discord_gateway_url,
                    guild_id=settings.discord_guild_id,
                    report=self._report_discord,
                    on_lookup=self.metrics.observe_lookup,
                    shard_count=settings.discord_shard_count,
                    shard_ids=settings.discord_shard_ids,
                )
            )
        for gateway in self._gateways:
            await gateway.start()
        if self._slack is not None:
            await self.guarded("slack start", self._slack.start)
        self._scheduler = self._build_scheduler()
        self._scheduler.start()
        # What start-up made (modules, the command tree, caches) lives as long as the process:
        # out of the collector's way, a full collection no longer walks it (pauses of tens of
        # milliseconds in the middle of a burst of commands otherwise).
        gc.collect()
        gc.freeze()
        if not settings.has_chat:
            log.info("no chat token set: cards for the console destination print here")
        with contextlib.suppress(DatabaseError):
            if not await app.store.list_subscriptions():
                log.info(
                    "no subscriptions yet: papers are stored, nothing is posted; subscribe with "
                    'e.g. `paperwire subs add console "cat:cs.CL -survey"` (it starts from the '
                    "next poll)"
                )

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.pause()
        self.app.deliver.stop()
        if self._running:
            log.info("finishing %d jobs in flight before stopping", len(self._running))
            await asyncio.wait(set(self._running), timeout=SHUTDOWN_GRACE)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        for gateway in self._gateways:
            await gateway.stop()
        if self._slack is not None:
            await self._slack.stop()
        await self.leadership.stop()
        if self._web is not None:
            await self._web.stop()

    # --- the jobs ---------------------------------------------------------------------------

    async def guarded(self, name: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run a job; its failure is one log line (the database's: reported once)."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await job()
        except DatabaseError as exc:
            self.incidents.failed("database", f"database unavailable: {exc}")
            return
        except Exception as exc:  # one line; the traceback only at DEBUG
            log.error("%s failed: %s: %s", name, type(exc).__name__, exc)
            log.debug("%s failed", name, exc_info=True)
            return
        finally:
            if task is not None:
                self._running.discard(task)
        self.incidents.recovered("database", "database is back")

    def _job(self, name: str, job: Callable[[], Awaitable[object]], *, leader: bool = False) -> Job:
        async def run() -> None:
            if leader and not self.leadership.is_leader:
                return  # another process polls and runs the roundups
            await self.guarded(name, job)

        return run

    async def _poll(self, name: str) -> None:
        report = await self.app.ingest.poll(name)
        outcome = "failed" if not report.ok else "not_modified" if report.not_modified else "ok"
        self.metrics.polls.labels(name, outcome).inc()
        log.log(logging.INFO if report.ok else logging.WARNING, "%s", report.summary())

    async def _deliver(self) -> None:
        app = self.app
        posted = await app.roundups.send_due()
        if posted.posted or posted.retried:
            log.info("roundups: %d posted, %d to retry", posted.posted, posted.retried)
        report = await app.deliver.run_once()
        self.metrics.count_deliveries((p, o, n) for (p, o), n in report.outcomes.items())
        if report.handled:
            log.info(
                "delivered %d, retrying %d, reconciled %d",
                report.sent,
                report.retried,
                report.reconciled,
            )
        for line in report.paused:
            log.warning("paused %s", line)

    async def _schedule_roundups(self) -> None:
        """Each channel's weekly roundup at its own day, hour and time zone, as the database
        says now (a channel that changed its settings is rescheduled within a minute)."""
        app = self.app
        assert self._scheduler is not None
        active = {s.destination_id for s in await app.store.list_subscriptions() if not s.paused}
        wanted = {
            str(d.id): (
                Weekly(d.settings.roundup_day, d.settings.roundup_hour, d.settings.timezone),
                self._job(
                    f"roundup {d.ref}", functools.partial(app.roundups.queue, d.ref), leader=True
                ),
            )
            for d in await app.store.list_destinations()
            if d.settings.roundup_enabled and d.id in active
        }
        sync_weekly_jobs(self._scheduler, "roundup", wanted)
        # A channel in digest mode: every day at its digest hour, in its time zone.
        digests = {
            str(d.id): (
                Weekly("mon-sun", d.settings.digest_hour, d.settings.timezone),
                self._job(
                    f"digest {d.ref}",
                    functools.partial(app.roundups.queue_digest, d.ref),
                    leader=True,
                ),
            )
            for d in await app.store.list_destinations()
            if d.settings.mode is DeliveryMode.DIGEST and d.id in active
        }
        sync_weekly_jobs(self._scheduler, "digest", digests)
        if self.leadership.is_leader:
            await self._catch_up_roundups()

    async def _catch_up_roundups(self) -> None:
        """A roundup whose time this week passed while no process was running (within
        CATCH_UP) is queued now: late rather than lost. Queued ones are not queued again."""
        app = self.app
        now = app.clock.now()
        active = {s.destination_id for s in await app.store.list_subscriptions() if not s.paused}
        for dest in await app.store.list_destinations():
            if not dest.settings.roundup_enabled or dest.id not in active:
                continue
            period = app.roundups.period(dest)
            due = weekly_moment(period, dest.settings.roundup_day, dest.settings.roundup_hour)
            if not due <= now < due + CATCH_UP:
                continue
            if await app.store.list_roundups(dest.id, label=period.label, limit=1):
                continue
            log.info("roundup of %s was due %s: queued now", dest.ref, due.isoformat())
            await app.roundups.queue(dest.ref, label=period.label)

    def _took_over(self) -> None:
        """This process just became the leader (the last one died): poll now, not at the next
        interval, so the sources are not left unpolled."""
        if self._scheduler is None:
            return
        now = datetime.now(UTC)
        for job in self._scheduler.get_jobs():
            if job.id.startswith("poll:") or job.id == "roundup-schedule":
                job.modify(next_run_time=now)

    async def _housekeeping(self) -> None:
        before = self.app.clock.now() - timedelta(days=self.settings.retention_days)
        pruned = await self.app.store.prune(before=before)
        if any(pruned.values()):
            log.info("housekeeping: deleted %s older than %s", pruned, before.date())

    def _build_scheduler(self) -> AsyncIOScheduler:
        settings = self.settings
        intervals = {"arxiv": settings.arxiv_poll_minutes, "hf": settings.hf_poll_minutes}
        polls = {
            name: (
                self._job(f"poll {name}", functools.partial(self._poll, name), leader=True),
                float(intervals[name]),
            )
            for name in self.app.ingest.source_names
        }
        scheduler = build_scheduler(
            polls, (self._job("deliver", self._deliver), settings.deliver_every_seconds)
        )
        now = datetime.now(UTC)
        scheduler.add_job(
            self._job("roundup schedule", self._schedule_roundups),
            "interval",
            seconds=60,
            id="roundup-schedule",
            # After the first polls: a roundup caught up at start includes what they bring.
            next_run_time=now + timedelta(seconds=15),
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_job(
            self._job("housekeeping", self._housekeeping, leader=True),
            "interval",
            hours=24,
            id="housekeeping",
            next_run_time=now + timedelta(minutes=5),
            coalesce=True,
            max_instances=1,
        )
        return scheduler

    # --- the web endpoints and the chat side -------------------------------------------------

    async def _start_web(self) -> None:
        settings = self.settings
        routes = list(self._slack.routes()) if self._slack else []
        routes.append(("GET", "/roundups/{destination}/{period}", self._roundup_page))
        routes.append(("GET", "/roundups/{feed}", self._roundup_feed))
        self._web = WebServer(
            settings.web_host, settings.web_port, self._health, self._scrape, routes
        )
        try:
            await self._web.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise ConfigError(
                f"port {settings.web_port} is already in use (is another paperwire running?): "
                "set PAPERWIRE_WEB_PORT (or PORT) to a free port, e.g. PAPERWIRE_WEB_PORT=8081"
            ) from None

    async def _health(self) -> tuple[int, dict[str, object]]:
        try:
            report = await self.app.status.report()
        except DatabaseError as exc:
            self.incidents.failed("database", f"database unavailable: {exc}")
            return 503, {"status": "unavailable", "database": str(exc)}
        body = health_body(report)
        body["leader"] = self.leadership.is_leader
        return 200, body

    async def _scrape(self) -> bytes:
        store = self.app.store
        self.metrics.describe(
            now=self.app.clock.now(),
            papers=await store.count_papers(),
            queue=await store.queue_stats(),
            polls=await store.all_poll_states(),
            leader=self.leadership.is_leader,
        )
        for platform, publisher in self.app.publishers.items():
            seen = getattr(publisher, "rate_limited", None)
            if isinstance(seen, int):
                self.metrics.count_rate_limited(platform, seen)
        return self.metrics.exposition()

    # --- the roundups on the web (only a channel that chose roundup_public=yes) -------------

    async def _published(self, slug: str) -> Destination | None:
        try:
            ref = DestinationRef.from_slug(slug)
        except InvalidDestination:
            return None
        dest = await self.app.store.get_destination(ref)
        return dest if dest is not None and dest.settings.roundup_public else None

    async def _roundup_page(self, request: web.Request) -> web.StreamResponse:
        slug = request.match_info["destination"]
        try:
            dest = await self._published(slug)
            found = (
                await self.app.store.list_roundups(
                    dest.id, label=request.match_info["period"], limit=1
                )
                if dest is not None
                else []
            )
        except DatabaseError:
            return web.Response(status=503, text="database unavailable")
        if dest is None or not found:
            return web.Response(status=404, text="no such published roundup")
        page = render_roundup_html(
            found[0].roundup, channel_label=str(dest.ref), feed_url=f"/roundups/{slug}.atom"
        )
        return web.Response(text=page, headers=_PAGE_HEADERS)

    async def _roundup_feed(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["feed"]
        if not name.endswith(".atom"):
            return web.Response(status=404, text="not found")
        slug = name.removesuffix(".atom")
        try:
            dest = await self._published(slug)
            posted = (
                [q for q in await self.app.store.list_roundups(dest.id) if q.status.value == "sent"]
                if dest is not None
                else []
            )
        except DatabaseError:
            return web.Response(status=503, text="database unavailable")
        if dest is None:
            return web.Response(status=404, text="no such published feed")
        base = (self.settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
        feed = render_roundup_atom(
            [q.roundup for q in posted],
            channel_label=str(dest.ref),
            feed_url=f"{base}/roundups/{name}",
            page_url=lambda r: f"{base}/roundups/{slug}/{r.period.label}",
            updated=self.app.clock.now(),
        )
        return web.Response(body=feed, headers={"Content-Type": ATOM_CONTENT_TYPE})

    async def _report_discord(self, problem: str | None, refused: bool) -> None:
        async def record() -> None:
            if problem is None:
                await self.app.platforms.up(Platform.DISCORD)
            else:
                await self.app.platforms.down(Platform.DISCORD, problem, refused=refused)

        await self.guarded("discord status", record)

    def _slack_app(self) -> SlackApp | None:
        settings = self.settings
        if settings.slack_enabled and not settings.slack_commands:
            log.warning(
                "Slack: cards are posted, but /paper and /papers cannot reach paperwire: set "
                "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode at "
                "/slack/events)"
            )
            return None
        if not settings.slack_enabled:
            return None
        from bot.adapters.slack.bot import SlackApp, SlackMode

        return SlackApp(
            SlackMode(
                api_url=settings.slack_api_url,
                bot_token=settings.slack_bot_token,
                app_token=settings.slack_app_token,
                signing_secret=settings.slack_signing_secret,
                client_id=settings.slack_client_id if settings.slack_oauth else None,
                client_secret=settings.slack_client_secret,
                manager_group=settings.slack_manager_group,
            ),
            self.app.chat,
            self.app.engine,
            self.app.slack_installations,
            on_lookup=self.metrics.observe_lookup,
        )


def health_body(report: StatusReport) -> dict[str, object]:
    """/healthz's JSON: "ok", or "degraded" with each problem (a source failing or never
    polled, a platform paused); the process itself works, so the HTTP status stays 200."""
    return {
        "status": "ok" if report.healthy else "degraded",
        "problems": report.problems,
        "database": report.database,
        "sources": {
            s.name: {
                "state": s.state.value,
                "message": s.message,
                "last_attempt": s.last_attempt.isoformat() if s.last_attempt else None,
            }
            for s in report.sources
        },
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
