"""Deep links and the admin's chart, end to end against the fake Bot API.

t.me/<bot>?start=PAYLOAD reaches the bot as the text "/start PAYLOAD": a language code chooses
the language, anything else is a source counted per day (never who came from it), and a
language with a source (en-poster) does both. An admin's /statistik shows the counts and
sends the funnel as a PNG photo.

Nothing about a runner is stored before they consent, so a language chosen then (a /start en
link, /bahasa) is held in the process's memory only: every later reply before consent comes in
that language, the consent buttons carry it, and agreeing stores it. A decline, a /hapus and a
restart forget it; the runner then sees their Telegram client's language again.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path

import pytest
from telegram import Bot, Update
from telegram.error import BadRequest

from bot.channels.telegram.inbox import replay_payload
from bot.cli import main as cli
from bot.storage import SQLiteStore, StorageError

from support.botapirecords import StoredMessage
from support.fakebotapi import TOKEN
from support.harness import Runner, is_question, rows, rows_about, running_bot, shown

ROOT = Path(__file__).resolve().parents[2]
CONTENT = [str(ROOT / "dialogs"), str(ROOT / "locales")]
ADMIN = 40_300
PNG = b"\x89PNG\r\n\x1a\n"
# how many rows of each table are about a chat: none before consent
NOTHING = dict.fromkeys(
    ("sessions", "answers", "processed_updates", "chats", "inbox", "chat_leases",
     "followups"), 0)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "kebas.sqlite3"


@pytest.fixture
async def bot(fake, shipped, db):
    async with running_bot(fake, shipped, db, kebas_admin_ids=[ADMIN]) as app:
        yield app


def counts(db: Path) -> list[tuple[str, int]]:
    return rows(db, "SELECT source, starts FROM start_counts ORDER BY source")


def text(shipped, language: str, key: str, **params) -> str:
    return shown(shipped.locales[language], key, **params)


def button(message: StoredMessage, label: str) -> str:
    """The data of the message's button labelled `label`."""
    return next(b["callback_data"] for b in message.buttons if b["text"] == label)


async def choose(runner: Runner, route: str) -> None:
    """Choose the other language than the client's: by a deep link, or under /bahasa."""
    if route == "link":
        await runner.type("/start en" if runner.language == "id" else "/start id",
                          expect="Before we start" if runner.language == "id"
                          else "Sebelum mulai")
        return
    await runner.type("/language" if runner.language == "en" else "/bahasa", expect="")
    label = "English" if runner.language == "id" else "Bahasa Indonesia"
    await runner.tap(runner.sent[-1], button(runner.sent[-1], label))


async def help_language(runner: Runner, shipped) -> str:
    """Which language /bantuan (/help) answers in now."""
    await runner.type("/bantuan", expect="")
    last = runner.sent[-1].text
    for language in ("en", "id"):
        if last == text(shipped, language, "tg.help"):
            return language
    raise AssertionError(f"not the help text: {last!r}")


# --- the language -------------------------------------------------------------------------


async def test_start_en_before_consent_welcomes_and_asks_consent_in_english(fake, bot, db):
    runner = Runner(fake, 40_101)  # an Indonesian Telegram client
    await runner.type("/start en", expect="Before we start")
    assert runner.sent[-2].text.startswith("Hi, I'm Kebas"), "the welcome first, in English"
    assert [b["text"] for b in runner.sent[-1].buttons] == ["I agree", "I don't agree"]
    assert rows_about(db, "tg:40101") == NOTHING, \
        "nothing is stored about a runner before consent"
    assert counts(db) == [], "a language alone is no source"


@pytest.mark.parametrize("choose", ["/start en", "/bahasa"])
async def test_a_language_chosen_before_consent_holds_after_the_runner_agrees(
        fake, bot, db, choose):
    """Nothing is stored before consent, so the consent button itself carries the language
    the runner chose: tapping "I agree" begins in English, and English is what is kept."""
    runner = Runner(fake, 40_103)  # an Indonesian Telegram client
    if choose == "/bahasa":
        await runner.type("/bahasa", expect="")
        await runner.tap(runner.sent[-1], button(runner.sent[-1], "English"))
        await fake.wait_for(lambda: runner.sent[-1].buttons
                            and runner.sent[-1].buttons[0]["text"] == "I agree")
    else:
        await runner.type(choose, expect="Before we start")
    await runner.tap(runner.sent[-1], runner.sent[-1].buttons[0]["callback_data"])
    await fake.wait_for(lambda: is_question(runner.sent[-1]))
    assert "During or after running" in runner.question().text, "the first question, in English"
    assert rows(db, "SELECT language FROM chats") == [("en",)]


