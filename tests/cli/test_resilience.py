"""One bad dependency never stops the rest (issue 9): a platform that refuses paperwire or is
down, a missing token, a database that disappears, a busy port, a secret echoed back. The real
command line against fake arXiv, Hugging Face and Discord servers on 127.0.0.1."""

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
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import Result, paperwire
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord import Fault as DiscordFault
from tests.fakes.sources import FakeSources
from tests.fakes.sources import Fault as SourceFault
from tests.paths import REPO

CHANNEL = "123456789012345678"


@pytest.fixture(scope="module")
def sources() -> Iterator[FakeSources]:
    with FakeSources.running_in_thread() as server:
        yield server


@pytest.fixture(scope="module")
def discord_fake() -> Iterator[FakeDiscord]:
    with FakeDiscord.running_in_thread() as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, sources: FakeSources, discord_fake: FakeDiscord) -> Path:
    sources.clear_faults()
    discord_fake.clear_faults()
    assert run(tmp_path, sources, "db", "upgrade").code == 0
    return tmp_path


def run(cwd: Path, sources: FakeSources, *args: str, **env: str) -> Result:
    settings = {
        **sources.env(),
        "PAPERWIRE_ARXIV_MIN_INTERVAL_SECONDS": "0",
        "PAPERWIRE_HTTP_MAX_RETRIES": "0",
        "PAPERWIRE_HTTP_TIMEOUT_SECONDS": "5",
        "PAPERWIRE_HF_ENABLED": "false",
        **env,
    }
    return paperwire(*args, cwd=cwd, env=settings)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- platforms are connected only by what needs them ---------------------------------------


@pytest.mark.parametrize("what", ["refused", "unreachable"])
def test_commands_that_post_nothing_never_touch_discord(
    home: Path, sources: FakeSources, discord_fake: FakeDiscord, what: str
) -> None:
    url = discord_fake.api_url if what == "refused" else f"http://127.0.0.1:{closed_port()}/api"
    env = {"DISCORD_TOKEN": "not-the-bot-token-at-all", "PAPERWIRE_DISCORD_API_URL": url}
    before = len(discord_fake.requests)
    for args in (("subs", "list", "console"), ("status",), ("subs", "add", "console", "cat:cs")):
        result = run(home, sources, *args, **env)
        assert result.code == 0, result.err
        assert "PublishError" not in result.err
    assert len(discord_fake.requests) == before


def test_a_refused_token_pauses_discord_and_the_console_still_gets_its_cards(
    home: Path, sources: FakeSources, discord_fake: FakeDiscord
) -> None:
    env = {"DISCORD_TOKEN": "not-the-bot-token-at-all", **_discord(discord_fake)}
    assert run(home, sources, "subs", "add", f"discord:{CHANNEL}", "cat:cs.CL", **env).code == 0
    assert run(home, sources, "subs", "add", "console", "cat:cs.CL", **env).code == 0

    once = run(home, sources, "run", "--once", **env)

    assert once.code == 0, once.err
    assert once.out.count("\narXiv:") > 0  # the console's cards went out
    assert "paused discord: Discord rejected the bot token" in once.err
    status = run(home, sources, "status", **env)
    assert "discord paused: Discord rejected the bot token (401 Unauthorized)" in status.out
    assert "cards wait" not in status.out  # the token is set; Discord refuses it
    # The right token, next run: the pause lifts and Discord gets the cards.
    fixed = run(home, sources, "run", "--once", **_discord(discord_fake), **_token(discord_fake))
    assert fixed.code == 0, fixed.err
    assert len(discord_fake.card_ids(CHANNEL)) == once.out.count("\narXiv:")
    assert "paused" not in run(home, sources, "status", **_discord(discord_fake)).out


def test_a_discord_channel_without_a_token_says_what_to_set(
    home: Path, sources: FakeSources
) -> None:
    added = run(home, sources, "subs", "add", f"discord:{CHANNEL}", "cat:cs.CL")
    assert added.code == 0
    assert "DISCORD_TOKEN is not set" in added.err
    once = run(home, sources, "run", "--once")
    assert once.code == 0, once.err
    assert "to retry later" not in once.err  # nothing churns: those cards simply wait
    status = run(home, sources, "status")
    assert "no discord token:" in status.out
    assert "wait until you set DISCORD_TOKEN" in status.out


# --- the database ----------------------------------------------------------------------------


def test_status_names_the_database_file(home: Path, sources: FakeSources) -> None:
    status = run(home, sources, "status")
    assert status.out.startswith(f"database: {home / 'paperwire.db'}\n")


