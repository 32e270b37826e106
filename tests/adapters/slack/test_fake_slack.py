"""The fake Slack speaks Slack as slack_sdk and slack_bolt expect: a real Bolt ``AsyncApp``,
served on 127.0.0.1 or connected over Socket Mode, answers the signed commands and events
the fake sends, and its Web API calls, respond() posts and OAuth install land in the fake,
under Slack's rules."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack import (
    APP_TOKEN,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL,
    DEFAULT_TEAM,
    DEFAULT_TOKEN,
    DEFAULT_USER,
    FakeSlack,
    Fault,
    Tamper,
    sign,
    validate_message,
    validate_view,
)
from tests.golden.papers import GOLDEN, Golden
from tests.paths import FIXTURES

ARXIV_URL = "https://arxiv.org/abs/2403.13043"
OTHER_CHANNEL = "C0987654321"
SECOND_TEAM = "T0SECOND02"
# slack_sdk's oauth_v2_access builds aiohttp.BasicAuth, deprecated since aiohttp 3.14: a
# warning in production, an error under this project's pytest settings.
BASIC_AUTH_DEPRECATED = pytest.mark.filterwarnings(
    "ignore:BasicAuth is deprecated:DeprecationWarning"
)


class Seen:
    """What the test app's listeners saw."""

    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []
        self.gone: asyncio.Queue[str] = asyncio.Queue()  # tokens_revoked, app_uninstalled
        self.retries: asyncio.Queue[Sequence[str] | None] = asyncio.Queue()


def make_app(fake: FakeSlack, **kwargs: Any) -> tuple[AsyncApp, Seen]:
    """A tiny Bolt app: /paper acks then responds; unfurls arXiv links; publishes a Home tab."""
    if "oauth_settings" not in kwargs:
        kwargs["client"] = AsyncWebClient(token=fake.token, base_url=fake.api_url)
    app = AsyncApp(signing_secret=fake.signing_secret, **kwargs)
    seen = Seen()

    @app.command("/paper")
    async def paper(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        seen.commands.append(command)
        await ack(f"Looking up {command['text']}...")
        await respond(text=f"paper {command['text']}", response_type="ephemeral")

    @app.command("/shout")
    async def shout(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack()
        await respond(text=command["text"], response_type="in_channel")

    @app.event("link_shared")
    async def unfurl(event: dict[str, Any], client: AsyncWebClient) -> None:
        unfurls = {
            link["url"]: {"blocks": [{"type": "section", "text": _mrkdwn(link["url"])}]}
            for link in event["links"]
        }
        await client.chat_unfurl(channel=event["channel"], ts=event["message_ts"], unfurls=unfurls)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": "paperwire"}}]
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks})

    @app.event("app_mention")
    async def mention(request: AsyncBoltRequest) -> None:
        await seen.retries.put(request.headers.get("x-slack-retry-num"))

    @app.event("tokens_revoked")
    @app.event("app_uninstalled")
    async def gone(event: dict[str, Any]) -> None:
        await seen.gone.put(event["type"])

    @app.action("more")
    async def more(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"more: {body['actions'][0]['value']}", replace_original=False)

    return app, seen


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


