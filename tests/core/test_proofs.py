"""The safety proofs: exact on a dialog small enough to brute-force, and failing, with the
shortest path, on unsafe dialogs (a, b, e) and on an engine that breaks its rules (c, d)."""

from __future__ import annotations

import dataclasses
from itertools import combinations
from pathlib import Path

import pytest

from bot.content.loader import parse_dialog
from bot.core import engine, proofs
from bot.core.inputs import Choose, ChooseMany, Typed, answer_input
from bot.core.model import (
    MultiQuestion,
    NumberQuestion,
    OutcomeNode,
    TriageLevel,
    options_of,
)

from conftest import load_test_dialog
from support.generated import generated_dialog

DATA = Path(__file__).resolve().parents[1] / "data"


# --- a brute force that walks every concrete answer ---------------------------------------


def every_answer(node):
    if isinstance(node, NumberQuestion):
        return [(Typed(str(n)), n) for n in range(int(node.min), int(node.max) + 1)]
    options = options_of(node)
    if isinstance(node, MultiQuestion):
        plain = [o.id for o in options if not o.exclusive]
        answers = [(ChooseMany((o.id,)), [o.id]) for o in options if o.exclusive]
        for size in range(1, len(plain) + 1):
            answers += [(ChooseMany(chosen), list(chosen)) for chosen in combinations(plain, size)]
        return answers
    return [(Choose(o.id), o.id) for o in options]


def brute_force(dialog):
    """(paths, longest, violated properties, shortest violating path length) by enumeration."""
    found = {"paths": 0, "longest": 0, "violated": set(), "shortest": None}
    screening = set(dialog.screening)

    def violated(prop, depth):
        found["violated"].add(prop)
        if found["shortest"] is None or depth < found["shortest"]:
            found["shortest"] = depth

    def walk(step, asked, level, depth):
        node = dialog.node(step.state["node"])
        if isinstance(node, OutcomeNode):
            found["paths"] += 1
            found["longest"] = max(found["longest"], depth)
            outcome = step.outcome
            if outcome.level.rank < level:
                violated("c", depth)
            if not outcome.disclaimer or (outcome.level is not TriageLevel.EMERGENCY
                                          and not outcome.safety_net):
                violated("d", depth)
            if outcome.level.rank < TriageLevel.URGENT.rank and not screening <= asked:
                violated("e", depth)
            return
        if node.id in asked:
            violated("a", depth)
            return
        if node.id not in screening and not screening <= asked:
            violated("e", depth)  # the answers that lead to the premature question
        for given, _value in every_answer(node):
            after = engine.step(dialog, step.state, given)
            unfired_true = [f for f in dialog.red_flags if f.id not in after.state["fired"]
                            and proofs.holds(f.when, after.state["facts"])]
            if unfired_true:
                violated("b", depth + 1)
            reached = max([level] + [f.level.rank for f in after.fired])
            walk(after, asked | {node.id}, reached, depth + 1)

    walk(engine.start(dialog), frozenset(), -1, 0)
    return found


def load(path: Path):
    loaded, problems = parse_dialog(path.read_text(encoding="utf-8"), str(path))
    assert loaded is not None, problems
    return loaded.dialog


# --- exactness --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["proof_dialog.yaml", "engine_dialog.yaml"])
def test_the_proof_agrees_with_brute_force_on_every_path(name):
    dialog = load(DATA / name)
    expected = brute_force(dialog)
    report = proofs.prove(dialog)
    assert report.holds and not expected["violated"]
    assert report.paths == expected["paths"], "every concrete path is counted exactly once"
    assert report.longest_questions == expected["longest"]
    assert len(report.longest_answers) == report.longest_questions


def test_the_shipped_dialog_is_proven_safe(shipped):
    report = proofs.prove(shipped.dialog())
    assert report.holds, [v.message for v in report.violations]
    assert report.screening_declared
    assert report.longest_questions <= 20, "a runner on a phone: at most 20 questions"
    assert report.paths > 10 ** 15 and report.states < 2000


def test_the_longest_path_is_a_real_path(shipped):
    dialog = shipped.dialog()
    report = proofs.prove(dialog)
    step = engine.start(dialog)
    for node_id, value in report.longest_answers:
        assert step.prompt.node_id == node_id
        step = engine.step(dialog, step.state, answer_input(dialog.node(node_id), value))
        assert step.kind is engine.StepKind.ANSWERED
    assert step.outcome is not None


# --- unsafe dialogs ---------------------------------------------------------------------


UNSAFE = [("loops.yaml", "a", ("node", "chest")),
          ("silent_red_flag.yaml", "b", ("red_flag", "rf_no_relief")),
          ("late_screening.yaml", "e", ("node", "age")),
          ("hidden_by_cause.yaml", "e", ("node", "result"))]


