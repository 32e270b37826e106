"""paperwire on Discord's gateway: ``/paper`` and ``/papers ...`` through the ChatService.

Thin on purpose: the app commands are built from the command set in ``bot.core.chat`` (names,
typed options, descriptions), each callback turns the interaction into a ``ChatRequest``,
and the ``Reply`` is rendered by ``reply.render_reply``. What a command does lives in
``bot.services.chat``.

Where discord.py connects. It builds REST URLs from ``discord.http.Route.BASE`` and connects
the gateway at ``DiscordWebSocket.DEFAULT_GATEWAY`` (also after a failed resume); both are
class attributes, set from PAPERWIRE_DISCORD_API_URL and PAPERWIRE_DISCORD_GATEWAY_URL before
the client starts, so the real client runs against a fake on loopback. One bot per process.

Supervision. ``DiscordGateway.start`` runs the client in a task that never ends the process:
a refused token pauses the platform (with the reason, in status and /healthz) and is tried
again later; Discord out of reach is retried with backoff. discord.py itself resumes a
dropped session.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.http import Route
from pydantic import SecretStr

from bot.adapters.discord.publisher import LOGIN_REFUSED
from bot.adapters.discord.reply import render_reply
from bot.core.chat import (
    COMMANDS,
    GROUP,
    GROUP_DESCRIPTION,
    LOOKUP,
    LOOKUP_SPEC,
    ChatRequest,
    CommandSpec,
    Option,
    OptionType,
    Reply,
)
from bot.core.models import Platform
from bot.services.chat import ChatService

__all__ = ["DiscordGateway", "build_tree", "point_discord_py"]

log = logging.getLogger(__name__)

DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
_FAILURE = "Something went wrong on paperwire's side; try again in a minute."
_ANSWERED = "paperwire_answered"  # in Interaction.extras once the reply went out
_SHARDING_REQUIRED = 4011  # the gateway's close code for a bot in too many servers to be unsharded

# Report a platform problem (reason, refused?) or its recovery (None).
PlatformReport = Callable[[str | None, bool], Awaitable[None]]


class _NoVoiceNotice(logging.Filter):
    """discord.py warns at every start that voice libraries are missing; paperwire has no
    voice, so that warning is noise in an admin's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


def point_discord_py(api_url: str, gateway_url: str) -> None:
    """Move discord.py's REST base and gateway (process-wide: one bot per process)."""
    Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


# --- the commands, from the command set ---------------------------------------------------


def _annotation(option: Option) -> Any:
    if option.choices:
        return Literal[option.choices]
    if option.type is OptionType.INTEGER:
        low = option.min_value if option.min_value is not None else -(2**53)
        high = option.max_value if option.max_value is not None else 2**53
        return app_commands.Range[int, low, high]
    if option.type is OptionType.BOOLEAN:
        return bool
    if option.max_length is not None:
        return app_commands.Range[str, 1, option.max_length]
    return str


Handler = Callable[[discord.Interaction, str, dict[str, Any]], Awaitable[None]]


def _command(spec: CommandSpec, handler: Handler) -> app_commands.Command[Any, ..., None]:
    """An app command whose parameters are the spec's options (a synthesized signature)."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await handler(interaction, "" if spec is LOOKUP_SPEC else spec.name, values)

    params = [
        inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        *(
            inspect.Parameter(
                option.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=_annotation(option),
                default=inspect.Parameter.empty if option.required else None,
            )
            for option in sorted(spec.options, key=lambda o: not o.required)
        ),
    ]
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]  # read by discord.py
    callback.__qualname__ = callback.__name__ = f"paperwire_{spec.name}"
    callback.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        o.name: o.description for o in spec.options
    }
    return app_commands.Command(name=spec.name, description=spec.description, callback=callback)


def build_tree(
    client: discord.Client,
    handler: Handler,
    autocomplete: Callable[[discord.Interaction, str], Awaitable[list[tuple[str, str]]]],
) -> app_commands.CommandTree[discord.Client]:
    """``/paper`` and the ``/papers`` group (Manage Channels by default; servers only)."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    tree.add_command(_command(LOOKUP_SPEC, handler))
    group = app_commands.Group(
        name=GROUP,
        description=GROUP_DESCRIPTION,
        default_permissions=discord.Permissions(manage_channels=True),
        guild_only=True,
    )
    for spec in COMMANDS:
        command = _command(spec, handler)
        for option in spec.options:
            if option.autocomplete:

                async def complete(
                    interaction: discord.Interaction, current: str
                ) -> list[app_commands.Choice[str]]:
                    pairs = await autocomplete(interaction, current)
                    return [app_commands.Choice(name=n, value=v) for n, v in pairs]

                command.autocomplete(option.name)(complete)
        group.add_command(command)
    tree.add_command(group)
    return tree


# --- the client ---------------------------------------------------------------------------


