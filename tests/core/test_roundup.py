"""Roundups: ranking by the documented weights, grouping, the cap, key insights, periods."""

from __future__ import annotations

import dataclasses
import math
import random
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.cards import build_card
from bot.core.models import (
    Card,
    Link,
    RoundupCandidate,
    RoundupKind,
    RoundupPeriod,
    Summary,
    Topic,
)
from bot.core.roundup import (
    DEFAULT_CAP,
    INSIGHT_MAX,
    TLDR_MAX,
    RankWeights,
    build_roundup,
    contents,
    contents_line,
    day_bounds,
    day_of,
    day_period,
    empty_text,
    iso_week,
    parse_day,
    parse_week,
    period_text,
    rank,
    repeats,
    roundup_title,
    score,
    select_insights,
    tally_text,
    week_bounds,
    week_of,
    week_period,
    weekly_moment,
)
from bot.core.safety import measure
from tests.golden.papers import MINIMAX, OMEGA_TEST

PARIS = "Europe/Paris"
PERIOD = week_period("2026-W24", PARIS)  # Monday 8 June 00:00 to Monday 15 June 00:00, Paris
END = PERIOD.end
MIDWEEK = PERIOD.start + (PERIOD.end - PERIOD.start) / 2

AGENTS = Topic("Reasoning and agents", "🧠", "reasoning")
VISION = Topic("Multimodal and vision", "👁️", "multimodal")
THEORY = Topic("Theory", "📐", "theory")


def card(
    arxiv_id: str,
    *,
    topic: Topic = AGENTS,
    upvotes: int | None = None,
    comments: int | None = None,
    title: str | None = None,
    tldr: str = "A short summary of what the paper does.",
    key_points: tuple[str, ...] = (),
    version: int = 1,
) -> Card:
    base = MINIMAX.card()
    return dataclasses.replace(
        base,
        arxiv_id=arxiv_id,
        version=version,
        title=title if title is not None else f"Paper {arxiv_id}",
        tldr=tldr,
        key_points=key_points,
        topic=topic,
        upvotes=upvotes,
        comments=comments,
        links=(Link("Abstract", f"https://arxiv.org/abs/{arxiv_id}"),),
    )


def cand(
    arxiv_id: str,
    *,
    matches: int = 1,
    reactions: int = 0,
    first_seen: datetime = MIDWEEK,
    **card_fields: object,
) -> RoundupCandidate:
    return RoundupCandidate(
        card=card(arxiv_id, **card_fields),  # type: ignore[arg-type]  # test helper kwargs
        matches=matches,
        first_seen=first_seen,
        reactions=reactions,
    )


def order(candidates: list[RoundupCandidate], weights: RankWeights | None = None) -> list[str]:
    ranked = rank(candidates, PERIOD, now=END, weights=weights or RankWeights())
    return [c.card.arxiv_id for _, c in ranked]


# --- ranking: each weight moves the order the documented way -------------------------------

# Two papers equal in everything but one signal; "2606.00002" has more of it. It must rank
# first under the default weights, and fall back to arXiv order when that weight is zero.
SIGNALS = [
    ("upvotes", {"upvotes": 0}, {"upvotes": 10}),
    ("comments", {"comments": 0}, {"comments": 5}),
    ("matches", {"matches": 1}, {"matches": 3}),
    ("reactions", {"reactions": 0}, {"reactions": 2}),
    (
        "recency",
        {"first_seen": PERIOD.start + timedelta(hours=1)},
        {"first_seen": END - timedelta(hours=1)},
    ),
]


@pytest.mark.parametrize(("weight", "less", "more"), SIGNALS, ids=[s[0] for s in SIGNALS])
def test_each_signal_raises_a_paper(weight: str, less: dict, more: dict) -> None:
    papers = [cand("2606.00001", **less), cand("2606.00002", **more)]
    assert order(papers) == ["2606.00002", "2606.00001"]
    # Without that weight they tie, and a tie goes to the lower arXiv id.
    assert order(papers, dataclasses.replace(RankWeights(), **{weight: 0.0})) == [
        "2606.00001",
        "2606.00002",
    ]


