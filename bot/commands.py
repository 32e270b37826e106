"""The bodies of the command-line commands (``bot.cli`` parses, these act).

Each command returns its exit code. Errors a person can fix raise ``UsageError`` (exit 2);
errors of the world (a source down, an un-migrated database) raise ``UserFacingError`` (exit 1);
both carry one line that says what to do.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.adapters.console import render_text
from bot.adapters.db.engine import DatabaseError, create_engine, describe_url, upgrade
from bot.adapters.discord.render import render_discord
from bot.adapters.discord.roundup import render_discord_roundup
from bot.adapters.roundup_text import render_roundup_text, roundup_json
from bot.adapters.slack.manifest import InvalidRequestURL, http_manifest_text, manifest_text
from bot.adapters.slack.render import render_slack
from bot.adapters.slack.roundup import render_slack_roundup
from bot.app import App, ConfigError, open_app, run_forever
from bot.core.calendar import ago, until
from bot.core.ids import InvalidArxivId, parse_arxiv_id
from bot.core.models import (
    Card,
    DestinationRef,
    InvalidDestination,
    Roundup,
    RoundupStatus,
)
from bot.core.query import QueryError
from bot.core.settings_text import describe_settings
from bot.core.summarize import summarize
from bot.core.topics import classify
from bot.services.ports import PaperNotFound, SourceError
from bot.services.status import PLATFORM_SETTING
from bot.services.subscriptions import SubscriptionNotFound
from bot.settings import Settings

__all__ = ["BAD_INPUT", "FAILURE", "UsageError", "UserFacingError"]


class UsageError(ValueError):
    """Bad input: exit 2 with this one line."""


class UserFacingError(RuntimeError):
    """The command could not do its job: exit 1 with this one line."""


# Which errors are the person's to fix (exit 2) and which are the world's (exit 1).
BAD_INPUT: tuple[type[Exception], ...] = (UsageError, ConfigError)
FAILURE: tuple[type[Exception], ...] = (UserFacingError, DatabaseError)


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


# --- db ---------------------------------------------------------------------------------


async def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    engine = create_engine(settings.database_url)
    try:
        before, after = await upgrade(engine)
    except DatabaseError as exc:
        raise UserFacingError(str(exc)) from exc
    finally:
        await engine.dispose()
    where = describe_url(settings.database_url)
    if before == after:
        _out(f"{where}: already at revision {after}")
    else:
        _out(f"{where}: upgraded from {before or 'empty'} to revision {after}")
    return 0


# --- card -------------------------------------------------------------------------------


def _card_json(card: Card) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if hasattr(value, "__dataclass_fields__"):
            return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
        return value

    data: dict[str, Any] = plain(card)
    data["versioned_id"] = card.versioned_id
    return data


_FORMATS: dict[str, Callable[[Card], str]] = {
    "text": render_text,
    "json": lambda card: json.dumps(_card_json(card), ensure_ascii=False, indent=2),
    "discord": lambda card: json.dumps(render_discord(card), ensure_ascii=False, indent=2),
    "slack": lambda card: json.dumps(render_slack(card), ensure_ascii=False, indent=2),
}


async def cmd_card(settings: Settings, args: argparse.Namespace) -> int:
    try:
        ident = parse_arxiv_id(args.paper)
    except InvalidArxivId as exc:
        raise UsageError(str(exc)) from exc
    async with open_app(settings) as app:
        try:
            stored = await app.lookup.get(ident.id)
        except PaperNotFound as exc:
            raise UsageError(str(exc)) from exc
        except SourceError as exc:
            raise UserFacingError(
                f"arXiv is unreachable, so {ident.id} cannot be fetched now ({exc.message}); "
                "try again later"
            ) from exc
        card = await app.cards.card_for(stored.paper, stored.parts)
    _out(_FORMATS[args.format](card))
    return 0


# --- poll -------------------------------------------------------------------------------


async def cmd_poll(settings: Settings, args: argparse.Namespace) -> int:
    async with open_app(settings) as app:
        names = app.ingest.source_names if args.source == "all" else [args.source]
        if args.source == "hf" and "hf" not in app.ingest.source_names:
            raise UsageError("Hugging Face is disabled: set PAPERWIRE_HF_ENABLED=true to poll it")
        reports = [await app.ingest.poll(name, today=args.day) for name in names]
    for report in reports:
        _out(report.summary())
        for rejected in report.rejected[:20]:
            _out(f"  rejected {rejected.identifier}: {rejected.reason}")
        if len(report.rejected) > 20:
            _out(f"  ... and {len(report.rejected) - 20} more rejected")
    return 0 if all(r.ok for r in reports) else 1


# --- summarize --------------------------------------------------------------------------


async def cmd_summarize(settings: Settings, args: argparse.Namespace) -> int:
    """JSON lines in, JSON lines out; every line is checked before any output is written."""
    from bot.app import load_taxonomy

    try:
        taxonomy = load_taxonomy(settings)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    items: list[tuple[str, str]] = []
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f'line {number}: not JSON ({exc.msg}); give one {{"title", "abstract"}} '
                "object per line"
            ) from None
        if not isinstance(record, dict) or not isinstance(record.get("abstract"), str):
            raise UsageError(f'line {number}: needs an "abstract" string (and optionally "title")')
        title = record.get("title", "")
        if not isinstance(title, str):
            raise UsageError(f'line {number}: "title" must be a string')
        items.append((title, record["abstract"]))
    for title, abstract in items:
        summary = summarize(title, abstract)
        topic = classify(taxonomy, title, abstract, ())
        _out(
            json.dumps(
                {"tldr": summary.tldr, "points": list(summary.key_points), "topic": topic.name},
                ensure_ascii=False,
            )
        )
    return 0


# --- status -----------------------------------------------------------------------------


async def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    async with open_app(settings) as app:
        report = await app.status.report()
    now = report.now
    _out(f"database: {report.database}")
    _out("sources:")
    for source in report.sources:
        when = ""
        if source.next_due is not None:
            when = (
                "; next poll due now"
                if source.next_due <= now
                else f"; next poll in {until(now, source.next_due)}"
            )
        _out(f"  {source.name}: {source.message}; polled every {source.interval_minutes} min{when}")
    if not settings.hf_enabled:
        _out("  hf: disabled")
    _out(f"papers stored: {report.papers}")
    stats = report.queue
    queue_due = ""
    if stats.oldest_pending is not None:  # a digest's cards are due later, not overdue
        queue_due = (
            f"; next due in {until(now, stats.oldest_pending)}"
            if stats.oldest_pending > now
            else f"; oldest pending due {ago(now, stats.oldest_pending)}"
        )
    _out(
        f"deliveries: {stats.pending} pending, {stats.claimed} in progress, {stats.sent} sent, "
        f"{stats.failed} failed{queue_due}"
    )
    for platform in report.platforms:
        if platform.problem:
            _out(f"  {platform.problem}")
    _out(f"destinations: {report.destinations}, subscriptions: {report.subscriptions}")
    for ref, reason in report.paused:
        _out(f"  {ref}: paused: {reason}")
    return 0


# --- subscriptions -----------------------------------------------------------------------


def _destination(text: str) -> DestinationRef:
    try:
        return DestinationRef.parse(text)
    except InvalidDestination as exc:
        raise UsageError(str(exc)) from exc


async def cmd_subs_add(settings: Settings, args: argparse.Namespace) -> int:
    ref = _destination(args.destination)
    async with open_app(settings) as app:
        try:
            result = await app.subscriptions.add(ref, args.query, backfill_days=args.backfill)
        except QueryError as exc:
            raise UsageError(f"bad query: {exc}") from exc
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    sub = result.subscription
    missing = _missing_token(settings, ref)
    if not result.created:
        _out(f"{ref} already has subscription #{sub.id}: {sub.query}")
        if missing:
            _err(missing)
        return 0
    start = (
        f"with a backfill of {args.backfill} days ({result.backfilled} papers queued)"
        if args.backfill
        else "starting from now (add --backfill DAYS for recent papers)"
    )
    _out(f"subscribed {ref} to #{sub.id}: {sub.query} {start}")
    if missing:
        _err(missing)
    return 0


def _missing_token(settings: Settings, ref: DestinationRef) -> str | None:
    """A note when cards for ``ref`` cannot go out: its platform's credentials are not set."""
    if settings.can_post_to(ref.platform):
        return None
    need = PLATFORM_SETTING.get(ref.platform, f"the {ref.platform.value} token")
    return (
        f"note: {need} is not set, so cards for {ref} wait in the queue: set it and run "
        "`paperwire run` to post them (`paperwire status` shows how many wait)"
    )


