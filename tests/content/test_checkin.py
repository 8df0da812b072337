"""The follow-up check-in dialog (issue 18): proven like the main one, found by the loader
whatever its file is called, and held to the main dialog's screening by `kebas check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.checks import check_and_prove, check_bundle
from bot.content.loader import Bundle, load_bundle
from bot.content.scenarios import coverage, load_scenarios, run_scenario
from bot.core.model import TriageLevel
from bot.core.problems import Problem
from bot.core.proofs import prove

ROOT = Path(__file__).resolve().parents[2]
DIALOGS, LOCALES = ROOT / "dialogs", ROOT / "locales"
MAIN, CHECKIN = DIALOGS / "kaki_kebas.yaml", DIALOGS / "kaki_kebas_checkin.yaml"
SCENARIOS, _ = load_scenarios([DIALOGS / "scenarios"])


def bundle_with(tmp_path: Path, files: dict[str, str]) -> Bundle:
    """The shipped locales and these dialog files (name -> YAML text) in a scratch folder."""
    folder = tmp_path / "dialogs"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return load_bundle([folder, LOCALES])


def test_the_shipped_check_in_passes_every_check_and_proof(shipped):
    problems, reports = check_and_prove(shipped)
    assert problems == [], "\n".join(map(str, problems))
    proven = {loaded.dialog.id: report for loaded, report in reports}
    assert proven["kaki_kebas_checkin"].holds
    assert proven["kaki_kebas_checkin"].screening_declared


def test_the_main_dialog_offers_the_check_in_and_the_check_in_names_it(shipped):
    main = shipped.dialog()
    assert main.id == "kaki_kebas"
    assert main.followup is not None
    assert main.followup.days == {"soon": 3, "self_care": 3}
    checkin = shipped.checkin_for(main)
    assert checkin is not None and checkin.id == "kaki_kebas_checkin"
    assert checkin.follows == "kaki_kebas"
    assert shipped.checkin_for(checkin) is None, "a check-in offers no check-in of its own"


@pytest.mark.parametrize("names", [("b_main.yaml", "a_checkin.yaml"),
                                   ("a_main.yaml", "b_checkin.yaml")])
def test_dialog_is_the_main_dialog_whatever_the_files_are_called(tmp_path, names):
    main_name, checkin_name = names
    bundle = bundle_with(tmp_path, {main_name: MAIN.read_text(encoding="utf-8"),
                                    checkin_name: CHECKIN.read_text(encoding="utf-8")})
    assert bundle.dialog().id == "kaki_kebas"
    assert bundle.dialog("kaki_kebas_checkin").follows == "kaki_kebas"


def test_a_dialog_without_followup_has_no_check_in(tmp_path):
    text = MAIN.read_text(encoding="utf-8")
    start = text.index("followup:")
    end = text.index("\n\n", start)
    bundle = bundle_with(tmp_path, {"main.yaml": text[:start] + text[end + 2:]})
    assert bundle.dialog().followup is None
    assert bundle.checkin_for(bundle.dialog()) is None


def test_a_follow_up_for_an_urgent_result_is_refused_at_its_line(tmp_path):
    text = MAIN.read_text(encoding="utf-8").replace(
        "days: {soon: 3, self_care: 3}", "days: {soon: 3, urgent: 1}")
    line = text[:text.index("urgent: 1")].count("\n") + 1
    bundle = bundle_with(tmp_path, {"kaki_kebas.yaml": text})
    errors = [p for p in bundle.problems if p.is_error]
    assert len(errors) == 1, "\n".join(map(str, errors))
    assert errors[0].position.line == line
    assert "'urgent' is not allowed" in errors[0].message
    assert "'soon' or 'self_care'" in errors[0].hint


@pytest.mark.parametrize("days", ["0", "31"])
def test_follow_up_days_stay_between_1_and_30(tmp_path, days):
    text = MAIN.read_text(encoding="utf-8").replace("soon: 3,", f"soon: {days},")
    bundle = bundle_with(tmp_path, {"kaki_kebas.yaml": text})
    assert [p.is_error for p in bundle.problems] == [True]


def test_the_check_in_endings_keep_the_levels_the_design_gives(shipped):
    checkin = shipped.dialog("kaki_kebas_checkin")
    levels = {node.id: node.level for node in checkin.nodes if node.type == "outcome"}
    assert levels == {"ci_better": TriageLevel.SELF_CARE, "ci_same": TriageLevel.SOON,
                      "ci_worse": TriageLevel.SOON, "ci_danger": TriageLevel.URGENT,
                      "ci_emergency": TriageLevel.EMERGENCY}


# --- kebas check keeps the copies equal (bot/content/followup_checks.py) ------------------


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, needle
    return text[:text.index(needle)].count("\n") + 1


def checked(tmp_path: Path, main: str | None = None, checkin: str | None = None
            ) -> list[Problem]:
    """`kebas check`'s errors for the shipped content with one or both dialogs edited."""
    bundle = bundle_with(tmp_path, {
        "kaki_kebas.yaml": MAIN.read_text(encoding="utf-8") if main is None else main,
        "kaki_kebas_checkin.yaml": CHECKIN.read_text(encoding="utf-8") if checkin is None
        else checkin})
    return [problem for problem in check_bundle(bundle) if problem.is_error]


