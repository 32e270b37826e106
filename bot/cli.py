"""The command line (DESIGN.md section 9): a stable interface other tools rely on.

Exit codes: 0 success; 2 bad input (one line on stderr saying what to type instead);
1 anything else (one line on stderr, no traceback unless PAPERWIRE_DEBUG=1).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from typing import Any, NoReturn, TextIO

from bot import commands
from bot.commands import BAD_INPUT, FAILURE
from bot.core.redact import Redactor
from bot.core.settings_text import SETTING_KEYS
from bot.settings import SettingsError, load_settings

__all__ = ["build_parser", "main"]

log = logging.getLogger(__name__)

_WHICH_SUBSCRIPTION = "a subscription ID or QUERY"


class _Formatter(argparse.HelpFormatter):
    """Help that shows a required query (see ``_query``) without the brackets of an optional."""

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        text = super()._format_args(action, default_metavar)
        if action.nargs == argparse.OPTIONAL and action.required and not action.option_strings:
            return text.removeprefix("[").removesuffix("]")
        return text


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line and exits 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _query(
    parser: argparse.ArgumentParser, metavar: str, *, missing: str | None, help: str | None = None
) -> None:
    """A subscription query positional, whose words may start with '-' (like ``-survey``).

    argparse takes such words for unknown options, so to argparse the query is optional and
    ``_parse`` joins the words it left over. ``missing`` (what to say when there are none)
    makes the query required: checked in ``_parse``, and shown without brackets in the usage.
    """
    action = parser.add_argument("query", metavar=metavar, nargs="?", help=help)
    # argparse never reports a missing "?" positional itself: _parse does, with ``missing``.
    action.required = missing is not None
    parser.set_defaults(query_missing=missing)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="paperwire",
        description="A research-paper bot for Discord and Slack: arXiv and Hugging Face Daily "
        "Papers as short cards, /paper lookups and weekly roundups.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser(
        "run",
        help="the bot: scheduler + Discord + Slack + web endpoints",
        description="Run the bot until stopped (Ctrl-C): poll arXiv and Hugging Face Daily "
        "Papers on their schedules, queue a card for every subscription a new paper matches, "
        "post the cards to Discord and Slack (or print them, for the console destination) and "
        "answer /healthz and /metrics on the web port. Without chat tokens it still polls, "
        "stores and prints the console's cards.",
    )
    run.add_argument("--once", action="store_true", help="poll, match, deliver once, then exit")
    run.add_argument(
        "--dry-run", action="store_true", help="print what would be posted; post and store nothing"
    )

    poll = sub.add_parser(
        "poll",
        help="one ingest cycle; prints what was new, updated, skipped",
        description="Fetch the sources once, store the new and updated papers, queue their "
        "cards for the subscriptions they match, and print what was new, updated and rejected. "
        "Nothing is posted here: `paperwire run` delivers the queue.",
    )
    poll.add_argument("--source", choices=["arxiv", "hf", "all"], default="all")
    poll.add_argument(
        "--day",
        type=_day,
        metavar="YYYY-MM-DD",
        help="read Hugging Face Daily Papers up to this day (default: today, UTC)",
    )

    card = sub.add_parser(
        "card",
        help="the card for one paper (fetching it if needed)",
        description="Print the card for one paper, fetching it from arXiv when it is not stored "
        "yet. ID_OR_URL is an arXiv id in any usual form (2403.13043, arXiv:2403.13043v2, "
        "hep-th/9901001, arXiv:2403.13043 [cs.CL]) or an arxiv.org, Hugging Face or alphaXiv "
        "paper link.",
    )
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
        description="Summarize abstracts offline, as the bot does when no LLM is set up: read "
        'one JSON object per line on standard input, with an "abstract" and optionally a '
        '"title", and write one JSON object per line with its "tldr", key "points" and '
        '"topic". Every line is checked before anything is written.',
    )

    dest_help = "discord:CHANNEL_ID, slack:TEAM_ID/CHANNEL_ID, or console"
    subs = sub.add_parser(
        "subs",
        help="manage subscriptions without a chat client",
        description="Manage subscriptions without a chat client. DESTINATION is "
        f"{dest_help} (the terminal: `paperwire run` prints its cards).",
    )
    subs_sub = subs.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    subs_sub.required = True
    add = subs_sub.add_parser(
        "add",
        help="subscribe a destination to a query",
        description="Subscribe DESTINATION to the papers QUERY matches, from now on. A query "
        'ANDs its terms, like cat:cs.CL "mixture of experts" -survey (see the README); it may '
        "be one quoted argument or several words.",
    )
    add.add_argument("destination", metavar="DESTINATION", help=dest_help)
    _query(add, "QUERY", missing="a QUERY", help='e.g. "cat:cs.CL -survey"')
    add.add_argument(
        "--backfill",
        type=int,
        default=0,
        metavar="DAYS",
        help="also deliver matching papers seen in the last DAYS days (default: start from now)",
    )
    remove = subs_sub.add_parser(
        "remove",
        help="remove a subscription (by id or query)",
        description="Remove one of DESTINATION's subscriptions, named by its id (as `paperwire "
        "subs list` shows it) or by its query.",
    )
    remove.add_argument("destination", metavar="DESTINATION", help=dest_help)
    _query(remove, "ID_OR_QUERY", missing=_WHICH_SUBSCRIPTION)
    lst = subs_sub.add_parser(
        "list",
        help="list a destination's subscriptions (or all)",
        description="List DESTINATION's subscriptions (or every destination's) with their ids, "
        "and which are paused.",
    )
    lst.add_argument("destination", metavar="DESTINATION", nargs="?", help=dest_help)
    pause = subs_sub.add_parser(
        "pause",
        help="pause a subscription (by id or query)",
        description="Pause one of DESTINATION's subscriptions, named by its id or query: it "
        "gets no cards until it is resumed.",
    )
    pause.add_argument("destination", metavar="DESTINATION", help=dest_help)
    _query(pause, "ID_OR_QUERY", missing=_WHICH_SUBSCRIPTION)
    resume = subs_sub.add_parser(
        "resume",
        help="resume a subscription; with no ID, the whole destination",
        description="Resume one of DESTINATION's paused subscriptions, named by its id or "
        "query. With no ID_OR_QUERY, resume the destination itself after a platform paused "
        "it (the reason shows in `paperwire status`): its queued cards are posted.",
    )
    resume.add_argument("destination", metavar="DESTINATION", help=dest_help)
    _query(resume, "ID_OR_QUERY", missing=None)
    settings = subs_sub.add_parser(
        "settings",
        help="show or change a destination's settings: timezone, mode (each|digest), "
        "digest_hour, revisions (yes|no), roundup (yes|no), roundup_day, roundup_hour",
        description="Show DESTINATION's settings, or change them with KEY=VALUE arguments: "
        + "; ".join(f"{key}: {meaning}" for key, meaning in SETTING_KEYS.items())
        + ".",
    )
    settings.add_argument("destination", metavar="DESTINATION", help=dest_help)
    settings.add_argument("changes", metavar="KEY=VALUE", nargs="*")

    roundup = sub.add_parser(
        "roundup",
        help="the weekly roundup for one destination",
        description="The weekly roundup for DESTINATION: the week's best papers among those "
        "it received or its subscriptions matched, ranked, grouped by topic, posted as a header "
        "and a thread of sections (once per week: a second run posts nothing new). With "
        "--dry-run it is printed exactly as it would be posted, and nothing is stored or sent.",
    )
    roundup.add_argument("destination", metavar="DESTINATION", help=dest_help)
    roundup.add_argument(
        "--week", metavar="YYYY-Www", help="an ISO week, like 2026-W48 (default: this week)"
    )
    roundup.add_argument("--dry-run", action="store_true", help="print it; post nothing")
    roundup.add_argument(
        "--format",
        choices=["text", "json", "discord", "slack"],
        default="text",
        help="with --dry-run: discord/slack print the exact messages that would be sent",
    )

    sub.add_parser(
        "status",
        help="sources' last success, queue depth, next runs, errors",
        description="Show, from the database, how the bot is doing: each source's last success "
        "or failure and next poll, the papers stored, the delivery queue (pending, in progress, "
        "sent, failed) and any destination a platform paused, with the reason.",
    )

    db = sub.add_parser(
        "db", help="database maintenance", description="Database maintenance (DATABASE_URL)."
    )
    db_sub = db.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    db_sub.required = True
    db_sub.add_parser(
        "upgrade",
        help="apply migrations",
        description="Create the database named by DATABASE_URL (by default paperwire.db in the "
        "folder you run from) or bring it to the latest schema by applying its migrations. "
        "Running it again changes nothing; the other commands refuse a database that needs it.",
    )
    slack = sub.add_parser(
        "slack",
        help="setting up the Slack app",
        description="Setting up paperwire's Slack app.",
    )
    slack_sub = slack.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    slack_sub.required = True
    manifest = slack_sub.add_parser(
        "manifest",
        help="print the manifest that creates the Slack app (--url: for HTTP mode)",
        description="Print the Slack app manifest that creates paperwire's app in one step "
        "(api.slack.com/apps, Create New App, From a manifest): its slash commands, scopes, "
        "events and link domains. As it is, the app runs in Socket Mode (set SLACK_APP_TOKEN); "
        "with --url it runs in HTTP mode, Slack sending its requests to HOST/slack/events and "
        "the OAuth install returning to HOST/slack/oauth_redirect.",
    )
    manifest.add_argument(
        "--url",
        metavar="https://HOST",
        help="the public https address paperwire is reached at, with any path prefix",
    )
    return parser


def _handler(args: argparse.Namespace) -> Callable[..., Coroutine[Any, Any, int]]:
    name = args.command
    if name in {"subs", "db", "slack"}:
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
    if hasattr(args, "query_missing"):  # a command with a query (see _query)
        args.query = " ".join(p for p in (args.query, *extra) if p) or None
        if args.query is None and args.query_missing:
            parser.error(
                f"{args.command} {args.action} needs a destination and {args.query_missing}"
            )
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


class RedactingStream(io.TextIOBase):
    """A text stream that masks every configured secret in what is written through it."""

    def __init__(self, stream: TextIO, redact: Redactor) -> None:
        self._stream = stream
        self._redact = redact

    def write(self, text: str) -> int:
        self._stream.write(self._redact(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    debug = os.environ.get("PAPERWIRE_DEBUG") == "1"
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"paperwire: {exc}", file=sys.stderr)
        return 2
    redact = Redactor(settings.secrets())
    if redact:
        # Everything shown (cards, reports, logs, tracebacks) passes here: a secret a server
        # echoed back is masked whatever printed it.
        sys.stdout = RedactingStream(sys.stdout, redact)
        sys.stderr = RedactingStream(sys.stderr, redact)

    def say(text: str) -> None:
        print(f"paperwire: {text}", file=sys.stderr)

    # The bot logs at the configured level; one-shot commands keep stderr for their one line
    # (and warnings), so a script reading it is not flooded.
    level = getattr(logging, settings.log_level) if args.command == "run" else logging.WARNING
    logging.basicConfig(
        level=logging.DEBUG if debug else level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # Libraries speak only when something is wrong (APScheduler logs every job run at INFO).
    for noisy in (
        "alembic",
        "apscheduler",
        "discord",
        "slack_sdk",
        "slack_bolt",
        "httpx",
        "aiosqlite",
    ):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
    try:
        return asyncio.run(_handler(args)(settings, args))
    except BAD_INPUT as exc:
        say(str(exc))
        return 2
    except FAILURE as exc:
        say(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, not a traceback
        # With PAPERWIRE_DEBUG=1 the traceback goes through the log, secrets masked.
        log.debug("unexpected error", exc_info=True)
        say(
            f"unexpected error: {type(exc).__name__}: {exc}"
            + ("" if debug else " (set PAPERWIRE_DEBUG=1 for details)")
        )
        return 1
