"""Shared fixtures: the test dialog, the shipped bundle, and a store on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import Backend, fresh_database, postgres_server
from fakebotapi import FakeBotAPI

from bot.loader import Bundle, load_bundle, parse_dialog
from bot.model import Dialog
from bot.storage import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def load_test_dialog(name: str = "engine_dialog.yaml") -> Dialog:
    path = DATA / name
    loaded, problems = parse_dialog(path.read_text(encoding="utf-8"), str(path))
    assert loaded is not None, "\n".join(map(str, problems))
    return loaded.dialog


@pytest.fixture
def dialog() -> Dialog:
    return load_test_dialog()


@pytest.fixture(scope="session")
def shipped() -> Bundle:
    return load_bundle([ROOT / "dialogs", ROOT / "locales"])


@pytest.fixture
async def fake():
    """A fake Telegram Bot API server on 127.0.0.1 (tests/fakebotapi.py)."""
    server = await FakeBotAPI().start()
    yield server
    await server.stop()


@pytest.fixture
async def store(tmp_path: Path):
    async with SQLiteStore(tmp_path / "kebas.sqlite3") as opened:
        yield opened


def expected_line(case: str) -> int:
    """The line a broken sample says its first problem is reported at (`# expect: LINE ...`)."""
    for path in sorted((DATA.parent / "broken" / case).rglob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# expect: ") and line.split()[2].isdigit():
                return int(line.split()[2])
    raise AssertionError(f"no '# expect:' line in {case}")


@pytest.fixture(scope="session")
def postgres_admin():
    """A PostgreSQL server for the whole run (tests/backends.py)."""
    with postgres_server() as server:
        yield server.admin


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request, tmp_path: Path) -> Backend:
    """An empty database of each kind, in turn."""
    if request.param == "sqlite":
        return Backend("sqlite", tmp_path / "kebas.sqlite3")
    return Backend("postgres", await fresh_database(request.getfixturevalue("postgres_admin")))
