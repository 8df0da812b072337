"""Where conversations live: a small async interface, and SQLite behind it.

One engine step is saved in one transaction: the session row, the answer (append-only log) and
the id of the update that carried it. Only after the commit does anybody reply, so an answer the
runner saw acknowledged is never lost, and an update delivered twice is applied once.
`bot.pgstore` implements the same `SessionStore` on PostgreSQL; `open_store` picks by KEBAS_DB.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote_plus

import aiosqlite

from bot.core.engine import State, Step, StepKind

Clock = Callable[[], datetime]
log = logging.getLogger("kebas.storage")

ACTIVE, FINISHED, ABANDONED = "active", "finished", "abandoned"


class StorageError(Exception):
    """The database cannot be used (unreadable file, newer schema, disk problem)."""


class Conflict(Exception):
    """The chat's session changed since it was read (another process handled an update of
    the same chat at the same time): nothing was written; read it again and redo the step."""


# What a database that fails under a running bot raises (aiosqlite passes sqlite3's errors on).
STORAGE_FAULTS = (sqlite3.Error, StorageError)


def explain_storage_fault(error: BaseException, path: str | Path) -> str:
    """What an operator should read when SQLite fails: the fault in words, and what to do."""
    text = str(error).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return (f"the disk holding {path} is full; free some space there (Kebas goes on by "
                f"itself once writes succeed again)")
    if "readonly" in text or "read-only" in text:
        return (f"{path} cannot be written (read-only file, folder or disk); give the user "
                f"running Kebas write access to the file and its folder")
    if "locked" in text or "busy" in text:
        return (f"{path} is locked by another program; stop whatever else holds it open "
                f"(a second kebas run, a backup tool, an open sqlite3 shell)")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return (f"{path} is damaged (not a readable SQLite database); stop Kebas, keep the "
                f"file for inspection and restore the last backup, or move it away to start "
                f"with an empty database")
    if "unable to open" in text:
        folder = Path(path).parent
        if not os.access(folder, os.W_OK):
            return (f"{path} cannot be written (read-only folder or disk); give the user "
                    f"running Kebas write access to {folder}")
        return f"cannot open {path}; check that the folder exists and may be read"
    if isinstance(error, OSError) and error.strerror:
        return f"cannot use {path}: {error.strerror}"
    return f"cannot use the database {path}: {error}"


@dataclass(frozen=True)
class StoredSession:
    id: int
    chat_key: str
    dialog_id: str
    dialog_version: int
    state: State
    status: str
    started_at: str
    updated_at: str
    revision: int = 0  # counts the session's writes: a save names the one it read


# What a save expects the chat's latest session to still be: (id, revision), or None for none.
Expected = tuple[int, int] | None


@dataclass(frozen=True)
class ChatSettings:
    """What we keep about a chat besides its sessions: language, consent, whether it blocked us."""

    chat_key: str
    language: str | None = None
    consent_version: int | None = None
    consent_at: str | None = None
    blocked_at: str | None = None


@dataclass(frozen=True)
class UsageRow:
    """One session as the usage statistics see it: where it went, never who or what was typed.

    `answered` lists the questions on its path as it stands (an answer taken back is gone);
    `node` is where it stands now (the ending, once finished).
    """

    dialog_id: str
    dialog_version: int
    status: str
    node: str
    triage: str | None
    outcome: str | None          # the ending's node id, when finished
    answered: tuple[str, ...]
    fired: tuple[str, ...]       # red flags that fired on its path
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Purged:
    """What a retention purge removed."""

    sessions: int = 0
    answers: int = 0
    chats: int = 0
    updates: int = 0

    @property
    def total(self) -> int:
        return self.sessions + self.answers + self.chats + self.updates


@dataclass(frozen=True)
class ExportRow:
    """One session as the anonymised export reads it; `chat_key` never leaves `bot.export`."""

    chat_key: str
    session_id: int
    dialog_id: str
    dialog_version: int
    status: str
    state: State
    triage: str | None
    outcome: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Saved:
    session_id: int
    duplicate: bool = False   # the update was applied before; nothing was written


class SessionStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def latest(self, chat_key: str) -> StoredSession | None: ...
    async def save(self, chat_key: str, session_id: int | None, step: Step, *,
                   update_id: int | None = None, expected: Expected | str = "any"
                   ) -> Saved: ...
    async def forget(self, chat_key: str) -> int: ...
    async def abandon(self, chat_key: str) -> bool: ...
    async def chat(self, chat_key: str) -> ChatSettings | None: ...
    async def ping(self) -> None: ...
    async def newest_update(self, chat_key: str) -> int | None: ...
    async def take_lease(self, chat_key: str, holder: str, now: float, seconds: float
                         ) -> bool: ...
    async def end_lease(self, chat_key: str, holder: str) -> None: ...
    async def update_chat(self, chat_key: str, **changes: object) -> None: ...
    async def remember_dialog(self, content_hash: str, dialog_id: str, version: int,
                              definition: str, texts: str | None = None) -> None: ...
    async def dialog_definition(self, content_hash: str) -> tuple[str, str | None] | None: ...
    async def usage_rows(self, since: datetime | None = None,
                         dialog_id: str | None = None) -> list[UsageRow]: ...
    async def purge(self, older_than: datetime) -> Purged: ...
    async def export_rows(self) -> tuple[str, list[ExportRow]]: ...


# Columns that say who a runner is or what they answered or typed (a migration below).
PERSONAL_COLUMNS = {"sessions": ("chat_key", "state", "outcome"), "answers": ("value",),
                    "processed_updates": ("chat_key",), "chats": ("chat_key",),
                    "inbox": ("chat_key", "payload"), "chat_leases": ("chat_key",)}

# Each entry upgrades the schema by one version; never edit a shipped entry, append a new one.
# The same steps serve SQLite and PostgreSQL: {names} are what differs between them (DIALECTS);
# a step only one of them needs names its statements by database.
MIGRATIONS: list[list[str] | dict[str, list[str]]] = [
    [
        """CREATE TABLE sessions (
            id {id},
            chat_key TEXT NOT NULL,
            dialog_id TEXT NOT NULL,
            dialog_version INTEGER NOT NULL,
            node TEXT NOT NULL,
            state TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'finished', 'abandoned')),
            triage TEXT,
            outcome TEXT,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        "CREATE INDEX sessions_by_chat ON sessions (chat_key, id)",
        """CREATE TABLE answers (
            id {id},
            session_id {big} NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('answer', 'back')),
            node TEXT NOT NULL,
            value TEXT,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX answers_by_session ON answers (session_id, seq)",
        """CREATE TABLE processed_updates (
            update_id {big} PRIMARY KEY,
            chat_key TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX processed_updates_by_chat ON processed_updates (chat_key)",
    ],
    [
        """CREATE TABLE chats (
            chat_key TEXT PRIMARY KEY,
            language TEXT,
            consent_version INTEGER,
            consent_at TEXT,
            blocked_at TEXT,
            updated_at TEXT NOT NULL
        )""",
    ],
    [
        # Updates received but not yet handled: written before Telegram is told we have them,
        # deleted once handled, replayed after a crash. Short-lived by design.
        """CREATE TABLE inbox (
            update_id {big} PRIMARY KEY,
            chat_key TEXT,
            payload TEXT NOT NULL,
            received_at TEXT NOT NULL
        )""",
    ],
    [
        # Every dialog a session ever started on, so it can finish on the same one.
        """CREATE TABLE dialog_versions (
            content_hash TEXT PRIMARY KEY,
            dialog_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            definition TEXT NOT NULL,
            first_used TEXT NOT NULL
        )""",
    ],
    [
        # The key of the anonymised export's runner hash, made once per database: the same
        # runner gets the same hash in every export, and no one without the database can
        # turn a hash back into a Telegram id by trying them all.
        "CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "INSERT INTO secrets (name, value) VALUES ('export_key', {random_key})",
    ],
    [
        # The texts a dialog version used, so its sessions can finish on them after an edit
        # renamed or removed a key (JSON: language -> key -> text).
        "ALTER TABLE dialog_versions ADD COLUMN texts TEXT",
    ],
    [
        # Counts each session's writes, so a worker that read an older revision of a chat's
        # session (another worker handled the chat meanwhile) notices before it writes.
        "ALTER TABLE sessions ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
    ],
    [
        # Which worker process is handling a chat right now, until when (webhook mode): the
        # others wait, so a chat's updates are handled one at a time across all of them.
        """CREATE TABLE chat_leases (
            chat_key TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            until {real} NOT NULL
        )""",
    ],
    {
        # PostgreSQL's planner keeps samples of column values (pg_statistic) and keeps them
        # after their rows are deleted, for good once a table is empty: no chat key or typed
        # text may wait there after an erasure. A column changed to its own type loses its
        # samples; a statistics target of 0 takes no new ones. SQLite samples nothing unless
        # told to ANALYZE, which Kebas never does.
        "postgresql": [f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {column} SET STATISTICS 0, ALTER COLUMN {column} TYPE TEXT"
            for column in columns) for table, columns in PERSONAL_COLUMNS.items()],
        "sqlite": [],
    },
    [
        # chat_leases.chat_key holds a keyed hash of the chat key (`lease_name`), never the
        # key: a lease is written for every update of every chat (groups, chats that never
        # consent) and renewed while a reply goes out, after an erasure too. The key is made
        # once per database, so every worker on it names a chat alike. The leases there
        # (seconds long) named chats plainly: they go.
        "DELETE FROM chat_leases",
        "INSERT INTO secrets (name, value) VALUES ('lease_key', {random_key})",
    ],
]
DIALECTS: dict[str, dict[str, str]] = {
    "sqlite": {"id": "INTEGER PRIMARY KEY", "big": "INTEGER", "real": "REAL",
               "random_key": "lower(hex(randomblob(32)))"},
    # 244 random bits from PostgreSQL's strong random source (gen_random_uuid is v4)
    "postgresql": {"id": "BIGSERIAL PRIMARY KEY", "big": "BIGINT", "real": "DOUBLE PRECISION",
                   "random_key": "replace(gen_random_uuid()::text, '-', '') || "
                                 "replace(gen_random_uuid()::text, '-', '')"},
}


