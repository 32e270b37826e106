"""`paperwire run` as a new Slack workspace meets it, in HTTP mode: the real process with only
the documented settings (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, PAPERWIRE_SLACK_API_URL,
PORT), signed requests to /slack/events from a fake Slack it has never seen."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.cli.helpers import paperwire
from tests.fakes.slack import DEFAULT_CHANNEL, FakeSlack
from tests.fakes.sources import FakeSources
from tests.paths import REPO

ADMIN = "U0ADMIN001"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_new_workspace_looks_up_subscribes_and_gets_cards(tmp_path: Path) -> None:
    with FakeSources.running_in_thread() as sources, FakeSlack.running_in_thread() as fake:
        fake.add_user(ADMIN, is_admin=True)
        base = {**sources.env(), "PAPERWIRE_HF_ENABLED": "false"}
        assert paperwire("db", "upgrade", cwd=tmp_path, env=base).code == 0
        port = _free_port()
        ours = ("PAPERWIRE_", "SLACK_", "DISCORD_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        env.update(base)
        env.update(fake.env("http"))
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "PAPERWIRE_CONFIG": str(REPO / "config" / "paperwire.toml"),
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}",
                "PAPERWIRE_WEB_HOST": "127.0.0.1",
                "PORT": str(port),
                "PAPERWIRE_ARXIV_MIN_INTERVAL_SECONDS": "0",
                "PAPERWIRE_DELIVER_EVERY_SECONDS": "0.2",
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
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_polled(url)
            lookup = fake.call(fake.send_command, url, "/paper", "1605.08386")
            answers = [lookup.ack] if lookup.ack else fake.call(lookup.responses, 1)
            assert "arXiv:1605.08386v" in json.dumps(answers)

            subscribed = fake.call(
                fake.send_command, url, "/papers", "subscribe cat:cs.CL --backfill 1", user_id=ADMIN
            )
            [reply] = fake.call(subscribed.responses, 1)
            assert reply["response_type"] == "in_channel"
            assert "Subscribed this channel" in json.dumps(reply)

            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not fake.card_ids(DEFAULT_CHANNEL):
                time.sleep(0.1)  # the sender runs every 0.2 s in its own process
            posted = fake.card_ids(DEFAULT_CHANNEL)
            assert posted, "no card reached the channel"
            assert len(posted) == len(set(posted))
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        assert fake.token not in err


def _wait_polled(url: str) -> None:
    """Until the web server answers and the first arXiv poll is done."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                body = json.loads(response.read())
            if body.get("sources", {}).get("arxiv", {}).get("state") not in (None, "never"):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("paperwire run never finished its first poll")
