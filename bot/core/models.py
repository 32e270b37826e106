"""The domain types: what paperwire knows about papers, channels and deliveries.

Every type here is a frozen dataclass with UTC-aware datetimes. Wire shapes (Atom, JSON, ORM
rows, chat payloads) convert to and from these in exactly one place per adapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

__all__ = [
    "AnnounceType",
    "Author",
    "Card",
    "Delivery",
    "DeliveryMode",
    "DeliveryStatus",
    "Destination",
    "DestinationRef",
    "DestinationSettings",
    "HFSignals",
    "InvalidDestination",
    "Link",
    "Paper",
    "Platform",
    "PlatformState",
    "PollState",
    "QueuedRoundup",
    "Roundup",
    "RoundupCandidate",
    "RoundupEntry",
    "RoundupKind",
    "RoundupPeriod",
    "RoundupSection",
    "RoundupStatus",
    "S2Signals",
    "Subscription",
    "Summary",
    "Topic",
    "require_utc",
]


def require_utc(value: datetime | None, what: str) -> None:
    """Raise ValueError unless ``value`` is None or an aware datetime in UTC."""
    if value is None:
        return
    if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(value):
        raise ValueError(f"{what} must be a UTC-aware datetime, got {value!r}")


class AnnounceType(StrEnum):
    """How arXiv announced a listing item (the feed's ``arxiv:announce_type``)."""

    NEW = "new"
    CROSS = "cross"
    REPLACE = "replace"
    REPLACE_CROSS = "replace-cross"
    ABSONLY = "absonly"


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    affiliation: str | None = None


@dataclass(frozen=True, slots=True)
class HFSignals:
    """What Hugging Face Daily Papers says about a paper."""

    upvotes: int = 0
    comments: int = 0
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    daily_date: date | None = None  # the Daily Papers day it was featured on


@dataclass(frozen=True, slots=True)
class S2Signals:
    """Optional Semantic Scholar enrichment."""

    tldr: str | None = None
    citation_count: int | None = None


@dataclass(frozen=True, slots=True)
class Paper:
    """One arXiv paper, at its latest known version.

    ``arxiv_id`` is canonical: never versioned, old-style ids without the subject class
    (``math/0309136``). ``categories`` lists the primary category first when it is known.
    """

    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: tuple[Author, ...] = ()
    categories: tuple[str, ...] = ()
    published: datetime | None = None  # first version's submission time
    updated: datetime | None = None  # this version's time
    announce_type: AnnounceType | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    hf: HFSignals | None = None
    s2: S2Signals | None = None
    sources: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.arxiv_id:
            raise ValueError("a paper needs an arXiv id")
        if self.version < 1:
            raise ValueError(f"arXiv versions start at 1, got {self.version}")
        require_utc(self.published, "Paper.published")
        require_utc(self.updated, "Paper.updated")

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    @property
    def primary_category(self) -> str | None:
        return self.categories[0] if self.categories else None

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    @property
    def html_url(self) -> str:
        return f"https://arxiv.org/html/{self.versioned_id}"

    @property
    def hf_url(self) -> str | None:
        return f"https://huggingface.co/papers/{self.arxiv_id}" if self.hf is not None else None


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    emoji: str = ""
    key: str = ""  # the stable key in topics.toml

    @property
    def label(self) -> str:
        return f"{self.emoji} {self.name}".strip()


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Summary:
    """A TL;DR (one sentence) and up to three key points, with the tier that wrote them."""

    tldr: str
    key_points: tuple[str, ...] = ()
    tier: str = "extractive"


@dataclass(frozen=True, slots=True)
class Card:
    """A platform-neutral card for one paper; renderers turn it into chat payloads."""

    arxiv_id: str
    version: int
    title: str
    authors_line: str
    author_count: int
    primary_category: str | None
    cross_lists: tuple[str, ...]
    published: datetime | None
    updated: datetime | None
    tldr: str
    tldr_source: str  # the summarizer tier that wrote the TL;DR
    key_points: tuple[str, ...]
    topic: Topic
    links: tuple[Link, ...]
    upvotes: int | None = None
    comments: int | None = None
    code_url: str | None = None
    citation_count: int | None = None

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"


class Platform(StrEnum):
    DISCORD = "discord"
    SLACK = "slack"
    CONSOLE = "console"


class InvalidDestination(ValueError):
    """Not ``discord:CHANNEL_ID``, ``slack:TEAM_ID/CHANNEL_ID`` or ``console``."""


_DISCORD_ID = re.compile(r"[0-9]{15,21}")
_SLACK_TEAM = re.compile(r"[TE][A-Z0-9]{2,20}")
_SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,20}")
_DESTINATION_FORMS = (
    "use discord:CHANNEL_ID (a numeric Discord channel id), "
    "slack:TEAM_ID/CHANNEL_ID (like slack:T012AB3C4/C0123456789) or console"
)


