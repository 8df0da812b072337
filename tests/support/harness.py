"""Driving the real bot over HTTP: the Application `kebas run` builds, against the fake server.

`Runner` acts like a person in a private chat: taps buttons (found by option id), types, and
waits on what the bot really does (its answer to the button press, its next question).
"""

from __future__ import annotations

import contextlib
import html
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from telegram import Update

from bot.channels.telegram.app import build_bot
from bot.content.loader import Bundle
from bot.core.i18n import Locale
from bot.settings import Settings

from support.botapirecords import StoredMessage
from support.fakebotapi import TOKEN, FakeBotAPI


def settings_for(fake: FakeBotAPI, db: Path, **more: Any) -> Settings:
    return Settings(telegram_bot_token=TOKEN, telegram_api_base_url=fake.base_url,
                    kebas_db=db, _env_file=None, **more)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def running_bot(fake: FakeBotAPI, bundle: Bundle, db: Path, **settings: Any
                      ) -> AsyncIterator[Any]:
    """The same Application as `kebas run`, with its lifecycle driven by hand (PTB docs).

    Short polling (timeout 0) lets each test stop at once; the process tests long-poll.
    """
    app = build_bot(settings_for(fake, db, **settings), bundle)
    await app.initialize()
    await app.post_init(app)
    await app.updater.start_polling(timeout=0, poll_interval=0.02,
                                    allowed_updates=Update.ALL_TYPES)
    await app.start()
    fake.idle = lambda: (app.update_queue.empty()
                         and app.update_processor.current_concurrent_updates == 0)
    try:
        yield app
    finally:
        fake.idle = None
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)


@contextlib.contextmanager
def wrapped_save(app: Any, wrapper: Any) -> Iterator[None]:
    """Replace the running bot's `store.save` with `wrapper(original)` for a while."""
    store = app.bot_data["kebas"].store
    original = store.save
    store.save = wrapper(original)
    try:
        yield
    finally:
        store.save = original


def finished_updates(app: Any) -> set[int]:
    """Ids of the updates the running bot has finished with, filled in as it does (its last
    step: clearing the inbox, for an update it kept there)."""
    kebas = app.bot_data["kebas"]
    done: set[int] = set()
    original_done, original_release = kebas.store.inbox_done, kebas.updates.release

    async def inbox_done(update_id: int) -> None:
        await original_done(update_id)
        done.add(update_id)

    def release(update_id: int) -> bool:
        kept = original_release(update_id)
        if not kept:
            done.add(update_id)
        return kept

    kebas.store.inbox_done, kebas.updates.release = inbox_done, release
    return done


def is_question(message: StoredMessage) -> bool:
    return any(button.get("callback_data", "")[:2] in ("c:", "t:", "d:")
               for button in message.buttons)


def node_of(message: StoredMessage) -> str | None:
    """The node id of the question a message asks (from its buttons' data), if it asks one."""
    return message.buttons[0]["callback_data"].split(":")[3] if is_question(message) else None


def shown(locale: Locale, key: str, **params: Any) -> str:
    """A text as the bot sends it (HTML-escaped)."""
    return html.escape(locale.text(key, **params), quote=False)


class Runner:
    """One runner in a private chat with the bot."""

    def __init__(self, fake: FakeBotAPI, chat_id: int, language: str = "id") -> None:
        self.fake = fake
        self.chat_id = chat_id
        self.language = language

    # --- looking ----------------------------------------------------------------------

    @property
    def sent(self) -> list[StoredMessage]:
        return self.fake.sent(self.chat_id)

    def texts_after(self, message_id: int) -> list[str]:
        return [m.text for m in self.sent if m.message_id > message_id]

    def last_id(self) -> int:
        return max((m.message_id for m in self.fake.messages.get(self.chat_id, {}).values()),
                   default=0)

    def question(self) -> StoredMessage:
        questions = [m for m in self.sent if is_question(m)]
        assert questions, "no question with buttons was sent"
        return questions[-1]

    def node(self) -> str:
        """The node id of the current question (from its buttons' data)."""
        return node_of(self.question()) or ""

    # --- doing ------------------------------------------------------------------------

    async def tap(self, message: StoredMessage, data: str) -> int:
        """Press a button; wait until the bot has answered it and finished its reply."""
        update_id = self.fake.press(self.chat_id, message.message_id, data, self.language)
        await self.fake.wait_for(lambda: self.fake.press_answered(update_id))
        await self.fake.settled()
        return update_id

    def data_for(self, option_id: str, message: StoredMessage | None = None) -> str:
        message = message or self.question()
        for button in message.buttons:
            data = button.get("callback_data", "")
            if data.split(":")[-1] == option_id and data[:2] in ("c:", "t:"):
                return data
        raise AssertionError(f"no option {option_id!r} in {[b['text'] for b in message.buttons]}")

    async def choose(self, option_id: str) -> int:
        return await self.tap(self.question(), self.data_for(option_id))

    async def choose_many(self, *option_ids: str) -> int:
        question = self.question()
        for option_id in option_ids:
            await self.tap(question, self.data_for(option_id, question))
        done = next(b["callback_data"] for b in question.buttons
                    if b["callback_data"].startswith("d:"))
        return await self.tap(question, done)

    async def type(self, text: str, expect: str | None = None) -> int:
        """Send text; wait for a message containing `expect`, or for a new question."""
        before = self.last_id()
        update_id = self.fake.send_text(self.chat_id, text, language=self.language)
        if expect is not None:
            await self.fake.wait_for(lambda: any(expect in t for t in self.texts_after(before)))
        else:
            await self.fake.wait_for(lambda: any(is_question(m) for m in self.sent
                                                 if m.message_id > before))
        await self.fake.settled()
        return update_id

    async def agree(self) -> None:
        """/start, then 'Saya setuju': the first question arrives."""
        await self.type("/start", expect="Sebelum mulai" if self.language == "id"
                        else "Before we start")
        consent = self.sent[-1]
        await self.tap(consent, "k:agree")
        await self.fake.wait_for(lambda: any(is_question(m) for m in self.sent))

    async def answer(self, answer: str | tuple[str, ...]) -> None:
        """Answer the current question: an option id, several (a tuple), or a typed number."""
        if isinstance(answer, tuple):
            await self.choose_many(*answer)
        elif answer.isdigit():
            await self.type(answer, expect=None)
        else:
            await self.choose(answer)


# Every screening question answered "no"; then an older smoker whose calf cramps at the same
# distance and settles within minutes of standing still (peripheral artery disease).
SCREENING_CLEAR: list[str | tuple[str, ...]] = [("none",), "no", ("none",), ("none",), "gone"]
PAD_STORY = SCREENING_CLEAR + ["weeks_months", "same_point", "within_5_min",
                               "cramp_calf", "no", ("calf",), "left", "none", "62",
                               ("smoker_now",), ("none",)]


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return connection.execute(sql, params).fetchall()


def rows_about(db: Path, chat_key: str) -> dict[str, int]:
    """How many rows in each table concern this chat."""
    counts = {}
    with contextlib.closing(sqlite3.connect(db)) as connection:
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = [c[1] for c in connection.execute(f"PRAGMA table_info({table})")]
            if "chat_key" in columns:
                counts[table] = connection.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE chat_key = ?", (chat_key,)).fetchone()[0]
            elif "session_id" in columns:
                counts[table] = connection.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE session_id IN (SELECT id FROM "
                    f"sessions WHERE chat_key = ?)", (chat_key,)).fetchone()[0]
    return counts
