"""`kebas chat` driven through a pipe, as a maintainer or a script would use it."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from bot.channels.console import ConsoleChat
from bot.conversation import Conversations
from bot.storage import SQLiteStore

from conftest import expected_line

ROOT = Path(__file__).resolve().parents[2]

# Every screening question answered "no", then an older smoker whose calf cramps at the same
# distance and settles within minutes of standing still: peripheral artery disease.
SCREENING_CLEAR = ["7", "4", "7", "6", "1"]
PAD_STORY = SCREENING_CLEAR + ["3", "2", "1", "2", "4", "12", "1", "1", "62", "4", "4"]
# New shoes, numb top of the foot, gone within minutes of loosening the laces.
LACES_STORY = SCREENING_CLEAR + ["2", "1", "5", "1", "4", "1", "1", "2", "1", "30", "16", "4"]


async def chat(shipped, tmp_path, lines, language="id", user="ani") -> str:
    reader = io.StringIO("".join(f"{line}\n" for line in lines))
    writer = io.StringIO()
    async with SQLiteStore(tmp_path / "kebas.sqlite3") as store:
        talk = ConsoleChat(Conversations(shipped.dialog(), store), shipped.locales[language],
                           f"cli:{user}", reader, writer)
        assert await talk.run() == 0
    return writer.getvalue()


async def test_emergency_advice_comes_right_after_the_red_flag_answer(shipped, tmp_path):
    output = await chat(shipped, tmp_path, ["1"])
    answered = output.index("Jawaban Anda: Keluhan dada")
    advice = output.index("Segera telepon 112 atau 119", answered)
    result = output.index("SEBERAPA SEGERA ANDA PERLU BERTINDAK: DARURAT", answered)
    assert answered < advice < result
    assert "TANDA BAHAYA: DARURAT" in output[answered:advice]
    assert "Apakah ada mati rasa" not in output[answered:], "no more questions after it"


async def test_a_full_path_without_red_flags_ends_with_causes_triage_and_disclaimer(
        shipped, tmp_path):
    output = await chat(shipped, tmp_path, PAD_STORY)
    assert "TANDA BAHAYA" not in output
    result = output[output.index("SEBERAPA SEGERA ANDA PERLU BERTINDAK"):]
    assert "PERIKSA DALAM BEBERAPA HARI" in result.splitlines()[0]
    causes = result[result.index("KEMUNGKINAN PENYEBAB"):result.index("KAPAN HARUS SEGERA")]
    assert "1. PENYEMPITAN PEMBULUH DARAH TUNGKAI" in causes
    assert "2. " not in causes and "PAES" not in causes, \
        "brief 6.1: a cause clearly ahead of the rest is shown alone"
    assert "YANG BISA ANDA LAKUKAN: PENYEMPITAN PEMBULUH DARAH TUNGKAI" in causes
    assert "\nPeriksakan ke dokter paling lambat dalam beberapa hari" in causes
    assert "bukan dokter" in result and "112" in result
    assert "Tanya-jawab sudah selesai" in result


async def test_a_shoe_story_ends_in_self_care_with_come_back_advice(shipped, tmp_path):
    output = await chat(shipped, tmp_path, LACES_STORY)
    result = output[output.index("SEBERAPA SEGERA ANDA PERLU BERTINDAK"):]
    assert "PERAWATAN MANDIRI" in result.splitlines()[0]
    assert "1. TEKANAN DARI SEPATU, TALI SEPATU, ATAU KAUS KAKI" in result
    assert "Kembali ke bot ini atau periksakan ke dokter jika" in result, "come back if..."
    assert "KAPAN HARUS SEGERA MENCARI PERTOLONGAN" in result


async def test_after_the_result_a_stray_answer_does_not_repeat_the_whole_result(
        shipped, tmp_path):
    output = await chat(shipped, tmp_path, ["1", "2"])
    after = output[output.rindex("> 2"):]
    assert "Tanya-jawab ini sudah selesai. Ketik /ulang" in after
    assert "SEBERAPA SEGERA ANDA PERLU BERTINDAK: DARURAT" in after, "the summary again"
    assert "bukan dokter" not in after, "not the whole result"


async def test_answers_can_be_option_words_and_several_numbers(shipped, tmp_path):
    output = await chat(shipped, tmp_path, ["tidak ada", "TIDAK ADA", "5, 6"])
    assert output.count("Jawaban Anda: Tidak ada") == 2
    assert "Jawaban Anda: Pucat sebentar, lalu pulih, Sudah membandingkan, tidak yakin" in output


async def test_bad_answers_are_explained_and_the_question_is_asked_again(shipped, tmp_path):
    output = await chat(shipped, tmp_path, SCREENING_CLEAR + ["9", "lari"])
    after = output[output.index("Jawaban Anda: Ya, sudah hilang"):]
    assert after.count("Sejak kapan keluhan kebas ini ada?") == 3, "asked, then twice again"
    assert "Jawaban itu tidak ada di pilihan." in after
    assert "Jawaban yang Anda ketik tidak cocok dengan pilihan mana pun." in after
    assert "Jawaban Anda" not in after[len("Jawaban Anda: Ya, sudah hilang"):]


async def test_back_and_restart_commands(shipped, tmp_path):
    output = await chat(shipped, tmp_path, ["7", "/kembali", "7", "4", "/ulang"])
    assert "Baik, kita kembali ke pertanyaan sebelumnya." in output
    assert "Baik, kita mulai lagi dari awal." in output
    assert output.count("Halo, saya Kebas.") == 2


async def test_english_works_too(shipped, tmp_path):
    output = await chat(shipped, tmp_path, ["1"], language="en")
    assert "Call 112 or 119" in output and "EMERGENCY" in output


def run_chat(tmp_path: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--db", str(tmp_path / "chat.sqlite3"), *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_the_real_command_resumes_the_same_user_and_exits_cleanly_at_end_of_input(tmp_path):
    first = run_chat(tmp_path, "7\n4\n", "--user", "budi")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    second = run_chat(tmp_path, "", "--user", "budi")
    assert second.returncode == 0
    assert "Kita lanjutkan dari pertanyaan terakhir" in second.stdout
    assert "Compared with the other leg" not in second.stdout
    assert "Lepas sepatu dan kaus kaki" in second.stdout.split("Kita lanjutkan")[1]
    other = run_chat(tmp_path, "", "--user", "citra")
    assert "Kita lanjutkan" not in other.stdout, "another user starts fresh"


def test_the_real_command_quits_on_keluar(tmp_path):
    result = run_chat(tmp_path, "/keluar\n3\n")
    assert result.returncode == 0
    assert "Jawaban Anda" not in result.stdout, "nothing is read after /keluar"


def test_chat_refuses_a_broken_dialog_with_the_problems(tmp_path):
    broken = ROOT / "tests" / "broken" / "unknown_key" / "dialogs"
    result = run_chat(tmp_path, "1\n", str(broken), str(ROOT / "docs" / "example" / "locales"))
    assert result.returncode == 1
    line = expected_line("unknown_key")
    assert f"contoh.yaml:{line}:" in result.stderr and "unknown key 'sett'" in result.stderr
    assert "Traceback" not in result.stderr


async def test_mengapa_explains_the_advice_with_the_answers_behind_it(shipped, tmp_path):
    output = await chat(shipped, tmp_path, PAD_STORY + ["/mengapa"])
    why = output[output.index("MENGAPA SARAN INI?"):]
    assert "TINGKAT SARAN: PERIKSA DALAM BEBERAPA HARI, KARENA:" in why
    assert "PENYEMPITAN PEMBULUH DARAH TUNGKAI (PENYAKIT ARTERI PERIFER) (" in why
    assert "– Berapa usia Anda? → 62" in why
    assert "→ Masih merokok/vape" in why
