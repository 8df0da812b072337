"""Sessions to summarise for the doctor: a runner's answers played through the engine, and the
longest summary the shipped dialog can be made to give."""

from __future__ import annotations

from bot.content.scenarios import answer_input
from bot.core import engine
from bot.core.model import NumberQuestion, is_question, options_of

# a 62-year-old smoker with diabetes: calf cramp at the same distance, gone when standing still
SMOKER = {"a12_alarm": ["none"], "a3_saddle": "no", "a45_leg": ["none"],
          "a7_weakness": ["none"], "a8_now": "gone", "b1_onset": "weeks_months",
          "b2_start": "same_point", "b3_relief": "within_5_min", "c1_pain": "cramp_calf",
          "c2_back": "no", "d1_where": ["calf", "top_of_foot"], "d2_sides": "left",
          "e1_age": 62, "e2_history": ["smoker_now", "diabetes"], "e3_changed": "none",
          "e4_foot": ["none"]}
# the same runner, with a foot that has begun to drop: a red flag that does not stop the questions
FOOT_DROP = {**SMOKER, "a7_weakness": ["lift_front_of_foot"]}


def play(dialog, answers, questions=99):
    """The step after answering up to `questions` questions, as the runner would."""
    step = engine.start(dialog)
    while step.prompt is not None and questions > 0:
        node = dialog.node(step.prompt.node_id)
        step = engine.step(dialog, step.state, answer_input(node, answers[node.id]))
        questions -= 1
    return step


def worst_state(dialog, locale):
    """Every question answered at its longest (every option of a multiple choice), and a
    result naming every red flag, each with answers behind it, and three causes."""
    answers = []
    for node in dialog.nodes:
        if not is_question(node):
            continue
        if isinstance(node, NumberQuestion):
            value = node.max
        elif node.type == "multi":
            value = [option.id for option in node.options if not option.exclusive]
        else:
            value = max((option.id for option in options_of(node)),
                        key=lambda option: len(locale.text(f"clin.{node.id}.{option}")))
        answers.append({"node": node.id, "value": value})
    pairs = [[answer["node"], answer["value"]] for answer in answers]
    state = engine.start(dialog).state
    state["answers"] = answers
    state["outcome"] = {
        "node": "end_emergency", "level": "emergency",
        "red_flags": [{"id": flag.id, "because": pairs[i % 5:i % 5 + 3]}
                      for i, flag in enumerate(dialog.red_flags)],
        "causes": [{"id": cause.id, "points": 20 - i, "because": pairs[:8]}
                   for i, cause in enumerate(dialog.causes[:3])],
        "level_from": [{"kind": "red_flag", "id": flag.id} for flag in dialog.red_flags]}
    return state
