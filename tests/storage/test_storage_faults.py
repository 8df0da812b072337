"""Storage faults: a full or read-only disk, a locked database and a damaged file.

Each gives the operator one clear sentence (what is wrong with which file, what to do) and the
runner an apology; none crashes the bot, and none leaves half a step in the database. At start
the bot refuses with exit status 3, which the systemd unit in README does not restart on.

The full and read-only disks are real: a small tmpfs, mounted by the test (as root, as CI
runs). A read-only disk appearing under a running bot is SQLite's own read-only mode on the
bot's connection (a mounted disk cannot be made read-only while the bot holds its file open
for writing); damage appearing under a running bot is the error SQLite raises for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import shutil
import socket
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.cli.main import EXIT_STORAGE, main
from bot.storage import SQLiteStore
from bot.storage.postgres import SCHEMA_VERSION as PG_SCHEMA_VERSION
from bot.storage.postgres import PostgresStore

from support.backends import Backend, fresh_database, postgres_server
from support.harness import Runner, rows, running_bot, wrapped_save
from support.process import start_kebas

ROOT = Path(__file__).resolve().parents[2]
APOLOGY = "Maaf, ada gangguan"


@contextlib.contextmanager
def mounted(where: Path, *options: str):
    where.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small disk needs root (CI runs as root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs",
                           str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    with mounted(tmp_path / "disk", "size=4m") as disk:
        yield disk


def fill_up(disk: Path) -> Path:
    """Use every free byte of the disk; removing the returned file frees them again."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(descriptor)
    return filler


async def kebas_database(path: Path) -> Path:
    async with SQLiteStore(path):
        pass
    return path


# --- at start: refuse clearly, with the status systemd does not restart on -----------------


async def refused(fake, db: Path) -> str:
    process = await start_kebas(fake, db)
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == EXIT_STORAGE, err.decode()[-3000:]
    text = err.decode()
    assert "Traceback" not in text and "Not starting the bot" in text
    return text