@dataclass(frozen=True, slots=True, order=True)
class DestinationRef:
    """Where cards go: a platform, a workspace or guild, and a channel."""

    platform: Platform
    workspace: str
    channel: str

    @classmethod
    def parse(cls, text: str) -> DestinationRef:
        value = text.strip()
        if value == "console":
            return cls(Platform.CONSOLE, "", "console")
        platform, sep, rest = value.partition(":")
        if not sep:
            raise InvalidDestination(f"{text!r} is not a destination: {_DESTINATION_FORMS}")
        if platform == Platform.DISCORD.value:
            if not _DISCORD_ID.fullmatch(rest):
                raise InvalidDestination(
                    f"{rest!r} is not a Discord channel id (15 to 21 digits): {_DESTINATION_FORMS}"
                )
            return cls(Platform.DISCORD, "", rest)
        if platform == Platform.SLACK.value:
            team, slash, channel = rest.partition("/")
            if not (slash and _SLACK_TEAM.fullmatch(team) and _SLACK_CHANNEL.fullmatch(channel)):
                raise InvalidDestination(
                    f"{rest!r} is not a Slack TEAM_ID/CHANNEL_ID pair: {_DESTINATION_FORMS}"
                )
            return cls(Platform.SLACK, team, channel)
        raise InvalidDestination(f"unknown platform {platform!r}: {_DESTINATION_FORMS}")

    @property
    def slug(self) -> str:
        """The destination in one URL path segment: discord-123, slack-T1-C2, console."""
        if self.platform is Platform.CONSOLE:
            return "console"
        if self.platform is Platform.SLACK:
            return f"slack-{self.workspace}-{self.channel}"
        return f"{self.platform.value}-{self.channel}"

    @classmethod
    def from_slug(cls, slug: str) -> DestinationRef:
        """The destination a ``slug`` names (InvalidDestination when it names none)."""
        platform, _, rest = slug.partition("-")
        if platform == Platform.SLACK.value:
            return cls.parse(f"slack:{rest.replace('-', '/', 1)}")
        return cls.parse(slug if slug == "console" else f"{platform}:{rest}")

    def __str__(self) -> str:
        if self.platform is Platform.CONSOLE:
            return "console"
        if self.platform is Platform.SLACK:
            return f"slack:{self.workspace}/{self.channel}"
        return f"{self.platform.value}:{self.channel}"


class DeliveryMode(StrEnum):
    EACH = "each"  # each paper as it comes
    DIGEST = "digest"  # one daily digest at a set hour


@dataclass(frozen=True, slots=True)
class DestinationSettings:
    timezone: str = "UTC"
    mode: DeliveryMode = DeliveryMode.EACH
    digest_hour: int = 9
    revisions: bool = False  # post again when a paper gets a new version
    roundup_day: str = "fri"  # a day name, as APScheduler's CronTrigger takes it
    roundup_hour: int = 16
    roundup_enabled: bool = True
    roundup_size: int = 15  # at most this many papers in a roundup or digest
    roundup_quiet: bool = False  # a week with nothing: stay silent (else say so in one line)
    roundup_public: bool = False  # the roundups' web page and Atom feed are published


