"""The operator's words when the database fails, as the Telegram channel reports it."""

from __future__ import annotations

from bot.storage import SessionStore, explain_storage_fault


def storage_fault(store: SessionStore, error: BaseException) -> str:
    """The operator's sentence for a failing database (see `explain_storage_fault`)."""
    return explain_storage_fault(error, store.path)