def one_error_at(tmp_path: Path, text: str, needle: str) -> Problem:
    """The only error `kebas check` finds with this check-in; it must be at `needle`'s line."""
    errors = checked(tmp_path, checkin=text)
    assert len(errors) == 1, "\n".join(map(str, errors))
    assert errors[0].position.file.endswith("kaki_kebas_checkin.yaml")
    assert errors[0].position.line == line_of(text, needle)
    return errors[0]


def edited_checkin(old: str, new: str) -> str:
    text = CHECKIN.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_a_drifted_option_in_a_copied_question_is_reported_at_its_line(tmp_path):
    text = edited_checkin("      - {id: calf_only, text: opt.a12_alarm.calf_only}",
                          "      - {id: calf_only, text: opt.a12_alarm.calf_swollen_unsure}")
    error = one_error_at(tmp_path, text,
                         "{id: calf_only, text: opt.a12_alarm.calf_swollen_unsure}")
    assert "node 'a12_alarm' is a copy from 'kaki_kebas' but differs in 'options[4].text'" \
        in error.message
    original = MAIN.read_text(encoding="utf-8")
    assert f"kaki_kebas.yaml:{line_of(original, '{id: calf_only,')}" in error.message
    assert "make it equal to the original again" in error.hint


def test_a_copied_question_may_lead_elsewhere(tmp_path):
    text = edited_checkin("    next: ci_worse\n", "    next: ci_danger\n")
    assert checked(tmp_path, checkin=text) == []


def test_a_missing_screening_question_is_reported_at_the_follows_line(tmp_path):
    node = ("  - id: a7_weakness\n    type: multi\n    text: q.a7_weakness\n    options:\n"
            "      - {id: lift_front_of_foot, text: opt.a7_weakness.lift_front_of_foot}\n"
            "      - {id: tiptoe, text: opt.a7_weakness.tiptoe}\n"
            "      - {id: knee_gives_way, text: opt.a7_weakness.knee_gives_way}\n"
            "      - {id: both_legs_heavy_or_weak, "
            "text: opt.a7_weakness.both_legs_heavy_or_weak}\n"
            "      - {id: other_weakness, text: opt.a7_weakness.other_weakness}\n"
            "      - {id: none, text: opt.a7_weakness.none, exclusive: true}\n"
            "    next: a8_now\n\n")
    text = edited_checkin(node, "").replace("    next: a7_weakness\n", "    next: a8_now\n")
    # the flags that read a7_weakness go with it
    for flag in ("rf_foot_drop", "rf_leg_weakness", "ci_weakness_both_legs"):
        start = text.index(f"  - id: {flag}\n")
        text = text[:start] + text[text.index("\n\n", start) + 2:]
    error = one_error_at(tmp_path, text, "follows: kaki_kebas")
    assert error.message == ("the check-in does not ask 'a7_weakness', a screening question "
                             "of 'kaki_kebas'")
    original = MAIN.read_text(encoding="utf-8")
    assert (f"copy node 'a7_weakness' from {tmp_path}/dialogs/kaki_kebas.yaml:"
            f"{line_of(original, '- id: a7_weakness')}:") in error.hint