async def test_start_id_in_the_middle_of_an_english_session_goes_on_in_indonesian(
        fake, bot, db, shipped):
    runner = Runner(fake, 40_102, language="en")
    await runner.agree()
    await runner.choose_many("none")
    await runner.type("/start id", expect=text(shipped, "id", "tg.continue_or_restart"))
    assert [b["text"] for b in runner.sent[-1].buttons] == ["Lanjutkan", "Mulai dari awal"]
    assert rows(db, "SELECT language FROM chats") == [("id",)], "kept, as /bahasa keeps it"
    await runner.tap(runner.sent[-1], runner.sent[-1].buttons[0]["callback_data"])
    await fake.wait_for(lambda: is_question(runner.sent[-1]))
    assert "area sadel dan buang air" in runner.question().text, "in Indonesian now"


async def test_a_language_with_a_source_chooses_the_language_and_counts_the_source(
        fake, bot, db):
    runner = Runner(fake, 40_103)
    await runner.type("/start en-poster", expect="Before we start")
    assert counts(db) == [("en-poster", 1)]


# --- a language chosen before consent: held in memory until consent ---------------------

FIRST_QUESTION = {"en": "During or after running", "id": "Saat atau setelah berlari"}
NEED_CONSENT = {"en": "I need your consent", "id": "saya perlu persetujuan Anda"}


@pytest.mark.parametrize(("client", "route"), [
    ("id", "link"), ("id", "menu"), ("en", "link"), ("en", "menu")])
async def test_a_language_chosen_before_consent_holds_until_consent_and_is_kept(
        fake, bot, db, shipped, client, route):
    chosen = "en" if client == "id" else "id"
    runner = Runner(fake, 41_001, language=client)
    await choose(runner, route)
    assert await help_language(runner, shipped) == chosen, "help comes in the chosen language"
    await runner.type("halo", expect=NEED_CONSENT[chosen])
    consent = runner.sent[-1]
    assert [b["callback_data"] for b in consent.buttons] == [
        f"k:agree:{chosen}", f"k:decline:{chosen}"], "the consent buttons carry the choice"
    assert await help_language(runner, shipped) == chosen, "and it still holds"
    assert rows_about(db, "tg:41001") == NOTHING, "nothing is stored before consent"
    await runner.tap(consent, button(consent, shipped.locales[chosen].text("tg.consent_agree")))
    await fake.wait_for(lambda: is_question(runner.sent[-1]))
    assert FIRST_QUESTION[chosen] in runner.question().text
    assert rows(db, "SELECT chat_key, language FROM chats") == [("tg:41001", chosen)]
    assert await help_language(runner, shipped) == chosen, "stored, it holds after consent"


async def test_a_runner_who_chose_nothing_gets_the_client_language(fake, bot, shipped):
    english, indonesian = Runner(fake, 41_002, language="en"), Runner(fake, 41_003)
    await english.type("/start", expect="Before we start")
    await indonesian.type("/start", expect="Sebelum mulai")
    assert await help_language(english, shipped) == "en"
    assert await help_language(indonesian, shipped) == "id"


async def test_one_runners_choice_is_theirs_alone(fake, bot, shipped):
    chooser, other = Runner(fake, 41_004), Runner(fake, 41_005)
    await chooser.type("/start en", expect="Before we start")
    await other.type("/start", expect="Sebelum mulai")
    assert await help_language(other, shipped) == "id"
    assert await help_language(chooser, shipped) == "en"


async def test_a_decline_forgets_the_choice(fake, bot, db, shipped):
    runner = Runner(fake, 41_006)  # an Indonesian client
    await runner.type("/start en", expect="Before we start")
    await runner.tap(runner.sent[-1], button(runner.sent[-1], "I don't agree"))
    assert runner.sent[-1].text.startswith("All right, I have stored nothing"), \
        "the decline is answered in the language the runner was reading"
    assert await help_language(runner, shipped) == "id", "then the client's language again"
    assert rows_about(db, "tg:41006") == NOTHING


@pytest.mark.parametrize(("answer", "then"), [
    ("Yes, delete everything", "id"), ("Don't delete", "en")])
