"""The fake Discord speaks the protocol as discord.py expects: the real ``discord.Client``
with a ``CommandTree`` logs in through its REST API and gateway on 127.0.0.1, syncs its
commands and answers interactions the fake dispatches, under Discord's rules."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import yarl
from discord import app_commands
from discord.webhook.async_ import async_context, interaction_response_params

from tests.fakes.discord import (
    APPLICATION_ID,
    BOT_PERMISSIONS,
    BOT_USER_ID,
    CREATE_PUBLIC_THREADS,
    DEFAULT_TOKEN,
    GUILD_MEMBERS,
    HAS_THREAD,
    MANAGE_CHANNELS,
    SEND_MESSAGES_IN_THREADS,
    FakeDiscord,
    Fault,
    validate_choices,
    validate_commands,
    validate_message,
    validate_thread,
)

GUILD = "1200000000000000001"
CHANNEL = "1200000000000000002"
OTHER_CHANNEL = "1200000000000000003"
SECOND_GUILD = "1300000000000000001"
SECOND_CHANNEL = "1300000000000000002"
WAIT = 10.0  # seconds: the longest a test waits for the bot's own answer
# What discord.py asks the gateway for: zstd-stream when a zstd module is importable.
COMPRESSION = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE


class Bot:
    """A small discord.py bot: the commands these tests drive, and what they saw."""

    def __init__(self) -> None:
        # on_ready comes guild_ready_timeout after the last GUILD_CREATE (2 s by default).
        self.client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self.client)
        self.results: asyncio.Queue[Any] = asyncio.Queue()
        self.gate = asyncio.Event()
        self.removed: asyncio.Queue[discord.Guild] = asyncio.Queue()
        self.joined: asyncio.Queue[discord.Guild] = asyncio.Queue()
        self.resumed = asyncio.Event()
        tree, results = self.tree, self.results

        @self.client.event
        async def on_guild_remove(guild: discord.Guild) -> None:
            await self.removed.put(guild)

        @self.client.event
        async def on_guild_join(guild: discord.Guild) -> None:
            await self.joined.put(guild)

        @self.client.event
        async def on_resumed() -> None:
            self.resumed.set()

        @tree.command(description="Look a paper up")
        async def paper(
            interaction: discord.Interaction, query: str, private: bool = False
        ) -> None:
            await interaction.response.send_message(f"paper {query}", ephemeral=private)

        @tree.command(description="Look a paper up slowly")
        async def slow(interaction: discord.Interaction, query: str) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content=f"found {query}")
            await interaction.followup.send("and one more thing", ephemeral=True)

        @tree.command(description="Answers only when the test opens the gate")
        async def gate(interaction: discord.Interaction) -> None:
            await self.gate.wait()
            try:
                await interaction.response.send_message("late")
            except discord.HTTPException as exc:
                await results.put(exc)

        @tree.command(description="Answers twice")
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("once")
            # discord.py refuses a second answer itself; its own HTTP call shows Discord's.
            try:
                await async_context.get().create_interaction_response(
                    interaction.id,
                    interaction.token,
                    session=interaction._session,  # discord.py's aiohttp session
                    params=interaction_response_params(4, {"content": "twice"}),
                )
            except discord.HTTPException as exc:
                await results.put(exc)

        @tree.command(description="Answers with too much")
        async def long(interaction: discord.Interaction) -> None:
            try:
                await interaction.response.send_message("x" * 2001)
            except discord.HTTPException as exc:
                await results.put(exc)

        @tree.command(description="Takes a user, a channel and a role")
        async def pick(
            interaction: discord.Interaction,
            who: discord.Member,
            where: discord.TextChannel,
            role: discord.Role,
            ratio: float,
        ) -> None:
            await results.put((who.id, where.name, role.name, ratio))
            await interaction.response.send_message("picked")

        @tree.command(description="Follows up")
        async def later(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("now")
            try:
                await interaction.followup.send("later")
            except discord.HTTPException as exc:
                await results.put(exc)

        @tree.command(description="Thinks, then thinks better of it")
        async def retract(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            original = await interaction.original_response()
            await interaction.delete_original_response()
            await results.put(original.flags.loading)

        papers = app_commands.Group(name="papers", description="Subscriptions")
        digest = app_commands.Group(name="digest", description="The daily digest", parent=papers)

        @digest.command(name="set", description="Set the digest")
        async def digest_set(
            interaction: discord.Interaction, zone: str, hour: int, on: bool
        ) -> None:
            await results.put((zone, hour, on))
            await interaction.response.send_message(f"{zone} {hour} {on}")

        async def which_choices(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            subscriptions = ["cat:cs.CL", "cat:cs.LG", "ti:diffusion"]
            return [app_commands.Choice(name=s, value=s) for s in subscriptions if current in s]

        @papers.command(description="Stop a subscription")
        @app_commands.autocomplete(which=which_choices)
        async def unsubscribe(interaction: discord.Interaction, which: str) -> None:
            await interaction.response.send_message(f"stopped {which}")

        tree.add_command(papers)


@pytest.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeDiscord]:
    options = getattr(request, "param", {})
    async with FakeDiscord(wait_timeout=WAIT, **options) as server:
        server.add_guild(GUILD, name="Lab", channels={CHANNEL: "papers", OTHER_CHANNEL: "general"})
        yield server


@pytest.fixture
def pointed(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> FakeDiscord:
    """discord.py's REST base and gateway moved onto the fake (restored afterwards)."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )
    return fake


