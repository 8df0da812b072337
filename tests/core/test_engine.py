"""The pure engine: every question type, branches, red flags, causes, back, restart, bad input."""

from __future__ import annotations

import json

import pytest

from bot.core import engine
from bot.core.engine import SayKind, StepKind
from bot.core.inputs import Back, Choose, ChooseMany, Restart, Submit, Toggle, Typed
from bot.core.model import TriageLevel


def walk(dialog, *inputs):
    """Start and apply inputs in order; return every step (the first is the start)."""
    steps = [engine.start(dialog)]
    for given in inputs:
        steps.append(engine.step(dialog, steps[-1].state, given))
    return steps


CALM_PATH = (Choose("no"), Choose("no"), ChooseMany(("top_of_foot",)), Typed("35"),
             Choose("laces"))


def test_start_says_the_info_node_and_asks_the_first_question(dialog):
    first = engine.start(dialog)
    assert [said.key for said in first.said] == ["t.intro"]
    assert first.prompt.node_id == "chest"
    assert [choice.id for choice in first.prompt.choices] == ["yes", "no"]
    assert first.state["answers"] == []


def test_state_is_plain_json(dialog):
    last = walk(dialog, *CALM_PATH)[-1]
    assert json.loads(json.dumps(last.state)) == last.state


def test_yes_no_answer_becomes_a_fact_and_moves_on(dialog):
    second = walk(dialog, Choose("no"))[-1]
    assert second.kind is StepKind.ANSWERED
    assert second.answer == engine.Answer("chest", "no")
    assert second.state["facts"]["chest"] == "no"
    assert second.prompt.node_id == "calf"
    assert second.asked.node_id == "chest", "the step says which question was answered"
    assert [choice.id for choice in second.asked.choices] == ["yes", "no"]


def test_emergency_red_flag_is_said_at_once_and_stops_at_its_outcome(dialog):
    step = walk(dialog, Choose("yes"))[-1]
    assert step.said[0].kind is SayKind.RED_FLAG
    assert step.said[0].key == "t.rf_chest_advice"
    assert step.said[0].level is TriageLevel.EMERGENCY
    assert [flag.id for flag in step.fired] == ["rf_chest_pain"]
    assert step.prompt is None
    assert step.outcome.node_id == "end_emergency"
    assert step.outcome.level is TriageLevel.EMERGENCY
    assert step.outcome.safety_net is None, "an emergency result needs no 'come back if'"
    assert step.outcome.disclaimer == "t.disclaimer"


def test_urgent_red_flag_is_said_at_once_and_the_questions_go_on(dialog):
    step = walk(dialog, Choose("no"), Choose("swollen"))[-1]
    assert [said.key for said in step.said] == ["t.rf_dvt_advice"]
    assert step.prompt.node_id == "where"
    final = walk(dialog, Choose("no"), Choose("swollen"), ChooseMany(("top_of_foot",)),
                 Typed("30"), Choose("laces"))[-1]
    assert final.outcome.level is TriageLevel.URGENT, "later answers never lower the triage"
    assert [flag.id for flag in final.outcome.red_flags] == ["rf_dvt"]
    assert final.fired == (), "a red flag fires once, not again at every answer"


def test_single_choice_rejects_unknown_option_and_typed_text(dialog):
    asked = walk(dialog, Choose("no"))[-1]
    wrong = engine.step(dialog, asked.state, Choose("maybe"))
    assert wrong.kind is StepKind.INVALID
    assert wrong.said[0].key == "error.not_an_option"
    assert wrong.prompt.node_id == "calf" and wrong.state == asked.state
    typed = engine.step(dialog, asked.state, Typed("sakit sekali"))
    assert typed.said[0].key == "error.pick_a_button"
    assert typed.answer is None


def test_multi_choice_toggles_then_submits_in_option_order(dialog):
    at_where = walk(dialog, Choose("no"), Choose("no"))[-1]
    assert at_where.prompt.kind == "multi"
    sole = engine.step(dialog, at_where.state, Toggle("sole"))
    top = engine.step(dialog, sole.state, Toggle("top_of_foot"))
    assert top.kind is StepKind.TOGGLED and top.answer is None
    assert {c.id for c in top.prompt.choices if c.selected} == {"sole", "top_of_foot"}
    done = engine.step(dialog, top.state, Submit())
    assert done.answer == engine.Answer("where", ["top_of_foot", "sole"])
    assert done.state["facts"]["nerve_area"] == "tibial", "an option's `set` adds facts"
    assert done.prompt.node_id == "age"


def test_multi_choice_none_of_these_clears_the_others_and_back(dialog):
    at_where = walk(dialog, Choose("no"), Choose("no"))[-1]
    state = engine.step(dialog, at_where.state, Toggle("sole")).state
    state = engine.step(dialog, state, Toggle("none")).state
    assert state["draft"] == ["none"]
    state = engine.step(dialog, state, Toggle("calf")).state
    assert state["draft"] == ["calf"]
    state = engine.step(dialog, state, Toggle("calf")).state
    assert state["draft"] == []


