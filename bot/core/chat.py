"""The chat command set as data, the neutral request and reply, and Slack's free-text parsing.

One command set serves both platforms (DESIGN.md section 12). Discord registers ``COMMANDS``
as app commands with typed options; Slack receives ``/paper TEXT`` and ``/papers SUB TEXT``
and ``parse_slack`` turns the text into the same ``ChatRequest`` arguments. The service
(``bot.services.chat``) answers every request with a ``Reply``: structured text (spans the
renderers escape for their platform), cards, and whether only the asker sees it.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from bot.core.models import Card, Platform

__all__ = [
    "BACKFILL_MAX_DAYS",
    "COMMANDS",
    "DAYS",
    "GROUP",
    "GROUP_DESCRIPTION",
    "LOOKUP",
    "LOOKUP_SPEC",
    "ChatRequest",
    "CommandSpec",
    "Line",
    "Option",
    "OptionType",
    "Reply",
    "SlackParseError",
    "Span",
    "Style",
    "bold",
    "channel",
    "code",
    "command_spec",
    "link",
    "manage_requirement",
    "parse_slack",
    "plain",
    "removed_reason",
    "usage",
]

GROUP: Final = "papers"
LOOKUP: Final = "paper"
GROUP_DESCRIPTION: Final = "Subscribe this channel to new papers, and manage what it gets"
BACKFILL_MAX_DAYS: Final = 30
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRIVATE_FLAGS: Final = frozenset({"--private", "--me", "-p"})


class OptionType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class Option:
    """One typed option of a command (Discord shows it as a field; Slack reads it from text)."""

    name: str
    description: str
    type: OptionType = OptionType.TEXT
    required: bool = False
    autocomplete: bool = False
    choices: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """``/paper`` or one ``/papers`` subcommand: names, options, help text and examples."""

    name: str
    description: str  # one line, at most 100 characters (Discord's limit)
    options: tuple[Option, ...] = ()
    manage: bool = False  # changes the channel: only people who may manage it
    examples: tuple[str, ...] = ()
    details: str = ""  # a sentence or two for /papers help


_QUERY_EXAMPLES = (
    'cat:cs.CL "mixture of experts" -survey',
    'au:"Yann LeCun" OR au:Bengio',
    "cat:cs.LG upvotes>=20",
)

LOOKUP_SPEC: Final = CommandSpec(
    name=LOOKUP,
    description="Show a paper's card: an arXiv id or link, or title words",
    options=(
        Option(
            "paper",
            "arXiv id (2403.13043), link, or title words",
            required=True,
            max_length=300,
        ),
        Option("private", "Show the card only to me", OptionType.BOOLEAN),
    ),
    examples=(
        "/paper 2403.13043",
        "/paper https://arxiv.org/abs/1706.03762",
        "/paper attention is all you need",
    ),
)

COMMANDS: Final[tuple[CommandSpec, ...]] = (
    CommandSpec(
        "subscribe",
        "Subscribe this channel to papers matching a query",
        (
            Option(
                "query",
                'What to follow, e.g. cat:cs.CL "mixture of experts" -survey',
                required=True,
                max_length=500,
            ),
            Option(
                "backfill",
                f"Also post matching papers of the last N days (0 to {BACKFILL_MAX_DAYS})",
                OptionType.INTEGER,
                min_value=0,
                max_value=BACKFILL_MAX_DAYS,
            ),
        ),
        manage=True,
        examples=tuple(f"/papers subscribe {q}" for q in _QUERY_EXAMPLES),
        details="New papers only, from now on; add a backfill for recent ones.",
    ),
    CommandSpec(
        "unsubscribe",
        "Remove one of this channel's subscriptions",
        (
            Option(
                "subscription",
                "Its number (see /papers list) or its query",
                required=True,
                autocomplete=True,
                max_length=500,
            ),
        ),
        manage=True,
        examples=("/papers unsubscribe 2",),
    ),
    CommandSpec(
        "list",
        "This channel's subscriptions and settings",
        examples=("/papers list",),
    ),
    CommandSpec(
        "search",
        "Search arXiv and list the newest matching papers",
        (
            Option(
                "query",
                "Words, or arXiv fields like ti:transformer au:hinton",
                required=True,
                max_length=300,
            ),
        ),
        examples=("/papers search speculative decoding",),
    ),
    CommandSpec(
        "settings",
        "Show or change how this channel gets papers",
        (
            Option(
                "mode",
                "each: every paper as it comes; digest: one post a day",
                choices=("each", "digest"),
            ),
            Option(
                "digest_hour",
                "Hour of the daily digest (0-23, channel time)",
                OptionType.INTEGER,
                min_value=0,
                max_value=23,
            ),
            Option("timezone", "IANA time zone, e.g. Europe/Paris", max_length=64),
            Option(
                "revisions", "Post a paper again when arXiv gets a new version", OptionType.BOOLEAN
            ),
            Option(
                "roundup_size",
                "How many papers a roundup or digest shows at most (1-50)",
                OptionType.INTEGER,
                min_value=1,
                max_value=50,
            ),
            Option(
                "roundup_empty",
                "What a week with no papers posts: say (one line) or silent",
                choices=("say", "silent"),
            ),
            Option(
                "roundup_public",
                "Publish the roundups as a web page and Atom feed",
                OptionType.BOOLEAN,
            ),
        ),
        manage=True,
        examples=(
            "/papers settings",
            "/papers settings mode digest digest_hour 9 timezone Europe/Paris",
        ),
        details="With no options it shows the settings; anyone may look, managers change.",
    ),
    CommandSpec(
        "roundup",
        "Show or change the weekly roundup, or preview this week's",
        (
            Option(
                "action",
                "preview: this week's roundup, only for you; on/off",
                choices=("show", "preview", "on", "off"),
            ),
            Option("day", "Day of the week it is posted", choices=DAYS),
            Option(
                "hour",
                "Hour it is posted (0-23, channel time)",
                OptionType.INTEGER,
                min_value=0,
                max_value=23,
            ),
        ),
        manage=True,
        examples=("/papers roundup", "/papers roundup preview", "/papers roundup fri 16"),
        details="Anyone may look and preview; managers change the schedule.",
    ),
    CommandSpec(
        "pause",
        "Stop posting papers here for now (the queue is kept)",
        manage=True,
        examples=("/papers pause",),
    ),
    CommandSpec(
        "resume",
        "Start posting papers here again",
        manage=True,
        examples=("/papers resume",),
    ),
    CommandSpec(
        "status",
        "Sources' health, this channel's queue and any pause",
        examples=("/papers status",),
    ),
    CommandSpec(
        "help",
        "How to use paperwire, with examples",
        examples=("/papers help",),
    ),
)

_BY_NAME: Final = {spec.name: spec for spec in COMMANDS}
# What people type on Slack instead of the names (never shown, only understood).
_ALIASES: Final = {
    "sub": "subscribe",
    "add": "subscribe",
    "unsub": "unsubscribe",
    "remove": "unsubscribe",
    "rm": "unsubscribe",
    "ls": "list",
    "find": "search",
    "set": "settings",
    "config": "settings",
    "stop": "pause",
    "start": "resume",
    "?": "help",
}
# Subcommands anyone may use even though they can change things when given arguments.
LOOK_ONLY: Final = frozenset({"settings", "roundup"})


def command_spec(name: str) -> CommandSpec:
    """The spec of ``paper`` or of a ``/papers`` subcommand (KeyError when there is none)."""
    return LOOKUP_SPEC if name == LOOKUP else _BY_NAME[name]


def usage(spec: CommandSpec) -> str:
    """``/papers subscribe <query> [backfill]``: how to type it, as help shows it."""
    prefix = f"/{LOOKUP}" if spec is LOOKUP_SPEC else f"/{GROUP} {spec.name}"
    parts = [f"<{o.name}>" if o.required else f"[{o.name}]" for o in spec.options]
    return " ".join([prefix, *parts])


def manage_requirement(platform: Platform, group: str | None = None) -> str:
    """Who may change a channel, in the platform's own words."""
    if platform is Platform.DISCORD:
        return "members with the Manage Channels permission in this channel"
    if platform is Platform.SLACK:
        extra = f", members of @{group}" if group else ""
        return f"workspace admins and owners, the channel's creator{extra}"
    return "the operator"


