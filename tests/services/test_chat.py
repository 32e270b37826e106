"""What every chat command does, platform-neutral: the real ChatService on the real store,
with fakes for our own ports (arXiv lookups and search)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.adapters.db.store import SqlStore
from bot.core.chat import ChatRequest, Reply, Style, removed_reason
from bot.core.models import Author, DestinationRef, Paper, Platform, Summary
from bot.services import chat as chat_module
from bot.services.cards import CardService, TierSpec
from bot.services.chat import ChatService
from bot.services.ports import SourceUnavailable
from bot.services.roundups import RoundupService
from tests.fakes.clock import FakeClock
from tests.services.fakes import FakeArxiv, card_service, chat_service, default_taxonomy

GUILD = "900000000000000001"
CHANNEL = "900000000000000002"
REF = DestinationRef(Platform.DISCORD, "", CHANNEL)


def paper(arxiv_id: str, title: str, *, cats: tuple[str, ...] = ("cs.CL",), day: int = 18) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=1,
        title=title,
        abstract=f"We study {title.lower()}. Our method improves results on three benchmarks.",
        authors=(Author("Ann Lee"),),
        categories=cats,
        published=datetime(2026, 11, day, tzinfo=UTC),
        sources=frozenset({"arxiv"}),
    )


class Deferrals:
    """The defer callback the adapters pass: records whether and how a command deferred."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    async def __call__(self, ephemeral: bool) -> None:
        self.calls.append(ephemeral)


@pytest.fixture
def arxiv() -> FakeArxiv:
    fake = FakeArxiv()
    fake.add(
        paper("2403.13043", "Speculative decoding for large language models"),
        paper("2403.20001", "Speculative sampling revisited", day=17),
        paper("2403.20002", "Speculative execution in databases", cats=("cs.DB",), day=16),
    )
    return fake


@pytest.fixture
def chat(store: SqlStore, clock: FakeClock, arxiv: FakeArxiv) -> ChatService:
    return chat_service(
        store,
        clock,
        arxiv,
        roundups=RoundupService(store, card_service(store, clock), {}, clock),
        slack_manager_group="paper-admins",
    )


def ask(
    subcommand: str = "",
    *,
    manage: bool = False,
    platform: Platform = Platform.DISCORD,
    **args: str | int | bool,
) -> ChatRequest:
    return ChatRequest(
        platform=platform,
        workspace=GUILD if platform is Platform.DISCORD else "T0TEAM001",
        channel=CHANNEL if platform is Platform.DISCORD else "C0CHAN001",
        user="42",
        user_name="Ada",
        may_manage=manage,
        command="papers" if subcommand else "paper",
        subcommand=subcommand,
        args=args,
    )


def text(reply: Reply) -> str:
    return reply.plain_text


# --- /paper ----------------------------------------------------------------------------------


async def test_a_stored_paper_answers_at_once_without_deferring(
    chat: ChatService, store: SqlStore, clock: FakeClock, arxiv: FakeArxiv
) -> None:
    await store.upsert_papers([arxiv.papers["2403.13043"]], now=clock.now())
    defer = Deferrals()
    reply = await chat.handle(ask(paper="https://arxiv.org/abs/2403.13043v1"), defer)
    assert [c.arxiv_id for c in reply.cards] == ["2403.13043"]
    assert defer.calls == []
    assert arxiv.calls == 0
    assert not reply.ephemeral


class SlowSummarizer:
    """An outside tier (an LLM) that answers only once the command was deferred."""

    tier = "llm"

    def __init__(self, deferred: asyncio.Event) -> None:
        self._deferred = deferred

    async def summarize(self, paper: Paper) -> Summary:
        await asyncio.wait_for(self._deferred.wait(), 5)  # never deferred: the tier fails
        return Summary("An LLM's one-line TL;DR.", (), self.tier)


