"""The bad-input catalogue: every odd thing a chat can send, run through the real bot.

Each case is one kind of input, sent to the same Application as `kebas run` over HTTP. It says
what the runner gets back (locale texts, in order, then where they stand) or that the bot stays
silent, and that nothing wrong is stored. Every case also checks what no runner may ever see:
an apology for a crash, an error in the log, a request Telegram refused, a spinning button.
(Floods: test_flood.py.)
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support.botapirecords import StoredMessage
from support.fakebotapi import FakeBotAPI
from support.harness import (
    PAD_STORY,
    Runner,
    finished_updates,
    node_of,
    rows,
    rows_about,
    running_bot,
)
from support.people import BOT_USER

RUNNER = 4242
FIRST_QUESTION = "Saat atau setelah berlari"  # how the first question (a12_alarm) begins
GROUP, SUPERGROUP, CHANNEL = -500, -600, -900
LONG_ENOUGH = 30.0  # seconds: only a hung bot takes longer

Text = str | tuple[str, dict[str, Any]]  # a locale key, or a key with its parameters
SAME, NOTHING = "same", "nothing"  # what follows the reply: the runner's prompt again, or not
STALE_PRESS = "t:1:0:a12_alarm:chest"  # the first question's "chest pain" box, session 1


@dataclass(frozen=True)
class Arrived:
    """What an act sent: its update ids, and the ids of the button presses among them."""

    updates: list[int]
    presses: list[str] = field(default_factory=list)

    def __add__(self, other: Arrived) -> Arrived:
        return Arrived(self.updates + other.updates, self.presses + other.presses)


Act = Callable[[Runner], Awaitable[Arrived]]


@dataclass(frozen=True)
class Case:
    name: str
    act: Act                      # sends the input
    reply: tuple[Text, ...] = ()  # the bot's messages, in order
    then: str = SAME              # SAME, NOTHING, or the node whose question comes next
    at: str = "first"             # where the runner stands first (`stand`)
    toast: Text | None = None     # the text a pressed button is answered with (None: no text)
    chat: int = RUNNER            # where the reply is expected (a group's id for group cases)
    stores: Callable[[Path, Any], None] | None = None  # the change expected (None: nothing)


# --- building what arrives -----------------------------------------------------------------


def text(typed: str) -> Act:
    async def act(runner: Runner) -> Arrived:
        return Arrived([runner.fake.send_text(runner.chat_id, typed)])
    return act


def message(fields: dict[str, Any], chat: int = RUNNER, kind: str = "private",
            field_name: str = "message", sender: dict[str, Any] | None = None) -> Act:
    async def act(runner: Runner) -> Arrived:
        body = dict(fields, **({"from": sender} if sender else {}))
        return Arrived([runner.fake.send(chat, body, kind=kind, field_name=field_name)])
    return act


def raw(update: Callable[[FakeBotAPI], dict[str, Any]]) -> Act:
    """Any update as Telegram sends it; a button press in it is named by its id."""
    async def act(runner: Runner) -> Arrived:
        body = update(runner.fake)
        pressed = [body["callback_query"]["id"]] if "callback_query" in body else []
        return Arrived([runner.fake.push(body)], pressed)
    return act


def tap(data: str, on: str = "current") -> Act:
    """Press `data` on the current question, the first one ever sent, or the last message."""
    async def act(runner: Runner) -> Arrived:
        update_id = runner.fake.press(runner.chat_id, _message(runner, on).message_id, data)
        return Arrived([update_id], [runner.fake.callback_id(update_id)])
    return act


def _message(runner: Runner, which: str) -> StoredMessage:
    if which == "first":
        return next(m for m in runner.sent if m.text.startswith(FIRST_QUESTION))
    return runner.question() if which == "current" else runner.sent[-1]


def reply_to(which: str, typed: str) -> Act:
    """Answer by replying to the first question ever sent, or to the current one."""
    async def act(runner: Runner) -> Arrived:
        replied = _message(runner, which)
        return Arrived([runner.fake.send(runner.chat_id, {"text": typed, "reply_to_message": {
            "message_id": replied.message_id, "date": _now(),
            "chat": runner.fake.chat(runner.chat_id), "text": "…", "from": BOT_USER}})])
    return act


def several(*acts: Act) -> Act:
    async def act(runner: Runner) -> Arrived:
        arrived = Arrived([])
        for one in acts:
            arrived += await one(runner)
        return arrived
    return act


def file(**extra: Any) -> dict[str, Any]:
    return {"file_id": "f1", "file_unique_id": "u1", **extra}


def _now() -> int:
    return int(time.time())


POLL = {"id": "p1", "question": "Lari pagi?", "options": [
    {"text": "Ya", "voter_count": 0, "persistent_id": "o1"},
    {"text": "Tidak", "voter_count": 0, "persistent_id": "o2"}],
    "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
    "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}
STICKER = file(width=512, height=512, is_animated=False, is_video=False, type="regular")
LOCATION = {"latitude": -6.2183, "longitude": 106.8022}
PHONE = "+6281234567890"
OTHER_BOT = {"id": 555, "is_bot": True, "first_name": "Spam", "username": "spam_bot"}
STRANGER = {"id": 31337, "is_bot": False, "first_name": "Orang Lain"}


def member_update(field_name: str, chat: int, kind: str, old: str, new: str,
                  who: dict[str, Any] | None = None) -> Callable[[FakeBotAPI], dict[str, Any]]:
    def update(fake: FakeBotAPI) -> dict[str, Any]:
        user = who or BOT_USER
        extra = {"until_date": 0} if new == "kicked" else {}
        return {field_name: {"chat": fake.chat(chat, kind), "from": fake.user(chat),
                             "date": _now(), "old_chat_member": {"user": user, "status": old},
                             "new_chat_member": {"user": user, "status": new, **extra}}}
    return update


def inline_button(fake: FakeBotAPI) -> dict[str, Any]:
    return {"callback_query": {"id": "inline1", "from": fake.user(RUNNER), "chat_instance": "ci",
                               "inline_message_id": "im1", "data": STALE_PRESS}}


# --- what storage may change -----------------------------------------------------------------


def answered(node: str, value: Any) -> Callable[[Path, Any], None]:
    def check(db: Path, before: Any) -> None:
        new = _answers(db)[len(before[1]):]
        assert [(row[3], json.loads(row[4])) for row in new] == [(node, value)]
    return check


def blocked(db: Path, before: Any) -> None:
    assert rows(db, "SELECT blocked_at IS NOT NULL FROM chats WHERE chat_key = ?",
                f"tg:{RUNNER}") == [(1,)]


# --- the catalogue ---------------------------------------------------------------------------

UNKNOWN_CHOICE = "t:1:0:a12_alarm:nope"
RTL_ARABIC = "ساقي مخدرة عند الجري"
RTL_HEBREW = "הרגל שלי רדומה"

CASES = [
    # text where a button is expected
    Case("words where buttons are expected", text("kaki saya sakit banget"),
         ("error.pick_a_button",)),
    Case("words for a one-choice question", text("mungkin"), ("error.pick_a_button",),
         at="second"),
    Case("a number that is no option", text("9"), ("error.not_an_option",)),
    Case("numbers with one out of range", text("1, 9"), ("error.not_an_option",)),
    Case("'none of these' with another option", text("1,7"),
         (("error.exclusive_with_others", {"option": "Tidak ada"}),)),
    Case("superscript digit", text("²"), ("error.pick_a_button",)),
    Case("digit with a superscript", text("3²"), ("error.pick_a_button",)),
    Case("a fraction sign", text("½"), ("error.pick_a_button",), at="second"),
    # the typed age
    Case("age out of range: 300", text("300"),
         (("error.number_out_of_range", {"min": 12, "max": 100}),), at="age"),
    Case("age negative: -5", text("-5"),
         (("error.number_out_of_range", {"min": 12, "max": 100}),), at="age"),
    Case("age zero", text("0"), (("error.number_out_of_range", {"min": 12, "max": 100}),),
         at="age"),
    Case("age with a decimal comma", text("35,5"), ("error.not_a_whole_number",), at="age"),
    Case("age in words", text("tiga puluh"), ("error.not_a_number",), at="age"),
    Case("age as emoji", text("3️⃣5️⃣"), ("error.not_a_number",), at="age"),
    Case("age in HTML", text("<b>35</b>"), ("error.not_a_number",), at="age"),
    Case("age of spaces", text("   "), ("error.not_a_number",), at="age"),
    Case("age with unit: 35 tahun", text("35 tahun"), then="e2_history", at="age",
         stores=answered("e1_age", 35)),
    Case("age with unit glued on: 35thn", text("35thn"), then="e2_history", at="age",
         stores=answered("e1_age", 35)),
    Case("age in Arabic-Indic digits", text("٣٥"), then="e2_history", at="age",
         stores=answered("e1_age", 35)),
    # buttons: forged, stale, oversized, garbage
    Case("forged button: unknown session", tap("t:zz:0:a12_alarm:chest"),
         toast="error.stale_button"),
    Case("forged button: not our format", tap("hello"), toast="tg.forged"),
    Case("forged button: HTML in the option", tap("t:1:0:a12_alarm:<b>"), toast="tg.forged"),
    Case("forged button: unknown control", tap("k:maybe"), toast="tg.forged"),
    Case("forged button: unknown language", tap("l:xx"), toast="tg.forged"),
    Case("forged button: no such option", tap(UNKNOWN_CHOICE), toast="error.not_an_option"),
    Case("garbage button data: 64 letters", tap("x" * 64), toast="tg.forged"),
    Case("oversized button data: over 64 bytes", tap("t:1:0:a12_alarm:" + "a" * 60),
         toast="tg.forged"),
    Case("garbage button data: emoji", tap("🦶" * 10), toast="tg.forged"),
    Case("garbage button data: control bytes", tap("\x00\x01\x7f"), toast="tg.forged"),
    Case("empty button data", tap(""), toast="tg.forged"),
    Case("button data with a lone surrogate", tap("t:1:0:a12_alarm:\ud800"),
         toast="tg.forged"),
    Case("control button data with a lone surrogate", tap("h:yes:\udfff"), toast="tg.forged"),
    Case("forged 'delete everything' with no prompt", tap("h:yes"),
         toast="tg.delete_expired", then=NOTHING),
    Case("'delete everything' with a made-up confirmation", tap("h:yes:1a2b3c-0123456789abcdef"),
         toast="tg.delete_expired", then=NOTHING),
    Case("stale button of an answered question", tap(STALE_PRESS, on="first"),
         toast="error.stale_button", at="second"),
    Case("stale 'continue' offer", tap("s:continue:zz"), toast="error.stale_button"),
    Case("'why' button before any result", tap("w:why:1"), toast="error.stale_button",
         then=NOTHING),
    Case("button of a cancelled session", tap(STALE_PRESS, on="first"),
         ("tg.after_outcome",), then=NOTHING, toast="error.stale_button", at="cancelled"),
    Case("'Done' of a session started over", tap("d:1:0:a12_alarm:", on="first"),
         toast="error.stale_button", at="started over"),
    Case("button on an inline message", raw(inline_button), then=NOTHING),
    # media and other message kinds
    *[Case(f"media: {kind}", message({kind: body}), ("tg.unsupported",)) for kind, body in {
        "photo": [file(width=90, height=90)],
        "video": file(width=320, height=240, duration=3),
        "voice": file(duration=2),
        "audio": file(duration=200),
        "document": file(file_name="hasil_lab.pdf"),
        "video_note": file(length=240, duration=4),
        "sticker": STICKER,
        "contact": {"phone_number": PHONE, "first_name": "Budi"},
        "location": LOCATION,
        "poll": POLL,
        "dice": {"emoji": "🎲", "value": 4},
    }.items()],
    Case("media: animation", message({"animation": file(width=1, height=1, duration=1),
                                      "document": file(file_name="a.gif")}),
         ("tg.unsupported",)),
    Case("media: venue", message({"venue": {"location": LOCATION, "title": "GBK",
                                            "address": "Senayan, Jakarta"},
                                  "location": LOCATION}), ("tg.unsupported",)),
    Case("a photo whose caption is an answer",
         message({"photo": [file(width=90, height=90)], "caption": "3"}), ("tg.unsupported",)),
    # edits, forwards, replies
    Case("edited message", message({"text": "1", "edit_date": _now()},
                                   field_name="edited_message"), ("tg.edited",)),
    Case("forwarded message that looks like an answer",
         message({"text": "1", "forward_origin": {
             "type": "hidden_user", "date": _now(), "sender_user_name": "Teman"}}),
         ("tg.forwarded",)),
    Case("forwarded command", message({"text": "/ulang", "entities": [
        {"type": "bot_command", "offset": 0, "length": 6}], "forward_origin": {
        "type": "hidden_user", "date": _now(), "sender_user_name": "Teman"}}),
         ("tg.forwarded",), at="second"),
    Case("reply to an older question", reply_to("first", "1"), ("tg.old_reply",),
         at="second"),
    Case("reply to the current question is an answer", reply_to("current", "4"),
         then="a45_leg", at="second", stores=answered("a3_saddle", "no")),
    # text of every shape
    Case("very long text (1800 characters)", text("kebas " * 300), ("tg.too_long",)),
    Case("longest text Telegram allows (4096)", text("a" * 4096), ("tg.too_long",)),
    Case("very long text for the age", text("9" * 2000), ("tg.too_long",), at="age"),
    Case("emoji only", text("🦵😵‍💫🏃‍♀️"), ("error.pick_a_button",)),
    Case("RTL text: Arabic", text(RTL_ARABIC), ("error.pick_a_button",)),
    Case("RTL text: Hebrew", text(RTL_HEBREW), ("error.pick_a_button",), at="second"),
    Case("bidi override before a number", text("\u202e1"), ("error.pick_a_button",)),
    Case("HTML: bold", text("<b>x</b>"), ("error.pick_a_button",)),
    Case("HTML: script", text("<script>alert(1)</script>"), ("error.pick_a_button",)),
    Case("HTML: broken tag and entity", text("<b &amp; </i>"), ("error.pick_a_button",)),
    Case("Markdown: bold", text("*x*"), ("error.pick_a_button",)),
    Case("Markdown: link", text("[a](http://x)"), ("error.pick_a_button",)),
    Case("whitespace only", text("   \n\t "), ("error.pick_a_button",)),
    Case("empty text", text(""), ("error.pick_a_button",)),
    Case("NUL and control characters", text("\x00\x07\x1b[2J"), ("error.pick_a_button",)),
    # commands
    Case("/start with a deep-link payload", text("/start abc"),
         ("tg.welcome", ("tg.consent", {"retention_days": 90})), then=NOTHING, at="new"),
    Case("/start with a payload in a session", text("/start abc"),
         ("tg.continue_or_restart",), then=NOTHING, at="second"),
    Case("/mulai addressed to the bot", text("/mulai@kebas_bot"),
         ("tg.continue_or_restart",), then=NOTHING, at="second"),
    Case("/bantuan with an argument", text("/bantuan xyz"), ("tg.help",), then=NOTHING),
    Case("command in capitals", text("/BANTUAN"), ("tg.help",), then=NOTHING),
    Case("unknown command", text("/entahlah"), ("tg.unknown_command",)),
    Case("a lone slash", text("/"), ("tg.unknown_command",)),
    Case("the terminal's /mengapa", text("/mengapa"), ("tg.unknown_command",)),
    Case("admin command from a runner", text("/statistik"), ("tg.unknown_command",)),
    Case("reload command from a runner", text("/muatulang"), ("tg.unknown_command",)),
    # before consent
    Case("text before consent", text("betis saya kebas"), ("tg.need_consent",),
         then=NOTHING, at="consent"),
    Case("a number before consent", text("1"), ("tg.need_consent",), then=NOTHING,
         at="consent"),
    Case("media before consent", message({"sticker": STICKER}),
         ("tg.unsupported", "tg.need_consent"), then=NOTHING, at="consent"),
    Case("question button before consent", tap(STALE_PRESS, on="last"),
         ("tg.need_consent",), then=NOTHING, at="consent"),
    Case("text before the bot said anything", text("halo"), ("tg.need_consent",),
         then=NOTHING, at="new"),
    # groups, supergroups, channels
    Case("group: a notice once, then silence",
         several(message({"text": "/start"}, GROUP, "group"),
                 message({"text": "halo"}, GROUP, "group")),
         ("tg.private_only",), then=NOTHING, chat=GROUP),
    Case("supergroup", message({"text": "1"}, SUPERGROUP, "supergroup"),
         ("tg.private_only",), then=NOTHING, chat=SUPERGROUP),
    Case("group: a button press is answered",
         raw(lambda fake: {"callback_query": {
             "id": "g1", "from": fake.user(777), "chat_instance": "cig",
             "data": STALE_PRESS, "message": {"message_id": 1, "date": _now(),
                                               "chat": fake.chat(GROUP, "group"),
                                               "text": "x", "from": BOT_USER}}}),
         ("tg.private_only",), then=NOTHING, chat=GROUP),
    Case("channel post", message({"text": "halo"}, CHANNEL, "channel", "channel_post"),
         then=NOTHING, chat=CHANNEL),
    Case("edited channel post", message({"text": "halo", "edit_date": _now()}, CHANNEL,
                                        "channel", "edited_channel_post"),
         then=NOTHING, chat=CHANNEL),
    Case("bot added to a group", raw(member_update("my_chat_member", GROUP, "group", "left",
                                                   "member")), then=NOTHING, chat=GROUP),
    Case("someone joins a group", raw(member_update("chat_member", GROUP, "supergroup",
                                                    "left", "member",
                                                    who={"id": 777, "is_bot": False,
                                                         "first_name": "Ani"})),
         then=NOTHING, chat=GROUP),
    Case("another bot posts in a group", raw(lambda fake: {"message": {
        "message_id": 1, "date": _now(), "chat": fake.chat(GROUP, "group"), "from": OTHER_BOT,
        "text": "/start"}}), then=NOTHING, chat=GROUP),
    # updates that belong to no conversation
    Case("inline query", raw(lambda fake: {"inline_query": {
        "id": "iq1", "from": fake.user(RUNNER), "query": "kebas", "offset": ""}}),
         then=NOTHING),
    Case("poll update", raw(lambda fake: {"poll": POLL}), then=NOTHING),
    Case("poll answer", raw(lambda fake: {"poll_answer": {
        "poll_id": "p1", "user": fake.user(RUNNER), "option_ids": [0],
        "option_persistent_ids": ["o1"]}}), then=NOTHING),
    Case("reaction to a question", raw(lambda fake: {"message_reaction": {
        "chat": fake.chat(RUNNER), "message_id": 1, "user": fake.user(RUNNER), "date": _now(),
        "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}),
         then=NOTHING),
    Case("a message from a bot", message({"text": "1"}, sender=OTHER_BOT), then=NOTHING),
    Case("private chat, sender is someone else", message({"text": "1"}, sender=STRANGER),
         then=NOTHING, at="first"),
    Case("private chat, a message with no sender", raw(lambda fake: {"message": {
        "message_id": 9, "date": _now(), "chat": fake.chat(RUNNER), "text": "/hapus"}}),
         then=NOTHING, at="first"),
    Case("private chat, a button pressed by someone else", raw(lambda fake: {
        "callback_query": {"id": "x1", "from": STRANGER, "chat_instance": "ci",
                           "data": STALE_PRESS, "message": {
                               "message_id": 1, "date": _now(), "chat": fake.chat(RUNNER),
                               "text": "x", "from": BOT_USER}}}), then=NOTHING),
    Case("runner blocks the bot", raw(member_update("my_chat_member", RUNNER, "private",
                                                    "member", "kicked")),
         then=NOTHING, stores=blocked),
    Case("runner blocks the bot before consent", raw(member_update(
        "my_chat_member", RUNNER, "private", "member", "kicked")), then=NOTHING, at="new"),
]


# --- running a case --------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "kebas.sqlite3"


@pytest.fixture
async def bot(fake, shipped, db):
    async with running_bot(fake, shipped, db) as app:
        yield app


@pytest.fixture
def handled(bot) -> set[int]:
    return finished_updates(bot)


async def stand(runner: Runner, at: str) -> None:
    """Bring the runner to where a case starts."""
    if at == "new":
        return
    if at == "consent":
        await runner.type("/start", expect="Sebelum mulai")
        return
    await runner.agree()
    if at == "second":
        await runner.choose_many("none")
    elif at == "age":
        for answer in PAD_STORY[:PAD_STORY.index("62")]:
            await runner.answer(answer)
    elif at == "cancelled":
        await runner.type("/batal", expect="Tanya-jawab dihentikan")
    elif at == "started over":
        await runner.type("/ulang", expect="mulai lagi dari awal")
        await runner.choose_many("none")


def snapshot(db: Path) -> Any:
    """What is stored about the runner: sessions, answers, chat settings."""
    key = f"tg:{RUNNER}"
    return (rows(db, "SELECT id, node, state, status FROM sessions WHERE chat_key = ? "
                     "ORDER BY id", key),
            _answers(db),
            rows(db, "SELECT consent_version, language, blocked_at FROM chats "
                     "WHERE chat_key = ?", key))


def _answers(db: Path) -> list[tuple[Any, ...]]:
    return rows(db, "SELECT session_id, seq, action, node, value FROM answers WHERE session_id "
                    "IN (SELECT id FROM sessions WHERE chat_key = ?) ORDER BY id",
                f"tg:{RUNNER}")


def said(shipped, item: Text) -> str:
    key, params = (item, {}) if isinstance(item, str) else item
    return shipped.locales["id"].text(key, **params)


def shown(shipped, item: Text) -> str:
    """The text as the bot sends it: HTML with everything escaped."""
    return html.escape(said(shipped, item), quote=False)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_bad_input(fake, bot, db, shipped, handled, caplog, case: Case):
    runner = Runner(fake, RUNNER)
    await stand(runner, case.at)
    prompt = (runner.sent[-1].text, runner.sent[-1].buttons) if runner.sent else None
    before_id, before = runner.last_id(), snapshot(db)
    calls = len(fake.calls)

    arrived = await case.act(runner)
    await fake.wait_for(lambda: handled.issuperset(arrived.updates), timeout=LONG_ENOUGH)
    await fake.settled()

    after = [m for m in fake.sent(case.chat) if m.message_id > before_id]
    expected = [shown(shipped, item) for item in case.reply]
    assert [m.text for m in after[:len(expected)]] == expected
    follows = after[len(expected):]
    if case.then == NOTHING:
        assert follows == [], "nothing more is sent"
    elif case.then == SAME:
        assert [(m.text, m.buttons) for m in follows] == [prompt], "the same prompt again"
    else:
        assert [node_of(m) for m in follows] == [case.then]
    if case.chat != RUNNER:
        assert not [m for m in runner.sent if m.message_id > before_id], "the runner hears nothing"
        assert set(rows_about(db, f"tg:{case.chat}").values()) <= {0}, "nothing about a group"

    for press in arrived.presses:
        answer = fake.answer_to(press)
        assert answer is not None, "the button stops spinning"
        assert answer.get("text") == (said(shipped, case.toast) if case.toast else None)

    if case.stores is None:
        assert snapshot(db) == before, "nothing is stored"
    else:
        case.stores(db, before)
    assert rows(db, "SELECT COUNT(*) FROM inbox") == [(0,)], "the raw update is gone"
    refused = [c for c in fake.calls[calls:] if c.status != 200]
    assert refused == [], "Telegram refused nothing the bot sent"
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "no crash"


def test_the_catalogue_has_every_kind_once():
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names) >= 25
