"""paperwire as a Slack app, with the real slack_bolt and slack_sdk against the fake Slack:
signed requests to /slack/events on paperwire's web server, Socket Mode, and the OAuth install
of a second workspace."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.adapters.db.engine import create_engine, upgrade
from bot.adapters.db.store import SqlStore
from bot.adapters.slack.bot import SlackApp, SlackMode
from bot.adapters.slack.publisher import InstallationTokens, SlackPublisher
from bot.adapters.web import WebServer
from bot.core.chat import removed_reason
from bot.core.models import Author, DestinationRef, Paper, Platform
from bot.core.planning import PlannedDelivery
from bot.services.chat import ChatService
from bot.services.deliver import DeliveryService
from tests.fakes.clock import FakeClock
from tests.fakes.slack import CHANNEL_CREATOR, DEFAULT_CHANNEL, DEFAULT_USER, FakeSlack, Tamper
from tests.services.fakes import FakeArxiv, card_service, chat_service

ADMIN = "U0ADMIN001"


def paper(arxiv_id: str, title: str) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=1,
        title=title,
        abstract=f"We study {title.lower()}. It improves on three benchmarks by a wide margin.",
        authors=(Author("Ann Lee"),),
        categories=("cs.CL",),
        published=datetime(2026, 11, 18, tzinfo=UTC),
        sources=frozenset({"arxiv"}),
    )


@dataclass
class World:
    fake: FakeSlack
    store: SqlStore
    slack: SlackApp
    url: str
    chat: ChatService
    clock: FakeClock


async def _health() -> tuple[int, dict[str, object]]:
    return 200, {}


async def _metrics() -> bytes:
    return b""


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[SqlStore, ChatService, FakeClock, object]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}")
    await upgrade(engine)
    store = SqlStore(engine)
    clock = FakeClock()
    arxiv = FakeArxiv()
    arxiv.add(paper("2403.13043", "Speculative decoding for language models"))
    await store.upsert_papers([paper("1706.03762", "Attention is all you need")], now=clock.now())
    chat = chat_service(store, clock, arxiv, Platform.SLACK, slack_manager_group="paper-admins")
    try:
        yield store, chat, clock, engine
    finally:
        await engine.dispose()


@pytest.fixture
async def http(parts: tuple[SqlStore, ChatService, FakeClock, object]) -> AsyncIterator[World]:
    store, chat, clock, engine = parts
    async with FakeSlack() as fake:
        fake.add_user(ADMIN, is_admin=True)
        mode = SlackMode(
            api_url=fake.api_url,
            bot_token=SecretStr(fake.token),
            signing_secret=SecretStr(fake.signing_secret),
            manager_group="paper-admins",
        )
        slack = SlackApp(mode, chat, engine)  # type: ignore[arg-type]
        web = WebServer("127.0.0.1", 0, _health, _metrics, slack.routes())
        port = await web.start()
        await slack.start()
        try:
            yield World(fake, store, slack, f"http://127.0.0.1:{port}", chat, clock)
        finally:
            await slack.stop()
            await web.stop()


# --- commands over HTTP ------------------------------------------------------------------------


async def test_a_stored_paper_is_in_the_ack_itself(http: World) -> None:
    record = await http.fake.send_command(http.url, "/paper", "1706.03762")
    assert record.status == 200
    ack = record.ack
    assert ack["response_type"] == "in_channel"
    assert ack["blocks"][0]["text"]["text"] == "Attention is all you need"


async def test_a_paper_not_stored_is_acked_first_then_answered(http: World) -> None:
    record = await http.fake.send_command(http.url, "/paper", "arXiv:2403.13043 [cs.CL] --private")
    assert record.status == 200
    assert record.ack is None  # an empty ack: the answer comes through the response_url
    answer = (await record.responses(1))[0]
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == "Speculative decoding for language models"


async def test_title_words_and_a_bad_id(http: World) -> None:
    found = await http.fake.send_command(http.url, "/paper", "speculative decoding")
    answer = (await found.responses(1))[0]
    assert "Speculative decoding" in answer["blocks"][0]["text"]["text"]
    bad = await http.fake.send_command(http.url, "/paper", "2413.00001")
    assert bad.ack["response_type"] == "ephemeral"
    assert "month 13" in bad.ack["blocks"][0]["text"]["text"]


async def test_subscribing_needs_rights_and_a_bad_query_is_private(http: World) -> None:
    refused = await http.fake.send_command(http.url, "/papers", "subscribe cat:cs.CL")
    answer = (await refused.responses(1))[0]
    assert answer["response_type"] == "ephemeral"
    assert "workspace admins and owners" in answer["text"] or "admins" in str(answer)
    assert await http.store.list_subscriptions() == []

    bad = await http.fake.send_command(http.url, "/papers", "subscribe cat:cs.XX", user_id=ADMIN)
    answer = (await bad.responses(1))[0]
    assert answer["response_type"] == "ephemeral"
    assert "no such arXiv category cs.XX" in str(answer["blocks"])

    done = await http.fake.send_command(
        http.url, "/papers", "subscribe cat:cs.CL speculative", user_id=ADMIN
    )
    answer = (await done.responses(1))[0]
    assert answer["response_type"] == "in_channel"
    [sub] = await http.store.list_subscriptions()
    assert sub.query == "cat:cs.CL speculative"
    assert sub.added_by == ADMIN


async def test_the_channel_creator_and_the_manager_group_may_manage(http: World) -> None:
    creator = await http.fake.send_command(
        http.url, "/papers", "subscribe au:hinton", user_id=CHANNEL_CREATOR
    )
    assert (await creator.responses(1))[0]["response_type"] == "in_channel"
    http.fake.add_usergroup("paper-admins", ["U0GROUPED1"])
    grouped = await http.fake.send_command(
        http.url, "/papers", "subscribe au:bengio", user_id="U0GROUPED1"
    )
    assert (await grouped.responses(1))[0]["response_type"] == "in_channel"
    listing = await http.fake.send_command(http.url, "/papers", "list")
    answer = (await listing.responses(1))[0]
    assert "au:hinton" in str(answer["blocks"])
    assert "au:bengio" in str(answer["blocks"])


@pytest.mark.parametrize(
    "tamper", [Tamper.WRONG_SIGNATURE, Tamper.STALE_TIMESTAMP, Tamper.BODY_CHANGED]
)
async def test_requests_not_signed_by_slack_are_refused(http: World, tamper: Tamper) -> None:
    record = await http.fake.send_command(http.url, "/paper", "1706.03762", tamper=tamper)
    assert record.status == 401


async def test_a_retried_event_is_handled_once(http: World) -> None:
    event = http.fake.link_shared_event(["https://arxiv.org/abs/1706.03762"])
    first = await http.fake.send_event(http.url, event, event_id="Ev0000000001")
    again = await http.fake.send_event(http.url, event, event_id="Ev0000000001", retry_num=1)
    assert first.status == again.status == 200
    await http.fake.wait_calls("chat.unfurl", 1)
    await asyncio.sleep(0)  # let a (wrong) second handling start, if there were one
    assert len(http.fake.unfurls()) == 1


async def test_a_paper_link_unfurls_and_an_unknown_one_shows_nothing(http: World) -> None:
    event = http.fake.link_shared_event(
        ["https://huggingface.co/papers/1706.03762", "https://arxiv.org/abs/2401.99999"]
    )
    await http.fake.send_event(http.url, event, event_id="Ev0000000002")
    await http.fake.wait_calls("chat.unfurl", 1)
    [unfurl] = http.fake.unfurls()
    assert list(unfurl.unfurls) == ["https://huggingface.co/papers/1706.03762"]


async def test_app_home_lists_the_workspaces_subscribed_channels(http: World) -> None:
    added = await http.fake.send_command(http.url, "/papers", "subscribe cat:cs.CL", user_id=ADMIN)
    await added.responses(1)
    await http.fake.send_event(
        http.url, http.fake.app_home_opened_event(DEFAULT_USER), event_id="Ev0000000003"
    )
    await http.fake.wait_calls("views.publish", 1)
    view = http.fake.home_view(DEFAULT_USER)
    assert view is not None
    assert f"<#{DEFAULT_CHANNEL}>" in str(view["blocks"])
    assert "cat:cs.CL" in str(view["blocks"])


async def test_uninstalling_pauses_the_workspace_and_reinstalling_resumes(http: World) -> None:
    added = await http.fake.send_command(http.url, "/papers", "subscribe cat:cs.CL", user_id=ADMIN)
    await added.responses(1)
    event = http.fake.uninstall()
    await http.fake.send_event(http.url, event, event_id="Ev0000000004")
    ref = DestinationRef(Platform.SLACK, http.fake.team_id, DEFAULT_CHANNEL)
    for _ in range(100):
        dest = await http.store.get_destination(ref)
        if dest is not None and dest.paused_reason:
            break
        await asyncio.sleep(0.01)
    assert dest is not None
    assert dest.paused_reason == removed_reason(Platform.SLACK)
    assert await http.chat.added(Platform.SLACK, workspace=http.fake.team_id) == 1


# --- the publisher and a revoked token -------------------------------------------------------


async def test_a_revoked_token_pauses_every_channel_of_that_workspace(http: World) -> None:
    ref = DestinationRef(Platform.SLACK, http.fake.team_id, DEFAULT_CHANNEL)
    other = DestinationRef(Platform.SLACK, http.fake.team_id, "C0OTHER001")
    for where in (ref, other):
        await http.store.ensure_destination(where, now=http.clock.now())
    http.fake.revoke_tokens()
    publisher = SlackPublisher(SecretStr(http.fake.token), api_url=http.fake.api_url)
    deliver = DeliveryService(
        http.store, card_service(http.store, http.clock), {Platform.SLACK: publisher}, http.clock
    )
    await http.store.upsert_papers([paper("2403.00001", "A new paper")], now=http.clock.now())
    dest = await http.store.get_destination(ref)
    assert dest is not None
    await http.store.plan_deliveries(
        [PlannedDelivery("2403.00001", dest.id, 1, http.clock.now())], now=http.clock.now()
    )
    report = await deliver.run_once()  # the one post hits the revoked token
    await publisher.close()
    assert report.paused
    for where in (ref, other):
        paused = await http.store.get_destination(where)
        assert paused is not None
        assert paused.paused_reason == removed_reason(Platform.SLACK)


# --- Socket Mode -----------------------------------------------------------------------------


async def test_socket_mode_answers_a_command(
    parts: tuple[SqlStore, ChatService, FakeClock, object],
) -> None:
    _store, chat, _clock, engine = parts
    async with FakeSlack() as fake:
        mode = SlackMode(
            api_url=fake.api_url,
            bot_token=SecretStr(fake.token),
            app_token=SecretStr(fake.app_token),
        )
        slack = SlackApp(mode, chat, engine)  # type: ignore[arg-type]
        assert slack.routes() == []
        await slack.start()
        try:
            await fake.wait_socket_connected(1)
            record = await fake.socket_command("/paper", "1706.03762")
            assert "Attention is all you need" in str(record.ack)
            await fake.socket_disconnect()
            await fake.wait_socket_connected(2)
            again = await fake.socket_command("/paper", "1706.03762")
            assert again.acked
        finally:
            await slack.stop()


async def test_socket_mode_with_slack_out_of_reach_holds_nothing_up(
    parts: tuple[SqlStore, ChatService, FakeClock, object],
) -> None:
    # slack_sdk keeps retrying a Slack it cannot reach: start must return at once (the
    # scheduler, Discord and the web server start after it) and stop must end the retrying.
    _store, chat, _clock, engine = parts
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    mode = SlackMode(
        api_url=f"http://127.0.0.1:{port}/api/",
        bot_token=SecretStr("xoxb-unreachable"),
        app_token=SecretStr("xapp-unreachable"),
    )
    slack = SlackApp(mode, chat, engine)  # type: ignore[arg-type]
    await asyncio.wait_for(slack.start(), 5)  # the bot token's check fails: one log line
    await asyncio.wait_for(slack.stop(), 5)


# --- OAuth: a second workspace installs paperwire ----------------------------------------------


async def test_an_oauth_install_then_a_command_there_then_a_post(
    parts: tuple[SqlStore, ChatService, FakeClock, object],
) -> None:
    _store, chat, _clock, engine = parts
    async with FakeSlack() as fake:
        mode = SlackMode(
            api_url=fake.api_url,
            signing_secret=SecretStr(fake.signing_secret),
            client_id=fake.client_id,
            client_secret=SecretStr(fake.client_secret),
        )
        slack = SlackApp(mode, chat, engine)  # type: ignore[arg-type]
        web = WebServer("127.0.0.1", 0, _health, _metrics, slack.routes())
        port = await web.start()
        url = f"http://127.0.0.1:{port}"
        await slack.start()
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{url}/slack/install", allow_redirects=False) as page:
                    assert page.status in (200, 302)
                    text = await page.text()
                    link = page.headers.get("Location") or _href(text)
                    # The browser's state cookie (Secure: a browser sends it over https only,
                    # so here it is passed by hand).
                    state = page.cookies["slack-app-oauth-state"].value
                redirect = fake.authorize(
                    link, team_id="T0SECOND02", redirect_uri=f"{url}/slack/oauth_redirect"
                )
                cookie = {"Cookie": f"slack-app-oauth-state={state}"}
                async with session.get(redirect, headers=cookie) as done:
                    assert done.status == 200, await done.text()
            record = await fake.send_command(url, "/paper", "1706.03762", team_id="T0SECOND02")
            assert "Attention is all you need" in str(record.ack)
            assert slack.installations is not None
            tokens = InstallationTokens(slack.installations)
            publisher = SlackPublisher(tokens, api_url=fake.api_url)
            card = await chat.card_for_link("1706.03762")
            assert card is not None
            ref = DestinationRef(Platform.SLACK, "T0SECOND02", fake.workspace("T0SECOND02").channel)
            await publisher.publish(ref, card, nonce="pw-1-v1")
            await publisher.close()
            assert fake.card_ids(ref.channel) == ["1706.03762v1"]
        finally:
            await slack.stop()
            await web.stop()


def _href(page: str) -> str:
    """The install page's "Add to Slack" link."""
    found = re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page)
    assert found is not None, page
    return found.group(1).replace("&amp;", "&")


def test_the_oauth_flow_asks_for_exactly_the_manifests_scopes() -> None:
    from bot.adapters.slack.bot import BOT_SCOPES
    from bot.adapters.slack.manifest import load_manifest

    manifest = load_manifest()
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
