"""Roundups and digests: a period's candidate papers -> ranked, capped, grouped by topic (pure).

A weekly roundup is what a reading group would write by hand as "the top papers of the week":
the channel's best papers of one ISO week, ranked by what the community and the channel showed
(``RankWeights`` says how), grouped by topic with the topics in the order of their best paper,
each as its title, a one-line TL;DR, at most two key insights that add something, and links.
A daily digest is the same shape for one day. Time is passed in; the period helpers turn an
ISO week or a day into UTC instants in the channel's time zone, daylight saving included.

The phrases at the bottom (title, period, tally, contents, empty line) are shared by every
renderer so the roundup reads the same on Discord, Slack, the console and the web.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.cards import format_date
from bot.core.models import (
    Link,
    Roundup,
    RoundupCandidate,
    RoundupEntry,
    RoundupKind,
    RoundupPeriod,
    RoundupSection,
    Topic,
)
from bot.core.safety import measure, scrub, truncate

__all__ = [
    "DEFAULT_CAP",
    "ENTRY_LINK_LABELS",
    "INSIGHT_MAX",
    "MAX_INSIGHTS",
    "REPEAT_OVERLAP",
    "TLDR_MAX",
    "RankWeights",
    "build_roundup",
    "contents",
    "contents_line",
    "day_bounds",
    "day_of",
    "day_period",
    "empty_text",
    "entry_signals_text",
    "iso_week",
    "parse_day",
    "parse_week",
    "period_text",
    "rank",
    "repeats",
    "roundup_title",
    "score",
    "select_insights",
    "tally_text",
    "week_bounds",
    "week_of",
    "week_period",
    "weekly_moment",
]

log = logging.getLogger(__name__)

DEFAULT_CAP = 15  # papers in a roundup, over all topics; a setting per channel
MAX_INSIGHTS = 2
TLDR_MAX = 300  # one line: a sentence, not a paragraph (measured like ``safety.measure``)
INSIGHT_MAX = 240
_TITLE_MAX = 300
_AUTHORS_MAX = 200
# A key point repeats what the entry already says when at least this share of its content
# words (lowercased, plural "s" folded, stop words dropped) already appear in the title, the
# TL;DR or an insight kept before it. 0.6: a point that restates the TL;DR in other order or
# with a few words changed goes; one that brings a number, a dataset or a method stays.
REPEAT_OVERLAP = 0.6
# The links an entry shows, by the labels ``bot.core.cards.build_card`` gives them.
ENTRY_LINK_LABELS = ("Abstract", "Hugging Face", "Code")


# --- Ranking -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RankWeights:
    """How much each signal counts in a paper's score: ``sum(weight * signal)``; higher first.

    Counts are log-scaled, ``ln(1 + n)``: they are heavy-tailed (0 to 100+ upvotes in one day)
    and each tenfold rise is evidence of about the same strength, so a viral paper cannot drown
    out what this channel showed. Ties go to the lower arXiv id, so the order is deterministic.

    - ``upvotes`` (1.0): Hugging Face Daily Papers upvotes, the community's vote on the
      paper; the baseline the others are measured against.
    - ``comments`` (0.5): Hugging Face comments. Half an upvote: nearly every featured paper
      has one or two (the authors', the librarian bot's), so they separate papers less.
    - ``matches`` (1.5): how many of the channel's subscriptions matched. A paper that several
      of the channel's interests point at sits at its centre; 1 -> 3 matches is worth about
      what 2 -> 7 upvotes is.
    - ``reactions`` (2.0): reactions the channel gave the paper's card: the strongest
      evidence of what this channel wants, so one reaction outweighs ~3 upvotes.
    - ``recency`` (1.0): where in the period the paper was first seen, 0 at its start, 1 at
      its end (or at ``now`` for a period still running). Late papers have had less time to
      gather upvotes and reactions; this makes up for about two upvotes' worth of it.
    """

    upvotes: float = 1.0
    comments: float = 0.5
    matches: float = 1.5
    reactions: float = 2.0
    recency: float = 1.0

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"RankWeights.{spec.name} must be a finite number >= 0")


def _log_count(value: int | None) -> float:
    return math.log1p(value) if value is not None and value > 0 else 0.0


def _recency(first_seen: datetime, period: RoundupPeriod, now: datetime) -> float:
    """0 at the period's start, 1 at its end or at ``now`` if that is earlier; clamped."""
    horizon = min(period.end, now) if now > period.start else period.end
    span = (horizon - period.start).total_seconds()
    if span <= 0:
        return 0.0
    return min(1.0, max(0.0, (first_seen - period.start).total_seconds() / span))