async def cmd_subs_remove(settings: Settings, args: argparse.Namespace) -> int:
    ref = _destination(args.destination)
    async with open_app(settings) as app:
        try:
            removed = await app.subscriptions.remove(ref, args.query)
        except SubscriptionNotFound as exc:
            raise UsageError(str(exc)) from exc
    _out(f"removed #{removed.id} from {ref}: {removed.query}")
    return 0


async def cmd_subs_list(settings: Settings, args: argparse.Namespace) -> int:
    ref = _destination(args.destination) if args.destination else None
    async with open_app(settings) as app:
        listing = await app.subscriptions.list(ref)
    if not any(subs for _, subs in listing):
        target = str(ref) if ref else "any destination"
        _out(
            f'no subscriptions for {target}: add one with `paperwire subs add DESTINATION "QUERY"`'
        )
        return 0
    for dest, subs in listing:
        if not subs:
            continue
        paused = f" (paused: {dest.paused_reason})" if dest.paused_reason else ""
        _out(f"{dest.ref}{paused}")
        for sub in subs:
            state = " [paused]" if sub.paused else ""
            _out(f"  #{sub.id}  {sub.query}{state}  since {sub.starts_at:%Y-%m-%d %H:%M} UTC")
    return 0


async def cmd_subs_pause(settings: Settings, args: argparse.Namespace) -> int:
    return await _pause(settings, args, paused=True)


