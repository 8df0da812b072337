"""End to end: the real bot (same Application as `kebas run`) over HTTP against a fake Bot API."""

from __future__ import annotations

import asyncio

import pytest

from support.harness import (
    PAD_STORY,
    Runner,
    is_question,
    rows,
    rows_about,
    running_bot,
    wrapped_save,
)

STALE = "Tombol itu milik pertanyaan sebelumnya. Silakan jawab pertanyaan yang terakhir."


@pytest.fixture
def db(tmp_path):
    return tmp_path / "kebas.sqlite3"


@pytest.fixture
async def bot(fake, shipped, db):
    async with running_bot(fake, shipped, db) as app:
        yield app


async def test_commands_are_registered_in_indonesian_and_english(fake, bot):
    """Indonesian names for every client, English ones for English clients (test_menus.py)."""
    assert [command["command"] for command in fake.menu()] == [
        "mulai", "kembali", "ulang", "batal", "bantuan", "privasi", "hapus", "bahasa",
        "ringkasan"]
    assert [command["command"] for command in fake.menu("en")] == [
        "start", "back", "restart", "cancel", "help", "privacy", "delete", "language",
        "summary"]
    assert fake.menu()[0]["description"] == "Mulai atau lanjutkan tanya-jawab"
    assert fake.menu("en")[0]["description"] == "Start or continue"


async def test_consent_comes_first_and_nothing_is_stored_before_it(fake, bot, db):
    runner = Runner(fake, 101)
    await runner.type("/start", expect="Sebelum mulai, izinkan saya menyimpan jawaban Anda")
    consent = runner.sent[-1]
    assert [b["text"] for b in consent.buttons] == ["Saya setuju", "Tidak setuju"]
    await fake.settled()
    assert rows_about(db, "tg:101") == {"sessions": 0, "answers": 0, "processed_updates": 0,
                                        "chats": 0, "inbox": 0, "chat_leases": 0,
                                        "followups": 0}
    await runner.tap(consent, "k:agree")
    await fake.wait_for(lambda: any(is_question(m) for m in runner.sent))
    texts = [m.text for m in runner.sent]
    assert any("Persetujuan Anda sudah dicatat" in t for t in texts)
    assert any(t.startswith("Halo, saya Kebas") for t in texts), "the dialog's intro"
    assert runner.node() == "a12_alarm"
    (consent_version, consent_at), = rows(db, "SELECT consent_version, consent_at FROM chats")
    assert consent_version == 1 and consent_at
    assert "✅ Saya setuju" in consent.text and consent.buttons == [], "the choice is recorded"


async def test_declining_stores_nothing_and_still_gives_emergency_numbers(fake, bot, db):
    runner = Runner(fake, 102)
    await runner.type("/mulai", expect="Sebelum mulai")
    await runner.tap(runner.sent[-1], "k:decline")
    assert "112 atau 119" in runner.sent[-1].text
    assert rows(db, "SELECT COUNT(*) FROM chats") == [(0,)]


async def test_a_whole_questionnaire_by_buttons_ends_in_an_outcome(fake, bot, db):
    runner = Runner(fake, 103)
    await runner.agree()
    for answer in PAD_STORY:
        await runner.answer(answer)
    await fake.wait_for(lambda: "Ketik /mulai untuk tanya-jawab baru" in runner.sent[-1].text)
    texts = "\n".join(m.text for m in runner.sent)
    assert "<b>Seberapa segera Anda perlu bertindak: PERIKSA DALAM BEBERAPA HARI</b>" in texts
    assert "<b>1. Penyempitan pembuluh darah tungkai (penyakit arteri perifer)</b>" in texts
    assert "bukan dokter" in texts
    answered = [m for m in runner.sent if "✅" in m.text and "✅ Saya setuju" not in m.text]
    assert len(answered) == len(PAD_STORY), "every answer, typed or tapped, is on its question"
    assert "✅ 62 tahun" in answered[PAD_STORY.index("62")].text
    assert all(m.buttons == [] for m in answered), "answered questions keep no buttons"
    (status, triage), = rows(db, "SELECT status, triage FROM sessions WHERE chat_key='tg:103'")
    assert (status, triage) == ("finished", "soon")
    assert rows(db, "SELECT COUNT(*) FROM answers WHERE action = 'answer'") == [(len(PAD_STORY),)]