async def test_a_stored_paper_whose_card_is_slow_to_build_defers_before_the_deadline(
    chat: ChatService,
    store: SqlStore,
    clock: FakeClock,
    arxiv: FakeArxiv,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await store.upsert_papers([arxiv.papers["2403.13043"]], now=clock.now())
    deferred = asyncio.Event()
    slow = CardService(store, [TierSpec(SlowSummarizer(deferred))], default_taxonomy(), clock)
    monkeypatch.setattr(chat, "_cards", slow)
    monkeypatch.setattr(chat_module, "DEFER_AFTER", 0.01)

    class Deferring(Deferrals):
        async def __call__(self, ephemeral: bool) -> None:
            await super().__call__(ephemeral)
            deferred.set()

    defer = Deferring()
    reply = await chat.handle(ask(paper="2403.13043"), defer)
    assert defer.calls == [False]  # deferred (publicly), then answered
    assert reply.cards[0].tldr == "An LLM's one-line TL;DR."


@pytest.mark.parametrize("typed", ["arXiv:2403.13043 [cs.CL]", "ARXIV:2403.13043V1", "2403.13043"])
async def test_a_paper_not_stored_defers_first_then_fetches(
    chat: ChatService, arxiv: FakeArxiv, typed: str
) -> None:
    defer = Deferrals()
    reply = await chat.handle(ask(paper=typed, private=True), defer)
    assert defer.calls == [True]  # private: the deferral is only for the asker too
    assert reply.ephemeral
    assert reply.cards[0].arxiv_id == "2403.13043"
    assert arxiv.calls == 1


async def test_title_words_show_the_best_match_and_alternatives(chat: ChatService) -> None:
    defer = Deferrals()
    reply = await chat.handle(ask(paper="speculative"), defer)
    assert defer.calls == [False]
    assert reply.cards[0].arxiv_id == "2403.13043"
    assert "Other matches" in text(reply)
    links = [s.url for line in reply.lines for s in line if s.url]
    assert links == ["https://arxiv.org/abs/2403.20001", "https://arxiv.org/abs/2403.20002"]


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("2401.99999", "arXiv has no paper 2401.99999"),
        ("https://arxiv.org/abs/2413.00001", "month 13"),
        ("nothing matches these words", "No arXiv paper matches"),
        ("", "Give an arXiv id"),
    ],
)
async def test_lookup_mistakes_are_private_and_say_what_to_do(
    chat: ChatService, typed: str, says: str
) -> None:
    reply = await chat.handle(ask(paper=typed), Deferrals())
    assert reply.error
    assert reply.ephemeral
    assert says in text(reply)


async def test_arxiv_down_is_a_short_private_answer(chat: ChatService, arxiv: FakeArxiv) -> None:
    arxiv.down = SourceUnavailable("arxiv", "HTTP 503 (gave up after 5 attempts)")
    reply = await chat.handle(ask(paper="2403.13043"), Deferrals())
    assert reply.error
    assert reply.ephemeral
    assert "arXiv could not be reached" in text(reply)


# --- subscriptions ---------------------------------------------------------------------------


async def test_subscribing_needs_the_right_to_manage_the_channel(chat: ChatService) -> None:
    reply = await chat.handle(ask("subscribe", query="cat:cs.CL"))
    assert reply.error
    assert reply.ephemeral
    assert "Manage Channels" in text(reply)
    slack = await chat.handle(ask("subscribe", platform=Platform.SLACK, query="cat:cs.CL"))
    assert "@paper-admins" in text(slack)


async def test_subscribe_shows_the_normal_form_and_a_preview_of_last_week(
    chat: ChatService, store: SqlStore, clock: FakeClock, arxiv: FakeArxiv
) -> None:
    await store.upsert_papers(list(arxiv.papers.values()), now=clock.now())
    clock.advance(hours=1)
    reply = await chat.handle(ask("subscribe", manage=True, query="CAT:cs.cl  speculative"))
    assert not reply.error
    assert not reply.ephemeral
    assert reply.title.startswith("Subscribed this channel (#")
    assert reply.lines[0][0].text == "cat:cs.CL speculative"
    assert reply.lines[0][0].style is Style.CODE
    assert "would have matched 2 stored papers" in text(reply)
    [sub] = await store.list_subscriptions()
    assert (sub.added_by, sub.added_by_name) == ("42", "Ada")
    again = await chat.handle(ask("subscribe", manage=True, query="speculative cat:cs.CL"))
    assert again.title.startswith("This channel already has subscription")


async def test_a_bad_query_points_at_the_mistake_privately(chat: ChatService) -> None:
    reply = await chat.handle(ask("subscribe", manage=True, query="cat:cs.XX llm"))
    assert reply.error
    assert reply.ephemeral
    assert "no such arXiv category cs.XX" in text(reply)
    pre = [line[0].text for line in reply.lines if line[0].style is Style.PRE]
    assert pre == ["cat:cs.XX llm", "    ^"]


async def test_list_unsubscribe_and_autocomplete(chat: ChatService) -> None:
    await chat.handle(ask("subscribe", manage=True, query="cat:cs.CL"))
    await chat.handle(ask("subscribe", manage=True, query="au:hinton"))
    listing = await chat.handle(ask("list"))
    assert listing.ephemeral
    assert "added by Ada" in text(listing)
    assert "cat:cs.CL" in text(listing)
    assert "au:hinton" in text(listing)
    choices = await chat.autocomplete(ask("unsubscribe"), "hint")
    assert len(choices) == 1
    label, value = choices[0]
    assert "au:hinton" in label
    refused = await chat.handle(ask("unsubscribe", subscription=value))
    assert refused.error
    removed = await chat.handle(ask("unsubscribe", manage=True, subscription=value))
    assert removed.title == f"Removed subscription #{value}"
    missing = await chat.handle(ask("unsubscribe", manage=True, subscription="99"))
    assert missing.error
    assert "no subscription '99'" in text(missing)


