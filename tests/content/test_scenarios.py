"""Maintainers' scenarios: every shipped one passes under pytest, and the runner reports
failures a clinician can act on (with the transcript) and honest coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.scenarios import coverage, load_scenarios, run_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED, LOAD_PROBLEMS = load_scenarios([ROOT / "dialogs" / "scenarios"])


def test_the_shipped_scenario_files_load_cleanly():
    assert LOAD_PROBLEMS == []
    assert len(SHIPPED) >= 25, "issue 4: at least 25 scenarios"


@pytest.mark.parametrize("loaded", SHIPPED, ids=lambda loaded: loaded.scenario.name)
def test_scenario(shipped, loaded):
    locale = shipped.locales[loaded.scenario.language]
    result = run_scenario(shipped.dialog(loaded.scenario.dialog), locale, loaded)
    assert result.passed, result.report()


def test_every_cause_and_red_flag_is_exercised_by_some_scenario(shipped):
    dialog = shipped.dialog()
    results = [run_scenario(dialog, shipped.locales["id"], loaded) for loaded in SHIPPED]
    cover = coverage(dialog, results)
    assert cover.causes - cover.covered_causes == set()
    assert cover.red_flags - cover.covered_red_flags == set()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenarios.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_one(shipped, tmp_path, text):
    scenarios, problems = load_scenarios([write(tmp_path, text)])
    assert problems == []
    return run_scenario(shipped.dialog(), shipped.locales["id"], scenarios[0])


def test_a_failing_expectation_is_reported_with_the_transcript(shipped, tmp_path):
    result = run_one(shipped, tmp_path, """
- name: wrong expectations
  answers: {a12_alarm: [chest]}
  expect:
    triage: soon
    red_flags: []
    causes: {pad: 1}
    texts: ["tidak ada di sini"]
""")
    assert result.failures == [
        "triage is 'emergency', expected 'soon'",
        "cause 'pad' is not in the top 1 (shown: none)",
        "red flags fired: rf_chest_pain; expected none",
        "the text 'tidak ada di sini' does not appear",
    ]
    report = result.report()
    assert "scenarios.yaml:2:" in report and "scenario 'wrong expectations' failed" in report
    assert "A (a12_alarm): Keluhan dada / hampir pingsan" in report
    assert "Segera telepon 112 atau 119" in report


def test_an_answer_the_path_never_asks_for_is_a_failure(shipped, tmp_path):
    result = run_one(shipped, tmp_path, """
- name: chest pain, and an answer the emergency never reaches
  answers: {a12_alarm: [chest], a3_saddle: "no"}
""")
    assert result.failures == ["the answer for 'a3_saddle' was never asked for"]


def test_missing_refused_and_unused_answers_are_failures(shipped, tmp_path):
    missing = run_one(shipped, tmp_path, """
- name: stops early
  answers: {a12_alarm: [none], zz_unknown: "x"}
""")
    assert missing.failures == [
        "the dialog asks 'a3_saddle', but the scenario has no answer for it",
        "the answer for 'zz_unknown' was never asked for (there is no such question)"]
    refused = run_one(shipped, tmp_path, """
- name: not an option
  answers: {a12_alarm: [none], a3_saddle: "maybe"}
""")
    assert refused.failures[0].startswith(
        "the dialog refused the answer 'maybe' to 'a3_saddle': Jawaban itu tidak ada")


def test_a_malformed_scenario_is_reported_at_its_line(tmp_path):
    path = write(tmp_path, """
- name: fine
  answers: {a12_alarm: [chest]}
- name: typo
  answer: {a12_alarm: [chest]}
""")
    scenarios, problems = load_scenarios([path])
    assert [s.scenario.name for s in scenarios] == ["fine"]
    assert sorted((p.position.line, p.message) for p in problems) == [
        (4, "missing key 'answers'"), (5, "unknown key 'answer'")]


def test_coverage_counts_transitions_options_causes_and_flags(shipped, tmp_path):
    result = run_one(shipped, tmp_path, """
- name: chest pain
  answers: {a12_alarm: [chest]}
""")
    cover = coverage(shipped.dialog(), [result])
    assert cover.covered_transitions == {("intro", "a12_alarm"), ("a12_alarm", "end_emergency")}
    assert cover.covered_options == {("a12_alarm", "chest")}
    assert cover.covered_red_flags == {"rf_chest_pain"}
    lines = cover.lines()
    assert lines[0].startswith("transitions: 2/") and "not covered:" in lines[1]


def test_coverage_counts_only_transitions_a_path_can_take(shipped):
    from bot.core.proofs import prove
    dialog = shipped.dialog()
    results = [run_scenario(dialog, shipped.locales["id"], loaded) for loaded in SHIPPED]
    cover = coverage(dialog, results, prove(dialog).transitions)
    assert cover.transitions <= cover.covered_transitions, "every possible transition is tested"
    # An emergency flag reading these answers also needs answers asked only later.
    assert cover.impossible == {("a7_weakness", "end_emergency"), ("b1_onset", "end_emergency"),
                                ("b3_relief", "end_emergency"), ("d2_sides", "end_emergency"),
                                ("e2_history", "end_emergency")}
