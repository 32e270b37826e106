"""The Discord side of paperwire with the real discord.py client against the fake Discord:
it logs in through the gateway, registers its commands, and answers real interactions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import discord
import discord.gateway
import pytest
from discord.http import Route
from pydantic import SecretStr

from bot.adapters.db.engine import create_engine, upgrade
from bot.adapters.db.store import SqlStore
from bot.adapters.discord.bot import DiscordGateway
from bot.core.chat import COMMANDS, removed_reason
from bot.core.models import Author, DestinationRef, Paper, Platform
from tests.fakes.clock import FakeClock
from tests.fakes.discord import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from tests.services.fakes import FakeArxiv, chat_service

GUILD = "1200000000000000001"
CHANNEL = "1200000000000000002"
WAIT = 10.0


def paper(arxiv_id: str, title: str) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=1,
        title=title,
        abstract=f"We study {title.lower()}. It works better than before on many tasks.",
        authors=(Author("Ann Lee"), Author("Bo Chen")),
        categories=("cs.CL",),
        published=datetime(2026, 11, 18, tzinfo=UTC),
        sources=frozenset({"arxiv"}),
    )


class World:
    def __init__(
        self, fake: FakeDiscord, store: SqlStore, arxiv: FakeArxiv, gateway: DiscordGateway
    ) -> None:
        self.fake, self.store, self.arxiv, self.gateway = fake, store, arxiv, gateway


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    base, gateway_url = Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}")
    await upgrade(engine)
    store = SqlStore(engine)
    clock = FakeClock()
    arxiv = FakeArxiv()
    arxiv.add(paper("2403.13043", "Speculative decoding for language models"))
    await store.upsert_papers([paper("1706.03762", "Attention is all you need")], now=clock.now())
    chat = chat_service(store, clock, arxiv)
    async with FakeDiscord() as fake:
        fake.add_guild(GUILD, channels=[CHANNEL])
        gateway = DiscordGateway(
            SecretStr(fake.token), chat, api_url=fake.api_url, gateway_url=fake.gateway_url
        )
        await gateway.start()
        try:
            await asyncio.wait_for(gateway.ready.wait(), WAIT)
            yield World(fake, store, arxiv, gateway)
        finally:
            await gateway.stop()
            await engine.dispose()
            Route.BASE = base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway_url


async def test_commands_are_registered_from_the_command_set(world: World) -> None:
    registered = {c["name"]: c for c in world.fake.registered_commands()}
    assert set(registered) == {"paper", "papers"}
    group = registered["papers"]
    assert group["default_member_permissions"] == str(MANAGE_CHANNELS)
    assert {o["name"] for o in group["options"]} == {spec.name for spec in COMMANDS}
    paper_options = {o["name"]: o for o in registered["paper"]["options"]}
    assert paper_options["paper"]["required"] is True
    assert paper_options["private"]["type"] == 5  # boolean
    assert world.fake.sessions[0].intents & ~1 == 0  # only GUILDS: no privileged intent


async def test_a_stored_paper_is_answered_at_once(world: World) -> None:
    record = await world.fake.invoke(
        "paper", {"paper": "1706.03762"}, guild_id=GUILD, channel_id=CHANNEL
    )
    response = await record.response()
    assert response.type == 4
    assert not response.ephemeral
    [embed] = response.data["embeds"]
    assert embed["title"] == "Attention is all you need"
    assert response.data["allowed_mentions"] == {"parse": []}


async def test_a_paper_not_stored_defers_then_edits(world: World) -> None:
    record = await world.fake.invoke(
        "paper",
        {"paper": "arXiv:2403.13043 [cs.CL]", "private": True},
        guild_id=GUILD,
        channel_id=CHANNEL,
    )
    response = await record.response()
    assert response.deferred
    assert response.ephemeral
    final = await record.final()
    assert final["embeds"][0]["title"] == "Speculative decoding for language models"


async def test_a_bad_id_is_a_private_error(world: World) -> None:
    record = await world.fake.invoke(
        "paper", {"paper": "2413.00001"}, guild_id=GUILD, channel_id=CHANNEL
    )
    response = await record.response()
    assert response.type == 4
    assert response.ephemeral
    assert "month 13" in response.data["content"]


async def test_subscribing_needs_manage_channels_checked_in_code(world: World) -> None:
    refused = await world.fake.invoke(
        "papers subscribe",
        {"query": "cat:cs.CL"},
        guild_id=GUILD,
        channel_id=CHANNEL,
        permissions=MEMBER_PERMISSIONS,
        integration_override=True,
    )
    response = await refused.response()
    assert response.ephemeral
    assert "Manage Channels" in response.data["content"]
    assert await world.store.list_subscriptions() == []

    allowed = await world.fake.invoke(
        "papers subscribe",
        {"query": "cat:cs.CL speculative"},
        guild_id=GUILD,
        channel_id=CHANNEL,
        permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS,
    )
    final = await allowed.final()
    assert final["embeds"][0]["title"].startswith("Subscribed this channel")
    [sub] = await world.store.list_subscriptions()
    assert sub.query == "cat:cs.CL speculative"


async def test_a_bad_query_is_refused_privately_at_once(world: World) -> None:
    record = await world.fake.invoke(
        "papers subscribe",
        {"query": "cat:cs.XX"},
        guild_id=GUILD,
        channel_id=CHANNEL,
        permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS,
    )
    response = await record.response()
    assert response.type == 4
    assert response.ephemeral
    assert "no such arXiv category cs.XX" in response.data["content"]


async def test_an_error_after_a_public_defer_is_answered_privately(world: World) -> None:
    record = await world.fake.invoke(
        "paper", {"paper": "no such title words"}, guild_id=GUILD, channel_id=CHANNEL
    )
    response = await record.response()
    assert response.deferred
    assert not response.ephemeral
    [followup] = await record.wait_followups(1)
    assert followup["flags"] & 64
    assert "No arXiv paper matches" in followup["content"]
    assert record.original is None  # the public "thinking..." message was removed


async def test_unsubscribe_through_autocomplete(world: World) -> None:
    manager = MEMBER_PERMISSIONS | MANAGE_CHANNELS
    for query in ("cat:cs.CL", "au:hinton"):
        record = await world.fake.invoke(
            "papers subscribe",
            {"query": query},
            guild_id=GUILD,
            channel_id=CHANNEL,
            permissions=manager,
        )
        await record.final()
    listing = await (
        await world.fake.invoke(
            "papers list", guild_id=GUILD, channel_id=CHANNEL, permissions=manager
        )
    ).final()
    assert "au:hinton" in listing["embeds"][0]["description"]
    choices = await world.fake.autocomplete(
        "papers unsubscribe",
        focused="subscription",
        value="hint",
        guild_id=GUILD,
        channel_id=CHANNEL,
        permissions=manager,
    )
    assert [c["name"].split(" ", 1)[1] for c in choices] == ["au:hinton"]
    removed = await world.fake.invoke(
        "papers unsubscribe",
        {"subscription": choices[0]["value"]},
        guild_id=GUILD,
        channel_id=CHANNEL,
        permissions=manager,
    )
    assert (await removed.response()).data["embeds"][0]["title"].startswith("Removed")
    assert [s.query for s in await world.store.list_subscriptions()] == ["cat:cs.CL"]


async def test_a_dropped_connection_resumes_and_commands_still_work(world: World) -> None:
    await world.fake.disconnect(code=4000)
    await world.fake.wait_ready()
    record = await world.fake.invoke(
        "paper", {"paper": "1706.03762"}, guild_id=GUILD, channel_id=CHANNEL
    )
    assert (await record.response()).type == 4
    assert [c.kind for c in world.fake.connections] == ["identify", "resume"]


async def test_removed_from_a_server_pauses_its_channels(world: World) -> None:
    ref = DestinationRef(Platform.DISCORD, "", CHANNEL)
    await world.store.ensure_destination(ref, now=datetime.now(UTC))
    world.fake.remove_guild(GUILD)
    await world.fake.wait_processed()
    for _ in range(100):  # the handler runs as its own task after the dispatch
        dest = await world.store.get_destination(ref)
        if dest is not None and dest.paused_reason:
            break
        await asyncio.sleep(0.02)
    assert dest is not None
    assert dest.paused_reason == removed_reason(Platform.DISCORD)


# --- the one error handler: one log line and a short private answer, never a traceback -----

BOT_LOGGER = "bot.adapters.discord.bot"
FAILURE = "Something went wrong on paperwire's side"  # what the person reads


async def boom(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("boom")


def assert_one_error_line(caplog: pytest.LogCaptureFixture, command: str) -> None:
    """Exactly one ERROR record in the whole log, from the bot's logger, without a traceback."""
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [(r.name, r.getMessage()) for r in errors] == [
        (BOT_LOGGER, f"Discord /{command} failed: RuntimeError: boom")
    ]
    assert errors[0].exc_info is None


