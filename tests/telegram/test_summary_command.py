"""The summary for the doctor on Telegram, end to end against the fake Bot API: /ringkasan and
/summary, the button under every result, a session in progress marked incomplete, English for
an English runner, and nothing at all after /hapus (an old button says so)."""

from __future__ import annotations

import html
import io
import logging
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pypdf
import pytest
from telegram import Bot
from telegram.error import TelegramError

from bot.channels.telegram.messages import units
from bot.channels.telegram.summaries import summary_html
from bot.core.summary import clinical_summary

from support.botapimedia import UPLOAD_BYTES
from support.fakebotapi import TOKEN
from support.harness import PAD_STORY, SCREENING_CLEAR, Runner, running_bot
from support.summaries import worst_state

HEADING = "Ringkasan untuk dokter"
NOTHING = "Belum ada tanya-jawab yang bisa diringkas"
WHEN = datetime(2026, 5, 12, 14, 5, tzinfo=ZoneInfo("Asia/Jakarta"))


@pytest.fixture
async def bot(fake, shipped, tmp_path):
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3") as app:
        yield app


def visible(message_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", message_html))


def flat(text: str) -> str:
    return " ".join(text.split())


async def summary_asked(runner: Runner, command: str, heading: str = HEADING):
    """Send the command; the summary message and the PDF document that follows it."""
    before = len(runner.fake.documents.get(runner.chat_id, []))
    await runner.type(command, expect=heading)
    await runner.fake.wait_for(
        lambda: len(runner.fake.documents.get(runner.chat_id, [])) > before)
    await runner.fake.settled()
    message = next(m for m in reversed(runner.sent) if m.text.startswith(f"<b>{heading}</b>"))
    return message, runner.fake.documents[runner.chat_id][-1]


async def finished(fake, chat_id: int, language: str = "id") -> tuple[Runner, object]:
    """A runner who went through the questions to a result; and the message under it."""
    runner = Runner(fake, chat_id, language=language)
    await runner.agree()
    for answer in PAD_STORY:
        await runner.answer(answer)
    return runner, runner.sent[-1]


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), flat(reader.pages[0].extract_text())


def fields(message_html: str) -> dict[str, str]:
    """The message's "Label: value" lines."""
    return dict(line.split(": ", 1) for line in visible(message_html).splitlines()
                if ": " in line)


async def test_ringkasan_after_a_result_sends_a_message_to_forward_and_the_same_as_a_pdf(
        fake, bot, caplog):
    runner, _closing = await finished(fake, 18_001)
    message, document = await summary_asked(runner, "/ringkasan")
    shown = fields(message.text)
    assert shown["Usia"] == "62 tahun"
    assert shown["Jenis kelamin"] == "tidak ditanyakan"
    assert shown["Lokasi"] == "betis (regio cruris posterior)" and shown["Sisi"] == "kiri"
    assert shown["Riwayat"].startswith("perokok aktif (termasuk vape)")
    text = visible(message.text)
    assert "PERIKSA DALAM BEBERAPA HARI; alasan: kemungkinan penyebab: Penyempitan" in text
    assert "TIDAK LENGKAP" not in text
    assert "Dialog kaki_kebas versi" in text and "belum ditinjau dokter (draf)" in text
    assert len(text) < 4096 and message.parse_mode == "HTML"
    assert not message.buttons, "a summary to forward carries no buttons"

    assert re.fullmatch(r"ringkasan-kebas-\d{4}-\d{2}-\d{2}\.pdf", document.file_name)
    assert document.caption.startswith("Ringkasan yang sama sebagai PDF satu halaman")
    pages, printed = pdf_text(document.data)
    assert pages == 1
    for label, value in shown.items():  # the PDF says what the message says
        assert flat(label) in printed and flat(value) in printed, label
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING
                and r.name.startswith("kebas")], "the logs stay clean"


async def test_the_button_under_a_result_sends_the_summary_of_that_session(fake, bot):
    runner, closing = await finished(fake, 18_002)
    # after a self-care result, the offer to ask again comes last
    assert [b["text"] for b in closing.buttons] == ["Mengapa saran ini?", HEADING,
                                                    "Tanya saya lagi dalam 3 hari?"]
    await runner.tap(closing, closing.button(HEADING)["callback_data"])
    await fake.wait_for(lambda: fake.documents.get(runner.chat_id))
    await fake.settled()
    summary = next(m for m in runner.sent if m.text.startswith(f"<b>{HEADING}</b>"))
    assert fields(summary.text)["Usia"] == "62 tahun"
    assert pdf_text(fake.documents[runner.chat_id][0].data)[0] == 1

    await runner.type("/mulai")  # a new session: the old result's button is out of date
    documents = len(fake.documents[runner.chat_id])
    press = await runner.tap(closing, closing.button(HEADING)["callback_data"])
    assert "Tombol itu milik pertanyaan sebelumnya" in runner.sent[-1].text
    assert fake.press_answered(press) and len(fake.documents[runner.chat_id]) == documents


