"""Retention: the purge at start and every day (`bot/storage/retention.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.conversation import Conversations
from bot.storage import SQLiteStore
from bot.storage.retention import purge_now_and_daily


class Rebuilds:
    """Counts the times a store's file is rebuilt (VACUUM) by wrapping its connection."""

    def __init__(self, store: SQLiteStore, monkeypatch) -> None:
        self.count = 0
        execute = store.db.execute

        async def counted(sql, params=()):
            self.count += sql.strip().upper() == "VACUUM"
            return await execute(sql, params)
        monkeypatch.setattr(store.db, "execute", counted)


class Jobs:
    """The JobQueue of an Application, as far as the retention purge uses it."""

    def __init__(self) -> None:
        self.daily = None

    def run_repeating(self, callback, interval, first, name):
        self.daily = callback


async def test_the_purge_at_start_rebuilds_the_file_only_if_it_deleted_something(
        store, dialog, monkeypatch):
    """bench/perf.py: the rebuild holds a copy of the whole database in memory, so starting
    on 100,000 past sessions took 560 MB instead of 80 MB although retention deleted nothing.
    An erasure (/hapus) rebuilds at once; the daily run rebuilds always (handled updates'
    older copies go); the run at start rebuilds only when it deleted something."""
    await Conversations(dialog, store).begin("tg:5")
    rebuilds = Rebuilds(store, monkeypatch)
    application = type("App", (), {"job_queue": Jobs()})()
    now = datetime.now(UTC)
    await purge_now_and_daily(application, store, 30, lambda: now)
    assert rebuilds.count == 0, "nothing was deleted at start: no rebuild"
    await application.job_queue.daily(None)
    assert rebuilds.count == 1, "the daily run rebuilds even with nothing deleted"
    now += timedelta(days=31)
    await purge_now_and_daily(application, store, 30, lambda: now)
    assert rebuilds.count == 2, "the run at start deleted a session: it rebuilds"
