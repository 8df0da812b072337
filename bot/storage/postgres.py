"""`SessionStore` on PostgreSQL (asyncpg): the same tables and behaviour as `SQLiteStore`, for
webhook workers on several hosts sharing one database (`KEBAS_DB=postgresql://…`).

The schema is SQLite's, column for column (timestamps as ISO text, JSON as text), made by the
same numbered migrations (`schema.MIGRATIONS`, in PostgreSQL's words), and every operation runs
the same statements (`queries`). Two things differ because PostgreSQL runs many transactions at
once: a step's transaction first takes an advisory lock on its chat, so the check that the
session is still the one read and the write that follows are one atomic act across every
worker; and migrations run under a lock of their own, so workers starting together migrate once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import re
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from bot.storage import queries
from bot.storage.addresses import shown_database
from bot.storage.base import StoreBase, accept_schema, utc_now
from bot.storage.protocol import Clock, ExportRow, Purged, StorageError
from bot.storage.queries import Plan, Statement
from bot.storage.schema import PERSONAL_COLUMNS, migrations

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection = PoolConnectionProxy[asyncpg.Record]

T = TypeVar("T")
# SQLite's migrations, in PostgreSQL's words: the same tables, columns and steps.
MIGRATIONS = migrations("postgresql")
SCHEMA_VERSION = len(MIGRATIONS)
# What a server that is down, restarting or cut off raises.
UNREACHABLE = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
               asyncpg.OperatorInterventionError)
MIGRATION_LOCK = 0x4B65626173  # "Kebas": one advisory lock for every migrating worker
# Held until the transaction ends: every write of one chat's sessions, one after another.
CHAT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
# A statement that takes longer fails (and the runner gets the apology) instead of hanging.
COMMAND_SECONDS = 30
log = logging.getLogger("kebas.storage")
# how a password with URL characters must be written in KEBAS_DB
ESCAPED = "with any / ? # @ : in the password written as %2F %3F %23 %40 %3A"


def why_not_connected(error: BaseException) -> str:
    """A failed connection in our own words: the driver's may quote parts of KEBAS_DB (a
    password misread as a host name, say), and the log must never show them."""
    if isinstance(error, socket.gaierror):
        return "its host name is not known"
    if isinstance(error, ConnectionRefusedError):
        return "nothing accepts connections at that host and port"
    if isinstance(error, TimeoutError):
        return "it did not answer in time"
    if isinstance(error, asyncpg.InvalidPasswordError):
        return "it refused the user name or password"
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        return "it refused this user or this client (see its pg_hba.conf)"
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return "that database does not exist"
    if isinstance(error, asyncpg.PostgresError):
        return f"PostgreSQL refused: {type(error).__name__}, SQLSTATE {error.sqlstate}"
    if isinstance(error, OSError) and error.errno:
        return os.strerror(error.errno)
    return type(error).__name__


@functools.cache
def numbered(sql: str) -> str:
    """A statement's `?` placeholders as PostgreSQL's $1, $2, ..."""
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _mark: f"${next(counter)}", sql)


def row_count(status: str) -> int:
    """asyncpg's command status ('UPDATE 3', 'INSERT 0 1') as a row count."""
    return int(status.rsplit(" ", 1)[-1])


async def answer(db: Connection, statement: Statement) -> Any:
    sql, params = numbered(statement.sql), statement.params
    if statement.returns == "count":
        return row_count(await db.execute(sql, *params))
    if statement.returns == "row":
        row = await db.fetchrow(sql, *params)
        return None if row is None else tuple(row)
    if statement.returns == "rows":
        return [tuple(row) for row in await db.fetch(sql, *params)]
    return await db.fetchval(f"{sql} RETURNING id", *params)


async def carry_out(db: Connection, plan: Plan[T]) -> T:
    """Run a plan's statements on `db`, sending each one's answer back; its result."""
    try:
        statement = next(plan)
        while True:
            statement = plan.send(await answer(db, statement))
    except StopIteration as finished:
        result: T = finished.value
        return result


