"""Shared fixtures: databases (SQLite always, PostgreSQL when one can be had) and a clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.adapters.db.engine import create_engine, upgrade
from bot.adapters.db.store import SqlStore
from tests.fakes.clock import FakeClock
from tests.postgres import PostgresServer, postgres_server

# Settings must never read a developer's own configuration or environment in tests.
for _name in list(os.environ):
    if _name.startswith("PAPERWIRE_") and not _name.startswith("PAPERWIRE_TEST_"):
        del os.environ[_name]
for _name in ("DATABASE_URL", "DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "PORT"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | None]:
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_server: PostgresServer | None
) -> str:
    """A fresh, empty database URL on each backend (PostgreSQL skipped when unavailable)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'paperwire.db'}"
    if pg_server is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: install postgresql (see .ci/run)")
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    return pg_server.create_database()


@pytest.fixture
def pg_url(pg_server: PostgresServer | None) -> str:
    """A fresh PostgreSQL database URL (skipped when unavailable; required in CI)."""
    if pg_server is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: install postgresql (see .ci/run)")
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    return pg_server.create_database()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        yield SqlStore(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
