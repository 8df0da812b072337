"""Follow-up check-ins end to end against the fake Bot API: offered under a "soon" or "self
care" result, due days later outside the quiet hours (21:00-07:00 WIB), sent exactly once,
cancelled by /batal, /hapus, a blocked bot, retention and a consent no longer valid; the
check-in's answers escalate by its own red-flag rules.

The bot's clock is the test's (`Conversations.clock`); the sender's job runs by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.channels.telegram import app as telegram_channel
from bot.channels.telegram.followups import CLAIM_SECONDS, JOB_NAME
from bot.storage import SQLiteStore
from bot.storage.retention import JOB_NAME as PURGE_JOB

from support.harness import PAD_STORY, SCREENING_CLEAR, Runner, is_question, rows, running_bot
from support.people import BOT_USER

WIB = timezone(timedelta(hours=7))
MORNING = datetime(2026, 5, 12, 10, 0, tzinfo=WIB)
# A runner whose laces are too tight (the console's LACES_STORY, by option number): self care.
LACES_STORY = SCREENING_CLEAR + [2, 1, 5, 1, 4, 1, 1, 2, 1, "30", 16, 4]


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment.astimezone(UTC)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "kebas.sqlite3"


@pytest.fixture
def clock():
    return Clock(MORNING)


@pytest.fixture
async def bot(fake, shipped, db, clock):
    async with running_bot(fake, shipped, db) as app:
        app.bot_data["kebas"].conversations.clock = clock
        yield app


async def poll(app, fake) -> None:
    """What the sender's job does every KEBAS_FOLLOWUP_POLL_SECONDS."""
    job, = app.job_queue.get_jobs_by_name(JOB_NAME)
    await job.run(app)
    await fake.settled()


async def metrics_of(app) -> str:
    """What the bot's /metrics answers."""
    kebas = app.bot_data["kebas"]
    return (await kebas.metrics.scraped(kebas.store)).decode()


async def by_number(runner: Runner, answer: int) -> None:
    """Answer as the console does: the option's number (one ticked, on a multi)."""
    question = runner.question()
    data = question.buttons[answer - 1]["callback_data"]
    if data.startswith("t:"):
        await runner.tap(question, data)
        data = next(b["callback_data"] for b in question.buttons
                    if b["callback_data"].startswith("d:"))
    await runner.tap(question, data)


async def result(runner: Runner, story=PAD_STORY) -> None:
    """Consent, then the whole questionnaire to its result."""
    await runner.agree()
    for answer in story:
        if isinstance(answer, int):
            await by_number(runner, answer)
        else:
            await runner.answer(answer)
    await runner.fake.wait_for(lambda: "Ketik /mulai untuk tanya-jawab baru"
                               in runner.sent[-1].text)


def offer(runner: Runner) -> str:
    """The data of the follow-up button under the result."""
    found = [b["callback_data"] for b in runner.sent[-1].buttons
             if b["text"] == "Tanya saya lagi dalam 3 hari?"]
    assert found, f"no follow-up offer among {[b['text'] for b in runner.sent[-1].buttons]}"
    return found[0]


async def asked_again(runner: Runner, story=PAD_STORY) -> str:
    """A result, then the follow-up asked for; the confirmation's text."""
    await result(runner, story)
    await runner.tap(runner.sent[-1], offer(runner))
    await runner.fake.wait_for(lambda: "Saya akan bertanya lagi" in runner.sent[-1].text)
    return runner.sent[-1].text


def checkins(runner: Runner) -> list[str]:
    """The check-in's first questions sent to the runner (how is it now?)."""
    return [m.text for m in runner.sent if is_question(m)
            and m.buttons[0]["callback_data"].split(":")[3] == "ci_how"]