@asynccontextmanager
async def running(bot: Bot, fake: FakeDiscord) -> AsyncIterator[Bot]:
    """The bot logged in, its READY and GUILD_CREATEs processed, its commands synced."""
    task = asyncio.create_task(bot.client.start(fake.token))
    try:
        await fake.wait_ready()
        async with asyncio.timeout(WAIT):
            await bot.client.wait_until_ready()  # GUILD_CREATEs from now on are joins
        await bot.tree.sync()
        yield bot
    finally:
        await bot.client.close()
        await task


@pytest.fixture
async def bot(pointed: FakeDiscord) -> AsyncIterator[Bot]:
    async with running(Bot(), pointed) as started:
        yield started


async def result(bot: Bot) -> Any:
    async with asyncio.timeout(WAIT):
        return await bot.results.get()


# --- logging in ---------------------------------------------------------------------------------


async def test_the_client_logs_in_and_sees_its_guild_with_channels(
    fake: FakeDiscord, bot: Bot
) -> None:
    guild = bot.client.get_guild(int(GUILD))

    assert guild is not None
    assert guild.name == "Lab"
    assert [c.name for c in guild.text_channels] == ["papers", "general"]
    assert guild.me is not None
    assert guild.me.id == int(BOT_USER_ID)
    assert bot.client.user is not None
    assert bot.client.user.id == int(BOT_USER_ID)
    assert bot.client.application_id == int(APPLICATION_ID)
    session = fake.sessions[0]
    assert session.intents == discord.Intents.default().value
    assert session.properties["browser"] == "discord.py"
    first = fake.connections[0]
    assert (first.path, first.kind, first.compress) == ("/gateway", "identify", COMPRESSION)
    assert first.received[1]["d"]["token"] == "[redacted]"


async def test_gateway_frames_are_one_compressed_stream_flushed_per_message(
    fake: FakeDiscord, bot: Bot
) -> None:
    await fake.invoke("paper", {"query": "2403.13043"})
    await fake.wait_processed()

    frames = [f for f in fake.connections[0].frames if isinstance(f, bytes)]
    assert len(frames) == len(fake.connections[0].frames)
    if COMPRESSION == "zlib-stream":  # every message ends in a sync flush
        assert all(f.endswith(b"\x00\x00\xff\xff") for f in frames)
    decompress = _stream_decompressor()  # one for the whole connection, as Discord needs
    messages = [json.loads(decompress(f)) for f in frames]
    assert [m["op"] for m in messages[:2]] == [10, 11]  # HELLO, then the ack of a heartbeat
    events = [m["t"] for m in messages if m["op"] == 0]
    assert events == ["READY", "GUILD_CREATE", "INTERACTION_CREATE"]
    assert [m["s"] for m in messages if m["op"] == 0] == [1, 2, 3]
    raw = sum(len(json.dumps(m)) for m in messages)
    assert sum(len(f) for f in frames) < raw  # really compressed


def _stream_decompressor() -> Callable[[bytes], bytes]:
    if COMPRESSION == "zlib-stream":
        return zlib.decompressobj().decompress
    import zstandard  # type: ignore[import-not-found]  # present: discord.py picked zstd

    return zstandard.ZstdDecompressor().decompressobj().decompress  # type: ignore[no-any-return]


async def test_a_wrong_token_fails_login_over_rest(pointed: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents.default())
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()


async def test_a_token_reset_after_login_closes_identify_with_4004(pointed: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents.default())
    try:
        await client.login(pointed.token)
        pointed.token = "reset-in-the-developer-portal"
        with pytest.raises(discord.ConnectionClosed) as closed:
            await client.connect(reconnect=True)
    finally:
        await client.close()
    assert closed.value.code == 4004
    assert pointed.connections[0].close_code == 4004
    assert pointed.sessions == []


