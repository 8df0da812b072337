"""Erasure means erasure: after /hapus, a retention purge or `kebas purge`, no byte of the
runner's typed text or chat key is left in the database file, its -wal or its -shm.

A deleted row is not enough: SQLite keeps older copies of its pages in the -wal until a
checkpoint copies the newest ones back and the -wal is cut to nothing, and a kill -9 leaves the
-wal behind for the next start to read. These tests read the files as bytes (issue 14).

PostgreSQL promises less (VACUUM frees dead rows' space but does not overwrite it, and its WAL
and backups are beyond Kebas; docs/reliability.md): there an erasure is tested to vacuum every
table it deleted from, and no chat key or typed text to be sampled for the planner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.channels.telegram import app as telegram_channel
from bot.cli.main import main
from bot.conversation import Conversations
from bot.core.inputs import Choose, ChooseMany, Typed
from bot.storage import PERSONAL_COLUMNS, SQLiteStore
from bot.storage.retention import JOB_NAME

from support.backends import Backend, fresh_database
from support.erasure import leftovers as leftovers_in
from support.harness import PAD_STORY, Runner, running_bot
from support.process import ready, start_kebas
from support.webhook import workers

CHAT = 770011223
TYPED = ("rahasia-kebas-8311", "62 tahun")   # a text that is no answer, then the age
# what must not survive: the chat key, the bare id, the name, and what the runner typed
SECRETS = (f"tg:{CHAT}", str(CHAT), f"Pelari{CHAT}", *TYPED)
UP_TO_THE_AGE = PAD_STORY[:PAD_STORY.index("62")]
LONG_AGO = "2000-01-01T00:00:00.000+00:00"


def leftovers(db: Path, secrets: tuple[str, ...] = SECRETS) -> dict[str, list[str]]:
    return leftovers_in(db, secrets)


async def typed_up_to_the_age(runner: Runner) -> None:
    """Consent, the questions up to the age, a text that is no number, then the age."""
    await runner.agree()
    for answer in UP_TO_THE_AGE:
        await runner.answer(answer)
    await runner.type(TYPED[0], expect="Mohon ketik angka")
    await runner.type(TYPED[1])


async def stopped(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        await process.wait()


def everywhere(db: Path) -> set[str]:
    """The secrets found in any of the files: before erasure, all of them but the name."""
    return {secret for hits in leftovers(db).values() for secret in hits}


async def test_hapus_leaves_no_byte_on_disk_across_a_kill_9_and_a_restart(fake, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    log = tmp_path / "bot.log"
    process = await start_kebas(fake, db, log=log)
    try:
        await ready(fake, 0)
        runner, other = Runner(fake, CHAT), Runner(fake, 770099)
        await other.agree()
        await typed_up_to_the_age(runner)
        assert everywhere(db) >= {f"tg:{CHAT}", str(CHAT), *TYPED}, "there was something to erase"
        await runner.type("/hapus", expect="Hapus semua data Anda")
        await runner.tap(runner.sent[-1], runner.sent[-1].buttons[0]["callback_data"])
        await fake.wait_for(lambda: any("sudah dihapus" in m.text for m in runner.sent))
        process.kill()  # no shutdown: whatever is in the -wal stays there
        await process.wait()
        assert leftovers(db) == {}, "after /hapus and a kill -9"
        polls = len(fake.calls_of("getUpdates"))
        process = await start_kebas(fake, db, log=log)
        await ready(fake, polls)
        await other.answer(("none",))  # more traffic after the restart
        assert leftovers(db) == {}, "after the restart"
    finally:
        await stopped(process)
    assert leftovers(db) == {}, "after a clean stop"


async def test_kebas_purge_leaves_no_byte_of_an_expired_runner_on_disk(fake, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    process = await start_kebas(fake, db, log=tmp_path / "bot.log")
    try:
        await ready(fake, 0)
        await typed_up_to_the_age(Runner(fake, CHAT))
    finally:
        process.kill()  # the -wal stays, full of the runner's pages
        await process.wait()
    # Another program holds the database open, so `kebas purge` is not its last user (closing
    # the last connection would clean the -wal by itself); the runner's rows are made old.
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as held:
        for table, column in (("sessions", "updated_at"), ("processed_updates", "at"),
                              ("chats", "updated_at")):
            held.execute(f"UPDATE {table} SET {column} = ? WHERE chat_key = ?",
                         (LONG_AGO, f"tg:{CHAT}"))
        assert everywhere(db) >= {f"tg:{CHAT}", str(CHAT), *TYPED}
        assert await asyncio.to_thread(main, ["purge", "--db", str(db), "--days", "30",
                                              "--env-file", os.devnull]) == 0
        assert leftovers(db) == {}, "while another program holds the database open"
    assert leftovers(db) == {}


async def test_the_retention_job_leaves_no_byte_of_an_expired_runner_on_disk(
        fake, shipped, tmp_path, monkeypatch):
    db = tmp_path / "kebas.sqlite3"
    today = [datetime.now(UTC)]
    monkeypatch.setattr(telegram_channel, "utc_now", lambda: today[0])
    async with running_bot(fake, shipped, db, kebas_retention_days=30) as app:
        await typed_up_to_the_age(Runner(fake, CHAT))
        assert everywhere(db) >= {f"tg:{CHAT}", str(CHAT), *TYPED}
        today[0] += timedelta(days=31)
        job, = app.job_queue.get_jobs_by_name(JOB_NAME)
        await job.run(app)  # what runs every day
        assert leftovers(db) == {}, "while the bot runs on"


async def test_forget_among_many_runners_leaves_no_byte_of_that_one(tmp_path, dialog):
    """Hundreds of runners, so every table and index spans many pages (interior pages, pages
    split and merged); the one who asked is gone from every file, nobody else is touched."""
    db = tmp_path / "kebas.sqlite3"
    async with SQLiteStore(db) as store:
        talk = Conversations(dialog, store)
        for number in range(400):
            chat = f"tg:{7700000 + number}"
            await store.update_chat(chat, language="id", consent_version=1)
            await talk.begin(chat, update_id=number * 10)
            await talk.handle(chat, Choose("no"), update_id=number * 10 + 1)
            await store.inbox_add(number * 10 + 2, chat, json.dumps({"text": f"by {chat}"}))
            await store.take_lease(chat, "worker-1", 0, 60)
        assert await store.forget("tg:7700123") == 1
        gone = ("tg:7700123", "7700123", "by tg:7700123")
        assert leftovers(db, gone) == {}
        assert leftovers(db, ("tg:7700124", "by tg:7700124")) == {
            "kebas.sqlite3": ["tg:7700124", "by tg:7700124"]}, "the others keep everything"
    assert leftovers(db, gone) == {}


# A day's traffic: this many runners, each through the whole questionnaire, their updates
# interleaved at random as they arrive.
RUNNERS = 150


def runner_key(number: int) -> str:
    return f"tg:{5500000 + number}"


def runner_secrets(number: int) -> tuple[str, ...]:
    """What must go with that runner: the chat key, the bare id, the text they typed."""
    return (runner_key(number), str(5500000 + number), f"ketik-{5500000 + number}-")


async def many_runners_talking(db: Path, bundle, count: int) -> None:
    """Every runner consents and answers PAD_STORY; each update waits in the inbox (its text
    with it) until it is handled, as in the bot. Rows are written, grown, moved between
    pages and deleted in the order a real day has them, so b-tree pages split and merge."""
    turns = random.Random(1)
    async with SQLiteStore(db) as store:
        talk = Conversations(bundle.dialog(), store, bundle.locales)
        for number in range(count):
            await store.update_chat(runner_key(number), language="id", consent_version=1,
                                    consent_at=store.now())
        steps, update_id = dict.fromkeys(range(count), 0), 0
        while steps:
            number = turns.choice(list(steps))
            chat, step = runner_key(number), steps[number]
            update_id += 1
            await store.inbox_add(update_id, chat, json.dumps(
                {"message": {"text": f"{runner_secrets(number)[2]}{step}"}}))
            if step == 0:
                await talk.begin(chat, update_id=update_id)
            else:
                answer = PAD_STORY[step - 1]
                await talk.handle(chat, ChooseMany(answer) if isinstance(answer, tuple)
                                  else Typed(answer) if answer.isdigit() else Choose(answer),
                                  update_id=update_id)
            await store.inbox_done(update_id)
            steps[number] += 1
            if steps[number] > len(PAD_STORY):
                del steps[number]


@pytest.fixture(scope="module")
def a_days_traffic(tmp_path_factory, shipped) -> Path:
    db = tmp_path_factory.mktemp("traffic") / "kebas.sqlite3"
    asyncio.run(many_runners_talking(db, shipped, RUNNERS))
    return db


@pytest.mark.parametrize("erasure", ["forget", "purge"])
async def test_no_runner_among_many_keeps_a_byte_after_their_erasure(a_days_traffic, tmp_path,
                                                                     erasure):
    """Each runner in turn is erased from a copy of the same day's database: not one byte of
    their chat key, id or typed text may stay in the file, its -wal or -shm, wherever the
    b-tree's splits and merges once put a copy of them (issue 14, an outside review found 9
    of 150 runners whose key stayed in the unused middle of an index page)."""
    kept = {}
    copy = tmp_path / "kebas.sqlite3"
    for number in range(RUNNERS):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        shutil.copy(a_days_traffic, copy)
        if erasure == "purge":
            with contextlib.closing(sqlite3.connect(copy, isolation_level=None)) as aged:
                for table, column in (("sessions", "updated_at"), ("processed_updates", "at"),
                                      ("chats", "updated_at")):
                    aged.execute(f"UPDATE {table} SET {column} = ? WHERE chat_key = ?",
                                 (LONG_AGO, runner_key(number)))
        async with SQLiteStore(copy) as store:
            if erasure == "forget":
                assert await store.forget(runner_key(number)) == 1
            else:
                assert (await store.purge(datetime.now(UTC) - timedelta(days=30))
                        ).sessions == 1
            found = leftovers(copy, runner_secrets(number))  # the -wal and -shm still there
            if found:
                kept[runner_key(number)] = found
    assert kept == {}
    assert leftovers(copy, (runner_key(0),)) == {"kebas.sqlite3": [runner_key(0)]}, \
        "the others keep everything"


# --- webhook mode: leases ---------------------------------------------------------------------


async def test_in_webhook_mode_no_lease_ever_holds_a_chat_key(tmp_path):
    """A webhook worker takes a lease on a chat for every update (a group's, and a chat's that
    never consents, too) and renews it every second while the reply goes out. With Telegram
    slow to take the "deleted" reply, the lease is renewed after /hapus's checkpoint: still no
    byte of the runner's chat key, id, name or typed text is in the files afterwards, nor of
    the chat that declined, nor of the group's (issue 14, an outside review)."""
    db = tmp_path / "kebas.sqlite3"
    declined, in_a_group = 770055332, -770055333
    async with workers(tmp_path, count=1) as (fake, group):
        fake.deliver_to(group.backends)
        runner = Runner(fake, CHAT)
        await typed_up_to_the_age(runner)  # no inbox in webhook mode: the text is not kept
        assert everywhere(db) >= {f"tg:{CHAT}", str(CHAT)}, "there was something to erase"
        await runner.type("/hapus", expect="Hapus semua data Anda")
        fake.delays.append(("sendMessage", CHAT, 2.5))  # two renewals after the erasure
        await runner.tap(runner.sent[-1], runner.sent[-1].buttons[0]["callback_data"])
        await fake.wait_for(lambda: any("sudah dihapus" in m.text for m in runner.sent),
                            timeout=20)
        await fake.delivered()  # the worker has handed the chat's turn back
        assert leftovers(db) == {}, "after /hapus, the worker running on"
        other = Runner(fake, declined)
        await other.type("/start", expect="Sebelum mulai")
        await other.tap(other.sent[-1], "k:decline")
        fake.send(in_a_group, {"text": "halo"}, kind="group")
        await fake.wait_for(lambda: fake.calls_of("sendMessage", in_a_group))
        await fake.delivered()
        assert leftovers(db, (f"tg:{declined}", str(declined), f"tg:{in_a_group}",
                              str(-in_a_group))) == {}, "leases of chats that never consented"
    assert leftovers(db) == {}, "after the worker stopped"