@pytest.mark.parametrize("name, prop, where", UNSAFE)
def test_an_unsafe_dialog_fails_with_the_shortest_path(name, prop, where, tmp_path):
    dialog = load(DATA / "unsafe" / name)
    report = proofs.prove(dialog)
    violation = next(v for v in report.violations if v.prop == prop)
    assert violation.where == where
    assert len(violation.answers) == brute_force(dialog)["shortest"], "the shortest example"
    pasted = tmp_path / "pasted.yaml"
    pasted.write_text(violation.scenario(), encoding="utf-8")
    from bot.content.scenarios import load_scenarios
    scenarios, problems = load_scenarios([pasted])
    assert problems == [] and len(scenarios) == 1, "it pastes as a valid scenario"
    first_answers: dict = {}
    for node, value in violation.answers:
        first_answers.setdefault(node, value)
    assert scenarios[0].scenario.answers == first_answers


@pytest.mark.parametrize("name, prop, where", UNSAFE)
def test_kebas_check_fails_on_the_unsafe_dialog_at_its_line(name, prop, where):
    import subprocess
    import sys
    path = DATA / "unsafe" / name
    result = subprocess.run([sys.executable, "-m", "bot", "check", str(path),
                             str(DATA.parent.parent / "docs" / "example" / "locales")],
                            capture_output=True, text=True, timeout=60,
                            cwd=DATA.parent.parent)
    assert result.returncode == 1
    ident = where[1]
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1)
                if f"id: {ident}" in text)
    assert f"{name}:{line}:" in result.stdout and f"safety proof ({prop}) fails" in result.stdout


def test_a_looping_path_pastes_with_each_question_once():
    violation = next(v for v in proofs.prove(load(DATA / "unsafe" / "loops.yaml")).violations
                     if "'pain' is asked twice" in v.message)
    text = violation.scenario()
    assert text.count("chest:") == 1 and text.count("pain:") == 1


def test_the_silent_red_flag_is_shown_with_its_path():
    violation = next(v for v in proofs.prove(load(DATA / "unsafe" / "silent_red_flag.yaml"))
                     .violations if v.prop == "b")
    # Shortest: an emergency ends the dialog before 'relief', so the condition is true there.
    assert violation.answers == (("chest", "yes"),)
    assert "did not fire" in violation.message


def test_late_screening_is_reported_for_the_question_and_for_the_result():
    report = proofs.prove(load(DATA / "unsafe" / "late_screening.yaml"))
    messages = [v.message for v in report.violations if v.prop == "e"]
    assert any("comes before the screening question(s) calf" in m for m in messages)
    assert any("can be reached below 'urgent' without asking calf" in m for m in messages)


# --- an engine that breaks its own rules (no dialog can break c or d) --------------------


def test_an_engine_that_lets_the_result_ignore_red_flags_is_caught(monkeypatch):
    real = engine.build_outcome

    def forgetful(dialog, state, node):
        return dataclasses.replace(real(dialog, state, node), level=node.level)

    monkeypatch.setattr(engine, "build_outcome", forgetful)
    report = proofs.prove(load_test_dialog())
    props = {v.prop for v in report.violations}
    assert {"b", "c"} <= props
    violation = next(v for v in report.violations if v.prop == "c")
    assert violation.answers[:2] == (("chest", "no"), ("calf", "swollen"))


def test_an_engine_that_drops_the_disclaimer_is_caught(monkeypatch):
    real = engine.build_outcome
    monkeypatch.setattr(engine, "build_outcome", lambda dialog, state, node: dataclasses.replace(
        real(dialog, state, node), disclaimer="", safety_net=None))
    report = proofs.prove(load_test_dialog())
    assert {v.prop for v in report.violations} == {"d"}


# --- scale ------------------------------------------------------------------------------


def test_a_300_node_dialog_is_explored_exhaustively():
    dialog = generated_dialog(298)
    report = proofs.prove(dialog)
    assert report.holds
    assert report.longest_questions == 298
    assert report.paths > 3 ** 200, "astronomically many paths, explored through few states"
    assert report.states < 20 * 298


def test_a_violation_is_an_error_at_the_red_flag_line_with_the_scenario():
    from bot.content.checks import proof_problems
    path = DATA / "unsafe" / "silent_red_flag.yaml"
    loaded, _ = parse_dialog(path.read_text(encoding="utf-8"), "silent_red_flag.yaml")
    problems = proof_problems(loaded, proofs.prove(loaded.dialog))
    flag_line = next(number for number, line in enumerate(path.read_text().splitlines(), 1)
                     if "id: rf_no_relief" in line)
    problem = next(p for p in problems if "rf_no_relief" in p.message)
    assert problem.is_error and problem.position.line == flag_line
    assert "safety proof (b) fails" in problem.message
    assert 'chest: "yes"' in problem.hint


def test_kebas_check_reports_the_proof(tmp_path):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "bot", "check"], capture_output=True,
                            text=True, cwd=DATA.parent.parent, timeout=60)
    assert result.returncode == 0
    assert "safety proofs a-e hold for kaki_kebas v2" in result.stdout
    assert "longest path 19 questions" in result.stdout
