"""The group commit: writes that wait at the same time share one transaction, one fsync and
one trip to the writer's thread.

Under load many chats' steps wait together (docs/performance.md). Each write is a savepoint
of its own, so one that fails is undone alone and raises to its own caller, and each returns
only once its commit is on disk (`durable=False`: once it is committed; see
`SQLiteStore.inbox_done`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from bot.storage.serial import SerialConnection

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
# each write's value, or the error it alone raised
Outcome = tuple[Any, BaseException | None]


@dataclass
class Waiting:
    work: Work
    durable: bool
    result: asyncio.Future[Any]


class GroupCommit:
    """The writes waiting for the next commit on one connection, and the task committing
    them. `lock` is held for each commit: nothing else may use the connection meanwhile (a
    read there would see other chats' uncommitted rows)."""

    def __init__(self, connection: SerialConnection, lock: asyncio.Lock) -> None:
        self._connection = connection
        self._lock = lock
        self._waiting: list[Waiting] = []
        self._committer: asyncio.Task[None] | None = None

    async def write(self, work: Callable[[sqlite3.Connection], T], *,
                    durable: bool = True) -> T:
        """Run `work` atomically, committed with the other writes waiting at the same time."""
        waiting = Waiting(work, durable, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        value: T = await asyncio.shield(waiting.result)
        return value

    async def finish(self) -> None:
        """Wait for the commit under way (closing the store)."""
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
            self._committer = None

    async def _commit_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                async with self._lock:
                    outcomes = await self._connection.run(partial(commit_together, group=group))
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


def commit_together(db: sqlite3.Connection, group: list[Waiting]) -> list[Outcome]:
    """One transaction for the whole group, each write in a savepoint: (value, error) each.

    The commit waits for the disk (synchronous=FULL) unless no write in the group needs it.
    """
    durable = any(write.durable for write in group)
    if not durable:
        db.execute("PRAGMA synchronous = NORMAL")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            outcomes: list[Outcome]
            if len(group) == 1:  # the transaction is its savepoint
                outcomes = [(group[0].work(db), None)]
            else:
                outcomes = [in_savepoint(db, write.work) for write in group]
            db.execute("COMMIT")
        except BaseException:
            roll_back(db)
            raise
    finally:
        if not durable:
            db.execute("PRAGMA synchronous = FULL")
    return outcomes


def in_savepoint(db: sqlite3.Connection, work: Work) -> Outcome:
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


def roll_back(db: sqlite3.Connection) -> None:
    """Undo the open transaction; a failing rollback must not hide the error behind it.

    When SQLite has already rolled back by itself (e.g. a full disk), there is nothing to
    undo, and nothing of the step was written.
    """
    with contextlib.suppress(sqlite3.Error):
        db.execute("ROLLBACK")
