"""What a channel can send the engine, and how an answer is read and checked.

A button press or a typed text becomes one of these inputs; `at` names the question a button
was made for, so an old button is refused instead of answering a later question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.core.model import MultiQuestion, NumberQuestion, QuestionNode

Place = tuple[str, int]  # (node id, step) a button was made for


@dataclass(frozen=True)
class Choose:
    option_id: str
    at: Place | None = None


@dataclass(frozen=True)
class ChooseMany:
    option_ids: tuple[str, ...]
    at: Place | None = None


@dataclass(frozen=True)
class Toggle:
    option_id: str
    at: Place | None = None


@dataclass(frozen=True)
class Submit:
    at: Place | None = None


@dataclass(frozen=True)
class Typed:
    text: str
    at: Place | None = None


@dataclass(frozen=True)
class Back:
    pass


@dataclass(frozen=True)
class Restart:
    pass


AnswerInput = Choose | ChooseMany | Typed  # what gives an answer at once
Input = Choose | ChooseMany | Toggle | Submit | Typed | Back | Restart


def answer_input(node: QuestionNode, value: Any) -> AnswerInput:
    """The engine input that gives `value` as the answer to `node`: a number is typed, a
    multi-choice gets its options (one or several), any other question its option id."""
    if isinstance(node, NumberQuestion):
        return Typed(str(value))
    if isinstance(node, MultiQuestion):
        many = value if isinstance(value, (list, tuple, set, frozenset)) else (value,)
        return ChooseMany(tuple(str(item) for item in many))
    return Choose(str(value))


def valid_value(node: QuestionNode, value: Any) -> bool:
    """Whether `value` answers `node` as the engine would have accepted it (for replays)."""
    if isinstance(node, NumberQuestion):
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and node.min <= value <= node.max
    ids = {option.id for option in node.options}
    if isinstance(node, MultiQuestion):
        return isinstance(value, list) and bool(value) and set(value) <= ids
    return value in ids


# --- number answers ---------------------------------------------------------------------

_NUMBER = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*([^\W\d_]+\.?)?\s*$")


def parse_number(text: str, node: NumberQuestion) -> tuple[float | int | None, str | None]:
    """The number in `text` ("35", "35 tahun", "1,5"), or the key of what is wrong with it."""
    match = _NUMBER.match(text or "")
    if match is None:
        return None, "error.not_a_number"
    number = float(match.group(1).replace(",", "."))
    if node.integer and not number.is_integer():
        return None, "error.not_a_whole_number"
    value = int(number) if node.integer else number
    if not node.min <= value <= node.max:
        return None, "error.number_out_of_range"
    return value, None


def plain_number(number: float) -> str:
    """A bound as people write it: 18, not 18.0."""
    return str(int(number)) if float(number).is_integer() else str(number)