async def test_a_lease_names_its_chat_by_a_keyed_hash(backend):
    """What stands in chat_leases is an HMAC of the chat key under a key made once per
    database: the same for every worker on it, and no chat key in any byte."""
    chat = f"tg:{CHAT}"
    async with backend.store() as one, backend.store() as other:
        assert await one.take_lease(chat, "one", 100.0, 3.0)
        assert not await other.take_lease(chat, "other", 101.0, 3.0), "the same name for both"
        (name, holder), = await backend.rows("SELECT chat_key, holder FROM chat_leases")
        assert holder == "one" and len(name) == 64 and str(CHAT) not in name
        if backend.kind == "sqlite":
            assert leftovers(Path(backend.target), (chat, str(CHAT))) == {}
        await one.end_lease(chat, "one")
        assert await other.take_lease(chat, "other", 101.0, 3.0)
    (key,), = await backend.rows("SELECT value FROM secrets WHERE name = 'lease_key'")
    assert len(key) == 64 and key not in {value for (value,) in await backend.rows(
        "SELECT value FROM secrets WHERE name = 'export_key'")}


async def test_an_older_database_forgets_the_leases_that_named_chats(backend):
    """Before schema 10 a lease row held its chat key: upgrading deletes those rows and
    makes the lease key; on SQLite no byte of them is left once the bot has started (its
    purge at start rebuilds the file)."""
    chat = f"tg:{CHAT}"
    async with backend.store():
        pass
    await as_schema(backend, LEASE_KEY_SCHEMA - 1)
    await backend.execute(f"INSERT INTO chat_leases (chat_key, holder, until) "
                          f"VALUES ('{chat}', 'an older worker', 1e12)")
    async with backend.store() as store:
        assert store.migrated_from == LEASE_KEY_SCHEMA - 1
        assert await backend.rows("SELECT * FROM chat_leases") == []
        assert await store.take_lease(chat, "worker", 100.0, 3.0), "not held by the old row"
        await store.purge(datetime.now(UTC) - timedelta(days=90))  # as at start
        if backend.kind == "sqlite":
            assert leftovers(Path(backend.target), (chat, str(CHAT))) == {}
    assert len(await backend.rows("SELECT value FROM secrets WHERE name = 'lease_key'")) == 1


