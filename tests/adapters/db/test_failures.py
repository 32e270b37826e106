"""A damaged, read-only, full, missing or foreign database: one line that names the file and says
what to do, from every store operation; never SQL, its parameters, or a paper's text.

Every case is real: SQLite files damaged on disk, SQLite's own size limit standing in for a full
disk, and a closed port on 127.0.0.1 for a PostgreSQL server that is down.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.db.engine import (
    DatabaseError,
    DatabaseMissing,
    check_migrated,
    create_engine,
    upgrade,
)
from bot.adapters.db.store import SqlStore
from bot.core.models import DestinationRef, Platform, PollState
from tests.adapters.db.test_store import make_paper
from tests.cli.helpers import paperwire

NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
TITLE = "Confidential findings on zebra migration"  # must never reach a message
LEAKS = ("SELECT", "INSERT", "UPDATE", "[SQL", "parameters", "zebra", "Traceback")

Operation = Callable[[SqlStore], Awaitable[Any]]
OPERATIONS: dict[str, Operation] = {
    "upsert_papers": lambda s: s.upsert_papers(
        [make_paper(f"2405.{i:05d}", title=f"{TITLE} {i}") for i in range(300)], now=NOW
    ),
    "get_paper": lambda s: s.get_paper("2403.00001"),
    "count_papers": lambda s: s.count_papers(),
    "ensure_destination": lambda s: s.ensure_destination(
        DestinationRef(Platform.CONSOLE, "", "console"), now=NOW
    ),
    "save_poll_state": lambda s: s.save_poll_state(PollState("arxiv", last_attempt=NOW)),
    "queue_stats": lambda s: s.queue_stats(),
}
WRITES = ("upsert_papers", "ensure_destination", "save_poll_state")


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _ruin_all_but_the_first_page(path: Path) -> None:
    with path.open("r+b") as fh:  # the header page stays: SQLite still takes it for a database
        fh.seek(4096)
        fh.write(b"\xa5" * (path.stat().st_size - 4096))


def _set_mode(path: Path, mode: int) -> None:
    path.chmod(mode)


def _delete(path: Path) -> None:
    path.unlink()
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def _migrated(path: Path) -> Path:
    """A migrated database holding a few papers (their text is what must not leak)."""
    engine = create_engine(_sqlite_url(path))
    try:
        await upgrade(engine)
        papers = [make_paper(f"2403.{i:05d}", title=f"{TITLE} {i}") for i in range(100)]
        await SqlStore(engine).upsert_papers(papers, now=NOW)
    finally:
        await engine.dispose()
    return path


@pytest.fixture
async def migrated(tmp_path: Path) -> Path:
    return await _migrated(tmp_path / "paperwire.db")


async def _failure(url: str, operation: Operation, setup: Any = None) -> str:
    """Run one store operation on a fresh engine; return its DatabaseError's message."""
    engine = create_engine(url)
    if setup is not None:
        setup(engine)
    try:
        with pytest.raises(DatabaseError) as caught:
            await operation(SqlStore(engine))
    finally:
        await engine.dispose()
    return _one_clean_line(caught.value)


def _one_clean_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message, message
    assert len(message) < 400, message
    for leak in LEAKS:
        assert leak not in message, message
    return message


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_a_corrupt_database_says_so_for_every_operation(migrated: Path, name: str) -> None:
    _ruin_all_but_the_first_page(migrated)
    message = await _failure(_sqlite_url(migrated), OPERATIONS[name])
    assert str(migrated) in message
    assert "damaged" in message
    assert "restore it from a backup" in message


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_a_file_that_is_not_a_database_says_so(tmp_path: Path, name: str) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("These are my notes, not a database.\n" * 200)
    message = await _failure(_sqlite_url(notes), OPERATIONS[name])
    assert f"{notes} is not a SQLite database" in message
    assert "DATABASE_URL" in message


