"""Privacy under UU PDP: retention, the anonymised export, and logs that never hold answers.

Consent, /privasi and /hapus are tested end to end in test_telegram.py and test_bad_input.py.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.conversation import Conversations
from bot.core import engine
from bot.core.inputs import Choose, ChooseMany
from bot.storage import SQLiteStore
from bot.storage.retention import JOB_NAME, purge_expired
from bot.tools.export import anonymise, exportable, runner_hash, to_csv

from support.fakebotapi import TOKEN
from support.harness import SCREENING_CLEAR, Runner, rows, rows_about, running_bot
from support.process import ready, start_kebas

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def clock_at(moment: datetime):
    return lambda: moment


async def walk(store: SQLiteStore, dialog, chat_key: str, answers: list) -> None:
    """One runner's answers, as the conversation driver saves them."""
    conversations = Conversations(dialog, store)
    await conversations.begin(chat_key)
    for given in answers:
        await conversations.handle(chat_key, given)


SCREEN = [ChooseMany(("none",)), Choose("no")]


async def test_purge_deletes_only_sessions_untouched_for_the_retention_period(tmp_path, shipped):
    db = tmp_path / "kebas.sqlite3"
    dialog = shipped.dialog()
    async with SQLiteStore(db, clock=clock_at(NOW - timedelta(days=91))) as old:
        await walk(old, dialog, "tg:1", SCREEN)
        await old.update_chat("tg:1", consent_version=1, consent_at=old.now())
        await walk(old, dialog, "tg:2", SCREEN)            # comes back later, below
        await old.update_chat("tg:2", consent_version=1, consent_at=old.now())
    async with SQLiteStore(db, clock=clock_at(NOW - timedelta(days=89))) as recent:
        await walk(recent, dialog, "tg:2", [ChooseMany(("none",))])  # answers on
        await walk(recent, dialog, "tg:3", SCREEN)
    before = rows_about(db, "tg:3")
    async with SQLiteStore(db) as store:
        purged = await purge_expired(store, 90, NOW)
    assert set(rows_about(db, "tg:1").values()) == {0}, "every row of the old runner is gone"
    assert rows_about(db, "tg:3") == before, "a recent runner keeps everything"
    # tg:2's session was touched 89 days ago: kept, and so is its consent
    assert rows(db, "SELECT COUNT(*) FROM sessions WHERE chat_key = 'tg:2'") == [(1,)]
    assert rows(db, "SELECT COUNT(*) FROM chats WHERE chat_key = 'tg:2'") == [(1,)]
    assert (purged.sessions, purged.answers, purged.chats) == (1, 2, 1)