class PostgresStore(StoreBase):
    """`SessionStore` on a PostgreSQL database shared by every worker."""

    def __init__(self, dsn: str, clock: Clock = utc_now, *, read_only: bool = False,
                 pool_size: int = 10) -> None:
        super().__init__(clock)
        self.dsn = dsn
        self.path = shown_database(dsn)  # what messages call the database
        self.read_only = read_only
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        # The VACUUM forget starts after its reply (close waits for it), one at a time: each
        # would hold a pooled connection while waiting for the others' lock on the tables.
        # An erasure committed while one runs asks for one more run after it.
        self._vacuuming: asyncio.Task[None] | None = None
        self._vacuum_again = False

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1,
                                                   max_size=self.pool_size,
                                                   command_timeout=COMMAND_SECONDS)
        except ValueError:  # asyncpg could not read the address; its words may quote it
            raise StorageError(f"KEBAS_DB is not a PostgreSQL address Kebas can use; write "
                               f"it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE, "
                               f"{ESCAPED}") from None
        except (*UNREACHABLE, asyncpg.PostgresError) as exc:
            raise StorageError(f"cannot connect to the database {self.path} "
                               f"({why_not_connected(exc)}); check that PostgreSQL is running "
                               f"and KEBAS_DB, {ESCAPED}") from None
        try:
            if self.read_only:
                accept_schema(self.path, await self.schema_version(), made=True)
            else:
                await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._vacuuming is not None:
            await asyncio.gather(self._vacuuming, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @contextlib.asynccontextmanager
    async def _connection(self, *, transaction: bool = True) -> AsyncIterator[Connection]:
        """A pooled connection (in a transaction); a failing database becomes StorageError."""
        if self._pool is None:
            raise StorageError("the store is not open")
        try:
            async with self._pool.acquire() as connection:
                if transaction:
                    async with connection.transaction():
                        yield connection
                else:
                    yield connection
        except (*UNREACHABLE, TimeoutError) as exc:
            raise StorageError(f"cannot reach the database {self.path} ({type(exc).__name__}); "
                               f"check that PostgreSQL is running and reachable (Kebas goes on "
                               f"by itself once it is)") from exc
        except asyncpg.PostgresError as exc:
            raise StorageError(f"the database {self.path} refused a write or read: {exc}; "
                               f"see PostgreSQL's log") from exc

    async def _write(self, plan: Plan[T], *, durable: bool = True,
                     chat_key: str | None = None) -> T:
        """A plan in one transaction on a pooled connection (each commit waits for the
        disk, as the server is set up to). With `chat_key`, under the chat's lock: every
        worker writing this chat waits for it until the transaction ends."""
        async with self._connection() as db:
            if chat_key is not None:
                await db.execute(CHAT_LOCK, chat_key)
            return await carry_out(db, plan)

    async def _lookup(self, plan: Plan[T]) -> T:
        async with self._connection(transaction=False) as db:
            return await carry_out(db, plan)

    _scan = _lookup  # reads never wait for writers here, however many rows

    async def schema_version(self) -> int:
        async with self._connection() as db:
            exists = await db.fetchval("SELECT to_regclass('kebas_schema') IS NOT NULL")
            return int(await db.fetchval("SELECT version FROM kebas_schema")) if exists else 0

    async def _migrate(self) -> None:
        async with self._connection() as db:
            await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await db.execute("CREATE TABLE IF NOT EXISTS kebas_schema (version INTEGER NOT NULL)")
            version = await db.fetchval("SELECT version FROM kebas_schema")
            if version is None:
                await db.execute("INSERT INTO kebas_schema (version) VALUES (0)")
                version = 0
            self.migrated_from = version
            accept_schema(self.path, version)
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    await db.execute(statement)
            await db.execute("UPDATE kebas_schema SET version = $1", SCHEMA_VERSION)
            self.lease_key = await carry_out(db, queries.secret("lease_key"))

    # --- what differs from SQLite -------------------------------------------------------

    async def forget(self, chat_key: str) -> int:
        sessions = await self._write(queries.forget(chat_key, self._lease(chat_key)),
                                     chat_key=chat_key)
        # after the reply, not before: the runner need not wait for it
        if self._vacuuming is None or self._vacuuming.done():
            self._vacuuming = asyncio.create_task(self._vacuum_while_wanted())
        else:  # the one running may have begun before this delete was committed
            self._vacuum_again = True
        return sessions

    async def _vacuum_while_wanted(self) -> None:
        """VACUUM until no erasure came while it ran: one at a time in this process."""
        self._vacuum_again = True
        while self._vacuum_again:
            self._vacuum_again = False
            await self._vacuum()

    async def _vacuum(self) -> None:
        """VACUUM the tables an erasure deleted from (outside any transaction, as it must be).

        It removes the dead rows' index entries and marks their space for reuse. It does not
        overwrite the dead rows' bytes in the table files (new rows do, in time), nor reach
        PostgreSQL's WAL, its archive or backups (docs/reliability.md). The personal columns
        are never sampled for the planner (a migration), so no copy waits there.
        """
        try:
            async with self._connection(transaction=False) as db:
                await db.execute(f"VACUUM {', '.join(PERSONAL_COLUMNS)}")
        except StorageError as exc:
            log.warning("could not vacuum after deleting personal data (it is deleted; its "
                        "space is reused once autovacuum runs): %s", exc)

    async def purge(self, older_than: datetime, *,
                    unless_rebuilt_since: datetime | None = None) -> Purged:
        """Delete what retention no longer allows, then VACUUM, every time: unlike SQLite's
        rebuild it holds no copy of the database in memory (`unless_rebuilt_since` is moot)."""
        purged = await self._write(queries.purge(older_than, self._clock()))
        await self._vacuum()
        return purged

    async def export_rows(self) -> tuple[str, list[ExportRow]]:
        async with self._connection() as db:
            key = await carry_out(db, queries.secret("export_key"))
            return key, await carry_out(db, queries.export_sessions())

    # --- monitoring (/metrics) ----------------------------------------------------------

