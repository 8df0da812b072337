"""Issue 14: an update python-telegram-bot cannot read is skipped, never looped on.

A self-hosted Bot API server, or a Bot API change, can send an update whose shape PTB 22 cannot
parse. It used to wedge long polling for every runner (the same batch fetched again and again),
fill the log with the whole batch, names and typed health texts included, and keep SIGTERM
from stopping the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import ExtBot

from conftest import leaks, record_text
from support.fakebotapi import TOKEN, UNREADABLE_POLL, FakeBotAPI
from support.harness import Runner, running_bot
from support.people import people_words
from support.process import ready, start_kebas

CONSENT = "Sebelum mulai"


def test_the_sample_poll_really_is_unreadable_to_ptb():
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0,
                                          "chat": {"id": 1, "type": "private"}, **UNREADABLE_POLL}}
    with pytest.raises(TypeError):
        Update.de_json(update, None)


def queue_batch(fake: FakeBotAPI, order: str) -> tuple[Runner, Runner, int]:
    """Runner A's text, runner B's text and the unreadable poll, in one getUpdates answer."""
    first, second = Runner(fake, 701), Runner(fake, 702)
    fake.send_text(first.chat_id, "/start")
    if order == "poison in the middle":
        poison = fake.send(703, UNREADABLE_POLL)
        fake.send_text(second.chat_id, "/mulai")
    else:
        fake.send_text(second.chat_id, "/mulai")
        poison = fake.send(703, UNREADABLE_POLL)
    return first, second, poison


def fetched_with(fake: FakeBotAPI, update_id: int) -> list:
    """The getUpdates calls whose offset let this update be handed out."""
    return [call for call in fake.calls_of("getUpdates")
            if call.status == 200 and int(call.params.get("offset") or 0) <= update_id]


def served(runner: Runner) -> bool:
    return any(CONSENT in message.text for message in runner.sent)


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(record.name, record_text(record)) for record in caplog.records]


@pytest.mark.parametrize("order", ["poison last", "poison in the middle"])
async def test_an_unreadable_update_is_skipped_once_and_the_others_are_served(
        fake, shipped, tmp_path, caplog, order):
    first, second, poison = queue_batch(fake, order)
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3"):
        await fake.wait_for(lambda: served(first) and served(second))
        await fake.wait_for(lambda: any(int(call.params.get("offset") or 0) > poison
                                        for call in fake.calls_of("getUpdates")))
        await fake.settled()
    assert len(fetched_with(fake, poison)) == 1, "handed out once, then confirmed"
    assert not fake.sent(703), "nothing can be said to a chat whose update was unreadable"
    told = [record.getMessage() for record in caplog.records if str(poison) in
            record.getMessage() and record.levelno >= logging.WARNING]
    assert len(told) == 1, told
    assert f"update {poison} (message)" in told[0]
    assert [record.levelname for record in caplog.records
            if record.levelno >= logging.ERROR] == [], "not an error: the bot goes on"
    batch = set().union(*map(people_words, fake.updates_sent().values()))
    assert {"Pelari701", "Pelari703", UNREADABLE_POLL["poll"]["question"]} <= batch
    assert leaks(batch, logged(caplog)) == {}


async def test_ptbs_own_dump_of_a_batch_it_cannot_read_keeps_no_payload(fake, caplog):
    """Should PTB ever fail to read a batch Kebas let through, its CRITICAL line is kept,
    without the batch."""
    fake.send(705, UNREADABLE_POLL)
    async with ExtBot(TOKEN, base_url=fake.base_url) as plain:  # not Kebas's: no skipping
        with pytest.raises(TypeError):
            await plain.get_updates(timeout=0)
    dump, = [record for record in caplog.records if record.levelno == logging.CRITICAL]
    assert dump.getMessage().startswith("Error while parsing updates! Received data was")
    assert leaks(people_words(fake.update(1)), logged(caplog)) == {}


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
    assert leaks(people_words(fake.update(1)), logged(caplog)) == {}


@contextlib.asynccontextmanager
async def kebas_run(fake: FakeBotAPI, tmp_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`kebas run`, polling; killed at the end if it is still running."""
    process = await start_kebas(fake, tmp_path / "kebas.sqlite3", log=tmp_path / "bot.log")
    try:
        await ready(fake, 0)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stops_within_10_s(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_sigterm_stops_kebas_run_within_10_s_under_an_unreadable_batch(fake, tmp_path):
    first, second, poison = queue_batch(fake, "poison last")
    async with kebas_run(fake, tmp_path) as process:
        await fake.wait_for(lambda: len(fake.calls_of("getUpdates")) >= 3, timeout=30)
        await stops_within_10_s(process)
    assert served(first) and served(second)
    text = (tmp_path / "bot.log").read_text()
    assert text.count(f"update {poison} (message)") == 1
    assert "Kebas stopped" in text and "CRITICAL" not in text


async def test_sigterm_stops_kebas_run_within_10_s_while_get_updates_is_refused(fake, tmp_path):
    """A flood wait on getUpdates: PTB's retry loop slept all of it, deaf to SIGTERM."""
    fake.fail_next["getUpdates"] = [(429, "Too Many Requests: retry after 60",
                                     {"retry_after": 60})] * 50
    async with kebas_run(fake, tmp_path) as process:
        await asyncio.sleep(0.5)
        await stops_within_10_s(process)
    assert len(fake.calls_of("getUpdates")) <= 3, "the flood wait was kept, not hammered"


def test_the_log_scan_finds_a_text_as_written_quoted_or_escaped_but_not_a_short_one():
    typed = ["Kaki kiri\nkebas", "ساقي مخدرة", "Pelari9", "35,5", "62 th"]
    sources = [("a repr", repr({"text": typed[0]})), ("JSON", '{"text": "\\u0633\\u0627\\u0642'
                                                             '\\u064a \\u0645\\u062e\\u062f'
                                                             '\\u0631\\u0629"}'),
               ("a line", "chat Pelari9 at 10:51:35,512, 62 th")]
    assert leaks(typed, sources) == {typed[0]: "a repr", typed[1]: "JSON", "Pelari9": "a line"}