def score(
    candidate: RoundupCandidate,
    period: RoundupPeriod,
    *,
    now: datetime,
    weights: RankWeights = RankWeights(),
) -> float:
    """The candidate's score under ``weights`` (see RankWeights); unknown counts are 0."""
    card = candidate.card
    return (
        weights.upvotes * _log_count(card.upvotes)
        + weights.comments * _log_count(card.comments)
        + weights.matches * _log_count(candidate.matches)
        + weights.reactions * _log_count(candidate.reactions)
        + weights.recency * _recency(candidate.first_seen, period, now)
    )


def rank(
    candidates: Iterable[RoundupCandidate],
    period: RoundupPeriod,
    *,
    now: datetime,
    weights: RankWeights = RankWeights(),
) -> list[tuple[float, RoundupCandidate]]:
    """Each distinct paper with its score, best first, ties by arXiv id.

    A paper given twice (two versions, or the same paper from two deliveries) counts once: its
    latest version, with the most matches and reactions and the earliest first sighting.
    """
    by_id: dict[str, RoundupCandidate] = {}
    for cand in candidates:
        seen = by_id.get(cand.card.arxiv_id)
        by_id[cand.card.arxiv_id] = cand if seen is None else _merge(seen, cand)
    scored = [(score(c, period, now=now, weights=weights), c) for c in by_id.values()]
    scored.sort(key=lambda pair: (-pair[0], pair[1].card.arxiv_id))
    return scored


def _merge(one: RoundupCandidate, other: RoundupCandidate) -> RoundupCandidate:
    newer = max(one, other, key=lambda c: (c.card.version, c.card.upvotes or 0))
    return RoundupCandidate(
        card=newer.card,
        matches=max(one.matches, other.matches),
        first_seen=min(one.first_seen, other.first_seen),
        reactions=max(one.reactions, other.reactions),
    )


def build_roundup(
    candidates: Iterable[RoundupCandidate],
    period: RoundupPeriod,
    *,
    now: datetime,
    destination_id: int = 0,
    cap: int = DEFAULT_CAP,
    weights: RankWeights = RankWeights(),
) -> Roundup:
    """The roundup of ``period``: the ``cap`` best candidates, grouped by their card's topic.

    Topics come in the order of their best paper, papers within a topic best first. No
    candidates make an empty roundup (no sections), which renderers show as one line.
    """
    if cap < 1:
        raise ValueError(f"a roundup shows at least one paper; got cap={cap}")
    ranked = rank(candidates, period, now=now, weights=weights)
    groups: dict[str, tuple[Topic, list[RoundupEntry]]] = {}
    for value, cand in ranked[:cap]:
        topic = cand.card.topic
        key = topic.key or topic.name
        groups.setdefault(key, (topic, []))[1].append(_entry(cand, value))
    sections = tuple(RoundupSection(topic, tuple(entries)) for topic, entries in groups.values())
    log.debug(
        "roundup %s: %d of %d papers in %d topics",
        period.label,
        min(cap, len(ranked)),
        len(ranked),
        len(sections),
    )
    return Roundup(destination_id, period, sections, total_candidates=len(ranked))


def _entry(cand: RoundupCandidate, value: float) -> RoundupEntry:
    card = cand.card
    title = _line(card.title, _TITLE_MAX) or _line(f"arXiv:{card.versioned_id}", _TITLE_MAX)
    tldr = _line(card.tldr, TLDR_MAX)
    return RoundupEntry(
        arxiv_id=card.arxiv_id,
        version=card.version,
        title=title,
        authors_line=_line(card.authors_line, _AUTHORS_MAX),
        tldr=tldr,
        insights=select_insights(card.key_points, tldr=tldr, title=title),
        links=_entry_links(card.links),
        upvotes=card.upvotes,
        comments=card.comments,
        matches=max(cand.matches, 0),
        reactions=max(cand.reactions, 0),
        first_seen=cand.first_seen,
        score=value,
    )


def _line(text: str, limit: int) -> str:
    """``text`` on one line within ``limit``, without scrubbing megabytes of a hostile field."""
    head = text[: limit * 4 + 16]
    line = scrub(head).strip()
    if len(head) < len(text):  # the rest was dropped unseen: make the cut show
        return truncate(line, max(1, min(limit, measure(line) - 1)))
    return truncate(line, limit)


def _entry_links(links: Sequence[Link]) -> tuple[Link, ...]:
    """The abstract, Hugging Face and code links of a card, in that order, each once."""
    found = {link.label: link for link in reversed(links)}  # the first of a label wins
    return tuple(found[label] for label in ENTRY_LINK_LABELS if label in found)


