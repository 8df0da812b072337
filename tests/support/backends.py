"""Both storage backends for the same tests: SQLite in a temporary file, and PostgreSQL.

PostgreSQL is Debian's server, started once per test run with its data in a temporary folder,
on a free local port (`.ci/run` installs the package); every test gets a database of its own.
Without the server installed the PostgreSQL cases skip, unless KEBAS_REQUIRE_POSTGRES=1 (set
by .ci/run), when they fail: CI must never pass by skipping them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.storage import SQLiteStore
from bot.storage.postgres import PostgresStore


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """Debian's PostgreSQL with its data in a temporary folder, on a free local port."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="kebas-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.folder, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data, self.port = self.folder / "data", _free_port()
        self.admin = f"postgresql://kebas@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "kebas", "-E", "UTF8",
                  "--no-sync")

    def _run(self, program: str, *argv: str) -> None:
        subprocess.run([*self.as_user, str(self.binaries / program), *argv], check=True,
                       capture_output=True)

    def start(self) -> None:
        # fsync off: these tests are about behaviour, not power cuts; it keeps them fast
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.folder / "server.log"),
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                        f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of its own, running; gone afterwards."""
    binaries = _binaries()
    if binaries is None:
        if os.environ.get("KEBAS_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is not installed, and KEBAS_REQUIRE_POSTGRES=1")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    server = PostgresServer(binaries)
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop("immediate")
        server.remove()


class Backend:
    """One database of one kind: stores on it (as many processes would open), and queries."""

    def __init__(self, kind: str, target: str | Path) -> None:
        self.kind, self.target = kind, target

    def store(self, **options: Any) -> SQLiteStore | PostgresStore:
        if self.kind == "sqlite":
            return SQLiteStore(self.target, **options)
        return PostgresStore(str(self.target), **options)

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """A query through a connection of its own, as another process would read."""
        if self.kind == "sqlite":
            import sqlite3
            with contextlib.closing(sqlite3.connect(self.target)) as connection:
                return connection.execute(sql, params).fetchall()
        numbered = iter(range(1, len(params) + 1))
        sql = re.sub(r"\?", lambda _match: f"${next(numbered)}", sql)
        connection = await asyncpg.connect(str(self.target))
        try:
            return [tuple(row) for row in await connection.fetch(sql, *params)]
        finally:
            await connection.close()

    async def execute(self, sql: str) -> None:
        """A change made behind the store's back, committed."""
        if self.kind == "sqlite":
            import sqlite3
            with contextlib.closing(sqlite3.connect(self.target)) as connection:
                connection.execute(sql)
                connection.commit()
            return
        connection = await asyncpg.connect(str(self.target))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def snapshot(self, copy: Path) -> Path:
        """The tables the chaos checker reads, copied into a SQLite file it can open."""
        if self.kind == "sqlite":
            return Path(self.target)
        import sqlite3
        tables = {
            "sessions": "SELECT id, chat_key, status FROM sessions",
            "answers": "SELECT id, session_id, action, node, value FROM answers",
            "processed_updates": "SELECT update_id, chat_key FROM processed_updates",
            "inbox": "SELECT update_id FROM inbox",
        }
        with contextlib.closing(sqlite3.connect(copy)) as connection:
            for table, sql in tables.items():
                found = await self.rows(sql)
                columns = sql.split("SELECT ", 1)[1].split(" FROM", 1)[0]
                connection.execute(f"CREATE TABLE {table} ({columns})")
                connection.executemany(
                    f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns.split(',')))})",
                    found)
            connection.commit()
        return copy


async def fresh_database(admin: str) -> str:
    name = f"kebas_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return admin.rsplit("/", 1)[0] + f"/{name}"
