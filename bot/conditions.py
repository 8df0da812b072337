"""The condition language: structured YAML evaluated by this module, never by `eval`.

A condition is a mapping. Each `fact: test` pair must hold, and `all`, `any` and `not` combine
conditions. A test is a value (the fact equals it, or a multiple-choice answer includes it), a
list (any of these values), or a number range `{min, max}`. A fact that has not been answered
yet makes its test false.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.model import Condition, Facts, Range

ConditionPath = tuple[str | int, ...]


def holds(condition: Condition, facts: Facts) -> bool:
    for fact, test in condition.tests.items():
        if not _test_holds(facts.get(fact), test):
            return False
    if condition.all is not None and not all(holds(part, facts) for part in condition.all):
        return False
    if condition.any is not None and not any(holds(part, facts) for part in condition.any):
        return False
    if condition.not_ is not None and holds(condition.not_, facts):
        return False
    return True


def _test_holds(value: Any, test: Any) -> bool:
    if value is None:
        return False
    if isinstance(test, Range):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return (test.min is None or value >= test.min) and (test.max is None or value <= test.max)
    wanted = test if isinstance(test, list) else [test]
    if isinstance(value, list):
        return any(_same(item, expected) for item in value for expected in wanted)
    return any(_same(value, expected) for expected in wanted)


def _same(value: Any, expected: Any) -> bool:
    # True == 1 in Python; a fact set to true must not match a test for the number 1.
    return type(value) is type(expected) and value == expected if isinstance(
        value, bool) or isinstance(expected, bool) else value == expected


def fact_tests(condition: Condition, path: ConditionPath = ()
               ) -> Iterator[tuple[str, Any, ConditionPath]]:
    """Every `fact: test` pair inside a condition, with its path below the condition."""
    for fact, test in condition.tests.items():
        yield fact, test, path + (fact,)
    for key, parts in (("all", condition.all), ("any", condition.any)):
        for index, part in enumerate(parts or ()):
            yield from fact_tests(part, path + (key, index))
    if condition.not_ is not None:
        yield from fact_tests(condition.not_, path + ("not",))


def facts_read(condition: Condition) -> set[str]:
    return {fact for fact, _test, _path in fact_tests(condition)}


def test_values(test: Any) -> list[Any]:
    """The literal values a test compares with (none for a number range)."""
    if isinstance(test, Range):
        return []
    return list(test) if isinstance(test, list) else [test]