# --- PostgreSQL ---------------------------------------------------------------------------------


async def filled_postgres(backend: Backend, dialog) -> None:
    """Two runners with everything a runner leaves: sessions, answers, update ids, consent,
    an update in the inbox, a lease; several of each, so the planner would sample them."""
    async with backend.store() as store:
        talk = Conversations(dialog, store)
        for chat, first in ((f"tg:{CHAT}", 100), ("tg:5", 200)):
            await store.update_chat(chat, language="id", consent_version=1)
            for turn in range(5):
                await talk.begin(chat, update_id=first + 2 * turn, fresh=True)
                await talk.handle(chat, Choose("no"), update_id=first + 2 * turn + 1)
                await store.inbox_add(first + 50 + turn, chat, json.dumps(
                    {"text": f"{TYPED[0]} {chat} {turn}"}))
            await store.take_lease(chat, "worker-1", 0, 60)


async def samples(backend: Backend, secrets: tuple[str, ...]) -> list[tuple[str, str]]:
    """The columns whose planner samples (pg_statistic) hold one of the secrets."""
    found = await backend.rows(
        "SELECT tablename, attname, concat(most_common_vals::text, histogram_bounds::text) "
        "FROM pg_stats WHERE schemaname = 'public'")
    return [(table, column) for table, column, sample in found
            if any(secret in sample for secret in secrets)]


