"""The ports: what the use cases need from the outside world, as Protocols.

Adapters implement these; services import only this module and ``bot.core``. The error
trees live here too, so a service can tell a transient fault from a permanent one without
knowing which library raised it:

    PaperNotFound (LookupError)  a well-formed id arXiv does not know

    SourceError
    ├── SourceUnavailable        network down, timeout, 5xx after retries
    │   └── SourceRateLimited    429 after retries (carries retry_after)
    ├── SourceBadResponse        not the document we asked for: HTML page, truncated,
    │                            too large, XML bomb or external entity, unparseable, a
    │                            redirect out of the requested origin
    └── SourceRequestRejected    the service said our request is wrong (arXiv's 400 feed)

    PublishError
    ├── TransientPublishError    429, 5xx, timeouts: retry later (carries retry_after)
    │   └── PlatformUnavailable  the platform itself cannot be reached (login or connect
    │                            failed): every destination on it waits
    ├── CardRejected             the platform refused this one card (bad payload)
    └── PermanentPublishError    channel gone, bot removed, missing permission
        └── PlatformRefused      the platform refuses paperwire itself (a rejected token):
                                 every destination on it waits until a person fixes it
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from bot.core.models import (
    Card,
    Delivery,
    Destination,
    DestinationRef,
    DestinationSettings,
    HFSignals,
    Paper,
    Platform,
    PlatformState,
    PollState,
    QueuedRoundup,
    Roundup,
    RoundupStatus,
    S2Signals,
    Subscription,
    Summary,
)
from bot.core.planning import PlannedDelivery

__all__ = [
    "CardRejected",
    "Clock",
    "Enricher",
    "FetchResult",
    "HFSource",
    "ListingSource",
    "LookupSource",
    "PaperNotFound",
    "PermanentPublishError",
    "PlannedDelivery",
    "PlatformRefused",
    "PlatformUnavailable",
    "PublishError",
    "Publisher",
    "Rejected",
    "RoundupPublisher",
    "SourceBadResponse",
    "SourceError",
    "SourceRateLimited",
    "SourceRequestRejected",
    "SourceUnavailable",
    "Store",
    "Summarizer",
    "TransientPublishError",
]


# --- errors -------------------------------------------------------------------------------


class SourceError(Exception):
    """A paper source failed; ``source`` names it (arxiv, hf, s2)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class SourceUnavailable(SourceError):
    """The source could not be reached or kept failing (network, timeout, 5xx)."""


