"""The database as the Telegram channel uses it, and the operator's words when it fails."""

from __future__ import annotations

from typing import Protocol

from bot.storage import SessionStore, explain_storage_fault


class TelegramStore(SessionStore, Protocol):
    """A session store with the durable inbox and the database's clock: both stores
    (SQLite and PostgreSQL) are one. (`SessionStore` does not declare these yet.)"""

    async def inbox_add(self, update_id: int, chat_key: str | None, payload: str) -> bool: ...
    async def inbox_done(self, update_id: int) -> None: ...
    async def inbox_pending(self) -> list[tuple[int, str]]: ...
    def now(self) -> str: ...


def storage_fault(store: SessionStore, error: BaseException) -> str:
    """The operator's sentence for a failing database (see `explain_storage_fault`)."""
    return explain_storage_fault(error, getattr(store, "path", "the database"))