# --- Key insights --------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
_URL = re.compile(r"\b(?:[a-z][a-z0-9+.-]*://|www\.)\S", re.IGNORECASE)
_STOP_TEXT = (
    "a an the of for and or to in on with by from as at is are was were be been being this "
    "that these those we our us it its their they which who can could may might will would "
    "should do does did not no than then there via into over under between through about also "
    "such both each more most other some any all only very much many so just using use used "
    "based new novel paper work approach method methods model models show shows propose "
    "proposes present presents introduce introduces while when where how what"
)
_STOP_WORDS = frozenset(_STOP_TEXT.split())


def _content_words(text: str) -> set[str]:
    """Lowercased words without stop words, a plural "s" folded (models -> model)."""
    words: set[str] = set()
    for word in _WORD.findall(text.casefold()):
        if word in _STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return words


def repeats(point: str, *said: str) -> bool:
    """Whether ``point`` mostly repeats ``said``: REPEAT_OVERLAP or more of its content words
    already appear there. A point with no content words at all adds nothing either."""
    words = _content_words(point)
    if not words:
        return True
    known: set[str] = set()
    for text in said:
        known |= _content_words(text)
    return len(words & known) >= REPEAT_OVERLAP * len(words)


def select_insights(
    key_points: Iterable[str], *, tldr: str, title: str, limit: int = MAX_INSIGHTS
) -> tuple[str, ...]:
    """Up to ``limit`` key points, in order, each on one line, dropping any that repeats the
    title, the TL;DR or an insight kept before it, and any that points to an address ("code is
    at https://..."): the entry's links say where things are, and only links we build show."""
    kept: list[str] = []
    for raw in key_points:
        if len(kept) >= limit:
            break
        point = _line(raw, INSIGHT_MAX)
        if point and not _URL.search(point) and not repeats(point, title, tldr, *kept):
            kept.append(point)
    return tuple(kept)


# --- Periods: ISO weeks and days in a time zone --------------------------------------------

_WEEK = re.compile(r"([0-9]{4})-?[Ww]([0-9]{2})")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WEEK_FORM = "use YYYY-Www, like 2026-W48"
_DAY_FORM = "use YYYY-MM-DD, like 2026-11-27"


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {timezone!r}: use an IANA name like Europe/Paris or UTC"
        ) from None


def iso_week(day: date) -> str:
    """The ISO week holding ``day``, as ``YYYY-Www`` (2026-11-27 -> 2026-W48)."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def parse_week(text: str) -> date:
    """The Monday of the ISO week ``YYYY-Www``; ValueError says what to type instead."""
    match = _WEEK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text[:40]!r} is not an ISO week: {_WEEK_FORM}")
    year, week = int(match.group(1)), int(match.group(2))
    if year < 1:
        raise ValueError(f"{text.strip()!r} is not an ISO week: years start at 0001")
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        weeks = date(year, 12, 28).isocalendar()[1]  # 28 December is always in the last week
        raise ValueError(
            f"{text.strip()!r} is not an ISO week: {year:04d} has weeks 01 to {weeks}; {_WEEK_FORM}"
        ) from None


def parse_day(text: str | date) -> date:
    """The day ``YYYY-MM-DD`` (a date passes through); ValueError says what to type instead."""
    if isinstance(text, date):
        return text
    value = text.strip()
    if _DAY.fullmatch(value) is None:
        raise ValueError(f"{text[:40]!r} is not a day: {_DAY_FORM}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a day of the calendar: {_DAY_FORM}") from None


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC.

    ``fold=0`` reads a wall time with the offset in force before a transition, which gives the
    day's first instant in both odd cases: where clocks skip midnight (00:00 -> 01:00) it is
    the instant local clocks jump to 01:00, and where midnight happens twice, the first one.
    """
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _bounds(first: date, days: int, timezone: str, label: str) -> tuple[datetime, datetime]:
    zone = _zone(timezone)
    try:
        return _local_midnight(first, zone), _local_midnight(first + timedelta(days=days), zone)
    except OverflowError:
        raise ValueError(f"{label!r} is out of range: pick a date before the year 9999") from None


def week_bounds(week: str, timezone: str) -> tuple[datetime, datetime]:
    """UTC instants of Monday 00:00 of ``week`` and of the next Monday 00:00, in ``timezone``."""
    return _bounds(parse_week(week), 7, timezone, week)


def day_bounds(day: str | date, timezone: str) -> tuple[datetime, datetime]:
    """UTC instants of 00:00 on ``day`` and 00:00 the day after, in ``timezone``."""
    first = parse_day(day)
    return _bounds(first, 1, timezone, first.isoformat())