async def test_hapus_before_consent_forgets_the_choice_once_confirmed(
        fake, bot, db, shipped, answer, then):
    runner = Runner(fake, 41_007)  # an Indonesian client
    await runner.type("/start en", expect="Before we start")
    await runner.type("/hapus", expect="Delete all your data")
    await runner.tap(runner.sent[-1], button(runner.sent[-1], answer))
    assert await help_language(runner, shipped) == then
    assert rows_about(db, "tg:41007") == NOTHING


async def test_a_restart_forgets_the_choice_but_the_consent_button_keeps_it(
        fake, shipped, db):
    """Memory is per process: after a restart (or on another webhook worker) the runner sees
    the client's language again, but the consent message already shown still consents in
    the language it was shown in, since its button carries it."""
    runner = Runner(fake, 41_008)  # an Indonesian client
    async with running_bot(fake, shipped, db):
        await runner.type("/start en", expect="Before we start")
    consent = runner.sent[-1]
    async with running_bot(fake, shipped, db):
        assert await help_language(runner, shipped) == "id"
        assert rows_about(db, "tg:41008") == NOTHING
        await runner.tap(consent, consent.buttons[0]["callback_data"])
        await fake.wait_for(lambda: is_question(runner.sent[-1]))
        assert FIRST_QUESTION["en"] in runner.question().text
    assert rows(db, "SELECT language FROM chats") == [("en",)]


async def test_the_memory_of_choices_is_bounded(fake, shipped, db, monkeypatch):
    import bot.channels.telegram.handler as handler
    monkeypatch.setattr(handler, "REMEMBERED_CHATS", 2)
    async with running_bot(fake, shipped, db):
        runners = [Runner(fake, chat_id) for chat_id in (41_010, 41_011, 41_012)]
        for runner in runners:
            await runner.type("/start en", expect="Before we start")
        assert await help_language(runners[0], shipped) == "id", "the oldest choice went first"
        assert [await help_language(r, shipped) for r in runners[1:]] == ["en", "en"]


# --- counting sources ---------------------------------------------------------------------


async def test_a_source_is_counted_and_shown_by_kebas_stats_without_the_chat(
        fake, bot, db, capsys):
    first, second = Runner(fake, 40_104), Runner(fake, 40_105)
    await first.type("/start poster-a", expect="Sebelum mulai")
    await second.type("/start Poster-A", expect="Sebelum mulai")
    await second.type("/start flyer_b", expect="Sebelum mulai")
    await first.agree()
    assert counts(db) == [("flyer_b", 1), ("poster-a", 2)]
    assert rows_about(db, "tg:40105") == NOTHING
    everything = "\n".join(str(row) for table in ("start_counts", "counted_starts")
                           for row in rows(db, f"SELECT * FROM {table}"))
    assert "4010" not in everything and "tg:" not in everything, "no chat in these tables"
    # the command runs its own event loop, so not on this one
    assert await asyncio.to_thread(cli.main, ["stats", "--db", str(db), *CONTENT]) == 0
    output = capsys.readouterr().out
    assert re.search(r"poster-a\s*│\s*2\s*│\s*2\s*│", output), output
    assert re.search(r"flyer_b\s*│\s*1\s*│\s*1\s*│", output), output
    assert "4010" not in output


async def test_a_redelivered_start_is_counted_once(fake, bot, db):
    runner = Runner(fake, 40_106)
    update_id = await runner.type("/start poster-a", expect="Sebelum mulai")
    welcomed = len(runner.sent)
    fake.redeliver(update_id)  # the bot crashed before Telegram heard it had it
    await fake.wait_for(lambda: len(runner.sent) >= welcomed + 2)
    await fake.settled()
    assert counts(db) == [("poster-a", 1)]


async def test_a_start_replayed_from_the_inbox_after_a_restart_is_counted_once(
        fake, shipped, db):
    runner = Runner(fake, 40_107)
    async with running_bot(fake, shipped, db):
        await runner.agree()
        update_id = await runner.type("/start poster-a")  # the first question again
    assert counts(db) == [("poster-a", 1)]
    # The process died after counting it, before it was done with it: it stayed in the inbox.
    update = Update.de_json(fake.update(update_id), Bot(TOKEN))
    async with SQLiteStore(db) as store:
        await store.inbox_add(update_id, "tg:40107", replay_payload(update))
    shown_before = len(runner.sent)
    async with running_bot(fake, shipped, db):
        await fake.wait_for(lambda: len(runner.sent) > shown_before)
        await fake.settled()
    assert rows(db, "SELECT COUNT(*) FROM inbox") == [(0,)], "it was replayed"
    assert counts(db) == [("poster-a", 1)]