async def cmd_subs_resume(settings: Settings, args: argparse.Namespace) -> int:
    return await _pause(settings, args, paused=False)


async def _pause(settings: Settings, args: argparse.Namespace, *, paused: bool) -> int:
    ref = _destination(args.destination)
    verb = "paused" if paused else "resumed"
    async with open_app(settings) as app:
        try:
            if args.query:
                sub = await app.subscriptions.set_paused(ref, args.query, paused)
                _out(f"{verb} #{sub.id} of {ref}: {sub.query}")
            elif paused:
                raise UsageError(
                    f"name the subscription to pause (see `paperwire subs list {ref}`)"
                )
            else:
                await app.subscriptions.resume_destination(ref)
                _out(f"{verb} {ref}: its queued cards will be posted")
        except SubscriptionNotFound as exc:
            raise UsageError(str(exc)) from exc
    return 0


async def cmd_subs_settings(settings: Settings, args: argparse.Namespace) -> int:
    ref = _destination(args.destination)
    changes: dict[str, str] = {}
    for item in args.changes:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{item!r} is not KEY=VALUE (like timezone=Europe/Paris)")
        changes[key.strip().lower()] = value
    async with open_app(settings) as app:
        try:
            if changes:
                dest = await app.subscriptions.configure(ref, changes)
            else:
                dest = await app.subscriptions.destination(ref)
        except SubscriptionNotFound as exc:
            raise UsageError(str(exc)) from exc
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    _out(f"{ref}: {describe_settings(dest.settings)}")
    return 0


# --- run --------------------------------------------------------------------------------