async def test_a_check_in_asked_for_under_a_result_comes_once_when_due_not_before(
        fake, bot, db, clock):
    runner = Runner(fake, 501)
    told = await asked_again(runner)
    assert "2026-05-15 10:00 WIB" in told
    assert rows(db, "SELECT level, status FROM followups") == [("soon", "pending")]
    clock.moment = MORNING + timedelta(days=3, seconds=-1)
    await poll(bot, fake)
    assert checkins(runner) == []
    clock.moment = MORNING + timedelta(days=3)
    await poll(bot, fake)
    assert len(checkins(runner)) == 1
    assert any("hasil Anda sebelumnya: PERIKSA DALAM BEBERAPA HARI" in m.text
               for m in runner.sent[-4:]), "the check-in names the result it follows up"
    await poll(bot, fake)
    clock.moment += timedelta(hours=1, seconds=CLAIM_SECONDS)
    await poll(bot, fake)
    assert len(checkins(runner)) == 1, "sent once"
    assert rows(db, "SELECT status FROM followups") == [("sent",)]


async def test_the_offer_stands_only_under_a_result_just_reached_and_a_second_tap_adds_none(
        fake, bot, db):
    runner = Runner(fake, 502)
    await result(runner)
    data = offer(runner)
    await runner.tap(runner.sent[-1], data)
    await runner.tap(runner.sent[-2], data)
    assert rows(db, "SELECT COUNT(*) FROM followups") == [(1,)]
    await runner.type("halo", expect="Ketik /mulai")
    assert all("Tanya saya lagi" not in b["text"] for b in runner.sent[-1].buttons)


async def test_no_offer_under_an_emergency(fake, bot):
    runner = Runner(fake, 503)
    await runner.agree()
    await runner.choose_many("chest")
    await fake.wait_for(lambda: "Ketik /mulai" in runner.sent[-1].text)
    assert [b["text"] for b in runner.sent[-1].buttons] == ["Mengapa saran ini?",
                                                            "Ringkasan untuk dokter"]


async def test_asked_for_in_the_evening_it_is_due_at_seven_and_held_through_the_night(
        fake, bot, clock):
    runner = Runner(fake, 504)
    clock.moment = datetime(2026, 5, 12, 22, 0, tzinfo=WIB)
    assert "2026-05-16 07:00 WIB" in await asked_again(runner)
    clock.moment = datetime(2026, 5, 16, 6, 59, tzinfo=WIB)
    await poll(bot, fake)
    assert checkins(runner) == []
    clock.moment = datetime(2026, 5, 16, 7, 0, tzinfo=WIB)
    await poll(bot, fake)
    assert len(checkins(runner)) == 1


async def test_one_due_by_day_waits_if_the_bot_only_looks_at_night(fake, bot, clock):
    runner = Runner(fake, 505)
    clock.moment = datetime(2026, 5, 12, 18, 0, tzinfo=WIB)
    await asked_again(runner)
    clock.moment = datetime(2026, 5, 15, 22, 0, tzinfo=WIB)   # overdue, but night
    await poll(bot, fake)
    assert checkins(runner) == []
    clock.moment = datetime(2026, 5, 16, 7, 0, tzinfo=WIB)
    await poll(bot, fake)
    assert len(checkins(runner)) == 1


async def test_sent_once_across_a_restart_and_late_when_its_holder_died(fake, shipped, db,
                                                                        clock):
    runner = Runner(fake, 506)
    async with running_bot(fake, shipped, db) as app:
        app.bot_data["kebas"].conversations.clock = clock
        await asked_again(runner)
    due = clock.moment = MORNING + timedelta(days=3)
    async with SQLiteStore(db) as store:  # a worker claims it, then dies
        assert len(await store.claim_due_followups(due, "dead", CLAIM_SECONDS,
                                                   prefix="tg:")) == 1
    async with running_bot(fake, shipped, db) as app:
        app.bot_data["kebas"].conversations.clock = clock
        await poll(app, fake)
        assert checkins(runner) == [], "held by the dead worker's claim"
        clock.moment = due + timedelta(seconds=CLAIM_SECONDS + 1)
        await poll(app, fake)
        assert len(checkins(runner)) == 1, "sent late, not lost"
    clock.moment += timedelta(days=1)
    async with running_bot(fake, shipped, db) as app:  # restarted: polls at once
        app.bot_data["kebas"].conversations.clock = clock
        await poll(app, fake)
    assert len(checkins(runner)) == 1, "and once, across the restart"