# --- the neutral request ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One command, as either platform delivers it (DESIGN.md section 12).

    ``subcommand`` is empty for ``/paper``; ``args`` hold typed option values by name.
    """

    platform: Platform
    workspace: str  # Slack team id; Discord guild id ("" in a DM)
    channel: str
    user: str  # the platform's user id
    may_manage: bool
    command: str  # "paper" or "papers"
    subcommand: str = ""
    args: Mapping[str, str | int | bool] = field(default_factory=dict)
    user_name: str = ""  # how the platform shows the user, for "added by"

    def text(self, name: str) -> str:
        value = self.args.get(name)
        return value.strip() if isinstance(value, str) else ""


# --- the neutral reply ---------------------------------------------------------------------


class Style(StrEnum):
    PLAIN = "plain"
    BOLD = "bold"
    CODE = "code"
    PRE = "pre"  # a line of a preformatted block (spaces kept: a caret under a mistake)
    CHANNEL = "channel"  # ``text`` is a channel id, shown as the platform's channel link


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of a line. Renderers escape ``text`` for their platform; ``url`` makes a link
    (only the service sets it, to pages it chose: people's text never becomes a link)."""

    text: str
    style: Style = Style.PLAIN
    url: str | None = None


Line = tuple[Span, ...]


def plain(text: str) -> Span:
    return Span(text)