async def test_a_red_flag_answer_gives_emergency_advice_at_once(fake, bot):
    runner = Runner(fake, 104)
    await runner.agree()
    before = runner.last_id()
    await runner.choose_many("chest")
    await fake.wait_for(lambda: "Ketik /mulai" in runner.sent[-1].text)
    after = runner.texts_after(before)
    assert after[0].startswith("<b>⚠️ Tanda bahaya: DARURAT</b>")
    assert "Segera telepon 112 atau 119" in after[0]
    assert not any(is_question(m) for m in runner.sent if m.message_id > before)
    before = runner.last_id()
    await runner.type("halo?", expect="Ketik /mulai untuk tanya-jawab baru")
    again = runner.texts_after(before)
    assert "Tanya-jawab ini sudah selesai" in again[0]
    assert "Seberapa segera Anda perlu bertindak: DARURAT" in again[1], "the summary again"
    assert not any("bukan dokter" in text for text in again), "not the whole result"


async def test_the_same_update_delivered_twice_is_applied_once(fake, bot, db):
    runner = Runner(fake, 105)
    await runner.agree()
    update_id = await runner.choose_many("none")
    fake.redeliver(update_id)
    await fake.wait_for(lambda: fake.deliveries(update_id) == 2)
    await fake.settled()
    assert fake.calls_of("answerCallbackQuery")[-1].params.get("text") == \
        "Jawaban ini sudah tercatat."
    assert rows(db, "SELECT COUNT(*) FROM answers WHERE node = 'a12_alarm'") == [(1,)]
    assert rows(db, "SELECT COUNT(*) FROM processed_updates WHERE update_id = ?",
                update_id) == [(1,)]
    assert runner.node() == "a3_saddle", "shown where the runner stands, nothing re-applied"


async def test_a_double_tap_records_one_answer_and_sends_one_next_question(fake, bot, db):
    runner = Runner(fake, 106)
    await runner.agree()
    await runner.choose_many("none")
    question = runner.question()
    data = runner.data_for("no", question)
    first = fake.press(106, question.message_id, data)
    second_tap = fake.press(106, question.message_id, data)
    await fake.wait_for(lambda: fake.press_answered(first) and fake.press_answered(second_tap))
    assert rows(db, "SELECT COUNT(*) FROM answers WHERE node = 'a3_saddle'") == [(1,)]
    assert [m for m in runner.sent if is_question(m)][-1].message_id > question.message_id
    assert len([m for m in runner.sent if is_question(m)
                and m.message_id > question.message_id]) == 1
    second = fake.calls_of("answerCallbackQuery")[-1]
    assert second.params.get("text") == "Jawaban ini sudah tercatat."


async def test_hapus_leaves_no_row_of_that_runner(fake, bot, db):
    runner, other = Runner(fake, 111), Runner(fake, 112)
    for person in (runner, other):
        await person.agree()
        await person.choose_many("none")
        await person.choose("no")
    await runner.type("/hapus", expect="Hapus semua data Anda")
    await runner.tap(runner.sent[-1], runner.sent[-1].buttons[0]["callback_data"])
    assert "Semua data Anda sudah dihapus" in runner.sent[-1].text
    assert set(rows_about(db, "tg:111").values()) == {0}
    assert rows(db, "SELECT COUNT(*) FROM answers WHERE session_id NOT IN "
                    "(SELECT id FROM sessions)") == [(0,)]
    assert rows_about(db, "tg:112")["answers"] == 2, "the other runner keeps their data"
    await runner.type("halo", expect="saya perlu persetujuan Anda"), "consent is gone too"


async def test_a_delete_confirmation_works_for_ten_minutes_and_for_that_consent_only(
        fake, bot, db):
    kebas = bot.bot_data["kebas"]
    runner = Runner(fake, 114)
    await runner.agree()
    await runner.choose_many("none")
    await runner.type("/hapus", expect="Hapus semua data Anda")
    prompt = runner.sent[-1]
    yes = prompt.buttons[0]["callback_data"]
    assert yes.startswith("h:yes:"), "the button carries its own confirmation"
    real_clock = kebas.erasure.clock
    kebas.erasure.clock = lambda: real_clock() + 11 * 60
    try:
        press = await runner.tap(prompt, yes)
    finally:
        kebas.erasure.clock = real_clock
    expired = next(c for c in fake.calls_of("answerCallbackQuery")
                   if c.params["callback_query_id"] == fake.callback_id(press))
    assert "sudah kedaluwarsa" in expired.params["text"]
    assert rows_about(db, "tg:114")["answers"] == 1, "an old confirmation deletes nothing"

    await runner.type("/hapus", expect="Hapus semua data Anda")
    fresh = runner.sent[-1]
    yes = fresh.buttons[0]["callback_data"]
    await runner.tap(fresh, yes)
    assert "Semua data Anda sudah dihapus" in runner.sent[-1].text
    await runner.agree()
    await runner.choose_many("none")
    await runner.tap(fresh, yes)
    assert rows_about(db, "tg:114")["answers"] == 1, \
        "a confirmation given before the runner consented again deletes nothing"


