"""Lookup latency: 200 concurrent ``/paper`` commands for stored papers, sent to a running bot.

Starts the fake arXiv, Hugging Face and Discord on 127.0.0.1, stores the recorded listing
(``paperwire poll``), then runs the real ``paperwire run`` as a subprocess with DISCORD_TOKEN,
PAPERWIRE_DISCORD_API_URL and PAPERWIRE_DISCORD_GATEWAY_URL. Once the bot is connected, the
fake gateway dispatches N ``/paper`` interactions at once (each for a different stored paper)
and measures, per interaction, the time from its dispatch to the bot's callback (what a person
waits for). Every answer must be the paper's card: anything else counts as an error.

    python bench/lookup.py [--count 200] [--rounds 3]

The first round asks for papers nobody looked up yet (each card is built then); later rounds
ask for the same papers again (a channel discussing a paper), answered from the bot's recent
lookups. Both are printed; the last line gives the repeated rounds' median (latencies of the
round with the median p99; errors of every round, the first included):
``lookup: 200 concurrent /paper, p50 A ms, p99 B ms, errors E``. Goal: B < 250, E = 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.discord import FakeDiscord  # noqa: E402 - after the path fix
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200, help="concurrent /paper commands")
    parser.add_argument(
        "--rounds", type=int, default=4, help="bursts: one first-time, then repeats"
    )
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeSources.running_in_thread(rss_feed="full") as sources,
        FakeDiscord.running_in_thread() as discord,
    ):
        home = Path(tmp)
        discord.add_guild(GUILD, channels=[CHANNEL])
        setup = _env(home, sources, None)
        _paperwire(setup, home, "db", "upgrade")
        _paperwire(setup, home, "poll", "--source", "arxiv")
        stored = _stored_ids(home)
        ids, spare = stored[: args.count], stored[args.count :]
        if len(ids) < args.count:
            print(f"only {len(ids)} papers stored; sending that many", flush=True)
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=home,
            env=_env(home, sources, discord),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            discord.call(discord.wait_ready)
            # Warm-up on papers outside the measured set: imports, connections, not caches.
            discord.call(_round, discord, spare[:5])
            results = []
            for number in range(1, args.rounds + 1):
                started = time.perf_counter()
                latencies, errors = discord.call(_round, discord, ids)
                p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
                took = time.perf_counter() - started
                print(
                    f"round {number}: {len(ids)} concurrent, p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
                    f"errors {errors} ({took:.1f} s)",
                    flush=True,
                )
                results.append((p99, p50, errors))
        finally:
            bot.send_signal(signal.SIGTERM)
            _, err = bot.communicate(timeout=30)
        if bot.returncode != 0:
            print(err[-2000:], file=sys.stderr)
    cold_p99, cold_p50, _ = results[0]
    print(f"lookup first time: p50 {cold_p50:.0f} ms, p99 {cold_p99:.0f} ms")
    repeated = results[1:] or results
    p99, p50, _ = sorted(repeated)[len(repeated) // 2]
    errors = sum(e for _, _, e in results)  # every round's errors count
    print(
        f"lookup: {len(ids)} concurrent /paper, p50 {p50:.0f} ms, p99 {p99:.0f} ms, errors {errors}"
    )
    return 0


def _stored_ids(home: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(home / "paperwire.db") as db:
        return [row[0] for row in db.execute("SELECT arxiv_id FROM papers ORDER BY arxiv_id")]


if __name__ == "__main__":
    raise SystemExit(main())
