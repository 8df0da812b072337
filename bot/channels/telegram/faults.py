"""The operator's words when the database fails, as the Telegram channel reports it."""

from __future__ import annotations

from bot.channels.telegram.metrics import BotMetrics
from bot.storage import SessionStore, explain_storage_fault


def storage_fault(store: SessionStore, error: BaseException,
                  metrics: BotMetrics | None = None) -> str:
    """The operator's sentence for a failing database (see `explain_storage_fault`), the
    fault counted in `metrics` if given (kebas_storage_errors_total)."""
    if metrics is not None:
        metrics.storage_errors.inc()
    return explain_storage_fault(error, store.path)