def assert_short_and_clean(content: str) -> None:
    assert content.startswith(FAILURE)
    for detail in ("Traceback", "boom", "RuntimeError", 'File "'):
        assert detail not in content


async def test_a_failure_before_any_answer_is_one_log_line_and_a_private_reply(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(world.store, "get_destination", boom)  # the database breaks
    record = await world.fake.invoke(
        "papers list",
        guild_id=GUILD,
        channel_id=CHANNEL,
        permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS,
    )
    response = await record.response()
    assert response.type == 4  # answered at once, not deferred
    assert response.flags & 64  # ephemeral
    data = response.data or {}
    assert_short_and_clean(data["content"])
    assert not data.get("embeds")
    assert_one_error_line(caplog, "papers list")
    assert not any(r.exc_info for r in caplog.records)  # no traceback below DEBUG


async def test_a_failure_after_a_public_defer_is_a_private_follow_up(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger=BOT_LOGGER)
    monkeypatch.setattr(world.arxiv, "lookup", boom)  # fails after /paper deferred publicly
    record = await world.fake.invoke(
        "paper", {"paper": "2403.13043"}, guild_id=GUILD, channel_id=CHANNEL
    )
    response = await record.response()
    assert response.deferred
    assert not response.ephemeral
    [followup] = await record.wait_followups(1)
    assert followup["flags"] & 64
    assert_short_and_clean(followup["content"])
    assert_one_error_line(caplog, "paper")
    # The traceback is in the log only at DEBUG, on its own record.
    [debug] = [r for r in caplog.records if r.exc_info]
    assert debug.levelno == logging.DEBUG
    assert debug.name == BOT_LOGGER
    assert isinstance(debug.exc_info[1], RuntimeError)  # type: ignore[index]


async def test_a_failure_after_a_public_defer_leaves_no_public_message(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.arxiv, "lookup", boom)
    record = await world.fake.invoke(
        "paper", {"paper": "2403.13043"}, guild_id=GUILD, channel_id=CHANNEL
    )
    assert (await record.response()).deferred
    await record.wait_followups(1)
    assert record.original is None
