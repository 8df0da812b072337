"""`kebas chat`'s /ringkasan after a check-in: the session it followed up, then the check-in."""

from __future__ import annotations

from datetime import timedelta

from test_console_followup import NOW, PAD_STORY, chat


async def test_ringkasan_after_a_check_in_prints_the_followed_session_and_the_check_in(
        shipped, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    await chat(shipped, db, [*PAD_STORY, "/ingatkan"], NOW)
    going = await chat(shipped, db, ["/ringkasan"], NOW + timedelta(days=3))
    summary = going[going.index("RINGKASAN UNTUK DOKTER"):]
    assert "Usia: 62 tahun" in summary, "the session it followed up"
    checkin = summary[summary.index("TANYA ULANG (PEMANTAUAN LANJUTAN), "):]
    assert "TIDAK LENGKAP" in checkin and "Keluhan sejak hasil sebelumnya: belum dijawab" in checkin
    done = await chat(shipped, db, ["1", "/ringkasan"], NOW + timedelta(days=3))
    checkin = done[done.index("TANYA ULANG (PEMANTAUAN LANJUTAN), "):]
    assert "Keluhan sejak hasil sebelumnya: membaik atau hilang" in checkin
    assert "TIDAK LENGKAP" not in checkin and "Triase: PERAWATAN MANDIRI" in checkin