def test_multi_choice_rejects_nothing_and_none_with_others(dialog):
    at_where = walk(dialog, Choose("no"), Choose("no"))[-1]
    empty = engine.step(dialog, at_where.state, Submit())
    assert empty.said[0].key == "error.pick_at_least_one"
    mixed = engine.step(dialog, at_where.state, ChooseMany(("none", "sole")))
    assert mixed.said[0].key == "error.exclusive_with_others"
    assert mixed.said[0].params["option"] == engine.TextRef("t.none")
    unknown = engine.step(dialog, at_where.state, ChooseMany(("knee",)))
    assert unknown.said[0].key == "error.not_an_option"


@pytest.mark.parametrize("typed, value", [("35", 35), ("35 tahun", 35), (" 70 ", 70),
                                          ("12", 12), ("100", 100), ("40 th.", 40)])
def test_number_accepts_plain_numbers_and_units(dialog, typed, value):
    at_age = walk(dialog, Choose("no"), Choose("no"), ChooseMany(("none",)))[-1]
    answered = engine.step(dialog, at_age.state, Typed(typed))
    assert answered.answer == engine.Answer("age", value)


@pytest.mark.parametrize("typed, key", [("tiga puluh", "error.not_a_number"),
                                        ("", "error.not_a_number"),
                                        ("35.5", "error.not_a_whole_number"),
                                        ("11", "error.number_out_of_range"),
                                        ("101", "error.number_out_of_range"),
                                        ("-5", "error.number_out_of_range")])
def test_number_rejects_with_a_reason(dialog, typed, key):
    at_age = walk(dialog, Choose("no"), Choose("no"), ChooseMany(("none",)))[-1]
    rejected = engine.step(dialog, at_age.state, Typed(typed))
    assert rejected.kind is StepKind.INVALID and rejected.said[0].key == key
    assert rejected.prompt.node_id == "age"
    if key == "error.number_out_of_range":
        assert rejected.said[0].params == {"min": "12", "max": "100"}


def test_number_question_ignores_buttons(dialog):
    at_age = walk(dialog, Choose("no"), Choose("no"), ChooseMany(("none",)))[-1]
    assert engine.step(dialog, at_age.state, Choose("yes")).said[0].key == "error.not_a_number"


def test_branch_is_taken_when_its_condition_holds(dialog):
    young = walk(dialog, Choose("no"), Choose("no"), ChooseMany(("none",)), Typed("15"))[-1]
    assert young.outcome.node_id == "too_young"
    assert young.outcome.causes == () and young.outcome.no_clear_cause is None


def test_outcome_ranks_causes_and_takes_the_most_urgent_level(dialog):
    final = walk(dialog, Choose("no"), Choose("no"), ChooseMany(("calf", "sole")),
                 Typed("60"), Choose("minutes"))[-1]
    assert [(c.id, c.points) for c in final.outcome.causes] == [("pad", 7), ("tibial_tarsal", 4)]
    assert final.outcome.level is TriageLevel.SOON
    assert final.outcome.safety_net == "t.safety_net"
    assert final.state["outcome"]["causes"][0] == {
        "id": "pad", "points": 7,
        "because": [["age", 60], ["where", ["sole", "calf"]], ["relief", "minutes"]]}


def test_cause_level_if_can_make_it_self_care(dialog):
    final = walk(dialog, *CALM_PATH)[-1]
    assert [c.id for c in final.outcome.causes] == ["peroneal"]
    assert final.outcome.causes[0].level is TriageLevel.SELF_CARE
    assert final.outcome.level is TriageLevel.SELF_CARE


def test_no_cause_with_enough_points_says_so(dialog):
    final = walk(dialog, Choose("no"), Choose("no"), ChooseMany(("none",)), Typed("30"),
                 Choose("laces"))[-1]
    assert final.outcome.causes == ()
    assert final.outcome.no_clear_cause == "t.no_cause"


def test_back_undoes_the_last_answer_and_asks_it_again(dialog):
    steps = walk(dialog, Choose("no"), Choose("no"), Back())
    back = steps[-1]
    assert back.kind is StepKind.BACK
    assert back.said[0].key == "info.went_back"
    assert back.prompt.node_id == "calf"
    assert back.state["answers"] == [{"node": "chest", "value": "no"}]
    assert "calf" not in back.state["facts"]


def test_back_after_a_red_flag_unfires_it(dialog):
    back = walk(dialog, Choose("yes"), Back())[-1]
    assert back.prompt.node_id == "chest"
    assert back.state["fired"] == [] and back.state["outcome"] is None


def test_back_at_the_first_question_says_there_is_nothing_to_undo(dialog):
    back = walk(dialog, Back())[-1]
    assert back.said[0].key == "info.nothing_to_undo"
    assert back.prompt.node_id == "chest"


def test_back_from_an_outcome_reopens_the_last_question(dialog):
    back = walk(dialog, *CALM_PATH, Back())[-1]
    assert back.outcome is None and back.prompt.node_id == "relief"


def test_restart_forgets_everything(dialog):
    restarted = walk(dialog, Choose("no"), Choose("swollen"), Restart())[-1]
    assert restarted.kind is StepKind.RESTARTED
    assert restarted.said[0].key == "info.restarted"
    assert restarted.state == engine.start(dialog).state