@pytest.mark.parametrize(
    ("one", "other", "expected"),
    [
        # One reaction is worth exactly three upvotes (2 ln 2 = ln 4): a tie, arXiv order.
        ({"reactions": 1}, {"upvotes": 3}, "tie"),
        ({"reactions": 1}, {"upvotes": 4}, "other"),
        # A comment counts half an upvote: 3 comments (0.5 ln 4) = 1 upvote (ln 2).
        ({"comments": 3}, {"upvotes": 1}, "tie"),
        # 1 -> 3 matches is worth about what 2 -> 7 upvotes is (a little more).
        ({"matches": 3, "upvotes": 2}, {"matches": 1, "upvotes": 7}, "one"),
        ({"matches": 3, "upvotes": 2}, {"matches": 1, "upvotes": 8}, "other"),
        # Counts are log-scaled: a viral paper does not drown what the channel showed.
        ({"upvotes": 100}, {"upvotes": 5, "matches": 3, "reactions": 3}, "other"),
        # Seen at the very end rather than the very start: about two upvotes' worth.
        ({"first_seen": END - timedelta(seconds=1)}, {"upvotes": 1}, "one"),
        ({"first_seen": END - timedelta(seconds=1)}, {"upvotes": 2}, "other"),
        # Unknown counts are zero; negative ones (a broken record) too.
        ({"upvotes": None, "comments": None}, {"upvotes": 0, "comments": 0}, "tie"),
        ({"upvotes": -5, "reactions": -1}, {}, "tie"),
    ],
)
def test_weights_trade_off_as_documented(one: dict, other: dict, expected: str) -> None:
    base = {"first_seen": PERIOD.start}
    papers = [cand("2606.00001", **{**base, **one}), cand("2606.00002", **{**base, **other})]
    scores = {c.card.arxiv_id: s for s, c in rank(papers, PERIOD, now=END)}
    first = order(papers)[0]
    if expected == "tie":
        assert math.isclose(scores["2606.00001"], scores["2606.00002"], abs_tol=1e-9)
        assert first == "2606.00001"
    else:
        assert first == ("2606.00001" if expected == "one" else "2606.00002")


def test_ties_go_to_the_lower_arxiv_id_whatever_the_input_order() -> None:
    ids = ["2606.00009", "astro-ph/0601001", "2606.00010", "1707.08567", "2606.00001"]
    papers = [cand(arxiv_id, upvotes=3) for arxiv_id in ids]
    expected = sorted(ids)
    for seed in range(5):
        random.Random(seed).shuffle(papers)
        assert order(papers) == expected


def test_recency_counts_up_to_now_while_the_period_runs() -> None:
    # On Wednesday noon (60 hours in), a paper seen an hour ago is 59/60 of the way along.
    now = PERIOD.start + timedelta(days=2, hours=12)
    late = cand("2606.00001", first_seen=now - timedelta(hours=1))
    assert score(late, PERIOD, now=now) == pytest.approx(1.5 * math.log(2) + 59 / 60)
    # Seen before the period or after now: clamped to 0 and 1.
    early = cand("2606.00002", first_seen=PERIOD.start - timedelta(days=3))
    future = cand("2606.00003", first_seen=END + timedelta(days=3))
    assert score(early, PERIOD, now=END) == pytest.approx(1.5 * math.log(2))
    assert score(future, PERIOD, now=END) == pytest.approx(1.5 * math.log(2) + 1)


@pytest.mark.parametrize(
    "bad", [{"upvotes": -1.0}, {"reactions": math.nan}, {"recency": math.inf}, {"matches": "2"}]
)
def test_weights_must_be_finite_and_not_negative(bad: dict) -> None:
    with pytest.raises(ValueError, match="RankWeights"):
        RankWeights(**bad)


