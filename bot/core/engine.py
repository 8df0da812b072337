"""The dialog engine: pure and synchronous, so every path can be tested and proven.

`step(dialog, state, input)` returns the next state and what to show, as text keys and choices
that any channel can render. The state is plain JSON-able data; facts, fired red flags and the
current node are all derived from the list of answers, which is what makes back and replay
exact. Wrong input never raises: it gives the same question again with a short explanation.
The inputs live in bot.core.inputs, the state in bot.core.state and the result in
bot.core.outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from bot.core.conditions import holds
from bot.core.facts import derive_facts, facts_of, flags_reading
from bot.core.inputs import (
    Back,
    Choose,
    ChooseMany,
    Input,
    Place,
    Restart,
    Submit,
    Toggle,
    Typed,
    parse_number,
    plain_number,
    valid_value,
)
from bot.core.model import (
    Dialog,
    Facts,
    InfoNode,
    MultiQuestion,
    NumberQuestion,
    OutcomeNode,
    QuestionNode,
    RedFlag,
    TriageLevel,
    is_question,
    options_of,
)
from bot.core.outcome import (
    Outcome,
    Produced,
    RedFlagView,
    answers_produced,
    build_outcome,
    flag_view,
)
from bot.core.state import State, copied_state, fresh_state


class DialogBroken(Exception):
    """The dialog leads the engine where `kebas check` would have refused (e.g. an info loop)."""


# --- outputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TextRef:
    """A parameter that is itself a text key, translated when the message is rendered."""

    key: str


class SayKind(str, Enum):
    TEXT = "text"          # an info node
    NOTICE = "notice"      # went back, resumed, ...
    ERROR = "error"        # why the answer was not taken
    RED_FLAG = "red_flag"  # advice that must be seen now


@dataclass(frozen=True)
class Say:
    key: str
    kind: SayKind = SayKind.TEXT
    params: dict[str, Any] = field(default_factory=dict)
    title: str | None = None           # red flags: their short name
    level: TriageLevel | None = None   # red flags: how urgent


@dataclass(frozen=True)
class ChoiceView:
    id: str
    text: str
    selected: bool = False
    exclusive: bool = False


@dataclass(frozen=True)
class Prompt:
    node_id: str
    kind: str                      # choice | multi | yesno | number
    text: str
    step: int                      # answers given so far: with node_id, identifies this asking
    choices: tuple[ChoiceView, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = True
    unit: str | None = None

    @property
    def place(self) -> Place:
        return (self.node_id, self.step)


class StepKind(str, Enum):
    STARTED = "started"
    ANSWERED = "answered"
    TOGGLED = "toggled"
    INVALID = "invalid"
    STALE = "stale"
    BACK = "back"
    RESTARTED = "restarted"
    RESUMED = "resumed"


@dataclass(frozen=True)
class Answer:
    node_id: str
    value: Any


@dataclass(frozen=True)
class Step:
    kind: StepKind
    state: State
    said: tuple[Say, ...] = ()
    prompt: Prompt | None = None
    outcome: Outcome | None = None
    answer: Answer | None = None          # the answer this step accepted, for the answer log
    asked: Prompt | None = None           # the question that answer answered
    fired: tuple[RedFlagView, ...] = ()   # red flags that fired on this step
    passed: tuple[str, ...] = ()          # nodes entered on this step, ending where it stands

    @property
    def finished(self) -> bool:
        return self.outcome is not None



# --- public API -------------------------------------------------------------------------


def start(dialog: Dialog) -> Step:
    state = fresh_state(dialog)
    said, outcome, passed = _enter(dialog, state, dialog.start)
    return replace(_show(dialog, state, StepKind.STARTED, said, outcome=outcome), passed=passed)


def step(dialog: Dialog, state: State, given: Input) -> Step:
    """One move of the conversation. `state` is not modified; the new one is in the Step."""
    if isinstance(given, Restart):
        fresh = start(dialog)
        return _show(dialog, fresh.state, StepKind.RESTARTED,
                     (_notice("info.restarted"),) + fresh.said)
    state = copied_state(state)
    if isinstance(given, Back):
        return _back(dialog, state)
    node = dialog.node(state["node"])
    at = getattr(given, "at", None)
    if at is not None and tuple(at) != (node.id, len(state["answers"])):
        return _show(dialog, state, StepKind.STALE, (_error("error.stale_button"),))
    if isinstance(node, OutcomeNode):
        return _show(dialog, state, StepKind.INVALID, (_error("error.finished"),))
    if isinstance(node, MultiQuestion):
        if isinstance(given, Toggle):
            return _toggle(dialog, state, node, given.option_id)
        if isinstance(given, Submit):
            return _submit_many(dialog, state, node, tuple(state["draft"]))
        if isinstance(given, ChooseMany):
            return _submit_many(dialog, state, node, given.option_ids)
        if isinstance(given, Choose):
            return _submit_many(dialog, state, node, (given.option_id,))
        return _invalid(dialog, state, "error.pick_a_button")
    if isinstance(node, NumberQuestion):
        if not isinstance(given, Typed):
            return _invalid(dialog, state, "error.not_a_number")
        value, problem = parse_number(given.text, node)
        if problem is not None:
            return _invalid(dialog, state, problem, {"min": plain_number(node.min),
                                                     "max": plain_number(node.max)})
        return _accept(dialog, state, node, value)
    # choice or yes/no
    if isinstance(given, Typed):
        return _invalid(dialog, state, "error.pick_a_button")
    if not isinstance(given, Choose):
        return _invalid(dialog, state, "error.not_an_option")
    if given.option_id not in {option.id for option in node.options}:
        return _invalid(dialog, state, "error.not_an_option")
    return _accept(dialog, state, node, given.option_id)


def current(dialog: Dialog, state: State, kind: StepKind = StepKind.RESUMED) -> Step:
    """Show where the state stands, without changing it (to resume a conversation)."""
    return _show(dialog, copied_state(state), kind, ())


def resume(dialog: Dialog, state: State) -> Step:
    """Continue a stored session, even if the dialog was edited since it began.

    Same dialog version: carry on. Another version: replay the answers on the new dialog; if
    they no longer fit, start again and say why.
    """
    if same_dialog(dialog, state) and state["node"] in dialog.node_by_id:
        return _show(dialog, copied_state(state), StepKind.RESUMED, (_notice("info.resumed"),))
    replayed = replay(dialog, [Answer(a["node"], a["value"]) for a in state["answers"]])
    if replayed is not None:
        return _show(dialog, replayed, StepKind.RESUMED, (_notice("info.resumed"),))
    return _start_over(dialog)


def same_dialog(dialog: Dialog, state: State) -> bool:
    if "hash" in state:
        return state["hash"] == dialog.content_hash
    return (state["dialog"], state["version"]) == (dialog.id, dialog.version)


def replay(dialog: Dialog, answers: list[Answer]) -> State | None:
    """The state after giving these answers in order, or None if they do not fit the dialog."""
    state = fresh_state(dialog)
    _enter(dialog, state, dialog.start)
    for answer in answers:
        node = dialog.node_by_id.get(state["node"])
        if node is None or node.id != answer.node_id or not valid_value(node, answer.value):
            return None
        _record(dialog, state, node, answer.value)
    return state


# --- internals --------------------------------------------------------------------------


def _notice(key: str) -> Say:
    return Say(key, SayKind.NOTICE)


def _error(key: str, params: dict[str, Any] | None = None) -> Say:
    return Say(key, SayKind.ERROR, params or {})


def _invalid(dialog: Dialog, state: State, key: str, params: dict[str, Any] | None = None
             ) -> Step:
    return _show(dialog, state, StepKind.INVALID, (_error(key, params),))


def _start_over(dialog: Dialog) -> Step:
    """A fresh start, saying the session could not go on because the dialog changed."""
    fresh = start(dialog)
    return _show(dialog, fresh.state, StepKind.RESTARTED,
                 (_notice("info.dialog_updated"),) + fresh.said)


def _toggle(dialog: Dialog, state: State, node: MultiQuestion, option_id: str) -> Step:
    option = next((o for o in node.options if o.id == option_id), None)
    if option is None:
        return _invalid(dialog, state, "error.not_an_option")
    draft = list(state["draft"])
    if option_id in draft:
        draft.remove(option_id)
    elif option.exclusive:
        draft = [option_id]
    else:
        exclusive = {o.id for o in node.options if o.exclusive}
        draft = [chosen for chosen in draft if chosen not in exclusive] + [option_id]
    state["draft"] = draft
    return _show(dialog, state, StepKind.TOGGLED, ())


def _submit_many(dialog: Dialog, state: State, node: MultiQuestion, chosen: tuple[str, ...]
                 ) -> Step:
    order = [option.id for option in node.options]
    if not chosen:
        return _invalid(dialog, state, "error.pick_at_least_one")
    if any(option_id not in order for option_id in chosen):
        return _invalid(dialog, state, "error.not_an_option")
    exclusive = [o for o in node.options if o.exclusive and o.id in chosen]
    if exclusive and len(set(chosen)) > 1:
        return _invalid(dialog, state, "error.exclusive_with_others",
                        {"option": TextRef(exclusive[0].text)})
    value = sorted(set(chosen), key=order.index)
    return _accept(dialog, state, node, value)


def _accept(dialog: Dialog, state: State, node: QuestionNode, value: Any) -> Step:
    asked = _prompt(state, node)
    said, fired, outcome, passed = _record(dialog, state, node, value)
    return replace(_show(dialog, state, StepKind.ANSWERED, said, answer=Answer(node.id, value),
                         fired=fired, outcome=outcome), asked=asked, passed=passed)


def _record(dialog: Dialog, state: State, node: QuestionNode, value: Any
            ) -> tuple[tuple[Say, ...], tuple[RedFlagView, ...], Outcome | None, tuple[str, ...]]:
    """Store an answer, fire red flags that just became true, and move on.

    Only red flags reading a fact this answer set can have become true: the others saw the
    same facts at the previous answer and stayed false.
    """
    answered_before = any(answer["node"] == node.id for answer in state["answers"])
    state["answers"].append({"node": node.id, "value": value})
    state["draft"] = []
    if answered_before:  # a loop asked it again: earlier `set` facts may no longer apply
        facts = derive_facts(dialog, state["answers"])
    else:
        facts = dict(state["facts"])
        facts.update(facts_of(node, value))
    state["facts"] = facts
    changed = set(facts_of(node, value))
    fired = [flag for flag in flags_reading(dialog, changed)
             if flag.id not in state["fired"] and holds(flag.when, facts)]
    state["fired"].extend(flag.id for flag in fired)
    said = tuple(Say(flag.advice, SayKind.RED_FLAG, title=flag.title, level=flag.level)
                 for flag in fired)
    produced: Produced = answers_produced(dialog, state) if fired else []
    views = tuple(flag_view(flag, produced) for flag in fired)
    entered, outcome, passed = _enter(dialog, state, stop_of(fired) or next_of(node, facts))
    return said + entered, views, outcome, passed


def stop_of(fired: list[RedFlag]) -> str | None:
    """The ending red flags that fired together stop at: the most urgent one's (the first
    listed of equals); None if none of them stops the questions."""
    stopping = [flag for flag in fired if flag.stop_at]
    return max(stopping, key=lambda flag: flag.level.rank).stop_at if stopping else None


def next_of(node: QuestionNode | InfoNode, facts: Facts) -> str:
    """Where the dialog goes after `node` with these facts: its first branch that holds, or
    its `next`."""
    for branch in node.branches:
        if holds(branch.when, facts):
            return branch.next
    return node.next


def _enter(dialog: Dialog, state: State, node_id: str
           ) -> tuple[tuple[Say, ...], Outcome | None, tuple[str, ...]]:
    """Arrive at a node; info nodes are said and passed straight through."""
    said: list[Say] = []
    passed = [node_id]
    node = dialog.node(node_id)
    while isinstance(node, InfoNode):
        said.append(Say(node.text))
        node = dialog.node(next_of(node, state["facts"]))
        if node.id in passed:
            raise DialogBroken(f"info nodes loop for ever at '{node.id}'")
        passed.append(node.id)
    state["node"] = node.id
    outcome = build_outcome(dialog, state, node) if isinstance(node, OutcomeNode) else None
    state["outcome"] = outcome.summary() if outcome else None
    return tuple(said), outcome, tuple(passed)


def _prompt(state: State, node: QuestionNode) -> Prompt:
    if isinstance(node, NumberQuestion):
        return Prompt(node.id, node.type, node.text, len(state["answers"]), (),
                      node.min, node.max, node.integer, node.unit)
    draft = set(state["draft"])
    choices = tuple(ChoiceView(option.id, option.text, option.id in draft, option.exclusive)
                    for option in options_of(node))
    return Prompt(node.id, node.type, node.text, len(state["answers"]), choices)


def _show(dialog: Dialog, state: State, kind: StepKind, said: tuple[Say, ...],
          answer: Answer | None = None, fired: tuple[RedFlagView, ...] = (),
          outcome: Outcome | None = None) -> Step:
    node = dialog.node(state["node"])
    if isinstance(node, OutcomeNode):
        return Step(kind, state, said, outcome=outcome or build_outcome(dialog, state, node),
                    answer=answer, fired=fired)
    if not is_question(node):
        raise DialogBroken(f"the session stands on '{node.id}', which is not a question")
    return Step(kind, state, said, prompt=_prompt(state, node), answer=answer, fired=fired)


def _back(dialog: Dialog, state: State) -> Step:
    if not state["answers"]:
        return _show(dialog, state, StepKind.BACK, (_notice("info.nothing_to_undo"),))
    answers = [Answer(a["node"], a["value"]) for a in state["answers"][:-1]]
    previous = replay(dialog, answers)
    if previous is None:  # cannot happen for answers this dialog accepted; start over safely
        return _start_over(dialog)
    return _show(dialog, previous, StepKind.BACK, (_notice("info.went_back"),))