async def test_batal_cancels_it_and_says_so(fake, bot, db, clock):
    runner = Runner(fake, 507)
    await asked_again(runner)
    await runner.type("/batal", expect="Pengingat tanya ulang dibatalkan")
    clock.moment += timedelta(days=3)
    await poll(bot, fake)
    assert checkins(runner) == []
    assert rows(db, "SELECT status, cancelled FROM followups") == [("cancelled", "cancel")]
    metrics = await metrics_of(bot)
    assert 'kebas_followups_cancelled_total{reason="cancel"} 1.0' in metrics


async def test_hapus_deletes_it(fake, bot, db, clock):
    runner = Runner(fake, 508)
    await asked_again(runner)
    await runner.type("/hapus", expect="Hapus semua data Anda")
    await runner.tap(runner.sent[-1], runner.sent[-1].buttons[0]["callback_data"])
    assert "Semua data Anda sudah dihapus" in runner.sent[-1].text
    assert rows(db, "SELECT COUNT(*) FROM followups") == [(0,)]
    clock.moment += timedelta(days=3)
    await poll(bot, fake)
    assert checkins(runner) == []


async def test_a_bot_blocked_at_the_send_cancels_it(fake, bot, db, clock):
    runner = Runner(fake, 509)
    await asked_again(runner)
    clock.moment += timedelta(days=3)
    fake.fail_next["sendMessage"] = [(403, "Forbidden: bot was blocked by the user", None)]
    await poll(bot, fake)
    assert rows(db, "SELECT status, cancelled FROM followups") == [("cancelled", "blocked")]
    await poll(bot, fake)
    assert checkins(runner) == []


async def test_a_runner_who_blocks_the_bot_has_it_cancelled(fake, bot, db, clock):
    runner = Runner(fake, 510)
    await asked_again(runner)
    fake.push({"my_chat_member": {
        "chat": fake.chat(510, "private"), "from": fake.user(510), "date": 1,
        "old_chat_member": {"user": BOT_USER, "status": "member"},
        "new_chat_member": {"user": BOT_USER, "status": "kicked", "until_date": 0}}})
    await fake.wait_for(lambda: rows(db, "SELECT status FROM followups") == [("cancelled",)])
    assert rows(db, "SELECT cancelled FROM followups") == [("blocked",)]


async def test_a_consent_no_longer_valid_cancels_it(fake, bot, db, clock):
    runner = Runner(fake, 511)
    await asked_again(runner)
    async with SQLiteStore(db) as store:  # as if consent had been asked in an older version
        await store.update_chat("tg:511", consent_version=0)
    clock.moment += timedelta(days=3)
    await poll(bot, fake)
    assert checkins(runner) == []
    assert rows(db, "SELECT cancelled FROM followups") == [("consent",)]


async def test_retention_deletes_it(fake, shipped, db, clock, monkeypatch):
    runner = Runner(fake, 512)
    today = [datetime.now(UTC)]
    monkeypatch.setattr(telegram_channel, "utc_now", lambda: today[0])
    async with running_bot(fake, shipped, db, kebas_retention_days=30) as app:
        app.bot_data["kebas"].conversations.clock = clock
        await asked_again(runner)
        today[0] += timedelta(days=31)
        job, = app.job_queue.get_jobs_by_name(PURGE_JOB)
        await job.run(app)
        assert rows(db, "SELECT COUNT(*) FROM followups") == [(0,)]
        metrics = await metrics_of(app)
        assert 'kebas_followups_cancelled_total{reason="retention"} 1.0' in metrics


async def test_a_new_questionnaire_since_the_result_supersedes_it(fake, bot, db, clock):
    runner = Runner(fake, 513)
    await asked_again(runner)
    await runner.type("/mulai")
    await runner.choose_many("none")  # a new questionnaire answered: a new result coming
    clock.moment += timedelta(days=3)
    await poll(bot, fake)
    assert checkins(runner) == []
    assert rows(db, "SELECT cancelled FROM followups") == [("superseded",)]


