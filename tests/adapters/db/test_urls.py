"""DATABASE_URL as hosting providers hand it out: libpq's form, translated for asyncpg.

The translation is checked as a pure function, then for real against the throwaway PostgreSQL
server of the tests (no SSL there: ``prefer`` must fall back, ``require`` must say why not).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import text

from bot.adapters.db.engine import (
    DatabaseError,
    DatabaseUrlError,
    asyncpg_connect_args,
    check_migrated,
    create_engine,
    describe_url,
    normalize_database_url,
    reading,
)
from tests.postgres import PostgresServer

PASSWORD = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("postgres://u:pw@db.example.com/app", "postgresql+asyncpg://u:pw@db.example.com/app"),
        ("postgresql://u:pw@h:6543/app", "postgresql+asyncpg://u:pw@h:6543/app"),
        ("postgresql+asyncpg://u:pw@h/app", "postgresql+asyncpg://u:pw@h/app"),
        (
            "postgres://u:pw@h/app?sslmode=require",
            "postgresql+asyncpg://u:pw@h/app?sslmode=require",
        ),
        ("  postgres://u:pw@h/app\n", "postgresql+asyncpg://u:pw@h/app"),
        ("postgres://u:p%40ss%2Fw@h/app", "postgresql+asyncpg://u:p%40ss%2Fw@h/app"),
        ("sqlite:///paperwire.db", "sqlite+aiosqlite:///paperwire.db"),
        ("sqlite:////var/lib/paperwire.db", "sqlite+aiosqlite:////var/lib/paperwire.db"),
        ("sqlite+aiosqlite:///paperwire.db", "sqlite+aiosqlite:///paperwire.db"),
    ],
)
def test_urls_hosting_providers_hand_out_are_accepted(given: str, normal: str) -> None:
    assert normalize_database_url(given) == normal


@pytest.mark.parametrize(
    ("query", "dsn", "extra"),
    [
        ("sslmode=require", {"sslmode": "require"}, {}),
        ("ssl=require", {"sslmode": "require"}, {}),  # SQLAlchemy's spelling
        ("sslmode=verify-full", {"sslmode": "verify-full"}, {}),
        (
            "sslmode=require&channel_binding=prefer&target_session_attrs=read-write",
            {"sslmode": "require", "target_session_attrs": "read-write"},
            {},
        ),
        (
            "application_name=pw&options=-c%20search_path%3Dpw",
            {},
            {"server_settings": {"application_name": "pw", "options": "-c search_path=pw"}},
        ),
        ("connect_timeout=10", {}, {"timeout": 10.0}),
        ("connect_timeout=0", {}, {}),  # libpq: wait forever; asyncpg keeps its 60 s
        (
            "statement_cache_size=0&command_timeout=30",
            {},
            {"statement_cache_size": 0, "command_timeout": 30.0},
        ),
        ("gssencmode=disable", {}, {}),
    ],
)
def test_libpq_parameters_become_asyncpgs(
    query: str, dsn: dict[str, str], extra: dict[str, object]
) -> None:
    url, args = asyncpg_connect_args(f"postgresql+asyncpg://u:pw@h:5432/app?{query}")
    assert url.query == {}  # nothing left for SQLAlchemy to pass as an unknown keyword
    assert (url.host, url.port, url.database, url.username) == ("h", 5432, "app", "u")
    if dsn:  # asyncpg reads these from a libpq URI carrying nothing else
        given = urlsplit(args.pop("dsn"))
        assert (given.scheme, given.netloc, given.path) == ("postgresql", "", "")
        assert dict(parse_qsl(given.query)) == dsn
    assert args == extra


def test_certificate_paths_travel_to_asyncpg(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    _, args = asyncpg_connect_args(
        f"postgresql+asyncpg://u:pw@h/app?sslmode=verify-full&sslrootcert={ca}"
    )
    assert dict(parse_qsl(urlsplit(args["dsn"]).query))["sslrootcert"] == str(ca)


def test_sqlalchemys_own_parameters_stay_in_the_url() -> None:
    url, _ = asyncpg_connect_args(
        "postgresql+asyncpg://u:pw@/app?host=/run/postgresql&prepared_statement_cache_size=0"
    )
    assert dict(url.query) == {"host": "/run/postgresql", "prepared_statement_cache_size": "0"}


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (f"postgres://u:{PASSWORD}@host:abc/db", "port is not a number"),
        (f"postgres://u:{PASSWORD}@host:70000/db", "between 1 and 65535"),
        (f"postgres://u:{PASSWORD}@h/db?sslmode=requir", "sslmode must be one of disable"),
        (f"postgres://u:{PASSWORD}@h/db?channel_binding=require", "remove channel_binding"),
        (f"postgres://u:{PASSWORD}@h/db?gssencmode=require", "remove gssencmode"),
        (f"postgres://u:{PASSWORD}@h/db?pgbouncer=true", "parameter 'pgbouncer'"),
        (f"postgres://u:{PASSWORD}@h/db?sslrootcert=/no/such/ca.pem", "no such file"),
        (f"postgres://u:{PASSWORD}@h/db?connect_timeout=soon", "connect_timeout must be"),
        (f"postgres://u:{PASSWORD}@h/db?sslmode=require&ssl=disable", "not both"),
        (f"postgres://u:{PASSWORD}@h/db?sslmode=require&sslmode=disable", "more than once"),
        (f"postgresql+psycopg2://u:{PASSWORD}@h/db", "without +psycopg2"),
        (f"mysql://u:{PASSWORD}@h/db", "'mysql'"),
        ("paperwire.db", "not a database URL"),
        (f"sqlite://u:{PASSWORD}@h/paperwire.db", "names a file, not a server"),
    ],
)
def test_a_url_that_cannot_work_is_refused_without_the_password(url: str, fragment: str) -> None:
    with pytest.raises(DatabaseUrlError) as caught:
        normalize_database_url(url)
    message = str(caught.value)
    assert fragment in message
    assert PASSWORD not in message
    assert "\n" not in message


def test_a_password_in_a_badly_encoded_url_is_not_echoed_as_a_port() -> None:
    # An unencoded '/' in the password: the part after ':' looks like a port.
    with pytest.raises(DatabaseUrlError) as caught:
        normalize_database_url("postgres://user@host:secretpart/db")
    assert "secretpart" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql+asyncpg://u:{PASSWORD}@h:5432/db", "postgresql://u:***@h:5432/db"),
        (
            f"postgresql+asyncpg://u@h/db?sslmode=verify-full&sslpassword={PASSWORD}",
            "postgresql://u@h/db?sslmode=verify-full&sslpassword=***",
        ),
        ("sqlite+aiosqlite://", "an in-memory SQLite database"),
        ("sqlite+aiosqlite:///:memory:", "an in-memory SQLite database"),
        ("sqlite+aiosqlite:////srv/pw/paperwire.db", "/srv/pw/paperwire.db"),
        ("sqlite+aiosqlite:///file:/srv/pw/paperwire.db?mode=ro&uri=true", "/srv/pw/paperwire.db"),
    ],
)
def test_describe_url_hides_secrets(url: str, shown: str) -> None:
    assert describe_url(url) == shown


def test_describe_url_gives_a_relative_sqlite_file_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert describe_url("sqlite+aiosqlite:///paperwire.db") == str(tmp_path / "paperwire.db")
    assert describe_url("sqlite:///data/pw.db") == str(tmp_path / "data" / "pw.db")


# --- for real, against the tests' PostgreSQL server -----------------------------------------


@pytest.fixture
def pg_url(pg_server: PostgresServer | None) -> str:
    """A fresh database's URL in libpq's form (postgresql://...), as a provider gives it."""
    if pg_server is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    return pg_server.create_database().replace("postgresql+asyncpg://", "postgresql://", 1)


async def _ask(url: str, sql: str) -> str:
    engine = create_engine(url)
    try:
        async with reading(engine) as conn:
            return str((await conn.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
async def test_sslmodes_that_allow_plain_connections_connect(pg_url: str, mode: str) -> None:
    assert await _ask(f"{pg_url}?sslmode={mode}", "SELECT 1") == "1"


async def test_postgres_scheme_with_provider_parameters_connects(pg_url: str) -> None:
    url = pg_url.replace("postgresql://", "postgres://", 1)
    query = (
        "sslmode=prefer&channel_binding=prefer&application_name=paperwire-test&connect_timeout=5"
    )
    assert await _ask(f"{url}?{query}", "SHOW application_name") == "paperwire-test"


async def test_options_reach_the_server(pg_url: str) -> None:
    url = f"{pg_url}?options=-c%20statement_timeout%3D4321"
    assert await _ask(url, "SHOW statement_timeout") == "4321ms"


async def test_sslmode_require_without_ssl_on_the_server_is_one_clear_line(pg_url: str) -> None:
    engine = create_engine(f"{pg_url}?sslmode=require")
    try:
        with pytest.raises(DatabaseError) as caught:
            await check_migrated(engine)
    finally:
        await engine.dispose()
    message = str(caught.value)
    assert "\n" not in message
    assert "does not offer SSL" in message
    assert "sslmode=prefer" in message


async def test_verify_full_without_a_root_certificate_is_one_clear_line(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.postgresql/root.crt there
    engine = create_engine(f"{pg_url}?sslmode=verify-full")
    try:
        with pytest.raises(DatabaseError) as caught:
            await check_migrated(engine)
    finally:
        await engine.dispose()
    message = str(caught.value)
    assert "\n" not in message
    assert "root certificate" in message
    assert "DATABASE_URL" in message
