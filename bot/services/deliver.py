"""The sender: claim due outbox rows, build each card, publish it, record the message id.

Exactly once, even across crashes: a row whose claim expired without a confirmation (or whose
post timed out) is "in doubt", and the publisher is asked whether the post already exists
before anything is posted again. Transient failures back off (honouring the platform's
retry-after); permanent ones pause the destination with the reason, shown in `paperwire status`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.models import Card, Delivery, Destination, Platform
from bot.services.cards import CardService
from bot.services.platforms import PlatformHealthService
from bot.services.ports import (
    CardRejected,
    Clock,
    PermanentPublishError,
    PlatformRefused,
    PlatformUnavailable,
    Publisher,
    Store,
    TransientPublishError,
)

__all__ = ["DeliveryReport", "DeliveryService", "backoff_seconds"]

log = logging.getLogger(__name__)

MAX_BACKOFF = 3600.0


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff (5 s, 10 s, 20 s ... capped at an hour), never sooner than asked."""
    delay: float = min(MAX_BACKOFF, 5.0 * 2.0 ** max(0, attempts - 1))
    return max(delay, retry_after or 0.0)


@dataclass
class DeliveryReport:
    sent: int = 0
    reconciled: int = 0  # in-doubt rows found already posted
    retried: int = 0
    failed: int = 0
    paused: list[str] = field(default_factory=list)
    # (platform, outcome) -> count, for the metrics
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def handled(self) -> int:
        return self.sent + self.reconciled + self.retried + self.failed


