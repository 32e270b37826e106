"""`paperwire run` as a new server meets it: the real process, only the documented settings
(DISCORD_TOKEN, PAPERWIRE_DISCORD_API_URL, PAPERWIRE_DISCORD_GATEWAY_URL), a fake Discord it
has never seen, and commands typed in a channel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import paperwire
from tests.fakes.discord import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from tests.fakes.sources import FakeSources
from tests.paths import REPO

GUILD = "1500000000000000001"
CHANNEL = "1500000000000000002"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[FakeDiscord, subprocess.Popen[str]]]:
    with FakeSources.running_in_thread() as sources, FakeDiscord.running_in_thread() as fake:
        fake.add_guild(GUILD, channels=[CHANNEL])
        base = {**sources.env(), "PAPERWIRE_HF_ENABLED": "false"}
        assert paperwire("db", "upgrade", cwd=tmp_path, env=base).code == 0
        ours = ("PAPERWIRE_", "SLACK_", "DISCORD_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        env.update(base)
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "PAPERWIRE_CONFIG": str(REPO / "config" / "paperwire.toml"),
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}",
                "PAPERWIRE_WEB_HOST": "127.0.0.1",
                "PORT": "0",
                "PAPERWIRE_ARXIV_MIN_INTERVAL_SECONDS": "0",
                "PAPERWIRE_DELIVER_EVERY_SECONDS": "0.2",
                "DISCORD_TOKEN": fake.token,
                "PAPERWIRE_DISCORD_API_URL": fake.api_url,
                "PAPERWIRE_DISCORD_GATEWAY_URL": fake.gateway_url,
            }
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            fake.call(fake.wait_ready)
            yield fake, proc
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        assert fake.token not in err


def test_a_new_server_looks_up_subscribes_and_gets_cards(
    running: tuple[FakeDiscord, subprocess.Popen[str]],
) -> None:
    fake, _ = running
    assert {c["name"] for c in fake.registered_commands()} == {"paper", "papers"}

    def invoke(name: str, options: dict[str, object] | None = None, **kw: object) -> object:
        return fake.call(fake.invoke, name, options, guild_id=GUILD, channel_id=CHANNEL, **kw)

    # The first poll runs at start; a paper from the listing is then stored.
    lookup = invoke("paper", {"paper": "https://arxiv.org/abs/1605.08386"})
    answer = fake.call(lookup.final)  # type: ignore[attr-defined]
    assert answer["embeds"][0]["footer"]["text"].startswith("arXiv:1605.08386v")

    manager = MEMBER_PERMISSIONS | MANAGE_CHANNELS
    subscribed = invoke(
        "papers subscribe", {"query": "cat:cs.CL", "backfill": 1}, permissions=manager
    )
    reply = fake.call(subscribed.final)  # type: ignore[attr-defined]
    assert reply["embeds"][0]["title"].startswith("Subscribed this channel")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not fake.card_ids(CHANNEL):
        time.sleep(0.1)  # the sender runs every 0.2 s in its own process
    posted = fake.card_ids(CHANNEL)
    assert posted, "no card reached the channel"
    assert len(posted) == len(set(posted))