async def test_on_postgresql_no_chat_key_or_typed_text_is_sampled_for_the_planner(
        postgres_admin, dialog):
    """PostgreSQL keeps samples of column values for its planner, even once their rows are
    deleted: the personal columns are never sampled, so nothing of a runner waits there."""
    backend = Backend("postgres", await fresh_database(postgres_admin))
    await filled_postgres(backend, dialog)
    await backend.execute("ANALYZE")
    assert await samples(backend, ("tg:5", TYPED[0])) == []
    assert await samples(backend, ("abandoned",)) == [("sessions", "status")], \
        "other columns are sampled as before"


# The schema before the migration that stops the planner's samples (the ninth).
BEFORE_NO_SAMPLES = 8
LEASE_KEY_SCHEMA = 10  # leases named by a keyed hash
UPKEEP_SCHEMA = 11  # when the SQLite file was last rebuilt
STARTS_SCHEMA = 12  # starts from links counted
FOLLOWUPS_SCHEMA = 13  # follow-up check-ins kept


async def as_schema(backend: Backend, version: int) -> None:
    """Make a database of this Kebas look like one of an older schema (at least the one
    that made chat_leases): without the lease key that came after it."""
    await backend.execute("DELETE FROM secrets WHERE name = 'lease_key'")
    if version < FOLLOWUPS_SCHEMA:
        await backend.execute("DROP TABLE followups")
    if version < STARTS_SCHEMA:
        await backend.execute("DROP TABLE start_counts")
        await backend.execute("DROP TABLE counted_starts")
    if version < UPKEEP_SCHEMA:
        await backend.execute("DROP TABLE upkeep")
    await backend.execute(f"UPDATE kebas_schema SET version = {version}"
                          if backend.kind == "postgres" else f"PRAGMA user_version = {version}")


