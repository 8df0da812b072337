"""The durable inbox keeps an allow-list of an update's fields, only what replaying it reads
(issue 14): no name, no forwarded or quoted words, no field Telegram adds tomorrow; and an
update kept that way is replayed after a crash as if it had just arrived."""

from __future__ import annotations

import json

from telegram import Bot, Update

from bot.channels.telegram.inbox import replay_payload
from bot.storage import SQLiteStore

from support.erasure import leftovers
from support.fakebotapi import TOKEN
from support.harness import Runner, is_question, rows, running_bot
from support.people import BOT_USER

BOT = Bot(TOKEN)  # only to rebuild updates; it never connects
SOMEONE = {"id": 5550001, "is_bot": False, "first_name": "Siti", "last_name": "Rahma",
           "username": "siti_rahma"}
HELPER = {"id": 5550002, "is_bot": True, "first_name": "Helper", "username": "helper_bot"}
# names and words that are not the runner's answer: none may reach the inbox or any file
NAMES = ("Siti", "Rahma", "siti_rahma", "Rahasia", "pelari_rahasia", "Helper", "helper_bot",
         "Teman Lari", "kata teman")
WHEN = 1_760_000_000


def runner(chat_id: int) -> dict:
    return {"id": chat_id, "is_bot": False, "first_name": f"Pelari{chat_id}",
            "last_name": "Rahasia", "username": "pelari_rahasia", "language_code": "id",
            "is_premium": True}


def private(chat_id: int) -> dict:
    return {"id": chat_id, "type": "private", "first_name": f"Pelari{chat_id}",
            "last_name": "Rahasia", "username": "pelari_rahasia"}


def text_with_everything(update_id: int, chat_id: int, text: str, *,
                         reply_to: int | None = None) -> dict:
    """A text as Telegram may send it, with every field Kebas does not need."""
    message = {
        "message_id": update_id + 1000, "date": WHEN, "chat": private(chat_id),
        "from": runner(chat_id), "text": text,
        "entities": [{"type": "text_mention", "offset": 0, "length": 1, "user": SOMEONE}],
        "quote": {"text": "kata teman", "position": 0},
        "external_reply": {"origin": {"type": "hidden_user", "date": WHEN,
                                      "sender_user_name": "Teman Lari"}},
        "via_bot": HELPER, "link_preview_options": {"is_disabled": True},
        "a_field_telegram_adds_later": {"name": "Siti Rahma"},
    }
    if reply_to is not None:
        message["reply_to_message"] = {
            "message_id": reply_to, "date": WHEN - 60, "chat": private(chat_id),
            "from": SOMEONE, "text": "kata teman",
            "forward_origin": {"type": "user", "date": WHEN - 99, "sender_user": HELPER}}
    return {"update_id": update_id, "message": message}


def press_with_everything(update_id: int, chat_id: int, message_id: int, text: str,
                          markup: dict, data: str) -> dict:
    """A button press as Telegram may send it, with every field Kebas does not need."""
    return {"update_id": update_id, "callback_query": {
        "id": f"cb-{update_id}", "from": runner(chat_id), "chat_instance": "-4242",
        "data": data, "message": {
            "message_id": message_id, "date": WHEN, "chat": private(chat_id),
            "from": BOT_USER, "text": text, "reply_markup": markup,
            "entities": [{"type": "text_mention", "offset": 0, "length": 1, "user": SOMEONE}],
            "a_field_telegram_adds_later": "Siti"}}}


def kept(update: dict) -> dict:
    return json.loads(replay_payload(Update.de_json(update, BOT)))


def test_a_text_keeps_only_what_its_replay_reads():
    payload = kept(text_with_everything(7, 301, "2", reply_to=40))
    chat = {"id": 301, "type": "private"}
    assert payload == {"update_id": 7, "message": {
        "message_id": 1007, "date": WHEN, "chat": chat, "text": "2",
        "from": {"id": 301, "is_bot": False, "language_code": "id", "first_name": ""},
        "reply_to_message": {"message_id": 40, "date": WHEN - 60, "chat": chat}}}
    replayed = Update.de_json(payload, BOT)
    assert (replayed.message.text, replayed.message.reply_to_message.message_id) == ("2", 40)
    assert replayed.effective_user.language_code == "id" and replayed.effective_chat.id == 301
    assert replayed.message.forward_origin is None


