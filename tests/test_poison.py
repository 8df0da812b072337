"""Issue 14: what runners send never reaches a log, whatever the Bot API answers."""

from __future__ import annotations

from conftest import leaks, record_text
from fakebotapi import people_words
from telegram_support import Runner, running_bot

CONSENT = "Sebelum mulai"


def served(runner: Runner) -> bool:
    return any(CONSENT in message.text for message in runner.sent)


async def test_a_get_updates_answer_cut_short_is_not_logged_and_polling_goes_on(
        fake, shipped, tmp_path, caplog):
    """PTB logs a reply it cannot parse as JSON whole, at ERROR: here, runners' messages."""
    runner = Runner(fake, 704)
    fake.send_text(runner.chat_id, "/start")
    fake.cut_next.add("getUpdates")
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3"):
        await fake.wait_for(lambda: served(runner))
    assert [call.status for call in fake.calls_of("getUpdates")][:2] == [200, 200]
    assert any("Can not load invalid JSON data" in record.getMessage()
               for record in caplog.records)
    logged = [(record.name, record_text(record)) for record in caplog.records]
    assert leaks(people_words(fake.update(1)), logged) == {}


def test_the_log_scan_finds_a_text_as_written_quoted_or_escaped_but_not_a_short_one():
    typed = ["Kaki kiri\nkebas", "ساقي مخدرة", "Pelari9", "35,5", "62 th"]
    sources = [("a repr", repr({"text": typed[0]})), ("JSON", '{"text": "\\u0633\\u0627\\u0642'
                                                             '\\u064a \\u0645\\u062e\\u062f'
                                                             '\\u0631\\u0629"}'),
               ("a line", "chat Pelari9 at 10:51:35,512, 62 th")]
    assert leaks(typed, sources) == {typed[0]: "a repr", typed[1]: "JSON", "Pelari9": "a line"}