def test_an_edited_copy_of_a_red_flag_is_reported_at_its_line(tmp_path):
    text = edited_checkin("    when: {a12_alarm: [calf_only, calf_swollen_unsure]}",
                          "    when: {a12_alarm: calf_only}")
    error = one_error_at(tmp_path, text, "when: {a12_alarm: calf_only}")
    assert "red flag 'rf_dvt' is a copy from 'kaki_kebas' but differs in 'when.a12_alarm': " \
           "'calf_only' here, ['calf_only', 'calf_swollen_unsure'] at" in error.message


def test_a_copied_red_flag_may_stop_at_the_check_ins_own_ending(shipped):
    checkin, main = shipped.dialog("kaki_kebas_checkin"), shipped.dialog("kaki_kebas")
    copy = next(flag for flag in checkin.red_flags if flag.id == "rf_pe")
    original = next(flag for flag in main.red_flags if flag.id == "rf_pe")
    assert (copy.stop_at, original.stop_at) == ("ci_emergency", "end_emergency")


def test_a_red_flag_the_check_in_could_fire_must_be_copied(tmp_path):
    flag = ("  - id: rf_calves_swollen\n    when: {a12_alarm: calves_both}\n    level: urgent\n"
            "    title: rf.calves_swollen.title\n    advice: rf.calves_swollen.advice\n\n")
    text = edited_checkin(flag, "")
    error = one_error_at(tmp_path, text, "red_flags:")
    assert "red flag 'rf_calves_swollen' of 'kaki_kebas' reads only answers this check-in " \
           "asks, but is not copied here" in error.message


def test_the_two_dialogs_must_name_each_other(tmp_path):
    main = MAIN.read_text(encoding="utf-8")
    fewer_days = main.replace("  dialog: kaki_kebas_checkin\n  days: {soon: 3, self_care: 3}",
                                 "  dialog: kaki_kebas_checkin\n  days: {soon: 3}")
    assert checked(tmp_path / "a", main=fewer_days) == [], "a level may be left out"
    offer_elsewhere = main.replace("dialog: kaki_kebas_checkin", "dialog: kaki_kebas")
    errors = checked(tmp_path / "b", main=offer_elsewhere)
    assert [(p.position.file.rsplit("/", 1)[-1], p.position.line) for p in errors] == [
        ("kaki_kebas.yaml", line_of(main, "dialog: kaki_kebas_checkin")),
        ("kaki_kebas_checkin.yaml", line_of(CHECKIN.read_text(encoding="utf-8"),
                                            "follows: kaki_kebas"))]
    assert "'kaki_kebas' does not offer this check-in" in errors[1].message


def test_a_check_in_cannot_offer_a_check_in(tmp_path):
    text = edited_checkin("follows: kaki_kebas\n", "follows: kaki_kebas\nfollowup:\n"
                          "  dialog: kaki_kebas_checkin\n  days: {soon: 3}\n")
    errors = checked(tmp_path, checkin=text)
    assert any(p.position.line == line_of(text, "followup:\n  dialog: kaki_kebas_checkin\n")
               and p.message == "a check-in cannot offer a check-in of its own" for p in errors)


def test_a_check_in_of_an_unknown_dialog_is_reported(tmp_path):
    text = edited_checkin("follows: kaki_kebas\n", "follows: kaki_kebs\n")
    errors = checked(tmp_path, checkin=text)
    assert (line_of(text, "follows: kaki_kebs"), "'kaki_kebs' is not a dialog") in [
        (p.position.line, p.message) for p in errors]


def test_the_check_in_scenarios_cover_every_red_flag_option_and_transition(shipped):
    """dialogs/scenarios/checkin.yaml: better, the same, worse with a saddle sign, danger..."""
    checkin = shipped.dialog("kaki_kebas_checkin")
    ours = [loaded for loaded in SCENARIOS if loaded.scenario.dialog == checkin.id]
    results = [run_scenario(checkin, shipped.locales[loaded.scenario.language], loaded)
               for loaded in ours]
    assert [r.report() for r in results if not r.passed] == []
    cover = coverage(checkin, results, prove(checkin).transitions)
    assert cover.red_flags == cover.covered_red_flags
    assert cover.options == cover.covered_options
    assert cover.transitions <= cover.covered_transitions