def test_a_button_press_keeps_only_what_its_replay_reads():
    markup = {"inline_keyboard": [[{"text": "✓ Tidak ada", "callback_data": "t:1:0:a:none"}],
                                  [{"text": "➡️ Selesai", "callback_data": "d:1:0:a:"}]]}
    payload = kept(press_with_everything(8, 301, 42, "Ada yang terasa?", markup,
                                         "d:1:0:a:"))
    assert payload == {"update_id": 8, "callback_query": {
        "id": "cb-8", "chat_instance": "", "data": "d:1:0:a:",
        "from": {"id": 301, "is_bot": False, "language_code": "id", "first_name": ""},
        "message": {"message_id": 42, "date": WHEN, "chat": {"id": 301, "type": "private"},
                    "text": "Ada yang terasa?", "reply_markup": markup}}}
    query = Update.de_json(payload, BOT).callback_query
    assert query.message.text_html == "Ada yang terasa?"
    assert query.message.reply_markup.inline_keyboard[0][0].text == "✓ Tidak ada"


async def test_names_and_forwarded_words_never_reach_the_inbox(fake, shipped, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    kept_ids, payloads = [], []
    async with running_bot(fake, shipped, db) as app:
        store = app.bot_data["kebas"].store
        original = store.inbox_add

        async def keeping(update_id, chat_key, payload):
            kept_ids.append(update_id)
            payloads.append(payload)
            return await original(update_id, chat_key, payload)
        store.inbox_add = keeping
        person = Runner(fake, 505)
        await person.agree()
        forwarded = fake.send(505, {"text": "1", "forward_origin": {
            "type": "user", "date": WHEN, "sender_user": SOMEONE}})
        await fake.wait_for(lambda: any("diteruskan" in m.text for m in person.sent))
        await fake.settled()
        before = len(person.sent)
        named = fake.send(505, {key: value for key, value in text_with_everything(
            0, 505, "tiga puluh", reply_to=person.question().message_id)["message"].items()
            if key not in ("message_id", "date", "chat", "from")})
        await fake.wait_for(lambda: len(person.sent) > before)
        await fake.settled()
    assert named in kept_ids and forwarded not in kept_ids, "a forward only gets a reply"
    leaked = [name for name in (*NAMES, "Pelari505") if name in "\n".join(payloads)]
    assert leaked == []
    assert leftovers(db, (*NAMES, "Pelari505")) == {}, "nor any file"


async def test_an_update_kept_before_a_crash_is_replayed_from_what_the_inbox_kept(
        fake, shipped, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    person = Runner(fake, 506)
    async with running_bot(fake, shipped, db):
        await person.agree()
    # The bot stopped with three updates in its inbox, kept as `DurableUpdates` keeps them:
    # a tick, "done" under the ticked card, and a typed answer to the next question.
    question = person.question()
    ticked = {"inline_keyboard": [[{**button, "text": f"✓ {button['text']}"}
                                   if button["callback_data"] == person.data_for("none")
                                   else button for button in row]
                                  for row in question.reply_markup["inline_keyboard"]]}
    done = next(b["callback_data"] for b in question.buttons
                if b["callback_data"].startswith("d:"))
    updates = [
        press_with_everything(9001, 506, question.message_id, question.text,
                              question.reply_markup, person.data_for("none")),
        press_with_everything(9002, 506, question.message_id, question.text, ticked, done),
        text_with_everything(9003, 506, "no"),
    ]
    async with SQLiteStore(db) as store:
        for update in updates:
            await store.inbox_add(update["update_id"], "tg:506", replay_payload(
                Update.de_json(update, BOT)))
    async with running_bot(fake, shipped, db):
        await fake.wait_for(lambda: any(is_question(m) and ":a45_leg:" in str(m.buttons)
                                        for m in person.sent))
        await fake.settled()
    assert {"cb-9001", "cb-9002"} <= set(fake.answered), "each press was answered"
    assert rows(db, "SELECT node, value FROM answers ORDER BY id") == [
        ("a12_alarm", '["none"]'), ("a3_saddle", '"no"')]
    assert rows(db, "SELECT COUNT(*) FROM inbox") == [(0,)]
    assert leftovers(db, (*NAMES, "Pelari506")) == {}