@pytest.mark.parametrize("name", WRITES)
async def test_a_database_opened_read_only_says_so_on_writing(migrated: Path, name: str) -> None:
    # SQLite's own read-only open: refuses writes even to root, unlike chmod.
    url = f"sqlite+aiosqlite:///file:{migrated}?mode=ro&uri=true"
    message = await _failure(url, OPERATIONS[name])
    assert f"cannot write to the database {migrated}: it is read-only" in message
    assert "write access" in message


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes to a file whatever its mode; see the mode=ro case"
)
@pytest.mark.parametrize("name", WRITES)
async def test_a_read_only_file_says_so_on_writing(migrated: Path, name: str) -> None:
    _set_mode(migrated, 0o444)
    try:
        message = await _failure(_sqlite_url(migrated), OPERATIONS[name])
    finally:
        _set_mode(migrated, 0o644)
    assert str(migrated) in message
    assert "write" in message


def _cap_at_current_size(path: Path) -> Callable[[AsyncEngine], None]:
    """Every connection may not grow the file: SQLite then fails as on a full disk."""
    with sqlite3.connect(path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()

    def setup(engine: AsyncEngine) -> None:
        @event.listens_for(engine.sync_engine, "connect")
        def _cap(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA max_page_count={pages}")
            cursor.close()

    return setup


async def test_a_full_disk_says_so(migrated: Path) -> None:
    message = await _failure(
        _sqlite_url(migrated), OPERATIONS["upsert_papers"], _cap_at_current_size(migrated)
    )
    assert f"the database {migrated} cannot grow" in message
    assert "free some space" in message


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_a_missing_folder_says_so_and_creates_nothing(tmp_path: Path, name: str) -> None:
    path = tmp_path / "no" / "such" / "paperwire.db"
    message = await _failure(_sqlite_url(path), OPERATIONS[name])
    assert f"the folder {path.parent} does not exist" in message
    assert not (tmp_path / "no").exists()


async def test_upgrade_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    path = tmp_path / "no" / "paperwire.db"
    engine = create_engine(_sqlite_url(path))
    try:
        with pytest.raises(DatabaseError) as caught:
            await upgrade(engine)
    finally:
        await engine.dispose()
    assert f"the folder {path.parent} does not exist" in _one_clean_line(caught.value)


async def test_check_migrated_never_creates_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_engine("sqlite+aiosqlite:///paperwire.db")  # relative, as by default
    try:
        with pytest.raises(DatabaseMissing) as caught:
            await check_migrated(engine)
    finally:
        await engine.dispose()
    assert _one_clean_line(caught.value) == (
        f"no database at {tmp_path / 'paperwire.db'}: run `paperwire db upgrade` to create it "
        "there, or set DATABASE_URL to your database"
    )
    assert _files(tmp_path) == []


async def test_a_database_deleted_while_running_is_not_recreated_empty(migrated: Path) -> None:
    engine = create_engine(_sqlite_url(migrated))
    try:
        store = SqlStore(engine)
        assert await store.count_papers() == 100
        _delete(migrated)
        with pytest.raises(DatabaseMissing) as caught:
            await store.count_papers()
    finally:
        await engine.dispose()
    assert str(migrated) in _one_clean_line(caught.value)
    assert _files(migrated.parent) == []


async def test_upgrade_creates_the_database_it_is_told_to(tmp_path: Path) -> None:
    path = tmp_path / "paperwire.db"
    engine = create_engine(_sqlite_url(path))
    try:
        before, after = await upgrade(engine)
        await check_migrated(engine)
    finally:
        await engine.dispose()
    assert before is None
    assert after is not None
    assert path.is_file()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unreachable() -> str:
    return f"postgresql+asyncpg://paperwire:hunter2@127.0.0.1:{_closed_port()}/paperwire"


@pytest.mark.parametrize("name", ["count_papers", "upsert_papers"])
async def test_an_unreachable_postgres_server_is_one_clear_line(
    unreachable: str, name: str
) -> None:
    message = await _failure(unreachable, OPERATIONS[name])
    assert "connection refused" in message
    assert "127.0.0.1" in message
    assert "hunter2" not in message
    assert "DATABASE_URL" in message


def test_the_command_line_prints_a_database_failure_as_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("These are my notes, not a database.\n" * 200)
    result = paperwire("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": _sqlite_url(notes)})
    assert result.code == 1
    assert result.err.startswith(f"paperwire: {notes} is not a SQLite database")
    assert len(result.err.strip().splitlines()) == 1