def bold(text: str) -> Span:
    return Span(text, Style.BOLD)


def code(text: str) -> Span:
    return Span(text, Style.CODE)


def link(text: str, url: str) -> Span:
    return Span(text, url=url)


def channel(channel_id: str) -> Span:
    return Span(channel_id, Style.CHANNEL)


def removed_reason(platform: Platform) -> str:
    """The pause reason of a channel whose server or workspace removed paperwire (or revoked
    its token): the same text pauses and, when paperwire is added back, resumes."""
    where = "server" if platform is Platform.DISCORD else "workspace"
    return (
        f"paperwire was removed from this {where} or lost its access; add it again and the "
        "channel's posts resume"
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """What a command answers: a heading, lines, cards; ``ephemeral``: only the asker sees it."""

    title: str = ""
    lines: tuple[Line, ...] = ()
    cards: tuple[Card, ...] = ()
    ephemeral: bool = False
    error: bool = False
    note: tuple[Line, ...] = ()  # sent after the reply, only to the asker (a first-use hint)

    @property
    def plain_text(self) -> str:
        """The reply without markup (logs, tests, notification fallbacks)."""
        body = ["".join(span.text for span in line) for line in self.lines]
        return "\n".join(part for part in (self.title, *body) if part)


# --- Slack's free text -----------------------------------------------------------------------


class SlackParseError(ValueError):
    """Text after ``/papers`` that names no subcommand or gives bad values; says what to type."""


_HOUR = re.compile(r"(\d{1,2})(?::00|h)?")
_DAY_NAMES: Final = dict(
    zip(
        DAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
)


def parse_slack(command: str, text: str) -> tuple[str, dict[str, str | int | bool]]:
    """``/paper TEXT`` or ``/papers SUB TEXT`` as (subcommand, args), like Discord's options.

    Raises SlackParseError with a one-line fix for text that cannot be read.
    """
    text = text.strip()
    if command.lstrip("/") == LOOKUP:
        words = text.split()
        private = any(w.lower() in PRIVATE_FLAGS for w in words)
        rest = " ".join(w for w in words if w.lower() not in PRIVATE_FLAGS)
        return "", {"paper": rest, "private": private}
    head, _, rest = text.partition(" ")
    name = head.lower()
    name = _ALIASES.get(name, name) or "help"
    rest = rest.strip()
    if name not in _BY_NAME:
        close = difflib.get_close_matches(name, list(_BY_NAME), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise SlackParseError(
            f"/{GROUP} has no subcommand {head!r}{hint}: type /{GROUP} help for the list"
        )
    if name == "subscribe":
        return name, _subscribe_args(rest)
    if name in {"unsubscribe"}:
        return name, {"subscription": rest}
    if name == "search":
        return name, {"query": rest}
    if name == "settings":
        return name, _pairs(rest)
    if name == "roundup":
        return name, _roundup_args(rest)
    return name, {}


def _subscribe_args(rest: str) -> dict[str, str | int | bool]:
    args: dict[str, str | int | bool] = {}
    match = re.search(r"(?:^|\s)(?:--backfill[= ]|backfill=)(\S+)\s*$", rest)
    if match:
        days = match.group(1)
        if not days.isdigit() or int(days) > BACKFILL_MAX_DAYS:
            raise SlackParseError(f"backfill takes a number of days, 0 to {BACKFILL_MAX_DAYS}")
        args["backfill"] = int(days)
        rest = rest[: match.start()].strip()
    args["query"] = rest
    return args


def _pairs(rest: str) -> dict[str, str | int | bool]:
    """``mode digest digest_hour 9`` or ``mode=digest digest_hour=9`` as a dict."""
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    pairs: dict[str, str | int | bool] = {}
    index = 0
    while index < len(words):
        word = words[index]
        key, sep, value = word.partition("=")
        if not sep:
            if index + 1 >= len(words):
                raise SlackParseError(
                    f"{word!r} needs a value: type it as {word} VALUE (see /{GROUP} help settings)"
                )
            value = words[index + 1]
            index += 1
        pairs[key.lower().replace("-", "_")] = value
        index += 1
    return pairs


def _roundup_args(rest: str) -> dict[str, str | int | bool]:
    args: dict[str, str | int | bool] = {}
    for word in rest.lower().replace(",", " ").split():
        if word in {"show", "preview", "on", "off"}:
            args["action"] = word
        elif word[:3] in DAYS and _DAY_NAMES[word[:3]].startswith(word):  # fri, friday
            args["day"] = word[:3]
        elif (hour := _HOUR.fullmatch(word)) and int(hour.group(1)) <= 23:
            args["hour"] = int(hour.group(1))
        else:
            raise SlackParseError(
                f"{word!r} is not a roundup setting: type /{GROUP} roundup preview, on, off, "
                "or a day and an hour like fri 16"
            )
    return args
