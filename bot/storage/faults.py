"""Storage faults explained to a person: what failed, in words, and what to do about it.

SQLite names what went wrong by its result code (`sqlite3.Error.sqlite_errorcode`, Python
3.11+); its message text is written for people and may change between versions, so it is not
read. An error SQLite did not raise itself (a `StorageError`, PostgreSQL's) is shown as it is.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from bot.storage.protocol import StorageError

# What a database that fails under a running bot raises (the SQLite store passes sqlite3's
# errors on; PostgreSQL's become StorageError).
STORAGE_FAULTS = (sqlite3.Error, StorageError)


def full(path: str | Path) -> str:
    return (f"the disk holding {path} is full; free some space there (Kebas goes on by "
            f"itself once writes succeed again)")


def read_only(path: str | Path) -> str:
    return (f"{path} cannot be written (read-only file, folder or disk); give the user "
            f"running Kebas write access to the file and its folder")


def locked(path: str | Path) -> str:
    return (f"{path} is locked by another program; stop whatever else holds it open "
            f"(a second kebas run, a backup tool, an open sqlite3 shell)")


def damaged(path: str | Path) -> str:
    return (f"{path} is damaged (not a readable SQLite database); stop Kebas, keep the "
            f"file for inspection and restore the last backup, or move it away to start "
            f"with an empty database")


def cannot_open(path: str | Path) -> str:
    folder = Path(path).parent
    if not os.access(folder, os.W_OK):
        return (f"{path} cannot be written (read-only folder or disk); give the user "
                f"running Kebas write access to {folder}")
    return f"cannot open {path}; check that the folder exists and may be read"


# SQLite's primary result codes -> the explanation of each fault a person can act on.
EXPLANATIONS: dict[int, Callable[[str | Path], str]] = {
    sqlite3.SQLITE_FULL: full,
    sqlite3.SQLITE_READONLY: read_only,
    sqlite3.SQLITE_BUSY: locked,
    sqlite3.SQLITE_LOCKED: locked,
    sqlite3.SQLITE_CORRUPT: damaged,
    sqlite3.SQLITE_NOTADB: damaged,
    sqlite3.SQLITE_CANTOPEN: cannot_open,
}


def sqlite_code(error: BaseException) -> int | None:
    """SQLite's primary result code for `error` (its extended code's low byte), or None when
    SQLite did not raise it."""
    code: int | None = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def explain_storage_fault(error: BaseException, path: str | Path) -> str:
    """What an operator should read when the database fails: the fault in words, and what
    to do."""
    explain = EXPLANATIONS.get(sqlite_code(error) or -1)
    if explain is not None:
        return explain(path)
    if isinstance(error, OSError) and error.strerror:
        return f"cannot use {path}: {error.strerror}"
    return f"cannot use the database {path}: {error}"
