"""Engines and migrations: open the database, bring its schema up to date, refuse an old one.

Every failure of the database leaves this package as a ``DatabaseError`` whose message is one
line: what is wrong, with which database, and what to do. Driver messages are not copied into
it, since SQLAlchemy's carry the SQL and its parameters (paper text, perhaps secrets)::

    DatabaseError(RuntimeError)      the database cannot be used now
    ├── DatabaseNotMigrated          its schema is not paperwire's current one
    │   └── DatabaseMissing          a SQLite file that does not exist (nothing creates it but
    │                                ``upgrade``, so a command run from another folder cannot
    │                                quietly start a second, empty database there)
    ├── DatabaseConflict             a concurrent transaction won (PostgreSQL deadlock or
    │                                serialization failure): running it again is safe
    └── DatabaseUrlError(ValueError) a DATABASE_URL that cannot work
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import sqlite3
import ssl
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urlparse

from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "DatabaseConflict",
    "DatabaseError",
    "DatabaseMissing",
    "DatabaseNotMigrated",
    "DatabaseUrlError",
    "asyncpg_connect_args",
    "check_migrated",
    "create_engine",
    "database_error",
    "describe_url",
    "normalize_database_url",
    "reading",
    "upgrade",
    "writing",
]

log = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseError(RuntimeError):
    """The database cannot be used; the message (one line) says which one and what to do."""


class DatabaseNotMigrated(DatabaseError):
    """The database's schema is not at paperwire's head revision."""


class DatabaseMissing(DatabaseNotMigrated):
    """The SQLite file does not exist; ``path`` is its absolute path."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class DatabaseConflict(DatabaseError):
    """A concurrent transaction made this one fail (it was rolled back): run it again."""


class DatabaseUrlError(DatabaseError, ValueError):
    """DATABASE_URL cannot work; the message says what to write instead (never the password)."""


# --- URLs ----------------------------------------------------------------------------------

_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}
_URL_FORMS = "write sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"

_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# libpq parameters that asyncpg reads from a connection URI by libpq's own rules (root.crt in
# ~/.postgresql, PGSSL* variables...): they reach it through the ``dsn`` argument, unchanged.
# A tuple of allowed values, or None for any value.
_VIA_DSN: dict[str, tuple[str, ...] | None] = {
    "sslmode": _SSLMODES,
    "sslrootcert": None,
    "sslcert": None,
    "sslkey": None,
    "sslcrl": None,
    "sslpassword": None,
    "sslnegotiation": ("postgres", "direct"),
    "ssl_min_protocol_version": ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"),
    "ssl_max_protocol_version": ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"),
    "target_session_attrs": (
        "any",
        "primary",
        "standby",
        "prefer-standby",
        "read-write",
        "read-only",
    ),
    "krbsrvname": None,
    "gsslib": ("gssapi", "sspi"),
    "passfile": None,
}
_FILES = ("sslrootcert", "sslcert", "sslkey", "sslcrl", "passfile")
# Sent to the server at start-up, as libpq does (``options`` carries ``-c name=value`` pairs).
_SERVER_SETTINGS = ("application_name", "options")
# asyncpg's own keyword arguments that take a number.
_NUMBERS = {
    "connect_timeout": "timeout",  # libpq's name
    "command_timeout": "command_timeout",
    "statement_cache_size": "statement_cache_size",
    "max_cached_statement_lifetime": "max_cached_statement_lifetime",
    "max_cacheable_statement_size": "max_cacheable_statement_size",
}
# Left in the URL: SQLAlchemy and asyncpg read them from there.
_IN_URL = ("host", "port", "user", "password", "prepared_statement_cache_size")
# libpq features asyncpg lacks: harmless to drop when not insisted on, refused when required.
_UNSUPPORTED = {
    "channel_binding": ("disable", "prefer"),
    "gssencmode": ("disable", "prefer"),
}
_SECRET_PARAMS = frozenset({"password", "sslpassword"})


def _parse(url: str | URL) -> URL:
    if isinstance(url, URL):
        return url
    try:
        return make_url(url.strip())
    except ArgumentError as exc:
        raise DatabaseUrlError(f"not a database URL; {_URL_FORMS}") from exc
    except ValueError:
        # SQLAlchemy's int(port). The value is not echoed: a password holding an unencoded
        # '/' or '@' can end up in that place.
        raise DatabaseUrlError(
            "the port is not a number (percent-encode any : / @ ? # in the password)"
        ) from None


