"""A state read back from storage: checked, and given today's shape (bot.core.state)."""

from __future__ import annotations

import json

import pytest

from bot.core import engine
from bot.core.inputs import Choose
from bot.core.state import StateShapeError, stored_outcome, stored_state


def test_a_state_the_engine_made_reads_back_as_it_was(dialog):
    state = engine.step(dialog, engine.start(dialog).state, Choose("yes")).state
    assert state["outcome"] is not None, "it ended, with a result"
    assert stored_state(json.loads(json.dumps(state))) == state


def test_gaps_are_filled_and_only_a_missing_hash_stays_missing():
    state = stored_state({"dialog": "d", "version": 1, "node": "calf", "answers": None,
                          "facts": None, "fired": None, "unknown": 1})
    assert state == {"format": 1, "dialog": "d", "version": 1, "node": "calf", "answers": [],
                     "facts": {}, "fired": [], "draft": [], "outcome": None}
    assert stored_state({**state, "hash": "abc"})["hash"] == "abc"


def test_the_first_result_summaries_read_with_an_empty_trace():
    first = {"node": "result", "level": "urgent", "red_flags": ["rf_dvt"],
             "causes": [{"id": "pad", "points": 7}]}
    assert stored_outcome(first) == {
        "node": "result", "level": "urgent", "red_flags": [{"id": "rf_dvt", "because": []}],
        "causes": [{"id": "pad", "points": 7, "because": []}], "level_from": []}


@pytest.mark.parametrize("data, problem", [
    ([], "the state is list, not an object"),
    ({"version": 1, "node": "x"}, "'dialog' is missing"),
    ({"dialog": "d", "version": True, "node": "x"}, "'version' is bool, not int"),
    ({"dialog": "d", "version": 1, "node": "x", "answers": [{"node": "a"}]},
     "an answer has no 'value'"),
    ({"dialog": "d", "version": 1, "node": "x", "fired": ["a", 2]},
     "'fired' holds something other than text"),
    ({"dialog": "d", "version": 1, "node": "x", "outcome": {"node": "end"}},
     "'level' is missing"),
    ({"dialog": "d", "version": 1, "node": "x", "outcome": {
        "node": "end", "level": "soon", "causes": [{"id": "c", "points": 1,
                                                    "because": [["q"]]}]}},
     "'because' holds something other than"),
])
def test_a_shape_no_kebas_wrote_is_refused_naming_the_key_not_the_value(data, problem):
    with pytest.raises(StateShapeError, match=problem):
        stored_state(data)