def test_a_paper_given_twice_counts_once_with_its_best_signals() -> None:
    older = cand("2606.00001", version=1, matches=3, reactions=0, first_seen=MIDWEEK)
    newer = cand("2606.00001", version=2, matches=1, reactions=2, first_seen=END)
    roundup = build_roundup([older, newer, cand("2606.00002")], PERIOD, now=END)
    assert roundup.total_candidates == 2
    entry = roundup.sections[0].entries[0]
    assert (entry.arxiv_id, entry.version) == ("2606.00001", 2)
    assert (entry.matches, entry.reactions, entry.first_seen) == (3, 2, MIDWEEK)


# --- grouping, topic order and the cap -----------------------------------------------------


def test_topics_come_in_the_order_of_their_best_paper_and_papers_best_first() -> None:
    papers = [
        cand("2606.00001", topic=THEORY, upvotes=50),
        cand("2606.00002", topic=AGENTS, upvotes=5),
        cand("2606.00003", topic=VISION, upvotes=20),
        cand("2606.00004", topic=AGENTS, upvotes=30),
        cand("2606.00005", topic=THEORY, upvotes=1),
        cand("2606.00006", topic=VISION, upvotes=25),
    ]
    roundup = build_roundup(papers, PERIOD, now=END)
    assert [s.topic for s in roundup.sections] == [THEORY, AGENTS, VISION]
    assert [[e.arxiv_id for e in s.entries] for s in roundup.sections] == [
        ["2606.00001", "2606.00005"],
        ["2606.00004", "2606.00002"],
        ["2606.00006", "2606.00003"],
    ]
    assert contents(roundup) == ((THEORY, 2), (AGENTS, 2), (VISION, 2))
    assert contents_line(roundup) == (
        "📐 Theory (2) · 🧠 Reasoning and agents (2) · 👁️ Multimodal and vision (2)"
    )


def test_a_topic_is_one_section_even_when_its_display_name_changed_midweek() -> None:
    renamed = Topic("Agents and reasoning", "🤖", "reasoning")
    papers = [cand("2606.00001", topic=AGENTS, upvotes=9), cand("2606.00002", topic=renamed)]
    (section,) = build_roundup(papers, PERIOD, now=END).sections
    assert section.topic == AGENTS  # as its best paper shows it
    assert len(section.entries) == 2


def test_the_cap_keeps_the_best_papers_over_all_topics() -> None:
    papers = [cand(f"2606.{i:05d}", topic=(AGENTS, VISION)[i % 2], upvotes=i) for i in range(40)]
    roundup = build_roundup(papers, PERIOD, now=END)
    assert roundup.paper_count == DEFAULT_CAP == 15
    assert roundup.total_candidates == 40
    shown = {e.upvotes for s in roundup.sections for e in s.entries}
    assert shown == set(range(25, 40))
    assert tally_text(roundup) == "the top 15 of 40 papers this week"

    three = build_roundup(papers, PERIOD, now=END, cap=3)
    assert [e.upvotes for s in three.sections for e in s.entries] == [39, 37, 38]
    assert build_roundup(papers[:2], PERIOD, now=END, cap=100).paper_count == 2


@pytest.mark.parametrize("cap", [0, -1])
def test_a_cap_below_one_is_refused(cap: int) -> None:
    with pytest.raises(ValueError, match="at least one paper"):
        build_roundup([cand("2606.00001")], PERIOD, now=END, cap=cap)


def test_building_is_deterministic() -> None:
    papers = [cand(f"2606.{i:05d}", upvotes=i % 3, reactions=i % 2) for i in range(30)]
    first = build_roundup(papers, PERIOD, now=END, destination_id=4)
    random.Random(1).shuffle(papers)
    assert build_roundup(papers, PERIOD, now=END, destination_id=4) == first


