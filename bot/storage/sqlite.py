"""`SessionStore` on one SQLite file, in WAL mode with full fsync on commit.

One engine step is saved in one transaction: the session row, the answer (append-only log) and
the id of the update that carried it. Only after the commit does anybody reply, so an answer the
runner saw acknowledged is never lost, and an update delivered twice is applied once.

Writes go to one connection on a thread of its own (`SerialConnection`), committed in groups
(`GroupCommit`); the reads every update makes go to a second, plain connection used right on
the event loop. What each operation runs is written once for both stores (`queries`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.storage import queries
from bot.storage.base import StoreBase, accept_schema, utc_now
from bot.storage.faults import damaged, explain_storage_fault
from bot.storage.group_commit import GroupCommit
from bot.storage.protocol import Clock, ExportRow, Purged, StorageError
from bot.storage.queries import Plan, Statement
from bot.storage.schema import SCHEMA_VERSION, migrations
from bot.storage.serial import SerialConnection
from bot.storage.sqlite_files import create_private, owner_only

T = TypeVar("T")
log = logging.getLogger("kebas.storage")
MIGRATIONS = migrations("sqlite")
# Set on the writer at open: how the database is kept on disk.
WRITER_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    # FULL: a commit is on disk before we reply, even if the machine loses power.
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    # deleted rows (a handled update, a runner's /hapus) are overwritten, not just freed
    "PRAGMA secure_delete = ON",
    # Each time the -wal starts over (after a checkpoint), it is cut to nothing, so the
    # older copies of pages beyond its new end (a handled update's text) do not linger.
    "PRAGMA journal_size_limit = 0",
    # The copy VACUUM rebuilds the database in (`_erase_older_copies`), and any other
    # temporary table, stays in memory: it never reaches a file that would keep it.
    "PRAGMA temp_store = MEMORY",
)


def carry_out(db: sqlite3.Connection, plan: Plan[T]) -> T:
    """Run a plan's statements on `db`, sending each one's answer back; its result."""
    try:
        statement = next(plan)
        while True:
            statement = plan.send(answer(db, statement))
    except StopIteration as finished:
        result: T = finished.value
        return result


def answer(db: sqlite3.Connection, statement: Statement) -> Any:
    cursor = db.execute(statement.sql, statement.params)
    if statement.returns == "count":
        return cursor.rowcount
    if statement.returns == "row":
        return cursor.fetchone()
    if statement.returns == "rows":
        return cursor.fetchall()
    return cursor.lastrowid


def is_intact(db: sqlite3.Connection) -> bool:
    """SQLite's quick check of every page: a damaged file is refused at start, not
    discovered by a runner halfway through."""
    return [row[0] for row in db.execute("PRAGMA quick_check")] == ["ok"]


class SQLiteStore(StoreBase):
    """`SessionStore` on one SQLite file, in WAL mode with full fsync on commit."""

    def __init__(self, path: str | Path, clock: Clock = utc_now, *,
                 read_only: bool = False, busy_timeout_ms: int = 5000) -> None:
        super().__init__(clock)
        self.path = Path(path)
        # How long a write waits for another program's lock before it fails.
        self.busy_timeout_ms = busy_timeout_ms
        # Read-only (reports): the file must exist already; it is neither created nor migrated.
        self.read_only = read_only
        self._db: SerialConnection | None = None
        # One connection writes for every chat: a transaction must not interleave with other
        # statements on it (a read would see another chat's uncommitted rows).
        self._lock = asyncio.Lock()
        # The reads every update makes go to a second, plain connection, used right on the
        # event loop: it sees only committed rows (WAL), so it never waits for a writer, and
        # a lookup by index takes microseconds, less than a trip to a thread and back
        # (docs/performance.md).
        self._reader: sqlite3.Connection | None = None
        self._commits: GroupCommit | None = None

    async def open(self) -> None:
        if self.read_only:
            if not self.path.is_file():
                raise StorageError(f"no database at {self.path}")
            target = f"{self.path.resolve().as_uri()}?mode=ro"
        else:
            try:
                create_private(self.path)
            except OSError as exc:
                raise StorageError(f"cannot create the database {self.path}: {exc.strerror}; "
                                   f"check KEBAS_DB and the folder's permissions") from exc
            target = str(self.path)
        owner_only(self.path, writing=not self.read_only)
        busy_timeout = f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}"
        try:
            self._db = await SerialConnection.connect(target, uri=self.read_only)
            self._commits = GroupCommit(self._db, self._lock)
            await self._db.execute(busy_timeout)
            if self.read_only:  # nothing to migrate, but the schema must be one Kebas knows
                accept_schema(self.path, await self.schema_version(), made=True)
                return
            await self._set_up()
            self._reader = sqlite3.connect(target, isolation_level=None)
            self._reader.execute(busy_timeout)
            self._reader.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            await self.close()
            raise StorageError(explain_storage_fault(exc, self.path)) from exc
        except BaseException:
            await self.close()
            raise

    async def _set_up(self) -> None:
        if not await self.db.run(is_intact):
            raise StorageError(damaged(self.path))
        for pragma in WRITER_PRAGMAS:
            await self.db.execute(pragma)
        version = self.migrated_from = await self.schema_version()
        accept_schema(self.path, version)
        for number in range(version, SCHEMA_VERSION):
            await self._write(queries.run_all(
                [Statement(statement) for statement in MIGRATIONS[number]]
                + [Statement(f"PRAGMA user_version = {number + 1}")]))
        self.lease_key = await self._scan(queries.secret("lease_key"))

    async def close(self) -> None:
        if self._commits is not None:
            await self._commits.finish()
            self._commits = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> SerialConnection:
        """The writer connection."""
        if self._db is None:
            raise StorageError("the store is not open")
        return self._db

    async def schema_version(self) -> int:
        (version,), = await self.db.execute("PRAGMA user_version")
        return int(version)

    # --- how operations run -------------------------------------------------------------------

    async def _write(self, plan: Plan[T], *, durable: bool = True,
                     chat_key: str | None = None) -> T:
        """Run a plan atomically, committed with the other writes waiting at the same time
        (`GroupCommit`); it returns once its commit is on disk (`durable=False`: once it is
        committed; see `inbox_done`). One connection writes: no other write can come between
        a chat's read and its write within the plan, whatever the `chat_key`."""
        if self._commits is None:
            raise StorageError("the store is not open")
        return await self._commits.write(lambda db: carry_out(db, plan), durable=durable)

    async def _lookup(self, plan: Plan[T]) -> T:
        """A read of a few rows by index, of committed rows: on the reader, right here (a
        store that only reads has none: on the writer)."""
        if self._reader is not None:
            return carry_out(self._reader, plan)
        return await self._scan(plan)

    async def _scan(self, plan: Plan[T]) -> T:
        """A read of many rows, on the writer's thread (it would hold up the event loop)."""
        async with self._lock:
            return await self.db.run(lambda db: carry_out(db, plan))

    # --- what differs from PostgreSQL --------------------------------------------------------

    async def forget(self, chat_key: str) -> int:
        """Delete every row about this chat, and every older copy of them; returns how many
        sessions went."""
        sessions = await self._write(queries.forget(chat_key, self._lease(chat_key)))
        await self._erase_older_copies()
        return sessions

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
                await self.db.execute("VACUUM")
                await self.db.execute("UPDATE upkeep SET done_at = ? WHERE task = 'rebuild'",
                                      (self.now(),))
            except sqlite3.Error as exc:  # e.g. no room for a second copy of the database
                log.warning("copies of deleted rows may stay in %s until the next erasure "
                            "or the daily purge: it could not be rebuilt (%s)", self.path,
                            explain_storage_fault(exc, self.path))
            (busy, _pages, _copied), = await self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if busy:
            log.warning("older copies of deleted rows stay in %s-wal until the next erasure "
                        "or the daily purge: another program kept reading the database (a "
                        "backup tool, an open sqlite3 shell, kebas stats)", self.path)

    async def purge(self, older_than: datetime, *,
                    unless_rebuilt_since: datetime | None = None) -> Purged:
        """Delete what retention no longer allows (`queries.purge`), and every older copy.

        The rebuild also runs with nothing purged (the daily run: the handled updates' older
        copies go), except when the file was rebuilt after `unless_rebuilt_since`: the run at
        start does not hold a copy of the whole database in memory to find nothing to erase.
        """
        purged = await self._write(queries.purge(older_than, self._clock()))
        if purged.total or unless_rebuilt_since is None \
                or await self._rebuilt_before(unless_rebuilt_since):
            await self._erase_older_copies()
        return purged

    async def _rebuilt_before(self, moment: datetime) -> bool:
        (done_at,), = await self.db.execute(
            "SELECT done_at FROM upkeep WHERE task = 'rebuild'")
        return bool(done_at < queries.stamp(moment))

    async def export_rows(self) -> tuple[str, list[ExportRow]]:
        """The export key and every session, oldest first."""
        async with self._lock:
            try:
                key = await self.db.run(lambda db: carry_out(db, queries.secret("export_key")))
            except sqlite3.OperationalError as exc:
                raise StorageError(f"{self.path} comes from an older Kebas; start kebas run "
                                   f"(or kebas purge) once to bring it up to date") from exc
            rows = await self.db.run(lambda db: carry_out(db, queries.export_sessions()))
        return key, rows

    # --- monitoring (/metrics) ----------------------------------------------------------