@pytest.mark.parametrize("fake", [{}, {"privileged_intents": GUILD_MEMBERS}], indirect=True)
async def test_privileged_intents_need_enabling_in_the_app(pointed: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.members = True
    client = discord.Client(intents=intents, chunk_guilds_at_startup=False)
    if pointed.privileged_intents & GUILD_MEMBERS:
        task = asyncio.create_task(client.start(pointed.token))
        session = await pointed.wait_ready()
        await client.close()
        await task
        assert session.intents & GUILD_MEMBERS
    else:
        try:
            with pytest.raises(discord.PrivilegedIntentsRequired):
                await client.start(pointed.token)
        finally:
            await client.close()
        assert pointed.connections[0].close_code == 4014


# --- commands -----------------------------------------------------------------------------------


async def test_tree_sync_registers_global_and_guild_commands(fake: FakeDiscord, bot: Bot) -> None:
    registered = fake.registered_commands()
    assert sorted(c["name"] for c in registered) == [
        "gate",
        "later",
        "long",
        "paper",
        "papers",
        "pick",
        "retract",
        "slow",
        "twice",
    ]
    assert all(c["application_id"] == APPLICATION_ID and c["version"] for c in registered)
    assert fake.registered_commands(GUILD) == []

    guild_command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="dev", description="A guild-only command", callback=_nothing
    )
    bot.tree.add_command(guild_command, guild=discord.Object(int(GUILD)))
    synced = await bot.tree.sync(guild=discord.Object(int(GUILD)))
    again = await bot.tree.sync()

    (dev,) = fake.registered_commands(GUILD)
    assert (dev["name"], dev["guild_id"], str(synced[0].id)) == ("dev", GUILD, dev["id"])
    assert sorted(c.id for c in again) == sorted(int(c["id"]) for c in registered)


async def _nothing(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("nothing")


async def test_an_invoke_answered_ephemerally(fake: FakeDiscord, bot: Bot) -> None:
    record = await fake.invoke("paper", {"query": "2403.13043", "private": True})

    answer = await record.response()
    final = await record.final()
    assert (answer.type, answer.ephemeral) == (4, True)
    assert answer.latency >= 0
    assert final["content"] == "paper 2403.13043"
    assert final["type"] == 20
    assert final["interaction_metadata"]["id"] == record.id
    assert fake.messages(CHANNEL) == []  # only the user saw it


async def test_a_public_reply_lands_in_the_channel(fake: FakeDiscord, bot: Bot) -> None:
    record = await fake.invoke("paper", {"query": "2403.13043"}, channel_id=OTHER_CHANNEL)

    final = await record.final()
    assert [m["id"] for m in fake.messages(OTHER_CHANNEL)] == [final["id"]]
    assert fake.card_ids(OTHER_CHANNEL) == []  # a reply is not a posted card


async def test_a_deferred_invoke_is_edited_then_followed_up(fake: FakeDiscord, bot: Bot) -> None:
    record = await fake.invoke("slow", {"query": "sparse attention"})

    answer = await record.response()
    final = await record.final()
    (followup,) = await record.wait_followups(1)
    assert (answer.type, answer.deferred, answer.ephemeral) == (5, True, True)
    assert final["content"] == "found sparse attention"
    assert final["flags"] == 64  # ephemeral kept, loading cleared by the edit
    assert followup["content"] == "and one more thing"
    assert followup["flags"] == 64
    assert record.edits[0]["content"] == "found sparse attention"


async def test_a_deleted_original_response_has_no_final_message(
    fake: FakeDiscord, bot: Bot
) -> None:
    record = await fake.invoke("retract", channel_id=OTHER_CHANNEL)

    assert await result(bot) is True  # the deferred message was loading
    with pytest.raises(LookupError, match="deleted"):
        await record.final()
    assert record.original is None
    assert fake.messages(OTHER_CHANNEL) == []


@pytest.mark.parametrize("fake", [{"interaction_deadline": 0.2}], indirect=True)
async def test_a_callback_after_the_deadline_gets_unknown_interaction(
    fake: FakeDiscord, bot: Bot
) -> None:
    record = await fake.invoke("gate")
    await record.wait_expired()
    bot.gate.set()

    error = await result(bot)
    assert isinstance(error, discord.NotFound)
    assert error.code == 10062
    assert not record.acknowledged


async def test_a_second_callback_gets_already_acknowledged(fake: FakeDiscord, bot: Bot) -> None:
    record = await fake.invoke("twice")

    error = await result(bot)
    assert isinstance(error, discord.HTTPException)
    assert (error.status, error.code) == (400, 40060)
    assert (await record.final())["content"] == "once"


async def test_a_reply_over_discords_limits_is_refused(fake: FakeDiscord, bot: Bot) -> None:
    record = await fake.invoke("long")

    error = await result(bot)
    assert (error.status, error.code) == (400, 50035)
    assert "data.content" in str(error)
    assert not record.acknowledged


async def test_autocomplete_returns_the_bots_choices(fake: FakeDiscord, bot: Bot) -> None:
    choices = await fake.autocomplete("papers unsubscribe", focused="which", value="cs.")

    assert choices == [
        {"name": "cat:cs.CL", "value": "cat:cs.CL"},
        {"name": "cat:cs.LG", "value": "cat:cs.LG"},
    ]
    record = fake.interactions()[-1]
    assert record.type == 4
    (sub,) = record.payload["data"]["options"]
    assert sub == {
        "name": "unsubscribe",
        "type": 1,
        "options": [{"name": "which", "type": 3, "value": "cs.", "focused": True}],
    }


async def test_a_subcommand_group_gets_typed_options(fake: FakeDiscord, bot: Bot) -> None:
    record = await fake.invoke(
        "papers", {"zone": "Europe/Paris", "hour": 8, "on": True}, subcommand="digest set"
    )

    assert await result(bot) == ("Europe/Paris", 8, True)
    data = record.payload["data"]
    assert data["id"] == next(c["id"] for c in fake.registered_commands() if c["name"] == "papers")
    (group,) = data["options"]
    (sub,) = group["options"]
    assert (group["name"], group["type"], sub["name"], sub["type"]) == ("digest", 2, "set", 1)
    assert [(o["name"], o["type"], o["value"]) for o in sub["options"]] == [
        ("zone", 3, "Europe/Paris"),
        ("hour", 4, 8),
        ("on", 5, True),
    ]


async def test_users_channels_and_roles_arrive_resolved(fake: FakeDiscord, bot: Bot) -> None:
    options = {"who": "1100000000000000042", "where": OTHER_CHANNEL, "role": GUILD, "ratio": 0.5}
    record = await fake.invoke("pick", options)

    assert await result(bot) == (1100000000000000042, "general", "@everyone", 0.5)
    assert set(record.payload["data"]["resolved"]) == {"users", "members", "channels", "roles"}


@pytest.mark.parametrize("fake", [{"interaction_token_ttl": 0.0}], indirect=True)
async def test_a_followup_after_the_token_expired_is_refused(fake: FakeDiscord, bot: Bot) -> None:
    record = await fake.invoke("later")

    error = await result(bot)
    assert (error.status, error.code) == (401, 50027)
    assert record.acknowledged
    assert record.followups == []


@pytest.mark.parametrize(
    ("options", "subcommand", "problem"),
    [
        ({"zone": "UTC", "hour": "8", "on": True}, "digest set", TypeError),
        ({"zone": "UTC", "on": True}, "digest set", ValueError),
        ({"zone": "UTC", "hour": 8, "on": True, "extra": 1}, "digest set", ValueError),
        ({}, "digest", LookupError),
        ({}, "nosuch", LookupError),
    ],
)
async def test_invoke_refuses_what_discords_client_would_not_send(
    fake: FakeDiscord, bot: Bot, options: dict[str, Any], subcommand: str, problem: type
) -> None:
    with pytest.raises(problem):
        await fake.invoke("papers", options, subcommand=subcommand)


async def test_invoke_hides_a_command_the_user_lacks_permissions_for(
    fake: FakeDiscord, bot: Bot
) -> None:
    locked: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="admin", description="Managers only", callback=_nothing
    )
    locked.default_permissions = discord.Permissions(manage_channels=True)
    bot.tree.add_command(locked)
    await bot.tree.sync()

    with pytest.raises(PermissionError, match="default_member_permissions=16"):
        await fake.invoke("admin")
    manager = await fake.invoke("admin", permissions=MANAGE_CHANNELS)
    allowed = await fake.invoke("admin", integration_override=True)
    assert (await manager.response()).type == (await allowed.response()).type == 4