async def test_a_session_in_progress_is_summarised_marked_incomplete_and_goes_on(fake, bot):
    runner = Runner(fake, 18_003)
    await runner.agree()
    for answer in SCREENING_CLEAR + ["weeks_months"]:
        await runner.answer(answer)
    question = runner.question()
    message, document = await summary_asked(runner, "/ringkasan")
    text = visible(message.text)
    assert "TIDAK LENGKAP: tanya-jawab belum selesai" in text
    shown = fields(message.text)
    assert shown["Awitan"] == "sejak beberapa minggu sampai bulan"
    assert shown["Usia"] == "belum dijawab" and shown["Jenis kelamin"] == "tidak ditanyakan"
    assert "belum ada hasil" in text
    assert "TIDAK LENGKAP" in pdf_text(document.data)[1]
    await runner.choose("same_point")  # the question asked before is still the one to answer
    assert runner.question().message_id != question.message_id


async def test_summary_in_english_for_an_english_runner(fake, bot):
    runner, _closing = await finished(fake, 18_004, language="en")
    message, document = await summary_asked(runner, "/summary", heading="Summary for your doctor")
    shown = fields(message.text)
    assert shown["Age"] == "62 years" and shown["Sex"] == "not asked"
    assert shown["Location"] == "calf" and shown["Side"] == "left"
    assert "SEE A DOCTOR WITHIN A FEW DAYS; reason: likely cause:" in visible(message.text)
    assert document.caption.startswith("The same summary as a one-page PDF")
    assert "Red-flag screening" in pdf_text(document.data)[1]


async def test_after_hapus_there_is_nothing_and_an_old_button_says_so(fake, bot):
    runner, closing = await finished(fake, 18_005)
    await summary_asked(runner, "/ringkasan")
    await runner.type("/hapus", expect="Hapus semua data Anda")
    await runner.tap(runner.sent[-1], runner.sent[-1].buttons[0]["callback_data"])
    assert "Semua data Anda sudah dihapus" in runner.sent[-1].text
    documents = len(fake.documents[runner.chat_id])
    summaries = sum(m.text.startswith(f"<b>{HEADING}</b>") for m in runner.sent)

    await runner.type("/ringkasan", expect=NOTHING)
    press = await runner.tap(closing, closing.button(HEADING)["callback_data"])
    assert NOTHING in runner.sent[-1].text
    toast = next(c for c in fake.calls_of("answerCallbackQuery")
                 if c.params["callback_query_id"] == fake.callback_id(press))
    assert NOTHING in toast.params["text"]
    await fake.settled()
    assert len(fake.documents[runner.chat_id]) == documents, "no PDF is made of nothing"
    assert sum(m.text.startswith(f"<b>{HEADING}</b>") for m in runner.sent) == summaries


# --- the fake's sendDocument takes and refuses what Telegram does --------------------------


async def test_the_fake_keeps_a_document_with_its_name_and_caption(fake):
    async with Bot(TOKEN, base_url=fake.base_url) as telegram:
        sent = await telegram.send_document(5, b"%PDF-1.4 tiny", filename="a.pdf",
                                            caption="Ringkasan")
    assert sent.document.file_name == "a.pdf" and sent.caption == "Ringkasan"
    kept, = fake.documents[5]
    assert (kept.file_name, kept.mime_type, kept.data) == ("a.pdf", "application/pdf",
                                                           b"%PDF-1.4 tiny")


@pytest.mark.parametrize(("data", "caption", "refusal"), [
    (b"", None, "file must be non-empty"),
    (b"%PDF-1.4", "x" * 1025, "message caption is too long"),
    (bytes(UPLOAD_BYTES + 1), None, "Request Entity Too Large|file is too big"),
])
async def test_the_fake_refuses_a_document_telegram_refuses(fake, data, caption, refusal):
    async with Bot(TOKEN, base_url=fake.base_url) as telegram:
        with pytest.raises(TelegramError, match=f"(?i){refusal}"):
            await telegram.send_document(5, data, filename="a.pdf", caption=caption)
    assert fake.documents.get(5, []) == []


# --- the message: one to forward, within Telegram's limit -----------------------------------


def test_a_long_summary_is_cut_to_one_message_and_the_longest_still_fits_telegram(shipped):
    dialog, locale = shipped.dialog(), shipped.locales["id"]
    state = worst_state(dialog, locale)
    assert state["outcome"] is not None
    made = clinical_summary(dialog, state, locale, active=False, updated_at=WHEN,
                            serving_hash=dialog.content_hash)
    longest = summary_html(made)
    assert all(units(visible(part)) <= 4096 for part in longest)
    assert all(flat(row.value) in flat(visible("\n".join(longest)))
               for row in made.sections[2].rows), "the answers are never cut"
    state["outcome"]["red_flags"] = state["outcome"]["red_flags"][:3]
    state["outcome"]["level_from"] = state["outcome"]["level_from"][:3]
    fewer = clinical_summary(dialog, state, locale, active=False, updated_at=WHEN,
                             serving_hash=dialog.content_hash)
    one, = summary_html(fewer)
    assert units(visible(one)) <= 4096 and "…" in visible(one), "evidence gives way first"