class _Client(discord.Client):
    def __init__(self, gateway: DiscordGateway, **shards: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # GUILD_CREATE / GUILD_DELETE; no privileged intent
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=1.0,
            **shards,
        )
        self._gateway = gateway
        self.tree = build_tree(self, gateway.handle, gateway.complete)
        self.tree.on_error = gateway.on_tree_error  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        guild_id = self._gateway.guild_id
        if not self._gateway.registers_commands:
            log.info("Discord: commands are registered by the process that runs shard 0")
        elif guild_id is not None:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Discord: %d commands registered to server %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("Discord: %d commands registered globally", len(synced))

    async def on_ready(self) -> None:
        log.info(
            "Discord: connected as %s in %d servers%s",
            self.user,
            len(self.guilds),
            self._gateway.shards_text,
        )
        await self._gateway.report(None, False)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        # Quiet: nothing is posted; the first person to use a command gets the hint.
        log.info("Discord: added to server %s", guild.id)
        await self._gateway.chat.added(Platform.DISCORD, channels=_channel_ids(guild))

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        log.info("Discord: removed from server %s", guild.id)
        await self._gateway.chat.removed(Platform.DISCORD, channels=_channel_ids(guild))


class _ShardedClient(_Client, discord.AutoShardedClient):
    """The same bot on several shards (PAPERWIRE_DISCORD_SHARD_COUNT): all of them in this
    process, or the ones PAPERWIRE_DISCORD_SHARD_IDS names; Discord sends each server's events,
    commands included, on its shard only."""


def _channel_ids(guild: discord.Guild) -> list[str]:
    ids = [str(c.id) for c in guild.channels]
    ids.extend(str(t.id) for t in guild.threads)
    return ids