# --- guilds and the connection --------------------------------------------------------------


async def test_a_guild_added_later_arrives_as_a_join(fake: FakeDiscord, bot: Bot) -> None:
    fake.add_guild(SECOND_GUILD, name="Other", channels={SECOND_CHANNEL: "feed"})

    async with asyncio.timeout(WAIT):
        joined = await bot.joined.get()
    assert (joined.id, [c.id for c in joined.channels]) == (
        int(SECOND_GUILD),
        [int(SECOND_CHANNEL)],
    )


async def test_a_removed_guild_dispatches_guild_remove(fake: FakeDiscord, bot: Bot) -> None:
    fake.remove_guild(GUILD)

    async with asyncio.timeout(WAIT):
        removed = await bot.removed.get()
    assert removed.id == int(GUILD)
    assert bot.client.get_guild(int(GUILD)) is None
    with pytest.raises(discord.Forbidden) as refused:
        await bot.client.http.send_message(int(CHANNEL), params=_text("still here?"))
    assert refused.value.code == 50001


def _text(content: str) -> Any:
    return discord.http.handle_message_parameters(content=content)


@pytest.mark.parametrize("how", ["close 4000", "drop", "op 7", "op 9 resumable"])
async def test_the_client_resumes_and_loses_no_dispatch(
    fake: FakeDiscord, bot: Bot, how: str
) -> None:
    session = fake.sessions[0]
    if how == "close 4000":
        await fake.disconnect(4000)
    elif how == "drop":
        await fake.disconnect(None)
    elif how == "op 7":
        fake.reconnect()
    else:
        fake.invalidate_session(resumable=True)
    record = await fake.invoke("paper", {"query": "while away"})  # maybe before the resume

    assert (await record.final())["content"] == "paper while away"
    async with asyncio.timeout(WAIT):
        await bot.resumed.wait()
    assert await fake.wait_connected() is session
    assert fake.sessions == [session]
    assert session.resumes == 1
    resumed = fake.connections[-1]
    assert (resumed.path, resumed.kind) == ("/gateway-resume", "resume")
    assert sum(1 for r in fake.interactions() if r.acknowledged) == 1