def week_period(week: str, timezone: str) -> RoundupPeriod:
    """The period of a weekly roundup for ``week`` (``YYYY-Www``) in ``timezone``."""
    monday = parse_week(week)
    start, end = week_bounds(week, timezone)
    return RoundupPeriod(
        RoundupKind.WEEKLY,
        iso_week(monday),
        monday,
        monday + timedelta(days=6),
        timezone,
        start,
        end,
    )


def day_period(day: str | date, timezone: str) -> RoundupPeriod:
    """The period of a daily digest for ``day`` (``YYYY-MM-DD``) in ``timezone``."""
    first = parse_day(day)
    start, end = day_bounds(first, timezone)
    return RoundupPeriod(RoundupKind.DAILY, first.isoformat(), first, first, timezone, start, end)


def weekly_moment(period: RoundupPeriod, day: str, hour: int) -> datetime:
    """When, in UTC, the weekly job of ``day`` (mon ... sun) at ``hour`` falls in ``period``
    (a week), in the period's time zone."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    local_day = period.first_day + timedelta(days=days.index(day[:3].lower()))
    zone = _zone(period.timezone)
    local = datetime.combine(local_day, datetime.min.time(), tzinfo=zone).replace(hour=hour)
    return local.astimezone(UTC)


def week_of(moment: datetime, timezone: str) -> str:
    """The ISO week ``moment`` falls in, on the calendar of ``timezone``."""
    return iso_week(moment.astimezone(_zone(timezone)).date())


def day_of(moment: datetime, timezone: str) -> str:
    """The day (``YYYY-MM-DD``) ``moment`` falls on, on the calendar of ``timezone``."""
    return moment.astimezone(_zone(timezone)).date().isoformat()


# --- Phrases every renderer shows the same way ---------------------------------------------

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _day_text(day: date) -> str:
    """ "27 Nov 2026", as cards write dates."""
    return format_date(datetime(day.year, day.month, day.day, tzinfo=UTC))


def period_text(period: RoundupPeriod) -> str:
    """ "23–29 Nov 2026", "30 Nov – 6 Dec 2026", "28 Dec 2026 – 3 Jan 2027" or "Fri 27 Nov 2026"."""
    first, last = period.first_day, period.last_day
    if first == last:
        return f"{_WEEKDAYS[first.weekday()]} {_day_text(first)}"
    if first.year != last.year:
        return f"{_day_text(first)} – {_day_text(last)}"
    if first.month != last.month:
        return f"{_day_text(first).rsplit(' ', 1)[0]} – {_day_text(last)}"
    return f"{first.day}–{_day_text(last)}"


def roundup_title(roundup: Roundup) -> str:
    """ "Weekly roundup · 2026-W48" or "Daily digest · Fri 27 Nov 2026"."""
    period = roundup.period
    if period.kind is RoundupKind.DAILY:
        return f"Daily digest · {period_text(period)}"
    return f"Weekly roundup · {period.label}"


def _when(period: RoundupPeriod) -> str:
    if period.kind is RoundupKind.DAILY:
        return f"on {_WEEKDAYS[period.first_day.weekday()]} {_day_text(period.first_day)}"
    return "this week"


def tally_text(roundup: Roundup) -> str:
    """ "the top 15 of 42 papers this week", or "3 papers this week" when all are shown; a
    digest's title names its day, so its tally does not ("the top 5 of 9 papers")."""
    shown, total = roundup.paper_count, max(roundup.total_candidates, roundup.paper_count)
    noun = "paper" if total == 1 else "papers"
    when = " this week" if roundup.period.kind is RoundupKind.WEEKLY else ""
    if shown < total:
        return f"the top {shown} of {total} {noun}{when}"
    return f"{shown} {noun}{when}"


def empty_text(period: RoundupPeriod) -> str:
    """The one line an empty roundup is."""
    return f"No new papers matched this channel's subscriptions {_when(period)}."


def contents(roundup: Roundup) -> tuple[tuple[Topic, int], ...]:
    """Each topic of the roundup, in order, with how many papers it shows."""
    return tuple((section.topic, len(section.entries)) for section in roundup.sections)


def contents_line(roundup: Roundup) -> str:
    """ "🧠 Reasoning and agents (4) · ⚡ Efficiency and quantisation (2)" (not escaped)."""
    return " · ".join(f"{topic.label or 'Other'} ({count})" for topic, count in contents(roundup))


def entry_signals_text(entry: RoundupEntry) -> str:
    """ "▲ 103 upvotes · 💬 4 comments", like a card's, or "" when nothing is known."""
    parts: list[str] = []
    if entry.upvotes is not None and entry.upvotes >= 0:
        parts.append(f"▲ {_count(entry.upvotes, 'upvote')}")
    if entry.comments is not None and entry.comments > 0:
        parts.append(f"💬 {_count(entry.comments, 'comment')}")
    return " · ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
