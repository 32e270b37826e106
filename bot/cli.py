"""The command line (DESIGN.md section 9): a stable interface other tools rely on.

Exit codes: 0 success; 2 bad input (one line on stderr saying what to type instead);
1 anything else (one line on stderr, no traceback unless PAPERWIRE_DEBUG=1).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from typing import Any, NoReturn

from bot import commands
from bot.commands import BAD_INPUT, FAILURE
from bot.settings import SettingsError, load_settings

__all__ = ["build_parser", "main"]

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="paperwire",
        description="A research-paper bot for Discord and Slack: arXiv and Hugging Face Daily "
        "Papers as short cards, /paper lookups and weekly roundups.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser("run", help="the bot: scheduler + Discord + Slack + web endpoints")
    run.add_argument("--once", action="store_true", help="poll, match, deliver once, then exit")
    run.add_argument(
        "--dry-run", action="store_true", help="print what would be posted; post and store nothing"
    )

    poll = sub.add_parser("poll", help="one ingest cycle; prints what was new, updated, skipped")
    poll.add_argument("--source", choices=["arxiv", "hf", "all"], default="all")
    poll.add_argument(
        "--day",
        type=_day,
        metavar="YYYY-MM-DD",
        help="read Hugging Face Daily Papers up to this day (default: today, UTC)",
    )

    card = sub.add_parser("card", help="the card for one paper (fetching it if needed)")
    card.add_argument("paper", metavar="ID_OR_URL", help="an arXiv id or an arXiv/HF/alphaXiv link")
    card.add_argument(
        "--format",
        choices=["text", "json", "discord", "slack"],
        default="text",
        help="discord/slack print the exact payload that would be sent",
    )

    sub.add_parser(
        "summarize",
        help='JSON lines in ({"title","abstract"}), JSON lines out ({"tldr","points","topic"})',
    )

    subs = sub.add_parser("subs", help="manage subscriptions without a chat client")
    subs_sub = subs.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    subs_sub.required = True
    dest_help = "discord:CHANNEL_ID, slack:TEAM_ID/CHANNEL_ID, or console"
    add = subs_sub.add_parser("add", help="subscribe a destination to a query")
    add.add_argument("destination", metavar="DESTINATION", help=dest_help)
    add.add_argument("query", metavar="QUERY", nargs="?", help='e.g. "cat:cs.CL -survey"')
    add.add_argument(
        "--backfill",
        type=int,
        default=0,
        metavar="DAYS",
        help="also deliver matching papers seen in the last DAYS days (default: start from now)",
    )
    remove = subs_sub.add_parser("remove", help="remove a subscription (by id or query)")
    remove.add_argument("destination", metavar="DESTINATION", help=dest_help)
    remove.add_argument("query", metavar="ID_OR_QUERY", nargs="?")
    lst = subs_sub.add_parser("list", help="list a destination's subscriptions (or all)")
    lst.add_argument("destination", metavar="DESTINATION", nargs="?", help=dest_help)
    for verb, what in (("pause", "pause a subscription"), ("resume", "resume a subscription")):
        cmd = subs_sub.add_parser(verb, help=f"{what}; with no ID, {verb} the whole destination")
        cmd.add_argument("destination", metavar="DESTINATION", help=dest_help)
        cmd.add_argument("query", metavar="ID_OR_QUERY", nargs="?")
    settings = subs_sub.add_parser(
        "settings",
        help="show or change a destination's settings: timezone, mode (each|digest), "
        "digest_hour, revisions (yes|no), roundup (yes|no), roundup_day, roundup_hour",
    )
    settings.add_argument("destination", metavar="DESTINATION", help=dest_help)
    settings.add_argument("changes", metavar="KEY=VALUE", nargs="*")

    roundup = sub.add_parser("roundup", help="the weekly roundup for one destination")
    roundup.add_argument("destination", metavar="DESTINATION")
    roundup.add_argument("--week", metavar="YYYY-Www", help="an ISO week (default: this week)")
    roundup.add_argument("--dry-run", action="store_true", help="print it; post nothing")

    sub.add_parser("status", help="sources' last success, queue depth, next runs, errors")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    db_sub.required = True
    db_sub.add_parser("upgrade", help="apply migrations")
    return parser


def _handler(args: argparse.Namespace) -> Callable[..., Coroutine[Any, Any, int]]:
    name = args.command
    if name in {"subs", "db"}:
        name = f"{name}_{args.action}"
    return getattr(commands, f"cmd_{name}")  # type: ignore[no-any-return]  # every command has one


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-06-12") from None


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; a subscription query that starts with '-' (like "-survey") is still a query."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "command", None) == "subs" and args.action == "add":
        parts = [p for p in (args.query, *extra) if p]
        if not parts:
            parser.error(f"subs {args.action} needs a destination and a QUERY")
        args.query = " ".join(parts)
    elif getattr(args, "command", None) == "subs" and args.action == "remove" and not args.query:
        parser.error("subs remove needs a destination and a subscription ID or QUERY")
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    debug = os.environ.get("PAPERWIRE_DEBUG") == "1"
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"paperwire: {exc}", file=sys.stderr)
        return 2
    # The bot logs at the configured level; one-shot commands keep stderr for their one line
    # (and warnings), so a script reading it is not flooded.
    level = getattr(logging, settings.log_level) if args.command == "run" else logging.WARNING
    logging.basicConfig(
        level=logging.DEBUG if debug else level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Libraries speak only when something is wrong (APScheduler logs every job run at INFO).
    for noisy in ("alembic", "apscheduler", "discord", "slack_sdk", "httpx", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
    try:
        return asyncio.run(_handler(args)(settings, args))
    except BAD_INPUT as exc:
        print(f"paperwire: {exc}", file=sys.stderr)
        return 2
    except FAILURE as exc:
        print(f"paperwire: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, not a traceback
        if debug:
            raise
        log.debug("unexpected error", exc_info=True)
        print(
            f"paperwire: unexpected error: {type(exc).__name__}: {exc} "
            "(set PAPERWIRE_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1
