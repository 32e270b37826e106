"""A throwaway PostgreSQL server for the tests.

``PAPERWIRE_TEST_POSTGRES_URL`` (an admin URL such as postgresql://postgres@127.0.0.1:5432/postgres)
points the tests at a running server. Otherwise, when PostgreSQL's server binaries are installed
(Debian: ``apt-get install postgresql``), a private cluster is created in a temporary folder,
started on a free loopback port, and removed at the end. As root, the server runs as the
``postgres`` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PostgresServer", "find_pg_bin", "postgres_server"]


def find_pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url  # postgresql://user@host:port/postgres (no driver)

    def create_database(self) -> str:
        """A new, empty database; returns its asyncpg SQLAlchemy URL."""
        name = f"pw_{uuid.uuid4().hex[:12]}"
        import asyncio

        import asyncpg

        async def _create() -> None:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(_create())
        base = self.admin_url.rsplit("/", 1)[0]
        return base.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer | None]:
    """Yield a server, or None (with the reason in ``skip_reason``) when none can be had."""
    url = os.environ.get("PAPERWIRE_TEST_POSTGRES_URL")
    if url:
        yield PostgresServer(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        return
    bin_dir = find_pg_bin()
    if bin_dir is None:
        yield None
        return
    if os.geteuid() == 0:
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            yield None
            return
    tmp = Path(tempfile.mkdtemp(prefix="paperwire-pg-"))
    data = tmp / "data"
    port = _free_port()
    if os.geteuid() == 0:
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    tmp.chmod(0o700)
    log_file = tmp / "server.log"
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log_file),
                    "-w",
                    "-o",
                    f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        yield PostgresServer(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)