class SourceRateLimited(SourceUnavailable):
    """The source kept answering 429."""

    def __init__(self, source: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(source, message)
        self.retry_after = retry_after


class SourceBadResponse(SourceError):
    """The source answered with something that is not the document we asked for."""


class SourceRequestRejected(SourceError, ValueError):
    """The source said our request is malformed (for example arXiv's 400 error feed)."""


class PaperNotFound(LookupError):
    """arXiv does not know this (well-formed) id."""

    def __init__(self, arxiv_id: str) -> None:
        super().__init__(
            f"arXiv has no paper {arxiv_id}: check the id for a typo (it is the number after "
            "arxiv.org/abs/ on the paper's page)"
        )
        self.arxiv_id = arxiv_id


class PublishError(Exception):
    """Posting to a chat platform failed."""


class TransientPublishError(PublishError):
    """Try again later. ``maybe_posted``: the post may have reached the platform (a timeout)."""

    def __init__(
        self, message: str, retry_after: float | None = None, *, maybe_posted: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_posted = maybe_posted


class PlatformUnavailable(TransientPublishError):
    """The platform as a whole cannot be reached now; ``platform`` names it."""

    def __init__(self, platform: Platform, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after)
        self.platform = platform


class CardRejected(PublishError):
    """The platform refused this one card (a payload it would not take); the channel is fine."""


class PermanentPublishError(PublishError):
    """The destination cannot take posts until a person fixes it; ``reason`` says why.

    ``workspace``: the whole workspace lost paperwire (its token revoked, the app removed),
    so every destination there pauses, not only this one.
    """

    def __init__(self, reason: str, *, workspace: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.workspace = workspace


class PlatformRefused(PermanentPublishError):
    """The platform refuses paperwire itself (its token); ``platform`` names it."""

    def __init__(self, platform: Platform, reason: str) -> None:
        super().__init__(reason)
        self.platform = platform


# --- sources ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record a source sent that we refused to store, and why."""

    identifier: str
    reason: str


@dataclass(frozen=True, slots=True)
class FetchResult:
    papers: tuple[Paper, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    not_modified: bool = False  # the source answered 304: nothing changed since last time
    etag: str | None = None
    last_modified: str | None = None
    note: str | None = None  # e.g. the feed's own word that it is empty on weekends


class ListingSource(Protocol):
    """A source polled on a schedule (the arXiv listing feed, HF Daily Papers)."""

    @property
    def name(self) -> str: ...

    async def poll(self, state: PollState, *, today: date) -> FetchResult: ...


class LookupSource(Protocol):
    """The arXiv query API: papers by id (batched) and search."""

    async def lookup(self, arxiv_ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by canonical id; ids arXiv does not know are absent from the result."""
        ...

    async def search(self, query: str, *, limit: int = 10, newest: bool = False) -> list[Paper]:
        """Papers matching ``query``, most relevant first (``newest``: newest first)."""
        ...


class HFSource(Protocol):
    async def paper(self, arxiv_id: str) -> HFSignals | None:
        """The paper's Hugging Face signals, or None when it is not on Hugging Face."""
        ...


class Enricher(Protocol):
    async def enrich(self, arxiv_ids: Sequence[str]) -> dict[str, S2Signals]: ...


class Summarizer(Protocol):
    """One tier of the TL;DR chain; None means 'this tier has nothing for this paper'."""

    @property
    def tier(self) -> str: ...

    async def summarize(self, paper: Paper) -> Summary | None: ...


# --- publishing ---------------------------------------------------------------------------


class Publisher(Protocol):
    async def publish(self, ref: DestinationRef, card: Card, *, nonce: str) -> str:
        """Post the card; return the platform's message id. ``nonce`` identifies this delivery."""
        ...

    async def find_existing(self, ref: DestinationRef, card: Card, *, nonce: str) -> str | None:
        """The message id of an earlier post of this delivery, if one exists (in-doubt rows)."""
        ...


class RoundupPublisher(Protocol):
    """A publisher that can post roundups (a header, then the sections in its thread) and
    read the reactions a channel gave its cards."""

    def roundup_parts(self, roundup: Roundup) -> int:
        """How many messages the roundup takes on this platform (the header is part 0)."""
        ...

    async def post_roundup_part(
        self,
        ref: DestinationRef,
        roundup: Roundup,
        part: int,
        *,
        header: str | None,
        thread: str | None,
        nonce: str,
    ) -> tuple[str, str | None]:
        """Post one part (after the header: into its thread, opened when needed); returns
        the message id and the thread the sections go to (None when there is none)."""
        ...

    async def find_roundup_part(
        self,
        ref: DestinationRef,
        roundup: Roundup,
        part: int,
        *,
        header: str | None,
        thread: str | None,
        nonce: str,
    ) -> str | None:
        """The message id of this part if it was already posted (an in-doubt retry)."""
        ...

    async def reactions(self, ref: DestinationRef, message_ids: Sequence[str]) -> dict[str, int]:
        """Reactions on these messages, by message id; {} when the platform cannot say."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, UTC-aware."""
        ...


# --- storage ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpsertReport:
    new: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()  # a newer version, or new signals merged in
    revised: tuple[str, ...] = ()  # subset of updated: the version went up
    unchanged: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CardParts:
    """A paper's card parts as prepared when it was stored: the offline summary and the topic
    key, and the digest of what they were made from (see bot/services/cards.py)."""

    arxiv_id: str
    digest: str
    summary: Summary
    topic: str


@dataclass(frozen=True, slots=True)
class StoredPaper:
    paper: Paper
    first_seen: datetime
    last_changed: datetime
    parts: CardParts | None = None  # read with the paper by get_papers, when prepared


@dataclass(frozen=True, slots=True)
class QueueStats:
    pending: int = 0
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    oldest_pending: datetime | None = None
    by_status: dict[str, int] = field(default_factory=dict)
    pending_by_platform: dict[str, int] = field(default_factory=dict)


class Store(Protocol):
    """The database, as the use cases see it. Every method is one transaction."""

    # papers
    async def upsert_papers(
        self, papers: Sequence[Paper], *, now: datetime, plan: PlanFn | None = None
    ) -> UpsertReport: ...
    async def get_paper(self, arxiv_id: str) -> StoredPaper | None: ...
    async def get_papers(self, arxiv_ids: Sequence[str]) -> dict[str, StoredPaper]: ...
    async def papers_seen_between(self, start: datetime, end: datetime) -> list[StoredPaper]: ...
    async def count_papers(self) -> int: ...

    # poll state
    async def get_poll_state(self, source: str) -> PollState: ...
    async def save_poll_state(self, state: PollState) -> None: ...
    async def all_poll_states(self) -> list[PollState]: ...

    # summaries
    async def get_summary(self, arxiv_id: str, version: int, tier: str) -> Summary | None: ...
    async def put_summary(
        self, arxiv_id: str, version: int, summary: Summary, *, now: datetime
    ) -> None: ...
    async def count_summaries_since(self, tier: str, since: datetime) -> int: ...
    async def get_card_parts(self, arxiv_ids: Sequence[str]) -> dict[str, CardParts]: ...
    async def put_card_parts(self, parts: Sequence[CardParts], *, now: datetime) -> None: ...

    # destinations and subscriptions
    async def ensure_destination(
        self,
        ref: DestinationRef,
        *,
        now: datetime,
        settings: DestinationSettings | None = None,
    ) -> Destination: ...
    async def get_destination(self, ref: DestinationRef) -> Destination | None: ...
    async def get_destination_by_id(self, destination_id: int) -> Destination | None: ...
    async def list_destinations(self) -> list[Destination]: ...
    async def update_destination(
        self,
        destination_id: int,
        *,
        settings: DestinationSettings | None = None,
        paused_reason: str | None = None,
        clear_pause: bool = False,
    ) -> Destination: ...
    async def add_subscription(
        self,
        destination_id: int,
        query: str,
        *,
        now: datetime,
        starts_at: datetime,
        added_by: str | None = None,
        added_by_name: str | None = None,
    ) -> tuple[Subscription, bool]: ...
    async def remove_subscription(self, destination_id: int, subscription_id: int) -> bool: ...
    async def set_subscription_paused(
        self, destination_id: int, subscription_id: int, paused: bool
    ) -> bool: ...
    async def list_subscriptions(self, destination_id: int | None = None) -> list[Subscription]: ...
    async def pause_destinations(
        self,
        platform: Platform,
        *,
        reason: str,
        workspace: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> int:
        """Pause the running destinations of a workspace or of these channels; how many."""
        ...

    async def resume_destinations(
        self,
        platform: Platform,
        *,
        reason: str,
        workspace: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> int:
        """Resume those paused with exactly ``reason`` (not a pause someone else set)."""
        ...

    # platforms and workspaces
    async def platform_states(self) -> list[PlatformState]: ...
    async def save_platform_state(self, state: PlatformState) -> None: ...
    async def mark_workspace_used(
        self, platform: Platform, workspace: str, *, now: datetime
    ) -> bool:
        """Record that paperwire was used there; True only the first time."""
        ...

    # the outbox
    async def plan_deliveries(
        self, planned: Sequence[PlannedDelivery], *, now: datetime
    ) -> int: ...
    async def claim_deliveries(
        self,
        *,
        now: datetime,
        limit: int,
        lease_seconds: float,
        token: str,
        platforms: Collection[Platform] | None = None,
        destination_ids: Collection[int] | None = None,
    ) -> list[Delivery]:
        """Due rows of destinations on ``platforms`` (None: all), skipping paused platforms;
        only of ``destination_ids`` when given. Oldest due first."""
        ...

    async def due_destinations(
        self, *, now: datetime, platforms: Collection[Platform] | None = None, limit: int
    ) -> list[int]:
        """Destinations with rows due now that no one is sending to (claimable), longest
        waiting first."""
        ...

    async def confirm_delivery(
        self, delivery_id: int, token: str, *, message_id: str, now: datetime
    ) -> bool: ...
    async def retry_delivery(
        self,
        delivery_id: int,
        token: str,
        *,
        due_at: datetime,
        error: str,
        maybe_posted: bool = False,
    ) -> bool: ...
    async def fail_delivery(self, delivery_id: int, token: str, *, error: str) -> bool: ...
    async def get_deliveries(self, destination_id: int | None = None) -> list[Delivery]: ...
    async def queue_stats(self, destination_id: int | None = None) -> QueueStats: ...

    # roundups
    async def queue_roundup(
        self, roundup: Roundup, *, now: datetime, status: RoundupStatus = RoundupStatus.PENDING
    ) -> tuple[QueuedRoundup, bool]: ...
    async def queue_digest(
        self, roundup: Roundup, delivery_ids: Sequence[int], *, now: datetime
    ) -> tuple[QueuedRoundup, bool]: ...
    async def claim_roundups(
        self,
        *,
        now: datetime,
        limit: int,
        lease_seconds: float,
        token: str,
        platforms: Collection[Platform] | None = None,
    ) -> list[QueuedRoundup]: ...
    async def record_roundup_part(
        self,
        roundup_id: int,
        token: str,
        *,
        part_ids: Sequence[str],
        thread_id: str | None,
        lease_seconds: float,
        now: datetime,
    ) -> bool: ...
    async def finish_roundup(self, roundup_id: int, token: str, *, now: datetime) -> bool: ...
    async def retry_roundup(
        self, roundup_id: int, token: str, *, due_at: datetime, error: str, maybe_posted: bool
    ) -> bool: ...
    async def list_roundups(
        self, destination_id: int, *, limit: int = 20, label: str | None = None
    ) -> list[QueuedRoundup]: ...

    # housekeeping
    async def prune(self, *, before: datetime) -> dict[str, int]: ...


class PlanFn(Protocol):
    """Called inside the upsert transaction with what changed; returns deliveries to write.

    ``papers`` are the merged records of this batch with their first-seen times.
    """

    def __call__(
        self, report: UpsertReport, papers: Sequence[StoredPaper]
    ) -> Sequence[PlannedDelivery]: ...
