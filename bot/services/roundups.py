"""Weekly roundups and daily digests: gather a channel's period, build it, queue it, post it.

Gather: the papers a channel received in the period (its deliveries) and those its current
subscriptions match among the papers first seen then (a channel that joined mid-week still
gets a full week), with how many of its subscriptions matched each and the reactions its
posted cards got. Decide: ``bot.core.roundup.build_roundup`` (ranked, grouped, capped). Act:
the roundup is queued in the database once per channel and period, as built, and then posted
part by part (a header, then the topic sections in its thread) through the outbox: a crash in
the middle neither loses nor doubles a part, because each posted part's message id is
recorded before the next is posted, and a part whose answer was lost is looked for before it
is posted again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.matching import SubscriptionIndex
from bot.core.models import (
    DeliveryMode,
    DeliveryStatus,
    Destination,
    DestinationRef,
    Platform,
    QueuedRoundup,
    Roundup,
    RoundupCandidate,
    RoundupKind,
    RoundupPeriod,
    RoundupStatus,
)
from bot.core.query import parse_stored_query
from bot.core.roundup import RankWeights, build_roundup, day_of, day_period, week_of, week_period
from bot.services.cards import CardService
from bot.services.deliver import backoff_seconds
from bot.services.ports import (
    CardRejected,
    Clock,
    PermanentPublishError,
    PublishError,
    RoundupPublisher,
    Store,
    TransientPublishError,
)

__all__ = ["RoundupReport", "RoundupService"]

log = logging.getLogger(__name__)

DIGEST_CAP = 50  # papers shown in a daily digest at most (the tally counts them all)


@dataclass
class RoundupReport:
    posted: int = 0  # roundups whose every part is posted
    parts: int = 0
    retried: int = 0
    problems: list[str] = field(default_factory=list)


class RoundupService:
    def __init__(
        self,
        store: Store,
        cards: CardService,
        publishers: Mapping[Platform, RoundupPublisher],
        clock: Clock,
        *,
        lease_seconds: float = 120.0,
        weights: RankWeights | None = None,
    ) -> None:
        self._store = store
        self._cards = cards
        self._publishers = publishers
        self._clock = clock
        self._lease = lease_seconds
        self._weights = weights or RankWeights()
        self._worker = uuid.uuid4().hex[:12]

    # --- gather and decide ---------------------------------------------------------------

    def period(
        self, dest: Destination, kind: RoundupKind = RoundupKind.WEEKLY, label: str | None = None
    ) -> RoundupPeriod:
        """The period named by ``label`` (a week like 2026-W48, or a day), else the current
        one, in the destination's time zone."""
        zone = dest.settings.timezone
        now = self._clock.now()
        if kind is RoundupKind.DAILY:
            return day_period(label or day_of(now, zone), zone)
        return week_period(label or week_of(now, zone), zone)

    async def build(self, dest: Destination, period: RoundupPeriod) -> Roundup:
        """The destination's roundup of ``period``, as far as it has gone."""
        now = self._clock.now()
        candidates = await self.candidates(dest, period, now=now)
        return build_roundup(
            candidates,
            period,
            now=now,
            destination_id=dest.id,
            cap=dest.settings.roundup_size,
            weights=self._weights,
        )

    async def candidates(
        self, dest: Destination, period: RoundupPeriod, *, now: datetime
    ) -> list[RoundupCandidate]:
        until = period.end  # nothing is seen after now: a week so far is the week
        subs = [s for s in await self._store.list_subscriptions(dest.id) if not s.paused]
        index = SubscriptionIndex((s.id, parse_stored_query(s.query)) for s in subs)
        seen = {
            p.paper.arxiv_id: p for p in await self._store.papers_seen_between(period.start, until)
        }
        delivered = {
            d.arxiv_id: d
            for d in await self._store.get_deliveries(dest.id)
            if d.status is DeliveryStatus.SENT
            and d.sent_at is not None
            and period.start <= d.sent_at < until
        }
        missing = [i for i in delivered if i not in seen]
        stored = {**seen, **await self._store.get_papers(missing)}
        reactions: dict[str, int] = {}
        publisher = self._publishers.get(dest.ref.platform)
        posted = {d.message_id: d.arxiv_id for d in delivered.values() if d.message_id}
        if publisher is not None and posted:
            try:
                counts = await publisher.reactions(dest.ref, list(posted))
            except PublishError as exc:  # a signal, not a requirement
                log.info("reactions of %s unavailable: %s", dest.ref, exc)
                counts = {}
            reactions = {posted[m]: n for m, n in counts.items() if m in posted}
        candidates = []
        for arxiv_id, item in stored.items():
            matches = len(index.match(item.paper))
            if arxiv_id in delivered:
                matches = max(matches, 1)  # it matched when it was posted
            if matches == 0:
                continue
            candidates.append(
                RoundupCandidate(
                    card=await self._cards.card_for(item.paper),
                    matches=matches,
                    first_seen=item.first_seen,
                    reactions=reactions.get(arxiv_id, 0),
                )
            )
        return candidates

    # --- act: queue ------------------------------------------------------------------------

    async def queue(
        self,
        ref: DestinationRef,
        *,
        kind: RoundupKind = RoundupKind.WEEKLY,
        label: str | None = None,
    ) -> QueuedRoundup | None:
        """Build and queue the destination's roundup of the period (the current one unless
        ``label`` names another). Once per channel and period: a second call returns the one
        queued. None when the channel has no row yet."""
        dest = await self._store.get_destination(ref)
        if dest is None:
            return None
        roundup = await self.build(dest, self.period(dest, kind, label))
        quiet = roundup.is_empty and dest.settings.roundup_quiet
        status = RoundupStatus.SILENT if quiet else RoundupStatus.PENDING
        queued, created = await self._store.queue_roundup(
            roundup, now=self._clock.now(), status=status
        )
        if created:
            log.info(
                "%s roundup %s queued for %s: %d papers%s",
                kind.value,
                roundup.period.label,
                ref,
                roundup.paper_count,
                " (an empty week: silent, as the channel chose)" if quiet else "",
            )
        return queued

    async def queue_digest(self, ref: DestinationRef) -> QueuedRoundup | None:
        """A channel in digest mode: the cards that came due since its last digest, as one
        daily digest (the roundup's shape, for the day), queued together with marking them
        delivered by it. None when nothing came (an empty day posts nothing)."""
        dest = await self._store.get_destination(ref)
        if dest is None or dest.settings.mode is not DeliveryMode.DIGEST:
            return None
        now = self._clock.now()
        due = [
            d
            for d in await self._store.get_deliveries(dest.id)
            if d.status is DeliveryStatus.PENDING and d.due_at <= now
        ]
        if not due:
            return None
        subs = [s for s in await self._store.list_subscriptions(dest.id) if not s.paused]
        index = SubscriptionIndex((s.id, parse_stored_query(s.query)) for s in subs)
        papers = await self._store.get_papers([d.arxiv_id for d in due])
        candidates = [
            RoundupCandidate(
                card=await self._cards.card_for(item.paper),
                matches=max(1, len(index.match(item.paper))),
                first_seen=item.first_seen,
            )
            for item in papers.values()
        ]
        period = self.period(dest, RoundupKind.DAILY)
        roundup = build_roundup(
            candidates,
            period,
            now=now,
            destination_id=dest.id,
            cap=max(dest.settings.roundup_size, DIGEST_CAP),
            weights=self._weights,
        )
        queued, created = await self._store.queue_digest(roundup, [d.id for d in due], now=now)
        if created:
            log.info("daily digest %s queued for %s: %d papers", period.label, ref, len(due))
        return queued

    # --- act: post ---------------------------------------------------------------------------

    async def send_due(self) -> RoundupReport:
        """Post every queued roundup that is due, part by part."""
        report = RoundupReport()
        token = f"{self._worker}-{uuid.uuid4().hex[:8]}"
        claimed = await self._store.claim_roundups(
            now=self._clock.now(),
            limit=10,
            lease_seconds=self._lease,
            token=token,
            platforms=list(self._publishers),
        )
        for queued in claimed:
            await self._send(queued, token, report)
        return report

    async def _send(self, queued: QueuedRoundup, token: str, report: RoundupReport) -> None:
        dest = await self._store.get_destination_by_id(queued.destination_id)
        if dest is None or dest.paused_reason is not None:
            await self._store.retry_roundup(
                queued.id,
                token,
                due_at=self._clock.now(),
                error="destination paused",
                maybe_posted=queued.in_doubt,
            )
            return
        publisher = self._publishers[dest.ref.platform]
        roundup = queued.roundup
        parts = list(queued.part_ids)
        thread = queued.thread_id
        in_doubt = queued.in_doubt
        try:
            for part in range(len(parts), publisher.roundup_parts(roundup)):
                nonce = f"pw-r{queued.id}-{part}"
                header = parts[0] if parts else None
                found = None
                if in_doubt:  # the last attempt may have posted this part: look first
                    found = await publisher.find_roundup_part(
                        dest.ref, roundup, part, header=header, thread=thread, nonce=nonce
                    )
                    in_doubt = False
                if found is not None:
                    log.info("roundup %s part %d was already posted", queued.id, part)
                    message_id = found
                else:
                    message_id, used = await publisher.post_roundup_part(
                        dest.ref, roundup, part, header=header, thread=thread, nonce=nonce
                    )
                    thread = thread or used
                    report.parts += 1
                parts.append(message_id)
                await self._store.record_roundup_part(
                    queued.id,
                    token,
                    part_ids=parts,
                    thread_id=thread,
                    lease_seconds=self._lease,
                    now=self._clock.now(),
                )
        except TransientPublishError as exc:
            delay = backoff_seconds(queued.attempts, exc.retry_after)
            log.warning("roundup %s to %s: %s; retrying in %.0f s", queued.id, dest.ref, exc, delay)
            await self._store.retry_roundup(
                queued.id,
                token,
                due_at=self._clock.now() + timedelta(seconds=delay),
                error=str(exc),
                maybe_posted=exc.maybe_posted,
            )
            report.retried += 1
            return
        except PermanentPublishError as exc:
            log.warning("destination %s paused: %s", dest.ref, exc.reason)
            await self._store.update_destination(dest.id, paused_reason=exc.reason)
            await self._store.retry_roundup(
                queued.id, token, due_at=self._clock.now(), error=exc.reason, maybe_posted=False
            )
            report.problems.append(f"{dest.ref}: {exc.reason}")
            return
        except CardRejected as exc:  # a part the platform will not take: report, do not loop
            log.error("roundup %s to %s refused: %s", queued.id, dest.ref, exc)
            report.problems.append(f"{dest.ref}: {exc}")
        await self._store.finish_roundup(queued.id, token, now=self._clock.now())
        report.posted += 1
