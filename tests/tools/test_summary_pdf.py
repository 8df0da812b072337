"""The summary for the doctor as a PDF: one A4 page even in the worst case, in Indonesian and
English, its text (read back with pypdf) holding every field, every answer and every result."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pypdf
import pytest

from bot.core.summary import ELLIPSIS, checkin_section, clinical_summary, with_checkin
from bot.tools.summary_pdf import font_files, summary_pdf

from support.summaries import FOOT_DROP, play, worst_state

WHEN = datetime(2026, 5, 12, 14, 5, tzinfo=ZoneInfo("Asia/Jakarta"))
A4 = (595, 842)  # points, as PDF writes its size, rounded


def pdf_text(data: bytes) -> tuple[int, str, tuple[int, int]]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    return (len(reader.pages), " ".join(reader.pages[0].extract_text().split()),
            (round(box.width), round(box.height)))


def flat(text: str) -> str:
    return " ".join(text.split())


# a check-in after it: worse, every screening answer a red flag's, so every flag fires
WORST_CHECKIN = {"ci_how": "worse", "a12_alarm": ["calf_only", "calves_both"],
                 "a3_saddle": "both", "a45_leg": ["pale_after_run", "unsure_colour"],
                 "a7_weakness": ["lift_front_of_foot", "tiptoe"], "a8_now": "worsening"}


@pytest.mark.parametrize("checkin", [False, True])
@pytest.mark.parametrize("language", ["id", "en"])
def test_the_worst_case_is_one_a4_page_with_every_field_and_answer(shipped, language,
                                                                   checkin):
    dialog, locale = shipped.dialog(), shipped.locales[language]
    made = clinical_summary(dialog, worst_state(dialog, locale), locale, active=False,
                            updated_at=WHEN, serving_hash=dialog.content_hash)
    if checkin:
        follow_up = shipped.checkin_for(dialog)
        made = with_checkin(made, checkin_section(
            follow_up, play(follow_up, WORST_CHECKIN).state, locale, active=False,
            updated_at=WHEN, lines=dialog.summary))
    pages, text, size = pdf_text(summary_pdf(made))
    assert pages == 1 and size == A4
    assert flat(made.heading) in text and flat(made.date) in text
    _triage, flags, history, causes = made.sections[:4]
    if checkin:
        assert flat(made.sections[4].title) in text
        assert flat(locale.text("summary.course.worse")) in text, "the check-in's answer"
    for row in history.rows:  # the answers themselves are never cut
        assert f"{flat(row.label)} {flat(row.value)}" in text
    assert flat(locale.text("summary.not_asked")) in text, "sex is not asked"
    for row in flags.rows + causes.rows:  # each red flag and cause is named, whole
        assert flat(row.label) in text
    assert ELLIPSIS in text, "the evidence is what gives way"
    for line in made.footer:
        assert flat(line) in text


def test_a_common_summary_keeps_all_its_evidence_and_prints_every_character(shipped):
    dialog, locale = shipped.dialog(), shipped.locales["id"]
    step = play(dialog, {**FOOT_DROP, "b3_relief": "within_30_min"})
    made = clinical_summary(dialog, step.state, locale, active=False, updated_at=WHEN,
                            serving_hash=dialog.content_hash)
    pages, text, _size = pdf_text(summary_pdf(made))
    assert pages == 1
    assert [flat(row.label or "") for row in made.sections[1].rows], "a red flag fired"
    for section in made.sections:
        assert flat(section.title) in text
        for row in section.rows:
            assert flat(row.value) in text and flat(row.label or "") in text
    assert "5–30 menit" in text and ELLIPSIS not in text


def test_the_fonts_are_matplotlibs_dejavu_and_we_ship_none():
    files = font_files()
    assert {path.name for path in files.values()} == {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf"}
    assert all(path.is_file() and "matplotlib" in str(path) for path in files.values())


def test_a_running_bot_does_not_load_matplotlib_to_find_the_pdf_fonts():
    """Found while rerunning the floor benchmark: importing matplotlib (and numpy) only to
    find where its DejaVu fonts lie, and fpdf2 before any PDF was asked for, made every bot
    process about 40 MB larger."""
    import subprocess
    import sys

    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, bot.channels.telegram.app; "
         "print(sorted({'matplotlib', 'numpy', 'fpdf'} & set(sys.modules))); "
         "import bot.tools.summary_pdf as pdf; "
         "assert all(path.is_file() for path in pdf.font_files().values()); "
         "print('matplotlib' in sys.modules)"], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["[]", "False"]