class DeliveryService:
    def __init__(
        self,
        store: Store,
        cards: CardService,
        publishers: Mapping[Platform, Publisher],
        clock: Clock,
        *,
        lease_seconds: float = 120.0,
        batch: int = 20,
        worker_id: str | None = None,
        health: PlatformHealthService | None = None,
        concurrency: int = 64,
    ) -> None:
        """``batch``: rows claimed at a time for one destination; ``concurrency``: how many
        destinations are served at the same time."""
        self._store = store
        self._cards = cards
        self._publishers = publishers
        self._clock = clock
        self._lease = lease_seconds
        self._per_destination = batch
        self._concurrency = concurrency
        self._stopping = False
        self._worker = worker_id or uuid.uuid4().hex[:12]
        self._health = health or PlatformHealthService(store, clock)

    async def recheck_platforms(self) -> None:
        """Try paused platforms at the next batch (a restart may have fixed their token)."""
        await self._health.recheck()

    def stop(self) -> None:
        """Finish the posts in flight and claim nothing more (SIGTERM); rows claimed but not
        begun are handed back at once, for the next worker or start."""
        self._stopping = True

    async def run_once(self) -> DeliveryReport:
        """Deliver what is due now: every destination with due rows at the same time, each
        destination's rows in order, one after the other (until none is due there)."""
        report = DeliveryReport()
        if self._stopping:
            return report
        paused = {p for p, s in (await self._health.states()).items() if s.paused}
        due = await self._store.due_destinations(
            now=self._clock.now(), platforms=list(self._publishers), limit=self._concurrency
        )
        down: set[Platform] = set()  # platforms that failed as a whole in this run
        if not due:
            return report
        # One claim for every due channel's first rows (a claim each would queue them up
        # behind one another for the database's write lock), then each channel on its own.
        token = f"{self._worker}-{uuid.uuid4().hex[:8]}"
        claimed = await self._store.claim_deliveries(
            now=self._clock.now(),
            limit=self._per_destination * len(due),
            lease_seconds=self._lease,
            token=token,
            platforms=list(self._publishers),
            destination_ids=due,
        )
        first: dict[int, list[Delivery]] = {}
        for delivery in claimed:
            first.setdefault(delivery.destination_id, []).append(delivery)
        await asyncio.gather(
            *(
                self._serve(dest_id, report, paused, down, first.get(dest_id, []), token)
                for dest_id in due
            )
        )
        return report

    async def _serve(
        self,
        dest_id: int,
        report: DeliveryReport,
        paused: set[Platform],
        down: set[Platform],
        claimed: list[Delivery],
        token: str,
    ) -> None:
        """One destination's due rows, in order, a few claimed at a time. A row that must wait
        (a rate limit, a failure) stops the destination for this run, so nothing posted after
        it overtakes it; the rest of its claim is handed back untouched."""
        while True:
            if self._stopping:  # SIGTERM: what is claimed and not begun goes back at once
                await self._hand_back(claimed, token, "not posted yet")
                return
            if not claimed:
                token = f"{self._worker}-{uuid.uuid4().hex[:8]}"
                claimed = await self._store.claim_deliveries(
                    now=self._clock.now(),
                    limit=self._per_destination,
                    lease_seconds=self._lease,
                    token=token,
                    platforms=list(self._publishers),
                    destination_ids=[dest_id],
                )
                if not claimed:
                    return
            dest = await self._store.get_destination_by_id(dest_id)
            papers = await self._store.get_papers(sorted({d.arxiv_id for d in claimed}))
            for index, delivery in enumerate(claimed):
                stop = self._stopping or dest is None or dest.paused_reason is not None
                if stop or (dest is not None and dest.ref.platform in down):
                    await self._hand_back(claimed[index:], token, "not posted yet")
                    return
                assert dest is not None
                stored = papers.get(delivery.arxiv_id)
                if stored is None:  # pragma: no cover - the foreign key makes this impossible
                    await self._store.fail_delivery(delivery.id, token, error="paper missing")
                    report.failed += 1
                    continue
                card = await self._cards.card_for(stored.paper, stored.parts)
                try:
                    outcome = await self._deliver(delivery, dest, card, token, report)
                except (PlatformUnavailable, PlatformRefused) as exc:
                    down.add(exc.platform)
                    await self._platform_down(exc, delivery, token, report)
                    await self._hand_back(claimed[index + 1 :], token, "platform paused")
                    return
                if outcome is not None:  # paused, or must wait: the rest waits as long
                    why, until = outcome
                    await self._hand_back(claimed[index + 1 :], token, why, due_at=until)
                    return
                if dest.ref.platform in paused:
                    paused.discard(dest.ref.platform)
                    await self._health.up(dest.ref.platform)
            claimed = []  # all handled: claim the channel's next rows, if any

    async def _hand_back(
        self, rows: Sequence[Delivery], token: str, why: str, *, due_at: datetime | None = None
    ) -> None:
        """Return claimed rows untouched (an in-doubt row stays in doubt), due at ``due_at``
        (now by default): never before a row of the channel that waits ahead of them."""
        for delivery in rows:
            await self._store.retry_delivery(
                delivery.id,
                token,
                due_at=due_at or self._clock.now(),
                error=why,
                maybe_posted=delivery.in_doubt,
            )

    async def _platform_down(
        self,
        exc: PlatformUnavailable | PlatformRefused,
        delivery: Delivery,
        token: str,
        report: DeliveryReport,
    ) -> None:
        """The whole platform failed: its destinations wait (their rows untouched) until it
        is tried again, and the reason shows in status and /healthz."""
        refused = isinstance(exc, PlatformRefused)
        reason = exc.reason if isinstance(exc, PlatformRefused) else str(exc)
        await self._health.down(
            exc.platform, reason, refused=refused, retry_after=getattr(exc, "retry_after", None)
        )
        # Not the row's fault: hand it back as it was. Claims skip the platform until its
        # retry time (or a restart's recheck), so the row goes out as soon as it works again.
        await self._store.retry_delivery(
            delivery.id,
            token,
            due_at=self._clock.now(),
            error=reason,
            maybe_posted=delivery.in_doubt,
        )
        report.retried += 1
        report.paused.append(f"{exc.platform.value}: {reason}")

    async def drain(self, *, max_rounds: int = 1000) -> DeliveryReport:
        """Deliver until nothing is due now (for `paperwire run --once`)."""
        total = DeliveryReport()
        for _ in range(max_rounds):
            report = await self.run_once()
            total.sent += report.sent
            total.reconciled += report.reconciled
            total.retried += report.retried
            total.failed += report.failed
            total.paused.extend(report.paused)
            total.outcomes.update(report.outcomes)
            if report.sent + report.reconciled == 0:
                break
        return total

    async def _deliver(
        self,
        delivery: Delivery,
        dest: Destination,
        card: Card,
        token: str,
        report: DeliveryReport,
    ) -> tuple[str, datetime] | None:
        """Handle one claimed row; None when it is done (posted, or failed for good), else why
        the destination's next rows must wait, and until when (it was paused, or this row is
        retried later)."""
        # Claims only cover platforms we have a publisher for.
        publisher = self._publishers[dest.ref.platform]
        nonce = f"pw-{delivery.id}-v{delivery.version}"
        try:
            if delivery.in_doubt:
                existing = await publisher.find_existing(dest.ref, card, nonce=nonce)
                if existing is not None:
                    log.info("delivery %s was already posted as %s", delivery.id, existing)
                    await self._store.confirm_delivery(
                        delivery.id, token, message_id=existing, now=self._clock.now()
                    )
                    report.reconciled += 1
                    report.outcomes[(dest.ref.platform.value, "reconciled")] += 1
                    return None
            message_id = await publisher.publish(dest.ref, card, nonce=nonce)
        except (PlatformUnavailable, PlatformRefused):
            raise  # the platform, not this channel: run_once pauses the platform
        except TransientPublishError as exc:
            delay = backoff_seconds(delivery.attempts, exc.retry_after)
            log.warning(
                "delivery %s to %s: %s; retrying in %.0f s", delivery.id, dest.ref, exc, delay
            )
            retry_at = self._clock.now() + timedelta(seconds=delay)
            await self._store.retry_delivery(
                delivery.id,
                token,
                due_at=retry_at,
                error=str(exc),
                maybe_posted=exc.maybe_posted or delivery.in_doubt,
            )
            report.retried += 1
            report.outcomes[(dest.ref.platform.value, "retried")] += 1
            return "waiting for an earlier card of this channel", retry_at
        except CardRejected as exc:
            log.warning("delivery %s to %s: card refused: %s", delivery.id, dest.ref, exc)
            await self._store.fail_delivery(delivery.id, token, error=str(exc))
            report.failed += 1
            report.outcomes[(dest.ref.platform.value, "refused")] += 1
            return None
        except PermanentPublishError as exc:
            # Stop this destination; its rows stay queued (nothing is lost) until a person
            # fixes the channel and resumes it.
            if exc.workspace is not None:
                count = await self._store.pause_destinations(
                    dest.ref.platform, workspace=exc.workspace, reason=exc.reason
                )
                log.warning(
                    "%s workspace %s: %d destinations paused: %s",
                    dest.ref.platform.value,
                    exc.workspace,
                    count,
                    exc.reason,
                )
            else:
                log.warning("destination %s paused: %s", dest.ref, exc.reason)
            await self._store.update_destination(dest.id, paused_reason=exc.reason)
            await self._store.retry_delivery(
                delivery.id, token, due_at=self._clock.now(), error=exc.reason
            )
            report.failed += 1
            report.outcomes[(dest.ref.platform.value, "paused")] += 1
            report.paused.append(f"{dest.ref}: {exc.reason}")
            return exc.reason, self._clock.now()
        if not await self._store.confirm_delivery(
            delivery.id, token, message_id=message_id, now=self._clock.now()
        ):
            # Our claim lapsed while posting; the next claimer will find this post and confirm.
            log.warning("delivery %s: claim lapsed before confirmation", delivery.id)
        report.sent += 1
        report.outcomes[(dest.ref.platform.value, "sent")] += 1
        return None