async def test_the_running_bot_purges_at_start_then_daily_and_says_so(fake, shipped, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    async with SQLiteStore(db, clock=clock_at(datetime.now(UTC)
                                              - timedelta(days=31))) as old:
        await walk(old, shipped.dialog(), "tg:501", SCREEN)
    async with running_bot(fake, shipped, db, kebas_retention_days=30) as app:
        await fake.wait_for(lambda: rows(db, "SELECT COUNT(*) FROM sessions") == [(0,)])
        job, = app.job_queue.get_jobs_by_name(JOB_NAME)
        assert job.trigger.interval == timedelta(days=1)
        async with SQLiteStore(db, clock=clock_at(datetime.now(UTC)
                                                  - timedelta(days=40))) as old:
            await walk(old, shipped.dialog(), "tg:503", SCREEN)   # came in by a backup, say
        await job.run(app)                                        # what runs every day
        assert rows(db, "SELECT COUNT(*) FROM sessions WHERE chat_key = 'tg:503'") == [(0,)]
        runner = Runner(fake, 502)
        await runner.type("/start", expect="Sebelum mulai")
        assert "dihapus otomatis 30 hari setelah" in runner.sent[-1].text, "consent says so"
        await runner.type("/privasi", expect="Berapa lama")
        assert "dihapus otomatis 30 hari setelah" in runner.sent[-1].text
    assert set(rows_about(db, "tg:501").values()) == {0}


def test_kebas_purge_deletes_old_sessions_and_says_how_many(tmp_path, shipped, capsys):
    db = tmp_path / "kebas.sqlite3"

    async def fill() -> None:
        async with SQLiteStore(db, clock=clock_at(datetime.now(UTC)
                                                  - timedelta(days=10))) as store:
            await walk(store, shipped.dialog(), "tg:7", SCREEN)
    asyncio.run(fill())
    assert main(["purge", "--db", str(db), "--days", "30", "--env-file", os.devnull]) == 0
    assert rows(db, "SELECT COUNT(*) FROM sessions") == [(1,)], "10 days is within 30"
    assert main(["purge", "--db", str(db), "--days", "7", "--env-file", os.devnull]) == 0
    assert rows(db, "SELECT COUNT(*) FROM sessions") == [(0,)]
    assert "deleted 1 sessions (2 answers)" in capsys.readouterr().out


def test_kebas_purge_reads_retention_from_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KEBAS_RETENTION_DAYS", "0")
    db = tmp_path / "kebas.sqlite3"
    db.touch()
    assert main(["purge", "--db", str(db), "--env-file", os.devnull]) == 2
    assert "KEBAS_RETENTION_DAYS is not valid" in capsys.readouterr().err


def test_kebas_purge_and_export_never_create_a_database(tmp_path, capsys):
    missing = tmp_path / "nothing.sqlite3"
    assert main(["purge", "--db", str(missing), "--env-file", os.devnull]) == 1
    assert main(["export", "--anonymised", "--db", str(missing), "--env-file",
                 os.devnull]) == 1
    assert not missing.exists()
    assert "there is no database" in capsys.readouterr().err


# --- the anonymised export ------------------------------------------------------------------


@pytest.fixture
def filled(tmp_path, shipped) -> Path:
    """Two runners on the shipped dialog: one finished (chest pain), one halfway."""
    db = tmp_path / "kebas.sqlite3"

    async def fill() -> None:
        async with SQLiteStore(db) as store:
            await walk(store, shipped.dialog(), "tg:987654321", [ChooseMany(("chest",))])
            await walk(store, shipped.dialog(), "tg:123", SCREEN)
    asyncio.run(fill())
    return db


def export(db: Path, tmp_path: Path, name: str) -> str:
    out = tmp_path / name
    assert main(["export", "--anonymised", "--db", str(db), "-o", str(out),
                 "--env-file", os.devnull]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    return out.read_text(encoding="utf-8")


def test_the_export_has_no_telegram_id_and_one_stable_hash_per_runner(filled, tmp_path):
    text = export(filled, tmp_path, "sessions.csv")
    assert "987654321" not in text and "tg:" not in text
    table = list(csv.DictReader(io.StringIO(text)))
    assert [row["status"] for row in table] == ["finished", "active"]
    assert len({row["runner"] for row in table}) == 2
    assert text == export(filled, tmp_path, "again.csv"), "the same hash in every export"
    key = rows(filled, "SELECT value FROM secrets")[0][0]
    assert table[0]["runner"] == runner_hash(key, "tg:987654321")
    assert runner_hash("00" * 32, "tg:987654321") != table[0]["runner"], "the hash is keyed"


def test_the_export_says_what_happened_without_times_of_day(filled, tmp_path):
    finished, halfway = json.loads(export(filled, tmp_path, "sessions.json"))
    assert finished["triage"] == "emergency" and finished["ending"] == "end_emergency"
    assert finished["red_flags"] == ["rf_chest_pain"]
    assert finished["answers"] == {"a12_alarm": ["chest"]}
    assert halfway["answers"] == {"a12_alarm": ["none"], "a3_saddle": "no"}
    assert len(finished["started"]) == len("2026-12-01"), "a date, no time of day"
    assert finished["minutes_to_result"] == 0 and halfway["minutes_to_result"] is None


def test_the_csv_has_a_column_per_question_in_the_order_asked(filled, tmp_path):
    table = list(csv.reader(io.StringIO(export(filled, tmp_path, "sessions.csv"))))
    header, finished, halfway = table
    assert header[:5] == ["runner", "session", "dialog", "version", "status"]
    assert header[-2:] == ["a12_alarm", "a3_saddle"]
    assert (finished[-2:], halfway[-2:]) == (["chest", ""], ["none", "no"])


@pytest.mark.parametrize("value, kept", [
    ("left", "left"), (["calf", "foot_top"], ["calf", "foot_top"]), (62, 62),
    ("Saya Budi, 0812-3456", None), (["calf", "nama saya Budi"], None), ("<b>x</b>", None),
    (True, None), ({"free": "text"}, None),
], ids=lambda value: repr(value)[:20])
def test_only_option_ids_and_numbers_ever_leave_the_database(value, kept):
    assert exportable(value) == kept


async def test_a_typed_free_text_never_reaches_the_export(tmp_path, shipped):
    """Even a state edited by hand with free text in it exports no free text."""
    db = tmp_path / "kebas.sqlite3"
    async with SQLiteStore(db) as store:
        await walk(store, shipped.dialog(), "tg:5", SCREEN)
        step = engine.start(shipped.dialog())
        step.state["answers"].append({"node": "a12_alarm", "value": "nama saya Budi"})
        await store.save("tg:6", None, step)
        key, exported = await store.export_rows()
    text = to_csv(anonymise(key, exported))
    assert "Budi" not in text


# --- files and logs ---------------------------------------------------------------------------


async def test_the_database_file_is_readable_by_its_owner_only(tmp_path):
    db = tmp_path / "kebas.sqlite3"
    async with SQLiteStore(db):
        pass
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


LOG_SECRETS = ("62 tahun", "cramp_calf", "smoker_now", "same_point", "Pelari301",
               "rahasia-kebas-8311", "Kram", "Tidak ada")


async def test_the_log_of_a_whole_run_holds_no_token_and_no_answer(fake, tmp_path):
    """A real `kebas run` process, a whole questionnaire with typed text, then SIGTERM."""
    log = tmp_path / "bot.log"
    db = tmp_path / "kebas.sqlite3"
    process = await start_kebas(fake, db, log=log)
    try:
        await ready(fake, 0)
        runner = Runner(fake, 301)
        await runner.agree()
        for answer in SCREENING_CLEAR + ["weeks_months", "same_point", "within_5_min",
                                         "cramp_calf", "no", ("calf",), "left", "none"]:
            await runner.answer(answer)
        await runner.type("rahasia-kebas-8311", expect="Mohon ketik angka")
        await runner.type("62 tahun")
        for answer in [("smoker_now",), ("none",)]:
            await runner.answer(answer)
        await fake.wait_for(lambda: rows(db, "SELECT status FROM sessions") == [("finished",)])
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    text = log.read_text()
    assert "Kebas is starting" in text and "Kebas stopped" in text
    leaked = [secret for secret in (TOKEN, TOKEN.split(":")[1], *LOG_SECRETS) if secret in text]
    assert leaked == []
    # the answers really were there to leak
    assert rows(db, "SELECT value FROM answers WHERE node = 'c1_pain'") == [('"cramp_calf"',)]


async def test_the_inbox_keeps_nothing_before_consent_and_never_a_name(fake, shipped, tmp_path):
    """The inbox holds an update until it is handled; even that is no place for what the
    runner did not agree to, nor for their name, contact or location."""
    kept: list[str] = []
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3") as app:
        store = app.bot_data["kebas"].store
        original = store.inbox_add

        async def keeping(update_id, chat_key, payload):
            kept.append(payload)
            return await original(update_id, chat_key, payload)
        store.inbox_add = keeping
        runner = Runner(fake, 504)
        await runner.type("rahasia sebelum setuju", expect="saya perlu persetujuan Anda")
        assert kept == [], "nothing before consent"
        await runner.agree()
        fake.send(504, {"contact": {"phone_number": "+62 812 0000 1111", "first_name": "Budi"}})
        fake.send(504, {"location": {"latitude": -6.2, "longitude": 106.8}})
        await runner.type("tiga puluh", expect="tidak cocok dengan pilihan mana pun")
        await fake.settled()
    assert kept, "a consented runner's text is kept until handled"
    joined = "\n".join(kept)
    assert "Pelari504" not in joined and "rahasia" not in joined
    assert "0812" not in joined and "106.8" not in joined and "Budi" not in joined
    assert "tiga puluh" in joined