def test_the_empty_roundup_is_a_value_with_one_line_to_say() -> None:
    roundup = build_roundup([], PERIOD, now=END, destination_id=3)
    assert roundup.is_empty
    assert (roundup.sections, roundup.total_candidates, roundup.paper_count) == ((), 0, 0)
    assert roundup.destination_id == 3
    assert empty_text(roundup.period) == (
        "No new papers matched this channel's subscriptions this week."
    )
    assert empty_text(day_period("2026-06-12", PARIS)) == (
        "No new papers matched this channel's subscriptions on Fri 12 Jun 2026."
    )


# --- what an entry shows -------------------------------------------------------------------


def test_an_entry_from_a_real_card_has_its_text_signals_and_three_links() -> None:
    candidate = RoundupCandidate(MINIMAX.card(), matches=2, first_seen=MIDWEEK, reactions=1)
    (section,) = build_roundup([candidate], PERIOD, now=END).sections
    (entry,) = section.entries
    assert section.topic == MINIMAX.topic
    assert entry.title == "MiniMax Sparse Attention"
    assert entry.tldr == MINIMAX.summary.tldr
    assert entry.authors_line == "Xunhao Lai, Weiqi Xu, Yufeng Yang et al. (11 authors)"
    assert (entry.upvotes, entry.comments, entry.matches, entry.reactions) == (103, 4, 2, 1)
    # The PDF and HTML of the card are left out; the release point is a pointer, not news.
    assert [(link.label, link.url) for link in entry.links] == [
        ("Abstract", "https://arxiv.org/abs/2606.13392"),
        ("Hugging Face", "https://huggingface.co/papers/2606.13392"),
        ("Code", "https://github.com/MiniMax-AI/MSA"),
    ]
    assert entry.insights == MINIMAX.summary.key_points[:2]


def test_an_arxiv_only_card_links_just_its_abstract() -> None:
    candidate = RoundupCandidate(OMEGA_TEST.card(), matches=1, first_seen=MIDWEEK)
    (entry,) = build_roundup([candidate], PERIOD, now=END).sections[0].entries
    assert [link.label for link in entry.links] == ["Abstract"]


def test_the_tldr_is_one_line_and_short() -> None:
    long = "First sentence of a very long summary. " * 40
    candidate = cand("2606.00001", tldr="Line one\nline\u2028two\u200b. " + long)
    (entry,) = build_roundup([candidate], PERIOD, now=END).sections[0].entries
    assert "\n" not in entry.tldr
    assert "\u2028" not in entry.tldr
    assert "\u200b" not in entry.tldr
    assert measure(entry.tldr) <= TLDR_MAX
    assert entry.tldr.startswith("Line one line two.")
    assert entry.tldr.endswith(".")  # cut after a whole sentence


def test_an_empty_title_becomes_the_arxiv_id() -> None:
    (entry,) = (
        build_roundup([cand("2606.00001", title="\u200b ")], PERIOD, now=END).sections[0].entries
    )
    assert entry.title == "arXiv:2606.00001v1"


TITLE = "Sparse attention for long context language models"
TLDR = "We make attention sparse so that long context models run faster on GPUs."


@pytest.mark.parametrize(
    ("point", "kept"),
    [
        # Restating the TL;DR, in another order or with a word changed, adds nothing.
        ("Long context models run faster on GPUs when we make attention sparse.", False),
        ("We make the attention sparse, so long-context models run faster on GPUs.", False),
        # Restating the title.
        ("A sparse attention for language models with long context.", False),
        # Half of it new (a number, a model, a benchmark): it adds something.
        ("On a 109B model the sparse attention cuts compute by 28.4x at 1M tokens.", True),
        ("Evaluated on RULER and LongBench against FlashAttention-3.", True),
        # A pointer to an address is not an insight: the links say where the code is.
        ("The inference kernel is released at https://github.com/MiniMax-AI/MSA.", False),
        ("Project page: www.example.org/msa", False),
        # Nothing but stop words, punctuation or whitespace.
        ("We show that it is so.", False),
        ("  \u200b ", False),
    ],
)
def test_a_key_point_is_kept_only_when_it_adds_something(point: str, kept: bool) -> None:
    assert select_insights([point], tldr=TLDR, title=TITLE) == ((point.strip(),) if kept else ())