async def test_memory_per_chat_is_bounded(fake, shipped, db, monkeypatch):
    import bot.channels.telegram.handler as handler
    monkeypatch.setattr(handler, "REMEMBERED_CHATS", 3)
    async with running_bot(fake, shipped, db) as app:
        kebas = app.bot_data["kebas"]
        for group in range(-700, -706, -1):
            fake.send(group, {"text": "halo"}, kind="group")
        for chat_id in range(170, 176):
            await Runner(fake, chat_id).agree()
        await fake.settled()
        assert len(kebas.groups_told) == 3 and -705 in kebas.groups_told
        assert len(kebas.question_messages) == 3 and 175 in kebas.question_messages


async def test_start_during_a_session_offers_to_continue_or_start_over(fake, bot):
    runner = Runner(fake, 113)
    await runner.agree()
    await runner.choose_many("none")
    await runner.type("/start", expect="Mau melanjutkan atau mulai dari awal?")
    offer = runner.sent[-1]
    assert [b["callback_data"].split(":")[:2] for b in offer.buttons] == [
        ["s", "continue"], ["s", "restart"]]
    first_restart = offer.buttons[1]["callback_data"]
    await runner.tap(offer, offer.buttons[0]["callback_data"])
    assert runner.node() == "a3_saddle"
    await runner.type("/mulai", expect="Mau melanjutkan")
    second_offer = runner.sent[-1]
    restart = second_offer.buttons[1]["callback_data"]
    await runner.tap(second_offer, restart)
    assert runner.node() == "a12_alarm"
    questions = len([m for m in runner.sent if is_question(m)])
    await runner.tap(second_offer, restart)
    assert fake.calls_of("answerCallbackQuery")[-1].params.get("text") == STALE, \
        "an offer is single-use: tapping 'start again' twice does not restart twice"
    await runner.tap(offer, first_restart)
    assert fake.calls_of("answerCallbackQuery")[-1].params.get("text") == STALE
    assert len([m for m in runner.sent if is_question(m)]) == questions + 2, \
        "each refused tap shows the current question again"


async def test_back_command_asks_the_previous_question_again(fake, bot, db):
    runner = Runner(fake, 114)
    await runner.agree()
    await runner.choose_many("none")
    await runner.type("/kembali", expect="kembali ke pertanyaan sebelumnya")
    await fake.wait_for(lambda: is_question(runner.sent[-1]))
    assert runner.node() == "a12_alarm"


async def test_english_runners_get_english(fake, bot):
    runner = Runner(fake, 116, language="en")
    await runner.agree()
    assert any("I agree" in m.text for m in runner.sent)
    await runner.type("/bahasa", expect="Choose a language")
    await runner.tap(runner.sent[-1], "l:id")
    await fake.wait_for(lambda: is_question(runner.sent[-1]))
    assert "Bahasa diganti" in runner.sent[-2].text
    assert "Saat atau setelah berlari" in runner.question().text


async def test_multi_choice_ticks_show_on_the_buttons(fake, bot):
    runner = Runner(fake, 117)
    await runner.agree()
    question = runner.question()
    await runner.tap(question, runner.data_for("chest", question))
    labels = [b["text"] for b in fake.messages[117][question.message_id].buttons]
    assert labels[0].startswith("✓ ") and not labels[1].startswith("✓")
    assert labels[-1] == "➡️ Selesai"
    await runner.tap(question, runner.data_for("chest", question))
    assert not fake.messages[117][question.message_id].buttons[0]["text"].startswith("✓")
    done = question.buttons[-1]["callback_data"]
    await runner.tap(question, done)
    assert fake.calls_of("answerCallbackQuery")[-1].params.get("text", "").startswith("Pilih")


async def test_bot_api_500_is_retried_and_the_runner_still_gets_the_question(fake, bot):
    runner = Runner(fake, 118)
    await runner.agree()
    fake.fail_next["sendMessage"] = [(500, "Internal Server Error", None)]
    await runner.choose_many("none")
    assert runner.node() == "a3_saddle"
    assert [c.status for c in fake.calls_of("sendMessage", 118)][-2:] == [500, 200]


