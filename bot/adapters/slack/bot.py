"""paperwire as a Slack app: ``/paper`` and ``/papers ...``, link unfurls, the App Home tab.

Thin on purpose: each listener turns Slack's payload into a ``ChatRequest`` (``parse_slack``
reads the free text), calls the ``ChatService`` and renders its ``Reply`` as Block Kit.

Three modes (DESIGN.md section 8):

- Socket Mode (SLACK_APP_TOKEN + SLACK_BOT_TOKEN): paperwire connects out to Slack; nothing
  is exposed to the internet. The quickest way for one workspace.
- HTTP, one workspace (SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET): Slack calls ``/slack/events``
  on paperwire's web server; every request's signature is checked (Bolt: 401 otherwise).
- HTTP with OAuth (SLACK_CLIENT_ID + SLACK_CLIENT_SECRET + SLACK_SIGNING_SECRET): any
  workspace installs paperwire at ``/slack/install``; installations (their tokens) live in
  paperwire's database through slack_sdk's SQLAlchemy installation store.

Deadlines: a command is acknowledged within Slack's 3 seconds, with the answer itself when it
is ready at once (a stored paper), else empty, the answer following through ``respond``. A
request Slack sends again (``X-Slack-Retry-Num``, or a Socket Mode redelivery) is recognised
by its event or trigger id and not handled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.slack.manifest import EVENTS_PATH, INSTALL_PATH, OAUTH_REDIRECT_PATH
from bot.adapters.slack.publisher import DEFAULT_API_URL
from bot.adapters.slack.render import render_slack
from bot.adapters.slack.reply import render_home, render_reply
from bot.core.chat import (
    GROUP,
    LOOKUP,
    ChatRequest,
    Reply,
    SlackParseError,
    parse_slack,
    plain,
)
from bot.core.models import Platform
from bot.services.chat import ChatService

__all__ = ["BOT_SCOPES", "SlackApp", "SlackMode"]

log = logging.getLogger(__name__)

# What the app asks a workspace for (deploy/slack-manifest.yml says why, scope by scope).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "links:read",
    "links:write",
    "users:read",
    "channels:read",
    "groups:read",
    "usergroups:read",
    "channels:history",
    "groups:history",
    "reactions:read",
)
_FAILURE = "Something went wrong on paperwire's side; try again in a minute."
_SEEN_FOR = 600.0  # seconds a request id is remembered (Slack retries within minutes)
_RIGHTS_FOR = 300.0  # seconds who-may-manage answers are reused


@dataclass(frozen=True, slots=True)
class SlackMode:
    """How the app talks to Slack, from the settings (see the module docstring)."""

    api_url: str = DEFAULT_API_URL
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    manager_group: str | None = None

    @property
    def socket(self) -> bool:
        return self.app_token is not None

    @property
    def oauth(self) -> bool:
        return self.client_id is not None and self.client_secret is not None

    @property
    def http(self) -> bool:
        return not self.socket


class _Seen:
    """Ids of requests already handled, for a while (retries are not handled twice)."""

    def __init__(self) -> None:
        self._ids: OrderedDict[str, float] = OrderedDict()

    def first(self, key: str) -> bool:
        now = time.monotonic()
        while self._ids and next(iter(self._ids.values())) < now - _SEEN_FOR:
            self._ids.popitem(last=False)
        if key in self._ids:
            return False
        self._ids[key] = now
        return True


Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


class SlackApp:
    """The Bolt app and its lifecycle: ``start``/``stop``; HTTP modes give ``routes``."""

    def __init__(
        self,
        mode: SlackMode,
        chat: ChatService,
        engine: AsyncEngine,
        installations: AsyncSQLAlchemyInstallationStore | None = None,
        *,
        on_lookup: Callable[[Platform, float], None] | None = None,
    ) -> None:
        self._mode = mode
        self._chat = chat
        self._on_lookup = on_lookup
        self._seen = _Seen()
        self._rights: dict[tuple[str, str, str], tuple[float, bool]] = {}
        self._socket: Any = None
        self._connecting: asyncio.Task[None] | None = None
        client = AsyncWebClient(
            token=mode.bot_token.get_secret_value() if mode.bot_token else None,
            base_url=mode.api_url if mode.api_url.endswith("/") else mode.api_url + "/",
        )
        self.installations: AsyncSQLAlchemyInstallationStore | None = None
        options: dict[str, Any] = {"client": client, "logger": logging.getLogger("slack_bolt")}
        if mode.oauth:
            assert mode.client_id is not None
            assert mode.client_secret is not None
            self.installations = installations or AsyncSQLAlchemyInstallationStore(
                mode.client_id, engine
            )
            options["oauth_settings"] = AsyncOAuthSettings(
                client_id=mode.client_id,
                client_secret=mode.client_secret.get_secret_value(),
                scopes=list(BOT_SCOPES),
                installation_store=self.installations,
                state_store=AsyncSQLAlchemyOAuthStateStore(600, engine),
                authorization_url=urljoin(options["client"].base_url, "../oauth/v2/authorize"),
                callback_options=AsyncCallbackOptions(
                    success=self._installed, failure=self._install_failed
                ),
            )
        if mode.socket:
            options["request_verification_enabled"] = False
            options["signing_secret"] = ""
        else:
            secret = mode.signing_secret
            options["signing_secret"] = secret.get_secret_value() if secret else None
        self.app = AsyncApp(**options)
        self._register()

    def __repr__(self) -> str:
        kind = "socket" if self._mode.socket else "oauth" if self._mode.oauth else "http"
        return f"SlackApp(mode={kind}, api_url={self._mode.api_url!r})"

    # --- lifecycle ----------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """The web endpoints of the HTTP modes (on paperwire's own web server)."""
        if not self._mode.http:
            return []
        routes: list[Route] = [("POST", EVENTS_PATH, self._events)]
        if self._mode.oauth:
            routes.append(("GET", INSTALL_PATH, self._install))
            routes.append(("GET", OAUTH_REDIRECT_PATH, self._oauth_redirect))
        return routes

    async def start(self) -> None:
        if self._mode.bot_token is not None:
            await self._resume_own_workspace()
        if self._mode.socket:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert self._mode.app_token is not None
            self._socket = AsyncSocketModeHandler(self.app, self._mode.app_token.get_secret_value())
            # In the background: slack_sdk retries a Slack it cannot reach (or a refused app
            # token) for as long as it takes, and the rest of paperwire must not wait for it.
            self._connecting = asyncio.create_task(
                self._connect_socket(self._socket), name="slack-socket-mode"
            )

    async def _connect_socket(self, handler: Any) -> None:
        try:
            await handler.connect_async()
        except Exception as exc:  # one line; Slack commands wait for the next start
            log.error("Slack: cannot connect in Socket Mode: %s", exc)
            return
        log.info("Slack: connected in Socket Mode")

    async def stop(self) -> None:
        connecting, self._connecting = self._connecting, None
        if connecting is not None and not connecting.done():
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None

    async def _resume_own_workspace(self) -> None:
        """With one workspace's token: if it works, that workspace's channels paused because
        paperwire lost its access resume (it was reinstalled, and the token replaced)."""
        try:
            auth = await self.app.client.auth_test()
        except (TimeoutError, SlackApiError, OSError) as exc:
            log.warning("Slack: the bot token does not work yet: %s", _short(exc))
            return
        team = str(auth.get("team_id") or "")
        if team and await self._chat.added(Platform.SLACK, workspace=team):
            log.info("Slack: workspace %s is back; its channels resume", team)

    # --- HTTP endpoints -------------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def _install(self, request: web.Request) -> web.StreamResponse:
        flow = self.app.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def _oauth_redirect(self, request: web.Request) -> web.StreamResponse:
        flow = self.app.oauth_flow
        assert flow is not None
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    async def _install_failed(self, args: AsyncFailureArgs) -> BoltResponse:
        log.warning("Slack: an installation failed: %s", args.reason)
        return await args.default.failure(args)

    async def _installed(self, args: AsyncSuccessArgs) -> BoltResponse:
        team = args.installation.team_id or args.installation.enterprise_id or ""
        resumed = await self._chat.added(Platform.SLACK, workspace=team)
        log.info("Slack: installed in workspace %s (%d channels resume)", team, resumed)
        return await args.default.success(args)

    # --- listeners ------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.middleware(self._once)
        app.command(f"/{LOOKUP}")(self._paper)
        app.command(f"/{GROUP}")(self._papers)
        app.event("link_shared")(self._unfurl)
        app.event("app_home_opened")(self._home)
        app.event("app_uninstalled")(self._removed)
        app.event("tokens_revoked")(self._removed)
        app.error(self._error)

    async def _once(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        key = body.get("event_id") or body.get("trigger_id")
        if key and not self._seen.first(str(key)):
            log.info("Slack: %s was already handled (a retry); not again", key)
            return BoltResponse(status=200, body="")
        return await next()

    async def _paper(
        self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        started = time.perf_counter()
        await self._command(LOOKUP, ack, body, respond, client)
        if self._on_lookup is not None:
            self._on_lookup(Platform.SLACK, time.perf_counter() - started)

    async def _papers(
        self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await self._command(GROUP, ack, body, respond, client)

    async def _command(
        self, command: str, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        acked = False

        async def defer(ephemeral: bool) -> None:
            nonlocal acked
            if not acked:
                acked = True
                await ack()

        try:
            try:
                subcommand, args = parse_slack(command, str(body.get("text") or ""))
            except SlackParseError as exc:
                await ack(**_args(render_reply(_error(str(exc)))))
                return
            may_manage = False
            if command == GROUP:
                await defer(True)  # who may manage takes a Slack call or two
                may_manage = await self._may_manage(client, body)
            request = ChatRequest(
                platform=Platform.SLACK,
                workspace=str(body.get("team_id") or ""),
                channel=str(body.get("channel_id") or ""),
                user=str(body.get("user_id") or ""),
                user_name=str(body.get("user_name") or ""),
                may_manage=may_manage,
                command=command,
                subcommand=subcommand,
                args=args,
            )
            reply = await self._chat.handle(request, defer)
            message = _args(render_reply(reply))
            if acked:
                await respond(**message)
            else:
                acked = True
                await ack(**message)
            if reply.note:
                await respond(**_args(render_reply(Reply(lines=reply.note, ephemeral=True))))
        except Exception as exc:  # one log line; the person gets a short private answer
            log.error("Slack /%s failed: %s: %s", command, type(exc).__name__, exc)
            log.debug("Slack command failure", exc_info=True)
            failure = _args(render_reply(_error(_FAILURE)))
            if acked:
                await respond(**failure)
            else:
                await ack(**failure)

    async def _may_manage(self, client: AsyncWebClient, body: Mapping[str, Any]) -> bool:
        """Workspace admins and owners, the channel's creator, or members of the manager
        group (a few minutes' memory, so a burst of commands costs one look)."""
        team, user = str(body.get("team_id") or ""), str(body.get("user_id") or "")
        channel = str(body.get("channel_id") or "")
        key = (team, user, channel)
        cached = self._rights.get(key)
        if cached is not None and time.monotonic() - cached[0] < _RIGHTS_FOR:
            return cached[1]
        allowed = await self._look_up_rights(client, user, channel)
        self._rights[key] = (time.monotonic(), allowed)
        return allowed

    async def _look_up_rights(self, client: AsyncWebClient, user: str, channel: str) -> bool:
        try:
            info = (await client.users_info(user=user)).get("user") or {}
            if info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"):
                return True
            conversation = (await client.conversations_info(channel=channel)).get("channel")
            if (conversation or {}).get("creator") == user:
                return True
            group = self._mode.manager_group
            if group:
                groups = (await client.usergroups_list()).get("usergroups") or []
                found = next((g for g in groups if g.get("handle") == group.lstrip("@")), None)
                if found is not None:
                    members = await client.usergroups_users_list(usergroup=found["id"])
                    return user in (members.get("users") or [])
        except SlackApiError as exc:
            log.warning("Slack: cannot tell who manages %s: %s", channel, _short(exc))
        return False

    async def _unfurl(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        unfurls: dict[str, Any] = {}
        for item in event.get("links") or []:
            url = str(item.get("url") or "")
            card = await self._chat.card_for_link(url)
            if card is not None:
                unfurls[url] = {"blocks": render_slack(card)["blocks"]}
        if not unfurls:
            return  # a link to a paper arXiv does not have: show nothing, say nothing
        target: dict[str, Any]
        if event.get("unfurl_id") and event.get("source"):
            target = {"unfurl_id": event["unfurl_id"], "source": event["source"]}
        else:
            target = {"channel": event.get("channel"), "ts": event.get("message_ts")}
        await client.chat_unfurl(unfurls=unfurls, **target)

    async def _home(
        self, event: dict[str, Any], client: AsyncWebClient, context: Mapping[str, Any]
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        reply = await self._chat.home(Platform.SLACK, str(context.get("team_id") or ""))
        await client.views_publish(user_id=event["user"], view=render_home(reply))

    async def _removed(self, event: dict[str, Any], context: Mapping[str, Any]) -> None:
        team = str(context.get("team_id") or "")
        if not team:
            return
        count = await self._chat.removed(Platform.SLACK, workspace=team)
        log.warning(
            "Slack: paperwire was removed from workspace %s; %d channels paused", team, count
        )
        if self.installations is not None:
            await self.installations.async_delete_all(enterprise_id=None, team_id=team)

    async def _error(self, error: Exception, body: Any) -> None:
        log.error("Slack request failed: %s: %s", type(error).__name__, error)
        log.debug("Slack request failure", exc_info=error)


def _error(text: str) -> Reply:
    return Reply(lines=((plain(text),),), ephemeral=True, error=True)


def _args(message: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments for ``ack``/``respond`` from a rendered message (a fresh dict: the render is
    cached and shared)."""
    return {
        "text": message["text"],
        "blocks": list(message["blocks"]),
        "response_type": message["response_type"],
    }


def _short(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        data = getattr(exc.response, "data", None)
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
    return type(exc).__name__
