"""Retention: health answers are kept no longer than the operator's `KEBAS_RETENTION_DAYS`.

UU PDP asks that specific personal data be kept only as long as its purpose needs. A session
untouched for that many days is deleted with everything that points at it, by the running bot
once a day and by `kebas purge` whenever an operator wants.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.storage.protocol import Purged, SessionStore

log = logging.getLogger("kebas.retention")
EVERY_DAY = timedelta(days=1)
JOB_NAME = "retention"


async def purge_expired(store: SessionStore, days: int, now: datetime, *,
                        unless_rebuilt_since: datetime | None = None) -> Purged:
    """Delete what was last touched more than `days` before `now` (`SessionStore.purge`)."""
    purged = await store.purge(now - timedelta(days=days),
                               unless_rebuilt_since=unless_rebuilt_since)
    if purged.total:
        log.info("retention (%d days): deleted %d sessions, %d answers, %d chats, %d update "
                 "ids, %d follow-ups (%d not sent yet)", days, purged.sessions, purged.answers,
                 purged.chats, purged.updates, purged.followups, purged.followups_pending)
    return purged


async def purge_now_and_daily(application: Any, store: SessionStore, days: int,
                              clock: Any, *,
                              purged: Callable[[Purged], None] = lambda _done: None) -> None:
    """Purge before the bot starts answering, then every day in its own event loop (PTB's
    JobQueue); `purged` is told what each purge deleted."""

    async def purge(_context: Any) -> None:
        purged(await purge_expired(store, days, clock()))

    now = clock()
    purged(await purge_expired(store, days, now, unless_rebuilt_since=now - EVERY_DAY))
    application.job_queue.run_repeating(purge, interval=EVERY_DAY, first=EVERY_DAY,
                                        name=JOB_NAME)