async def test_the_fake_serves_a_bot_from_its_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeDiscord.running_in_thread(wait_timeout=WAIT) as fake:
        fake.add_guild(GUILD, channels={CHANNEL: "papers"})
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
        )
        bot = Bot()
        task = asyncio.create_task(bot.client.start(fake.token))
        try:
            # The fake's coroutines run on its own loop: fake.call, from a worker thread so
            # this loop (the bot's) keeps running meanwhile.
            await asyncio.to_thread(fake.call, fake.wait_ready)
            await bot.tree.sync()
            record = await asyncio.to_thread(fake.call, fake.invoke, "paper", {"query": "x"})
            answer = await asyncio.to_thread(fake.call, record.response)
        finally:
            await bot.client.close()
            await task
    assert answer.type == 4
    assert answer.data is not None
    assert answer.data["content"] == "paper x"


# --- threads and reactions, through discord.py's HTTPClient -------------------------------------

THUMBS_UP = "\N{THUMBS UP SIGN}"


@pytest.fixture
async def http(pointed: FakeDiscord) -> AsyncIterator[discord.http.HTTPClient]:
    """discord.py's own REST client, logged in to the fake (what the publisher uses)."""
    client = discord.http.HTTPClient(asyncio.get_running_loop())
    await client.static_login(pointed.token)
    try:
        yield client
    finally:
        await client.close()


async def _post(http: discord.http.HTTPClient, channel: str, content: str) -> str:
    params = discord.http.handle_message_parameters(content=content)
    with params:
        message = await http.send_message(channel, params=params)
    return str(message["id"])


async def _thread(http: discord.http.HTTPClient, message: str, name: str = "Week 24") -> Any:
    return await http.start_thread_with_message(
        CHANNEL, message, name=name, auto_archive_duration=10080
    )


async def test_a_thread_started_from_a_message_has_its_id_and_holds_posts(
    fake: FakeDiscord, http: discord.http.HTTPClient
) -> None:
    header = await _post(http, CHANNEL, "The week in papers")

    thread = await _thread(http, header)
    first = await _post(http, str(thread["id"]), "Language models")
    second = await _post(http, str(thread["id"]), "Vision")

    assert (thread["id"], thread["type"], thread["parent_id"]) == (header, 11, CHANNEL)
    assert (thread["guild_id"], thread["owner_id"], thread["name"]) == (
        GUILD,
        BOT_USER_ID,
        "Week 24",
    )
    assert thread["thread_metadata"]["auto_archive_duration"] == 10080
    assert fake.threads(CHANNEL) == {header: "Week 24"}
    assert fake.threads(OTHER_CHANNEL) == {}
    assert [(m["id"], m["content"]) for m in fake.messages(header)] == [
        (first, "Language models"),
        (second, "Vision"),
    ]
    assert {m["channel_id"] for m in fake.messages(header)} == {header}
    assert [m["content"] for m in fake.messages(CHANNEL)] == ["The week in papers"]
    shown = await http.get_channel(header)
    assert (shown["type"], shown["message_count"], shown["last_message_id"]) == (11, 2, second)
    starter = await http.get_message(CHANNEL, header)
    assert starter["flags"] & HAS_THREAD
    assert starter["thread"]["id"] == header
    assert starter["thread"]["message_count"] == 2


async def test_starting_a_thread_is_held_to_discords_rules(
    fake: FakeDiscord, http: discord.http.HTTPClient
) -> None:
    header = await _post(http, CHANNEL, "The week in papers")
    await _thread(http, header)
    inside = await _post(http, header, "a section")
    lonely = await _post(http, CHANNEL, "no thread here")

    with pytest.raises(discord.HTTPException) as again:
        await _thread(http, header)
    with pytest.raises(discord.NotFound) as unknown:
        await _thread(http, "1200000000000000099")
    with pytest.raises(discord.HTTPException) as nested:
        await http.start_thread_with_message(
            header, inside, name="deeper", auto_archive_duration=60
        )
    with pytest.raises(discord.HTTPException) as long_name:
        await _thread(http, lonely, name="x" * 101)
    with pytest.raises(discord.NotFound) as not_a_channel:
        await _post(http, lonely, "into a thread never started")

    assert (again.value.status, again.value.code) == (400, 160004)
    assert again.value.text == "A thread has already been created for this message"
    assert (unknown.value.status, unknown.value.code) == (404, 10008)
    assert (nested.value.status, nested.value.code) == (400, 50024)
    assert (long_name.value.status, long_name.value.code) == (400, 50035)
    assert (not_a_channel.value.status, not_a_channel.value.code) == (404, 10003)
    assert fake.threads() == {header: "Week 24"}
    assert fake.messages(lonely) == []