def test_repeats_means_three_fifths_of_the_content_words_already_said() -> None:
    said = "alpha beta gamma"
    assert repeats("alpha beta gamma delta epsilon", said)  # 3 of 5: 60%
    assert not repeats("alpha beta delta epsilon", said)  # 2 of 4: 50%
    assert repeats("Alphas, BETA and gammas!", said)  # case, plurals and stop words aside
    assert repeats("the of and", said)  # no content words: adds nothing


def test_at_most_two_insights_each_new_and_bounded() -> None:
    points = (
        "On RULER the method gains 12 points over dense attention.",
        "On RULER the method gains 12 points over the dense attention baseline.",  # repeats
        "",
        "Training cost stays within 3% of the dense baseline at 128k tokens.",
        "Code and weights will follow, along with a kernel for H100.",
        "x " * 2000,
    )
    assert select_insights(points, tldr=TLDR, title=TITLE) == (points[0], points[3])
    (long,) = select_insights(["word " * 2000], tldr=TLDR, title=TITLE)
    assert measure(long) <= INSIGHT_MAX
    assert long.endswith("…")


# --- periods -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (date(2026, 11, 27), "2026-W48"),
        (date(2026, 1, 1), "2026-W01"),
        (date(2027, 1, 1), "2026-W53"),  # 2026 has 53 ISO weeks
        (date(2024, 12, 30), "2025-W01"),  # the Monday of 2025's first week
        (date(2021, 1, 3), "2020-W53"),
    ],
)
def test_iso_week(day: date, week: str) -> None:
    assert iso_week(day) == week
    assert parse_week(week) <= day < parse_week(week) + timedelta(days=7)


@pytest.mark.parametrize("text", ["2026-W48", "2026-w48", " 2026-W48\n", "2026W48"])
def test_parse_week_takes_the_iso_forms(text: str) -> None:
    assert parse_week(text) == date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-48", "'2026-48' is not an ISO week: use YYYY-Www, like 2026-W48"),
        ("week 48", "'week 48' is not an ISO week: use YYYY-Www, like 2026-W48"),
        ("", "'' is not an ISO week: use YYYY-Www"),
        ("2026-W00", "'2026-W00' is not an ISO week: 2026 has weeks 01 to 53; use YYYY-Www"),
        ("2025-W53", "'2025-W53' is not an ISO week: 2025 has weeks 01 to 52; use YYYY-Www"),
        ("2026-W60", "2026 has weeks 01 to 53"),
        ("0000-W01", "years start at 0001"),
        ("x" * 10_000, "is not an ISO week"),
    ],
)
def test_parse_week_says_what_to_type(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        parse_week(text)
    assert len(str(info.value)) < 120


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026/11/27", "'2026/11/27' is not a day: use YYYY-MM-DD, like 2026-11-27"),
        ("2026-02-30", "'2026-02-30' is not a day of the calendar: use YYYY-MM-DD"),
        ("yesterday", "is not a day: use YYYY-MM-DD"),
    ],
)
def test_parse_day_says_what_to_type(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_day(text)


def test_an_unknown_time_zone_says_what_to_give() -> None:
    for zone in ("Mars/Olympus", "../etc/passwd", ""):
        with pytest.raises(ValueError, match=r"unknown time zone .*: use an IANA name like"):
            week_bounds("2026-W48", zone)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("week", "zone", "start", "end", "hours"),
    [
        # Paris leaves summer time on Sunday 25 October 2026: that week has 169 hours.
        ("2026-W43", PARIS, _utc(2026, 10, 18, 22), _utc(2026, 10, 25, 23), 169),
        ("2026-W44", PARIS, _utc(2026, 10, 25, 23), _utc(2026, 11, 1, 23), 168),
        # ... and enters it on Sunday 29 March 2026: 167 hours.
        ("2026-W13", PARIS, _utc(2026, 3, 22, 23), _utc(2026, 3, 29, 22), 167),
        # New York leaves daylight time on Sunday 1 November 2026.
        ("2026-W44", "America/New_York", _utc(2026, 10, 26, 4), _utc(2026, 11, 2, 5), 169),
        ("2026-W45", "America/New_York", _utc(2026, 11, 2, 5), _utc(2026, 11, 9, 5), 168),
        ("2026-W48", "UTC", _utc(2026, 11, 23), _utc(2026, 11, 30), 168),
        ("2026-W53", "Asia/Kolkata", _utc(2026, 12, 27, 18, 30), _utc(2027, 1, 3, 18, 30), 168),
    ],
)
def test_week_bounds_are_local_mondays_across_daylight_saving(
    week: str, zone: str, start: datetime, end: datetime, hours: int
) -> None:
    assert week_bounds(week, zone) == (start, end)
    assert end - start == timedelta(hours=hours)
    local = ZoneInfo(zone)
    assert start.astimezone(local).replace(tzinfo=None) == datetime.combine(
        parse_week(week), datetime.min.time()
    )
    assert end.astimezone(local).weekday() == 0
    assert end.astimezone(local).hour == 0


