"""One leader among the processes sharing a PostgreSQL: the lock is held on a connection of
its own; when the leader goes, another takes over at its next try."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.db.engine import create_engine
from bot.adapters.db.leader import Leadership


async def test_sqlite_always_leads() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        leader = Leadership(engine)
        await leader.start()
        assert leader.is_leader
        await leader.stop()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_exactly_one_leader_and_a_successor_when_it_goes(pg_url: str) -> None:
    url = pg_url
    first_engine, second_engine = create_engine(url), create_engine(url)
    first = Leadership(first_engine, retry_seconds=0.05)
    second = Leadership(second_engine, retry_seconds=0.05)
    try:
        await first.start()
        await second.start()
        assert first.is_leader
        assert not second.is_leader
        await first.stop()  # the leader goes: its connection and lock with it
        await asyncio.wait_for(second.wait_changed(), 5)
        assert second.is_leader
    finally:
        await first.stop()
        await second.stop()
        await first_engine.dispose()
        await second_engine.dispose()
