"""Starts from links (t.me/<bot>?start=SOURCE), counted per day and source on SQLite and
PostgreSQL alike: an update counts once however often it comes, the table cannot be grown
by random payloads, and nothing in it says who started."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.conversation import Conversations
from bot.storage import OTHER_SOURCE, SOURCES_A_DAY, SQLiteStore, StartCount, link_source

DAY = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock(DAY)


@pytest.fixture
async def store(backend, clock):
    async with backend.store(clock=clock) as opened:
        yield opened


async def test_starts_are_counted_per_day_and_source(store, clock):
    assert await store.start_counts() == []
    assert await store.count_start(1, "poster-a")
    assert await store.count_start(2, "poster-a")
    assert await store.count_start(3, "en-flyer")
    clock.moment += timedelta(days=1)
    assert await store.count_start(4, "poster-a")
    day, next_day = DAY.date(), DAY.date() + timedelta(days=1)
    assert await store.start_counts() == [
        StartCount(day, "en-flyer", 1), StartCount(day, "poster-a", 2),
        StartCount(next_day, "poster-a", 1)]


async def test_an_update_delivered_again_counts_once(store, clock):
    assert await store.count_start(7, "poster-a")
    assert not await store.count_start(7, "poster-a"), "a webhook retry or a replay"
    clock.moment += timedelta(hours=20)  # the next day; Telegram still retries it
    assert not await store.count_start(7, "poster-a")
    assert await store.start_counts() == [StartCount(DAY.date(), "poster-a", 1)]


async def test_nothing_counted_names_a_chat_a_user_or_a_session(store, backend):
    await store.count_start(7, "poster-a")
    if backend.kind == "sqlite":
        columns = {table: [row[1] for row in await backend.rows(f"PRAGMA table_info({table})")]
                   for table in ("start_counts", "counted_starts")}
    else:
        found = await backend.rows(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_name "
            "IN ('start_counts', 'counted_starts') ORDER BY ordinal_position")
        columns = {}
        for table, column in found:
            columns.setdefault(table, []).append(column)
    assert columns == {"start_counts": ["day", "source", "starts"],
                       "counted_starts": ["update_id", "day"]}
    assert await backend.rows("SELECT day, source, starts FROM start_counts") == [
        ("2026-03-02", "poster-a", 1)]


async def test_beyond_the_sources_a_day_a_new_one_counts_as_other(store, clock):
    for number in range(SOURCES_A_DAY):
        assert await store.count_start(number + 1, f"source{number}")
    assert await store.count_start(100, "one-too-many")
    assert await store.count_start(101, "another")
    assert await store.count_start(102, "source3"), "a source already counted goes on"
    counted = {count.source: count.starts for count in await store.start_counts()}
    assert len(counted) == SOURCES_A_DAY + 1
    assert (counted[OTHER_SOURCE], counted["source3"]) == (2, 2)
    assert "one-too-many" not in counted
    clock.moment += timedelta(days=1)
    assert await store.count_start(103, "one-too-many"), "a new day starts afresh"
    assert StartCount(clock.moment.date(), "one-too-many", 1) in await store.start_counts()


@pytest.mark.parametrize("payload", ["", "a" * 33, "poster a", "poster!", "pöster", "../x"])
async def test_the_store_refuses_a_source_no_link_could_carry(store, payload):
    with pytest.raises(ValueError, match="not a link source"):
        await store.count_start(9, payload)
    assert await store.start_counts() == []


@pytest.mark.parametrize(("payload", "source"), [
    ("poster-a", "poster-a"), ("Poster_A", "poster_a"), ("x" * 32, "x" * 32),
    ("x" * 33, None), ("poster a", None), ("poster%21", None), ("", None), ("ДА", None)])
def test_a_payload_is_lowercased_and_kept_only_if_it_is_a_plain_short_name(payload, source):
    assert link_source(payload) == source


async def test_counted_update_ids_go_once_no_delivery_can_come_again_but_counts_stay(
        store, clock):
    await store.count_start(1, "poster-a")
    await store.inbox_add(2, "tg:5", "{}")  # handled but not yet done: its replay may come
    await store.count_start(2, "poster-a")
    clock.moment += timedelta(days=3)
    await store.count_start(3, "poster-a")
    await store.purge(clock.moment - timedelta(days=90))
    assert not await store.count_start(2, "poster-a"), "still in the inbox: still known"
    assert not await store.count_start(3, "poster-a"), "recent: still known"
    assert await store.count_start(1, "poster-a"), "Telegram keeps an update 24 hours at most"
    assert sum(count.starts for count in await store.start_counts()) == 4, \
        "retention keeps the counts: they are about no one"


async def test_erasing_a_chat_leaves_the_counts(store, dialog):
    await Conversations(dialog, store).begin("tg:5", update_id=1)
    await store.count_start(1, "poster-a")
    assert await store.forget("tg:5") == 1
    assert await store.start_counts() == [StartCount(DAY.date(), "poster-a", 1)]


async def test_a_database_from_before_the_counts_has_none_to_report(tmp_path):
    path = tmp_path / "kebas.sqlite3"
    async with SQLiteStore(path):
        pass
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE start_counts")
        connection.execute("DROP TABLE counted_starts")
        connection.execute("PRAGMA user_version = 11")
    async with SQLiteStore(path, read_only=True) as old:
        assert await old.start_counts() == []
