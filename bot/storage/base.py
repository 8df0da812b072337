"""What both stores share: `async with`, the clock rows are stamped with, the names leases go
by, the schema versions a store accepts, and every operation that runs alike on both.

An operation is a plan (`queries`); a store says only how it runs one: `_write` (atomically,
committed before it returns), `_lookup` (a read of a few rows by index) and `_scan` (a read of
many). What differs beyond that (opening, erasing older copies, the export) each store writes
itself.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from bot.core.engine import Step
from bot.storage import followup_queries, queries
from bot.storage.protocol import (
    ChatSettings,
    ChatValue,
    Clock,
    Expected,
    Followup,
    FollowupRow,
    LoggedAnswer,
    Saved,
    StartCount,
    StorageError,
    StoredSession,
    UsageRow,
)
from bot.storage.queries import Plan
from bot.storage.schema import FOLLOWUPS_SCHEMA, SCHEMA_VERSION, STARTS_SCHEMA

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


def lease_name(key: str, chat_key: str) -> str:
    """How chat_leases names a chat: HMAC-SHA256 of its chat key under the database's
    lease key (hex), so no lease row, nor any older copy of one, holds a chat key."""
    return hmac.new(key.encode(), chat_key.encode(), hashlib.sha256).hexdigest()


def accept_schema(path: str | Path, version: int, *, made: bool = False) -> None:
    """Refuse a schema this Kebas cannot use (`made`: one that must exist already)."""
    if made and version == 0:
        raise StorageError(f"{path} is not a Kebas database")
    if version > SCHEMA_VERSION:
        raise StorageError(f"the database {path} has schema version {version}, newer "
                           f"than this Kebas ({SCHEMA_VERSION}); upgrade Kebas")


class StoreBase:
    """The part of `SessionStore` both stores write alike."""

    migrated_from: int | None = None  # the schema version found at open
    lease_key: str | None = None  # read at open by a store that writes (`lease_name`)

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, traceback: TracebackType | None) -> None:
        await self.close()

    def now(self) -> str:
        """The store's clock as it writes time stamps (ISO 8601, UTC, milliseconds)."""
        return queries.stamp(self._clock())

    def _lease(self, chat_key: str) -> str:
        """The name chat_leases knows this chat by."""
        if self.lease_key is None:
            raise StorageError("the store is not open for writing")
        return lease_name(self.lease_key, chat_key)

    # --- how a store runs a plan --------------------------------------------------------------

    async def _write(self, plan: Plan[T], *, durable: bool = True,
                     chat_key: str | None = None) -> T:
        """Run a plan atomically; it returns once committed, and on disk unless `durable`
        is False and the store can tell. `chat_key`: a write of that chat's session, which
        no other worker may interleave with."""
        raise NotImplementedError

    async def _lookup(self, plan: Plan[T]) -> T:
        """Run a plan that reads a few committed rows by index."""
        raise NotImplementedError

    async def _scan(self, plan: Plan[T]) -> T:
        """Run a plan that reads many committed rows."""
        raise NotImplementedError

    async def schema_version(self) -> int:
        """The version of the schema the database has now."""
        raise NotImplementedError

    # --- sessions -------------------------------------------------------------------------

    async def latest(self, chat_key: str) -> StoredSession | None:
        """The chat's most recent session that was not abandoned by a restart."""
        return await self._lookup(queries.latest(chat_key))

    async def save(self, chat_key: str, session_id: int | None, step: Step, *,
                   update_id: int | None = None, expected: Expected | str = "any") -> Saved:
        """Write one step in one transaction (`queries.save_step`): a restart (or no session
        yet) opens a new session; `Conflict` if the chat's session is no longer `expected`."""
        return await self._write(queries.save_step(
            chat_key, session_id, step, update_id=update_id, now=self.now(),
            expected=expected), chat_key=chat_key)

    async def answers(self, session_id: int) -> list[LoggedAnswer]:
        """The answer log of one session, oldest first."""
        return await self._scan(queries.answers(session_id))

    async def abandon(self, chat_key: str) -> bool:
        """End the chat's active session without a result (the runner cancelled)."""
        return await self._write(queries.abandon(chat_key, self.now()), chat_key=chat_key)

    async def newest_update(self, chat_key: str) -> int | None:
        """The highest update id applied to this chat (`queries.newest_update`)."""
        return await self._lookup(queries.newest_update(chat_key))

    async def ping(self) -> None:
        """Raises what keeps the database from being read (for a health check)."""
        await self._lookup(queries.ping())

    # --- chats, dialogs -------------------------------------------------------------------

    async def chat(self, chat_key: str) -> ChatSettings | None:
        return await self._lookup(queries.chat(chat_key))

    async def update_chat(self, chat_key: str, **changes: ChatValue) -> None:
        await self._write(queries.update_chat(chat_key, changes, self.now()))

    async def remember_dialog(self, content_hash: str, dialog_id: str, version: int,
                              definition: str, texts: str | None = None) -> None:
        """Keep a dialog version, and its texts, the first time it is used (later calls
        change nothing)."""
        await self._write(queries.remember_dialog(content_hash, dialog_id, version,
                                                  definition, texts, self.now()))

    async def dialog_definition(self, content_hash: str) -> tuple[str, str | None] | None:
        """A kept dialog version: its definition and its texts (JSON), or None."""
        return await self._lookup(queries.dialog_definition(content_hash))

    # --- leases (webhook workers) ---------------------------------------------------------

    async def take_lease(self, chat_key: str, holder: str, now: float, seconds: float
                         ) -> bool:
        """Become the one process handling this chat until `now + seconds`, unless another
        holds it (a lease left by a process that died runs out). `now`: wall-clock seconds,
        the same clock in every process. The row names the chat by `lease_name`."""
        return await self._write(queries.take_lease(self._lease(chat_key), holder, now,
                                                    seconds), durable=False)

    async def end_lease(self, chat_key: str, holder: str) -> None:
        await self._write(queries.end_lease(self._lease(chat_key), holder), durable=False)

    # --- the inbox (long polling) ---------------------------------------------------------

    async def inbox_add(self, update_id: int, chat_key: str | None, payload: str) -> bool:
        """Keep an update until it is handled; False if it is already kept (a redelivery)."""
        return await self._write(queries.inbox_add(update_id, chat_key, payload, self.now()))

    async def inbox_done(self, update_id: int) -> None:
        """Forget a handled update, without waiting for the disk (SQLite: synchronous=NORMAL).

        The delete is on disk with the next commit that is (every step's is): only a power
        cut in between can undo it, and then the update is replayed at start, found already
        processed, and the runner shown their current question again. Nothing else depends
        on it, so it need not cost a third fsync per update.
        """
        await self._write(queries.inbox_done(update_id), durable=False)

    async def inbox_pending(self) -> list[tuple[int, str]]:
        """Updates received but never handled (the process stopped), oldest first."""
        return await self._scan(queries.inbox_pending())

    # --- starts from links (t.me/<bot>?start=SOURCE) ---------------------------------------

    async def count_start(self, update_id: int, source: str) -> bool:
        """Count a start from a link today (UTC), once per update (`queries.count_start`):
        False when this update was counted before. Nothing says who started."""
        return await self._write(queries.count_start(update_id, source, self.now()[:10]))

    async def start_counts(self) -> list[StartCount]:
        """Every day's starts from links by source, oldest first; none in a database from
        before they were counted (a report reads one that is not migrated yet)."""
        if await self.schema_version() < STARTS_SCHEMA:
            return []
        return await self._scan(queries.start_counts())

    # --- reports --------------------------------------------------------------------------

    async def usage_rows(self, since: datetime | None = None,
                         dialog_id: str | None = None) -> list[UsageRow]:
        """Every session started at or after `since` (of one dialog, if given), oldest first."""
        return await self._scan(queries.usage_rows(since, dialog_id))

    async def count_active(self) -> int:
        """Sessions in progress (of every worker on a shared database), for /metrics."""
        return await self._scan(queries.count_active())

    # --- follow-up check-ins (`followup_queries`) ----------------------------------------

    async def session(self, chat_key: str, session_id: int) -> StoredSession | None:
        """One of the chat's sessions by id; None if it is gone or another chat's."""
        return await self._lookup(followup_queries.session(chat_key, session_id))

    async def schedule_followup(self, chat_key: str, session_id: int, checkin_dialog: str,
                                level: str, due_at: datetime) -> bool:
        """Ask for a check-in after session `session_id`, due at `due_at`; False if one
        was asked for already."""
        return await self._write(followup_queries.schedule(
            chat_key, session_id, checkin_dialog, level, due_at, self.now()))

    async def claim_due_followups(self, now: datetime, holder: str, seconds: float, *,
                                  prefix: str = "", chat_key: str | None = None,
                                  limit: int = 20) -> list[Followup]:
        """Claim the check-ins due by `now` that nobody holds, for `seconds` (wall clock:
        `now` is the same in every process); those this holder won."""
        return await self._write(followup_queries.claim_due(
            now, holder, seconds, prefix, chat_key, limit), durable=False)

    async def followup_sent(self, followup_id: int, holder: str,
                            checkin_session: int | None) -> bool:
        """Mark a claimed check-in sent; False if `holder` no longer holds it."""
        return await self._write(followup_queries.sent(followup_id, holder, checkin_session,
                                                       self.now()))

    async def cancel_followups(self, chat_key: str, reason: str, *,
                               only: int | None = None) -> int:
        """Cancel the chat's pending check-ins (or the one `only`); how many."""
        return await self._write(followup_queries.cancel(chat_key, reason, only, self.now()))

    async def followup_for(self, chat_key: str, session_id: int) -> Followup | None:
        """The check-in asked for after that session, or the one that opened it."""
        return await self._lookup(followup_queries.followup_for(chat_key, session_id))

    async def followup_rows(self, since: datetime | None = None) -> list[FollowupRow]:
        """Every follow-up asked for since `since`, for the statistics (no chat key); none
        in a database from before they were kept."""
        if await self.schema_version() < FOLLOWUPS_SCHEMA:
            return []
        return await self._scan(followup_queries.rows(since))
