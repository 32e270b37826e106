"""SlackPublisher: the real slack_sdk AsyncWebClient against the fake Slack on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from bot.adapters.slack.publisher import SlackPublisher
from bot.adapters.slack.render import METADATA_EVENT_TYPE, render_slack
from bot.core.cards import build_card
from bot.core.chat import removed_reason
from bot.core.models import Author, Card, DestinationRef, Paper, Platform, Summary, Topic
from bot.services.ports import CardRejected, PermanentPublishError, TransientPublishError
from bot.settings import Settings
from tests.fakes.slack import DEFAULT_TEAM, FakeSlack, Fault
from tests.paths import REPO

CHANNEL = "C0123456789"
OTHER_CHANNEL = "C0987654321"
REF = DestinationRef(Platform.SLACK, DEFAULT_TEAM, CHANNEL)
TIMEOUT = 0.5  # seconds: connect/read timeout of each request in these tests


def make_card(arxiv_id: str = "2403.13043", version: int = 1) -> Card:
    paper = Paper(
        arxiv_id=arxiv_id,
        version=version,
        title="Benchmarking <!channel> Large Language Models",
        abstract="We benchmark things.",
        authors=(Author("Ada Lovelace"), Author("Alan Turing")),
        categories=("cs.CL", "cs.LG"),
        published=datetime(2024, 3, 19, 17, 0, tzinfo=UTC),
    )
    summary = Summary("We propose a benchmark for evaluating language models.", ("It is big.",))
    return build_card(paper, summary, Topic("Evaluation", "📏", "eval"))


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def publisher(fake: FakeSlack) -> AsyncIterator[SlackPublisher]:
    async with SlackPublisher(
        SecretStr(fake.token), api_url=fake.api_url, timeout=TIMEOUT, max_retry_wait=3.0
    ) as pub:
        yield pub


async def test_a_card_posts_once_and_returns_the_message_ts(
    fake: FakeSlack, publisher: SlackPublisher
) -> None:
    ts = await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    [message] = fake.messages(CHANNEL)
    assert ts == message["ts"]
    assert fake.post_count(CHANNEL) == 1
    assert fake.card_ids(CHANNEL) == ["2403.13043v1"]


async def test_the_payload_is_the_rendered_card_with_metadata_naming_the_delivery(
    fake: FakeSlack, publisher: SlackPublisher
) -> None:
    card = make_card()
    await publisher.publish(REF, card, nonce="pw-1-v1")

    [payload] = fake.payloads(CHANNEL)
    rendered = render_slack(card)
    assert payload["channel"] == CHANNEL
    assert payload["text"] == rendered["text"]
    assert payload["blocks"] == rendered["blocks"]
    assert payload["unfurl_links"] is False
    assert payload["unfurl_media"] is False
    assert payload["metadata"] == {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {"arxiv_id": "2403.13043", "version": 1, "nonce": "pw-1-v1"},
    }
    assert rendered["metadata"]["event_payload"] == {"arxiv_id": "2403.13043", "version": 1}


async def test_find_existing_finds_an_earlier_post_among_newer_messages(
    fake: FakeSlack, publisher: SlackPublisher
) -> None:
    card = make_card()
    posted = await publisher.publish(REF, card, nonce="pw-1-v1")
    await publisher.publish(REF, make_card("2403.99999"), nonce="pw-2-v1")
    fake.add_message(CHANNEL, text="nice paper")

    assert await publisher.find_existing(REF, card, nonce="pw-1-v1") == posted


@pytest.mark.parametrize(
    ("card", "nonce"),
    [
        (make_card("2403.99999"), "pw-1-v1"),  # another paper
        (make_card(version=2), "pw-1-v1"),  # another version of it
        (make_card(), "pw-9-v1"),  # the same card, but another delivery's post
    ],
)
async def test_find_existing_returns_none_when_this_delivery_was_never_posted(
    fake: FakeSlack, publisher: SlackPublisher, card: Card, nonce: str
) -> None:
    await publisher.publish(REF, make_card(), nonce="pw-1-v1")
    other = DestinationRef(Platform.SLACK, DEFAULT_TEAM, OTHER_CHANNEL)
    await publisher.publish(other, card, nonce=nonce)  # in another channel

    assert await publisher.find_existing(REF, card, nonce=nonce) is None


async def test_find_existing_ignores_a_card_summoned_without_a_delivery_nonce(
    fake: FakeSlack, publisher: SlackPublisher
) -> None:
    card = make_card()
    rendered = render_slack(card)
    fake.add_message(CHANNEL, text=rendered["text"], metadata=rendered["metadata"])

    assert await publisher.find_existing(REF, card, nonce="pw-1-v1") is None


async def test_a_short_retry_after_is_waited_out_by_slack_sdk(
    fake: FakeSlack, publisher: SlackPublisher
) -> None:
    fake.fail(Fault.RATE_LIMITED, retry_after=1)

    ts = await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert fake.post_count(CHANNEL) == 2
    assert [m["ts"] for m in fake.messages(CHANNEL)] == [ts]


async def paced_posts(pace: float, refs: list[DestinationRef]) -> FakeSlack:
    """Three cards to each of ``refs`` at once, by a publisher paced at ``pace`` posts a second
    per channel, to a fake Slack that answers 429 past that same pace; the fake, after."""
    cards = [make_card(f"2403.1304{i}") for i in range(3)]
    async with (
        FakeSlack(channel_rate=(1, 1.0 / pace)) as fake,
        SlackPublisher(
            SecretStr(fake.token), api_url=fake.api_url, timeout=TIMEOUT, posts_per_second=pace
        ) as pub,
    ):
        await asyncio.gather(
            *(
                pub.publish(ref, card, nonce=f"pw-{i}")
                for ref in refs
                for i, card in enumerate(cards)
            )
        )
        assert pub.rate_limited == 0
    assert fake.rate_limited_answers == 0  # the publisher kept Slack's pace: never told to wait
    for ref in refs:
        assert sorted(fake.card_ids(ref.channel)) == sorted(c.versioned_id for c in cards)
    return fake


def post_times(fake: FakeSlack, channel: str) -> list[float]:
    """When the fake received each chat.postMessage to ``channel`` (time.monotonic)."""
    return [r.started for r in fake.calls("chat.postMessage", channel=channel)]


async def test_posts_to_one_channel_keep_its_pace_and_get_no_429() -> None:
    pace = 20.0  # one post every 50 ms: Slack's one a second, scaled down to keep this fast
    fake = await paced_posts(pace, [REF])

    times = post_times(fake, CHANNEL)
    assert len(times) == 3  # nothing was retried
    assert all(later - earlier >= 1.0 / pace for earlier, later in itertools.pairwise(times))


async def test_two_channels_do_not_wait_for_each_other() -> None:
    other = DestinationRef(Platform.SLACK, DEFAULT_TEAM, OTHER_CHANNEL)
    fake = await paced_posts(10.0, [REF, other])  # REF's three are queued first

    first, second = post_times(fake, CHANNEL), post_times(fake, OTHER_CHANNEL)
    assert len(first) == len(second) == 3
    # The other channel's first post went out while REF's second still waited its turn.
    assert second[0] < first[1]


@pytest.mark.parametrize("retry_after", [30, 120])
async def test_a_long_retry_after_surfaces_at_once_with_the_wait(
    fake: FakeSlack, publisher: SlackPublisher, retry_after: int
) -> None:
    fake.fail(Fault.RATE_LIMITED, retry_after=retry_after)
    started = time.monotonic()

    with pytest.raises(TransientPublishError) as caught:
        await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert caught.value.retry_after == pytest.approx(retry_after)
    assert caught.value.maybe_posted is False
    assert time.monotonic() - started < 5.0
    assert fake.post_count(CHANNEL) == 1
    assert fake.messages(CHANNEL) == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.SERVER_ERROR, "500"),  # an HTML page from Slack's edge
        (Fault.API_ERROR, "internal_error"),  # Slack: some of it may have happened
        (Fault.API_ERROR, "fatal_error"),
    ],
)
async def test_a_server_error_is_transient_maybe_posted_and_not_retried_blindly(
    fake: FakeSlack, publisher: SlackPublisher, fault: Fault, error: str
) -> None:
    fake.fail(fault, error=error)

    with pytest.raises(TransientPublishError) as caught:
        await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert error in str(caught.value)
    assert caught.value.maybe_posted is True
    assert fake.post_count(CHANNEL) == 1  # chat.postMessage has no idempotency key


@pytest.mark.parametrize(
    ("fault", "error", "reason"),
    [
        (Fault.CHANNEL_NOT_FOUND, "", "(channel_not_found)"),
        (Fault.IS_ARCHIVED, "", "channel is archived (is_archived)"),
        (Fault.NOT_IN_CHANNEL, "", "not a member of this channel (not_in_channel)"),
        (Fault.API_ERROR, "missing_scope", "lacks a permission (missing_scope)"),
    ],
)
async def test_a_lost_channel_or_token_is_permanent_with_a_readable_reason(
    fake: FakeSlack, publisher: SlackPublisher, fault: Fault, error: str, reason: str
) -> None:
    fake.fail(fault, channel=CHANNEL, times=None, error=error or "internal_error")

    with pytest.raises(PermanentPublishError) as caught:
        await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert reason in caught.value.reason
    assert "\n" not in caught.value.reason
    other = DestinationRef(Platform.SLACK, DEFAULT_TEAM, OTHER_CHANNEL)
    assert await publisher.publish(other, make_card(), nonce="pw-1-v1")  # others still work


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.TOKEN_REVOKED, ""),
        (Fault.API_ERROR, "account_inactive"),
        (Fault.API_ERROR, "invalid_auth"),
    ],
)
async def test_a_lost_token_stops_the_whole_workspace(
    fake: FakeSlack, publisher: SlackPublisher, fault: Fault, error: str
) -> None:
    fake.fail(fault, channel=CHANNEL, times=None, error=error or "internal_error")

    with pytest.raises(PermanentPublishError) as caught:
        await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert caught.value.workspace == REF.workspace  # every channel there, not only this one
    assert caught.value.reason == removed_reason(Platform.SLACK)


@pytest.mark.parametrize("error", ["invalid_blocks", "msg_too_long"])
async def test_a_refused_card_fails_that_card_not_the_channel(
    fake: FakeSlack, publisher: SlackPublisher, error: str
) -> None:
    fake.fail(Fault.API_ERROR, channel=CHANNEL, times=1, error=error)

    with pytest.raises(CardRejected, match=error):
        await publisher.publish(REF, make_card(), nonce="pw-1-v1")
    assert await publisher.publish(REF, make_card(), nonce="pw-2-v1")  # the channel still works


async def test_reading_history_of_a_lost_channel_is_permanent(
    fake: FakeSlack, publisher: SlackPublisher
) -> None:
    fake.fail(Fault.CHANNEL_NOT_FOUND, route="history")

    with pytest.raises(PermanentPublishError, match="channel_not_found"):
        await publisher.find_existing(REF, make_card(), nonce="pw-1-v1")


async def test_a_stall_is_transient_maybe_posted_within_the_timeout(
    fake: FakeSlack, publisher: SlackPublisher
) -> None:
    fake.fail(Fault.STALL)
    started = time.monotonic()

    with pytest.raises(TransientPublishError) as caught:
        await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert caught.value.maybe_posted is True
    assert time.monotonic() - started < TIMEOUT + 2.0
    assert fake.post_count(CHANNEL) == 1  # not retried: it may have been posted


@pytest.mark.parametrize("fault", [Fault.STALL_AFTER_POST, Fault.DROP_AFTER_POST])
async def test_a_post_whose_answer_was_lost_is_found_by_find_existing(
    fake: FakeSlack, publisher: SlackPublisher, fault: Fault
) -> None:
    card = make_card()
    fake.fail(fault)

    with pytest.raises(TransientPublishError) as caught:
        await publisher.publish(REF, card, nonce="pw-1-v1")
    assert caught.value.maybe_posted is True

    [stored] = fake.messages(CHANNEL)
    assert await publisher.find_existing(REF, card, nonce="pw-1-v1") == stored["ts"]


async def test_an_unreachable_api_is_transient_and_not_posted() -> None:
    async with FakeSlack() as fake:
        url, token = fake.api_url, fake.token  # the port is closed once the fake stops
    async with SlackPublisher(SecretStr(token), api_url=url, timeout=TIMEOUT) as pub:
        with pytest.raises(TransientPublishError) as caught:
            await pub.publish(REF, make_card(), nonce="pw-1-v1")
    assert caught.value.maybe_posted is False


class TokensByTeam:
    """A stand-in for the OAuth installation store: one bot token per workspace."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self.asked: list[str] = []

    async def bot_token(self, team_id: str) -> SecretStr:
        self.asked.append(team_id)
        return SecretStr(self.tokens[team_id])


