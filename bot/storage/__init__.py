"""Storage: sessions, answers and the inbox behind one Protocol, on SQLite or PostgreSQL.

Everything outside this package imports from here, never from the modules inside:
`protocol` (the interface, its records and errors), `schema` (the tables and migrations),
`queries` (each operation's statements, for both stores), `sqlite` and `postgres` (the
stores), `opening` (`open_store`), `addresses` (KEBAS_DB), `faults` (faults in words).
"""

from bot.storage.addresses import is_file_database, shown_database
from bot.storage.base import lease_name, utc_now
from bot.storage.faults import STORAGE_FAULTS, explain_storage_fault
from bot.storage.opening import open_store
from bot.storage.protocol import (
    ABANDONED,
    ACTIVE,
    CANCELLED,
    FINISHED,
    OTHER_SOURCE,
    PENDING,
    SENT,
    SOURCES_A_DAY,
    ChatSettings,
    Conflict,
    ExportRow,
    Followup,
    FollowupRow,
    LoggedAnswer,
    Purged,
    Saved,
    SessionStore,
    StartCount,
    StorageError,
    StoredSession,
    UsageRow,
    link_source,
)
from bot.storage.retention import JOB_NAME, purge_expired, purge_now_and_daily
from bot.storage.schema import PERSONAL_COLUMNS, SCHEMA_VERSION
from bot.storage.sqlite import SQLiteStore

__all__ = [
    "JOB_NAME",
    "purge_expired",
    "purge_now_and_daily",
    "ABANDONED",
    "ACTIVE",
    "CANCELLED",
    "ChatSettings",
    "Conflict",
    "ExportRow",
    "FINISHED",
    "Followup",
    "FollowupRow",
    "LoggedAnswer",
    "OTHER_SOURCE",
    "PENDING",
    "PERSONAL_COLUMNS",
    "Purged",
    "SCHEMA_VERSION",
    "SENT",
    "SOURCES_A_DAY",
    "SQLiteStore",
    "STORAGE_FAULTS",
    "Saved",
    "SessionStore",
    "StartCount",
    "StorageError",
    "StoredSession",
    "UsageRow",
    "explain_storage_fault",
    "is_file_database",
    "lease_name",
    "link_source",
    "open_store",
    "shown_database",
    "utc_now",
]
