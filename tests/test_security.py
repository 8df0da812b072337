"""Secrets and files (issue 14): a PostgreSQL password never reaches a log or a message, and
every file Kebas writes about people is its owner's alone from the moment it exists."""

from __future__ import annotations

import asyncio
import os
import re
import socket

import pytest
from test_telegram_process import start_kebas

from bot.cli import main
from bot.storage import shown_database

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
