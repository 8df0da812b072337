"""A database that already holds many finished sessions, as a bot that has run for months has.

One session is walked for real through `Conversations` (the shipped dialog, a chaos runner's
answers), then copied with SQL under new chat keys, with its answers, its consent and its
processed update ids. The copies are as recent as the original, so the retention purge at
start keeps them all.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from load import FIRST_PAST_CHAT, PAST_CHAT, ROOT  # (load also puts tests/ on sys.path)

from bot.content.loader import load_bundle
from bot.conversation import Conversations
from bot.core import inputs
from bot.core.model import NumberQuestion
from bot.storage import SQLiteStore

from support.chaos import planned_answers  # noqa: E402

# Past runners' update ids, far from the benchmark's own.
FIRST_PAST_UPDATE = 10**12


async def _one_finished_session(db: Path) -> None:
    bundle = load_bundle([ROOT / "dialogs", ROOT / "locales"])
    dialog = bundle.dialog()
    async with SQLiteStore(db) as store:
        await store.update_chat(PAST_CHAT, consent_version=1, consent_at=store.now(),
                                language="id")
        conversations = Conversations(dialog, store, bundle.locales)
        await conversations.begin(PAST_CHAT)
        for node_id, value in planned_answers(dialog, 0, 1):
            node = dialog.node(node_id)
            given: inputs.Input = (inputs.ChooseMany(tuple(value)) if isinstance(value, list)
                                   else inputs.Typed(str(value))
                                   if isinstance(node, NumberQuestion) else inputs.Choose(value))
            await conversations.handle(PAST_CHAT, given)


async def make_past_sessions(db: Path, count: int) -> Path:
    """Write `count` finished sessions into a new database at `db`."""
    await _one_finished_session(db)
    copies = count - 1
    with contextlib.closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA synchronous = OFF")
        numbers = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                   "WHERE i < ?) ")
        with connection:
            connection.execute(
                numbers + "INSERT INTO sessions (chat_key, dialog_id, dialog_version, node, "
                "state, status, triage, outcome, started_at, updated_at, finished_at) "
                "SELECT 'tg:' || (? + n.i), dialog_id, dialog_version, node, state, status, "
                "triage, outcome, started_at, updated_at, finished_at FROM n, sessions "
                "WHERE sessions.chat_key = ?", (copies, FIRST_PAST_CHAT, PAST_CHAT))
            connection.execute(
                "INSERT INTO answers (session_id, seq, action, node, value, at) "
                "SELECT copy.id, answer.seq, answer.action, answer.node, answer.value, "
                "answer.at FROM sessions AS copy, answers AS answer "
                "JOIN sessions AS original ON answer.session_id = original.id "
                "WHERE original.chat_key = ? AND copy.chat_key != ?", (PAST_CHAT, PAST_CHAT))
            connection.execute(
                "INSERT INTO processed_updates (update_id, chat_key, at) "
                "SELECT ? + copy.id * 100 + answer.seq, copy.chat_key, answer.at "
                "FROM sessions AS copy, answers AS answer "
                "JOIN sessions AS original ON answer.session_id = original.id "
                "WHERE original.chat_key = ? AND copy.chat_key != ?",
                (FIRST_PAST_UPDATE, PAST_CHAT, PAST_CHAT))
            connection.execute(
                "INSERT INTO chats (chat_key, language, consent_version, consent_at, "
                "updated_at) SELECT copy.chat_key, chat.language, chat.consent_version, "
                "chat.consent_at, chat.updated_at FROM sessions AS copy, chats AS chat "
                "WHERE chat.chat_key = ? AND copy.chat_key != ?", (PAST_CHAT, PAST_CHAT))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def count_sessions(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
