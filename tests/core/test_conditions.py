"""The condition language, evaluated exactly as documented in docs/dialog-format.md."""

from __future__ import annotations

import pytest

from bot.core.conditions import holds
from bot.core.model import Condition


def condition(data: dict) -> Condition:
    return Condition.model_validate(data)


@pytest.mark.parametrize("data, facts, expected", [
    ({"sides": "both"}, {"sides": "both"}, True),
    ({"sides": "both"}, {"sides": "left"}, False),
    ({"sides": "both"}, {}, False),                                   # not answered yet
    ({"pain": ["cramp", "tight"]}, {"pain": "tight"}, True),          # any of these
    ({"where": "sole"}, {"where": ["calf", "sole"]}, True),           # multi includes it
    ({"where": ["heel", "sole"]}, {"where": ["calf"]}, False),
    ({"age": {"min": 50}}, {"age": 50}, True),                        # inclusive
    ({"age": {"min": 50, "max": 64}}, {"age": 65}, False),
    ({"age": {"max": 29}}, {"age": "29"}, False),                     # text is no number
    ({"flag": True}, {"flag": 1}, False),                             # true is not 1
    ({"count": 1}, {"count": True}, False),
    ({"a": "yes", "b": "no"}, {"a": "yes", "b": "no"}, True),         # every line holds
    ({"a": "yes", "b": "no"}, {"a": "yes", "b": "yes"}, False),
    ({"any": [{"a": "yes"}, {"b": "yes"}]}, {"b": "yes"}, True),
    ({"all": [{"a": "yes"}, {"b": "yes"}]}, {"b": "yes"}, False),
    ({"not": {"a": "yes"}}, {}, True),
    ({"not": {"a": "yes"}, "b": "no"}, {"b": "no", "a": "no"}, True),
])
def test_condition(data, facts, expected):
    assert holds(condition(data), facts) is expected
