"""`kebas chat` prints the summary for the doctor (/ringkasan, /summary): the same text Telegram
sends, in the chat's language, marked incomplete mid-session."""

from __future__ import annotations

import io

from bot.channels.console import ConsoleChat
from bot.conversation import Conversations
from bot.storage import SQLiteStore

# Every screening question answered "no", then an older smoker whose calf cramps at the same
# distance and settles within minutes of standing still (as tests/console/test_console.py).
SCREENING_CLEAR = ["7", "4", "7", "6", "1"]
PAD_STORY = SCREENING_CLEAR + ["3", "2", "1", "2", "4", "12", "1", "1", "62", "4", "4"]


async def chat(shipped, tmp_path, lines, language="id") -> str:
    reader = io.StringIO("".join(f"{line}\n" for line in lines))
    writer = io.StringIO()
    async with SQLiteStore(tmp_path / "kebas.sqlite3") as store:
        talk = ConsoleChat(Conversations(shipped.dialog(), store), shipped.locales[language],
                           "cli:ani", reader, writer)
        assert await talk.run() == 0
    return writer.getvalue()


async def test_ringkasan_after_a_result_prints_the_summary_for_the_doctor(shipped, tmp_path):
    output = await chat(shipped, tmp_path, [*PAD_STORY, "/ringkasan"])
    summary = output[output.index("/ringkasan"):]
    assert "RINGKASAN UNTUK DOKTER" in summary
    assert "Usia: 62 tahun" in summary and "Jenis kelamin: tidak ditanyakan" in summary
    assert "Lokasi: betis (regio cruris posterior)" in summary
    assert "PERIKSA DALAM BEBERAPA HARI; alasan: kemungkinan penyebab: Penyempitan" in summary
    assert "TIDAK LENGKAP" not in summary and "Dialog kaki_kebas versi" in summary


async def test_summary_mid_session_in_english_is_incomplete_and_the_questions_go_on(
        shipped, tmp_path):
    output = await chat(shipped, tmp_path, [*SCREENING_CLEAR, "/summary", "3"], language="en")
    summary = output[output.index("/summary"):]
    assert "SUMMARY FOR YOUR DOCTOR" in summary
    assert "INCOMPLETE: the questions are not finished" in summary
    assert "Age: not yet answered" in summary and "Sex: not asked" in summary
    assert "Your answer: For some weeks or months" in summary, "the next answer is taken"


async def test_before_any_answer_every_field_is_still_to_come(shipped, tmp_path):
    output = await chat(shipped, tmp_path, ["/ringkasan"])
    summary = output[output.index("/ringkasan"):]
    assert "TIDAK LENGKAP: tanya-jawab belum selesai" in summary
    assert "Usia: belum dijawab" in summary and "Skrining tanda bahaya: belum dijawab" in summary
    assert "TANDA BAHAYA\ntidak ada" in summary and "TRIASE\nbelum ada hasil" in summary
