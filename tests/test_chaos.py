"""The chaos test, small: runners against `kebas run` killed ten times, on a faulty Bot API.

`bench/chaos.py` runs the same at full size (200 runners). The other tests here show that the
fake's faults look to PTB like the real ones and that the checker catches what it must.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time

import pytest
from chaos_support import Report, Walk, check, run_chaos
from fakebotapi import TOKEN, Chaos, FakeBotAPI
from telegram import Bot
from telegram.error import NetworkError, RetryAfter

from bot.storage import SQLiteStore

# Higher than bench/chaos.py's, so that a small run meets every kind of fault.
TEST_RATES = {"server_error": 0.01, "flood": 0.004, "slow": 0.01, "dropped": 0.01}


async def test_twenty_runners_lose_double_and_cross_nothing_while_the_bot_is_killed(tmp_path):
    report = await run_chaos(runners=20, kills=10, seed=7, workdir=tmp_path, rates=TEST_RATES)
    print(report.summary())
    assert report.kills == 10
    assert (report.lost, report.doubled, report.crossed) == (0, 0, 0), report.problems
    assert report.finished == 20, report.problems
    assert report.ok, report.problems
    assert report.acknowledged >= 20 * 3, "every runner answered questions"
    assert all(f"{fault}=0" not in report.faults.split() for fault in ("5xx", "429", "slow",
                                                                    "dropped")), report.faults


# --- the fake's faults, as PTB sees them ---------------------------------------------------


@contextlib.asynccontextmanager
async def faulty(**rates: float):
    fake = await FakeBotAPI(chaos=Chaos(seed=1, slow_seconds=(0.3, 0.3), **rates)).start()
    bot = Bot(TOKEN, base_url=fake.base_url)
    try:
        yield fake, bot
    finally:
        await bot.shutdown()
        await fake.stop()


@pytest.mark.parametrize("rates, error", [
    ({"server_error": 1.0}, NetworkError),
    ({"flood": 1.0}, RetryAfter),
], ids=["5xx", "429"])
async def test_a_refusal_reaches_the_bot_as_telegram_errors_do_and_changes_nothing(rates,
                                                                                   error):
    async with faulty(**rates) as (fake, bot):
        with pytest.raises(error) as raised:
            await bot.send_message(42, "halo")
        if error is RetryAfter:  # an int, or a timedelta with PTB_TIMEDELTA=1
            retry_after = raised.value.retry_after
            assert getattr(retry_after, "total_seconds", lambda: retry_after)() == 1
        assert fake.sent(42) == []


async def test_a_dropped_connection_loses_the_request_or_the_response():
    async with faulty(dropped=1.0) as (fake, bot):
        for number in range(8):
            with pytest.raises(NetworkError):
                await bot.send_message(42, f"halo {number}")
        faults = [call.fault for call in fake.calls]
        assert set(faults) == {"dropped", "dropped_after"}
        assert len(fake.sent(42)) == faults.count("dropped_after"), \
            "only the calls whose response was lost were applied"


async def test_a_slow_answer_arrives_late_but_whole():
    async with faulty(slow=1.0) as (fake, bot):
        started = time.monotonic()
        await bot.send_message(42, "halo")
        assert time.monotonic() - started >= 0.3
        assert [m.text for m in fake.sent(42)] == ["halo"]


async def test_updates_stay_pending_through_faults_and_until_confirmed_by_offset():
    async with faulty(server_error=0.5, dropped=0.5) as (fake, bot):
        first, second = fake.send_text(42, "satu"), fake.send_text(42, "dua")
        for _attempt in range(3):  # every getUpdates fails: nothing is confirmed or lost
            with pytest.raises(NetworkError):
                await bot.get_updates(offset=0, timeout=0)
        fake.chaos = None
        # a bot restarted after a kill starts again at offset 0 and gets both again
        for _restart in range(2):
            got = await bot.get_updates(offset=0, timeout=0)
            assert [u.update_id for u in got] == [first, second]
        assert [u.update_id for u in await bot.get_updates(offset=first + 1, timeout=0)] \
            == [second]
        assert await bot.get_updates(offset=second + 1, timeout=0) == ()


# --- the checker catches what it must ------------------------------------------------------


async def database(path, chat_id, answers, updates=()):
    """A Kebas database with one finished session of `answers` for this chat."""
    async with SQLiteStore(path):
        pass
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        session = connection.execute(
            "INSERT INTO sessions (chat_key, dialog_id, dialog_version, node, state, status, "
            "started_at, updated_at) VALUES (?, 'kaki_kebas', 1, 'end', '{}', 'finished', '', '')",
            (f"tg:{chat_id}",)).lastrowid
        connection.executemany(
            "INSERT INTO answers (session_id, seq, action, node, value, at) "
            "VALUES (?, ?, 'answer', ?, ?, '')",
            [(session, seq, node, value) for seq, (node, value) in enumerate(answers, 1)])
        connection.executemany(
            "INSERT INTO processed_updates (update_id, chat_key, at) VALUES (?, ?, '')",
            [(update_id, f"tg:{chat}") for update_id, chat in updates])


def walk_of(chat_id, chosen):
    return Walk(chat_id, chosen=dict(chosen), acknowledged=set(dict(chosen)), saw_outcome=True,
                saw_disclaimer=True)


CHOSEN = [("a12_alarm", ["none"]), ("a3_saddle", "no"), ("a45_leg", ["calf"])]


async def test_the_checker_passes_a_database_that_holds_exactly_what_runners_gave(tmp_path):
    await database(tmp_path / "k.sqlite3", 5, [(node, json.dumps(value)) for node, value in CHOSEN],
                   updates=[(1, 5), (2, 5)])
    report = check(tmp_path / "k.sqlite3", [walk_of(5, CHOSEN)], {1: 5, 2: 5}, Report(1))
    assert (report.lost, report.doubled, report.crossed, report.finished) == (0, 0, 0, 1)
    assert report.ok and report.acknowledged == 3


async def test_the_checker_reports_lost_doubled_and_crossed_answers(tmp_path):
    stored = [("a12_alarm", '["none"]'), ("a12_alarm", '["none"]'),  # applied twice
              ("a45_leg", '["thigh"]')]                               # not what 5 chose
    # a3_saddle is missing: lost; update 2 came from chat 6 but is recorded for chat 5
    await database(tmp_path / "k.sqlite3", 5, stored, updates=[(1, 5), (2, 5)])
    report = check(tmp_path / "k.sqlite3", [walk_of(5, CHOSEN)], {1: 5, 2: 6}, Report(1))
    assert (report.lost, report.doubled, report.crossed) == (2, 1, 2)
    assert not report.ok
    text = "\n".join(report.problems)
    assert "lost a3_saddle='no'" in text and "a12_alarm stored 2 times" in text
    assert "a45_leg=['thigh'] stored" in text and "update 2 recorded for tg:5" in text


async def test_the_checker_reports_a_runner_left_without_a_whole_result(tmp_path):
    await database(tmp_path / "k.sqlite3", 5, [])
    cut_short = Walk(5, saw_outcome=True, saw_disclaimer=False)
    report = check(tmp_path / "k.sqlite3", [cut_short, Walk(6)], {}, Report(2))
    assert report.finished == 0 and not report.ok
    assert any("without its disclaimer" in problem for problem in report.problems)
    assert any(problem.startswith("tg:6: not finished") for problem in report.problems)
