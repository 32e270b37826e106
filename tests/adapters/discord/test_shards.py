"""Past 2,500 servers: the bot on shards, with the real discord.py against a fake Discord
that requires them. Each server's events (and its commands) come on its shard only; the
commands are registered once, by the process with shard 0; processes that split the shards
split the bot's request limit too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import discord.gateway
import pytest
from discord.http import Route
from pydantic import SecretStr

from bot.adapters.db.engine import create_engine, upgrade
from bot.adapters.db.store import SqlStore
from bot.adapters.discord.bot import DiscordGateway
from bot.adapters.discord.publisher import DiscordPublisher
from bot.core.models import Author, Paper
from bot.services.chat import ChatService
from bot.settings import Settings
from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord
from tests.services.fakes import FakeArxiv, chat_service

# (guild_id >> 22) % 2: the first is on shard 1, the second on shard 0.
ON_SHARD_1 = "1200000000000000001"
ON_SHARD_0 = "1200000000004194305"
WAIT = 10.0


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[ChatService]:
    base, gateway_url = Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}")
    await upgrade(engine)
    store = SqlStore(engine)
    clock = FakeClock()
    arxiv = FakeArxiv()
    await store.upsert_papers(
        [
            Paper(
                arxiv_id="1706.03762",
                version=1,
                title="Attention is all you need",
                abstract="We propose the Transformer. It works well on translation.",
                authors=(Author("Ann Lee"),),
                categories=("cs.CL",),
                sources=frozenset({"arxiv"}),
            )
        ],
        now=clock.now(),
    )
    yield chat_service(store, clock, arxiv)
    await engine.dispose()
    Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway_url


def _gateway(fake: FakeDiscord, chat: ChatService, **shards: object) -> DiscordGateway:
    return DiscordGateway(
        SecretStr(fake.token),
        chat,
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
        **shards,  # type: ignore[arg-type]
    )


def _command_syncs(fake: FakeDiscord) -> int:
    return sum(1 for r in fake.requests if r.kind == "commands" and r.method == "PUT")


async def test_two_processes_split_the_shards_and_each_answers_its_servers(
    chat: ChatService,
) -> None:
    async with FakeDiscord(shards=2) as fake:
        fake.add_guild(ON_SHARD_0)
        fake.add_guild(ON_SHARD_1)
        first = _gateway(fake, chat, shard_count=2, shard_ids=(0,))
        second = _gateway(fake, chat, shard_count=2, shard_ids=(1,))
        for gateway in (first, second):
            await gateway.start()
        try:
            for gateway in (first, second):
                await asyncio.wait_for(gateway.ready.wait(), WAIT)
            assert first.client is not None
            assert second.client is not None
            assert [str(g.id) for g in first.client.guilds] == [ON_SHARD_0]
            assert [str(g.id) for g in second.client.guilds] == [ON_SHARD_1]
            assert sorted(s.shard for s in fake.sessions if s.shard) == [(0, 2), (1, 2)]
            assert _command_syncs(fake) == 1  # by the process with shard 0 only
            for guild in (ON_SHARD_0, ON_SHARD_1):
                record = await fake.invoke("paper", {"paper": "1706.03762"}, guild_id=guild)
                response = await record.response()
                assert response.type == 4
                assert response.data["embeds"][0]["title"] == "Attention is all you need"
        finally:
            for gateway in (first, second):
                await gateway.stop()


async def test_one_process_may_run_every_shard(chat: ChatService) -> None:
    async with FakeDiscord(shards=2) as fake:
        fake.add_guild(ON_SHARD_0)
        fake.add_guild(ON_SHARD_1)
        gateway = _gateway(fake, chat, shard_count=2)
        await gateway.start()
        try:
            await asyncio.wait_for(gateway.ready.wait(), WAIT)
            assert gateway.client is not None
            assert sorted(str(g.id) for g in gateway.client.guilds) == [ON_SHARD_1, ON_SHARD_0]
            assert _command_syncs(fake) == 1
            record = await fake.invoke("paper", {"paper": "1706.03762"}, guild_id=ON_SHARD_1)
            assert (await record.response()).type == 4
        finally:
            await gateway.stop()


def test_processes_that_split_the_shards_split_the_bots_request_limit() -> None:
    def limit(**env: str) -> int:
        settings = Settings(discord_token="x", **env)  # type: ignore[arg-type]
        return DiscordPublisher.from_settings(settings)._global.limit

    assert limit() == 50
    assert limit(discord_shard_count="4") == 50  # every shard in this process
    assert limit(discord_shard_count="4", discord_shard_ids="0") == 12
    assert limit(discord_shard_count="4", discord_shard_ids="2,3") == 25


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"discord_shard_ids": "0,1"}, "needs PAPERWIRE_DISCORD_SHARD_COUNT"),
        ({"discord_shard_count": "2", "discord_shard_ids": "0,2"}, "numbered 0 to 1"),
        ({"discord_shard_count": "2", "discord_shard_ids": "1,1"}, "names a shard twice"),
        ({"discord_shard_count": "2", "discord_shard_ids": "one"}, "separated by commas"),
    ],
)
def test_shard_settings_that_cannot_work_say_what_to_set(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**env)  # type: ignore[arg-type]


async def test_an_unsharded_bot_is_refused_where_discord_requires_shards(
    chat: ChatService,
) -> None:
    # What Discord does past 2,500 servers: close code 4011. paperwire reports it and keeps
    # retrying (the setting is the fix); nothing ends the process.
    problems: list[str | None] = []

    async def report(problem: str | None, refused: bool) -> None:
        problems.append(problem)

    async with FakeDiscord(shards=2) as fake:
        fake.add_guild(ON_SHARD_0)
        gateway = DiscordGateway(
            SecretStr(fake.token),
            chat,
            api_url=fake.api_url,
            gateway_url=fake.gateway_url,
            report=report,
        )
        await gateway.start()
        try:
            await fake.gateway.wait_until(lambda: bool(problems), "the refusal to be reported")
            assert problems[0] is not None
            assert "PAPERWIRE_DISCORD_SHARD_COUNT" in problems[0]
            assert not gateway.ready.is_set()
            assert all(s.shard is None for s in fake.sessions) or not fake.sessions
        finally:
            await gateway.stop()