async def test_a_file_that_is_not_a_database_is_refused_at_start(fake, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    db.write_bytes(b"this is not SQLite " * 400)
    text = await refused(fake, db)
    assert f"{db} is damaged" in text and "restore the last backup" in text


async def test_a_database_damaged_inside_is_refused_at_start(fake, tmp_path):
    db = await kebas_database(tmp_path / "kebas.sqlite3")
    with contextlib.closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    with open(db, "r+b") as file:   # scribble over the second page, a table's b-tree
        file.seek(size)
        file.write(b"\x07" * 3000)
    text = await refused(fake, db)
    assert "is damaged" in text


async def test_a_full_disk_at_start_is_refused(fake, small_disk):
    fill_up(small_disk)
    text = await refused(fake, small_disk / "kebas.sqlite3")
    assert "is full" in text and "free some space" in text


async def test_a_read_only_disk_at_start_is_refused(fake, tmp_path):
    staged = await kebas_database(tmp_path / "staged.sqlite3")
    with mounted(tmp_path / "ro", "size=4m") as disk:
        shutil.copy(staged, disk / "kebas.sqlite3")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        text = await refused(fake, disk / "kebas.sqlite3")
    assert "cannot be written" in text and "write access" in text


async def test_a_database_locked_by_another_program_is_refused_at_start(fake, tmp_path):
    db = await kebas_database(tmp_path / "kebas.sqlite3")
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        text = await refused(fake, db)
        assert "locked by another program" in text


def test_kebas_purge_on_a_locked_database_says_so(tmp_path, capsys):
    db = asyncio.run(kebas_database(tmp_path / "kebas.sqlite3"))
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        assert main(["purge", "--db", str(db), "--env-file", os.devnull]) == 1
    err = capsys.readouterr().err
    assert "locked by another program" in err and "Traceback" not in err


def test_the_systemd_unit_does_not_restart_on_a_refusal():
    unit = re.search(r"RestartPreventExitStatus=(.*)", (ROOT / "README.md").read_text())
    assert unit is not None and str(EXIT_STORAGE) in unit.group(1).split()


# --- while running: apologise, log one clear sentence, write nothing half, recover ----------


async def answered(db: Path) -> list[tuple[str]]:
    return rows(db, "SELECT node FROM answers ORDER BY id")


async def fault_then_recovery(fake, runner: Runner, db: Path | Backend, caplog,
                              expected: str, fault, clear) -> None:
    """Tap an answer during the fault (apology, nothing stored), then again after it."""
    question, asked = runner.question(), runner.node()
    data = runner.data_for("no", question)
    if isinstance(db, Backend):
        async def answered(_db: Any) -> list[tuple[str]]:
            return await db.rows("SELECT node FROM answers ORDER BY id")

        async def states() -> list[tuple[str]]:
            return await db.rows("SELECT state FROM sessions")
    else:
        answered = globals()["answered"]

        async def states() -> list[tuple[str]]:
            return rows(db, "SELECT state FROM sessions")
    before = await answered(db)
    state_before = await states()
    await fault()
    await runner.tap(question, data)
    await fake.wait_for(lambda: APOLOGY in runner.sent[-1].text)
    await clear()  # (a server that is down cannot be asked what it holds)
    assert await answered(db) == before, "nothing of the failed step is in the database"
    assert await states() == state_before
    operator = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(expected in message for message in operator), operator
    await runner.tap(question, data)
    await fake.wait_for(lambda: runner.node() != asked)
    assert await answered(db) == before + [(asked,)], "stored exactly once"


async def started(fake, runner: Runner) -> None:
    await runner.agree()
    await runner.choose_many("none")
    assert runner.node() == "a3_saddle"


async def test_a_disk_filling_up_under_the_running_bot(fake, shipped, small_disk, caplog):
    db = small_disk / "kebas.sqlite3"
    filler: list[Path] = []

    async def fill() -> None:
        filler.append(fill_up(small_disk))

    async def free() -> None:
        filler.pop().unlink()

    async with running_bot(fake, shipped, db):
        runner = Runner(fake, 601)
        await started(fake, runner)
        await fault_then_recovery(fake, runner, db, caplog, "is full", fill, free)


async def test_a_database_turning_read_only_under_the_running_bot(fake, shipped, tmp_path,
                                                                 caplog):
    db = tmp_path / "kebas.sqlite3"
    async with running_bot(fake, shipped, db) as app:
        connection = app.bot_data["kebas"].store.db

        async def read_only() -> None:
            await connection.execute("PRAGMA query_only = ON")

        async def writable() -> None:
            await connection.execute("PRAGMA query_only = OFF")

        runner = Runner(fake, 602)
        await started(fake, runner)
        await fault_then_recovery(fake, runner, db, caplog, "cannot be written", read_only,
                                  writable)


async def test_a_database_locked_by_another_program_under_the_running_bot(
        fake, shipped, tmp_path, caplog):
    db = tmp_path / "kebas.sqlite3"
    other = sqlite3.connect(db, isolation_level=None)
    async with running_bot(fake, shipped, db) as app:
        await app.bot_data["kebas"].store.db.execute("PRAGMA busy_timeout = 300")

        async def lock() -> None:
            other.execute("BEGIN EXCLUSIVE")

        async def unlock() -> None:
            other.execute("COMMIT")

        runner = Runner(fake, 603)
        await started(fake, runner)
        try:
            await fault_then_recovery(fake, runner, db, caplog, "locked by another program",
                                      lock, unlock)
        finally:
            other.close()


async def test_damage_found_under_the_running_bot(fake, shipped, tmp_path, caplog):
    db = tmp_path / "kebas.sqlite3"
    damaged: list[bool] = []

    def failing(original):
        async def save(*args, **kwargs):
            if damaged:
                malformed = sqlite3.DatabaseError("database disk image is malformed")
                # as SQLite raises it: with the result code that names the fault
                malformed.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
                malformed.sqlite_errorname = "SQLITE_CORRUPT"
                raise malformed
            return await original(*args, **kwargs)
        return save

    async def damage() -> None:
        damaged.append(True)

    async def repair() -> None:
        damaged.clear()

    async with running_bot(fake, shipped, db) as app:
        runner = Runner(fake, 604)
        await started(fake, runner)
        with wrapped_save(app, failing):
            await fault_then_recovery(fake, runner, db, caplog, "is damaged", damage, repair)


# --- PostgreSQL ------------------------------------------------------------------------------


async def test_a_postgresql_server_that_is_not_there_is_refused_at_start(fake, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = await refused(fake, f"postgresql://kebas:hunter2@127.0.0.1:{port}/kebas")
    assert "cannot connect to the database" in text and "PostgreSQL is running" in text
    assert "hunter2" not in text, "the password stays out of messages"


async def test_the_postgresql_server_going_away_under_the_running_bot(fake, shipped, caplog):
    with postgres_server() as server:  # a server of its own, to stop and start again
        backend = Backend("postgres", await fresh_database(server.admin))

        async def stop() -> None:
            await asyncio.to_thread(server.stop)

        async def start() -> None:
            await asyncio.to_thread(server.start)

        async with running_bot(fake, shipped, backend.target):
            runner = Runner(fake, 604)
            await started(fake, runner)
            await fault_then_recovery(fake, runner, backend, caplog,
                                      "check that PostgreSQL is running", stop, start)


async def test_a_postgresql_database_from_a_newer_kebas_is_refused_at_start(
        fake, postgres_admin):
    dsn = await fresh_database(postgres_admin)
    async with PostgresStore(dsn):
        pass
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("UPDATE kebas_schema SET version = version + 1")
    finally:
        await connection.close()
    text = await refused(fake, dsn)
    assert "newer than this Kebas" in text and "upgrade Kebas" in text


async def test_kebas_migrate_on_postgresql_migrates_once(postgres_admin, capsys):
    dsn = await fresh_database(postgres_admin)
    said = []
    for _ in range(2):
        status = await asyncio.to_thread(main, ["migrate", "--db", dsn,
                                                     "--env-file", os.devnull])
        said.append((status, capsys.readouterr().out))
    assert said[0] == (0, f"{dsn}: schema version 0 -> {PG_SCHEMA_VERSION}\n")
    assert said[1] == (0, f"{dsn}: schema version {PG_SCHEMA_VERSION}, already up to date\n")


async def test_both_backends_have_the_same_tables_and_columns(tmp_path, postgres_admin):
    path, dsn = tmp_path / "kebas.sqlite3", await fresh_database(postgres_admin)
    async with SQLiteStore(path), PostgresStore(dsn):
        pass
    with contextlib.closing(sqlite3.connect(path)) as lite:
        tables = [name for (name,) in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        in_sqlite = {(table, column[1]) for table in tables
                     for column in lite.execute(f"PRAGMA table_info({table})")}
    connection = await asyncpg.connect(dsn)
    try:
        in_postgres = {(row[0], row[1]) for row in await connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name != 'kebas_schema'")}
    finally:
        await connection.close()
    assert in_postgres == in_sqlite
