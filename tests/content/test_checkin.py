"""The follow-up check-in dialog (issue 18): proven like the main one, found by the loader
whatever its file is called, and held to the main dialog's screening by `kebas check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.checks import check_and_prove
from bot.content.loader import Bundle, load_bundle
from bot.core.model import TriageLevel

ROOT = Path(__file__).resolve().parents[2]
DIALOGS, LOCALES = ROOT / "dialogs", ROOT / "locales"
MAIN, CHECKIN = DIALOGS / "kaki_kebas.yaml", DIALOGS / "kaki_kebas_checkin.yaml"


def bundle_with(tmp_path: Path, files: dict[str, str]) -> Bundle:
    """The shipped locales and these dialog files (name -> YAML text) in a scratch folder."""
    folder = tmp_path / "dialogs"
    folder.mkdir()
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