async def test_bot_api_429_waits_retry_after_then_sends(fake, bot):
    runner = Runner(fake, 119)
    await runner.agree()
    fake.fail_next["sendMessage"] = [(429, "Too Many Requests: retry after 1",
                                      {"retry_after": 1})]
    await runner.choose_many("none")
    limited, sent = fake.calls_of("sendMessage", 119)[-2:]
    assert (limited.status, sent.status) == (429, 200)
    assert sent.at - limited.at >= 1.0, "waited retry_after before trying again"
    assert runner.node() == "a3_saddle"


async def test_bot_api_403_marks_the_runner_blocked_and_others_are_served(fake, bot, db):
    runner, other = Runner(fake, 120), Runner(fake, 121)
    await runner.agree()
    fake.fail_next["sendMessage"] = [(403, "Forbidden: bot was blocked by the user", None)]
    await runner.choose_many("none")
    assert rows(db, "SELECT blocked_at IS NOT NULL FROM chats WHERE chat_key = 'tg:120'") \
        == [(1,)]
    assert rows(db, "SELECT COUNT(*) FROM answers WHERE node = 'a12_alarm'") == [(1,)], \
        "the answer was committed before the reply failed"
    await other.agree()
    assert other.node() == "a12_alarm"


async def test_a_handler_failure_is_logged_and_the_runner_gets_an_apology(fake, bot, caplog):
    runner = Runner(fake, 122)
    await runner.agree()
    def broken(_original):
        async def save(*args, **kwargs):
            raise RuntimeError("disk on fire")
        return save

    with wrapped_save(bot, broken):
        await runner.tap(runner.question(), runner.data_for("none"))
        await runner.tap(runner.question(), runner.question().buttons[-1]["callback_data"])
        await fake.wait_for(lambda: "Maaf, ada gangguan" in runner.sent[-1].text)
    assert any("RuntimeError" in record.getMessage() for record in caplog.records)


async def test_restart_cancel_help_and_privacy_commands(fake, bot, db):
    runner = Runner(fake, 130)
    await runner.agree()
    await runner.choose_many("none")
    await runner.type("/ulang", expect="Baik, kita mulai lagi dari awal.")
    await fake.wait_for(lambda: is_question(runner.sent[-1]))
    assert runner.node() == "a12_alarm"
    assert rows(db, "SELECT status FROM sessions ORDER BY id") == [("abandoned",), ("active",)]
    await runner.type("/batal", expect="Tanya-jawab dihentikan.")
    assert rows(db, "SELECT status FROM sessions ORDER BY id")[-1] == ("abandoned",)
    await runner.type("/batal", expect="Tidak ada tanya-jawab yang sedang berjalan.")
    await runner.type("/bantuan", expect="/kembali: kembali ke pertanyaan sebelumnya")
    await runner.type("/privasi@kebas_bot", expect="Yang disimpan: jawaban Anda")
    privacy = runner.sent[-1].text
    assert "dihapus otomatis 90 hari setelah Anda terakhir menjawab" in privacy
    assert "/hapus" in privacy


async def test_one_slow_chat_does_not_hold_up_another(fake, bot):
    slow, quick = Runner(fake, 133), Runner(fake, 134)
    await slow.agree()
    await quick.agree()
    def slow_for_133(original):
        async def save(chat_key, *args, **kwargs):
            if chat_key == "tg:133":
                await asyncio.sleep(1.5)
            return await original(chat_key, *args, **kwargs)
        return save

    with wrapped_save(bot, slow_for_133):
        slow_question, quick_question = slow.question(), quick.question()
        slow_tap = fake.press(133, slow_question.message_id, slow.data_for("chest"))
        quick_tap = fake.press(134, quick_question.message_id, quick.data_for("chest"))
        await fake.wait_for(lambda: fake.press_answered(quick_tap), timeout=5)
        assert not fake.press_answered(slow_tap), "the quick chat was served first"
        await fake.wait_for(lambda: fake.press_answered(slow_tap), timeout=5)


async def test_message_is_not_modified_from_the_api_does_not_stop_the_dialog(fake, bot):
    runner = Runner(fake, 135)
    await runner.agree()
    fake.fail_next["editMessageText"] = [(400, "Bad Request: message is not modified: "
                                               "specified new message content and reply "
                                               "markup are exactly the same", None)]
    await runner.choose_many("none")
    assert runner.node() == "a3_saddle"
    assert not any("Maaf, ada gangguan" in m.text for m in runner.sent)


