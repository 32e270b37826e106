"""Engines and migrations: open the database, bring its schema up to date, refuse an old one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

__all__ = [
    "DatabaseError",
    "DatabaseNotMigrated",
    "check_migrated",
    "create_engine",
    "describe_url",
    "upgrade",
]

log = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseError(RuntimeError):
    """The database cannot be used; the message says what to do."""


class DatabaseNotMigrated(DatabaseError):
    pass


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite with WAL, foreign keys on and a generous busy timeout."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, poolclass=NullPool, **kwargs
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _head() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Apply every pending migration; return (revision before, revision after)."""

    def _run(connection: Connection) -> tuple[str | None, str | None]:
        before = _current(connection)
        command.upgrade(_alembic_config(connection), "head")
        return before, _current(connection)

    try:
        async with engine.begin() as conn:
            return await conn.run_sync(_run)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseError(
            f"cannot migrate {describe_url(str(engine.url))}: {_short(exc)}"
        ) from exc


async def check_migrated(engine: AsyncEngine) -> None:
    """Raise DatabaseNotMigrated (naming the fixing command) unless the schema is at head."""
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(_current)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseError(
            f"cannot open the database {describe_url(str(engine.url))}: {_short(exc)}"
        ) from exc
    head = _head()
    if current != head:
        state = "has no paperwire schema" if current is None else f"is at revision {current}"
        raise DatabaseNotMigrated(
            f"the database {describe_url(str(engine.url))} {state}, not {head}: "
            "run `paperwire db upgrade` first"
        )


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
