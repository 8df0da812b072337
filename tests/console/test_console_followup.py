"""`kebas chat` offers to ask again after a "soon" or "self care" result (/ingatkan, /remind),
and a check-in that is due opens at the next start, at any hour (no quiet hours here)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from bot.channels.console import ConsoleChat
from bot.conversation import Conversations
from bot.storage import SQLiteStore

NOW = datetime(2026, 5, 12, 15, 0, tzinfo=UTC)  # 22:00 WIB
SCREENING_CLEAR = ["7", "4", "7", "6", "1"]
PAD_STORY = SCREENING_CLEAR + ["3", "2", "1", "2", "4", "12", "1", "1", "62", "4", "4"]


async def chat(shipped, db, lines, moment, language="id", user="ani") -> str:
    reader = io.StringIO("".join(f"{line}\n" for line in lines))
    writer = io.StringIO()
    dialog = shipped.dialog()
    async with SQLiteStore(db) as store:
        conversations = Conversations(dialog, store, shipped.locales,
                                      checkin=shipped.checkin_for(dialog))
        conversations.clock = lambda: moment
        talk = ConsoleChat(conversations, shipped.locales[language], f"cli:{user}", reader,
                           writer)
        assert await talk.run() == 0
    return writer.getvalue()


async def test_asked_for_after_a_result_it_opens_at_the_first_start_after_it_is_due(
        shipped, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    output = await chat(shipped, db, [*PAD_STORY, "/ingatkan"], NOW)
    assert "Ketik /ingatkan agar saya bertanya lagi dalam 3 hari." in output
    assert "Saya akan bertanya lagi pada 2026-05-15 22:00 WIB" in output, \
        "the console has no quiet hours"
    after = output[output.index("Saya akan bertanya lagi pada"):]
    assert "/ingatkan agar" not in after and "Ketik /mulai" not in after, \
        "/ingatkan is a command, not an answer: the result is not shown again"
    early = await chat(shipped, db, [], NOW + timedelta(days=3, seconds=-1))
    assert "bagaimana kebas di tungkai bawah Anda sekarang?" not in early
    due = await chat(shipped, db, ["3", "7", "4"], NOW + timedelta(days=3))
    assert "bagaimana kebas di tungkai bawah Anda sekarang?" in due
    assert "hasil Anda sebelumnya: PERIKSA DALAM BEBERAPA HARI" in due
    again = await chat(shipped, db, [], NOW + timedelta(days=4))
    assert "bagaimana kebas di tungkai bawah Anda sekarang?" not in again, \
        "opened once: the check-in goes on where it stands"


async def test_remind_in_english_and_nothing_to_remind_before_a_result(shipped, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    output = await chat(shipped, db, ["/remind"], NOW, language="en")
    assert "No reminder was set" in output
    output = await chat(shipped, db, [*PAD_STORY, "/remind", "/remind"], NOW, language="en")
    assert "Type /remind and I will ask you again in 3 days." in output
    assert "I will ask you again on 2026-05-15 22:00 WIB" in output
    assert output.count("No reminder was set") == 1, "a second /remind sets none"


async def test_no_offer_after_an_emergency(shipped, tmp_path):
    output = await chat(shipped, tmp_path / "kebas.sqlite3", ["1", "/ingatkan"], NOW)
    assert "/ingatkan agar" not in output
    assert "Pengingat tidak dibuat" in output
    assert "jangan menunggu pengingat" in output, "an emergency is not told to wait"
