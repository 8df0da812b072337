"""A runner's place in a dialog, as plain JSON-able data: what the engine steps from and what
storage saves. Facts, fired red flags and the current node all follow from the answers, which
is what makes back and replay exact.

A state read back from storage becomes a `SessionState` in one place, `stored_state` (called
by bot.storage when it reads a row): it is checked there and given today's shape, so every
other reader indexes its keys directly.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict, TypeVar

from bot.core.model import Dialog

STATE_FORMAT = 1

T = TypeVar("T")


class AnswerRecord(TypedDict):
    """One answer as the state keeps it: the question's id and the value given."""

    node: str
    value: Any


# --- the result as stored (`Outcome.summary()`) ------------------------------------------

# (question id, answer) pairs behind a conclusion, as JSON keeps them: [[id, answer], ...]
Because = list[list[Any]]


class RedFlagSummary(TypedDict):
    id: str
    because: Because


class CauseSummary(TypedDict):
    id: str
    points: int
    because: Because


class LevelSourceSummary(TypedDict):
    """What set the triage level: kind "red_flag", "cause" or "floor" (the ending's own)."""

    kind: str
    id: str


class OutcomeSummary(TypedDict):
    """What is stored of a result, in the state and in the sessions table: the ending, the
    triage level (`TriageLevel.value`) and the trace of why."""

    node: str
    level: str
    red_flags: list[RedFlagSummary]
    causes: list[CauseSummary]
    level_from: list[LevelSourceSummary]


class SessionState(TypedDict):
    """A runner's place in a dialog: what the engine steps from and what storage saves as JSON.

    `hash` ties the state to the exact dialog content it was made with; `draft` holds the
    options ticked so far on a multi-choice question; `outcome` the summary once it ended.

    `hash` alone may be absent: states saved before dialog versions were kept (issue 5)
    have none, and its absence means something (`engine.same_dialog` then matches the
    dialog by id and version, and such a session goes on with the newest dialog). The engine
    copies a state as it is, so a session that goes on on its own dialog keeps lacking it.
    """

    format: int
    dialog: str
    version: int
    hash: NotRequired[str]
    node: str
    answers: list[AnswerRecord]
    facts: dict[str, Any]
    fired: list[str]
    draft: list[str]
    outcome: OutcomeSummary | None


State = SessionState


def fresh_state(dialog: Dialog) -> State:
    """The state before any answer, standing on the start node (not yet entered)."""
    return {"format": STATE_FORMAT, "dialog": dialog.id, "version": dialog.version,
            "hash": dialog.content_hash, "node": dialog.start, "answers": [], "facts": {},
            "fired": [], "draft": [], "outcome": None}


def copied_state(state: State) -> State:
    """A copy the engine may change: its lists and facts are new."""
    return {**state, "answers": list(state["answers"]), "fired": list(state["fired"]),
            "draft": list(state["draft"]), "facts": dict(state["facts"])}


# --- reading a stored state back ---------------------------------------------------------


class StateShapeError(ValueError):
    """A stored state or result in a shape no Kebas ever wrote. The message names the key and
    the type found, never a value: a state holds a runner's answers."""


def stored_state(data: Any) -> State:
    """A state as storage kept it (parsed JSON), checked and in today's shape.

    Every Kebas wrote `format`, `dialog`, `version`, `node`, `answers`, `facts`, `fired`,
    `draft` and `outcome`; `hash` came later (see `SessionState`) and stays absent when it
    is (or is null). A missing or null list or mapping is read as empty and a missing
    `format` as 1, as the engine always took them; an outcome summary is read by
    `stored_outcome`. Keys no Kebas wrote are dropped.
    """
    data = _mapping(data, "the state")
    state: State = {
        "format": _field(data, "format", int, STATE_FORMAT),
        "dialog": _field(data, "dialog", str), "version": _field(data, "version", int),
        "hash": _field(data, "hash", str, ""), "node": _field(data, "node", str),
        "answers": [_answer(item) for item in _field(data, "answers", list, [])],
        "facts": _field(data, "facts", dict, {}),
        "fired": _strings(data, "fired"), "draft": _strings(data, "draft"),
        "outcome": None if data.get("outcome") is None else stored_outcome(data["outcome"])}
    if data.get("hash") is None:
        del state["hash"]
    return state


def stored_outcome(data: Any) -> OutcomeSummary:
    """A result summary as storage kept it (parsed JSON), checked and in today's shape.

    The first summaries (before 'why this advice') listed the red flags by id alone and kept
    no `because` nor `level_from`: they read as red flags, causes and sources with no trace.
    """
    data = _mapping(data, "the outcome")
    return {"node": _field(data, "node", str), "level": _field(data, "level", str),
            "red_flags": [_red_flag(item) for item in _field(data, "red_flags", list, [])],
            "causes": [_cause(item) for item in _field(data, "causes", list, [])],
            "level_from": [_level_source(item)
                           for item in _field(data, "level_from", list, [])]}


def _mapping(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise StateShapeError(f"{what} is {type(data).__name__}, not an object")
    return data


def _field(data: dict[str, Any], key: str, kind: type[T], default: T | None = None) -> T:
    """`data[key]`, which must be a `kind`; `default` when it is missing or null (if given)."""
    value = data.get(key)
    if value is None and default is not None:
        return default
    if value is None:
        raise StateShapeError(f"'{key}' is missing")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise StateShapeError(f"'{key}' is {type(value).__name__}, not {kind.__name__}")
    return value


def _strings(data: dict[str, Any], key: str) -> list[str]:
    items = _field(data, key, list, [])
    if not all(isinstance(item, str) for item in items):
        raise StateShapeError(f"'{key}' holds something other than text")
    return items


def _answer(item: Any) -> AnswerRecord:
    item = _mapping(item, "an answer")
    if "value" not in item:
        raise StateShapeError("an answer has no 'value'")
    return {"node": _field(item, "node", str), "value": item["value"]}


def _because(data: dict[str, Any]) -> Because:
    pairs = _field(data, "because", list, [])
    if not all(isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
               for pair in pairs):
        raise StateShapeError("'because' holds something other than [question, answer] pairs")
    return pairs


def _red_flag(item: Any) -> RedFlagSummary:
    if isinstance(item, str):  # the first summaries: the red flag's id alone
        return {"id": item, "because": []}
    item = _mapping(item, "a red flag")
    return {"id": _field(item, "id", str), "because": _because(item)}


def _cause(item: Any) -> CauseSummary:
    item = _mapping(item, "a cause")
    return {"id": _field(item, "id", str), "points": _field(item, "points", int),
            "because": _because(item)}


def _level_source(item: Any) -> LevelSourceSummary:
    item = _mapping(item, "a level source")
    return {"kind": _field(item, "kind", str), "id": _field(item, "id", str)}