@pytest.mark.parametrize(
    ("day", "zone", "hours"),
    [
        ("2026-10-25", PARIS, 25),
        ("2026-03-29", PARIS, 23),
        ("2026-11-01", "America/New_York", 25),
        ("2026-03-08", "America/New_York", 23),
        ("2026-06-12", PARIS, 24),
    ],
)
def test_day_bounds_across_daylight_saving(day: str, zone: str, hours: int) -> None:
    start, end = day_bounds(day, zone)
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(ZoneInfo(zone)).hour == 0


def test_a_day_whose_midnight_is_skipped_starts_when_the_clocks_jump() -> None:
    # Santiago skips from 00:00 to 01:00 on Sunday 6 September 2026.
    zone = ZoneInfo("America/Santiago")
    start, end = day_bounds("2026-09-06", "America/Santiago")
    assert start.astimezone(zone).time().hour == 1
    assert (start - timedelta(microseconds=1)).astimezone(zone).date() == date(2026, 9, 5)
    assert end - start == timedelta(hours=23)


ZONES = [
    "UTC",
    PARIS,
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Asia/Beirut",
]


@settings(max_examples=300, deadline=None)
@given(st.dates(date(1990, 1, 1), date(2060, 12, 31)), st.sampled_from(ZONES))
def test_a_day_is_exactly_its_local_instants(day: date, zone: str) -> None:
    start, end = day_bounds(day, zone)
    local = ZoneInfo(zone)
    tick = timedelta(microseconds=1)
    assert start.astimezone(local).date() == day
    assert (start - tick).astimezone(local).date() < day
    assert (end - tick).astimezone(local).date() == day
    assert end.astimezone(local).date() > day
    week = week_period(iso_week(day), zone)
    assert week.start <= start < end <= week.end


def test_week_of_and_day_of_use_the_local_calendar() -> None:
    sunday_night_utc = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris
    assert week_of(sunday_night_utc, "UTC") == "2026-W48"
    assert week_of(sunday_night_utc, PARIS) == "2026-W49"
    assert day_of(sunday_night_utc, "UTC") == "2026-11-29"
    assert day_of(sunday_night_utc, PARIS) == "2026-11-30"
    assert day_of(sunday_night_utc, "America/New_York") == "2026-11-29"


