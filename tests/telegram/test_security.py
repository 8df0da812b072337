"""Secrets and files (issue 14): a PostgreSQL password never reaches a log or a message, and
every file Kebas writes about people is its owner's alone from the moment it exists."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.storage import SQLiteStore, StorageError, open_store, shown_database
from bot.storage.postgres import PostgresStore

from support.fakebotapi import TOKEN
from support.process import start_kebas

# Generated passwords hold URL characters; each piece between them must stay hidden too.
PASSWORDS = ["Sandi1/Rahasia2", "Sandi1?Rahasia2", "Sandi1#Rahasia2", "Sandi1@Rahasia2",
             "Sandi1:Rahasia2", "Sandi1/Rahasia2?Kunci3#Gembok4@Pintu5:Jendela6"]


def pieces(password: str) -> list[str]:
    return [piece for piece in re.split(r"[/?#@:]", password) if piece]


def closed_port() -> int:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def addresses(password: str, port: int) -> list[str]:
    """KEBAS_DB written as people write it: the password in the user part, or the query."""
    return [f"postgresql://kebas:{password}@127.0.0.1:{port}/kebas",
            f"postgresql://127.0.0.1:{port}/kebas?sslmode=disable&password={password}"]


def shown_pieces(text: str, password: str) -> list[str]:
    return [piece for piece in pieces(password) if piece in text]


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_database_address_is_shown_without_any_piece_of_its_password(password):
    for dsn in addresses(password, 5432):
        shown = shown_database(dsn)
        assert shown_pieces(shown, password) == [], shown
        assert shown.startswith("postgresql://") and "127.0.0.1" in shown, "the host stays"


@pytest.mark.parametrize("password", PASSWORDS)
def test_kebas_migrate_refuses_without_showing_the_password(password, capsys):
    port = closed_port()
    for dsn in addresses(password, port):
        assert main(["migrate", "--db", dsn, "--env-file", os.devnull]) == 1
        said = capsys.readouterr()
        text = said.out + said.err
        assert "KEBAS_DB" in text and "Traceback" not in text
        assert shown_pieces(text, password) == [], text


@pytest.mark.parametrize("password", PASSWORDS)
async def test_kebas_run_refuses_without_showing_the_password_in_its_log(
        fake, tmp_path, password):
    log = tmp_path / "bot.log"
    process = await start_kebas(fake, addresses(password, closed_port())[0], log=log)
    assert await asyncio.wait_for(process.wait(), 60) == 3
    text = log.read_text()
    assert "Not starting the bot" in text and "Traceback" not in text
    assert "Kebas is starting" in text, "the log names the database, masked"
    assert shown_pieces(text, password) == [], text


async def test_a_password_written_with_escapes_works_and_is_shown_masked(postgres_admin,
                                                                        capsys):
    """The way README's message asks for: %-escaped. (The test server trusts any password.)"""
    password = PASSWORDS[-1]
    escaped = "".join(f"%{ord(c):02X}" if c in "/?#@:" else c for c in password)
    dsn = postgres_admin.replace("kebas@", f"kebas:{escaped}@")
    assert await asyncio.to_thread(main, ["migrate", "--db", dsn, "--env-file",
                                          os.devnull]) == 0
    out = capsys.readouterr().out
    assert out.startswith("postgresql://kebas:***@127.0.0.1:") and "schema version" in out
    assert escaped not in out and shown_pieces(out, password) == []


# --- addresses that are not file paths ----------------------------------------------------------

SECRET = "Hunter2Secret"
# Addresses Kebas cannot use: another scheme (a driver's, another database's), however spaced
# or spelled. None of them is a file path: no folder is made for them, no password shown.
OTHER_SCHEMES = [f"postgresql+asyncpg://kebas:{SECRET}@127.0.0.1:1/kebas",
                 f"  mysql://kebas:{SECRET}@127.0.0.1:1/kebas",
                 f"MySQL://127.0.0.1:1/kebas?user=kebas&password={SECRET}",
                 "sqlite:///var/lib/kebas/kebas.sqlite3"]
# PostgreSQL's addresses as people also write them: capitals, spaces around (an .env file).
POSTGRES_SPELLINGS = [" postgresql://kebas:{secret}@127.0.0.1:{port}/kebas",
                      "POSTGRESQL://kebas:{secret}@127.0.0.1:{port}/kebas",
                      "Postgres://kebas:{secret}@127.0.0.1:{port}/kebas\n"]


@pytest.mark.parametrize("dsn", [
    *OTHER_SCHEMES, *(spelling.format(secret=SECRET, port=5432)
                      for spelling in POSTGRES_SPELLINGS),
    f"postgresql://127.0.0.1/kebas?pass%77ord={SECRET}",  # a query key %-escaped
    f"postgresql://127.0.0.1/kebas?sslmode=disable&%70%61ssword={SECRET}&user=kebas",
    f"postgresql://127.0.0.1/kebas?PASSWORD={SECRET}",
    f"redis://127.0.0.1/0?sslpass%77ord={SECRET}",
    f"kebas:{SECRET}@127.0.0.1://kebas",  # a "scheme" that is no scheme
])
def test_every_address_is_shown_without_its_password_whatever_its_scheme(dsn):
    shown = shown_database(dsn)
    assert SECRET not in shown and "://" in shown, shown