@pytest.mark.parametrize(
    ("missing", "where"),
    [(CREATE_PUBLIC_THREADS, "thread"), (SEND_MESSAGES_IN_THREADS, "post")],
)
async def test_threads_need_the_bots_thread_permissions(
    fake: FakeDiscord, http: discord.http.HTTPClient, missing: int, where: str
) -> None:
    fake.add_guild(
        SECOND_GUILD,
        channels={SECOND_CHANNEL: "papers"},
        bot_permissions=BOT_PERMISSIONS & ~missing,
    )
    header = await _post(http, SECOND_CHANNEL, "The week in papers")

    async def start_and_post() -> None:
        thread = await http.start_thread_with_message(
            SECOND_CHANNEL, header, name="Week 24", auto_archive_duration=1440
        )
        await _post(http, str(thread["id"]), "a section")

    with pytest.raises(discord.Forbidden) as refused:
        await start_and_post()

    assert (refused.value.status, refused.value.code) == (403, 50013)
    assert fake.threads(SECOND_CHANNEL) == ({} if where == "thread" else {header: "Week 24"})
    assert fake.messages(header) == []


async def test_get_message_shows_the_reactions_people_gave(
    fake: FakeDiscord, http: discord.http.HTTPClient
) -> None:
    card = await _post(http, CHANNEL, "a card")
    quiet = await _post(http, CHANNEL, "a card nobody liked")
    fake.react(CHANNEL, card)
    fake.react(CHANNEL, card, count=2)
    fake.react(CHANNEL, card, "paperwire:1200000000000000077")

    read = await http.get_message(CHANNEL, card)
    unread = await http.get_message(CHANNEL, quiet)
    with pytest.raises(discord.NotFound) as unknown:
        await http.get_message(CHANNEL, "1200000000000000099")

    assert [(r["emoji"], r["count"], r["me"]) for r in read["reactions"]] == [
        ({"id": None, "name": THUMBS_UP}, 3, False),
        ({"id": "1200000000000000077", "name": "paperwire"}, 1, False),
    ]
    assert "reactions" not in unread
    assert "nonce" not in read
    assert (unknown.value.status, unknown.value.code) == (404, 10008)
    [history] = [m for m in await http.logs_from(CHANNEL, 10) if m["id"] == card]
    assert history["reactions"] == read["reactions"]
    with pytest.raises(LookupError, match="no message"):
        fake.react(CHANNEL, "1200000000000000099")


async def test_faults_reach_the_thread_and_message_routes(
    fake: FakeDiscord, http: discord.http.HTTPClient
) -> None:
    header = await _post(http, CHANNEL, "The week in papers")
    fake.fail(Fault.MISSING_ACCESS, channel=CHANNEL, route="thread")
    fake.fail(Fault.UNKNOWN_CHANNEL, channel=CHANNEL, route="message")

    with pytest.raises(discord.Forbidden):
        await _thread(http, header)
    with pytest.raises(discord.NotFound) as gone:
        await http.get_message(CHANNEL, header)
    thread = await _thread(http, header)  # each fault was for one request
    # A fault for the channel reaches its thread; "after" lets the first section through.
    fake.fail(Fault.DROP_AFTER_POST, channel=CHANNEL, route="post", after=1)
    await _post(http, header, "section 1")
    with pytest.raises(aiohttp.ClientError):
        await _post(http, header, "section 2")
    await _post(http, header, "section 3")

    assert gone.value.code == 10003
    assert thread["id"] == header
    # The cut answer's post was stored: a crash after it leaves it in the thread.
    assert [m["content"] for m in fake.messages(header)] == ["section 1", "section 2", "section 3"]
    assert [(r.kind, r.status, r.fault) for r in fake.requests if r.kind == "thread"] == [
        ("thread", 403, Fault.MISSING_ACCESS),
        ("thread", 201, None),
    ]


async def test_a_thread_answer_lost_on_the_way_leaves_the_thread_started(
    fake: FakeDiscord, http: discord.http.HTTPClient
) -> None:
    header = await _post(http, CHANNEL, "The week in papers")
    fake.fail(Fault.DROP_AFTER_POST, route="thread")

    with pytest.raises(aiohttp.ClientError):
        await _thread(http, header)
    with pytest.raises(discord.HTTPException) as again:
        await _thread(http, header)

    assert again.value.code == 160004
    assert fake.threads(CHANNEL) == {header: "Week 24"}
    assert (await http.get_channel(header))["parent_id"] == CHANNEL


async def test_discord_py_reads_reactions_and_threads_into_its_models(
    fake: FakeDiscord, bot: Bot
) -> None:
    channel = bot.client.get_channel(int(CHANNEL))
    assert isinstance(channel, discord.TextChannel)
    header = await channel.send("The week in papers")
    fake.react(CHANNEL, str(header.id), count=4)

    fetched = await channel.fetch_message(header.id)
    thread = await fetched.create_thread(name="Week 24", auto_archive_duration=10080)
    section = await thread.send("Language models")
    await fake.wait_processed()  # THREAD_CREATE reached the client's cache

    [reaction] = fetched.reactions
    assert (str(reaction.emoji), reaction.count, reaction.me) == (THUMBS_UP, 4, False)
    assert isinstance(thread, discord.Thread)
    assert (thread.id, thread.parent_id, thread.name) == (header.id, int(CHANNEL), "Week 24")
    assert thread.auto_archive_duration == 10080
    assert bot.client.get_channel(header.id) is not None
    assert section.channel.id == header.id
    assert [m["content"] for m in fake.messages(str(header.id))] == ["Language models"]


