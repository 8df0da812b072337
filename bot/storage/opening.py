"""`open_store`: the store KEBAS_DB names, a SQLite file or a PostgreSQL database.

The only module that knows both stores, so neither needs the other. Its return type is the
static proof that both implement `SessionStore` (mypy checks each assignment below).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.storage.addresses import is_file_database, postgres_address, shown_database
from bot.storage.postgres import PostgresStore
from bot.storage.protocol import SessionStore, StorageError
from bot.storage.sqlite import SQLiteStore


def open_store(target: str | Path, **options: Any) -> SessionStore:
    """The store KEBAS_DB names: a SQLite file for a path, PostgreSQL for a postgresql://
    address. Anything else written as an address (with ://) is refused, never taken for a
    file: a driver's scheme (postgresql+asyncpg://) or another database's would otherwise
    become folders named after its user and password."""
    store: SessionStore
    if is_file_database(target):
        store = SQLiteStore(target, **options)
        return store
    address = postgres_address(target)
    if address is None:
        raise StorageError(f"KEBAS_DB {shown_database(target)} is neither a SQLite file nor a "
                           f"PostgreSQL address: write a file path (e.g. kebas.sqlite3) or "
                           f"postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    store = PostgresStore(address, **options)
    return store