class DiscordGateway:
    """The Discord side of ``paperwire run``: start, stop, and what each command does here."""

    def __init__(
        self,
        token: SecretStr,
        chat: ChatService,
        *,
        api_url: str,
        gateway_url: str = DEFAULT_GATEWAY_URL,
        guild_id: int | None = None,
        report: PlatformReport | None = None,
        on_lookup: Callable[[Platform, float], None] | None = None,
        shard_count: int | None = None,
        shard_ids: tuple[int, ...] | None = None,
    ) -> None:
        """``shard_count``/``shard_ids``: connect as those shards (None: one unsharded
        connection); only the process with shard 0 registers the commands."""
        if shard_ids is not None and shard_count is None:
            raise ValueError("shard_ids need a shard_count")
        self.shard_count = shard_count
        self.shard_ids = shard_ids
        self._token = token
        self.chat = chat
        self._api_url = api_url
        self._gateway_url = gateway_url
        self.guild_id = guild_id
        self._report = report
        self._on_lookup = on_lookup
        self._client: _Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.ready = asyncio.Event()

    def __repr__(self) -> str:
        return f"DiscordGateway(api_url={self._api_url!r}, gateway_url={self._gateway_url!r})"

    @property
    def client(self) -> discord.Client | None:
        return self._client

    @property
    def registers_commands(self) -> bool:
        """Whether this process registers the commands: unsharded, or it runs shard 0 (the
        commands belong to the application, once, not to each shard)."""
        return self.shard_ids is None or 0 in self.shard_ids

    @property
    def shards_text(self) -> str:
        if self.shard_count is None:
            return ""
        ids = self.shard_ids if self.shard_ids is not None else range(self.shard_count)
        return f" (shards {','.join(map(str, ids))} of {self.shard_count})"

    def _new_client(self) -> _Client:
        if self.shard_count is None:
            return _Client(self)
        ids = list(self.shard_ids) if self.shard_ids is not None else None
        return _ShardedClient(self, shard_count=self.shard_count, shard_ids=ids)

    async def report(self, problem: str | None, refused: bool) -> None:
        if problem is None:
            self.ready.set()
        if self._report is not None:
            await self._report(problem, refused)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        point_discord_py(self._api_url, self._gateway_url)
        voice = logging.getLogger("discord.client")
        if not any(isinstance(f, _NoVoiceNotice) for f in voice.filters):
            voice.addFilter(_NoVoiceNotice())
        self._stopping.clear()
        self._task = asyncio.create_task(self._supervise(), name="discord-gateway")

    async def stop(self) -> None:
        self._stopping.set()
        client = self._client
        if client is not None:
            await client.close()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _supervise(self) -> None:
        """Run the client; on failure report it and try again, never ending the process."""
        failures = 0
        while not self._stopping.is_set():
            client = self._client = self._new_client()
            refused = False
            try:
                await client.start(self._token.get_secret_value(), reconnect=True)
                problem = "the Discord connection closed"
            except discord.LoginFailure:
                refused, problem = True, LOGIN_REFUSED
            except discord.PrivilegedIntentsRequired:
                refused = True
                problem = "Discord refused the intents paperwire asked for (a privileged one)"
            except discord.ConnectionClosed as exc:
                if exc.code == _SHARDING_REQUIRED:
                    refused = True
                    problem = (
                        "Discord requires shards for this bot (over 2,500 servers): set "
                        "PAPERWIRE_DISCORD_SHARD_COUNT (see the README, Discord past 2,500 "
                        "servers)"
                    )
                else:
                    problem = f"cannot connect to Discord (closed with code {exc.code})"
            except (
                OSError,
                aiohttp.ClientError,
                discord.HTTPException,
                discord.GatewayNotFound,
                TimeoutError,
            ) as exc:
                problem = f"cannot connect to Discord ({type(exc).__name__})"
            finally:
                self.ready.clear()
                with contextlib.suppress(Exception):
                    await client.close()
            if self._stopping.is_set():
                return
            failures += 1
            log.warning("Discord: %s", problem)
            await self.report(problem, refused)
            wait = 900.0 if refused else min(300.0, 2.0**failures) * (0.5 + random.random())  # noqa: S311 - jitter
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)

    # --- commands -----------------------------------------------------------------------

    def request(
        self, interaction: discord.Interaction, subcommand: str, values: dict[str, Any]
    ) -> ChatRequest:
        """The interaction as the neutral request ChatService takes."""
        permissions = interaction.permissions  # resolved in this channel, sent by Discord
        user = interaction.user
        return ChatRequest(
            platform=Platform.DISCORD,
            workspace=str(interaction.guild_id or ""),
            channel=str(interaction.channel_id or ""),
            user=str(user.id),
            user_name=getattr(user, "display_name", "") or user.name,
            may_manage=interaction.guild_id is not None and permissions.manage_channels,
            command=GROUP if subcommand else LOOKUP,
            subcommand=subcommand,
            args={k: v for k, v in values.items() if v is not None},
        )

    async def handle(
        self, interaction: discord.Interaction, subcommand: str, values: dict[str, Any]
    ) -> None:
        started = time.perf_counter()
        request = self.request(interaction, subcommand, values)
        deferred: list[bool] = []  # the ephemerality of the deferral, once made

        async def defer(ephemeral: bool) -> None:
            if not interaction.response.is_done():
                await interaction.response.defer(ephemeral=ephemeral, thinking=True)
                deferred.append(ephemeral)

        reply = await self.chat.handle(request, defer)
        await send_reply(interaction, reply, deferred[0] if deferred else None)
        interaction.extras[_ANSWERED] = True
        if self._on_lookup is not None and not subcommand:
            self._on_lookup(Platform.DISCORD, time.perf_counter() - started)

    async def complete(
        self, interaction: discord.Interaction, current: str
    ) -> list[tuple[str, str]]:
        request = self.request(
            interaction, interaction.command.name if interaction.command else "", {}
        )
        return await self.chat.autocomplete(request, current)

    async def on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """One line in the log, a short private answer for the person; never a traceback."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        log.error("Discord /%s failed: %s: %s", _name(interaction), type(cause).__name__, cause)
        log.debug("Discord command failure", exc_info=cause)
        with contextlib.suppress(discord.HTTPException, discord.InteractionResponded):
            if interaction.response.is_done():
                if not interaction.extras.get(_ANSWERED):
                    # A deferral's "thinking…" is still up, public if the deferral was, and
                    # the first follow-up would take its place (and its visibility): remove
                    # it, so the failure is said to the asker only.
                    with contextlib.suppress(discord.HTTPException):
                        await interaction.delete_original_response()
                await interaction.followup.send(_FAILURE, ephemeral=True)
            else:
                await interaction.response.send_message(_FAILURE, ephemeral=True)


def _name(interaction: discord.Interaction) -> str:
    command = interaction.command
    return command.qualified_name if command is not None else "?"


async def send_reply(interaction: discord.Interaction, reply: Reply, deferred: bool | None) -> None:
    """Answer the interaction with ``reply``: the response itself, or the deferred message
    edited; a private reply after a public deferral replaces it with a private follow-up."""
    kwargs = _message_kwargs(render_reply(reply))
    if deferred is None:
        await interaction.response.send_message(**kwargs, ephemeral=reply.ephemeral)
    elif deferred == reply.ephemeral:
        await interaction.edit_original_response(**kwargs)
    else:
        # The "thinking…" message is public but the answer is for the asker only (an error
        # found after deferring): remove it and answer privately.
        await interaction.delete_original_response()
        await interaction.followup.send(**kwargs, ephemeral=reply.ephemeral)
    if reply.note:
        note = render_reply(Reply(lines=reply.note, ephemeral=True))
        await interaction.followup.send(**_message_kwargs(note), ephemeral=True)


def _message_kwargs(payload: dict[str, Any]) -> dict[str, Any]:
    """discord.py's keyword arguments for a rendered payload (embeds, link buttons)."""
    kwargs: dict[str, Any] = {
        "content": payload.get("content") or None,
        "embeds": [discord.Embed.from_dict(e) for e in payload.get("embeds", [])],
        "allowed_mentions": discord.AllowedMentions.none(),
    }
    buttons = [c for row in payload.get("components", []) for c in row.get("components", [])]
    if buttons:
        view = discord.ui.View(timeout=None)
        for row, button in enumerate(buttons):
            view.add_item(
                discord.ui.Button(
                    style=discord.ButtonStyle.link,
                    label=button.get("label"),
                    url=button["url"],
                    row=min(4, row // 5),
                )
            )
        kwargs["view"] = view
    return kwargs
