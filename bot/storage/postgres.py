"""`SessionStore` on PostgreSQL (asyncpg): the same tables and behaviour as `SQLiteStore`, for
webhook workers on several hosts sharing one database (`KEBAS_DB=postgresql://…`).

The schema is SQLite's, column for column (timestamps as ISO text, JSON as text), made by the
same numbered migrations (`storage.MIGRATIONS`, in PostgreSQL's words). Two things differ
because PostgreSQL runs many transactions at once:
a step's transaction first takes an advisory lock on its chat, so the check that the session is
still the one read and the write that follows are one atomic act across every worker; and
migrations run under a lock of their own, so workers starting together migrate once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg

from bot.core.engine import Step, StepKind
from bot.storage.sqlite import (
    ABANDONED,
    ACTIVE,
    CHAT_COLUMNS,
    EXPORT_COLUMNS,
    FINISHED,
    PERSONAL_COLUMNS,
    ChatSettings,
    Clock,
    Conflict,
    Expected,
    ExportRow,
    Purged,
    Saved,
    StorageError,
    StoredSession,
    StoreLifetime,
    UsageRow,
    _export_row,
    _stamp,
    _usage_row,
    migrations,
    shown_database,
    utc_now,
)

# SQLite's migrations, in PostgreSQL's words: the same tables, columns and steps.
MIGRATIONS = migrations("postgresql")
SCHEMA_VERSION = len(MIGRATIONS)
# What a server that is down, restarting or cut off raises.
UNREACHABLE = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
               asyncpg.OperatorInterventionError)
MIGRATION_LOCK = 0x4B65626173
# Held until the transaction ends: every write of one chat's sessions, one after another.
CHAT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
# A statement that takes longer fails (and the runner gets the apology) instead of hanging.
COMMAND_SECONDS = 30  # "Kebas": one advisory lock for every migrating worker
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


def _count(status: str) -> int:
    """asyncpg's command status ('UPDATE 3', 'INSERT 0 1') as a row count."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresStore(StoreLifetime):
    """`SessionStore` on a PostgreSQL database shared by every worker."""

    def __init__(self, dsn: str, clock: Clock = utc_now, *, read_only: bool = False,
                 pool_size: int = 10) -> None:
        self.dsn = dsn
        self.path = shown_database(dsn)  # what messages call the database
        self._clock = clock
        self.read_only = read_only
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self.migrated_from: int | None = None  # the schema version found at open
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
                self._accept_schema(await self.schema_version(), made=True)
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
    async def _connection(self, *, transaction: bool = True
                          ) -> AsyncIterator[asyncpg.Connection]:
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
            self._accept_schema(version)
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    await db.execute(statement)
            await db.execute("UPDATE kebas_schema SET version = $1", SCHEMA_VERSION)
            self.lease_key = await db.fetchval(
                "SELECT value FROM secrets WHERE name = 'lease_key'")

    # --- sessions -------------------------------------------------------------------------

    async def latest(self, chat_key: str) -> StoredSession | None:
        async with self._connection(transaction=False) as db:
            row = await db.fetchrow(
                "SELECT id, chat_key, dialog_id, dialog_version, state, status, started_at, "
                "updated_at, revision FROM sessions WHERE chat_key = $1 AND status != $2 "
                "ORDER BY id DESC LIMIT 1", chat_key, ABANDONED)
        if row is None:
            return None
        return StoredSession(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6],
                             row[7], row[8])

    async def save(self, chat_key: str, session_id: int | None, step: Step, *,
                   update_id: int | None = None, expected: Expected | str = "any") -> Saved:
        now = _stamp(self._clock())
        state = step.state
        status = FINISHED if step.outcome is not None else ACTIVE
        triage = step.outcome.level.value if step.outcome is not None else None
        outcome = json.dumps(step.outcome.summary()) if step.outcome is not None else None
        async with self._connection() as db:
            # every worker writing this chat waits here, until this transaction ends
            await db.execute(CHAT_LOCK, chat_key)
            if update_id is not None and _count(await db.execute(
                    "INSERT INTO processed_updates (update_id, chat_key, at) VALUES ($1, $2, $3) "
                    "ON CONFLICT (update_id) DO NOTHING", update_id, chat_key, now)) == 0:
                return Saved(session_id or 0, duplicate=True)
            if expected != "any":
                latest = await db.fetchrow(
                    "SELECT id, revision FROM sessions WHERE chat_key = $1 AND status != $2 "
                    "ORDER BY id DESC LIMIT 1", chat_key, ABANDONED)
                if (None if latest is None else tuple(latest)) != expected:
                    raise Conflict(f"{chat_key}: the session changed since it was read")
            if session_id is None or step.kind in (StepKind.STARTED, StepKind.RESTARTED):
                if session_id is not None:
                    await db.execute(
                        "UPDATE sessions SET status = $1, updated_at = $2, "
                        "revision = revision + 1 WHERE id = $3 AND status = $4",
                        ABANDONED, now, session_id, ACTIVE)
                session_id = await db.fetchval(
                    "INSERT INTO sessions (chat_key, dialog_id, dialog_version, node, state, "
                    "status, triage, outcome, started_at, updated_at, finished_at) VALUES "
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                    chat_key, state["dialog"], state["version"], state["node"],
                    json.dumps(state), status, triage, outcome, now, now,
                    now if status == FINISHED else None)
            else:
                await db.execute(
                    "UPDATE sessions SET dialog_id = $1, dialog_version = $2, node = $3, "
                    "state = $4, status = $5, triage = $6, outcome = $7, updated_at = $8, "
                    "revision = revision + 1, finished_at = CASE WHEN $5 = 'finished' "
                    "THEN COALESCE(finished_at, $8) END WHERE id = $9",
                    state["dialog"], state["version"], state["node"], json.dumps(state),
                    status, triage, outcome, now, session_id)
            logged = None
            if step.answer is not None:
                logged = ("answer", step.answer.node_id, step.answer.value)
            elif step.kind is StepKind.BACK and step.prompt is not None:
                logged = ("back", step.prompt.node_id, None)
            if logged is not None:
                action, node, value = logged
                await db.execute(
                    "INSERT INTO answers (session_id, seq, action, node, value, at) "
                    "VALUES ($1, $2, $3, $4, $5, $6)", session_id, len(state["answers"]),
                    action, node, None if value is None else json.dumps(value), now)
        return Saved(int(session_id))

    async def _statements(self, statements: list[tuple[str, tuple[Any, ...]]], *,
                          chat_key: str | None = None) -> list[int]:
        """Statements in one transaction; each one's row count. With `chat_key`, under the
        chat's lock, as a step's save is."""
        async with self._connection() as db:
            if chat_key is not None:
                await db.execute(CHAT_LOCK, chat_key)
            return [_count(await db.execute(sql, *params)) for sql, params in statements]

    async def forget(self, chat_key: str) -> int:
        counts = await self._statements([
            ("DELETE FROM sessions WHERE chat_key = $1", (chat_key,)),
            ("DELETE FROM processed_updates WHERE chat_key = $1", (chat_key,)),
            ("DELETE FROM chats WHERE chat_key = $1", (chat_key,)),
            ("DELETE FROM inbox WHERE chat_key = $1", (chat_key,)),
            ("DELETE FROM chat_leases WHERE chat_key = $1", (self._lease(chat_key),)),
        ], chat_key=chat_key)
        # after the reply, not before: the runner need not wait for it
        if self._vacuuming is None or self._vacuuming.done():
            self._vacuuming = asyncio.create_task(self._vacuum_while_wanted())
        else:  # the one running may have begun before this delete was committed
            self._vacuum_again = True
        return counts[0]

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
        are never sampled for the planner (the last migration), so no copy waits there.
        """
        try:
            async with self._connection(transaction=False) as db:
                await db.execute(f"VACUUM {', '.join(PERSONAL_COLUMNS)}")
        except StorageError as exc:
            log.warning("could not vacuum after deleting personal data (it is deleted; its "
                        "space is reused once autovacuum runs): %s", exc)

    async def abandon(self, chat_key: str) -> bool:
        counts = await self._statements([(
            "UPDATE sessions SET status = $1, updated_at = $2, revision = revision + 1 "
            "WHERE chat_key = $3 AND status = $4",
            (ABANDONED, _stamp(self._clock()), chat_key, ACTIVE))], chat_key=chat_key)
        return counts[0] > 0

    # --- chats, dialogs -------------------------------------------------------------------

    async def chat(self, chat_key: str) -> ChatSettings | None:
        async with self._connection(transaction=False) as db:
            row = await db.fetchrow(
                f"SELECT {', '.join(CHAT_COLUMNS)} FROM chats WHERE chat_key = $1", chat_key)
        return None if row is None else ChatSettings(chat_key, *row)

    async def update_chat(self, chat_key: str, **changes: Any) -> None:
        unknown = set(changes) - set(CHAT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown chat columns: {sorted(unknown)}")
        names = list(changes)
        values = ", ".join(f"${number}" for number in range(2, len(names) + 2))
        assignments = "".join(f"{name} = excluded.{name}, " for name in names)
        await self._statements([(
            f"INSERT INTO chats (chat_key, {''.join(name + ', ' for name in names)}updated_at) "
            f"VALUES ($1, {values + ', ' if names else ''}${len(names) + 2}) "
            f"ON CONFLICT (chat_key) DO UPDATE SET {assignments}updated_at = excluded.updated_at",
            (chat_key, *changes.values(), _stamp(self._clock())))])

    async def remember_dialog(self, content_hash: str, dialog_id: str, version: int,
                              definition: str, texts: str | None = None) -> None:
        await self._statements([(
            "INSERT INTO dialog_versions (content_hash, dialog_id, version, definition, texts, "
            "first_used) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (content_hash) DO NOTHING",
            (content_hash, dialog_id, version, definition, texts, _stamp(self._clock())))])

    async def dialog_definition(self, content_hash: str) -> tuple[str, str | None] | None:
        async with self._connection(transaction=False) as db:
            row = await db.fetchrow("SELECT definition, texts FROM dialog_versions "
                                    "WHERE content_hash = $1", content_hash)
        return None if row is None else (row[0], row[1])

    async def ping(self) -> None:
        async with self._connection(transaction=False) as db:
            await db.fetchval("SELECT count(*) FROM sessions WHERE id = 0")

    async def newest_update(self, chat_key: str) -> int | None:
        async with self._connection(transaction=False) as db:
            return await db.fetchval(
                "SELECT max(update_id) FROM processed_updates WHERE chat_key = $1", chat_key)

    # --- leases (webhook workers) ---------------------------------------------------------

    async def take_lease(self, chat_key: str, holder: str, now: float, seconds: float
                         ) -> bool:
        """As `SQLiteStore.take_lease`: the row names the chat by `lease_name`."""
        counts = await self._statements([(
            "INSERT INTO chat_leases (chat_key, holder, until) VALUES ($1, $2, $3) "
            "ON CONFLICT (chat_key) DO UPDATE SET holder = excluded.holder, "
            "until = excluded.until WHERE chat_leases.until < $4 OR chat_leases.holder = $2",
            (self._lease(chat_key), holder, now + seconds, now))])
        return counts[0] == 1

    async def end_lease(self, chat_key: str, holder: str) -> None:
        await self._statements([("DELETE FROM chat_leases WHERE chat_key = $1 AND holder = $2",
                                 (self._lease(chat_key), holder))])

    # --- reports, retention ---------------------------------------------------------------

    async def usage_rows(self, since: datetime | None = None,
                         dialog_id: str | None = None) -> list[UsageRow]:
        sql = ("SELECT dialog_id, dialog_version, status, node, triage, outcome, state, "
               "started_at, finished_at FROM sessions WHERE started_at >= $1")
        params: list[Any] = ["" if since is None else _stamp(since)]
        if dialog_id is not None:
            sql += " AND dialog_id = $2"
            params.append(dialog_id)
        async with self._connection(transaction=False) as db:
            rows = await db.fetch(sql + " ORDER BY id", *params)
        return [_usage_row(*row) for row in rows]

    async def purge(self, older_than: datetime) -> Purged:
        cutoff = _stamp(older_than)
        answers, sessions, updates, chats, _inbox, _leases = await self._statements([
            ("DELETE FROM answers WHERE session_id IN "
             "(SELECT id FROM sessions WHERE updated_at < $1)", (cutoff,)),
            ("DELETE FROM sessions WHERE updated_at < $1", (cutoff,)),
            ("DELETE FROM processed_updates WHERE at < $1", (cutoff,)),
            ("DELETE FROM chats WHERE updated_at < $1 AND chat_key NOT IN "
             "(SELECT chat_key FROM sessions)", (cutoff,)),
            ("DELETE FROM inbox WHERE received_at < $1", (cutoff,)),
            ("DELETE FROM chat_leases WHERE until < $1", (older_than.timestamp(),)),
        ])
        await self._vacuum()
        return Purged(sessions=sessions, answers=answers, chats=chats, updates=updates)

    async def export_rows(self) -> tuple[str, list[ExportRow]]:
        async with self._connection() as db:
            key = await db.fetchval("SELECT value FROM secrets WHERE name = 'export_key'")
            rows = await db.fetch(f"SELECT {EXPORT_COLUMNS} FROM sessions ORDER BY id")
        return key, [_export_row(*row) for row in rows]

    # --- the inbox (long polling only) ----------------------------------------------------

    async def inbox_add(self, update_id: int, chat_key: str | None, payload: str) -> bool:
        counts = await self._statements([(
            "INSERT INTO inbox (update_id, chat_key, payload, received_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (update_id) DO NOTHING",
            (update_id, chat_key, payload, _stamp(self._clock())))])
        return counts[0] == 1

    async def inbox_done(self, update_id: int) -> None:
        await self._statements([("DELETE FROM inbox WHERE update_id = $1", (update_id,))])

    async def inbox_pending(self) -> list[tuple[int, str]]:
        async with self._connection(transaction=False) as db:
            rows = await db.fetch("SELECT update_id, payload FROM inbox ORDER BY update_id")
        return [(int(update_id), payload) for update_id, payload in rows]

    def now(self) -> str:
        return _stamp(self._clock())

    async def answers(self, session_id: int) -> list[dict[str, Any]]:
        async with self._connection(transaction=False) as db:
            rows = await db.fetch("SELECT seq, action, node, value, at FROM answers "
                                  "WHERE session_id = $1 ORDER BY id", session_id)
        return [{"seq": seq, "action": action, "node": node,
                 "value": None if value is None else json.loads(value), "at": at}
                for seq, action, node, value, at in rows]
