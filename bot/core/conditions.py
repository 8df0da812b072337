"""The condition language: structured YAML evaluated by this module, never by `eval`.

A condition is a mapping. Each `fact: test` pair must hold, and `all`, `any` and `not` combine
conditions. A test is a value (the fact equals it, or a multiple-choice answer includes it), a
list (any of these values), or a number range `{min, max}`. A fact that has not been answered
yet makes its test false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bot.core.model import Condition, Facts, Range

ConditionPath = tuple[str | int, ...]


Predicate = Callable[[Facts], bool]
_COMPILED: dict[int, tuple[Condition, Predicate]] = {}


def holds(condition: Condition, facts: Facts) -> bool:
    return compiled(condition)(facts)


def compiled(condition: Condition) -> Predicate:
    """The condition as a function of the facts, built once per condition object."""
    entry = _COMPILED.get(id(condition))
    if entry is None or entry[0] is not condition:
        entry = (condition, _compile(condition))
        _COMPILED[id(condition)] = entry
    return entry[1]


def _compile(condition: Condition) -> Predicate:
    parts: list[Predicate] = [_compile_test(fact, test)
                              for fact, test in condition.tests.items()]
    if condition.all is not None:
        every = [_compile(part) for part in condition.all]
        parts.append(lambda facts: all(part(facts) for part in every))
    if condition.any is not None:
        some = [_compile(part) for part in condition.any]
        parts.append(lambda facts: any(part(facts) for part in some))
    if condition.not_ is not None:
        negated = _compile(condition.not_)
        parts.append(lambda facts: not negated(facts))
    if len(parts) == 1:
        return parts[0]
    return lambda facts: all(part(facts) for part in parts)


def _compile_test(fact: str, test: Any) -> Predicate:
    if isinstance(test, Range):
        low = float("-inf") if test.min is None else test.min
        high = float("inf") if test.max is None else test.max

        def in_range(facts: Facts) -> bool:
            value = facts.get(fact)
            return (isinstance(value, (int, float)) and not isinstance(value, bool)
                    and low <= value <= high)
        return in_range
    values = test_values(test)
    if all(isinstance(value, str) for value in values):
        words = frozenset(values)  # a word never equals a number or true/false: no tagging

        def matches_word(facts: Facts) -> bool:
            value = facts.get(fact)
            if isinstance(value, list):
                return not words.isdisjoint(value)
            return isinstance(value, str) and value in words
        return matches_word
    wanted = frozenset(value_key(value) for value in values)

    def matches(facts: Facts) -> bool:
        value = facts.get(fact)
        if value is None:
            return False
        if isinstance(value, list):
            return any(value_key(item) in wanted for item in value)
        return value_key(value) in wanted
    return matches


def value_key(value: Any) -> tuple[bool, Any]:
    """A value as tests compare it: True == 1 in Python, but a fact set to true must not match
    a test for the number 1."""
    return (isinstance(value, bool), value)


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


def describe(condition: Condition) -> str:
    """A condition in one short line, for pictures: `e1_age ≥ 50`, `a8_now = still_numb`."""
    parts = [_describe_test(fact, test) for fact, test in condition.tests.items()]
    if condition.all is not None:
        parts.append("(" + " ∧ ".join(describe(part) for part in condition.all) + ")")
    if condition.any is not None:
        parts.append("(" + " ∨ ".join(describe(part) for part in condition.any) + ")")
    if condition.not_ is not None:
        parts.append("¬(" + describe(condition.not_) + ")")
    return " ∧ ".join(parts)


def _describe_test(fact: str, test: Any) -> str:
    if isinstance(test, Range):
        if test.min is not None and test.max is not None:
            return f"{test.min} ≤ {fact} ≤ {test.max}"
        return f"{fact} ≥ {test.min}" if test.min is not None else f"{fact} ≤ {test.max}"
    values = test_values(test)
    if len(values) == 1:
        return f"{fact} = {values[0]}"
    return f"{fact} ∈ {{{', '.join(str(value) for value in values)}}}"