def normalize_database_url(url: str | URL) -> str:
    """The URL as paperwire's engine takes it, or DatabaseUrlError saying what to write.

    Hosting providers hand out ``postgres://`` and ``postgresql://`` URLs with libpq's
    parameters (``sslmode=require``...); these become the asyncpg driver's, and a parameter
    asyncpg cannot honour is refused here rather than failing at the first connection.
    """
    parsed = _parse(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        kind, _, library = parsed.drivername.partition("+")
        if kind in _DRIVERS:
            raise DatabaseUrlError(
                f"paperwire opens {kind} databases with its own driver, not {library}: "
                f"write {kind}:// without +{library}"
            )
        raise DatabaseUrlError(f"paperwire cannot use a {kind!r} database; {_URL_FORMS}")
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite"):
        if parsed.host or parsed.username or parsed.password or parsed.port:
            raise DatabaseUrlError(
                "a SQLite URL names a file, not a server: write sqlite:///relative/path.db "
                "or sqlite:////absolute/path.db"
            )
    else:
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise DatabaseUrlError(f"the port {parsed.port} is not between 1 and 65535")
        asyncpg_connect_args(parsed)  # raises on what asyncpg cannot do
    return parsed.render_as_string(hide_password=False)


def _one(query: dict[str, Any], key: str) -> str:
    value = query[key]
    if isinstance(value, tuple):
        raise DatabaseUrlError(f"the parameter {key} is given more than once; give it once")
    return str(value)


def _number(key: str, value: str) -> float | int:
    """A timeout in seconds (float) or a size or count (int), never negative."""
    try:
        number = float(value) if key.endswith("timeout") else int(value)
    except ValueError:
        number = -1
    if number < 0:
        kind = "a number of seconds" if key.endswith("timeout") else "a whole number"
        raise DatabaseUrlError(f"{key} must be {kind}, like {key}=10")
    return number


def asyncpg_connect_args(url: str | URL) -> tuple[URL, dict[str, Any]]:
    """Split a PostgreSQL URL into the URL SQLAlchemy connects with and asyncpg's ``connect_args``.

    asyncpg takes ``ssl``, not libpq's ``sslmode``, and has no keyword for ``sslrootcert`` and
    the like; it does read all of them from a libpq connection URI, so they travel as a ``dsn``
    whose host, user and database come from the URL. Raises DatabaseUrlError on a parameter it
    cannot honour.
    """
    parsed = _parse(url)
    query = dict(parsed.query)
    dsn: dict[str, str] = {}
    server_settings: dict[str, str] = {}
    connect_args: dict[str, Any] = {}
    keep: dict[str, Any] = {}
    if "ssl" in query:  # SQLAlchemy's documented spelling of sslmode for asyncpg
        if "sslmode" in query:
            raise DatabaseUrlError("give sslmode or ssl, not both")
        query["sslmode"] = query.pop("ssl")
    for key in sorted(query):
        if key == "host":  # may be repeated: several hosts, tried in turn (SQLAlchemy's form)
            keep[key] = query[key]
            continue
        value = _one(query, key)
        if key in _VIA_DSN:
            allowed = _VIA_DSN[key]
            if allowed is not None and value not in allowed:
                raise DatabaseUrlError(f"{key} must be one of {', '.join(allowed)}")
            if key in _FILES and not Path(value).expanduser().is_file():
                raise DatabaseUrlError(f"{key}: no such file {value}; give the path of the file")
            dsn[key] = value
        elif key in _SERVER_SETTINGS:
            server_settings[key] = value
        elif key == "fallback_application_name":
            server_settings.setdefault("application_name", value)
        elif key in _NUMBERS:
            number = _number(key, value)
            if key != "connect_timeout" or number > 0:  # libpq's 0 waits forever: keep 60 s
                connect_args[_NUMBERS[key]] = number
        elif key == "dbname":
            if parsed.database and parsed.database != value:
                raise DatabaseUrlError("the URL names two databases (its path and dbname=)")
            parsed = parsed.set(database=value)
        elif key in _IN_URL:
            if key == "port" and not all(p.isdigit() for p in value.split(",")):
                raise DatabaseUrlError("the port is not a number")
            keep[key] = query[key]
        elif key in _UNSUPPORTED:
            if value == "require":
                raise DatabaseUrlError(
                    f"{key}=require asks for what asyncpg (paperwire's PostgreSQL driver) cannot "
                    f"do; remove {key} from the URL (sslmode=require still encrypts the connection)"
                )
            if value not in _UNSUPPORTED[key]:
                raise DatabaseUrlError(
                    f"{key} must be disable or prefer (asyncpg cannot require it)"
                )
        else:
            raise DatabaseUrlError(
                f"paperwire does not know the URL parameter {key!r}; remove it (it understands "
                "libpq's sslmode, sslrootcert, sslcert, sslkey, application_name, options, "
                "connect_timeout, target_session_attrs and the like)"
            )
    if dsn:
        connect_args["dsn"] = "postgresql://?" + urlencode(dsn)
    if server_settings:
        connect_args["server_settings"] = server_settings
    return parsed.set(query=keep), connect_args


def _sqlite_path(url: URL) -> str | None:
    """The absolute path of a SQLite URL's file, or None for an in-memory database."""
    database = url.database or ""
    if str(url.query.get("uri", "")).lower() in {"true", "1"} and database.startswith("file:"):
        parts = urlparse(database)
        if "mode=memory" in parts.query:
            return None
        database = unquote(parts.path)
    if database in {"", ":memory:"}:
        return None
    return os.path.abspath(database)


def describe_url(url: str | URL) -> str:
    """Which database this is, for messages and logs: a SQLite file's absolute path, or the URL
    with the password (and any other secret parameter) hidden."""
    try:
        parsed = _parse(url)
    except DatabaseUrlError:
        return "the database in DATABASE_URL"
    if parsed.drivername.startswith("sqlite"):
        path = _sqlite_path(parsed)
        return path if path is not None else "an in-memory SQLite database"
    query = {k: ("***" if k in _SECRET_PARAMS else v) for k, v in parsed.query.items()}
    shown = parsed.set(drivername=parsed.drivername.partition("+")[0], query=query)
    return shown.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


# --- engines and transactions --------------------------------------------------------------

_READ_ONLY = "paperwire_read_only"  # an execution option: this connection only reads


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for a DATABASE_URL (any form ``normalize_database_url`` accepts).

    SQLite: WAL, foreign keys, a 30 s busy timeout, and an existing file only (``upgrade``
    creates it). PostgreSQL: libpq's URL parameters translated for asyncpg.
    """
    parsed = make_url(normalize_database_url(url))
    if parsed.drivername.startswith("sqlite"):
        # A small pool: opening a SQLite connection (a thread, its pragmas) costs far more
        # than a lookup does. A pooled connection whose file was removed or replaced since
        # is dropped at checkout (see _sqlite_events), so the pool never hides that.
        options: dict[str, Any] = {}
        if _sqlite_path(parsed) is not None:  # a file; an in-memory database has one connection
            options = {"pool_size": 5, "max_overflow": 15, "pool_timeout": 30}
        options.update(kwargs)
        engine = create_async_engine(parsed, connect_args={"timeout": 30}, **options)
        _sqlite_events(engine, _sqlite_path(parsed))
        return engine
    sa_url, connect_args = asyncpg_connect_args(parsed)
    return create_async_engine(sa_url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _sqlite_events(engine: AsyncEngine, path: str | None) -> None:
    @event.listens_for(engine.sync_engine, "do_connect")
    def _existing_file_only(_dialect: Any, _record: Any, cargs: list[Any], cparams: Any) -> None:
        # SQLite creates a missing file on open: only `paperwire db upgrade` may (see upgrade).
        # Checked here, before the driver runs, as aiosqlite leaves a failed connection's
        # thread to outlive the event loop. Opened "rw", a file removed since is not recreated.
        if path is not None:
            problem = _sqlite_file_problem(path)
            if problem is not None:
                raise problem
        if not cparams.get("uri") and cargs and cargs[0] != ":memory:":
            cargs[0] = f"file:{quote(str(cargs[0]))}?mode=rw"
            cparams["uri"] = True

    @event.listens_for(engine.sync_engine, "connect")
    def _driver_begins_nothing(dbapi_connection: Any, record: Any) -> None:
        # The driver would BEGIN only before the first INSERT/UPDATE, running the reads before
        # it outside the transaction; the "begin" listener below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        if path is not None:
            record.info["paperwire_file"] = _file_identity(path)

    @event.listens_for(engine.sync_engine, "checkout")
    def _same_file(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # A pooled connection still reads a file that was deleted or replaced meanwhile: drop
        # it, and the fresh connection says what happened to the file.
        if path is not None and record.info.get("paperwire_file") != _file_identity(path):
            raise DisconnectionError("the database file changed")

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        if not conn.info.get("paperwire_pragmas"):
            # Here rather than in "connect": a file that is not a database fails on its first
            # statement, and a statement's failure closes the connection cleanly.
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")  # a no-op inside a transaction
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")
            conn.info["paperwire_pragmas"] = True
        # A writer takes the write lock before it reads (BEGIN IMMEDIATE), so two writers wait
        # for each other (busy_timeout) rather than one acting on a stale read or failing with
        # SQLITE_BUSY_SNAPSHOT, which the busy timeout does not retry. Readers never wait.
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def _sqlite_file_problem(path: str) -> DatabaseError | None:
    """Why the SQLite file at ``path`` cannot be opened, or None when it can be tried."""
    if os.path.isfile(path):
        return None
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        return DatabaseError(
            f"cannot open the database {path}: the folder {folder} does not exist; create it "
            "and run `paperwire db upgrade`, or set DATABASE_URL to your database"
        )
    if os.path.isdir(path):
        return DatabaseError(
            f"cannot open the database {path}: it is a folder; set DATABASE_URL to a file"
        )
    if not os.path.exists(path):
        return DatabaseMissing(
            f"no database at {path}: run `paperwire db upgrade` to create it there, "
            "or set DATABASE_URL to your database",
            path=path,
        )
    return DatabaseError(
        f"cannot open the database {path}: it is not a regular file; set DATABASE_URL to "
        "paperwire's database file"
    )


# What a database failure can surface as: SQLAlchemy's wrapper of a driver error, a driver
# error raised outside SQLAlchemy's wrapping, or a network error while connecting.
_FAILURES: tuple[type[BaseException], ...] = (DBAPIError, sqlite3.Error, OSError)


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection that only reads; any database failure comes out as DatabaseError."""
    try:
        async with engine.connect() as conn:
            await conn.execution_options(**{_READ_ONLY: True})
            yield conn
    except _FAILURES as exc:
        raise database_error(exc, engine.url) from exc


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One write transaction, committed on success; failures come out as DatabaseError.

    SQLite lets one transaction write at a time. Its writers take turns here, before they take
    a pooled connection: waiting on SQLite's own lock instead, a hundred deliveries confirming
    at once would each hold a connection, and a lookup's read (which WAL lets run beside a
    write) would wait for the pool behind them all. The turn is not re-entrant: a write never
    opens another write inside it (it would wait for itself).
    """
    turn = _sqlite_writer_turn(engine)
    try:
        async with turn, engine.begin() as conn:
            yield conn
    except _FAILURES as exc:
        raise database_error(exc, engine.url) from exc


# One writer at a time per SQLite engine (and event loop): see ``writing``.
_WRITER_TURNS: weakref.WeakKeyDictionary[Any, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_writer_turn(engine: AsyncEngine) -> AbstractAsyncContextManager[Any]:
    if engine.dialect.name != "sqlite":
        return nullcontext()
    loop = asyncio.get_running_loop()
    held = _WRITER_TURNS.get(engine.sync_engine)
    if held is None or held[0] is not loop:
        held = _WRITER_TURNS[engine.sync_engine] = (loop, asyncio.Lock())
    return held[1]


# --- migrations ----------------------------------------------------------------------------


# Alembic is imported where it is used: a command that only reads (status, subs list) starts
# without it, about half a second sooner.


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _create_sqlite_file(url: URL) -> None:
    """Create an empty SQLite file (a valid, empty database) where the URL says, if missing."""
    if not url.drivername.startswith("sqlite"):
        return
    path = _sqlite_path(url)
    if path is None or os.path.exists(path):
        return
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise DatabaseError(
            f"cannot create the database {path}: the folder {folder} does not exist; "
            "create it, or set DATABASE_URL to where the database should be"
        )
    try:
        Path(path).touch(exist_ok=True)
    except OSError as exc:
        raise DatabaseError(
            f"cannot create the database {path} ({exc.strerror or type(exc).__name__}): "
            "run paperwire as a user who may write that folder, or set DATABASE_URL elsewhere"
        ) from exc
    log.info("created the SQLite database %s", path)


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Apply every pending migration (creating a SQLite file first); return (before, after)."""

    def _run(connection: Connection) -> tuple[str | None, str | None]:
        before = _current(connection)
        from alembic import command

        command.upgrade(_alembic_config(connection), "head")
        return before, _current(connection)

    _create_sqlite_file(engine.url)
    async with writing(engine) as conn:
        return await conn.run_sync(_run)


