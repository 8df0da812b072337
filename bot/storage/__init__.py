"""Storage: sessions, answers and the inbox behind one Protocol, on SQLite or PostgreSQL.

Everything outside this package imports from here, never from the modules inside.
"""

from bot.storage.sqlite import (
    ABANDONED,
    ACTIVE,
    FINISHED,
    PERSONAL_COLUMNS,
    SCHEMA_VERSION,
    STORAGE_FAULTS,
    Conflict,
    ExportRow,
    SessionStore,
    SQLiteStore,
    StorageError,
    StoredSession,
    UsageRow,
    explain_storage_fault,
    is_file_database,
    lease_name,
    open_store,
    shown_database,
    utc_now,
)

__all__ = [
    "ABANDONED",
    "ACTIVE",
    "Conflict",
    "ExportRow",
    "FINISHED",
    "PERSONAL_COLUMNS",
    "SCHEMA_VERSION",
    "SQLiteStore",
    "STORAGE_FAULTS",
    "SessionStore",
    "StorageError",
    "StoredSession",
    "UsageRow",
    "explain_storage_fault",
    "is_file_database",
    "lease_name",
    "open_store",
    "shown_database",
    "utc_now",
]
