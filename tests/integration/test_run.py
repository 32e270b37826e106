"""`paperwire run` for months, end to end: the real process against the fake sources and the
fake Discord and Slack. A poll yields cards in a Discord and a Slack channel, /paper is
answered on both, the weekly roundup goes out at its time, SIGTERM ends it cleanly within
10 s, and a restart posts nothing twice. On PostgreSQL, two processes share the work: one
leads, and when it is killed the other takes over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import paperwire
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import DEFAULT_CHANNEL, DEFAULT_TEAM, FakeSlack
from tests.fakes.sources import FakeSources
from tests.paths import REPO

GUILD = "1600000000000000001"
CHANNEL = "1600000000000000002"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSources, FakeDiscord, FakeSlack]]:
    with (
        FakeSources.running_in_thread() as sources,
        FakeDiscord.running_in_thread() as discord,
        FakeSlack.running_in_thread() as slack,
    ):
        discord.add_guild(GUILD, channels=[CHANNEL])
        yield sources, discord, slack


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(database_url: str, *parts: dict[str, str], port: int) -> dict[str, str]:
    ours = ("PAPERWIRE_", "SLACK_", "DISCORD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    for part in parts:
        env.update(part)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PAPERWIRE_CONFIG": str(REPO / "config" / "paperwire.toml"),
            "DATABASE_URL": database_url,
            "PAPERWIRE_WEB_HOST": "127.0.0.1",
            "PORT": str(port),
            "PAPERWIRE_ARXIV_MIN_INTERVAL_SECONDS": "0",
            "PAPERWIRE_HF_ENABLED": "false",
            "PAPERWIRE_DELIVER_EVERY_SECONDS": "0.5",
            "PAPERWIRE_SLACK_CHANNEL_POSTS_PER_SECOND": "100",
            "PAPERWIRE_DISCORD_CHANNEL_POSTS_PER_5S": "500",
        }
    )
    return env


def _start(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return dict(json.loads(response.read()))
    except (OSError, ValueError):
        return None


def _until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll another process's effect (there is no event to wait on across processes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(proc: subprocess.Popen[str]) -> tuple[float, str]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return time.monotonic() - started, err


def _polled(port: int) -> bool:
    health = _health(port)
    return bool(health) and health["sources"]["arxiv"]["state"] not in ("never",)  # type: ignore[index]


def test_a_month_in_one_process(
    tmp_path: Path, fakes: tuple[FakeSources, FakeDiscord, FakeSlack]
) -> None:
    sources, discord, slack = fakes
    url = f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}"
    port = _free_port()
    env = _env(url, sources.env(), discord.env(), slack.env("http"), port=port)
    slack_ref = f"slack:{DEFAULT_TEAM}/{DEFAULT_CHANNEL}"
    now = datetime.now(UTC)
    for args in (
        ("db", "upgrade"),
        ("subs", "add", f"discord:{CHANNEL}", "cat:cs.CL"),
        ("subs", "add", slack_ref, "cat:cs.CL"),
        # This week's roundup is due this very hour: the run posts it once its polls are in.
        (
            "subs",
            "settings",
            f"discord:{CHANNEL}",
            f"roundup_day={DAYS[now.weekday()]}",
            f"roundup_hour={now.hour}",
        ),
    ):
        assert paperwire(*args, cwd=tmp_path, env=env).code == 0

    bot = _start(env, tmp_path)
    try:
        discord.call(discord.wait_ready)
        _until(
            "cards in both channels",
            lambda: bool(discord.card_ids(CHANNEL)) and bool(slack.card_ids(DEFAULT_CHANNEL)),
        )
        lookup = discord.call(
            discord.invoke, "paper", {"paper": "1605.08386"}, guild_id=GUILD, channel_id=CHANNEL
        )
        assert "1605.08386" in json.dumps(discord.call(lookup.final))
        answered = slack.call(
            slack.send_command, f"http://127.0.0.1:{port}", "/paper", "1605.08386"
        )
        assert "1605.08386" in json.dumps(answered.ack or slack.call(answered.responses, 1))
        _until("the weekly roundup", lambda: bool(discord.threads(CHANNEL)), timeout=90)
        _until("cards settled", lambda: _settled(discord, slack))
    finally:
        took, err = _stop(bot)
    assert bot.returncode == 0, err
    assert took < 10, f"SIGTERM took {took:.1f} s"
    assert "Traceback" not in err
    first = (Counter(discord.card_ids(CHANNEL)), Counter(slack.card_ids(DEFAULT_CHANNEL)))
    assert all(n == 1 for counter in first for n in counter.values())
    headers = len(discord.threads(CHANNEL))
    assert headers == 1

    restart = _start(env, tmp_path)
    try:
        _until("the restart's first poll", lambda: _polled(port))
        time.sleep(2)  # a few delivery rounds: a duplicate would be posted by now
    finally:
        _, err = _stop(restart)
    assert restart.returncode == 0, err
    assert (Counter(discord.card_ids(CHANNEL)), Counter(slack.card_ids(DEFAULT_CHANNEL))) == first
    assert len(discord.threads(CHANNEL)) == headers  # the roundup is not posted again


def _settled(discord: FakeDiscord, slack: FakeSlack) -> bool:
    before = (len(discord.card_ids(CHANNEL)), len(slack.card_ids(DEFAULT_CHANNEL)))
    time.sleep(1.0)
    return before == (len(discord.card_ids(CHANNEL)), len(slack.card_ids(DEFAULT_CHANNEL)))


@pytest.mark.postgres
def test_two_processes_one_leader_and_a_takeover(
    tmp_path: Path, pg_url: str, fakes: tuple[FakeSources, FakeDiscord, FakeSlack]
) -> None:
    sources, _, slack = fakes
    ports = [_free_port(), _free_port()]
    envs = [_env(pg_url, sources.env(), slack.env("post"), port=p) for p in ports]
    assert paperwire("db", "upgrade", cwd=tmp_path, env=envs[0]).code == 0
    ref = f"slack:{DEFAULT_TEAM}/{DEFAULT_CHANNEL}"
    assert paperwire("subs", "add", ref, "cat:cs.CL", cwd=tmp_path, env=envs[0]).code == 0
    procs = [_start(envs[0], tmp_path)]
    try:
        _until("the first process's poll", lambda: _polled(ports[0]))
        procs.append(_start(envs[1], tmp_path))
        _until("the second process", lambda: _health(ports[1]) is not None)
        leaders = [bool((_health(p) or {}).get("leader")) for p in ports]
        assert leaders == [True, False]
        _until("cards posted", lambda: bool(slack.card_ids(DEFAULT_CHANNEL)))
        procs[0].send_signal(signal.SIGKILL)  # the leader dies mid-work
        procs[0].communicate(timeout=30)
        killed = datetime.now(UTC)
        _until("the takeover", lambda: bool((_health(ports[1]) or {}).get("leader")), 60)
        _until("the new leader's poll", lambda: _last_poll(ports[1]) > killed, 60)
    finally:
        for proc in procs:
            if proc.poll() is None:
                _stop(proc)
    counts = Counter(slack.card_ids(DEFAULT_CHANNEL))
    assert counts
    assert all(n == 1 for n in counts.values())


def _last_poll(port: int) -> datetime:
    health = _health(port) or {}
    when = health.get("sources", {}).get("arxiv", {}).get("last_attempt")
    return datetime.fromisoformat(when) if when else datetime.min.replace(tzinfo=UTC)
