"""The chaos test, small: runners against `kebas run` killed ten times, on a faulty Bot API.

`bench/chaos.py` runs the same at full size (200 runners). The other tests here show that the
fake's faults look to PTB like the real ones, that the checker catches what it must, and replay
step by step each bug the chaos runs found, since a random run meets each only now and then.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time

import pytest
from telegram import Bot
from telegram.error import NetworkError, RetryAfter

from bot.storage import SQLiteStore

from support.chaos import Report, Walk, check, run_chaos
from support.fakebotapi import TOKEN, FakeBotAPI
from support.faults import Chaos
from support.harness import Runner, is_question, rows, running_bot
from support.process import HoldingFake, ready, start_kebas

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


# --- what the chaos runs found, step by step -------------------------------------------------


@contextlib.asynccontextmanager
async def killed_while_replying(tmp_path, chat_id):
    """A runner and `kebas run`; `kill()` SIGKILLs the bot while its messages hang, then
    restarts it, as happens to a bot that dies mid-reply."""
    fake = await HoldingFake().start()
    db = tmp_path / "kebas.sqlite3"
    process = await start_kebas(fake, db, log=tmp_path / "bot.log")
    runner = Runner(fake, chat_id)

    async def kill() -> None:
        nonlocal process
        process.kill()
        await process.wait()
        fake.hold = False
        polls = len(fake.calls_of("getUpdates"))
        process = await start_kebas(fake, db, log=tmp_path / "bot.log")
        await ready(fake, polls)

    try:
        await ready(fake, 0)
        yield fake, runner, kill
    finally:
        process.terminate()
        await process.wait()
        await fake.stop()


async def test_a_runner_who_agreed_just_before_a_crash_still_gets_the_first_question(tmp_path):
    async with killed_while_replying(tmp_path, 301) as (fake, runner, kill):
        await runner.type("/start", expect="Sebelum mulai")
        fake.hold = True  # consent is stored, then the replies hang...
        agree = fake.press(301, runner.sent[-1].message_id, "k:agree")
        await fake.wait_for(lambda: fake.press_answered(agree))
        await kill()  # ...and the bot dies before the first question went out
        await fake.wait_for(lambda: any(is_question(m) for m in runner.sent), timeout=15)


@pytest.mark.parametrize("taps_while_down", [0, 6], ids=["waiting", "tapping on"])
async def test_a_result_cut_short_by_a_crash_comes_again_whole(tmp_path, shipped,
                                                               taps_while_down):
    disclaimer = shipped.locales["id"].text(shipped.dialog().texts.disclaimer)
    async with killed_while_replying(tmp_path, 302) as (fake, runner, kill):
        await runner.agree()
        question = runner.question()
        await runner.tap(question, runner.data_for("chest", question))
        fake.hold = True  # chest pain: an emergency, the result is due at once...
        done = next(b["callback_data"] for b in question.buttons
                    if b["callback_data"].startswith("d:"))
        press = fake.press(302, question.message_id, done)
        await fake.wait_for(lambda: fake.press_answered(press))
        for _tap in range(taps_while_down):  # an impatient runner: a flood once the bot is back
            fake.press(302, question.message_id, done)
        await kill()  # ...but the bot dies while sending it
        await fake.wait_for(lambda: any(m.text == disclaimer for m in runner.sent), timeout=15)


async def test_done_stores_only_the_choices_the_tapped_question_shows(fake, shipped, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    async with running_bot(fake, shipped, db):
        runner = Runner(fake, 303)
        await runner.agree()
        first = runner.question()
        for option in ("chest", "stroke"):
            await runner.tap(first, runner.data_for(option, first))
        await runner.type("/apaini", expect="tidak saya kenal")  # the question comes again
        again = runner.question()
        assert [b["text"][:1] for b in again.buttons[:2]] == ["✓", "✓"]
        await runner.tap(first, runner.data_for("stroke", first))  # untick on the first copy
        done = next(b["callback_data"] for b in again.buttons
                    if b["callback_data"].startswith("d:"))
        await runner.tap(again, done)  # Done under two ticks
        stored = rows(db, "SELECT value FROM answers WHERE node = 'a12_alarm'")
        assert stored in ([], [('["chest", "stroke"]',)]), "only what the runner saw ticked"
        ticked = [b["text"] for b in runner.question().buttons if b["text"].startswith("✓")]
        assert stored or len(ticked) == 1, "refused: the question again, with its true ticks"
