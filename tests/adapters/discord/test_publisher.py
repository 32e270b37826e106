"""DiscordPublisher: the real discord.py REST client against the fake Discord on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from discord.http import Route
from pydantic import SecretStr

from bot.adapters.discord.publisher import NONCE_LENGTH, DiscordPublisher, discord_nonce
from bot.adapters.discord.render import render_discord
from bot.adapters.pacing import Window
from bot.core.cards import build_card
from bot.core.models import Author, Card, DestinationRef, Paper, Platform, Summary, Topic
from bot.services.ports import PermanentPublishError, TransientPublishError
from bot.settings import Settings
from tests.fakes.discord import BOT_USER_ID, FakeDiscord, Fault
from tests.paths import REPO

CHANNEL = "123456789012345678"
OTHER_CHANNEL = "223456789012345678"
REF = DestinationRef(Platform.DISCORD, "", CHANNEL)
TIMEOUT = 0.5  # seconds: connect/read timeout of each request in these tests


def make_card(arxiv_id: str = "2403.13043", version: int = 1) -> Card:
    paper = Paper(
        arxiv_id=arxiv_id,
        version=version,
        title="Benchmarking <@everyone> Large Language Models",
        abstract="We benchmark things.",
        authors=(Author("Ada Lovelace"), Author("Alan Turing")),
        categories=("cs.CL", "cs.LG"),
        published=datetime(2024, 3, 19, 17, 0, tzinfo=UTC),
    )
    summary = Summary("We propose a benchmark for evaluating language models.", ("It is big.",))
    return build_card(paper, summary, Topic("Evaluation", "📏", "eval"))


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def publisher(fake: FakeDiscord) -> AsyncIterator[DiscordPublisher]:
    async with DiscordPublisher(
        SecretStr(fake.token), api_url=fake.api_url, timeout=TIMEOUT, max_retry_wait=2.0
    ) as pub:
        yield pub


async def test_a_card_posts_once_and_returns_the_message_id(
    fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    message_id = await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    [message] = fake.messages(CHANNEL)
    assert message_id == message["id"]
    assert fake.post_count(CHANNEL) == 1
    assert fake.card_ids(CHANNEL) == ["2403.13043v1"]
    assert message["author"]["id"] == BOT_USER_ID == publisher.bot_id


async def test_the_payload_is_the_rendered_card_with_no_mentions_and_an_enforced_nonce(
    fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    card = make_card()
    await publisher.publish(REF, card, nonce="pw-1-v1")

    [payload] = fake.payloads(CHANNEL)
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["nonce"] == discord_nonce("pw-1-v1")
    assert len(payload["nonce"]) <= NONCE_LENGTH
    assert payload["enforce_nonce"] is True
    rendered = render_discord(card)
    assert payload["embeds"] == rendered["embeds"]
    assert payload["components"] == rendered["components"]


@pytest.mark.parametrize(
    ("first", "second", "distinct"),
    [
        ("pw-1-v1", "pw-1-v1", False),  # the same delivery re-sent: Discord returns the first
        ("pw-1-v1", "pw-2-v1", True),  # another delivery is another message
    ],
)
async def test_a_repeated_nonce_does_not_duplicate_the_post(
    fake: FakeDiscord, publisher: DiscordPublisher, first: str, second: str, distinct: bool
) -> None:
    card = make_card()
    one = await publisher.publish(REF, card, nonce=first)
    two = await publisher.publish(REF, card, nonce=second)

    assert (one != two) is distinct
    assert fake.post_count(CHANNEL) == 2
    assert len(fake.messages(CHANNEL)) == (2 if distinct else 1)


def test_nonces_are_short_stable_and_distinct() -> None:
    nonces = {discord_nonce(f"pw-{n}-v1") for n in range(1000)}
    assert len(nonces) == 1000
    assert all(len(n) == NONCE_LENGTH for n in nonces)
    assert discord_nonce("pw-7-v2") == discord_nonce("pw-7-v2")


async def test_find_existing_finds_an_earlier_post_among_newer_messages(
    fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    card = make_card()
    posted = await publisher.publish(REF, card, nonce="pw-1-v1")
    await publisher.publish(REF, make_card("2403.99999"), nonce="pw-2-v1")
    fake.add_message(CHANNEL, author_id="42", content="nice paper")

    assert await publisher.find_existing(REF, card, nonce="pw-1-v1") == posted


async def test_find_existing_returns_none_when_the_card_was_never_posted(
    fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    await publisher.publish(REF, make_card("2403.99999"), nonce="pw-2-v1")
    await publisher.publish(REF, make_card(version=2), nonce="pw-3-v2")  # another version
    other = DestinationRef(Platform.DISCORD, "", OTHER_CHANNEL)
    await publisher.publish(other, make_card(), nonce="pw-4-v1")  # another channel

    assert await publisher.find_existing(REF, make_card(), nonce="pw-1-v1") is None


@pytest.mark.parametrize(
    ("author", "extra"),
    [
        ("42", {}),  # a person pasted the same embed
        (BOT_USER_ID, {"type": 20, "interaction_metadata": {"id": "1", "type": 2}}),  # /paper
        (BOT_USER_ID, {"webhook_id": "999"}),  # an interaction follow-up
    ],
)
async def test_find_existing_ignores_the_same_card_shown_by_someone_else_or_a_command(
    fake: FakeDiscord, publisher: DiscordPublisher, author: str, extra: dict[str, object]
) -> None:
    card = make_card()
    fake.add_message(CHANNEL, author_id=author, embeds=render_discord(card)["embeds"], extra=extra)

    assert await publisher.find_existing(REF, card, nonce="pw-1-v1") is None


async def test_a_short_retry_after_is_waited_out_by_discord_py(
    fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    fake.fail(Fault.RATE_LIMITED, retry_after=0.05)

    message_id = await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert fake.post_count(CHANNEL) == 2
    assert [m["id"] for m in fake.messages(CHANNEL)] == [message_id]


@pytest.mark.parametrize(
    "retry_after",
    [
        10.0,  # over our max_retry_wait (2 s) though under discord.py's own 30 s floor
        120.0,  # over both
    ],
)
async def test_a_long_retry_after_surfaces_at_once_with_the_wait(
    fake: FakeDiscord, publisher: DiscordPublisher, retry_after: float
) -> None:
    fake.fail(Fault.RATE_LIMITED, retry_after=retry_after)
    started = time.monotonic()

    with pytest.raises(TransientPublishError) as caught:
        await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert caught.value.retry_after == pytest.approx(retry_after)
    assert caught.value.maybe_posted is False
    assert time.monotonic() - started < retry_after / 2  # it did not wait it out
    assert fake.messages(CHANNEL) == []


async def test_the_channel_bucket_paces_posts_without_errors() -> None:
    async with (
        FakeDiscord(channel_rate=(2, 0.3)) as fake,
        DiscordPublisher(SecretStr(fake.token), api_url=fake.api_url, timeout=TIMEOUT) as pub,
    ):
        for n in range(5):
            await pub.publish(REF, make_card(f"2403.1000{n}"), nonce=f"pw-{n}-v1")

        assert len(fake.messages(CHANNEL)) == 5
        assert fake.post_count(CHANNEL) == 5  # discord.py read the bucket headers: no 429


async def test_a_spent_channel_bucket_does_not_hold_the_bots_place() -> None:
    # discord.py sleeps till a spent bucket resets before it returns the post that spent it;
    # the bot-wide place must be free from the answer on, or one busy channel stalls all.
    async with (
        FakeDiscord(channel_rate=(2, 1.5)) as fake,
        DiscordPublisher(SecretStr(fake.token), api_url=fake.api_url, timeout=TIMEOUT) as pub,
    ):
        pub._global = Window(1, 0.05)  # one place for the whole bot, to make it visible
        answered = asyncio.Event()
        hook = pub._on_response

        async def on_response(exchange: Any, response: Any) -> None:
            await hook(exchange, response)
            answered.set()

        await pub.publish(REF, make_card("2403.10000"), nonce="pw-0-v1")  # the bucket known
        pub._on_response = on_response  # type: ignore[method-assign]
        busy = asyncio.create_task(pub.publish(REF, make_card("2403.10001"), nonce="pw-1-v1"))
        other_ref = DestinationRef(Platform.DISCORD, "", OTHER_CHANNEL)
        await answered.wait()
        started = time.monotonic()
        await pub.publish(other_ref, make_card("2403.10002"), nonce="pw-2-v1")
        waited = time.monotonic() - started
        assert not busy.done()  # still in discord.py's sleep till the bucket resets
        await busy
        assert waited < 0.75  # not the 1.5 s bucket
        assert fake.post_count(OTHER_CHANNEL) == 1
        assert fake.post_count(CHANNEL) == 2  # no 429 on the way


async def test_one_server_error_is_retried_by_discord_py(
    fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    fake.fail(Fault.SERVER_ERROR, times=1)

    message_id = await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert fake.post_count(CHANNEL) == 2
    assert [m["id"] for m in fake.messages(CHANNEL)] == [message_id]


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.BAD_GATEWAY])
async def test_server_errors_that_persist_are_transient_and_maybe_posted(
    fake: FakeDiscord, fault: Fault
) -> None:
    fake.fail(fault, times=None)
    async with DiscordPublisher(
        SecretStr(fake.token), api_url=fake.api_url, timeout=TIMEOUT, max_retry_wait=0.5
    ) as pub:
        with pytest.raises(TransientPublishError) as caught:
            await pub.publish(REF, make_card(), nonce="pw-1-v1")

    assert fault.value in str(caught.value)
    assert caught.value.maybe_posted is True  # a 5xx does not say the post was not stored
    assert fake.post_count(CHANNEL) == 1  # gave up instead of sleeping 1 s for a retry


@pytest.mark.parametrize(
    ("fault", "route", "reason"),
    [
        (Fault.UNKNOWN_CHANNEL, "post", "channel no longer exists (Unknown Channel)"),
        (Fault.MISSING_ACCESS, "post", "cannot see this channel (Missing Access)"),
        (Fault.MISSING_PERMISSIONS, "post", "Send Messages and Embed Links"),
        (Fault.MISSING_PERMISSIONS, "history", "Read Message History"),
        (Fault.UNKNOWN_CHANNEL, "history", "channel no longer exists (Unknown Channel)"),
    ],
)
async def test_a_lost_channel_is_permanent_with_a_readable_reason(
    fake: FakeDiscord, publisher: DiscordPublisher, fault: Fault, route: str, reason: str
) -> None:
    fake.fail(fault, channel=CHANNEL, times=None, route="any")

    call = publisher.publish if route == "post" else publisher.find_existing

    with pytest.raises(PermanentPublishError) as caught:
        await call(REF, make_card(), nonce="pw-1-v1")

    assert reason in caught.value.reason
    assert caught.value.reason[0].isupper()
    assert "\n" not in caught.value.reason
    other = DestinationRef(Platform.DISCORD, "", OTHER_CHANNEL)
    assert await publisher.publish(other, make_card(), nonce="pw-1-v1")  # others still work


async def test_a_stall_is_transient_maybe_posted_within_the_timeout(
    fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    fake.fail(Fault.STALL)
    started = time.monotonic()

    with pytest.raises(TransientPublishError) as caught:
        await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert caught.value.maybe_posted is True
    assert time.monotonic() - started < TIMEOUT + 2.0


@pytest.mark.parametrize("fault", [Fault.STALL_AFTER_POST, Fault.DROP_AFTER_POST])
async def test_a_post_whose_answer_was_lost_is_found_and_not_duplicated(
    fake: FakeDiscord, publisher: DiscordPublisher, fault: Fault
) -> None:
    card = make_card()
    fake.fail(fault)

    with pytest.raises(TransientPublishError) as caught:
        await publisher.publish(REF, card, nonce="pw-1-v1")
    assert caught.value.maybe_posted is True

    [stored] = fake.messages(CHANNEL)
    assert await publisher.find_existing(REF, card, nonce="pw-1-v1") == stored["id"]
    # Posting again anyway (the outbox would not) still makes no duplicate: enforce_nonce.
    assert await publisher.publish(REF, card, nonce="pw-1-v1") == stored["id"]
    assert fake.card_ids(CHANNEL) == ["2403.13043v1"]


async def test_a_wrong_token_fails_at_login_as_permanent(fake: FakeDiscord) -> None:
    wrong = DiscordPublisher(SecretStr("not-the-token"), api_url=fake.api_url, timeout=TIMEOUT)
    with pytest.raises(PermanentPublishError) as caught:
        await wrong.open()
    assert "DISCORD_TOKEN" in caught.value.reason


async def test_an_unreachable_api_is_transient_and_not_posted() -> None:
    async with FakeDiscord() as fake:
        url, token = fake.api_url, fake.token  # the port is closed once the fake stops
    with pytest.raises(TransientPublishError) as caught:
        await DiscordPublisher(SecretStr(token), api_url=url, timeout=TIMEOUT).open()
    assert caught.value.maybe_posted is False


async def test_the_token_never_reaches_logs_or_errors(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    pub = DiscordPublisher(
        SecretStr(fake.token), api_url=fake.api_url, timeout=TIMEOUT, max_retry_wait=0.5
    )
    async with pub:
        await pub.publish(REF, make_card(), nonce="pw-1-v1")
        for fault in (Fault.RATE_LIMITED, Fault.SERVER_ERROR, Fault.UNKNOWN_CHANNEL, Fault.STALL):
            fake.fail(fault, retry_after=60.0)
            with pytest.raises((TransientPublishError, PermanentPublishError)) as caught:
                await pub.publish(REF, make_card(), nonce="pw-2-v1")
            errors.append(caught.value)
    with pytest.raises(PermanentPublishError) as refused:
        await DiscordPublisher(SecretStr(fake.token + "x"), api_url=fake.api_url).open()
    errors.append(refused.value)

    assert len(caplog.records) > 0
    secret = fake.token.split(".")[0]
    assert secret not in caplog.text
    for error in errors:
        chain = [error, error.__cause__, error.__context__]
        assert all(secret not in f"{e} {e!r}" for e in chain if e is not None)
    assert secret not in repr(pub)


async def test_the_api_base_is_per_publisher_and_leaves_discord_py_alone(
    fake: FakeDiscord, publisher: DiscordPublisher
) -> None:
    await publisher.publish(REF, make_card(), nonce="pw-1-v1")

    assert Route.BASE == "https://discord.com/api/v10"
    assert [r.path for r in fake.requests] == [
        "/api/v10/users/@me",
        f"/api/v10/channels/{CHANNEL}/messages",
    ]


def test_from_settings_takes_the_token_and_base_url() -> None:
    settings = Settings(
        discord_token=SecretStr("abc"), discord_api_url="http://127.0.0.1:9/api/v10/"
    )
    assert "127.0.0.1:9/api/v10'" in repr(DiscordPublisher.from_settings(settings))
    with pytest.raises(ValueError, match="DISCORD_TOKEN"):
        DiscordPublisher.from_settings(Settings())


async def test_it_refuses_destinations_of_other_platforms(publisher: DiscordPublisher) -> None:
    with pytest.raises(ValueError, match="cannot post"):
        await publisher.publish(DestinationRef.parse("console"), make_card(), nonce="pw-1-v1")


WORKER = """
import asyncio, sys
from bot.adapters.discord.publisher import DiscordPublisher
from bot.core.models import DestinationRef
from bot.settings import load_settings
from tests.adapters.discord.test_publisher import make_card

async def main() -> None:
    async with DiscordPublisher.from_settings(load_settings(), timeout=5.0) as pub:
        print(await pub.publish(DestinationRef.parse(sys.argv[1]), make_card(), nonce="pw-1-v1"))

asyncio.run(main())
"""


def test_the_fake_serves_a_worker_process_from_a_thread() -> None:
    with FakeDiscord.running_in_thread() as fake:
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
        assert done.stdout.strip() == fake.messages(CHANNEL)[0]["id"]
        assert fake.card_ids() == ["2403.13043v1"]