@asynccontextmanager
async def serve(app: AsyncApp) -> AsyncIterator[str]:
    """The app's aiohttp server (Bolt's own ``web_app``) on 127.0.0.1; yields its base URL."""
    runner = web.AppRunner(app.web_app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def served(fake: FakeSlack) -> AsyncIterator[tuple[str, Seen]]:
    app, seen = make_app(fake)
    async with serve(app) as url:
        yield url, seen


@pytest.fixture
async def client(fake: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    web_client = AsyncWebClient(token=fake.token, base_url=fake.api_url)
    yield web_client
    if web_client.session is not None:
        await web_client.session.close()


async def _error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


# --- signing --------------------------------------------------------------------------------


def test_the_signature_is_slacks_documented_one() -> None:
    vector = json.loads((FIXTURES / "slack" / "slack_docs_signed_slash_command.json").read_text())
    headers = vector["headers"]
    body = vector["body"].encode()

    signature = sign(vector["signing_secret"], headers["X-Slack-Request-Timestamp"], body)

    assert signature == headers["X-Slack-Signature"]


async def test_a_signed_command_is_acked_and_respond_reaches_the_response_url(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, seen = served

    record = await fake.send_command(url, "/paper", "2403.13043")

    assert record.status == 200
    assert record.ack == "Looking up 2403.13043..."  # Bolt acks a bare text as text/plain
    assert record.latency is not None
    assert record.latency > 0
    [answer] = await record.responses(1)
    assert answer == {"text": "paper 2403.13043", "response_type": "ephemeral"}
    [command] = seen.commands
    assert command["response_url"].startswith(f"http://127.0.0.1:{fake.port}/commands/")
    assert command["team_id"] == DEFAULT_TEAM
    assert command["user_id"] == DEFAULT_USER
    assert command["channel_id"] == DEFAULT_CHANNEL
    assert command["trigger_id"]
    assert [r.method for r in fake.requests] == ["auth.test"]  # Bolt's single-team authorize
    sent = record.sent_headers
    assert SignatureVerifier(fake.signing_secret).is_valid(
        body=urlencode(record.payload),
        timestamp=sent["X-Slack-Request-Timestamp"],
        signature=sent["X-Slack-Signature"],
    )


@pytest.mark.parametrize("tamper", list(Tamper))
async def test_a_request_slack_would_never_send_gets_401(
    fake: FakeSlack, served: tuple[str, Seen], tamper: Tamper
) -> None:
    url, seen = served

    command = await fake.send_command(url, "/paper", "2403.13043", tamper=tamper)
    event = await fake.send_event(url, fake.app_mention_event("hi"), tamper=tamper)
    action = await fake.send_block_action(url, "more", value="x", tamper=tamper)

    assert [command.status, event.status, action.status] == [401, 401, 401]
    assert seen.commands == []
    assert seen.retries.empty()
    assert command.posts == []


async def test_url_verification_echoes_the_challenge(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, _ = served

    record = await fake.send_url_verification(
        url, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    )

    assert record.status == 200
    assert record.ack == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_a_retried_event_carries_x_slack_retry_num(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, seen = served
    event = fake.app_mention_event("<@U0FAKEBOT1> hello")

    first = await fake.send_event(url, event, event_id="Ev0RETRY001")
    again = await fake.send_event(url, event, event_id="Ev0RETRY001", retry_num=1)

    assert (first.status, again.status) == (200, 200)
    assert await asyncio.wait_for(seen.retries.get(), 10) is None
    assert await asyncio.wait_for(seen.retries.get(), 10) == ["1"]
    assert again.sent_headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert first.payload["event_id"] == again.payload["event_id"]


async def test_link_shared_gets_its_unfurl_recorded(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, _ = served
    event = fake.link_shared_event([ARXIV_URL], channel=OTHER_CHANNEL)

    record = await fake.send_event(url, event)
    await fake.wait_calls("chat.unfurl")

    assert record.status == 200
    [unfurl] = fake.unfurls()
    assert (unfurl.team, unfurl.channel, unfurl.ts) == (
        DEFAULT_TEAM,
        OTHER_CHANNEL,
        event["message_ts"],
    )
    assert list(unfurl.unfurls) == [ARXIV_URL]
    assert unfurl.unfurls[ARXIV_URL]["blocks"][0]["text"]["text"] == ARXIV_URL
    assert event["links"] == [{"domain": "arxiv.org", "url": ARXIV_URL}]
    [message] = fake.messages(OTHER_CHANNEL)  # the user's message that carried the link
    assert message["ts"] == event["message_ts"]


async def test_app_home_opened_gets_its_view_published(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, _ = served

    await fake.send_event(url, fake.app_home_opened_event("U0READER01"))
    await fake.wait_calls("views.publish")

    view = fake.home_view("U0READER01")
    assert view is not None
    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == "paperwire"
    assert fake.app_home_opened_event("U0READER01")["view"]["id"] == view["id"]


async def test_a_block_action_is_acked_and_responded_to(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, _ = served

    record = await fake.send_block_action(url, "more", value="2403.13043")

    assert record.status == 200
    [answer] = await record.responses(1)
    assert answer == {"text": "more: 2403.13043", "replace_original": False}


async def test_an_in_channel_response_shows_in_the_channel(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, _ = served

    record = await fake.send_command(url, "/shout", "hello all", channel_id=OTHER_CHANNEL)
    await record.responses(1)

    [message] = fake.messages(OTHER_CHANNEL)
    assert message["text"] == "hello all"
    assert message["bot_id"] == BOT_ID


async def test_each_workspace_sends_from_its_own_channel(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, seen = served
    second = fake.add_workspace(SECOND_TEAM, token="xoxb-second")
    await fake.send_command(url, "/paper", "x")  # from DEFAULT_CHANNEL, of DEFAULT_TEAM

    record = await fake.send_command(url, "/paper", "x", team_id=SECOND_TEAM)
    with pytest.raises(ValueError, match=f"belongs to workspace {DEFAULT_TEAM}"):
        await fake.send_command(url, "/paper", "x", team_id=SECOND_TEAM, channel_id=DEFAULT_CHANNEL)

    assert second.channel == "C0SECOND02" != DEFAULT_CHANNEL
    assert record.channel_id == second.channel
    assert [c["team_id"] for c in seen.commands] == [DEFAULT_TEAM, SECOND_TEAM]


async def test_an_uninstall_reaches_the_app_though_its_token_is_dead(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, seen = served

    revoked = await fake.send_event(url, fake.revoke_tokens())
    uninstalled = await fake.send_event(url, fake.uninstall())

    assert (revoked.status, uninstalled.status) == (200, 200)
    gone = [await asyncio.wait_for(seen.gone.get(), fake.wait_timeout) for _ in range(2)]
    assert sorted(gone) == ["app_uninstalled", "tokens_revoked"]
    assert revoked.event["tokens"] == {"oauth": [], "bot": [BOT_USER_ID]}
    assert uninstalled.event["type"] == "app_uninstalled"
    web_client = AsyncWebClient(token=fake.token, base_url=fake.api_url)
    assert await _error_of(web_client.auth_test()) == "account_inactive"


async def test_a_response_url_takes_five_posts_then_says_used_url(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, _ = served
    record = await fake.send_command(url, "/paper", "2403.13043")
    await record.responses(1)
    assert record.response_url is not None
    webhook = AsyncWebhookClient(record.response_url)

    answers = [(await webhook.send(text=f"update {i}")) for i in range(5)]

    assert [(a.status_code, a.body) for a in answers] == [(200, "ok")] * 4 + [(404, "used_url")]
    assert len(await record.responses(5)) == 5
    assert record.refused == [(404, "used_url")]


async def test_an_expired_response_url_says_expired_url(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, _ = served
    record = await fake.send_command(url, "/paper", "2403.13043")
    await record.responses(1)
    assert record.response_url is not None

    record.expire()
    answer = await AsyncWebhookClient(record.response_url).send(text="too late")

    assert (answer.status_code, answer.body) == (404, "expired_url")


async def test_a_response_over_slacks_limits_is_refused(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, _ = served
    record = await fake.send_command(url, "/paper", "2403.13043")
    await record.responses(1)
    assert record.response_url is not None
    blocks = [{"type": "divider"}] * 51

    answer = await AsyncWebhookClient(record.response_url).send(text="x", blocks=blocks)

    assert (answer.status_code, answer.body) == (400, "invalid_blocks")


async def test_many_concurrent_commands_each_get_their_own_answer(
    fake: FakeSlack, served: tuple[str, Seen]
) -> None:
    url, _ = served
    texts = [f"2403.{n:05d}" for n in range(60)]

    records = await asyncio.gather(*(fake.send_command(url, "/paper", t) for t in texts))

    assert [r.status for r in records] == [200] * len(texts)
    answers = await asyncio.gather(*(r.responses(1) for r in records))
    assert [a[0]["text"] for a in answers] == [f"paper {t}" for t in texts]


async def test_thread_mode_sends_a_command_from_another_thread() -> None:
    with FakeSlack.running_in_thread() as fake:
        app, _ = make_app(fake)
        async with serve(app) as url:
            record = await asyncio.to_thread(fake.call, fake.send_command, url, "/paper", "x")
            answers = await asyncio.to_thread(fake.call, record.responses, 1)

    assert record.status == 200
    assert answers == [{"text": "paper x", "response_type": "ephemeral"}]


# --- Socket Mode ----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "refresh_requested"])
async def test_a_socket_mode_app_acks_a_command_and_reconnects_after_a_disconnect(
    fake: FakeSlack, reason: str | None
) -> None:
    app, seen = make_app(fake)
    handler = AsyncSocketModeHandler(app, app_token=fake.app_token)
    try:
        # slack_sdk retries a failed connect forever: bound it, so a failure shows at once.
        await asyncio.wait_for(handler.connect_async(), fake.wait_timeout)
        first = await fake.wait_socket_connected()
        record = await fake.socket_command("/paper", "2403.13043")
        assert record.acked
        assert record.ack == {"text": "Looking up 2403.13043..."}
        assert record.envelope_id in [a.envelope_id for a in fake.socket.acks]
        assert await record.responses(1) == [
            {"text": "paper 2403.13043", "response_type": "ephemeral"}
        ]
        assert first.sent[0]["type"] == "hello"

        await fake.socket_disconnect(reason=reason)
        second = await fake.wait_socket_connected(2)
        again = await fake.socket_command("/paper", "2306.03845")

        assert second.id > first.id
        assert again.acked
        assert again.socket_ack is not None
        assert again.socket_ack.connection == second.id
        assert len(fake.calls("apps.connections.open")) >= 2
        assert fake.socket.refused_tickets == []
        assert [c["text"] for c in seen.commands] == ["2403.13043", "2306.03845"]
    finally:
        await handler.close_async()


async def test_a_socket_mode_event_retry_carries_the_retry_header(fake: FakeSlack) -> None:
    app, seen = make_app(fake)
    handler = AsyncSocketModeHandler(app, app_token=fake.app_token)
    try:
        # slack_sdk retries a failed connect forever: bound it, so a failure shows at once.
        await asyncio.wait_for(handler.connect_async(), fake.wait_timeout)
        record = await fake.socket_event(fake.app_mention_event("hi"), retry_num=2)

        assert record.acked
        assert record.ack is None  # a bare ack
        assert await asyncio.wait_for(seen.retries.get(), 10) == ["2"]
    finally:
        await handler.close_async()


async def test_socket_mode_refuses_a_used_or_unknown_ticket(fake: FakeSlack) -> None:
    web_client = AsyncWebClient(base_url=fake.api_url)
    opened = await web_client.apps_connections_open(app_token=fake.app_token)
    url = str(opened["url"])
    assert url.startswith(f"ws://127.0.0.1:{fake.port}/link/?ticket=")

    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json()
        for bad in (url, url.replace("ticket=", "ticket=0")):
            with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
                await session.ws_connect(bad)
            assert caught.value.status == 401

    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": fake.app_id}


# --- OAuth ----------------------------------------------------------------------------------


@BASIC_AUTH_DEPRECATED
async def test_an_oauth_install_adds_a_workspace_that_then_runs_a_command(
    fake: FakeSlack, tmp_path: Path
) -> None:
    store = FileInstallationStore(base_dir=str(tmp_path / "installs"), client_id=fake.client_id)
    settings = AsyncOAuthSettings(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        scopes=["commands", "chat:write", "links:read", "links:write"],
        installation_store=store,
        state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "st")),
        authorization_url=fake.authorize_url,
    )
    app, seen = make_app(
        fake, oauth_settings=settings, client=AsyncWebClient(base_url=fake.api_url)
    )
    async with (
        serve(app) as url,
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as browser,
    ):
        fake.redirect_uri = f"{url}/slack/oauth_redirect"
        async with browser.get(f"{url}/slack/install") as page:
            link = html.unescape(re.findall(r'href="([^"]+)"', await page.text())[-1])
            state_cookie = page.cookies["slack-app-oauth-state"].value
        assert link.startswith(fake.authorize_url)
        async with browser.get(link, allow_redirects=False) as consent:
            assert consent.status == 302
            redirect = consent.headers["Location"]
        cookie = {"Cookie": f"slack-app-oauth-state={state_cookie}"}
        async with browser.get(redirect, headers=cookie) as done:
            assert done.status == 200, await done.text()

        [grant] = fake.installs()
        installation = await store.async_find_installation(
            enterprise_id=None, team_id=grant.team_id
        )
        record = await fake.send_command(url, "/paper", "2403.13043", team_id=grant.team_id)
        answers = await record.responses(1)

    assert grant.exchanged
    assert grant.scopes == ("commands", "chat:write", "links:read", "links:write")
    assert installation is not None
    assert installation.bot_token == grant.bot_token
    assert installation.bot_user_id == fake.workspace(grant.team_id).bot_user_id
    assert installation.bot_id == fake.workspace(grant.team_id).bot_id
    assert installation.team_id != DEFAULT_TEAM
    assert record.status == 200
    assert answers == [{"text": "paper 2403.13043", "response_type": "ephemeral"}]
    assert seen.commands[0]["team_id"] == grant.team_id


@BASIC_AUTH_DEPRECATED
async def test_oauth_v2_access_checks_the_client_and_takes_a_code_once(fake: FakeSlack) -> None:
    fake.redirect_uri = "http://127.0.0.1:9/slack/oauth_redirect"
    link = f"{fake.authorize_url}?state=s1&client_id={fake.client_id}&scope=commands&user_scope="
    code = re.findall(r"code=([^&]+)", fake.authorize(link, team_id=SECOND_TEAM))[0]
    web_client = AsyncWebClient(base_url=fake.api_url)
    secret = fake.client_secret

    bad_secret = await _error_of(
        web_client.oauth_v2_access(client_id=fake.client_id, client_secret="nope", code=code)
    )
    bad_client = await _error_of(
        web_client.oauth_v2_access(client_id="999.999", client_secret=secret, code=code)
    )
    answer = await web_client.oauth_v2_access(
        client_id=fake.client_id, client_secret=secret, code=code
    )
    reused = await _error_of(
        web_client.oauth_v2_access(client_id=fake.client_id, client_secret=secret, code=code)
    )

    assert (bad_secret, bad_client, reused) == (
        "bad_client_secret",
        "invalid_client_id",
        "invalid_code",
    )
    assert answer["token_type"] == "bot"
    assert answer["team"]["id"] == SECOND_TEAM
    assert answer["access_token"].startswith("xoxb-")
    assert answer["scope"] == "commands"
    auth = await web_client.auth_test(token=answer["access_token"])
    assert auth["team_id"] == SECOND_TEAM
    assert fake.client_secret not in json.dumps([r.params for r in fake.requests])


def test_authorize_says_what_is_wrong_with_an_install_link(fake: FakeSlack) -> None:
    with pytest.raises(ValueError, match="client_id"):
        fake.authorize("state=s&client_id=0000.0000&scope=commands")
    with pytest.raises(ValueError, match="redirect_uri="):
        fake.authorize(f"state=s&client_id={fake.client_id}&scope=commands")

    denied = fake.authorize(
        {"state": "s9", "client_id": fake.client_id, "redirect_uri": "http://127.0.0.1:9/cb"},
        deny=True,
    )

    assert denied == "http://127.0.0.1:9/cb?error=access_denied&state=s9"


# --- the Web API ----------------------------------------------------------------------------


async def test_each_token_belongs_to_its_workspace(fake: FakeSlack) -> None:
    second = fake.add_workspace(SECOND_TEAM, name="Second", token="xoxb-second")
    web_client = AsyncWebClient(base_url=fake.api_url)

    first_auth = await web_client.auth_test(token=DEFAULT_TOKEN)
    second_auth = await web_client.auth_test(token="xoxb-second")

    assert (first_auth["team_id"], first_auth["user_id"]) == (DEFAULT_TEAM, BOT_USER_ID)
    assert first_auth["bot_id"] == BOT_ID
    assert (second_auth["team_id"], second_auth["team"]) == (SECOND_TEAM, "Second")
    assert second_auth["bot_id"] == second.bot_id != BOT_ID
    assert "chat:write" in first_auth.headers["x-oauth-scopes"]


async def test_a_bad_or_dead_token_gets_slacks_error(fake: FakeSlack) -> None:
    fake.add_workspace(SECOND_TEAM, token="xoxb-second")
    fake.add_workspace("T0THIRD003", token="xoxb-third")
    web_client = AsyncWebClient(base_url=fake.api_url)
    post: dict[str, Any] = {"channel": DEFAULT_CHANNEL, "text": "hi"}

    revoked_event = fake.revoke_tokens(SECOND_TEAM)
    uninstalled_event = fake.uninstall("T0THIRD003")
    errors = [
        await _error_of(web_client.chat_postMessage(token="xoxb-nobody", **post)),
        await _error_of(web_client.chat_postMessage(token="xoxb-second", **post)),
        await _error_of(web_client.chat_postMessage(token="xoxb-third", **post)),
        await _error_of(web_client.chat_postMessage(token=APP_TOKEN, **post)),
        await _error_of(web_client.apps_connections_open(app_token=DEFAULT_TOKEN)),
        await _error_of(web_client.chat_postMessage(token="", **post)),
    ]

    assert errors == [
        "invalid_auth",
        "token_revoked",
        "account_inactive",
        "not_allowed_token_type",
        "not_allowed_token_type",
        "not_authed",
    ]
    assert revoked_event["tokens"] == {
        "oauth": [],
        "bot": [fake.workspace(SECOND_TEAM).bot_user_id],
    }
    assert uninstalled_event["type"] == "app_uninstalled"
    assert fake.workspace("T0THIRD003").installed is False
    assert fake.workspace("T0THIRD003").bot_token is None
    assert await web_client.auth_test(token=DEFAULT_TOKEN)  # the others still work


async def test_users_info_tells_admins_owners_and_guests_apart(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.add_user("U0ADMIN001", name="ada", display_name="Ada L.", is_admin=True)
    fake.add_user("U0OWNER001", is_primary_owner=True)
    fake.add_user("U0GUEST001", is_ultra_restricted=True)

    admin = (await client.users_info(user="U0ADMIN001"))["user"]
    owner = (await client.users_info(user="U0OWNER001"))["user"]
    guest = (await client.users_info(user="U0GUEST001"))["user"]
    missing = await _error_of(client.users_info(user="U0NOBODY01"))

    assert (admin["is_admin"], admin["is_owner"], admin["profile"]["display_name"]) == (
        True,
        False,
        "Ada L.",
    )
    assert (owner["is_admin"], owner["is_owner"], owner["is_primary_owner"]) == (True, True, True)
    assert (guest["is_restricted"], guest["is_ultra_restricted"], guest["is_admin"]) == (
        True,
        True,
        False,
    )
    assert admin["team_id"] == DEFAULT_TEAM
    assert missing == "user_not_found"


async def test_conversations_info_shows_creator_privacy_archive_and_membership(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.add_channel("C0PAPERS01", name="papers", creator="U0ADMIN001")
    fake.add_channel("C0SECRET01", is_private=True, is_member=False)
    fake.add_channel("C0OLD00001", is_archived=True, is_member=False)
    fake.add_workspace(SECOND_TEAM)
    fake.add_channel("C0THEIRS01", team_id=SECOND_TEAM)

    papers = (await client.conversations_info(channel="C0PAPERS01"))["channel"]
    old = (await client.conversations_info(channel="C0OLD00001"))["channel"]
    hidden = [
        await _error_of(client.conversations_info(channel=c))
        for c in ("C0SECRET01", "C0THEIRS01", "C0NOWHERE1")
    ]

    assert (papers["name"], papers["creator"], papers["is_private"]) == (
        "papers",
        "U0ADMIN001",
        False,
    )
    assert (papers["is_member"], papers["is_archived"]) == (True, False)
    assert (old["is_archived"], old["is_member"]) == (True, False)
    assert hidden == ["channel_not_found"] * 3


async def test_usergroups_name_their_members(fake: FakeSlack, client: AsyncWebClient) -> None:
    group = fake.add_usergroup("paper-admins", ["U0ADMIN001", "U0OTHER001"])
    fake.add_usergroup("old-admins", ["U0OLD00001"], disabled=True)

    listed = (await client.usergroups_list(include_users=True))["usergroups"]
    members = (await client.usergroups_users_list(usergroup=group))["users"]
    missing = await _error_of(client.usergroups_users_list(usergroup="S0NOWHERE"))

    assert [(g["id"], g["handle"], g["users"]) for g in listed] == [
        (group, "paper-admins", ["U0ADMIN001", "U0OTHER001"])
    ]
    assert members == ["U0ADMIN001", "U0OTHER001"]
    assert missing == "no_such_subteam"


async def test_team_info_describes_the_tokens_workspace(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    team = (await client.team_info())["team"]

    assert (team["id"], team["name"]) == (DEFAULT_TEAM, "Fake workspace")
    assert await _error_of(client.team_info(team="T0ELSEWHER")) == "team_not_found"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _context(n: int) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn("x")] * n}


@pytest.mark.parametrize(
    ("text", "blocks", "error", "pointer"),
    [
        ("x", [{"type": "divider"}] * 51, "invalid_blocks", "/blocks"),
        ("x", [_section("x" * 3001)], "invalid_blocks", "/blocks/0/text/text"),
        ("x", [_header("x" * 151)], "invalid_blocks", "/blocks/0/text/text"),
        ("x", [{"type": "header", "text": _mrkdwn("x")}], "invalid_blocks", "/blocks/0/text/type"),
        ("x", [{"type": "divider"}, _context(11)], "invalid_blocks", "/blocks/1/elements"),
        ("x", [{"type": "banner"}], "invalid_blocks", "/blocks/0/type"),
        ("x", "[{not json", "invalid_blocks_format", "/blocks"),
        ("x" * 40_001, None, "msg_too_long", None),
    ],
)
async def test_a_message_over_slacks_limits_is_refused_with_slacks_error(
    client: AsyncWebClient, text: str, blocks: Any, error: str, pointer: str | None
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=DEFAULT_CHANNEL, text=text, blocks=blocks)

    answer = caught.value.response
    assert answer["error"] == error
    if pointer is not None:
        [message] = answer["response_metadata"]["messages"]
        assert message.startswith("[ERROR] ")
        assert message.endswith(f"[json-pointer:{pointer}]")


async def test_a_message_at_slacks_limits_is_taken(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [_header("h" * 150), _section("s" * 3000), _context(10)] + [{"type": "divider"}] * 47

    answer = await client.chat_postMessage(
        channel=DEFAULT_CHANNEL, text="t" * 40_000, blocks=blocks
    )

    assert answer["message"]["blocks"] == blocks
    assert fake.messages(DEFAULT_CHANNEL)[0]["ts"] == answer["ts"]


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda golden: golden.name)
def test_the_golden_cards_are_within_slacks_limits(golden: Golden) -> None:
    card = json.loads(golden.path("slack").read_text(encoding="utf-8"))

    assert validate_message(card["text"], card["blocks"]) is None


async def test_a_lost_or_archived_channel_refuses_posts(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.add_channel("C0OLD00001", is_archived=True)
    fake.add_channel("C0NOTIN001", is_member=False)
    fake.add_channel("C0SECRET01", is_private=True, is_member=False)

    errors = [
        await _error_of(client.chat_postMessage(channel=c, text="hi"))
        for c in ("C0OLD00001", "C0NOTIN001", "C0SECRET01")
    ]
    fake.update_channel("C0NOTIN001", is_member=True)

    assert errors == ["is_archived", "not_in_channel", "channel_not_found"]
    assert await client.chat_postMessage(channel="C0NOTIN001", text="hi")


async def test_post_ephemeral_and_update(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=DEFAULT_CHANNEL, text="v1")
    someone = fake.add_message(DEFAULT_CHANNEL, text="not the bot's")

    eph = await client.chat_postEphemeral(channel=DEFAULT_CHANNEL, user=DEFAULT_USER, text="psst")
    edited = await client.chat_update(channel=DEFAULT_CHANNEL, ts=posted["ts"], text="v2")
    errors = [
        await _error_of(client.chat_update(channel=DEFAULT_CHANNEL, ts=someone, text="x")),
        await _error_of(client.chat_update(channel=DEFAULT_CHANNEL, ts="1.000001", text="x")),
        await _error_of(
            client.chat_postEphemeral(channel=DEFAULT_CHANNEL, user="U0NOBODY01", text="x")
        ),
    ]

    [shown] = fake.ephemerals(DEFAULT_CHANNEL)
    assert (shown["user"], shown["text"], shown["message_ts"]) == (
        DEFAULT_USER,
        "psst",
        eph["message_ts"],
    )
    assert edited["message"]["text"] == "v2"
    assert [m["text"] for m in fake.messages(DEFAULT_CHANNEL)] == ["v2", "not the bot's"]
    assert errors == ["cant_update_message", "message_not_found", "user_not_in_channel"]


async def test_chat_unfurl_takes_only_links_slack_announced(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    event = fake.link_shared_event([ARXIV_URL])
    where = {"channel": event["channel"], "ts": event["message_ts"]}
    card = {ARXIV_URL: {"blocks": [_section("the card")]}}

    errors = [
        await _error_of(
            client.chat_unfurl(unfurls={"https://example.com/x": card[ARXIV_URL]}, **where)
        ),
        await _error_of(client.chat_unfurl(channel=event["channel"], ts="1.000001", unfurls=card)),
        await _error_of(
            client.chat_unfurl(unfurls={ARXIV_URL: {"blocks": [_section("")]}}, **where)
        ),
        await _error_of(client.chat_unfurl(unfurls={ARXIV_URL: "x"}, **where)),  # type: ignore[dict-item]  # an attachment must be an object
    ]
    by_id = await client.chat_unfurl(
        unfurl_id=event["unfurl_id"], source="conversations_history", unfurls=card
    )

    assert errors == [
        "cannot_unfurl_url",
        "cannot_find_message",
        "invalid_blocks",
        "invalid_unfurls_format",
    ]
    assert by_id["ok"]
    [unfurl] = fake.unfurls()
    assert (unfurl.unfurl_id, unfurl.unfurls) == (event["unfurl_id"], card)


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ({"type": "modal", "blocks": []}, "must be one of [home] [json-pointer:/view/type]"),
        (
            {"type": "home", "blocks": [{"type": "divider"}] * 101},
            "must be less than 101 items [json-pointer:/view/blocks]",
        ),
        (
            {"type": "home", "blocks": [_section("x" * 3001)]},
            "must be less than 3001 characters [json-pointer:/view/blocks/0/text/text]",
        ),
    ],
)
async def test_views_publish_holds_the_home_tab_to_slacks_rules(
    fake: FakeSlack, client: AsyncWebClient, view: dict[str, Any], message: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client.views_publish(user_id=DEFAULT_USER, view=view)

    assert caught.value.response["error"] == "invalid_arguments"
    assert caught.value.response["response_metadata"]["messages"] == [f"[ERROR] {message}"]
    assert validate_view(view) is not None
    assert fake.published_views() == []


async def test_views_publish_keeps_one_home_per_user(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = [{"type": "divider"}] * 100

    first = await client.views_publish(
        user_id=DEFAULT_USER, view={"type": "home", "blocks": blocks}
    )
    second = await client.views_publish(
        user_id=DEFAULT_USER,
        view={"type": "home", "blocks": blocks[:1]},
        hash=first["view"]["hash"],
    )
    conflict = await _error_of(
        client.views_publish(user_id=DEFAULT_USER, view={"type": "home", "blocks": []}, hash="0.0")
    )

    assert second["view"]["id"] == first["view"]["id"]
    assert fake.home_view(DEFAULT_USER) == second["view"]
    assert len(fake.published_views(DEFAULT_USER)) == 2
    assert conflict == "hash_conflict"


# --- threads and reactions ------------------------------------------------------------------


def _part(part: int) -> dict[str, Any]:
    return {
        "event_type": "paperwire_roundup",
        "event_payload": {"period": "2026-W24", "part": part},
    }


CARD = {"event_type": "paperwire_card", "event_payload": {"arxiv_id": "2403.13043", "version": 1}}


async def test_replies_go_into_the_thread_and_the_parent_counts_them(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    header = (
        await client.chat_postMessage(channel=DEFAULT_CHANNEL, text="W24", metadata=_part(0))
    )["ts"]
    first = await client.chat_postMessage(
        channel=DEFAULT_CHANNEL, text="LLMs", thread_ts=header, metadata=_part(1)
    )
    # A reply to a reply lands in the same thread; a card-shaped reply is still no card.
    second = await client.chat_postMessage(
        channel=DEFAULT_CHANNEL, text="Vision", thread_ts=first["ts"], metadata=CARD
    )
    someone = fake.add_message(DEFAULT_CHANNEL, text="nice", thread_ts=header)

    history = await client.conversations_history(channel=DEFAULT_CHANNEL)
    replies = await client.conversations_replies(channel=DEFAULT_CHANNEL, ts=header)
    with_metadata = await client.conversations_replies(
        channel=DEFAULT_CHANNEL, ts=second["ts"], include_all_metadata=True
    )

    assert (first["message"]["thread_ts"], first["message"]["parent_user_id"]) == (
        header,
        BOT_USER_ID,
    )
    assert second["message"]["thread_ts"] == header
    assert [m["text"] for m in fake.replies(DEFAULT_CHANNEL, header)] == ["LLMs", "Vision", "nice"]
    assert [m["text"] for m in fake.messages(DEFAULT_CHANNEL)] == ["W24"]
    assert fake.card_ids(DEFAULT_CHANNEL) == []
    [parent] = history["messages"]
    assert (parent["ts"], parent["thread_ts"], parent["reply_count"]) == (header, header, 3)
    assert (parent["latest_reply"], parent["reply_users"]) == (someone, [BOT_USER_ID, "U0SOMEONE1"])
    assert [m["text"] for m in replies["messages"]] == ["W24", "LLMs", "Vision", "nice"]
    assert not any("metadata" in m for m in replies["messages"])
    assert [m["metadata"]["event_payload"]["part"] for m in with_metadata["messages"][:2]] == [
        0,
        1,
    ]
    assert fake.post_count(DEFAULT_CHANNEL) == 3  # replies are chat.postMessage calls too


async def test_conversations_replies_pages_with_a_cursor(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    header = fake.add_message(DEFAULT_CHANNEL, text="0")
    for n in range(1, 5):
        fake.add_message(DEFAULT_CHANNEL, text=str(n), thread_ts=header)

    pages, cursor = [], None
    while True:
        page = await client.conversations_replies(
            channel=DEFAULT_CHANNEL, ts=header, limit=2, cursor=cursor
        )
        pages.append([m["text"] for m in page["messages"]])
        cursor = page["response_metadata"]["next_cursor"]
        if not page["has_more"]:
            break

    assert pages == [["0", "1"], ["2", "3"], ["4"]]
    assert cursor == ""
    assert await _error_of(
        client.conversations_replies(channel=DEFAULT_CHANNEL, ts=header, cursor="bm9wZQ==")
    ) == ("invalid_cursor")


async def test_a_reply_needs_its_parent_in_that_channel(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    elsewhere = fake.add_message(OTHER_CHANNEL, text="in another channel")

    errors = [
        await _error_of(
            client.chat_postMessage(channel=DEFAULT_CHANNEL, text="x", thread_ts="1.000001")
        ),
        await _error_of(
            client.chat_postMessage(channel=DEFAULT_CHANNEL, text="x", thread_ts=elsewhere)
        ),
        await _error_of(client.conversations_replies(channel=DEFAULT_CHANNEL, ts="1.000001")),
    ]

    assert errors == ["thread_not_found", "thread_not_found", "thread_not_found"]
    assert fake.messages(DEFAULT_CHANNEL) == []
    with pytest.raises(LookupError):
        fake.replies(DEFAULT_CHANNEL, elsewhere)


async def test_a_broadcast_reply_shows_in_the_channel_too(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    header = fake.add_message(DEFAULT_CHANNEL, text="W24")

    await client.chat_postMessage(
        channel=DEFAULT_CHANNEL, text="also here", thread_ts=header, reply_broadcast=True
    )

    assert [m["text"] for m in fake.messages(DEFAULT_CHANNEL)] == ["W24", "also here"]
    assert [m["text"] for m in fake.replies(DEFAULT_CHANNEL, header)] == ["also here"]


async def test_reactions_get_reports_the_reactions_people_gave(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    card = (await client.chat_postMessage(channel=DEFAULT_CHANNEL, text="a card", metadata=CARD))[
        "ts"
    ]
    reply = fake.add_message(DEFAULT_CHANNEL, text="a reply", thread_ts=card)
    quiet = fake.add_message(DEFAULT_CHANNEL, text="nobody cared")
    fake.react(DEFAULT_CHANNEL, card)
    fake.react(DEFAULT_CHANNEL, card, count=59)
    fake.react(DEFAULT_CHANNEL, card, name="tada", count=2)
    fake.react(DEFAULT_CHANNEL, reply, name="eyes")

    full = await client.reactions_get(channel=DEFAULT_CHANNEL, timestamp=card, full=True)
    short = await client.reactions_get(channel=DEFAULT_CHANNEL, timestamp=card)
    on_reply = await client.reactions_get(channel=DEFAULT_CHANNEL, timestamp=reply)
    none = await client.reactions_get(channel=DEFAULT_CHANNEL, timestamp=quiet)
    errors = [
        await _error_of(client.reactions_get(channel=DEFAULT_CHANNEL, timestamp="1.000001")),
        await _error_of(client.reactions_get(channel="C0NOWHERE1", timestamp=card)),
        await _error_of(client.reactions_get(channel=DEFAULT_CHANNEL)),
    ]

    assert (full["type"], full["channel"], full["message"]["ts"]) == (
        "message",
        DEFAULT_CHANNEL,
        card,
    )
    assert [(r["name"], r["count"], len(r["users"])) for r in full["message"]["reactions"]] == [
        ("thumbsup", 60, 60),
        ("tada", 2, 2),
    ]
    # Without full, the count is still everyone; the list of who need not be.
    assert [(r["name"], r["count"]) for r in short["message"]["reactions"]] == [
        ("thumbsup", 60),
        ("tada", 2),
    ]
    assert len(short["message"]["reactions"][0]["users"]) < 60
    assert "metadata" not in full["message"]
    assert full["message"]["permalink"].endswith(
        f"/archives/{DEFAULT_CHANNEL}/p{card.replace('.', '')}"
    )
    assert [(r["name"], r["count"]) for r in on_reply["message"]["reactions"]] == [("eyes", 1)]
    assert "reactions" not in none["message"]
    assert errors == ["message_not_found", "channel_not_found", "no_item_specified"]
    reacted = full["message"]["reactions"][0]["users"][0]
    assert (await client.users_info(user=reacted))["user"]["id"] == reacted
    with pytest.raises(LookupError, match="no message"):
        fake.react(DEFAULT_CHANNEL, "1.000001")


async def test_reactions_get_needs_the_reactions_read_scope(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    card = fake.add_message(DEFAULT_CHANNEL, text="a card")
    fake.react(DEFAULT_CHANNEL, card)
    fake.set_scopes(["commands", "chat:write"])

    with pytest.raises(SlackApiError) as caught:
        await client.reactions_get(channel=DEFAULT_CHANNEL, timestamp=card)
    fake.set_scopes(["commands", "chat:write", "reactions:read"])  # reinstalled
    again = await client.reactions_get(channel=DEFAULT_CHANNEL, timestamp=card)

    refused = caught.value.response
    assert (refused["error"], refused["needed"]) == ("missing_scope", "reactions:read")
    assert refused["provided"] == "commands,chat:write"
    assert again["message"]["reactions"][0]["count"] == 1


async def test_a_fault_after_the_header_and_a_reply_cuts_the_next_reply(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.fail(Fault.DROP_AFTER_POST, channel=DEFAULT_CHANNEL, after=2)

    header = (await client.chat_postMessage(channel=DEFAULT_CHANNEL, text="W24"))["ts"]
    await client.chat_postMessage(channel=DEFAULT_CHANNEL, text="part 1", thread_ts=header)
    with pytest.raises(aiohttp.ClientError):
        await client.chat_postMessage(channel=DEFAULT_CHANNEL, text="part 2", thread_ts=header)
    await client.chat_postMessage(channel=DEFAULT_CHANNEL, text="part 3", thread_ts=header)

    # The cut answer's reply was stored: a crash after it leaves it in the thread.
    assert [m["text"] for m in fake.replies(DEFAULT_CHANNEL, header)] == [
        "part 1",
        "part 2",
        "part 3",
    ]
    assert [c.fault for c in fake.calls("chat.postMessage")] == [
        None,
        None,
        Fault.DROP_AFTER_POST,
        None,
    ]


def test_env_gives_each_mode_exactly_its_settings(fake: FakeSlack) -> None:
    api = {"PAPERWIRE_SLACK_API_URL": fake.api_url}

    assert fake.env() == {**api, "SLACK_BOT_TOKEN": fake.token}
    assert fake.env("http") == {
        **api,
        "SLACK_BOT_TOKEN": fake.token,
        "SLACK_SIGNING_SECRET": fake.signing_secret,
    }
    assert fake.env("socket") == {
        **api,
        "SLACK_BOT_TOKEN": fake.token,
        "SLACK_APP_TOKEN": fake.app_token,
    }
    assert fake.env("oauth") == {
        **api,
        "SLACK_SIGNING_SECRET": fake.signing_secret,
        "SLACK_CLIENT_ID": fake.client_id,
        "SLACK_CLIENT_SECRET": fake.client_secret,
    }
    assert fake.api_url.endswith("/api/")
    # The authorize page is where it is on Slack relative to the Web API base, so an app can
    # derive Bolt's authorization_url from PAPERWIRE_SLACK_API_URL.
    assert urljoin(fake.api_url, "../oauth/v2/authorize") == fake.authorize_url
    assert urljoin("https://slack.com/api/", "../oauth/v2/authorize") == (
        "https://slack.com/oauth/v2/authorize"
    )