async def test_polling_survives_bot_api_errors_on_get_updates(fake, bot):
    fake.fail_next["getUpdates"] = [(502, "Bad Gateway", None), (500, "Internal Server Error",
                                                                  None)]
    failures = len(fake.calls_of("getUpdates"))
    await fake.wait_for(lambda: sum(c.status >= 500 for c in fake.calls_of("getUpdates")) == 2)
    assert len(fake.calls_of("getUpdates")) > failures
    runner = Runner(fake, 136)
    await runner.type("/start", expect="Sebelum mulai")


# --- regressions from the review of the Telegram adapter ---------------------------------


async def test_a_failed_edit_never_costs_the_runner_the_red_flag_advice(fake, bot, db):
    runner = Runner(fake, 140)
    await runner.agree()
    question = runner.question()
    await runner.tap(question, runner.data_for("chest", question))
    fake.fail_next["editMessageText"] = [(500, "Internal Server Error", None)]
    await runner.tap(question, question.buttons[-1]["callback_data"])
    texts = "\n".join(m.text for m in runner.sent)
    assert "Tanda bahaya: DARURAT" in texts and "Seberapa segera" in texts
    assert "Maaf, ada gangguan" not in texts


async def test_sending_that_keeps_failing_ends_in_an_apology_not_silence(fake, bot, caplog):
    runner = Runner(fake, 141)
    await runner.agree()
    fake.fail_next["sendMessage"] = [(502, "Bad Gateway", None)] * 4
    await runner.choose_many("none")
    await fake.wait_for(lambda: "Maaf, ada gangguan" in runner.sent[-1].text)
    assert any("NetworkError" in r.getMessage() for r in caplog.records)


async def test_redelivered_control_buttons_are_not_applied_twice(fake, bot, db):
    runner = Runner(fake, 142)
    await runner.type("/start", expect="Sebelum mulai")
    agree = await runner.tap(runner.sent[-1], "k:agree")
    questions = len([m for m in runner.sent if is_question(m)])
    fake.redeliver(agree)
    await fake.wait_for(lambda: fake.deliveries(agree) == 2)
    await fake.settled()
    assert len([m for m in runner.sent if is_question(m)]) == questions
    await runner.choose_many("none")
    await runner.type("/mulai", expect="Mau melanjutkan")
    restart = await runner.tap(runner.sent[-1], runner.sent[-1].buttons[1]["callback_data"])
    fake.redeliver(restart)
    await fake.wait_for(lambda: fake.deliveries(restart) == 2)
    await fake.settled()
    assert rows(db, "SELECT status FROM sessions ORDER BY id") == [("abandoned",), ("active",)]


async def test_declining_after_agreeing_does_not_pretend_nothing_is_stored(fake, bot, db):
    runner = Runner(fake, 143)
    await runner.type("/start", expect="Sebelum mulai")
    first = runner.sent[-1]
    await runner.type("/start", expect="Sebelum mulai")
    second = runner.sent[-1]
    await runner.tap(first, "k:agree")
    await runner.tap(second, "k:decline")
    assert "tetap tersimpan" in runner.sent[-1].text and "/hapus" in runner.sent[-1].text
    assert not any("tidak ada yang saya simpan" in m.text for m in runner.sent)


async def test_a_redelivered_start_after_cancelling_is_harmless(fake, bot, db, caplog):
    runner = Runner(fake, 144)
    await runner.agree()
    start = await runner.type("/start")
    await runner.type("/batal", expect="Tanya-jawab dihentikan")
    fake.redeliver(start)
    await fake.wait_for(lambda: len(fake.calls_of("getUpdates")) > 3)
    await fake.settled()
    assert not any("Maaf, ada gangguan" in m.text for m in runner.sent)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_why_this_advice_button_lists_the_answers_behind_it(fake, bot, db):
    runner = Runner(fake, 150)
    await runner.agree()
    for answer in PAD_STORY:
        await runner.answer(answer)
    closing = runner.sent[-1]
    assert closing.buttons[0]["text"] == "Mengapa saran ini?"
    await runner.tap(closing, closing.buttons[0]["callback_data"])
    why = runner.sent[-1].text
    assert why.startswith("<b>Mengapa saran ini?</b>")
    assert "kemungkinan penyebab: Penyempitan pembuluh darah tungkai" in why
    assert "Berapa usia Anda? → 62" in why
    stored = rows(db, "SELECT outcome FROM sessions WHERE chat_key = 'tg:150'")[0][0]
    assert '"because": [["a12_alarm"' not in stored and '["e1_age", 62]' in stored, \
        "the trace is stored with the result"
