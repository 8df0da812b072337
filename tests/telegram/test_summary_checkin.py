"""The summary for the doctor after a check-in, end to end against the fake Bot API: /ringkasan
and the button under the check-in's result summarise the session it followed up, then the
check-in (its date, the runner's answer in a clinician's words, what its screening found and
the triage it gave), marked incomplete while it goes on; the PDF says the same. Dates are in
KEBAS_TIMEZONE."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from test_followup_checkins import MORNING, Clock, asked_again, poll
from test_summary_command import HEADING, fields, pdf_text, summary_asked, visible

from support.harness import PAD_STORY, Runner, running_bot

CHECKIN = "Tanya ulang (pemantauan lanjutan), "


@pytest.fixture
def clock():
    return Clock(MORNING)


@pytest.fixture
async def bot(fake, shipped, tmp_path, clock):
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3") as app:
        app.bot_data["kebas"].conversations.clock = clock
        yield app


async def checked_in(fake, app, clock, chat_id: int) -> Runner:
    """A result (PAD_STORY), the check-in asked for under it, and sent three days later."""
    runner = Runner(fake, chat_id)
    await asked_again(runner)
    clock.moment += timedelta(days=3)
    await poll(app, fake)
    return runner


async def test_after_a_check_in_the_summary_is_of_the_session_it_followed_and_the_check_in(
        fake, bot, clock):
    runner = await checked_in(fake, bot, clock, 18_101)
    await runner.choose("worse")
    message, document = await summary_asked(runner, "/ringkasan")
    text = visible(message.text)
    assert fields(message.text)["Usia"] == "62 tahun", "the session it followed up"
    assert "PERIKSA DALAM BEBERAPA HARI; alasan:" in text, "and that session's result"
    checkin = text[text.index(CHECKIN):]
    assert re.match(rf"{re.escape(CHECKIN)}\d{{4}}-\d\d-\d\d \d\d:\d\d WIB\n", checkin)
    assert "TIDAK LENGKAP" in checkin and "TIDAK LENGKAP" not in text[:text.index(CHECKIN)]
    assert "Keluhan sejak hasil sebelumnya: memberat atau lebih sering" in checkin
    assert "Triase: belum ada hasil" in checkin
    assert "TIDAK LENGKAP" in pdf_text(document.data)[1]

    await runner.choose_many("none")
    await runner.choose("saddle")
    await fake.wait_for(lambda: "Ketik /mulai" in runner.sent[-1].text)
    closing = runner.sent[-1]
    documents = len(fake.documents[runner.chat_id])
    await runner.tap(closing, closing.button(HEADING)["callback_data"])
    await fake.wait_for(lambda: len(fake.documents[runner.chat_id]) > documents)
    await fake.settled()
    message = next(m for m in reversed(runner.sent) if m.text.startswith(f"<b>{HEADING}</b>"))
    text = visible(message.text)
    checkin = text[text.index(CHECKIN):]
    assert "TIDAK LENGKAP" not in checkin
    assert "Skrining tanda bahaya: tidak ada keluhan dada" in checkin, "the screening's answers"
    flag = next(line for line in checkin.splitlines() if "sadel" in line.lower()
                and not line.startswith(("Skrining", "Triase")))
    assert ": Skrining tanda bahaya: " in flag, "a red flag fired, with the answer behind it"
    assert "Triase: DARURAT; alasan: " in checkin
    assert "Lebih parah atau lebih sering" not in text, "the clinician's words, not the runner's"
    printed = pdf_text(fake.documents[runner.chat_id][-1].data)[1]
    for line in filter(None, checkin.splitlines()):  # a table in the PDF: label, then value
        for part in line.split(": ", 1):
            assert " ".join(part.split()) in printed, line


async def test_dates_are_in_the_configured_time_zone(fake, shipped, tmp_path):
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3",
                           kebas_timezone="Europe/London") as app:
        assert str(app.bot_data["kebas"].conversations.zone) == "Europe/London"
        runner = Runner(fake, 18_102)
        await runner.agree()
        for answer in PAD_STORY:
            await runner.answer(answer)
        message, document = await summary_asked(runner, "/ringkasan")
        date = fields(message.text)["Tanggal"]
        assert date.endswith((" GMT", " BST")), date
        assert date in pdf_text(document.data)[1]