def migrations(dialect: str) -> list[list[str]]:
    """MIGRATIONS in one database's words."""
    return [[statement.format(**DIALECTS[dialect])
             for statement in (step[dialect] if isinstance(step, dict) else step)]
            for step in MIGRATIONS]


CHAT_COLUMNS = ("language", "consent_version", "consent_at", "blocked_at")
SCHEMA_VERSION = len(MIGRATIONS)
SQLITE_MIGRATIONS = migrations("sqlite")


# The schemes of a PostgreSQL address (asyncpg's); any case, spaces around it trimmed.
POSTGRES_SCHEMES = ("postgresql", "postgres")


def open_store(target: str | Path, **options: Any) -> SessionStore:
    """The store KEBAS_DB names: a SQLite file for a path, PostgreSQL for a postgresql://
    address. Anything else written as an address (with ://) is refused, never taken for a
    file: a driver's scheme (postgresql+asyncpg://) or another database's would otherwise
    become folders named after its user and password."""
    if is_file_database(target):
        return SQLiteStore(target, **options)
    address = postgres_address(target)
    if address is None:
        raise StorageError(f"KEBAS_DB {shown_database(target)} is neither a SQLite file nor a "
                           f"PostgreSQL address: write a file path (e.g. kebas.sqlite3) or "
                           f"postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    from bot.storage.postgres import PostgresStore
    return PostgresStore(address, **options)


def is_file_database(target: str | Path) -> bool:
    """A file path: anything not written as an address (with ://)."""
    return "://" not in str(target)


def postgres_address(target: str | Path) -> str | None:
    """KEBAS_DB as PostgreSQL's driver takes it (spaces around trimmed, the scheme in small
    letters), or None when it is no postgresql:// or postgres:// address."""
    scheme, found, rest = str(target).strip().partition("://")
    if found and scheme.lower() in POSTGRES_SCHEMES:
        return f"{scheme.lower()}://{rest}"
    return None


# A user name as it may be shown: nothing that could be the start of a password.
PLAIN_USER = re.compile(r"[A-Za-z0-9._%+-]*")
# What may be shown before :// (RFC 3986's scheme); anything else might be a password.
PLAIN_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# A query's key=value; a value is hidden when its key, %-escapes read, names a secret.
QUERY_PAIR = re.compile(r"[?&]([^=&]*)=([^&]*)")
SECRET_KEY = re.compile(r"(?i)pass|pwd|secret|token")


def shown_database(target: str | Path) -> str:
    """KEBAS_DB as it may appear in a message or a log: without its password.

    Every value written as an address (with ://) is masked, whatever its scheme (a refused
    one too). Read by hand, not with a URL parser: a password holding / ? or # (as
    generated ones do), written without %-escapes, ends a parser's idea of the user part
    early, and the rest of the password would be shown as host or path. So everything
    between :// and the last @ counts as user and password (only a plain user name is
    shown), and so does every query value whose key names a password (pass%77ord= too), up
    to the next &; where the two overlap (an @ inside the query's password) both are
    hidden. A scheme that is no plain word is hidden as well.
    """
    if is_file_database(target):
        return str(target)
    scheme, _, rest = str(target).strip().partition("://")
    hidden = [found.span(2) for found in QUERY_PAIR.finditer(rest)
              if SECRET_KEY.search(unquote_plus(found.group(1)))]
    if "@" in rest:
        at = rest.rindex("@")
        user, colon, _password = rest[:at].partition(":")
        if not PLAIN_USER.fullmatch(user):
            hidden.append((0, at))
        elif colon:
            hidden.append((len(user) + 1, at))
    shown_scheme = scheme if PLAIN_SCHEME.fullmatch(scheme) else "***"
    return f"{shown_scheme}://{_masked(rest, hidden)}"


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each (start, end) span, merged where they overlap, shown as ***."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    shown, last = [], 0
    for start, end in merged:
        shown += [text[last:start], "***"]
        last = end
    return "".join(shown) + text[last:]


def lease_name(key: str, chat_key: str) -> str:
    """How chat_leases names a chat: HMAC-SHA256 of its chat key under the database's
    lease key (hex), so no lease row, nor any older copy of one, holds a chat key."""
    return hmac.new(key.encode(), chat_key.encode(), hashlib.sha256).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class StoreLifetime:
    """What both stores share: `async with` opens and closes; which schemas they accept."""

    path: Any
    migrated_from: int | None
    lease_key: str | None = None  # read at open by a store that writes (`lease_name`)

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Any:
        await self.open()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _lease(self, chat_key: str) -> str:
        """The name chat_leases knows this chat by."""
        if self.lease_key is None:
            raise StorageError("the store is not open for writing")
        return lease_name(self.lease_key, chat_key)

    def _accept_schema(self, version: int, *, made: bool = False) -> None:
        """Refuse a schema this Kebas cannot use (`made`: one that must exist already)."""
        if made and version == 0:
            raise StorageError(f"{self.path} is not a Kebas database")
        if version > SCHEMA_VERSION:
            raise StorageError(f"the database {self.path} has schema version {version}, newer "
                               f"than this Kebas ({SCHEMA_VERSION}); upgrade Kebas")


class SQLiteStore(StoreLifetime):
    """`SessionStore` on one SQLite file, in WAL mode with full fsync on commit."""

    def __init__(self, path: str | Path, clock: Clock = utc_now, *,
                 read_only: bool = False, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self._clock = clock
        # How long a write waits for another program's lock before it fails.
        self.busy_timeout_ms = busy_timeout_ms
        # Read-only (reports): the file must exist already; it is neither created nor migrated.
        self.read_only = read_only
        self._db: aiosqlite.Connection | None = None
        # One connection writes for every chat: a transaction must not interleave with other
        # statements on it (a read would see another chat's uncommitted rows).
        self._lock = asyncio.Lock()
        # The reads every update makes go to a second, plain connection, used right on the
        # event loop: it sees only committed rows (WAL), so it never waits for a writer, and
        # a lookup by index takes microseconds, less than a trip to a thread and back
        # (docs/performance.md).
        self._reader: sqlite3.Connection | None = None
        # Writes waiting for the next group commit, and the task committing them.
        self._waiting: list[_Write] = []
        self._committer: asyncio.Task[None] | None = None
        self.migrated_from: int | None = None  # the schema version found at open

    async def open(self) -> None:
        if self.read_only:
            if not self.path.is_file():
                raise StorageError(f"no database at {self.path}")
            target, set_up = f"{self.path.resolve().as_uri()}?mode=ro", self._check_readable
        else:
            try:
                _create_private(self.path)
            except OSError as exc:
                raise StorageError(f"cannot create the database {self.path}: {exc.strerror}; "
                                   f"check KEBAS_DB and the folder's permissions") from exc
            target, set_up = str(self.path), self._set_up
        _owner_only(self.path, writing=not self.read_only)
        try:
            self._db = await aiosqlite.connect(target, uri=self.read_only, isolation_level=None)
            await self._db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await set_up()
            if not self.read_only:
                self._reader = sqlite3.connect(target, isolation_level=None)
                self._reader.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
                self._reader.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            await self.close()
            raise StorageError(explain_storage_fault(exc, self.path)) from exc
        except BaseException:
            await self.close()
            raise

    async def _set_up(self) -> None:
        # A damaged file is refused at start, not discovered by a runner halfway through.
        async with self.db.execute("PRAGMA quick_check") as cursor:
            verdict = [row[0] for row in await cursor.fetchall()]
        if verdict != ["ok"]:
            first = next(line for line in verdict[0].splitlines() if not line.startswith("*"))
            raise sqlite3.DatabaseError(f"database disk image is malformed ({first})")
        await self.db.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk before we reply, even if the machine loses power.
        await self.db.execute("PRAGMA synchronous = FULL")
        await self.db.execute("PRAGMA foreign_keys = ON")
        # deleted rows (a handled update, a runner's /hapus) are overwritten, not just freed
        await self.db.execute("PRAGMA secure_delete = ON")
        # Each time the -wal starts over (after a checkpoint), it is cut to nothing, so the
        # older copies of pages beyond its new end (a handled update's text) do not linger.
        await self.db.execute("PRAGMA journal_size_limit = 0")
        # The copy VACUUM rebuilds the database in (`_erase_older_copies`), and any other
        # temporary table, stays in memory: it never reaches a file that would keep it.
        await self.db.execute("PRAGMA temp_store = MEMORY")
        await self._migrate()
        async with self.db.execute(
                "SELECT value FROM secrets WHERE name = 'lease_key'") as cursor:
            self.lease_key = (await cursor.fetchone())[0]

    async def _check_readable(self) -> None:
        """Read-only: nothing to migrate, but the schema must be one this Kebas knows."""
        self._accept_schema(await self.schema_version(), made=True)

    async def close(self) -> None:
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
            self._committer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _read_one(self, sql: str, params: tuple[Any, ...]) -> Any:
        """The first row of a read of committed rows: on the reader, or the locked writer."""
        if self._reader is not None:
            return self._reader.execute(sql, params).fetchone()
        async with self._lock, self.db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError("the store is not open")
        return self._db

    async def schema_version(self) -> int:
        async with self.db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0])

    async def _migrate(self) -> None:
        version = self.migrated_from = await self.schema_version()
        self._accept_schema(version)
        for number in range(version, SCHEMA_VERSION):
            await self._transaction([(statement, ()) for statement in SQLITE_MIGRATIONS[number]]
                                    + [(f"PRAGMA user_version = {number + 1}", ())])

    async def latest(self, chat_key: str) -> StoredSession | None:
        """The chat's most recent session that was not abandoned by a restart."""
        row = await self._read_one(
            "SELECT id, chat_key, dialog_id, dialog_version, state, status, started_at, "
            "updated_at, revision FROM sessions WHERE chat_key = ? AND status != ? "
            "ORDER BY id DESC LIMIT 1", (chat_key, ABANDONED))
        if row is None:
            return None
        return StoredSession(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6],
                             row[7], row[8])

    async def save(self, chat_key: str, session_id: int | None, step: Step, *,
                   update_id: int | None = None, expected: Expected | str = "any") -> Saved:
        """Write one step in one transaction. A restart (or no session yet) opens a new session.

        `expected`: the chat's latest session as read for this step, (id, revision) or None;
        if it has changed since, `Conflict` is raised and nothing is written ("any": no check).
        """
        now = _stamp(self._clock())
        return await self._write(
            lambda db: _save_step(db, chat_key, session_id, step, update_id, now, expected))

    async def _write(self, work: Callable[[sqlite3.Connection], Any], *,
                     durable: bool = True) -> Any:
        """Run `work` atomically, committed with the other writes waiting at the same time.

        Under load many chats' steps wait together; they share one transaction, and so one
        fsync and one trip to aiosqlite's thread (group commit, docs/performance.md). Each
        write is a savepoint of its own: one that fails is undone alone and raises to its
        own caller. A write returns only once its commit is on disk (`durable=False`: once
        it is committed; see `inbox_done`).
        """
        waiting = _Write(work, durable, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        return await asyncio.shield(waiting.result)

    async def _commit_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                async with self._lock:
                    outcomes = await self._in_one_trip(
                        lambda db, group=group: _commit_together(db, group))
            except asyncio.CancelledError:  # the loop is shutting down
                for write in group + self._waiting:
                    write.result.cancel()
                self._waiting = []
                raise
            except Exception as exc:  # the commit failed: none of the group is written
                for write in group:
                    write.result.set_exception(exc)
                continue
            for write, (value, error) in zip(group, outcomes):
                if error is None:
                    write.result.set_result(value)
                else:
                    write.result.set_exception(error)

    async def _in_one_trip(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `work` with the plain sqlite3 connection on aiosqlite's own thread.

        A transaction of many statements is then one trip to that thread, not one for each:
        each trip waits for a turn of the busy event loop while the write lock is held, and
        that wait, not SQLite, was what limited Kebas under load (docs/performance.md).
        aiosqlite has no public call for it; `_execute` and `_conn` are what its own methods
        use (0.20-0.22).
        """
        db = self.db
        return await db._execute(lambda: work(db._conn))

    async def _transaction(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        """Run statements in one write transaction; returns each one's row count."""
        return await self._write(
            lambda db: [db.execute(sql, params).rowcount for sql, params in statements])

    async def forget(self, chat_key: str) -> int:
        """Delete every row about this chat, and every older copy of them; returns how many
        sessions went."""
        counts = await self._transaction([
            ("DELETE FROM sessions WHERE chat_key = ?", (chat_key,)),
            ("DELETE FROM processed_updates WHERE chat_key = ?", (chat_key,)),
            ("DELETE FROM chats WHERE chat_key = ?", (chat_key,)),
            ("DELETE FROM inbox WHERE chat_key = ?", (chat_key,)),
            ("DELETE FROM chat_leases WHERE chat_key = ?", (self._lease(chat_key),)),
        ])
        await self._erase_older_copies()
        return counts[0]

    async def _erase_older_copies(self) -> None:
        """Once a delete is committed, leave no copy of the deleted rows in any file.

        secure_delete zeroes a deleted row where it stands, but not the copies the b-tree
        left behind when it split or merged pages (moved rows leave their old bytes in the
        unused middle of a page, which no later delete touches: an outside review found
        runners' chat keys there), and the -wal still holds the pages from before the delete
        (a kill -9 leaves it for the next start). So the database is rebuilt (VACUUM: every
        page written anew from the rows that remain, its temporary copy in memory; the
        writes of every chat wait meanwhile, about 0.25 s for 10,000 sessions,
        docs/reliability.md), and a TRUNCATE checkpoint writes the new pages into the file
        and cuts the -wal to nothing. The checkpoint waits (busy_timeout) for other
        programs' reads to end; if one holds on longer, the copies stay in the -wal until
        the next erasure or retention purge, and so they do if the rebuild fails.
        """
        async with self._lock:
            try:
                async with self.db.execute("VACUUM"):
                    pass
            except sqlite3.Error as exc:  # e.g. no room for a second copy of the database
                log.warning("copies of deleted rows may stay in %s until the next erasure "
                            "or the daily purge: it could not be rebuilt (%s)", self.path,
                            explain_storage_fault(exc, self.path))
            async with self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                busy, _pages, _copied = await cursor.fetchone()
        if busy:
            log.warning("older copies of deleted rows stay in %s-wal until the next erasure "
                        "or the daily purge: another program kept reading the database (a "
                        "backup tool, an open sqlite3 shell, kebas stats)", self.path)

    async def abandon(self, chat_key: str) -> bool:
        """End the chat's active session without a result (the runner cancelled)."""
        counts = await self._transaction([(
            "UPDATE sessions SET status = ?, updated_at = ?, revision = revision + 1 "
            "WHERE chat_key = ? AND status = ?",
            (ABANDONED, _stamp(self._clock()), chat_key, ACTIVE))])
        return counts[0] > 0

    async def take_lease(self, chat_key: str, holder: str, now: float, seconds: float
                         ) -> bool:
        """Become the one process handling this chat until `now + seconds`, unless another
        holds it (a lease left by a process that died runs out). `now`: wall-clock seconds,
        the same clock in every process. The row names the chat by `lease_name`."""
        name = self._lease(chat_key)
        counts = await self._write(lambda db: [db.execute(
            "INSERT INTO chat_leases (chat_key, holder, until) VALUES (?, ?, ?) "
            "ON CONFLICT (chat_key) DO UPDATE SET holder = excluded.holder, "
            "until = excluded.until WHERE chat_leases.until < ? OR chat_leases.holder = ?",
            (name, holder, now + seconds, now, holder)).rowcount], durable=False)
        return counts[0] == 1

    async def end_lease(self, chat_key: str, holder: str) -> None:
        name = self._lease(chat_key)
        await self._write(lambda db: db.execute(
            "DELETE FROM chat_leases WHERE chat_key = ? AND holder = ?", (name, holder)),
            durable=False)

    async def ping(self) -> None:
        """Raises what keeps the database from being read (for a health check)."""
        await self._read_one("SELECT count(*) FROM sessions WHERE id = 0", ())

    async def newest_update(self, chat_key: str) -> int | None:
        """The highest update id applied to this chat: an update with a lower one was sent
        before it and arrives late (a webhook worker died holding it)."""
        row = await self._read_one(
            "SELECT max(update_id) FROM processed_updates WHERE chat_key = ?", (chat_key,))
        return None if row is None else row[0]

    async def chat(self, chat_key: str) -> ChatSettings | None:
        row = await self._read_one(
            f"SELECT {', '.join(CHAT_COLUMNS)} FROM chats WHERE chat_key = ?", (chat_key,))
        return None if row is None else ChatSettings(chat_key, *row)

    async def update_chat(self, chat_key: str, **changes: Any) -> None:
        unknown = set(changes) - set(CHAT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown chat columns: {sorted(unknown)}")
        names = list(changes)
        assignments = ", ".join(f"{name} = excluded.{name}" for name in names)
        now = _stamp(self._clock())
        await self._transaction([(
            f"INSERT INTO chats (chat_key, {', '.join(names)}, updated_at) "
            f"VALUES (?, {', '.join('?' for _ in names)}, ?) ON CONFLICT (chat_key) DO UPDATE "
            f"SET {assignments}{', ' if names else ''}updated_at = excluded.updated_at",
            (chat_key, *changes.values(), now))])

    async def remember_dialog(self, content_hash: str, dialog_id: str, version: int,
                              definition: str, texts: str | None = None) -> None:
        """Keep a dialog version, and its texts, the first time it is used (later calls
        change nothing)."""
        await self._transaction([(
            "INSERT OR IGNORE INTO dialog_versions (content_hash, dialog_id, version, "
            "definition, texts, first_used) VALUES (?, ?, ?, ?, ?, ?)",
            (content_hash, dialog_id, version, definition, texts, _stamp(self._clock())))])

    async def dialog_definition(self, content_hash: str) -> tuple[str, str | None] | None:
        """A kept dialog version: its definition and its texts (JSON), or None."""
        row = await self._read_one(
            "SELECT definition, texts FROM dialog_versions WHERE content_hash = ?",
            (content_hash,))
        return None if row is None else (row[0], row[1])

    async def usage_rows(self, since: datetime | None = None,
                         dialog_id: str | None = None) -> list[UsageRow]:
        """Every session started at or after `since` (of one dialog, if given), oldest first."""
        sql = ("SELECT dialog_id, dialog_version, status, node, triage, outcome, state, "
               "started_at, finished_at FROM sessions WHERE started_at >= ?")
        params: list[Any] = ["" if since is None else _stamp(since)]
        if dialog_id is not None:
            sql += " AND dialog_id = ?"
            params.append(dialog_id)
        async with self._lock, self.db.execute(sql + " ORDER BY id", params) as cursor:
            rows = await cursor.fetchall()
        return [_usage_row(*row) for row in rows]

    async def purge(self, older_than: datetime) -> Purged:
        """Delete what retention no longer allows: sessions last touched before `older_than`
        (with their answers), the update ids of that time, leftover inbox entries, and chats
        that have nothing left but a language or a consent.
        """
        cutoff = _stamp(older_than)
        old_sessions = "SELECT id FROM sessions WHERE updated_at < ?"
        answers, sessions, updates, chats, _inbox, _leases = await self._transaction([
            (f"DELETE FROM answers WHERE session_id IN ({old_sessions})", (cutoff,)),
            ("DELETE FROM sessions WHERE updated_at < ?", (cutoff,)),
            ("DELETE FROM processed_updates WHERE at < ?", (cutoff,)),
            ("DELETE FROM chats WHERE updated_at < ? AND chat_key NOT IN "
             "(SELECT chat_key FROM sessions)", (cutoff,)),
            ("DELETE FROM inbox WHERE received_at < ?", (cutoff,)),
            ("DELETE FROM chat_leases WHERE until < ?", (older_than.timestamp(),)),
        ])
        # also once a day: the handled updates' older copies go, even with nothing purged
        await self._erase_older_copies()
        return Purged(sessions=sessions, answers=answers, chats=chats, updates=updates)

    async def export_rows(self) -> tuple[str, list[ExportRow]]:
        """The export key and every session, oldest first."""
        async with self._lock:
            try:
                async with self.db.execute(
                        "SELECT value FROM secrets WHERE name = 'export_key'") as cursor:
                    key = (await cursor.fetchone())[0]
            except sqlite3.OperationalError as exc:
                raise StorageError(f"{self.path} comes from an older Kebas; start kebas run "
                                   f"(or kebas purge) once to bring it up to date") from exc
            async with self.db.execute(
                    f"SELECT {EXPORT_COLUMNS} FROM sessions ORDER BY id") as cursor:
                rows = await cursor.fetchall()
        return key, [_export_row(*row) for row in rows]

    async def inbox_add(self, update_id: int, chat_key: str | None, payload: str) -> bool:
        """Keep an update until it is handled; False if it is already kept (a redelivery)."""
        counts = await self._transaction([(
            "INSERT OR IGNORE INTO inbox (update_id, chat_key, payload, received_at) "
            "VALUES (?, ?, ?, ?)", (update_id, chat_key, payload, _stamp(self._clock())))])
        return counts[0] == 1

    async def inbox_done(self, update_id: int) -> None:
        """Forget a handled update, without waiting for the disk (synchronous=NORMAL).

        The delete is on disk with the next commit that is (every step's is): only a power
        cut in between can undo it, and then the update is replayed at start, found already
        processed, and the runner shown their current question again. Nothing else depends
        on it, so it need not cost a third fsync per update.
        """
        await self._write(lambda db: db.execute("DELETE FROM inbox WHERE update_id = ?",
                                                (update_id,)), durable=False)

    async def inbox_pending(self) -> list[tuple[int, str]]:
        """Updates received but never handled (the process stopped), oldest first."""
        async with self._lock, self.db.execute(
                "SELECT update_id, payload FROM inbox ORDER BY update_id") as cursor:
            return [(int(update_id), payload) for update_id, payload in await cursor.fetchall()]

    def now(self) -> str:
        return _stamp(self._clock())

    async def answers(self, session_id: int) -> list[dict[str, Any]]:
        """The answer log of one session, oldest first."""
        async with self._lock, self.db.execute(
                "SELECT seq, action, node, value, at FROM answers WHERE session_id = ? "
                "ORDER BY id", (session_id,)) as cursor:
            rows = await cursor.fetchall()
        return [{"seq": seq, "action": action, "node": node,
                 "value": None if value is None else json.loads(value), "at": at}
                for seq, action, node, value, at in rows]


def _save_step(db: sqlite3.Connection, chat_key: str, session_id: int | None, step: Step,
               update_id: int | None, now: str, expected: Expected | str = "any") -> Saved:
    state = step.state
    status = FINISHED if step.outcome is not None else ACTIVE
    triage = step.outcome.level.value if step.outcome is not None else None
    outcome = json.dumps(step.outcome.summary()) if step.outcome is not None else None
    if update_id is not None:
        try:
            db.execute(
                "INSERT INTO processed_updates (update_id, chat_key, at) VALUES (?, ?, ?)",
                (update_id, chat_key, now))
        except sqlite3.IntegrityError:  # nothing of the step was written yet
            return Saved(session_id or 0, duplicate=True)
    if expected != "any":
        # Within this write transaction nobody else can change the chat, so a session that
        # is still the one read cannot change before the commit.
        now_latest = db.execute(
            "SELECT id, revision FROM sessions WHERE chat_key = ? AND status != ? "
            "ORDER BY id DESC LIMIT 1", (chat_key, ABANDONED)).fetchone()
        if now_latest != expected:
            raise Conflict(f"{chat_key}: the session changed since it was read")
    if session_id is None or step.kind in (StepKind.STARTED, StepKind.RESTARTED):
        if session_id is not None:
            db.execute("UPDATE sessions SET status = ?, updated_at = ?, revision = revision + 1 "
                       "WHERE id = ? AND status = ?", (ABANDONED, now, session_id, ACTIVE))
        cursor = db.execute(
            "INSERT INTO sessions (chat_key, dialog_id, dialog_version, node, state, "
            "status, triage, outcome, started_at, updated_at, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (chat_key, state["dialog"], state["version"], state["node"],
             json.dumps(state), status, triage, outcome, now, now,
             now if status == FINISHED else None))
        session_id = int(cursor.lastrowid)
    else:
        db.execute(
            "UPDATE sessions SET dialog_id = ?, dialog_version = ?, node = ?, state = ?, "
            "status = ?, triage = ?, outcome = ?, updated_at = ?, revision = revision + 1, "
            "finished_at = CASE WHEN ? = 'finished' THEN COALESCE(finished_at, ?) END "
            "WHERE id = ?",
            (state["dialog"], state["version"], state["node"], json.dumps(state), status,
             triage, outcome, now, status, now, session_id))
    if step.answer is not None:
        _log(db, session_id, "answer", step.answer.node_id, step.answer.value,
             len(state["answers"]), now)
    elif step.kind is StepKind.BACK and step.prompt is not None:
        _log(db, session_id, "back", step.prompt.node_id, None, len(state["answers"]), now)
    return Saved(session_id)


def _log(db: sqlite3.Connection, session_id: int, action: str, node: str, value: Any,
         seq: int, now: str) -> None:
    db.execute("INSERT INTO answers (session_id, seq, action, node, value, at) "
               "VALUES (?, ?, ?, ?, ?, ?)",
               (session_id, seq, action, node, None if value is None else json.dumps(value),
                now))


@dataclass
class _Write:
    work: Callable[[sqlite3.Connection], Any]
    durable: bool
    result: asyncio.Future[Any]


def _commit_together(db: sqlite3.Connection, group: list[_Write]
                     ) -> list[tuple[Any, BaseException | None]]:
    """One transaction for the whole group, each write in a savepoint: (value, error) each.

    The commit waits for the disk (synchronous=FULL) unless no write in the group needs it.
    """
    durable = any(write.durable for write in group)
    if not durable:
        db.execute("PRAGMA synchronous = NORMAL")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            if len(group) == 1:  # the transaction is its savepoint
                outcomes = [(group[0].work(db), None)]
            else:
                outcomes = [_in_savepoint(db, write.work) for write in group]
            db.execute("COMMIT")
        except BaseException:
            _roll_back(db)
            raise
    finally:
        if not durable:
            db.execute("PRAGMA synchronous = FULL")
    return outcomes


def _in_savepoint(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], Any]
                  ) -> tuple[Any, BaseException | None]:
    db.execute("SAVEPOINT write")
    try:
        value = work(db)
    except Exception as exc:
        if not db.in_transaction:  # SQLite gave up the whole transaction (e.g. a full disk)
            raise
        db.execute("ROLLBACK TO write")
        db.execute("RELEASE write")
        return None, exc
    db.execute("RELEASE write")
    return value, None