@pytest.mark.parametrize("payload", [
    "x" * 33, "y" * 65, "two words", "<b>hi</b>", "../../etc/passwd", "ünïcode", "a;DROP",
    "poster%2Da"])
async def test_an_odd_or_overlong_payload_is_a_plain_start(fake, bot, db, payload):
    runner = Runner(fake, 40_108)
    await runner.type(f"/start {payload}", expect="Sebelum mulai")
    welcome, consent = [m.text for m in runner.sent]
    assert welcome.startswith("Halo, saya Kebas") and consent.startswith("Sebelum mulai")
    assert counts(db) == []


async def test_a_database_that_cannot_count_still_lets_the_runner_start(fake, bot, db,
                                                                        caplog):
    store = bot.bot_data["kebas"].store

    async def failing(update_id: int, source: str) -> bool:
        raise StorageError("disk I/O error")
    store.count_start = failing
    runner = Runner(fake, 40_111)
    await runner.type("/start poster-a", expect="Sebelum mulai")
    assert [m.text[:13] for m in runner.sent] == ["Halo, saya Ke", "Sebelum mulai"]
    assert "a start from a link was not counted: " in caplog.text
    assert counts(db) == []


# --- /statistik ---------------------------------------------------------------------------


async def test_an_admin_gets_the_numbers_and_the_funnel_as_a_png_photo(fake, bot, db):
    runner = Runner(fake, 40_109)
    await runner.type("/start poster-a", expect="Sebelum mulai")
    await runner.agree()
    await runner.choose_many("none")
    admin = Runner(fake, ADMIN)
    await admin.type("/statistik", expect="Statistik pemakaian Kebas")
    await fake.settled()
    summary = "\n".join(m.text for m in admin.sent)
    assert "Dimulai: 1" in summary
    assert summary.count("start=poster-a: 1") == 2, "the last 30 days and all time"
    photos = fake.photos_sent(ADMIN)
    assert len(photos) == 1 and photos[0].startswith(PNG)
    assert str(40_109) not in summary


async def test_an_admin_with_no_sessions_yet_gets_the_text_only(fake, bot):
    admin = Runner(fake, ADMIN)
    await admin.type("/statistik", expect="Belum ada sesi")
    await fake.settled()
    assert fake.calls_of("sendPhoto") == []


async def test_statistik_from_a_runner_sends_no_photo(fake, bot):
    runner = Runner(fake, 40_110)
    await runner.agree()
    await runner.type("/statistik", expect="Perintah itu tidak saya kenal")
    await fake.settled()
    assert fake.calls_of("sendPhoto") == [] and fake.photos_sent(40_110) == []


# --- the fake's sendPhoto refuses what Telegram refuses -------------------------------------


def png(size: tuple[int, int] = (40, 20)) -> bytes:
    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", size, "#5b8def").save(buffer, format="PNG")
    return buffer.getvalue()


@contextlib.asynccontextmanager
async def client(fake):
    async with Bot(TOKEN, base_url=fake.base_url) as connected:
        yield connected


async def test_the_fake_keeps_a_photo_it_accepts(fake):
    async with client(fake) as telegram:
        sent = await telegram.send_photo(5, png(), caption="Corong")
    assert sent.caption == "Corong" and sent.photo[-1].width == 40
    assert fake.photos_sent(5) == [png()]


@pytest.mark.parametrize(("photo", "caption", "refusal"), [
    (b"this is text, not a picture", None, "IMAGE_PROCESS_FAILED"),
    (png() + bytes(10 * 1024 * 1024), None, "PHOTO_SAVE_FILE_INVALID"),
    (png(), "x" * 1025, "message caption is too long"),
    (png((9000, 1001)), None, "PHOTO_INVALID_DIMENSIONS"),
    (png((2100, 100)), None, "PHOTO_INVALID_DIMENSIONS"),
])
async def test_the_fake_refuses_a_photo_telegram_refuses(fake, photo, caption, refusal):
    async with client(fake) as telegram:
        with pytest.raises(BadRequest, match=f"(?i){refusal}"):  # PTB words it its way
            await telegram.send_photo(5, photo, caption=caption)
    assert fake.photos_sent(5) == []