@dataclass(frozen=True, slots=True)
class Destination:
    id: int
    ref: DestinationRef
    settings: DestinationSettings
    created_at: datetime
    paused_reason: str | None = None  # set when the platform said the channel is gone

    def __post_init__(self) -> None:
        require_utc(self.created_at, "Destination.created_at")


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    destination_id: int
    query: str  # normalised query text
    created_at: datetime
    starts_at: datetime  # papers first seen before this are not delivered (no backlog flood)
    paused: bool = False
    added_by: str | None = None  # the platform's user id; None: added from the command line
    added_by_name: str | None = None  # how the platform showed that user when they added it

    def __post_init__(self) -> None:
        require_utc(self.created_at, "Subscription.created_at")
        require_utc(self.starts_at, "Subscription.starts_at")


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"  # permanently: the destination is gone or forbids us
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: this paper, to this destination, exactly once."""

    id: int
    arxiv_id: str
    destination_id: int
    status: DeliveryStatus
    attempts: int
    due_at: datetime
    created_at: datetime
    version: int = 1
    claimed_until: datetime | None = None
    claim_token: str | None = None
    # In doubt: an earlier attempt may have reached the platform (its claim expired without a
    # confirmation, or the post timed out). Check for an existing post before posting again.
    in_doubt: bool = False
    message_id: str | None = None
    last_error: str | None = None
    sent_at: datetime | None = None


class RoundupKind(StrEnum):
    WEEKLY = "weekly"  # one ISO week, Monday to Sunday in the channel's time zone
    DAILY = "daily"  # one calendar day in the channel's time zone


@dataclass(frozen=True, slots=True)
class RoundupPeriod:
    """The stretch of time a roundup covers: local calendar days, and the UTC instants they span.

    Built by ``bot.core.roundup.week_period`` and ``day_period``, which get daylight-saving
    changes right (a week can be 167 or 169 hours long).
    """

    kind: RoundupKind
    label: str  # "2026-W48" for a week, "2026-11-27" for a day
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    timezone: str  # IANA name
    start: datetime  # UTC, inclusive: local midnight at the start of first_day
    end: datetime  # UTC, exclusive: local midnight after last_day

    def __post_init__(self) -> None:
        require_utc(self.start, "RoundupPeriod.start")
        require_utc(self.end, "RoundupPeriod.end")
        if not self.start < self.end:
            raise ValueError(f"a roundup period must end after it starts: {self.label}")

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class RoundupCandidate:
    """A paper a channel received (or would have) in a period, with the signals that rank it."""

    card: Card
    matches: int  # how many of the channel's subscriptions matched it
    first_seen: datetime  # when paperwire first saw the paper (UTC)
    reactions: int = 0  # reactions the channel gave its posted card; 0 when unknown

    def __post_init__(self) -> None:
        require_utc(self.first_seen, "RoundupCandidate.first_seen")


@dataclass(frozen=True, slots=True)
class RoundupEntry:
    """One paper as a roundup shows it: display text (cleaned, not escaped) and its signals."""

    arxiv_id: str
    version: int
    title: str
    authors_line: str
    tldr: str  # one line
    insights: tuple[str, ...]  # at most two key points, each adding something to the TL;DR
    links: tuple[Link, ...]  # abstract, Hugging Face page and code, those that exist
    upvotes: int | None
    comments: int | None
    matches: int
    reactions: int
    first_seen: datetime
    score: float  # bot.core.roundup.score: higher ranks first

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"


@dataclass(frozen=True, slots=True)
class RoundupSection:
    """The papers of one topic, best first."""

    topic: Topic
    entries: tuple[RoundupEntry, ...]


@dataclass(frozen=True, slots=True)
class Roundup:
    """A channel's best papers of a period, grouped by topic; no sections means none matched."""

    destination_id: int
    period: RoundupPeriod
    sections: tuple[RoundupSection, ...]
    total_candidates: int = 0  # distinct papers considered, before the cap

    @property
    def paper_count(self) -> int:
        return sum(len(section.entries) for section in self.sections)

    @property
    def is_empty(self) -> bool:
        return not self.sections


class RoundupStatus(StrEnum):
    PENDING = "pending"  # queued: its parts are being (or will be) posted
    CLAIMED = "claimed"
    SENT = "sent"  # every part posted
    SILENT = "silent"  # an empty week in a channel that chose silence: nothing to post


@dataclass(frozen=True, slots=True)
class QueuedRoundup:
    """A roundup in the outbox: built once (so a retry posts the same thing), then posted part
    by part; ``part_ids`` are the message ids of the parts posted so far, in order."""

    id: int
    destination_id: int
    roundup: Roundup
    status: RoundupStatus
    attempts: int = 0
    part_ids: tuple[str, ...] = ()
    thread_id: str | None = None  # where the sections go (Discord thread, Slack thread ts)
    in_doubt: bool = False  # the next part may have been posted (its answer was lost)
    claim_token: str | None = None


@dataclass(frozen=True, slots=True)
class PlatformState:
    """A chat platform as a whole: paused (its token refused, or unreachable) until ``retry_at``."""

    platform: Platform
    paused_reason: str | None = None
    paused_at: datetime | None = None
    retry_at: datetime | None = None
    last_ok: datetime | None = None

    @property
    def paused(self) -> bool:
        return self.paused_reason is not None


@dataclass(frozen=True, slots=True)
class PollState:
    """What the last polls of one source did: for polite fetching and for `paperwire status`."""

    source: str
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_change: datetime | None = None  # the last success that brought new content
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