async def test_search_is_newest_first_and_private(chat: ChatService) -> None:
    defer = Deferrals()
    reply = await chat.handle(ask("search", query="speculative"), defer)
    assert defer.calls == [True]
    assert reply.ephemeral
    urls = [s.url for line in reply.lines for s in line if s.url]
    assert urls[0] == "https://arxiv.org/abs/2403.13043"  # published the 18th, the newest


async def test_settings_anyone_looks_managers_change(chat: ChatService, store: SqlStore) -> None:
    look = await chat.handle(ask("settings"))
    assert look.ephemeral
    assert "the defaults" in text(look)
    refused = await chat.handle(ask("settings", mode="digest"))
    assert refused.error
    changed = await chat.handle(
        ask("settings", manage=True, mode="digest", digest_hour=8, timezone="Europe/Paris")
    )
    assert "mode=digest" in text(changed)
    assert "timezone=Europe/Paris" in text(changed)
    bad = await chat.handle(ask("settings", manage=True, timezone="Mars/Olympus"))
    assert bad.error
    assert "IANA time zone" in text(bad)
    dest = await store.get_destination(REF)
    assert dest is not None
    assert dest.settings.digest_hour == 8


async def test_the_roundups_settings_are_options_too(chat: ChatService, store: SqlStore) -> None:
    # Discord sends typed options (an integer, a choice, a boolean); Slack's free text and the
    # command line set the same three.
    changed = await chat.handle(
        ask("settings", manage=True, roundup_size=10, roundup_empty="silent", roundup_public=True)
    )
    assert not changed.error
    assert "roundup_size=10" in text(changed)
    dest = await store.get_destination(REF)
    assert dest is not None
    assert dest.settings.roundup_size == 10
    assert dest.settings.roundup_quiet
    assert dest.settings.roundup_public


async def test_pause_and_resume_keep_the_queue(chat: ChatService, store: SqlStore) -> None:
    assert (await chat.handle(ask("pause"))).error
    paused = await chat.handle(ask("pause", manage=True))
    assert paused.title == "Paused"
    dest = await store.get_destination(REF)
    assert dest is not None
    assert dest.paused_reason == "paused by Ada with /papers pause"
    status = await chat.handle(ask("status"))
    assert "Paused: paused by Ada" in text(status)
    await chat.handle(ask("resume", manage=True))
    dest = await store.get_destination(REF)
    assert dest is not None
    assert dest.paused_reason is None


async def test_roundup_schedule(chat: ChatService) -> None:
    shown = await chat.handle(ask("roundup"))
    assert "every Fri at 16:00 (UTC)" in text(shown)
    assert (await chat.handle(ask("roundup", day="mon"))).error
    changed = await chat.handle(ask("roundup", manage=True, day="mon", hour=9))
    assert "every Mon at 09:00" in text(changed)
    assert "off" in text(await chat.handle(ask("roundup", manage=True, action="off")))


async def test_a_roundup_preview_shows_this_weeks_papers_only_to_the_asker(
    chat: ChatService, store: SqlStore, clock: FakeClock, arxiv: FakeArxiv
) -> None:
    await chat.handle(ask("subscribe", manage=True, query="speculative"))
    clock.advance(hours=1)
    await store.upsert_papers(list(arxiv.papers.values()), now=clock.now())
    defer = Deferrals()
    reply = await chat.handle(ask("roundup", action="preview"), defer)
    assert defer.calls == [True]
    assert reply.ephemeral
    assert reply.title.startswith("Preview: Weekly roundup")
    assert "Speculative decoding for large language models" in text(reply)
    assert "3 papers" in text(reply) or "of 3" in text(reply)


async def test_help_lists_every_command(chat: ChatService) -> None:
    reply = await chat.handle(ask("help"))
    for name in (
        "/paper",
        "subscribe",
        "unsubscribe",
        "list",
        "search",
        "settings",
        "roundup",
        "pause",
        "resume",
        "status",
        "help",
    ):
        assert name in text(reply)


async def test_the_first_person_in_a_server_gets_the_hint_once(chat: ChatService) -> None:
    first = await chat.handle(ask("list"))
    assert "paperwire is new here" in "".join(s.text for line in first.note for s in line)
    second = await chat.handle(ask("list"))
    assert second.note == ()


async def test_removal_pauses_the_servers_channels_and_rejoining_resumes(
    chat: ChatService, store: SqlStore
) -> None:
    await chat.handle(ask("subscribe", manage=True, query="cat:cs.CL"))
    assert await chat.removed(Platform.DISCORD, channels=[CHANNEL, "1"]) == 1
    dest = await store.get_destination(REF)
    assert dest is not None
    assert dest.paused_reason == removed_reason(Platform.DISCORD)
    assert await chat.added(Platform.DISCORD, channels=[CHANNEL]) == 1
    dest = await store.get_destination(REF)
    assert dest is not None
    assert dest.paused_reason is None