@pytest.mark.parametrize("dsn", OTHER_SCHEMES)
def test_an_address_of_another_scheme_is_refused_and_never_taken_for_a_file(
        dsn, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for command in (["migrate"], ["purge"], ["export", "--anonymised", "-o", "-"]):
        assert main([*command, "--db", dsn, "--env-file", os.devnull]) == 1, command
        said = capsys.readouterr()
        text = said.out + said.err
        assert "KEBAS_DB" in text and "postgresql://" in text, text
        assert shown_database(dsn) in text and SECRET not in text and "Traceback" not in text
    assert list(tmp_path.iterdir()) == [], "no folder, no file"
    with pytest.raises(StorageError, match="neither a SQLite file nor a PostgreSQL address"):
        open_store(dsn)


@pytest.mark.parametrize("spelling", POSTGRES_SPELLINGS)
def test_a_postgresql_address_in_capitals_or_spaces_goes_to_postgresql(
        spelling, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    port = closed_port()
    dsn = spelling.format(secret=SECRET, port=port)
    store = open_store(dsn)
    assert isinstance(store, PostgresStore)
    assert store.dsn == f"postgresql://kebas:{SECRET}@127.0.0.1:{port}/kebas" or \
        store.dsn == f"postgres://kebas:{SECRET}@127.0.0.1:{port}/kebas"
    assert main(["migrate", "--db", dsn, "--env-file", os.devnull]) == 1
    said = capsys.readouterr()
    text = said.out + said.err
    assert "cannot connect to the database" in text and SECRET not in text, text
    assert list(tmp_path.iterdir()) == [], "no folder, no file"


@pytest.mark.parametrize("dsn", [OTHER_SCHEMES[0], POSTGRES_SPELLINGS[1]])
async def test_kebas_run_refuses_an_address_it_cannot_use_without_a_folder_or_the_password(
        fake, tmp_path, dsn):
    dsn = dsn.format(secret=SECRET, port=closed_port())
    log = tmp_path / "bot.log"
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url,
           "KEBAS_DB": dsn, "NO_PROXY": "127.0.0.1,localhost"}
    with open(log, "wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--env-file", os.devnull, cwd=tmp_path,
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr)
        try:
            assert await asyncio.wait_for(process.wait(), 60) == 3
        finally:
            if process.returncode is None:  # it took the address for a file and ran
                process.kill()
                await process.wait()
    text = log.read_text()
    assert "Not starting the bot" in text and "Traceback" not in text, text
    assert SECRET not in text, text
    assert [path.name for path in tmp_path.iterdir()] == ["bot.log"], "no folder"


# --- files ---------------------------------------------------------------------------------------


@pytest.fixture
def filled(tmp_path) -> Path:
    db = tmp_path / "kebas.sqlite3"

    async def fill() -> None:
        async with SQLiteStore(db) as store:
            await store.update_chat("tg:5", language="id")
    asyncio.run(fill())
    return db


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_export_is_its_owners_alone_from_the_moment_it_exists(filled, tmp_path,
                                                                  monkeypatch):
    """Created 0600, whatever the umask, never chmod'ed after the fact; and an older export
    someone could read, or had open, never gets the new contents."""
    out = tmp_path / "sessions.csv"
    out.write_text("an older export\n")
    out.chmod(0o644)

    def no_chmod(*_args, **_kwargs):
        raise AssertionError("chmod after the fact: the file was open to others meanwhile")
    monkeypatch.setattr(os, "chmod", no_chmod)
    previous = os.umask(0)
    try:
        with open(out) as reader:  # opened while it was readable by anybody
            assert main(["export", "--anonymised", "--db", str(filled), "-o", str(out),
                         "--env-file", os.devnull]) == 0
            assert reader.read() == "an older export\n", "the new export is another file"
    finally:
        os.umask(previous)
    assert mode(out) == 0o600 and out.read_text().startswith("runner,")
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == [], \
        "no temporary file is left"


def open_with_its_wal(db: Path) -> sqlite3.Connection:
    """A connection that keeps the -wal and -shm on disk (another program reading)."""
    holder = sqlite3.connect(db)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("SELECT COUNT(*) FROM chats").fetchall()
    return holder


def test_a_database_open_to_others_is_made_its_owners_with_a_warning_naming_it(
        filled, caplog):
    with contextlib.closing(open_with_its_wal(filled)):
        files = [filled, Path(f"{filled}-wal"), Path(f"{filled}-shm")]
        for file in files:
            file.chmod(0o644)
        assert main(["purge", "--db", str(filled), "--env-file", os.devnull]) == 0
        assert [mode(file) for file in files] == [0o600] * 3
    said = caplog.text
    for file in files:
        assert f"{file} could be read by other users (mode 644)" in said


async def test_a_database_kebas_cannot_make_its_owners_is_refused(filled, monkeypatch):
    filled.chmod(0o640)

    def not_the_owner(*_args, **_kwargs):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "chmod", not_the_owner)
    with pytest.raises(StorageError, match=f"{filled} can be read by other users "
                                           f"\\(mode 640\\).*chmod 600 {filled}"):
        await SQLiteStore(filled).open()


def test_a_report_on_a_database_kebas_cannot_make_its_owners_goes_on_with_a_warning(
        filled, monkeypatch, caplog):
    """Reading adds nothing to the file (a backup on a read-only disk, say): only warned."""
    filled.chmod(0o644)

    def read_only_disk(*_args, **_kwargs):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(os, "chmod", read_only_disk)
    assert main(["export", "--anonymised", "--db", str(filled), "-o", "-",
                 "--env-file", os.devnull]) == 0
    assert f"{filled} can be read by other users (mode 644)" in caplog.text
