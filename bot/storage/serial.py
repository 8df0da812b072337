"""One sqlite3 connection, used on a thread of its own and awaited from the event loop.

SQLite's calls block, so the store's writer connection lives on one worker thread
(a `ThreadPoolExecutor` of one): every call to it runs there, one at a time, in the order
made, and the event loop awaits the result. A whole transaction can be one trip there and
back (`run`), which is what the group commit needs (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


class SerialConnection:
    """A sqlite3 connection only its own thread touches (sqlite3 checks that it is)."""

    def __init__(self, connection: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self._connection = connection
        self._thread = thread

    @classmethod
    async def connect(cls, target: str, *, uri: bool = False) -> SerialConnection:
        """Open `target` in autocommit mode (transactions are begun by hand) on a new thread."""
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kebas-sqlite")
        try:
            connection = await asyncio.get_running_loop().run_in_executor(
                thread, partial(sqlite3.connect, target, uri=uri, isolation_level=None))
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(connection, thread)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` on the connection's thread, in one trip."""
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, work, self._connection)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """One statement; all the rows it returned."""
        return await self.run(lambda db: db.execute(sql, params).fetchall())

    async def close(self) -> None:
        """Close the connection on its thread, then let the thread end."""
        try:
            await self.run(sqlite3.Connection.close)
        finally:
            self._thread.shutdown(wait=False)
