"""A runner's place in a dialog, as plain JSON-able data: what the engine steps from and what
storage saves. Facts, fired red flags and the current node all follow from the answers, which
is what makes back and replay exact."""

from __future__ import annotations

from typing import Any, TypedDict

from bot.core.model import Dialog

STATE_FORMAT = 1


class AnswerRecord(TypedDict):
    """One answer as the state keeps it: the question's id and the value given."""

    node: str
    value: Any


class SessionState(TypedDict):
    """A runner's place in a dialog: what the engine steps from and what storage saves as JSON.

    `hash` ties the state to the exact dialog content it was made with; `draft` holds the
    options ticked so far on a multi-choice question; `outcome` the summary once it ended.
    """

    format: int
    dialog: str
    version: int
    hash: str
    node: str
    answers: list[AnswerRecord]
    facts: dict[str, Any]
    fired: list[str]
    draft: list[str]
    outcome: dict[str, Any] | None


State = SessionState


def fresh_state(dialog: Dialog) -> State:
    """The state before any answer, standing on the start node (not yet entered)."""
    return {"format": STATE_FORMAT, "dialog": dialog.id, "version": dialog.version,
            "hash": dialog.content_hash, "node": dialog.start, "answers": [], "facts": {},
            "fired": [], "draft": [], "outcome": None}


def copied_state(state: State) -> State:
    """A copy the engine may change: its lists and facts are new, a stored state's gaps filled."""
    return {**state, "answers": list(state.get("answers") or []),
            "fired": list(state.get("fired") or []), "draft": list(state.get("draft") or []),
            "facts": dict(state.get("facts") or {})}