async def test_worse_with_a_saddle_sign_is_an_emergency(fake, bot, db, clock):
    runner = Runner(fake, 514)
    await asked_again(runner)
    clock.moment += timedelta(days=3)
    await poll(bot, fake)
    await runner.choose("worse")
    await runner.choose_many("none")
    before = runner.last_id()
    await runner.choose("saddle")
    await fake.wait_for(lambda: "Ketik /mulai" in runner.sent[-1].text)
    assert any("112" in text for text in runner.texts_after(before))
    assert rows(db, "SELECT dialog_id, triage FROM sessions ORDER BY id DESC LIMIT 1") == [
        ("kaki_kebas_checkin", "emergency")]
    assert all("Tanya saya lagi" not in b["text"] for b in runner.sent[-1].buttons), \
        "a check-in offers no further check-in"


async def test_the_same_after_self_care_means_see_a_doctor_soon(fake, bot, db, clock):
    runner = Runner(fake, 515)
    await asked_again(runner, LACES_STORY)
    assert rows(db, "SELECT level FROM followups") == [("self_care",)]
    clock.moment += timedelta(days=3)
    await poll(bot, fake)
    await runner.choose("same")
    await fake.wait_for(lambda: "Ketik /mulai" in runner.sent[-1].text)
    assert rows(db, "SELECT dialog_id, triage FROM sessions ORDER BY id DESC LIMIT 1") == [
        ("kaki_kebas_checkin", "soon")]
    metrics = await metrics_of(bot)
    assert 'kebas_followups_total{event="scheduled"} 1.0' in metrics
    assert 'kebas_followups_total{event="sent"} 1.0' in metrics


async def test_a_reload_keeps_serving_the_check_in(fake, bot):
    kebas = bot.bot_data["kebas"]
    kebas.conversations.checkin = None  # as if it had been lost
    served, _detail = await kebas.reloads.reload()
    assert served
    assert kebas.conversations.checkin is not None
    assert kebas.conversations.checkin.follows == kebas.conversations.dialog.id


def test_the_operator_is_warned_when_retention_would_delete_a_check_in_first(shipped, caplog):
    telegram_channel.warn_if_retention_ends_first(shipped.dialog(), 3)
    assert "KEBAS_RETENTION_DAYS is 3: follow-ups due after 3 days or more are not offered" \
        in caplog.text
    caplog.clear()
    telegram_channel.warn_if_retention_ends_first(shipped.dialog(), 90)
    assert "KEBAS_RETENTION_DAYS" not in caplog.text


async def test_no_offer_when_retention_would_delete_the_check_in_first(fake, shipped, db):
    async with running_bot(fake, shipped, db, kebas_retention_days=3) as app:
        runner = Runner(fake, 516)
        await result(runner)
        assert [b["text"] for b in runner.sent[-1].buttons] == ["Mengapa saran ini?",
                                                            "Ringkasan untuk dokter"]
        assert app.bot_data["kebas"].conversations.keep_days == 3


async def test_a_send_telegram_refuses_is_tried_again_once_its_claim_runs_out(fake, bot, db,
                                                                            clock):
    runner = Runner(fake, 517)
    await asked_again(runner)
    clock.moment += timedelta(days=3)
    fake.fail_next["sendMessage"] = [(400, "Bad Request: message is too long", None)]
    await poll(bot, fake)
    assert checkins(runner) == []
    clock.moment += timedelta(seconds=CLAIM_SECONDS + 1)
    await poll(bot, fake)
    assert len(checkins(runner)) == 1, "the check-in opened before is shown where it stands"
    assert rows(db, "SELECT COUNT(*) FROM sessions WHERE dialog_id = 'kaki_kebas_checkin'") \
        == [(1,)]
    assert rows(db, "SELECT status FROM followups") == [("sent",)]
