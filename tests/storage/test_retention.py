"""Retention: the purge at start and every day (`bot/storage/retention.py`)."""

from __future__ import annotations

import sqlite3
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


async def test_the_purge_at_start_rebuilds_the_file_if_it_deleted_something_or_a_day_has_passed(
        store, dialog, monkeypatch):
    """bench/perf.py: the rebuild holds a copy of the whole database in memory, so starting
    on 100,000 past sessions took 560 MB instead of 80 MB although retention deleted nothing.
    An erasure (/hapus) rebuilds at once and the daily run always (handled updates' older
    copies go); the run at start rebuilds when it deleted something or when the last rebuild
    is over a day old, so a bot restarted more often than daily still rebuilds once a day."""
    await Conversations(dialog, store).begin("tg:5")
    rebuilds = Rebuilds(store, monkeypatch)
    application = type("App", (), {"job_queue": Jobs()})()
    now = datetime.now(UTC)
    await purge_now_and_daily(application, store, 30, lambda: now)
    assert rebuilds.count == 0, "nothing deleted, the new file is as good as rebuilt"
    await application.job_queue.daily(None)
    assert rebuilds.count == 1, "the daily run rebuilds even with nothing deleted"
    now += timedelta(hours=20)
    await purge_now_and_daily(application, store, 30, lambda: now)
    assert rebuilds.count == 1, "restarted within the day, nothing deleted: no rebuild"
    now += timedelta(hours=5)
    await purge_now_and_daily(application, store, 30, lambda: now)
    assert rebuilds.count == 2, "restarted a day after the last rebuild: it rebuilds"
    now += timedelta(days=31)
    await purge_now_and_daily(application, store, 30, lambda: now)
    assert rebuilds.count == 3, "the run at start deleted a session: it rebuilds"


async def test_a_database_upgraded_with_peoples_data_in_it_is_rebuilt_at_its_first_start(
        tmp_path, dialog, monkeypatch):
    """An older Kebas rebuilt the file at every start; a database it leaves behind holds
    older copies this one has never cleared, so its first start rebuilds it, deleting
    nothing or not."""
    path = tmp_path / "kebas.sqlite3"
    async with SQLiteStore(path) as store:
        await Conversations(dialog, store).begin("tg:5")
    with sqlite3.connect(path) as db:  # as the schema before `upkeep` was (version 10)
        for table in ("followups", "start_counts", "counted_starts", "upkeep"):
            db.execute(f"DROP TABLE {table}")
        db.execute("PRAGMA user_version = 10")
    async with SQLiteStore(path) as store:
        rebuilds = Rebuilds(store, monkeypatch)
        application = type("App", (), {"job_queue": Jobs()})()
        now = datetime.now(UTC)
        await purge_now_and_daily(application, store, 30, lambda: now)
        assert rebuilds.count == 1
        await purge_now_and_daily(application, store, 30, lambda: now)
        assert rebuilds.count == 1, "and then not again within the day"