def _roll_back(db: sqlite3.Connection) -> None:
    """Undo the open transaction; a failing rollback must not hide the error behind it.

    When SQLite has already rolled back by itself (e.g. a full disk), there is nothing to
    undo, and nothing of the step was written.
    """
    with contextlib.suppress(sqlite3.Error):
        db.execute("ROLLBACK")


# The columns `_export_row` reads, in its order (both stores select them).
EXPORT_COLUMNS = ("chat_key, id, dialog_id, dialog_version, status, state, triage, outcome, "
                  "started_at, finished_at")


def _export_row(chat_key: str, session_id: int, dialog_id: str, version: int, status: str,
                state: str, triage: str | None, outcome: str | None, started: str,
                finished: str | None) -> ExportRow:
    return ExportRow(chat_key, session_id, dialog_id, version, status, json.loads(state),
                     triage, json.loads(outcome) if outcome else None,
                     datetime.fromisoformat(started),
                     datetime.fromisoformat(finished) if finished else None)


def _usage_row(dialog_id: str, dialog_version: int, status: str, node: str,
               triage: str | None, outcome: str | None, state: str, started_at: str,
               finished_at: str | None) -> UsageRow:
    saved = json.loads(state)
    ending = json.loads(outcome).get("node", node) if outcome else None
    return UsageRow(dialog_id, dialog_version, status, node, triage, ending,
                    tuple(answer["node"] for answer in saved.get("answers", [])),
                    tuple(saved.get("fired", [])), datetime.fromisoformat(started_at),
                    datetime.fromisoformat(finished_at) if finished_at else None)


def _owner_only(path: Path, *, writing: bool) -> None:
    """The database, its -wal and its -shm readable by their owner only: they hold health
    answers. A file found open to group or others (a restored backup, a copy, another
    program's umask) is tightened to its owner's bits, with a warning naming it. When Kebas
    cannot change it (not the file's owner, a read-only disk), it refuses to write more
    answers into it; a report that only reads (`writing=False`) goes on with a warning."""
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except OSError:  # not there (or not to be seen: SQLite says so, next)
            continue
        if not mode & 0o077:
            continue
        try:
            os.chmod(file, mode & 0o700)
        except OSError as exc:
            problem = (f"{file} can be read by other users (mode {mode:03o}) and Kebas "
                       f"cannot change that ({exc.strerror}); as its owner, run: "
                       f"chmod 600 {file}")
            if writing:
                raise StorageError(problem) from exc
            log.warning("%s", problem)
            continue
        log.warning("%s could be read by other users (mode %03o); Kebas made it its "
                    "owner's only (%03o). It holds health answers: if anyone else can log in "
                    "to this machine, find out whether they copied it", file, mode,
                    mode & 0o700)


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds health answers."""
    if path.exists():
        return
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)
