"""Discord's one error handler (``DiscordGateway.on_tree_error``), with the real discord.py
client against the fake Discord: a command that fails for a reason nobody foresaw becomes one
ERROR log line (the traceback only at DEBUG) and a short private answer, never a traceback."""

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
from bot.core.models import Author, Paper, Platform
from bot.services.chat import ChatService
from bot.services.lookup import LookupService
from bot.services.status import StatusService
from bot.services.subscriptions import SubscriptionService
from tests.fakes.clock import FakeClock
from tests.fakes.discord import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from tests.services.fakes import FakeArxiv, card_service

GUILD = "1200000000000000001"
CHANNEL = "1200000000000000002"
WAIT = 10.0
BOT_LOGGER = "bot.adapters.discord.bot"
FAILURE = "Something went wrong on paperwire's side"  # what the person reads


class World:
    def __init__(
        self, fake: FakeDiscord, store: SqlStore, arxiv: FakeArxiv, gateway: DiscordGateway
    ) -> None:
        self.fake, self.store, self.arxiv, self.gateway = fake, store, arxiv, gateway


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    # As in test_bot.py: a real ChatService on SQLite, the real client on the fake Discord.
    base, gateway_url = Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}")
    await upgrade(engine)
    store = SqlStore(engine)
    clock = FakeClock()
    arxiv = FakeArxiv()
    arxiv.add(
        Paper(
            arxiv_id="2403.13043",
            version=1,
            title="Speculative decoding for language models",
            abstract="We study speculative decoding. It works better than before.",
            authors=(Author("Ann Lee"),),
            categories=("cs.CL",),
            published=datetime(2026, 11, 18, tzinfo=UTC),
            sources=frozenset({"arxiv"}),
        )
    )
    chat = ChatService(
        store,
        clock,
        lookup=LookupService(store, arxiv, None, clock),
        cards=card_service(store, clock),
        subscriptions=SubscriptionService(store, clock),
        search=arxiv,
        status=StatusService(
            store, clock, sources={"arxiv": 60}, platforms={Platform.DISCORD: True}, database="x"
        ),
    )
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
