"""The summary for the doctor, from a stored state alone: answers in clinical terms, "not asked"
against "not yet answered", red flags and causes with the answers behind them, the triage and
its reason, the content that made it; nothing the runner did not answer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.summary import clinical_summary, summary_text

from support.summaries import FOOT_DROP, SMOKER, play

WHEN = datetime(2026, 5, 12, 7, 5, tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Asia/Jakarta"))
def summary(shipped, step, language="id", serving_hash=None, **kwargs):
    dialog = shipped.dialog()
    made = clinical_summary(dialog, step.state, shipped.locales[language],
                            active=step.outcome is None, updated_at=WHEN,
                            serving_hash=serving_hash or dialog.content_hash, **kwargs)
    return made, summary_text(made)


def rows(made):
    return {row.label: row.value for section in made.sections for row in section.rows}


def test_a_finished_session_reads_as_a_clinician_writes_it(shipped):
    made, text = summary(shipped, play(shipped.dialog(), SMOKER))
    fields = rows(made)
    assert made.heading == "Ringkasan untuk dokter" and made.incomplete is None
    assert made.date == "Tanggal: 2026-05-12 14:05 WIB"
    assert fields["Usia"] == "62 tahun"
    assert fields["Jenis kelamin"] == "tidak ditanyakan", "sex is not asked in this dialog"
    assert fields["Lokasi"] == "dorsum pedis, betis (regio cruris posterior)"
    assert fields["Sisi"] == "kiri"
    assert fields["Riwayat"] == ("diabetes melitus, perokok aktif (termasuk vape); tidak ada "
                                 "ulkus, jari menghitam, atau nyeri istirahat")
    assert "Punggung kaki" not in text and "Merokok" not in text, "no runner's labels"
    assert fields["Pencetus"] == "tidak ada perubahan atau kejadian baru", \
        "the follow-up questions of a skipped branch add nothing"
    triage = next(s for s in made.sections if s.title == "Triase").rows[0].value
    assert triage.startswith("PERIKSA DALAM BEBERAPA HARI; alasan: kemungkinan penyebab: "
                             "Penyempitan pembuluh darah tungkai")
    cause = next(s for s in made.sections if s.title.startswith("Kemungkinan")).rows[0]
    assert cause.label.startswith("Penyempitan pembuluh darah tungkai") and "poin" in cause.label
    assert "Usia: 62 tahun" in cause.value
    assert "Faktor yang memperingan: membaik dalam 5 menit" in cause.value
    dialog = shipped.dialog()
    assert made.footer[0] == (f"Dialog kaki_kebas versi {dialog.version}, isi "
                              f"{dialog.content_hash}. Tinjauan medis: belum ditinjau dokter "
                              "(draf).")


def test_in_english_for_an_english_session(shipped):
    made, text = summary(shipped, play(shipped.dialog(), SMOKER), language="en")
    fields = rows(made)
    assert fields["Sex"] == "not asked"
    assert fields["Location"] == "dorsum of the foot, calf"
    assert "SEE A DOCTOR WITHIN A FEW DAYS; reason: likely cause:" in text
    assert "tidak" not in text.lower()


def test_a_session_in_progress_is_incomplete_and_says_what_may_still_come(shipped):
    made, _text = summary(shipped, play(shipped.dialog(), SMOKER, questions=6))
    fields = rows(made)
    assert made.incomplete == "TIDAK LENGKAP: tanya-jawab belum selesai"
    assert fields["Awitan"] == "sejak beberapa minggu sampai bulan"
    assert fields["Usia"] == "belum dijawab" and fields["Lokasi"] == "belum dijawab"
    assert fields["Jenis kelamin"] == "tidak ditanyakan"
    values = {s.title: [r.value for r in s.rows] for s in made.sections}
    assert values["Triase"] == ["belum ada hasil"]
    assert values["Kemungkinan penyebab yang ditampilkan"] == ["belum ada hasil"]
    assert values["Tanda bahaya"] == ["tidak ada"]


def test_an_emergency_stop_shows_the_flag_with_the_answer_that_fired_it(shipped):
    made, _text = summary(shipped, play(shipped.dialog(), {**SMOKER, "a12_alarm": ["chest"]}))
    flags = next(s for s in made.sections if s.title == "Tanda bahaya").rows
    assert [row.label for row in flags] == ["Keluhan dada atau hampir pingsan saat berlari"]
    assert flags[0].value == ("Skrining tanda bahaya: nyeri atau rasa berat di dada, sesak "
                              "napas, atau hampir pingsan saat berlari")
    fields = rows(made)
    assert fields["Usia"] == "tidak ditanyakan", "never asked after the emergency stop"
    assert made.incomplete is None
    assert next(s for s in made.sections if s.title == "Triase").rows[0].value.startswith(
        "DARURAT; alasan: tanda bahaya: Keluhan dada")


def test_a_flag_fired_mid_session_is_shown_with_its_answers(shipped):
    made, _text = summary(shipped, play(shipped.dialog(), FOOT_DROP, questions=5))
    assert made.incomplete
    flags = next(s for s in made.sections if s.title == "Tanda bahaya").rows
    assert any("Kelemahan: kelemahan dorsofleksi" in row.value for row in flags)


def test_nothing_is_read_from_facts_only_from_answers(shipped):
    step = play(shipped.dialog(), SMOKER)
    step.state["facts"]["d2_sides"] = "both"
    step.state["facts"]["sex"] = "female"
    made, text = summary(shipped, step)
    assert rows(made)["Sisi"] == "kiri" and "bilateral" not in text
    assert rows(made)["Jenis kelamin"] == "tidak ditanyakan"


def test_another_version_does_not_claim_the_review_of_the_content_served_now(shipped):
    made, _text = summary(shipped, play(shipped.dialog(), SMOKER), serving_hash="0" * 16)
    assert "bukan isi yang sedang dipakai" in made.footer[0]
    assert "belum ditinjau dokter" not in made.footer[0]


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_version_without_summary_lines_uses_the_lines_given(shipped, language):
    dialog = shipped.dialog()
    older = dialog.model_copy(update={"summary": []})
    step = play(older, SMOKER)
    made = clinical_summary(older, step.state, shipped.locales[language], active=False,
                            updated_at=WHEN, serving_hash=dialog.content_hash,
                            lines=dialog.summary)
    assert len(made.sections[0].rows) == len(dialog.summary)