def test_run_reports_a_failing_source_and_a_vanished_database_once(
    home: Path, sources: FakeSources
) -> None:
    port = closed_port()
    proc = _start(home, sources, port, PAPERWIRE_HF_API_URL=f"http://127.0.0.1:{closed_port()}")
    try:
        health = _wait_health(
            port,
            lambda h: (
                h.get("sources", {}).get("hf", {}).get("state") == "failing"
                and h["sources"]["arxiv"]["state"] != "never"
            ),
        )
        assert health["status"] == "degraded"
        assert any(p.startswith("hf: failing:") for p in health["problems"])

        for name in ("paperwire.db", "paperwire.db-wal", "paperwire.db-shm"):
            (home / name).unlink(missing_ok=True)
        status, body = _get(port, "/healthz")
        assert status == 503
        assert json.loads(body)["status"] == "unavailable"
        assert "no database at" in json.loads(body)["database"]
        status, body = _get(port, "/metrics")
        assert status == 503
        assert body.startswith("# database unavailable")
        assert not (home / "paperwire.db").exists()  # not recreated empty
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"database: {home / 'paperwire.db'}" in err.splitlines()[0]
    assert err.count("database unavailable") == 1, err


def test_healthz_names_each_source_that_has_never_succeeded(
    home: Path, sources: FakeSources
) -> None:
    sources.fail(FakeSources.ARXIV_RSS, SourceFault.STALL)  # arXiv's first poll never ends
    port = closed_port()
    proc = _start(home, sources, port, PAPERWIRE_HF_API_URL=f"http://127.0.0.1:{closed_port()}")
    try:
        first = _wait_health(port, lambda h: True)  # whatever it says first
        assert first["status"] == "degraded", first
        problems = first["problems"]
        assert isinstance(problems, list)
        assert any(p.startswith("arxiv: never polled") for p in problems), problems
        # Hugging Face has now failed, without ever succeeding: both are named.
        health = _wait_health(
            port, lambda h: h.get("sources", {}).get("hf", {}).get("state") == "failing"
        )
        assert health["status"] == "degraded"
        problems = health["problems"]
        assert isinstance(problems, list)
        assert len(problems) == 2, problems
        assert problems[0].startswith("arxiv: never polled")
        assert problems[1].startswith("hf: failing:")
    finally:
        proc.kill()  # not SIGTERM: that would give the stalled poll its grace period
        proc.communicate(timeout=30)


def test_a_busy_port_says_which_and_how_to_choose_another(home: Path, sources: FakeSources) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(home, sources, "run", PORT=str(port), PAPERWIRE_WEB_HOST="127.0.0.1")
    assert result.code == 2
    line = result.err.strip().splitlines()[-1]
    assert f"port {port} is already in use" in line
    assert "PAPERWIRE_WEB_PORT" in line
    assert "Traceback" not in result.err


# --- secrets ---------------------------------------------------------------------------------


def test_a_token_echoed_by_the_server_is_never_stored_logged_or_shown(
    home: Path, sources: FakeSources, discord_fake: FakeDiscord
) -> None:
    env = {**_discord(discord_fake), **_token(discord_fake), "PAPERWIRE_DEBUG": "1"}
    assert run(home, sources, "subs", "add", f"discord:{CHANNEL}", "cat:cs.CL", **env).code == 0
    discord_fake.fail(DiscordFault.ECHO_AUTH, channel=CHANNEL, times=None)

    once = run(home, sources, "run", "--once", **env)
    status = run(home, sources, "status", **env)
    listing = run(home, sources, "subs", "list", **env)

    assert "Cannot send messages (Authorization: Bot **********)" in status.out
    for output in (once.out, once.err, status.out, status.err, listing.out, listing.err):
        assert discord_fake.token not in output
    raw = (home / "paperwire.db").read_bytes()
    for name in ("paperwire.db-wal",):
        if (home / name).exists():
            raw += (home / name).read_bytes()
    assert discord_fake.token.encode() not in raw


# --- helpers ---------------------------------------------------------------------------------


def _discord(fake: FakeDiscord) -> dict[str, str]:
    return {"PAPERWIRE_DISCORD_API_URL": fake.api_url}


def _token(fake: FakeDiscord) -> dict[str, str]:
    return {"DISCORD_TOKEN": fake.token}


def _start(home: Path, sources: FakeSources, port: int, **extra: str) -> subprocess.Popen[str]:
    ours = ("PAPERWIRE_", "SLACK_", "DISCORD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(sources.env())
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PAPERWIRE_CONFIG": str(REPO / "config" / "paperwire.toml"),
            "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'paperwire.db'}",
            "PAPERWIRE_WEB_HOST": "127.0.0.1",
            "PORT": str(port),
            "PAPERWIRE_ARXIV_MIN_INTERVAL_SECONDS": "0",
            "PAPERWIRE_HTTP_MAX_RETRIES": "0",
            "PAPERWIRE_DELIVER_EVERY_SECONDS": "0.5",
            **extra,
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_health(port: int, ready: object) -> dict[str, object]:
    """/healthz's body once ``ready(body)`` holds (the process is polled, not slept on)."""
    assert callable(ready)
    deadline = time.monotonic() + 60
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            _, body = _get(port, "/healthz")
            last = json.loads(body)
            if ready(last):
                return last
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"/healthz never got there: {last}")
