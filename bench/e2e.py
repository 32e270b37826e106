"""End to end at the platforms' ceiling: 1,000 cards to 100 channels, lookups meanwhile.

A database holding 100,000 papers and 10,000 subscriptions; 1,000 cards queued for 100
channels (50 on Discord, 50 on Slack, 10 cards each). The real ``paperwire run`` delivers
them through fakes that enforce the documented limits and answer 429 past them (Discord: 50
posts a second for the bot and 5 per 5 s per channel; Slack: 1 a second per channel), while
200 concurrent ``/paper`` lookups of stored papers go through the fake Discord gateway: once
a tenth of the cards are out, a warm-up burst of 200 on other papers (the connections a bot
running for a while has; its figures are printed too), then the measured burst, of papers
nobody looked up before. The papers are seeded as a poll leaves them: stored, with their card
parts prepared.

The ceiling is the fastest the limits allow for that mix: Discord's 500 cards take at least
500/50 = 10 s (the global limit) and each channel's 10 at least 5 s; Slack's 10 per channel at
least 9 s (one a second). The delivery time X runs from the first post to the last.

    python bench/e2e.py

Last line: ``e2e: 1000 cards in X s (ceiling C s, R% of ceiling); 429s: N; /paper p50 A ms
p99 B ms; peak RSS M MB``. Goal: R >= 90, N = 0, B < 250, M < 250.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert  # noqa: E402 - after the path fix

from bot.adapters.db.engine import create_engine, upgrade  # noqa: E402
from bot.adapters.db.store import SqlStore  # noqa: E402
from bot.adapters.db.tables import subscriptions  # noqa: E402
from bot.app import card_recipe, load_taxonomy  # noqa: E402
from bot.core.models import Author, DestinationRef, Paper, Platform  # noqa: E402
from bot.core.planning import PlannedDelivery  # noqa: E402
from bot.services.cards import CardService  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes.discord import FakeDiscord  # noqa: E402
from tests.fakes.slack import DEFAULT_TEAM, FakeSlack  # noqa: E402
from tests.fakes.sources import FakeSources  # noqa: E402

GUILD = "1700000000000000001"
DISCORD_RATE = (50, 1.0)  # the bot's posts per second
DISCORD_CHANNEL_RATE = (5, 5.0)
SLACK_CHANNEL_RATE = (1, 1.0)
NOW = datetime.now(UTC).replace(microsecond=0)


def _paper(i: int) -> Paper:
    return Paper(
        arxiv_id=f"2611.{i:05d}",
        version=1,
        title=f"Paper {i}: sparse attention for long contexts, part {i % 97}",
        abstract=(
            f"We propose method {i} for efficient transformers. It is {i % 7 + 2}x faster than "
            "dense attention on long documents. Code is released."
        ),
        authors=(Author(f"Author {i % 1000}"), Author("Ann Lee")),
        categories=("cs.CL", "cs.LG"),
        published=NOW - timedelta(days=i % 30),
        sources=frozenset({"arxiv"}),
    )


async def _seed(url: str, papers: int, subs: int, channels: int, cards: int) -> list[str]:
    """The database: papers, subscriptions, and the cards queued; the channels' refs."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        store = SqlStore(engine)
        # As a poll leaves them: stored, and their card parts prepared (bot/services/cards.py).
        taxonomy = load_taxonomy(Settings())
        service = CardService(store, [], taxonomy, _Clock(), recipe=card_recipe(taxonomy))
        for start in range(0, papers, 5000):
            batch = [_paper(i) for i in range(start, min(papers, start + 5000))]
            await store.upsert_papers(batch, now=NOW - timedelta(days=1))
            await service.prepare(batch)
            print(f"  {min(papers, start + 5000)} papers stored", flush=True)
        refs = [
            DestinationRef.parse(f"discord:{1700000000000001000 + n}") for n in range(channels // 2)
        ]
        refs += [
            DestinationRef(Platform.SLACK, DEFAULT_TEAM, f"C0BENCH{n:04d}")
            for n in range(channels - channels // 2)
        ]
        dests = [await store.ensure_destination(ref, now=NOW) for ref in refs]
        # Subscriptions that match nothing the fake sources serve, spread over the channels:
        # they weigh on every poll's matching, not on the measured cards.
        rows = [
            {
                "destination_id": dests[n % len(dests)].id,
                "query": f'au:"nobody{n}" OR ti:"no such title {n}"',
                "created_at": NOW,
                "starts_at": NOW,
                "paused": False,
            }
            for n in range(subs)
        ]
        async with engine.begin() as conn:
            await conn.execute(insert(subscriptions), rows)
        per = cards // len(dests)
        planned = [
            PlannedDelivery(_paper(n * per + k).arxiv_id, dest.id, 1, NOW)
            for n, dest in enumerate(dests)
            for k in range(per)
        ]
        await store.plan_deliveries(planned, now=NOW)
        return [str(ref) for ref in refs]
    finally:
        await engine.dispose()


class _Clock:
    def now(self) -> datetime:
        return NOW


def _ceiling(discord_per_channel: list[int], slack_per_channel: list[int]) -> float:
    """Seconds the limits need at best, from the first post to the last."""
    limit, period = DISCORD_RATE
    total = sum(discord_per_channel)
    discord_global = (total - 1) / limit * period if total else 0.0
    c_limit, c_period = DISCORD_CHANNEL_RATE
    discord_channel = max(
        ((math.ceil(n / c_limit) - 1) * c_period for n in discord_per_channel if n), default=0.0
    )
    s_limit, s_period = SLACK_CHANNEL_RATE
    slack_channel = max(
        ((math.ceil(n / s_limit) - 1) * s_period for n in slack_per_channel if n), default=0.0
    )
    return max(discord_global, discord_channel, slack_channel)


async def _lookups(fake: FakeDiscord, ids: list[str], channel: str) -> tuple[list[float], int]:
    records = await asyncio.gather(
        *(fake.invoke("paper", {"paper": i}, guild_id=GUILD, channel_id=channel) for i in ids)
    )
    latencies, errors = [], 0
    for record in records:
        try:
            response = await record.response()
        except Exception:
            errors += 1
            continue
        latencies.append(response.latency * 1000)
        if response.type != 4:
            errors += 1
    return latencies, errors


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        url = f"sqlite+aiosqlite:///{home / 'paperwire.db'}"
        print("seeding the database ...", flush=True)
        refs = asyncio.run(_seed(url, args.papers, args.subscriptions, args.channels, args.cards))
        discord_channels = [r.split(":", 1)[1] for r in refs if r.startswith("discord:")]
        slack_channels = [r.rsplit("/", 1)[1] for r in refs if r.startswith("slack:")]
        with (
            FakeSources.running_in_thread() as sources,
            FakeDiscord.running_in_thread(
                channel_rate=DISCORD_CHANNEL_RATE, global_rate=DISCORD_RATE
            ) as discord,
            FakeSlack.running_in_thread(channel_rate=SLACK_CHANNEL_RATE) as slack,
        ):
            discord.add_guild(GUILD, channels=discord_channels)
            ours = ("PAPERWIRE_", "SLACK_", "DISCORD_")
            env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
            env.update(sources.env())
            env.update(discord.env())
            env.update(slack.env("post"))
            env.update(
                {
                    "PYTHONPATH": str(REPO),
                    "PAPERWIRE_CONFIG": str(REPO / "config" / "paperwire.toml"),
                    "DATABASE_URL": url,
                    "PAPERWIRE_WEB_HOST": "127.0.0.1",
                    "PAPERWIRE_WEB_PORT": "0",
                    "PAPERWIRE_ARXIV_MIN_INTERVAL_SECONDS": "0",
                    "PAPERWIRE_HF_ENABLED": "false",
                    "PAPERWIRE_DELIVER_EVERY_SECONDS": "1",
                    "PAPERWIRE_LOG_LEVEL": "WARNING",
                }
            )
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=home,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                discord.call(discord.wait_ready)
                total = args.cards
                deadline = time.monotonic() + 300
                lookup_ids = [_paper(args.cards + 1000 + i).arxiv_id for i in range(args.lookups)]
                warm_ids = [
                    _paper(args.cards + 1000 + args.lookups + i).arxiv_id
                    for i in range(args.lookups)
                ]
                lookups: tuple[list[float], int] | None = None
                while time.monotonic() < deadline:
                    posted = len(_posts(discord, "post")) + len(_posts(slack, "chat.postMessage"))
                    if lookups is None and posted >= total // 10:
                        # A warm-up burst on other papers first (the connections a running
                        # bot has), then the measured one: papers never looked up before.
                        warm = discord.call(_lookups, discord, warm_ids, discord_channels[0])
                        print(f"warm-up lookups: {_latencies(warm[0])}", flush=True)
                        # The fakes measure in this process: as in bench/lookup.py, their
                        # long-lived objects out of the collector's way.
                        gc.collect()
                        gc.freeze()
                        lookups = discord.call(_lookups, discord, lookup_ids, discord_channels[0])
                    if posted >= total:
                        break
                    time.sleep(0.2)
                rss = _peak_rss_mb(bot.pid)
            finally:
                bot.send_signal(signal.SIGTERM)
                _, err = bot.communicate(timeout=30)
            if bot.returncode != 0:
                print(err[-3000:], file=sys.stderr)
            discord_times = sorted(_posts(discord, "post"))
            slack_times = sorted(_posts(slack, "chat.postMessage"))
            times = sorted(discord_times + slack_times)
            for name, got in (("discord", discord_times), ("slack", slack_times)):
                if got:
                    print(
                        f"{name}: {len(got)} cards from +{got[0] - times[0]:.1f} s "
                        f"to +{got[-1] - times[0]:.1f} s",
                        flush=True,
                    )
            rate_limited = discord.rate_limited_answers + slack.rate_limited_answers
            print(
                f"429s: discord {discord.rate_limited_answers}, slack {slack.rate_limited_answers}",
                flush=True,
            )
    per = args.cards // args.channels
    ceiling = _ceiling([per] * len(discord_channels), [per] * len(slack_channels))
    took = times[-1] - times[0] if len(times) > 1 else float("nan")
    latencies, errors = lookups or ([], args.lookups)
    print(f"cards posted: {len(times)} of {args.cards}; lookup errors: {errors}")
    print(
        f"e2e: {len(times)} cards in {took:.1f} s (ceiling {ceiling:.1f} s, "
        f"{100 * ceiling / took:.0f}% of ceiling); 429s: {rate_limited}; "
        f"/paper {_latencies(latencies)}; peak RSS {rss:.0f} MB"
    )
    return 0


def _latencies(values: list[float]) -> str:
    ordered = sorted(values) or [float("nan")]
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"p50 {p50:.0f} ms p99 {p99:.0f} ms"


def _posts(fake: FakeDiscord | FakeSlack, kind: str) -> list[float]:
    """Arrival times of the successful posts of cards (not lookups' replies)."""
    if isinstance(fake, FakeDiscord):
        return [
            r.started
            for r in fake.requests
            if r.kind == kind and r.method == "POST" and r.status == 200
        ]
    return [r.started for r in fake.requests if r.method == kind and r.status == 200]


if __name__ == "__main__":
    raise SystemExit(main())