def test_periods_carry_their_kind_label_days_and_bounds() -> None:
    week = week_period("2026-W48", PARIS)
    assert (week.kind, week.label, week.timezone) == (RoundupKind.WEEKLY, "2026-W48", PARIS)
    assert (week.first_day, week.last_day) == (date(2026, 11, 23), date(2026, 11, 29))
    assert (week.start, week.end) == week_bounds("2026-W48", PARIS)
    assert week.start in week
    assert week.end not in week
    day = day_period(date(2026, 11, 27), PARIS)
    assert (day.kind, day.label) == (RoundupKind.DAILY, "2026-11-27")
    assert day.first_day == day.last_day == date(2026, 11, 27)


def test_a_period_is_utc_and_not_empty() -> None:
    naive = datetime(2026, 6, 8)
    with pytest.raises(ValueError, match="UTC-aware"):
        dataclasses.replace(PERIOD, start=naive)
    with pytest.raises(ValueError, match="must end after it starts"):
        dataclasses.replace(PERIOD, end=PERIOD.start)
    with pytest.raises(ValueError, match="UTC-aware"):
        RoundupCandidate(card("2606.00001"), matches=1, first_seen=naive)


def test_a_week_at_the_end_of_the_calendar_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="out of range"):
        week_bounds("9999-W52", "UTC")


@pytest.mark.parametrize(
    ("period", "text", "title"),
    [
        (week_period("2026-W48", PARIS), "23–29 Nov 2026", "Weekly roundup · 2026-W48"),
        (week_period("2026-W49", PARIS), "30 Nov – 6 Dec 2026", "Weekly roundup · 2026-W49"),
        (week_period("2026-W53", PARIS), "28 Dec 2026 – 3 Jan 2027", "Weekly roundup · 2026-W53"),
        (day_period("2026-11-27", PARIS), "Fri 27 Nov 2026", "Daily digest · Fri 27 Nov 2026"),
    ],
)
def test_period_text_and_title(period: RoundupPeriod, text: str, title: str) -> None:
    assert period_text(period) == text
    assert roundup_title(build_roundup([], period, now=period.end)) == title


def test_the_tally_says_how_many_of_how_many() -> None:
    day = day_period("2026-11-27", PARIS)
    one = build_roundup([cand("2606.00001")], day, now=day.end)
    assert tally_text(one) == "1 paper"  # the digest's title names the day
    three = build_roundup([cand(f"2606.0000{i}") for i in range(3)], PERIOD, now=END)
    assert tally_text(three) == "3 papers this week"


def test_a_realistic_card_keeps_its_own_key_points_when_they_add_something() -> None:
    summary = Summary(
        tldr="MiniMax Sparse Attention makes long-context attention sparse and fast.",
        key_points=(
            "MiniMax Sparse Attention makes attention sparse and fast for long contexts.",
            "Per-token attention compute drops 28.4x at 1M context on a 109B model.",
        ),
        tier="hf",
    )
    built = build_card(MINIMAX.paper, summary, MINIMAX.topic)
    candidate = RoundupCandidate(built, matches=1, first_seen=MIDWEEK)
    (entry,) = build_roundup([candidate], PERIOD, now=END).sections[0].entries
    assert entry.insights == (summary.key_points[1],)


@pytest.mark.parametrize(
    ("week", "zone", "day", "hour", "utc"),
    [
        ("2026-W43", "Europe/Paris", "fri", 16, datetime(2026, 10, 23, 14, tzinfo=UTC)),
        ("2026-W44", "Europe/Paris", "fri", 16, datetime(2026, 10, 30, 15, tzinfo=UTC)),
        ("2026-W44", "America/New_York", "mon", 9, datetime(2026, 10, 26, 13, tzinfo=UTC)),
        ("2026-W45", "America/New_York", "mon", 9, datetime(2026, 11, 2, 14, tzinfo=UTC)),
    ],
)
def test_the_weekly_moment_is_local_time_across_daylight_saving(
    week: str, zone: str, day: str, hour: int, utc: datetime
) -> None:
    assert weekly_moment(week_period(week, zone), day, hour) == utc
