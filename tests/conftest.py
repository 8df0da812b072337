"""Shared fixtures: the test dialog, the shipped bundle, and a store on a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bot.content.loader import Bundle, load_bundle, parse_dialog
from bot.core.model import Dialog
from bot.storage import SQLiteStore

from support.backends import Backend, fresh_database, postgres_server
from support.fakebotapi import HANDED_OUT, FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def load_test_dialog(name: str = "engine_dialog.yaml") -> Dialog:
    path = DATA / name
    loaded, problems = parse_dialog(path.read_text(encoding="utf-8"), str(path))
    assert loaded is not None, "\n".join(map(str, problems))
    return loaded.dialog


# Loggers whose DEBUG records are scanned too (the root logger is set to DEBUG as well).
SCANNED_LOGGERS = ("telegram", "httpx", "httpcore", "kebas", "apscheduler")


@pytest.fixture(autouse=True)
def logging_as_it_was():
    """A test that runs `kebas run` in-process configures the root logger for a real run: its
    handler writes to the stderr pytest captured for that test, closed once the test ends.
    Later tests must not log into it (it printed "--- Logging error ---" into their output)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def names_and_texts_never_reach_a_log(caplog, monkeypatch):
    """Fails any test whose log shows a name or typed text that a fake Bot API handed out.

    Issue 14: the README promises that what runners type, and who they are, never reaches a
    log. Every log record of the test, at DEBUG and from every library, and everything a
    subprocess started with asyncio (`kebas run`, webhook workers) wrote to a file or pipe is
    searched for each of them. Texts of fewer than four letters ("1", "62", "35,5") cannot be
    scanned: they would be found by chance in update ids, ports and timestamps.
    """
    HANDED_OUT.clear()
    caplog.set_level(logging.DEBUG)
    for name in SCANNED_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    outputs = ProcessOutputs()
    monkeypatch.setattr(asyncio, "create_subprocess_exec",
                        outputs.keeping(asyncio.create_subprocess_exec))
    yield
    logged = [(record.name, record_text(record)) for phase in ("setup", "call", "teardown")
              for record in caplog.get_records(phase)]
    found = leaks(HANDED_OUT, [*logged, *outputs.texts()])
    if found:
        shown = ", ".join(f"{word!r} (in {where})" for word, where in sorted(found.items()))
        pytest.fail(f"the log shows what runners sent: {shown}", pytrace=False)


def record_text(record: logging.LogRecord) -> str:
    """What a handler could write of a record: its message and any traceback."""
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return text + ("\n" + record.exc_text if record.exc_text else "")


def scannable(word: str) -> bool:
    return sum(character.isalpha() for character in word) >= 4


def leaks(words: Iterable[str], sources: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each word found in a source's text (as written, or quoted by a repr or JSON), with
    where it was first found: a logger's name, or a subprocess's output."""
    wanted = {word: {word, repr(word)[1:-1], json.dumps(word)[1:-1]}
              for word in words if scannable(word)}
    found: dict[str, str] = {}
    for where, text in sources:
        for word, forms in wanted.items():
            if word not in found and any(form in text for form in forms):
                found[word] = where
    return found


class ProcessOutputs:
    """Where subprocesses started during a test wrote: log files, and what pipes gave back."""

    def __init__(self) -> None:
        self.files: list[Path] = []
        self.piped: list[bytes] = []

    def keeping(self, spawn: Any) -> Any:
        async def spawning(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
            process = await spawn(*args, **kwargs)
            for stream in (kwargs.get("stdout"), kwargs.get("stderr")):
                if isinstance(getattr(stream, "name", None), str):
                    self.files.append(Path(stream.name))
            communicate = process.communicate

            async def communicating(*more: Any, **named: Any) -> tuple[bytes, bytes]:
                out, err = await communicate(*more, **named)
                self.piped.extend(part for part in (out, err) if part)
                return out, err
            process.communicate = communicating  # type: ignore[method-assign]
            return process
        return spawning

    def texts(self) -> list[tuple[str, str]]:
        written = [(str(path), path.read_bytes()) for path in self.files if path.exists()]
        piped = [("a subprocess's pipe", output) for output in self.piped]
        return [(where, output.decode("utf-8", "replace")) for where, output in written + piped]


@pytest.fixture
def dialog() -> Dialog:
    return load_test_dialog()


@pytest.fixture(scope="session")
def shipped() -> Bundle:
    return load_bundle([ROOT / "dialogs", ROOT / "locales"])


@pytest.fixture
async def fake():
    """A fake Telegram Bot API server on 127.0.0.1 (tests/support/fakebotapi.py)."""
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
    """A PostgreSQL server for the whole run (tests/support/backends.py)."""
    with postgres_server() as server:
        yield server.admin


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request, tmp_path: Path) -> Backend:
    """An empty database of each kind, in turn."""
    if request.param == "sqlite":
        return Backend("sqlite", tmp_path / "kebas.sqlite3")
    return Backend("postgres", await fresh_database(request.getfixturevalue("postgres_admin")))
