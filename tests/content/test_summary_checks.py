"""`kebas check` on the summary for the doctor: each line names real questions, once; every
question is on a line; each answer has its clinical term in every language, reported at the
summary line that prints it."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.content.checks import check_bundle
from bot.content.loader import load_bundle, parse_dialog
from bot.content.summary_checks import check_summary
from bot.core.problems import Severity

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "docs/example/dialogs/contoh.yaml").read_text(encoding="utf-8")


def problems_of(summary: str) -> list[tuple[int, Severity, str, str]]:
    text = EXAMPLE.rstrip("\n") + "\n" + summary
    loaded, problems = parse_dialog(text, "contoh.yaml")
    assert loaded is not None, problems
    found = check_summary(loaded)
    return [(p.position.line, p.severity, p.message, p.hint) for p in found]


def line_of(summary: str, needle: str) -> int:
    text = EXAMPLE.rstrip("\n") + "\n" + summary
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_line_naming_no_question_is_an_error_at_its_line_with_a_suggestion():
    summary = ("summary:\n"
               "  - {id: age, label: summary.field.age, questions: [age]}\n"
               "  - id: where\n"
               "    label: summary.field.where\n"
               "    questions: [chest_pain, wher]\n"
               "  - {id: ending, label: summary.field.ending, questions: [result]}\n")
    found = problems_of(summary)
    errors = [(line, message, hint) for line, severity, message, hint in found
              if severity is Severity.ERROR]
    assert (line_of(summary, "wher]"), "summary line 'where' names 'wher', which is not a "
            "question", "did you mean 'where'?") in errors
    assert any(line == line_of(summary, "questions: [result]") and "'result'" in message
               for line, message, _hint in errors), "an outcome is not a question"


def test_a_duplicate_line_id_is_an_error_and_a_question_on_two_lines_a_warning():
    summary = ("summary:\n"
               "  - {id: age, label: summary.field.age, questions: [age, chest_pain]}\n"
               "  - {id: age, label: summary.field.where, questions: [where, age]}\n")
    found = problems_of(summary)
    second = line_of(summary, "summary.field.where")
    assert (second, Severity.ERROR) in [(line, severity) for line, severity, message, _ in found
                                        if "duplicate summary line id 'age'" in message]
    assert any(line == second and severity is Severity.WARNING
               and "question 'age' is on two summary lines" in message
               for line, severity, message, _ in found)


def test_a_question_on_no_line_is_a_warning_at_the_question():
    found = problems_of("summary:\n  - {id: age, label: summary.field.age, questions: [age]}\n")
    warned = {message.split("'")[1]: line for line, severity, message, _ in found
              if severity is Severity.WARNING and "on no summary line" in message}
    assert warned == {"chest_pain": line_of("", "- id: chest_pain"),
                      "where": line_of("", "- id: where")}


def test_a_dialog_without_a_summary_is_not_asked_for_one():
    assert problems_of("") == []


def test_the_shipped_summary_is_clean():
    bundle = load_bundle([ROOT / "dialogs", ROOT / "locales"])
    assert [p for p in check_bundle(bundle) if "summary" in p.message] == []
    assert bundle.dialog().summary, "kaki_kebas has a summary for the doctor"


def test_a_missing_clinical_term_is_reported_at_the_summary_line_that_prints_it(tmp_path):
    shutil.copytree(ROOT / "dialogs", tmp_path / "dialogs")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    english = tmp_path / "locales/en.yaml"
    text = english.read_text(encoding="utf-8")
    assert '    top_of_foot: "dorsum of the foot"\n' in text
    english.write_text(text.replace('    top_of_foot: "dorsum of the foot"\n', ""),
                       encoding="utf-8")
    problems = check_bundle(load_bundle([tmp_path / "dialogs", tmp_path / "locales"]))
    missing = [p for p in problems if "clin.d1_where.top_of_foot" in p.message]
    assert len(missing) == 1 and missing[0].is_error
    dialog_lines = (tmp_path / "dialogs/kaki_kebas.yaml").read_text().splitlines()
    assert "questions: [d1_where]" in dialog_lines[missing[0].position.line - 1]