def test_answers_after_the_outcome_are_refused(dialog):
    final = walk(dialog, *CALM_PATH)[-1]
    again = engine.step(dialog, final.state, Choose("no"))
    assert again.said[0].key == "error.finished"
    assert again.outcome is not None and again.state == final.state


def test_a_stale_button_is_never_applied(dialog):
    first = engine.start(dialog)
    place = first.prompt.place
    answered = engine.step(dialog, first.state, Choose("no", at=place))
    assert answered.kind is StepKind.ANSWERED
    double_tap = engine.step(dialog, answered.state, Choose("yes", at=place))
    assert double_tap.kind is StepKind.STALE
    assert double_tap.said[0].key == "error.stale_button"
    assert double_tap.state == answered.state and double_tap.fired == ()


def test_input_state_is_never_modified(dialog):
    first = engine.start(dialog)
    before = json.dumps(first.state)
    engine.step(dialog, first.state, Choose("yes"))
    engine.step(dialog, first.state, Back())
    assert json.dumps(first.state) == before


def test_replay_rebuilds_the_same_state(dialog):
    final = walk(dialog, *CALM_PATH)[-1]
    answers = [engine.Answer(a["node"], a["value"]) for a in final.state["answers"]]
    assert engine.replay(dialog, answers) == final.state


def test_resume_on_an_edited_dialog_replays_or_starts_again(dialog):
    state = walk(dialog, Choose("no"), Choose("no"))[-1].state
    newer = dialog.model_copy(update={"version": 2})
    resumed = engine.resume(newer, state)
    assert resumed.kind is StepKind.RESUMED and resumed.prompt.node_id == "where"
    assert resumed.state["version"] == 2
    broken = dict(state, answers=[{"node": "gone", "value": "x"}], version=0, hash="older")
    restarted = engine.resume(dialog, broken)
    assert restarted.kind is StepKind.RESTARTED
    assert restarted.said[0].key == "info.dialog_updated"


def test_the_result_says_why_each_cause_and_what_set_the_level(dialog):
    final = walk(dialog, Choose("no"), Choose("swollen"), ChooseMany(("sole",)), Typed("30"),
                 Choose("laces"))[-1]
    outcome = final.outcome
    assert [(s.kind, s.id) for s in outcome.level_from] == [("red_flag", "rf_dvt")]
    assert outcome.red_flags[0].because == (("calf", "swollen"),)
    tibial = next(c for c in outcome.causes if c.id == "tibial_tarsal")
    assert tibial.because == (("where", ["sole"]),), "an option's `set` fact leads back to it"
    assert final.state["outcome"]["level_from"] == [{"kind": "red_flag", "id": "rf_dvt"}]


def test_the_endings_minimum_is_named_only_when_nothing_else_set_the_level(dialog):
    outcome = walk(dialog, *CALM_PATH)[-1].outcome
    assert [(s.kind, s.id) for s in outcome.level_from] == [("cause", "peroneal")]
    young = walk(dialog, Choose("no"), Choose("no"), ChooseMany(("none",)), Typed("15"))[-1]
    assert [(s.kind, s.id) for s in young.outcome.level_from] == [("floor", "too_young")]


def test_a_step_names_the_nodes_it_passed_through(dialog):
    assert engine.start(dialog).passed == ("intro", "chest")
    assert walk(dialog, Choose("yes"))[-1].passed == ("end_emergency",)


def with_lead(dialog, lead=2):
    return dialog.model_copy(update={
        "scoring": dialog.scoring.model_copy(update={"lead": lead}),
        "texts": dialog.texts.model_copy(update={"several_causes": "t.several"})})


def test_with_a_lead_only_the_causes_ahead_of_the_rest_are_shown(dialog):
    led = with_lead(dialog)
    final = walk(led, Choose("no"), Choose("no"), ChooseMany(("calf", "sole")), Typed("60"),
                 Choose("minutes"))[-1]
    assert [(c.id, c.points) for c in final.outcome.causes] == [("pad", 7)], "7 is 3 ahead of 4"
    assert final.outcome.several_causes is None


def test_with_no_cause_ahead_several_are_shown_and_said_to_be_possible(dialog):
    led = with_lead(dialog)
    final = walk(led, Choose("no"), Choose("no"), ChooseMany(("calf", "sole")), Typed("30"),
                 Choose("minutes"))[-1]
    assert [(c.id, c.points) for c in final.outcome.causes] == [("pad", 5), ("tibial_tarsal", 4)]
    assert final.outcome.several_causes == "t.several"


def test_a_typed_answer_meant_for_an_earlier_question_is_stale(dialog):
    """A worker redoing a step on a session another worker moved on: typed text was read
    against the question it was meant for, and is not applied to the next one."""
    first = engine.start(dialog)
    meant_for = (first.state["node"], len(first.state["answers"]))
    moved_on = engine.step(dialog, first.state, Choose("no")).state
    stale = engine.step(dialog, moved_on, Typed("35", at=meant_for))
    assert stale.kind is StepKind.STALE and stale.answer is None