async def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    async with open_app(settings) as app:
        if args.dry_run:
            return await _dry_run(app)
        if args.once:
            return await _run_once(app)
        await run_forever(app)
    return 0


async def _run_once(app: App) -> int:
    _err(f"database: {describe_url(app.settings.database_url)}")
    await app.deliver.recheck_platforms()  # a token fixed since the last run is tried at once
    reports = await app.ingest.poll_all()
    for report in reports:
        _err(report.summary())
    delivered = await app.deliver.drain()
    _err(
        f"delivered {delivered.sent} cards"
        + (f", {delivered.retried} to retry later" if delivered.retried else "")
        + (f", {delivered.reconciled} found already posted" if delivered.reconciled else "")
    )
    for line in delivered.paused:
        _err(f"paused {line}")
    return 0 if all(r.ok for r in reports) else 1


async def _dry_run(app: App) -> int:
    """Fetch and match like a real cycle, print the cards, and store and post nothing."""
    failed = False
    for name in app.ingest.source_names:
        preview = await app.ingest.preview(name)
        if preview.error is not None:
            _err(f"{name}: failed: {preview.error}")
            failed = True
            continue
        matched = await app.subscriptions.would_deliver(preview.new)
        _err(f"{name}: {len(preview.new)} new papers, {len(matched)} would be posted (dry run)")
        for paper in matched:
            _out(render_text(await app.cards.card_for(paper)))
            _out()
    return 1 if failed else 0


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


# --- roundup ------------------------------------------------------------------------------


async def cmd_roundup(settings: Settings, args: argparse.Namespace) -> int:
    ref = _destination(args.destination)
    async with open_app(settings) as app:
        dest = await app.store.get_destination(ref)
        if dest is None:
            raise UsageError(
                f"{ref} has no subscriptions yet: add one with `paperwire subs add {ref} QUERY`"
            )
        try:
            period = app.roundups.period(dest, label=args.week)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        if args.dry_run:
            roundup = await app.roundups.build(dest, period)
            _out(_roundup_text(roundup, args.format))
            return 0
        queued = await app.roundups.queue(ref, label=period.label)
        assert queued is not None
        report = await app.roundups.send_due()
    if queued.status is RoundupStatus.SILENT:
        _out(f"{ref}: nothing this week, and the channel chose silence: nothing posted")
    elif report.posted:
        _out(f"{ref}: roundup {period.label} posted ({queued.roundup.paper_count} papers)")
    elif queued.status is RoundupStatus.SENT:
        _out(f"{ref}: roundup {period.label} was already posted")
    else:
        for problem in report.problems:
            _err(problem)
        raise UserFacingError(
            f"{ref}: roundup {period.label} is queued but could not be posted yet; "
            "`paperwire run` posts it when the platform takes it"
        )
    return 0


def _roundup_text(roundup: Roundup, form: str) -> str:
    if form == "json":
        return json.dumps(roundup_json(roundup), ensure_ascii=False, indent=2)
    if form == "discord":
        rendered = render_discord_roundup(roundup)
        messages = {
            "thread_name": rendered.thread_name,
            "header": rendered.header,
            "sections": rendered.sections,
        }
        return json.dumps(messages, ensure_ascii=False, indent=2)
    if form == "slack":
        slack = render_slack_roundup(roundup)
        return json.dumps(
            {"header": slack.header, "sections": slack.sections}, ensure_ascii=False, indent=2
        )
    return render_roundup_text(roundup)


# --- slack --------------------------------------------------------------------------------


async def cmd_slack_manifest(settings: Settings, args: argparse.Namespace) -> int:
    """The Slack app manifest: as shipped (Socket Mode), or with --url for HTTP mode."""
    if args.url is None:
        sys.stdout.write(manifest_text())
        return 0
    try:
        text = http_manifest_text(args.url)
    except InvalidRequestURL as exc:
        raise UsageError(str(exc)) from exc
    sys.stdout.write(text)
    return 0