async def check_migrated(engine: AsyncEngine) -> None:
    """Raise DatabaseNotMigrated (naming the fixing command) unless the schema is at head.

    Never creates anything: a SQLite file that does not exist raises DatabaseMissing.
    """
    async with reading(engine) as conn:
        current = await conn.run_sync(_current)
    head = _head()
    if current != head:
        state = "has no paperwire schema" if current is None else f"is at revision {current}"
        raise DatabaseNotMigrated(
            f"the database {describe_url(engine.url)} {state}, not {head}: "
            "run `paperwire db upgrade` first"
        )


# --- failures ------------------------------------------------------------------------------


def database_error(exc: BaseException, url: str | URL) -> DatabaseError:
    """The one-line DatabaseError for a failure of the database at ``url``.

    The message is built from the error's kind (SQLite's result code, PostgreSQL's SQLSTATE, the
    network error), never from the driver's text, which may quote SQL or its parameters.
    """
    if isinstance(exc, DatabaseError):
        return exc
    parsed = _parse(url)
    orig: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    if parsed.drivername.startswith("sqlite"):
        return _sqlite_error(orig, parsed)
    return _postgres_error(orig, parsed)


def _sqlite_error(orig: BaseException, url: URL) -> DatabaseError:
    where = describe_url(url)
    code = getattr(orig, "sqlite_errorcode", None)
    name = getattr(orig, "sqlite_errorname", None) or type(orig).__name__
    primary = code & 0xFF if isinstance(code, int) else None
    fresh = "move it aside and run `paperwire db upgrade` to start an empty one"
    if primary == sqlite3.SQLITE_CORRUPT:
        return DatabaseError(
            f"the database {where} is damaged (SQLite: database disk image is malformed): "
            f"restore it from a backup, or {fresh}"
        )
    if primary == sqlite3.SQLITE_NOTADB:
        return DatabaseError(
            f"{where} is not a SQLite database (or is encrypted or damaged): point "
            f"DATABASE_URL at paperwire's database, or {fresh}"
        )
    if primary == sqlite3.SQLITE_READONLY:
        return DatabaseError(
            f"cannot write to the database {where}: it is read-only ({name}); give the user "
            "running paperwire write access to the file and its folder (SQLite writes -wal and "
            "-shm files beside it), or point DATABASE_URL at a writable copy"
        )
    if primary == sqlite3.SQLITE_FULL:
        return DatabaseError(
            f"the database {where} cannot grow: the disk (or the database's size limit) is "
            "full; free some space, then try again"
        )
    if primary == sqlite3.SQLITE_CANTOPEN:
        return _cannot_open(where)
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseError(
            f"the database {where} stayed locked by another process for 30 s: try again; if "
            "it keeps happening, look for a stuck paperwire process using it"
        )
    if primary == sqlite3.SQLITE_IOERR:
        return DatabaseError(
            f"the disk failed while reading or writing the database {where} ({name}): check "
            "the disk and its free space, then try again"
        )
    if primary in (sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return DatabaseError(
            f"access to the database {where} was denied ({name}): run paperwire as a user "
            "who may read and write it"
        )
    text = str(orig)
    if primary == sqlite3.SQLITE_ERROR and text.startswith(("no such table", "no such column")):
        return DatabaseNotMigrated(
            f"the database {where} lacks paperwire's tables or columns (was the file replaced "
            "or its schema changed?): run `paperwire db upgrade`"
        )
    if isinstance(orig, OSError):
        return DatabaseError(
            f"cannot use the database {where} ({orig.strerror or type(orig).__name__})"
        )
    return DatabaseError(
        f"the database {where} failed ({name}): try again, and report it if it keeps happening"
    )


def _cannot_open(path: str) -> DatabaseError:
    return _sqlite_file_problem(path) or DatabaseError(
        f"cannot open the database {path}: run paperwire as a user who may read and write "
        "it and its folder"
    )


_SQLSTATES: dict[str, str] = {
    "28P01": "refused the user name or password in DATABASE_URL: check them",
    "28000": "refused this connection (its pg_hba.conf rules: the server may require "
    "sslmode=require, or not admit this user from this host)",
    "3D000": "has no such database: create it (createdb), or fix the database name in DATABASE_URL",
    "53300": "has no free connection slots: try again later, or raise its max_connections",
    "53100": "has a full disk: free some space on the server, then try again",
    "53200": "ran out of memory: try again later",
    "57P01": "is shutting down: try again when it is back",
    "57P02": "is shutting down: try again when it is back",
    "57P03": "is starting up or in recovery: try again in a moment",
    "25006": "is read-only (a standby?): point DATABASE_URL at the primary, or add "
    "target_session_attrs=read-write",
    "42501": "refused paperwire a permission it needs: grant the user in DATABASE_URL rights "
    "on the database (its owner has them all)",
    "42P01": "lacks paperwire's tables: run `paperwire db upgrade`",
    "42703": "lacks paperwire's current columns: run `paperwire db upgrade`",
}


def _sqlstate(orig: BaseException) -> str | None:
    for candidate in (orig, orig.__cause__):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def _postgres_error(orig: BaseException, url: URL) -> DatabaseError:
    where = describe_url(url)
    state = _sqlstate(orig)
    if state in ("40001", "40P01"):
        kind = "deadlock" if state == "40P01" else "serialization failure"
        return DatabaseConflict(
            f"a concurrent update of the database {where} won ({kind}): try again"
        )
    if state is not None and state[:2] == "08":
        return DatabaseError(
            f"lost the connection to the PostgreSQL server of {where} (SQLSTATE {state}): "
            "try again; check the server if it keeps happening"
        )
    if state in ("42P01", "42703"):
        return DatabaseNotMigrated(f"the database {where} {_SQLSTATES[state]}")
    if state in _SQLSTATES:
        return DatabaseError(f"the PostgreSQL server of {where} {_SQLSTATES[state]}")
    if isinstance(orig, ssl.SSLCertVerificationError):
        return DatabaseError(
            f"cannot verify the certificate of the PostgreSQL server of {where} "
            f"({orig.verify_message}): give its CA with sslrootcert=/path/ca.pem in "
            "DATABASE_URL, or use sslmode=require to encrypt without verifying"
        )
    if isinstance(orig, ssl.SSLError):
        return DatabaseError(
            f"SSL with the PostgreSQL server of {where} failed ({orig.reason or 'SSL error'}): "
            "check sslmode and the certificate parameters in DATABASE_URL"
        )
    if isinstance(orig, ConnectionRefusedError):
        return DatabaseError(
            f"cannot reach the PostgreSQL server of {where} (connection refused): start it, or "
            "fix the host and port in DATABASE_URL"
        )
    if isinstance(orig, socket.gaierror):
        return DatabaseError(
            f"cannot find the PostgreSQL host {url.host} (name lookup failed): fix the host "
            "in DATABASE_URL"
        )
    if isinstance(orig, TimeoutError):
        return DatabaseError(
            f"the PostgreSQL server of {where} did not answer in time: check that it is up and "
            "reachable from here (network, firewall)"
        )
    if isinstance(orig, ConnectionError) and "SSL" in str(orig):
        # asyncpg: 'PostgreSQL server at "host:port" rejected SSL upgrade'
        return DatabaseError(
            f"the PostgreSQL server of {where} does not offer SSL, which DATABASE_URL asks for "
            "(sslmode=require or stricter): enable SSL on the server, or set sslmode=prefer "
            "(encrypt when possible) or sslmode=disable"
        )
    if isinstance(orig, OSError):
        reason = orig.strerror or errno.errorcode.get(orig.errno or 0) or type(orig).__name__
        return DatabaseError(
            f"cannot reach the PostgreSQL server of {where} ({reason}): check that it is up and "
            "that DATABASE_URL names it"
        )
    cause = orig.__cause__
    if type(cause).__name__ == "ClientConfigurationError":
        # asyncpg's complaint about the connection settings (a missing certificate file...).
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else "bad settings"
        return DatabaseError(f"cannot connect to {where}: {first}; fix DATABASE_URL")
    if "connection is closed" in str(orig) or "connection was closed" in str(orig):
        return DatabaseError(
            f"lost the connection to the PostgreSQL server of {where}: try again; check the "
            "server if it keeps happening"
        )
    detail = f"SQLSTATE {state}" if state else type(cause or orig).__name__
    return DatabaseError(
        f"the database {where} failed ({detail}): try again, and report it if it keeps happening"
    )
