"""What every chat command does, once, for Discord and Slack alike (DESIGN.md section 12).

The adapters turn a platform event into a ``ChatRequest`` and render the ``Reply``; this
service decides. Whatever may call a source (arXiv, Hugging Face) or read many rows first
calls ``defer`` so the platform's 3-second deadline is met; a stored paper answers at once.
Errors and refusals are short, say what to type instead, and only the asker sees them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from bot.core.calendar import ago
from bot.core.chat import (
    COMMANDS,
    GROUP,
    LOOKUP,
    LOOKUP_SPEC,
    ChatRequest,
    Line,
    Reply,
    Span,
    Style,
    bold,
    channel,
    code,
    command_spec,
    link,
    manage_requirement,
    plain,
    removed_reason,
    usage,
)
from bot.core.ids import InvalidArxivId, parse_arxiv_id
from bot.core.models import (
    Card,
    Destination,
    DestinationRef,
    DestinationSettings,
    Paper,
    Platform,
)
from bot.core.query import QueryError, parse_query
from bot.core.roundup import contents_line, empty_text, roundup_title, tally_text
from bot.core.settings_text import describe_settings
from bot.services.cards import CardService
from bot.services.lookup import LookupService
from bot.services.ports import (
    Clock,
    LookupSource,
    PaperNotFound,
    SourceError,
    Store,
)
from bot.services.roundups import RoundupService
from bot.services.status import StatusService
from bot.services.subscriptions import SubscriptionNotFound, SubscriptionService

__all__ = ["ChatService", "Defer", "removed_reason"]

log = logging.getLogger(__name__)

# Called before anything slow; ``ephemeral``: whether the answer will be only for the asker.
Defer = Callable[[bool], Awaitable[None]]

PREVIEW_DAYS = 7
ALTERNATIVES = 4  # title search: the best match and up to four more
SEARCH_RESULTS = 8
# A stored paper's card not built within this many seconds defers the answer (the platforms
# give 3 seconds for the first answer).
DEFER_AFTER = 1.5
AUTOCOMPLETE_CHOICES = 25
_LINKLIKE = re.compile(r"https?://|www\.|arxiv|^\S*\d{4}\.\d|^[a-z-]+(\.[A-Z]{2})?/\d", re.I)


async def _no_defer(ephemeral: bool) -> None:
    return None


class ChatService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        lookup: LookupService,
        cards: CardService,
        subscriptions: SubscriptionService,
        search: LookupSource,
        status: StatusService,
        roundups: RoundupService | None = None,
        slack_manager_group: str | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._lookup = lookup
        self._cards = cards
        self._subs = subscriptions
        self._search = search
        self._status = status
        self._roundups = roundups
        self._manager_group = slack_manager_group
        self._greeted: set[tuple[Platform, str]] = set()  # workspaces known to be greeted

    # --- the entry points -------------------------------------------------------------------

    async def handle(self, request: ChatRequest, defer: Defer = _no_defer) -> Reply:
        """Answer one command. Never raises for anything a person typed or a source did."""
        try:
            reply = await self._dispatch(request, defer)
        except QueryError as exc:
            reply = _query_error(request.text("query"), exc)
        except (SubscriptionNotFound, PaperNotFound, InvalidArxivId) as exc:
            reply = _error(str(exc))
        except SourceError as exc:
            log.warning(
                "%s /%s %s: %s", request.platform.value, request.command, request.subcommand, exc
            )
            reply = _error(
                f"arXiv could not be reached just now; try again in a minute ({exc.message})"
            )
        except ValueError as exc:  # settings and backfill values: the message says the fix
            reply = _error(str(exc))
        if await self._first_use(request):
            reply = dataclasses.replace(reply, note=_welcome(request))
        return reply

    async def autocomplete(self, request: ChatRequest, typed: str) -> list[tuple[str, str]]:
        """Choices for ``/papers unsubscribe``: this channel's subscriptions matching ``typed``
        as (label, value) pairs, at most 25 (Discord's limit; labels of at most 100)."""
        dest = await self._store.get_destination(_ref(request))
        if dest is None:
            return []
        needle = typed.strip().lower().removeprefix("#")
        choices = []
        for sub in await self._store.list_subscriptions(dest.id):
            label = f"#{sub.id} {sub.query}"
            if needle and needle not in label.lower():
                continue
            choices.append((label if len(label) <= 100 else label[:99] + "…", str(sub.id)))
        return choices[:AUTOCOMPLETE_CHOICES]

    async def card_for_link(self, text: str) -> Card | None:
        """The card of a pasted paper link (Slack unfurls), or None when it is not a paper
        arXiv has, or arXiv cannot be asked: an unfurl never shows an error."""
        try:
            ident = parse_arxiv_id(text)
            stored = await self._lookup.get(ident.id)
        except (InvalidArxivId, PaperNotFound, SourceError):
            return None
        return await self._cards.card_for(stored.paper, stored.parts)

    async def home(self, platform: Platform, workspace: str) -> Reply:
        """What the App Home tab shows: how to use paperwire, and this workspace's channels
        with subscriptions (and their queries)."""
        lines: list[Line] = [
            (plain("Look a paper up anywhere: "), code(LOOKUP_SPEC.examples[0])),
            (plain("Get new papers in a channel: "), code(COMMANDS[0].examples[0])),
            (plain(f"Everything else: /{GROUP} help"),),
            (bold("Channels with subscriptions"),),
        ]
        subs = await self._store.list_subscriptions()
        found = False
        for dest in await self._store.list_destinations():
            if dest.ref.platform is not platform or dest.ref.workspace != workspace:
                continue
            queries = [s.query for s in subs if s.destination_id == dest.id]
            if not queries:
                continue
            found = True
            paused = " (paused)" if dest.paused_reason else ""
            lines.append((channel(dest.ref.channel), plain(f"{paused}: ")))
            lines.extend((plain("    "), code(q)) for q in queries)
        if not found:
            lines.append((plain("none yet"),))
        return Reply(title="paperwire", lines=tuple(lines))

    async def removed(
        self, platform: Platform, *, workspace: str | None = None, channels: Sequence[str] = ()
    ) -> int:
        """paperwire was removed from a server or workspace: pause its channels, with why."""
        count = await self._store.pause_destinations(
            platform,
            reason=removed_reason(platform),
            workspace=workspace,
            channels=list(channels) if channels else None,
        )
        log.info(
            "%s: removed from %s; %d channels paused",
            platform.value,
            workspace or "a server",
            count,
        )
        return count

    async def added(
        self, platform: Platform, *, workspace: str | None = None, channels: Sequence[str] = ()
    ) -> int:
        """paperwire was added (back) to a server or workspace: resume what its removal paused."""
        return await self._store.resume_destinations(
            platform,
            reason=removed_reason(platform),
            workspace=workspace,
            channels=list(channels) if channels else None,
        )

    # --- dispatch ---------------------------------------------------------------------------

    async def _dispatch(self, request: ChatRequest, defer: Defer) -> Reply:
        if request.command == LOOKUP:
            return await self._paper(request, defer)
        name = request.subcommand or "help"
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None:
            return _error(f"/{GROUP} has no subcommand {name!r}: type /{GROUP} help")
        result: Reply = await handler(request, defer)
        return result

    def _refuse(self, request: ChatRequest, what: str) -> Reply | None:
        """A refusal when the asker may not change this channel, else None."""
        if request.may_manage:
            return None
        who = manage_requirement(request.platform, self._manager_group)
        return _error(
            f"Only {who} can {what}. Ask one of them, or look around with /{GROUP} list "
            f"and /{LOOKUP}."
        )

    # /paper ----------------------------------------------------------------------------

    async def _paper(self, request: ChatRequest, defer: Defer) -> Reply:
        text = request.text("paper")
        private = bool(request.args.get("private"))
        if not text:
            return _error(f"Give an arXiv id, a link or title words: {LOOKUP_SPEC.examples[0]}")
        try:
            ident = parse_arxiv_id(text)
        except InvalidArxivId:
            if _LINKLIKE.search(text) and len(text.split()) <= 2:
                raise  # an id or a link with a mistake: its message says what is wrong
            return await self._title_search(text, private, defer)
        stored = await self._lookup.stored(ident.id)
        if stored is None:
            await defer(private)
            stored = await self._lookup.get(ident.id)
            card = await self._cards.card_for(stored.paper, stored.parts)
        else:
            card = await self._in_time(
                self._cards.card_for(stored.paper, stored.parts), defer, private
            )
        lines: tuple[Line, ...] = ()
        if ident.version is not None and ident.version != card.version:
            lines = (
                (plain(f"You asked for v{ident.version}; this is the latest, v{card.version}."),),
            )
        return Reply(cards=(card,), lines=lines, ephemeral=private)

    async def _in_time(self, building: Awaitable[Card], defer: Defer, private: bool) -> Card:
        """A stored paper's card, deferring first if it takes long: an outside summarizer
        (an LLM tier whose answer is not cached yet) or a slow database must not make the
        platform's 3-second deadline pass unanswered."""
        task = asyncio.ensure_future(building)
        try:
            return await asyncio.wait_for(asyncio.shield(task), DEFER_AFTER)
        except TimeoutError:
            await defer(private)
            return await task
        finally:
            if not task.done():  # the asker went away (cancelled): stop building
                task.cancel()

    async def _title_search(self, text: str, private: bool, defer: Defer) -> Reply:
        await defer(private)
        found = await self._search.search(text, limit=1 + ALTERNATIVES)
        if not found:
            return _error(
                f"No arXiv paper matches {text[:100]!r}: try other title words, or the id"
            )
        best, others = found[0], found[1:]
        await self._store.upsert_papers([best], now=self._clock.now())
        stored = await self._store.get_paper(best.arxiv_id)
        card = await self._cards.card_for(stored.paper if stored else best)
        lines: list[Line] = []
        if others:
            lines.append((bold("Other matches"),))
            lines.extend(_paper_line(p) for p in others)
        return Reply(cards=(card,), lines=tuple(lines), ephemeral=private)

    # /papers subscribe | unsubscribe | list ----------------------------------------------

    async def _cmd_subscribe(self, request: ChatRequest, defer: Defer) -> Reply:
        refused = self._refuse(request, "subscribe this channel")
        if refused:
            return refused
        query = request.text("query")
        if not query:
            return _error(f"Say what to follow: {COMMANDS[0].examples[0]}")
        backfill = request.args.get("backfill") or 0
        parse_query(query)  # a mistake is answered at once, before anything is deferred
        await defer(False)
        result = await self._subs.add(
            _ref(request),
            query,
            backfill_days=int(backfill),
            added_by=request.user,
            added_by_name=request.user_name or None,
        )
        sub = result.subscription
        if not result.created:
            return Reply(
                title=f"This channel already has subscription #{sub.id}",
                lines=((code(sub.query),),),
                ephemeral=True,
            )
        count, sample = await self._subs.preview(sub.query, days=PREVIEW_DAYS)
        lines: list[Line] = [(code(sub.query),)]
        if result.backfilled:
            lines.append(
                (
                    plain(
                        f"Posting {result.backfilled} matching papers of the last "
                        f"{backfill} days, then new ones as they come."
                    ),
                )
            )
        else:
            lines.append(
                (plain("New matching papers will be posted here as they come (no backlog)."),)
            )
        if count:
            lines.append(
                (
                    plain(
                        f"In the last {PREVIEW_DAYS} days it would have matched "
                        f"{count} stored papers, for example:"
                    ),
                )
            )
            lines.extend(_paper_line(p) for p in sample)
        else:
            lines.append(
                (
                    plain(
                        f"It matched none of the papers stored in the last "
                        f"{PREVIEW_DAYS} days: check that this is what you meant."
                    ),
                )
            )
        return Reply(title=f"Subscribed this channel (#{sub.id})", lines=tuple(lines))

    async def _cmd_unsubscribe(self, request: ChatRequest, defer: Defer) -> Reply:
        refused = self._refuse(request, "remove this channel's subscriptions")
        if refused:
            return refused
        which = request.text("subscription")
        if not which:
            return _error(f"Say which one: /{GROUP} unsubscribe NUMBER (see /{GROUP} list)")
        try:
            removed = await self._subs.remove(_ref(request), which)
        except SubscriptionNotFound:
            return _error(
                f"This channel has no subscription {which[:100]!r}: /{GROUP} list shows "
                "their numbers"
            )
        return Reply(title=f"Removed subscription #{removed.id}", lines=((code(removed.query),),))

    async def _cmd_list(self, request: ChatRequest, defer: Defer) -> Reply:
        dest = await self._store.get_destination(_ref(request))
        subs = await self._store.list_subscriptions(dest.id) if dest else []
        if dest is None or not subs:
            return Reply(
                title="This channel has no subscriptions",
                lines=((plain("Add one: "), code(COMMANDS[0].examples[0])),),
                ephemeral=True,
            )
        await defer(True)
        counts = await self._subs.recent_matches(subs, days=PREVIEW_DAYS)
        now = self._clock.now()
        lines: list[Line] = []
        for sub in subs:
            by = f" by {sub.added_by_name}" if sub.added_by_name else ""
            state = " (paused)" if sub.paused else ""
            lines.append((bold(f"#{sub.id}"), plain(" "), code(sub.query), plain(state)))
            lines.append(
                (
                    plain(
                        f"    added{by} {ago(now, sub.created_at)} · "
                        f"{counts.get(sub.id, 0)} matches in the last "
                        f"{PREVIEW_DAYS} days"
                    ),
                )
            )
        lines.append((plain("Settings: "), code(describe_settings(dest.settings))))
        if dest.paused_reason:
            lines.append((bold("Paused: "), plain(dest.paused_reason)))
        return Reply(
            title=f"Subscriptions of this channel ({len(subs)})", lines=tuple(lines), ephemeral=True
        )

    # /papers search ----------------------------------------------------------------------

    async def _cmd_search(self, request: ChatRequest, defer: Defer) -> Reply:
        query = request.text("query")
        if not query:
            return _error(f"Say what to search for: /{GROUP} search speculative decoding")
        await defer(True)
        found = await self._search.search(query, limit=SEARCH_RESULTS, newest=True)
        if not found:
            return _error(f"arXiv has nothing for {query[:100]!r}: try fewer or other words")
        return Reply(
            title=f"Newest arXiv papers for “{query[:80]}”",
            lines=tuple(_paper_line(p, dated=True) for p in found),
            ephemeral=True,
        )

    # /papers settings | roundup | pause | resume -----------------------------------------

    async def _cmd_settings(self, request: ChatRequest, defer: Defer) -> Reply:
        changes = {k: _setting_text(v) for k, v in request.args.items() if v is not None}
        if not changes:
            dest = await self._store.get_destination(_ref(request))
            settings = dest.settings if dest else None
            shown = describe_settings(settings) if settings else "the defaults (no changes yet)"
            return Reply(
                title="Settings of this channel",
                lines=((code(shown),), (plain(f"Change one: {COMMANDS[4].examples[1]}"),)),
                ephemeral=True,
            )
        refused = self._refuse(request, "change this channel's settings")
        if refused:
            return refused
        dest = await self._ensure(request)
        updated = await self._subs.configure(dest.ref, changes)
        return Reply(
            title="Settings changed", lines=((code(describe_settings(updated.settings)),),)
        )

    async def _cmd_roundup(self, request: ChatRequest, defer: Defer) -> Reply:
        action = request.text("action") or "show"
        changes: dict[str, str] = {}
        if action in {"on", "off"}:
            changes["roundup"] = "yes" if action == "on" else "no"
        if request.args.get("day"):
            changes["roundup_day"] = request.text("day")
        if request.args.get("hour") is not None:
            changes["roundup_hour"] = str(request.args["hour"])
        if action == "preview":
            return await self._preview(request, defer)
        if changes:
            refused = self._refuse(request, "change this channel's roundup")
            if refused:
                return refused
            dest = await self._ensure(request)
            dest = await self._subs.configure(dest.ref, changes)
        else:
            dest = await self._store.get_destination(_ref(request)) or _default(
                request, self._clock.now()
            )
        settings = dest.settings
        when = (
            f"every {settings.roundup_day.capitalize()} at {settings.roundup_hour:02d}:00 "
            f"({settings.timezone})"
        )
        state = f"Weekly roundup: {when}" if settings.roundup_enabled else "Weekly roundup: off"
        return Reply(
            title="Roundup changed" if changes else "Roundup",
            lines=((plain(state),), (plain(f"Change it: /{GROUP} roundup fri 16, on or off"),)),
            ephemeral=not changes,
        )

    async def _preview(self, request: ChatRequest, defer: Defer) -> Reply:
        """This week's roundup so far, only for the asker (nothing is posted or queued)."""
        if self._roundups is None:
            return _error("Roundups are not available here.")
        await defer(True)
        dest = await self._store.get_destination(_ref(request)) or _default(
            request, self._clock.now()
        )
        roundup = await self._roundups.build(dest, self._roundups.period(dest))
        lines: list[Line] = [
            (plain(tally_text(roundup) if not roundup.is_empty else empty_text(roundup.period)),)
        ]
        if not roundup.is_empty:
            lines.append((plain(contents_line(roundup)),))
        number = 0
        for section in roundup.sections:
            lines.append((bold(section.topic.label),))
            for entry in section.entries:
                number += 1
                lines.append(
                    (
                        plain(f"{number}. "),
                        link(entry.title, entry.links[0].url)
                        if entry.links
                        else plain(entry.title),
                    )
                )
                if entry.tldr:
                    lines.append((plain(f"    {entry.tldr}"),))
        return Reply(title=f"Preview: {roundup_title(roundup)}", lines=tuple(lines), ephemeral=True)

    async def _cmd_pause(self, request: ChatRequest, defer: Defer) -> Reply:
        refused = self._refuse(request, "pause this channel")
        if refused:
            return refused
        dest = await self._ensure(request)
        who = request.user_name or "someone"
        await self._store.update_destination(
            dest.id, paused_reason=f"paused by {who} with /{GROUP} pause"
        )
        return Reply(
            title="Paused",
            lines=(
                (
                    plain(
                        f"No papers are posted here until /{GROUP} resume. "
                        "Matching papers keep queueing meanwhile."
                    ),
                ),
            ),
        )

    async def _cmd_resume(self, request: ChatRequest, defer: Defer) -> Reply:
        refused = self._refuse(request, "resume this channel")
        if refused:
            return refused
        dest = await self._ensure(request)
        await self._store.update_destination(dest.id, clear_pause=True)
        waiting = (await self._store.queue_stats(dest.id)).pending
        line = (
            f"{waiting} queued papers will be posted shortly."
            if waiting
            else ("New matching papers will be posted as they come.")
        )
        return Reply(title="Resumed", lines=((plain(line),),))

    # /papers status | help -----------------------------------------------------------------

    async def _cmd_status(self, request: ChatRequest, defer: Defer) -> Reply:
        report = await self._status.report()
        lines: list[Line] = [(bold("Sources"),)]
        lines.extend((plain(f"{s.name}: {s.message}"),) for s in report.sources)
        lines.append((bold("This channel"),))
        dest = await self._store.get_destination(_ref(request))
        if dest is None:
            lines.append((plain(f"no subscriptions yet: /{GROUP} subscribe QUERY"),))
        else:
            subs = await self._store.list_subscriptions(dest.id)
            queue = await self._store.queue_stats(dest.id)
            lines.append(
                (
                    plain(
                        f"{len(subs)} subscriptions, {queue.pending} papers queued, "
                        f"{queue.sent} posted"
                    ),
                )
            )
            if dest.paused_reason:
                lines.append((bold("Paused: "), plain(dest.paused_reason)))
        for platform in report.platforms:
            if platform.platform is request.platform and platform.paused_reason:
                lines.append((bold("Paused: "), plain(platform.paused_reason)))
        return Reply(title="paperwire status", lines=tuple(lines), ephemeral=True)

    async def _cmd_help(self, request: ChatRequest, defer: Defer) -> Reply:
        lines: list[Line] = [
            (code(usage(LOOKUP_SPEC)), plain(f" {LOOKUP_SPEC.description}")),
        ]
        for spec in COMMANDS:
            lines.append((code(usage(spec)), plain(f" {spec.description}")))
        lines.append((bold("Queries"),))
        lines.append(
            (
                plain(
                    "Terms AND together; OR (or |) between alternatives; - excludes; "
                    "quotes make phrases. Fields: cat:, au:, ti:, abs:, kw:, source:, "
                    "upvotes>=N."
                ),
            )
        )
        lines.extend((code(example),) for example in command_spec("subscribe").examples)
        who = manage_requirement(request.platform, self._manager_group)
        lines.append((plain(f"Changes to a channel are for {who}; anyone may look papers up."),))
        return Reply(
            title="paperwire: research papers in this channel", lines=tuple(lines), ephemeral=True
        )

    # --- helpers ----------------------------------------------------------------------------

    async def _ensure(self, request: ChatRequest) -> Destination:
        return await self._store.ensure_destination(_ref(request), now=self._clock.now())

    async def _first_use(self, request: ChatRequest) -> bool:
        """True the first time anyone uses paperwire in this server or workspace."""
        key = (request.platform, request.workspace)
        if not request.workspace or key in self._greeted:
            return False
        first = await self._store.mark_workspace_used(
            request.platform, request.workspace, now=self._clock.now()
        )
        self._greeted.add(key)
        return first and request.subcommand not in {"subscribe", "help"}


def _ref(request: ChatRequest) -> DestinationRef:
    # A Discord channel id is unique across servers: its destination names no workspace.
    workspace = request.workspace if request.platform is Platform.SLACK else ""
    return DestinationRef(request.platform, workspace, request.channel)


def _default(request: ChatRequest, now: datetime) -> Destination:
    """What a channel with no row yet has: the default settings."""
    return Destination(0, _ref(request), DestinationSettings(), created_at=now)


def _error(text: str) -> Reply:
    return Reply(lines=((plain(text),),), ephemeral=True, error=True)


def _query_error(query: str, exc: QueryError) -> Reply:
    lines: list[Line] = [(plain(f"That query has a problem: {exc}"),)]
    if query and 0 <= exc.position <= len(query):
        lines.append((Span(query, Style.PRE),))
        lines.append((Span(" " * exc.position + "^", Style.PRE),))
    return Reply(lines=tuple(lines), ephemeral=True, error=True)


def _setting_text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _paper_line(paper: Paper, *, dated: bool = False) -> Line:
    when = ""
    if dated and paper.published is not None:
        when = f" · {paper.published:%Y-%m-%d}"
    return (
        plain("• "),
        link(paper.title or paper.arxiv_id, paper.abs_url),
        plain(f" (arXiv:{paper.arxiv_id}{when})"),
    )


def _welcome(request: ChatRequest) -> tuple[Line, ...]:
    return (
        (bold("paperwire is new here."),),
        (
            plain("To get new papers in a channel, someone who manages it types "),
            code(COMMANDS[0].examples[0]),
            plain(f"; /{GROUP} help shows everything."),
        ),
    )