async def test_each_workspace_posts_with_its_own_token() -> None:
    teams = {"T0AAAAAAA1": "xoxb-team-a", "T0BBBBBBB2": "xoxb-team-b"}
    source = TokensByTeam(teams)
    async with (
        FakeSlack(tokens={token: team for team, token in teams.items()}) as fake,
        SlackPublisher(source, api_url=fake.api_url, timeout=TIMEOUT) as pub,
    ):
        for team in teams:
            await pub.publish(
                DestinationRef(Platform.SLACK, team, CHANNEL), make_card(), nonce=team
            )

        assert [r.team for r in fake.requests] == list(teams)
    assert source.asked == list(teams)


async def test_the_token_never_reaches_logs_or_errors(
    fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    pub = SlackPublisher(SecretStr(fake.token), api_url=fake.api_url, timeout=TIMEOUT)
    async with pub:
        await pub.publish(REF, make_card(), nonce="pw-1-v1")
        await pub.find_existing(REF, make_card(), nonce="pw-1-v1")
        for fault in (Fault.RATE_LIMITED, Fault.SERVER_ERROR, Fault.CHANNEL_NOT_FOUND, Fault.STALL):
            fake.fail(fault, retry_after=60)
            with pytest.raises((TransientPublishError, PermanentPublishError)) as caught:
                await pub.publish(REF, make_card(), nonce="pw-2-v1")
            errors.append(caught.value)
    async with SlackPublisher(SecretStr(fake.token + "x"), api_url=fake.api_url) as wrong:
        with pytest.raises(PermanentPublishError) as refused:
            await wrong.publish(REF, make_card(), nonce="pw-3-v1")
        errors.append(refused.value)

    assert len(caplog.records) > 0
    assert fake.token not in caplog.text
    for error in errors:
        chain = [error, error.__cause__, error.__context__]
        assert all(fake.token not in f"{e} {e!r}" for e in chain if e is not None)
    assert fake.token not in repr(pub)


def test_from_settings_takes_the_token_and_base_url() -> None:
    settings = Settings(slack_bot_token=SecretStr("xoxb-1"), slack_api_url="http://127.0.0.1:9/api")
    assert "127.0.0.1:9/api/'" in repr(SlackPublisher.from_settings(settings))
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN"):
        SlackPublisher.from_settings(Settings())


async def test_it_refuses_destinations_of_other_platforms(publisher: SlackPublisher) -> None:
    with pytest.raises(ValueError, match="cannot post"):
        await publisher.publish(DestinationRef.parse("console"), make_card(), nonce="pw-1-v1")


WORKER = """
import asyncio, sys
from bot.adapters.slack.publisher import SlackPublisher
from bot.core.models import DestinationRef
from bot.settings import load_settings
from tests.adapters.slack.test_publisher import make_card

async def main() -> None:
    async with SlackPublisher.from_settings(load_settings(), timeout=5.0) as pub:
        print(await pub.publish(DestinationRef.parse(sys.argv[1]), make_card(), nonce="pw-1-v1"))

asyncio.run(main())
"""


def test_the_fake_serves_a_worker_process_from_a_thread() -> None:
    with FakeSlack.running_in_thread() as fake:
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(REF)],
            env={**os.environ, **fake.env()},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == fake.messages(CHANNEL)[0]["ts"]
        assert fake.card_ids() == ["2403.13043v1"]