# --- Discord's limits ---------------------------------------------------------------------------

EMBED_FIELD = {"name": "n", "value": "v"}


def _row(
    count: int, *, label: str = "arXiv", url: str = "https://arxiv.org/abs/1"
) -> dict[str, Any]:
    button = {"type": 2, "style": 5, "label": label, "url": url}
    return {"type": 1, "components": [button] * count}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "Week 24"}, None),
        ({"name": "x" * 100, "auto_archive_duration": 60, "rate_limit_per_user": None}, None),
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Week 24", "auto_archive_duration": 120}, "auto_archive_duration"),
        ({"name": "Week 24", "rate_limit_per_user": 21601}, "rate_limit_per_user"),
    ],
)
def test_thread_starts_are_held_to_discords_limits(body: dict[str, Any], where: str | None) -> None:
    problem = validate_thread(body)

    assert (problem.path[0] if problem else None) == where


@pytest.mark.parametrize(
    ("body", "where", "code"),
    [
        ({"content": "x" * 2000}, None, None),
        ({"content": "x" * 2001}, "content", "BASE_TYPE_MAX_LENGTH"),
        ({}, "", "50006"),
        ({"embeds": [{"title": "t"}] * 11}, "embeds", "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"title": "x" * 257}]}, "embeds.0.title", "BASE_TYPE_MAX_LENGTH"),
        ({"embeds": [{"description": "x" * 4097}]}, "embeds.0.description", None),
        ({"embeds": [{"fields": [EMBED_FIELD] * 26}]}, "embeds.0.fields", None),
        (
            {"embeds": [{"fields": [{"name": "x" * 257, "value": "v"}]}]},
            "embeds.0.fields.0.name",
            None,
        ),
        (
            {"embeds": [{"fields": [{"name": "n", "value": "x" * 1025}]}]},
            "embeds.0.fields.0.value",
            None,
        ),
        (
            {"embeds": [{"fields": [{"name": "n"}]}]},
            "embeds.0.fields.0.value",
            "BASE_TYPE_REQUIRED",
        ),
        ({"embeds": [{"footer": {"text": "x" * 2049}}]}, "embeds.0.footer.text", None),
        ({"embeds": [{"author": {"name": "x" * 257}}]}, "embeds.0.author.name", None),
        (
            {"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]},
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
        ),
        ({"embeds": [{"title": "t", "url": "not a url"}]}, "embeds.0.url", "URL_TYPE_INVALID_URL"),
        ({"components": [_row(1)] * 6}, "components", "BASE_TYPE_MAX_LENGTH"),
        ({"components": [_row(6)]}, "components.0.components", "BASE_TYPE_BAD_LENGTH"),
        ({"components": [_row(1, label="x" * 81)]}, "components.0.components.0.label", None),
        (
            {"components": [_row(1, url="https://x.org/" + "a" * 499)]},
            "components.0.components.0.url",
            None,
        ),
        ({"components": [_row(1, url="https://x.org/" + "a" * 498)]}, None, None),
        ({"components": [_row(5)] * 5}, None, None),
        ({"content": "x", "nonce": "n" * 26}, "nonce", None),
        ({"content": "x", "flags": 64}, "flags", "MESSAGE_FLAGS_INVALID"),  # not on a post
        ({"content": "x", "allowed_mentions": "none"}, "allowed_mentions", None),
    ],
)
def test_channel_posts_are_held_to_discords_limits(
    body: dict[str, Any], where: str | None, code: str | None
) -> None:
    problem = validate_message(body)

    if where is None:
        assert problem is None
    else:
        assert problem is not None
        assert ".".join(str(p) for p in problem.path) == where
        if code == "50006":
            assert problem.api_code == 50006
        elif code is not None:
            assert problem.code == code


@pytest.mark.parametrize(
    ("flags", "allowed"), [(64, True), (4, True), (64 | 4, True), (1 << 5, False), (1 << 15, False)]
)
def test_interaction_replies_take_only_the_flags_a_bot_may_set(flags: int, allowed: bool) -> None:
    problem = validate_message({"content": "x", "flags": flags}, interaction=True)
    assert (problem is None) is allowed


@pytest.mark.parametrize(
    ("choices", "where"),
    [
        ([{"name": "a", "value": "a"}] * 25, None),
        ([{"name": "a", "value": "a"}] * 26, "data.choices"),
        ([{"name": "", "value": "a"}], "data.choices.0.name"),
        ([{"name": "x" * 101, "value": "a"}], "data.choices.0.name"),
        ([{"name": "a", "value": "x" * 101}], "data.choices.0.value"),
        ([{"name": "a", "value": 3}], "data.choices.0.value"),
    ],
)
def test_autocomplete_choices_are_held_to_discords_limits(
    choices: list[dict[str, Any]], where: str | None
) -> None:
    problem = validate_choices({"choices": choices}, 3)
    assert (None if problem is None else ".".join(map(str, problem.path))) == where


@pytest.mark.parametrize(
    ("command", "where"),
    [
        ({"name": "paper", "description": "Look up"}, None),
        ({"name": "Paper", "description": "Look up"}, "0.name"),
        ({"name": "paper", "description": ""}, "0.description"),
        ({"name": "paper", "description": "x" * 101}, "0.description"),
        (
            {
                "name": "paper",
                "description": "d",
                "options": [
                    {"type": 3, "name": "a", "description": "d"},
                    {"type": 3, "name": "b", "description": "d", "required": True},
                ],
            },
            "0.options.1.required",
        ),
        (
            {
                "name": "paper",
                "description": "d",
                "options": [{"type": 3, "name": f"o{i}", "description": "d"} for i in range(26)],
            },
            "0.options",
        ),
    ],
)
def test_command_sync_is_held_to_discords_rules(command: dict[str, Any], where: str | None) -> None:
    problem = validate_commands([command])
    assert (None if problem is None else ".".join(map(str, problem.path))) == where


async def test_a_bad_sync_raises_command_sync_failure(fake: FakeDiscord, bot: Bot) -> None:
    bad: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="x" * 20, description="d", callback=_nothing
    )
    bad.description = "x" * 101  # past discord.py's own checks, as a translator could
    bot.tree.add_command(bad)

    with pytest.raises(app_commands.CommandSyncFailure):
        await bot.tree.sync()


async def test_a_channel_post_over_the_limits_gets_invalid_form_body(fake: FakeDiscord) -> None:
    body = {"embeds": [{"fields": [EMBED_FIELD] * 26}]}
    headers = {"Authorization": f"Bot {fake.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{fake.api_url}/channels/{CHANNEL}/messages", json=body, headers=headers
        ) as r,
    ):
        answer = await r.json()
    assert (r.status, answer["code"]) == (400, 50035)
    assert answer["errors"]["embeds"]["0"]["fields"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"


async def test_a_rate_limited_callback_is_retried_by_discord_py(
    fake: FakeDiscord, bot: Bot
) -> None:
    fake.fail(Fault.RATE_LIMITED, route="callback", retry_after=0.01)
    record = await fake.invoke("paper", {"query": "2403.13043"})

    assert (await record.final())["content"] == "paper 2403.13043"
    callbacks = [r for r in fake.requests if r.kind == "callback"]
    assert [(r.status, r.fault) for r in callbacks] == [(429, Fault.RATE_LIMITED), (200, None)]


# --- the gateway's own rules, spoken to directly ------------------------------------------------


@asynccontextmanager
async def _gateway(fake: FakeDiscord, query: str = "v=10&encoding=json") -> AsyncIterator[Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{fake.gateway_url}?{query}") as ws,
    ):
        yield ws


async def _until_closed(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """What the fake sent until it closed the connection."""
    received = []
    async with asyncio.timeout(WAIT):
        async for message in ws:
            received.append(json.loads(message.data))
    return received


def _identify(token: str, intents: object = 513) -> dict[str, Any]:
    return {"op": 2, "d": {"token": token, "intents": intents, "properties": {}}}


@pytest.mark.parametrize(
    ("query", "sent", "code"),
    [
        ("v=9&encoding=json", [], 4012),
        ("v=10&encoding=etf", [], 4002),
        ("v=10&encoding=json", ["not json"], 4002),
        ("v=10&encoding=json", [{"op": 99, "d": None}], 4001),
        ("v=10&encoding=json", [{"op": 3, "d": {}}], 4003),
        ("v=10&encoding=json", [_identify("wrong")], 4004),
        ("v=10&encoding=json", [_identify(DEFAULT_TOKEN, intents="all")], 4013),
        ("v=10&encoding=json", [_identify(DEFAULT_TOKEN, intents=1 << 30)], 4013),
        ("v=10&encoding=json", [_identify(DEFAULT_TOKEN)] * 2, 4005),
        ("v=10&encoding=json", [{"op": 1, "d": None, "pad": "x" * 4096}], 4002),
    ],
)
async def test_the_gateway_closes_with_discords_codes(
    fake: FakeDiscord, query: str, sent: list[Any], code: int
) -> None:
    async with _gateway(fake, query) as ws:
        for payload in sent:
            await (ws.send_str(payload) if isinstance(payload, str) else ws.send_json(payload))
        await _until_closed(ws)
        assert ws.close_code == code


async def test_the_gateway_says_hello_acks_heartbeats_and_refuses_a_stale_resume(
    fake: FakeDiscord,
) -> None:
    async with _gateway(fake) as ws:
        hello = await ws.receive_json()
        await ws.send_json({"op": 1, "d": None})
        ack = await ws.receive_json()
        await ws.send_json({"op": 6, "d": {"token": fake.token, "session_id": "x", "seq": 3}})
        invalid = await ws.receive_json()
    assert hello == {"op": 10, "d": {"heartbeat_interval": 41250}}
    assert ack == {"op": 11}
    assert invalid == {"op": 9, "d": False}
