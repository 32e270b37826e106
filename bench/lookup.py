"""Lookup latency: 200 concurrent ``/paper`` commands for stored papers, sent to a running bot,
on Discord (through the fake gateway) and on Slack (signed requests to /slack/events).

Starts the fake arXiv, Hugging Face and Discord on 127.0.0.1, stores the recorded listing
(``paperwire poll``), then runs the real ``paperwire run`` as a subprocess with DISCORD_TOKEN,
PAPERWIRE_DISCORD_API_URL and PAPERWIRE_DISCORD_GATEWAY_URL. Once the bot is connected, the
fake gateway dispatches N ``/paper`` interactions at once (each for a different stored paper)
and measures, per interaction, the time from its dispatch to the bot's callback (what a person
waits for). Every answer must be the paper's card: anything else counts as an error.

A warm-up round first asks for as many other papers (imports, and the connections between
the bot and the platform, as a bot running for a while has them). Then the first measured
round asks for papers nobody looked up yet (their cards come from the parts the poll
prepared); later rounds ask for the same papers again (a channel discussing a paper),
answered from the bot's recent lookups. Every round is printed; the headline lines give the
worst round (the one with the highest p99, the first-time round included) and the errors of
every round: ``lookup: 200 concurrent /paper, p50 A ms, p99 B ms, errors E`` (Discord:
dispatch to callback) and ``lookup slack: p50 A ms, p99 B ms (ack), errors E`` (request to
ack, which carries the card). Goal: B < 250, E = 0 on both.

    python bench/lookup.py [--count 200] [--rounds 3] [--platform discord|slack|both]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.discord import FakeDiscord  # noqa: E402 - after the path fix
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.fakes.sources import FakeSources  # noqa: E402

GUILD = "1400000000000000001"
CHANNEL = "1400000000000000002"


def _env(home: Path, sources: FakeSources, discord: FakeDiscord | None) -> dict[str, str]:
    ours = ("PAPERWIRE_", "SLACK_", "DISCORD_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(sources.env())
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PAPERWIRE_CONFIG": str(REPO / "config" / "paperwire.toml"),
            "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'paperwire.db'}",
            "PAPERWIRE_WEB_HOST": "127.0.0.1",
            "PAPERWIRE_WEB_PORT": "0",
            "PAPERWIRE_ARXIV_MIN_INTERVAL_SECONDS": "0",
            "PAPERWIRE_HF_ENABLED": "false",
            # The bench measures lookups: no scheduled poll competes with them.
            "PAPERWIRE_ARXIV_POLL_MINUTES": "600",
        }
    )
    if discord is not None:
        env.update(discord.env())
    return env


def _paperwire(env: dict[str, str], home: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


async def _round(fake: FakeDiscord, ids: list[str]) -> tuple[list[float], int]:
    records = await asyncio.gather(
        *(
            fake.invoke("paper", {"paper": arxiv_id}, guild_id=GUILD, channel_id=CHANNEL)
            for arxiv_id in ids
        )
    )
    latencies: list[float] = []
    errors = 0
    for arxiv_id, record in zip(ids, records, strict=True):
        try:
            response = await record.response()
        except Exception:
            errors += 1
            continue
        latencies.append(response.latency * 1000)
        footer = _footer(response.data)
        if response.type != 4 or not footer.startswith(f"arXiv:{arxiv_id}v"):
            errors += 1
    return latencies, errors


def _footer(data: Any) -> str:
    embeds = (data or {}).get("embeds") or [{}]
    return str((embeds[0].get("footer") or {}).get("text", ""))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _rounds(
    run_round: Any, ids: list[str], spare: list[str], rounds: int, label: str
) -> list[tuple[float, float, int]]:
    # Warm-up on as many other papers (never asked for again): imports, the connections
    # between the bot and the platform, as a bot that has been running a while has them.
    run_round(spare[: len(ids)])
    # The fakes measure in this process: their long-lived objects out of the collector's way,
    # so a full collection here does not add to the bot's latencies (as timeit does).
    gc.collect()
    gc.freeze()
    results = []
    for number in range(1, rounds + 1):
        started = time.perf_counter()
        latencies, errors = run_round(ids)
        p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
        took = time.perf_counter() - started
        print(
            f"{label} round {number}: {len(ids)} concurrent, p50 {p50:.0f} ms, "
            f"p99 {p99:.0f} ms, errors {errors} ({took:.1f} s)",
            flush=True,
        )
        results.append((p99, p50, errors))
    return results


def _summary(results: list[tuple[float, float, int]]) -> tuple[float, float, int, float, float]:
    """(p50, p99 of the worst round, every round's errors, first round's p50, p99)."""
    cold_p99, cold_p50, _ = results[0]
    p99, p50, _ = max(results)
    return p50, p99, sum(e for _, _, e in results), cold_p50, cold_p99


def _bot(home: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(bot: subprocess.Popen[str]) -> None:
    bot.send_signal(signal.SIGTERM)
    _, err = bot.communicate(timeout=30)
    if bot.returncode != 0:
        print(err[-2000:], file=sys.stderr)


def _discord(
    home: Path, sources: FakeSources, ids: list[str], spare: list[str], rounds: int
) -> str:
    with FakeDiscord.running_in_thread() as discord:
        discord.add_guild(GUILD, channels=[CHANNEL])
        bot = _bot(home, _env(home, sources, discord))
        try:
            discord.call(discord.wait_ready)
            results = _rounds(
                lambda batch: discord.call(_round, discord, batch), ids, spare, rounds, "discord"
            )
        finally:
            _stop(bot)
    p50, p99, errors, cold_p50, cold_p99 = _summary(results)
    print(f"lookup discord first time: p50 {cold_p50:.0f} ms, p99 {cold_p99:.0f} ms")
    return (
        f"lookup: {len(ids)} concurrent /paper, p50 {p50:.0f} ms, p99 {p99:.0f} ms, errors {errors}"
    )


async def _slack_round(fake: FakeSlack, url: str, ids: list[str]) -> tuple[list[float], int]:
    records = await asyncio.gather(*(fake.send_command(url, "/paper", i) for i in ids))
    latencies: list[float] = []
    errors = 0
    for arxiv_id, record in zip(ids, records, strict=True):
        if record.latency is None or record.status != 200:
            errors += 1
            continue
        latencies.append(record.latency * 1000)
        if f"arXiv:{arxiv_id}v" not in json.dumps(record.ack):  # the card is in the ack itself
            errors += 1
    return latencies, errors


def _slack(home: Path, sources: FakeSources, ids: list[str], spare: list[str], rounds: int) -> str:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with FakeSlack.running_in_thread() as fake:
        env = _env(home, sources, None)
        env.update(fake.env("http"))
        env["PAPERWIRE_WEB_PORT"] = str(port)
        bot = _bot(home, env)
        try:
            _wait_http(url)
            results = _rounds(
                lambda batch: fake.call(_slack_round, fake, url, batch), ids, spare, rounds, "slack"
            )
        finally:
            _stop(bot)
    p50, p99, errors, cold_p50, cold_p99 = _summary(results)
    print(f"lookup slack first time: p50 {cold_p50:.0f} ms, p99 {cold_p99:.0f} ms (ack)")
    return f"lookup slack: p50 {p50:.0f} ms, p99 {p99:.0f} ms (ack), errors {errors}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the bot's web server never answered")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200, help="concurrent /paper commands")
    parser.add_argument(
        "--rounds", type=int, default=3, help="bursts: one first-time, then repeats"
    )
    parser.add_argument("--platform", choices=["discord", "slack", "both"], default="both")
    args = parser.parse_args(argv)

    lines = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeSources.running_in_thread(rss_feed="full") as sources,
    ):
        home = Path(tmp)
        setup = _env(home, sources, None)
        _paperwire(setup, home, "db", "upgrade")
        _paperwire(setup, home, "poll", "--source", "arxiv")
        stored = _stored_ids(home)
        ids, spare = stored[: args.count], stored[args.count :]
        if len(ids) < args.count:
            print(f"only {len(ids)} papers stored; sending that many", flush=True)
        if args.platform in ("discord", "both"):
            lines.append(_discord(home, sources, ids, spare, args.rounds))
        if args.platform in ("slack", "both"):
            lines.append(_slack(home, sources, ids, spare, args.rounds))
    for line in lines:
        print(line)
    return 0


def _stored_ids(home: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(home / "paperwire.db") as db:
        return [row[0] for row in db.execute("SELECT arxiv_id FROM papers ORDER BY arxiv_id")]


if __name__ == "__main__":
    raise SystemExit(main())
