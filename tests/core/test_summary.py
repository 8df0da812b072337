"""The summary for the doctor, from a stored state alone: answers in clinical terms, "not asked"
against "not yet answered", red flags and causes with the answers behind them, the triage and
its reason, the content that made it; nothing the runner did not answer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.summary import checkin_section, clinical_summary, summary_text, with_checkin

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


def test_the_advice_and_the_red_flags_come_before_the_answers(shipped):
    """A doctor reading an emergency summary sees first what was advised and why."""
    made, text = summary(shipped, play(shipped.dialog(), {**SMOKER, "a12_alarm": ["chest"]}))
    titles = [section.title for section in made.sections]
    assert titles[:3] == ["Triase", "Tanda bahaya", "Anamnesis (jawaban pasien)"]
    assert text.index("TRIASE") < text.index("TANDA BAHAYA") < text.index("ANAMNESIS")


def test_a_flag_fired_mid_session_is_shown_with_its_answers(shipped):
    made, _text = summary(shipped, play(shipped.dialog(), FOOT_DROP, questions=5))
    assert made.incomplete
    flags = next(s for s in made.sections if s.title == "Tanda bahaya").rows
    assert any("Kelemahan: kelemahan dorsofleksi" in row.value for row in flags)
    triage = next(s for s in made.sections if s.title == "Triase").rows[0].value
    fired = [flag for flag in shipped.dialog().red_flags if flag.id in made_fired(shipped)]
    most = max((flag.level for flag in fired), key=lambda level: level.rank)
    title = shipped.locales["id"].text(f"triage.{most.value}.title")
    assert triage.startswith(f"sejauh ini minimal {title}"), \
        "a flag already fired sets a floor, even before the result"


def made_fired(shipped) -> list[str]:
    return play(shipped.dialog(), FOOT_DROP, questions=5).state["fired"]


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
    assert len(made.sections[2].rows) == len(dialog.summary)  # triage, flags, the answers


def checkin_of(shipped, answers, questions=99, language="id", zone="Asia/Jakarta"):
    """The summary of SMOKER's session with the check-in that followed it, answered so."""
    dialog = shipped.dialog()
    checkin = shipped.checkin_for(dialog)
    step = play(checkin, answers, questions)
    made, _text = summary(shipped, play(dialog, SMOKER), language=language)
    section = checkin_section(checkin, step.state, shipped.locales[language],
                              active=step.outcome is None,
                              updated_at=LATER.astimezone(ZoneInfo(zone)), lines=dialog.summary)
    return with_checkin(made, section), section


LATER = datetime(2026, 5, 15, 3, 0, tzinfo=ZoneInfo("UTC"))


def test_a_check_in_follows_the_result_with_its_answer_in_clinical_words(shipped):
    made, section = checkin_of(shipped, {"ci_how": "better"})
    assert made.sections[-1] is section and made.incomplete is None
    assert section.title == "Tanya ulang (pemantauan lanjutan), 2026-05-15 10:00 WIB"
    fields = {row.label: row.value for row in section.rows}
    assert fields == {"Keluhan sejak hasil sebelumnya": "membaik atau hilang",
                      "Triase": fields["Triase"]}, "no screening asked, none shown, no flags"
    assert fields["Triase"].startswith("PERAWATAN MANDIRI")
    assert "Membaik atau sudah hilang" not in summary_text(made), "not the runner's label"
    assert rows(made)["Usia"] == "62 tahun", "the session it followed is summarised above"


def test_the_check_in_screening_shows_its_answers_the_flags_they_fired_and_the_triage(shipped):
    made, section = checkin_of(shipped, {"ci_how": "worse", "a12_alarm": ["none"],
                                         "a3_saddle": "saddle"}, language="en")
    text = summary_text(made)
    fields = {row.label: row.value for row in section.rows}
    assert fields["Since the earlier result"] == "worse or more frequent"
    assert "no chest symptoms, stroke signs or calf swelling" in fields["Red-flag screening"]
    flag = next(row for row in section.rows if "saddle" in row.value.lower()
                and row.label not in ("Red-flag screening", "Triage"))
    assert flag.value.startswith("Red-flag screening: "), "the answer that fired it, on its line"
    assert fields["Triage"].startswith("EMERGENCY")
    assert "Weakness" not in fields, "questions the check-in did not reach are not shown"
    assert text.index("FOLLOW-UP CHECK-IN, 2026-05-15 10:00 WIB") > text.index("CAUSES SHOWN")


def test_a_check_in_in_progress_is_marked_incomplete(shipped):
    _made, section = checkin_of(shipped, {"ci_how": "danger", "a12_alarm": ["none"]},
                                questions=2)
    values = [row.value for row in section.rows]
    assert values[0].startswith("TIDAK LENGKAP")
    fields = {row.label: row.value for row in section.rows}
    assert fields["Keluhan sejak hasil sebelumnya"] == "pasien melaporkan tanda bahaya baru"
    assert fields["Triase"] == "belum ada hasil"


def test_a_check_in_not_yet_answered_says_so(shipped):
    _made, section = checkin_of(shipped, {}, questions=0)
    fields = {row.label: row.value for row in section.rows}
    assert fields["Keluhan sejak hasil sebelumnya"] == "belum dijawab"


def test_check_in_dates_in_the_configured_zone(shipped):
    _made, section = checkin_of(shipped, {"ci_how": "same"}, zone="Europe/London")
    assert section.title.endswith("2026-05-15 04:00 BST")