async def test_on_postgresql_an_older_database_loses_the_samples_it_had(postgres_admin, dialog):
    backend = Backend("postgres", await fresh_database(postgres_admin))
    await filled_postgres(backend, dialog)
    # as before the migration: every column sampled, the samples taken
    for table, columns in PERSONAL_COLUMNS.items():
        for column in columns:
            await backend.execute(f"ALTER TABLE {table} ALTER COLUMN {column} "
                                  f"SET STATISTICS -1")
    await as_schema(backend, BEFORE_NO_SAMPLES)
    await backend.execute("ANALYZE")
    assert ("inbox", "payload") in await samples(backend, (f"tg:{CHAT}", TYPED[0]))
    async with backend.store() as store:
        assert store.migrated_from == BEFORE_NO_SAMPLES
    await backend.execute("ANALYZE")
    assert await samples(backend, (f"tg:{CHAT}", TYPED[0])) == []


async def vacuums(backend: Backend) -> dict[str, int]:
    return dict(await backend.rows(
        "SELECT relname, vacuum_count FROM pg_stat_user_tables WHERE relname = ANY($1)",
        list(PERSONAL_COLUMNS)))


@pytest.mark.parametrize("erasure", ["forget", "purge"])
async def test_on_postgresql_an_erasure_vacuums_every_table_it_deleted_from(
        postgres_admin, dialog, erasure):
    backend = Backend("postgres", await fresh_database(postgres_admin))
    await filled_postgres(backend, dialog)
    before = await vacuums(backend)
    async with backend.store() as store:
        if erasure == "forget":
            assert await store.forget(f"tg:{CHAT}") == 5
        else:
            assert (await store.purge(datetime.now(UTC) + timedelta(days=1))
                    ).sessions == 10
    # closing waits for the VACUUM that forget starts after its reply
    after = await vacuums(backend)
    assert {table: after[table] - before.get(table, 0) for table in after} == dict.fromkeys(
        PERSONAL_COLUMNS, 1)


async def test_a_program_reading_throughout_delays_the_cleanup_and_the_log_says_so(
        tmp_path, dialog, caplog):
    """The -wal can only be cut once no other program reads from it: until then the log
    says where the older copies are, and the next erasure or daily purge removes them."""
    db = tmp_path / "kebas.sqlite3"
    async with SQLiteStore(db, busy_timeout_ms=200) as store:
        talk = Conversations(dialog, store)
        await talk.begin("tg:7700123")
        await talk.handle("tg:7700123", Choose("no"))
        with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as backup:
            backup.execute("BEGIN")
            backup.execute("SELECT COUNT(*) FROM sessions").fetchall()  # reads on and on
            assert await store.forget("tg:7700123") == 1
            assert f"older copies of deleted rows stay in {db}-wal" in caplog.text
            assert leftovers(db, ("tg:7700123",)), "as the log says"
            backup.execute("COMMIT")
        await store.purge(datetime(2000, 1, 1, tzinfo=UTC))  # nothing that old
        assert leftovers(db, ("tg:7700123",)) == {}


class NoRoomToRebuild:
    """The writer's connection, on a disk with no room for a second copy of the database."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def __getattr__(self, name: str):
        return getattr(self.connection, name)

    def execute(self, sql: str, *args):
        if sql == "VACUUM":
            full = sqlite3.OperationalError("database or disk is full")
            full.sqlite_errorcode, full.sqlite_errorname = sqlite3.SQLITE_FULL, "SQLITE_FULL"
            raise full  # as SQLite raises it: with the result code that names the fault
        return self.connection.execute(sql, *args)


async def test_an_erasure_that_cannot_rebuild_the_file_says_so_and_the_next_one_does(
        tmp_path, dialog, caplog, monkeypatch):
    db = tmp_path / "kebas.sqlite3"
    async with SQLiteStore(db) as store:
        talk = Conversations(dialog, store)
        for chat in ("tg:7700123", "tg:7700124"):
            await talk.begin(chat)
            await talk.handle(chat, Choose("no"))
        with monkeypatch.context() as disk_full:
            disk_full.setattr(SQLiteStore, "db", property(
                lambda self: NoRoomToRebuild(self._db)))
            assert await store.forget("tg:7700123") == 1, "the rows are deleted all the same"
        assert (f"copies of deleted rows may stay in {db} until the next erasure or the daily "
                f"purge: it could not be rebuilt (the disk holding {db} is full") in caplog.text
        assert Path(f"{db}-wal").stat().st_size == 0, "the checkpoint ran"
        caplog.clear()
        await store.purge(datetime(2000, 1, 1, tzinfo=UTC))  # nothing that old
        assert "could not be rebuilt" not in caplog.text
        assert leftovers(db, ("tg:7700123",)) == {}
