"""The dialog engine: pure and synchronous, so every path can be tested and proven.

`step(dialog, state, input)` returns the next state and what to show, as text keys and choices
that any channel can render. The state is plain JSON-able data; facts, fired red flags and the
current node are all derived from the list of answers, which is what makes back and replay
exact. Wrong input never raises: it gives the same question again with a short explanation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, TypedDict

from bot.core.conditions import facts_read, holds
from bot.core.model import (
    Dialog,
    Facts,
    InfoNode,
    MultiQuestion,
    NumberQuestion,
    OutcomeNode,
    TriageLevel,
    is_question,
    options_of,
)

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


class DialogBroken(Exception):
    """The dialog leads the engine where `kebas check` would have refused (e.g. an info loop)."""


# --- inputs -----------------------------------------------------------------------------

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


Input = Choose | ChooseMany | Toggle | Submit | Typed | Back | Restart


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


Evidence = tuple[tuple[str, Any], ...]  # (question id, answer) pairs behind a conclusion


@dataclass(frozen=True)
class RedFlagView:
    id: str
    title: str
    advice: str
    level: TriageLevel
    because: Evidence = ()


@dataclass(frozen=True)
class CauseView:
    id: str
    title: str
    explain: str
    todo: str
    points: int
    level: TriageLevel
    because: Evidence = ()     # the answers behind the rules that gave points


@dataclass(frozen=True)
class LevelSource:
    """What set the final triage level: a red flag, a cause, or the ending's own minimum."""

    kind: str                  # "red_flag" | "cause" | "floor"
    id: str
    title: str | None          # text key, for red flags and causes


@dataclass(frozen=True)
class Outcome:
    node_id: str
    text: str
    level: TriageLevel
    red_flags: tuple[RedFlagView, ...]
    causes: tuple[CauseView, ...]
    no_clear_cause: str | None     # key, when causes were wanted but none scored enough
    safety_net: str | None         # key, for every result that is not an emergency
    disclaimer: str
    level_from: tuple[LevelSource, ...] = ()   # why the level is what it is
    several_causes: str | None = None          # key, when no cause is ahead of the others

    def summary(self) -> dict[str, Any]:
        """What is stored with the session: the result and the trace of why."""
        return {"node": self.node_id, "level": self.level.value,
                "red_flags": [{"id": flag.id, "because": _listed(flag.because)}
                              for flag in self.red_flags],
                "causes": [{"id": cause.id, "points": cause.points,
                            "because": _listed(cause.because)} for cause in self.causes],
                "level_from": [{"kind": source.kind, "id": source.id}
                               for source in self.level_from]}


def _listed(evidence: Evidence) -> list[list[Any]]:
    return [[node_id, value] for node_id, value in evidence]


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
    state = _fresh(dialog)
    said, outcome, passed = _enter(dialog, state, dialog.start)
    return replace(_show(dialog, state, StepKind.STARTED, said, outcome=outcome), passed=passed)


def step(dialog: Dialog, state: State, given: Input) -> Step:
    """One move of the conversation. `state` is not modified; the new one is in the Step."""
    if isinstance(given, Restart):
        fresh = start(dialog)
        return _show(dialog, fresh.state, StepKind.RESTARTED,
                     (_notice("info.restarted"),) + fresh.said)
    state = _copy(state)
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
            return _submit_many(dialog, state, node, tuple(state.get("draft", [])))
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
    return _show(dialog, _copy(state), kind, ())


def resume(dialog: Dialog, state: State) -> Step:
    """Continue a stored session, even if the dialog was edited since it began.

    Same dialog version: carry on. Another version: replay the answers on the new dialog; if
    they no longer fit, start again and say why.
    """
    if same_dialog(dialog, state) and state.get("node") in dialog.node_by_id:
        return _show(dialog, _copy(state), StepKind.RESUMED, (_notice("info.resumed"),))
    replayed = replay(dialog, [Answer(a["node"], a["value"]) for a in state.get("answers", [])])
    if replayed is not None:
        return _show(dialog, replayed, StepKind.RESUMED, (_notice("info.resumed"),))
    fresh = start(dialog)
    return _show(dialog, fresh.state, StepKind.RESTARTED,
                 (_notice("info.dialog_updated"),) + fresh.said)


def same_dialog(dialog: Dialog, state: State) -> bool:
    if "hash" in state:
        return state["hash"] == dialog.content_hash
    return (state.get("dialog"), state.get("version")) == (dialog.id, dialog.version)


def replay(dialog: Dialog, answers: list[Answer]) -> State | None:
    """The state after giving these answers in order, or None if they do not fit the dialog."""
    state = _fresh(dialog)
    _enter(dialog, state, dialog.start)
    for answer in answers:
        node = dialog.node_by_id.get(state["node"])
        if node is None or node.id != answer.node_id or not valid_value(node, answer.value):
            return None
        _record(dialog, state, node, answer.value)
    return state


def derive_facts(dialog: Dialog, answers: list[dict[str, Any]]) -> Facts:
    facts: Facts = {}
    for answer in answers:
        node = dialog.node_by_id.get(answer["node"])
        if node is not None:
            facts.update(facts_of(node, answer["value"]))
    return facts


def facts_of(node: Any, value: Any) -> Facts:
    """The facts one answer sets: the question's own, then what its chosen options set."""
    facts: Facts = {node.id: value}
    chosen = set(value) if isinstance(value, list) else {value}
    for option in options_of(node):
        if option.id in chosen:
            facts.update(option.set)
    return facts


_FLAG_INDEX: dict[int, tuple[Dialog, dict[str, list[Any]]]] = {}


def _flags_reading(dialog: Dialog, facts: set[str]) -> list[Any]:
    """Red flags whose condition reads any of these facts, in the dialog's order."""
    entry = _FLAG_INDEX.get(id(dialog))
    if entry is None or entry[0] is not dialog:
        index: dict[str, list[Any]] = {}
        for flag in dialog.red_flags:
            for fact in facts_read(flag.when):
                index.setdefault(fact, []).append(flag)
        entry = (dialog, index)
        _FLAG_INDEX[id(dialog)] = entry
    found = {id(flag) for fact in facts for flag in entry[1].get(fact, [])}
    return [flag for flag in dialog.red_flags if id(flag) in found]


# --- number answers ---------------------------------------------------------------------

_NUMBER = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*([^\W\d_]+\.?)?\s*$")


def parse_number(text: str, node: NumberQuestion) -> tuple[float | int | None, str | None]:
    """The number in `text` ("35", "35 tahun", "1,5"), or the key of what is wrong with it."""
    match = _NUMBER.match(text or "")
    if match is None:
        return None, "error.not_a_number"
    number = float(match.group(1).replace(",", "."))
    if node.integer:
        if not number.is_integer():
            return None, "error.not_a_whole_number"
        number = int(number)
    if not node.min <= number <= node.max:
        return None, "error.number_out_of_range"
    return number, None


def plain_number(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# --- internals --------------------------------------------------------------------------


def _fresh(dialog: Dialog) -> State:
    return {"format": STATE_FORMAT, "dialog": dialog.id, "version": dialog.version,
            "hash": dialog.content_hash, "node": dialog.start, "answers": [], "facts": {},
            "fired": [], "draft": [], "outcome": None}


def _copy(state: State) -> State:
    copied = dict(state)
    for key in ("answers", "fired", "draft"):
        copied[key] = list(state.get(key) or [])
    copied["facts"] = dict(state.get("facts") or {})
    return copied


def _notice(key: str) -> Say:
    return Say(key, SayKind.NOTICE)


def _error(key: str, params: dict[str, Any] | None = None) -> Say:
    return Say(key, SayKind.ERROR, params or {})


def _invalid(dialog: Dialog, state: State, key: str, params: dict[str, Any] | None = None
             ) -> Step:
    return _show(dialog, state, StepKind.INVALID, (_error(key, params),))


def valid_value(node: Any, value: Any) -> bool:
    if isinstance(node, NumberQuestion):
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and node.min <= value <= node.max
    ids = {option.id for option in node.options}
    if isinstance(node, MultiQuestion):
        return isinstance(value, list) and bool(value) and set(value) <= ids
    return value in ids


def _toggle(dialog: Dialog, state: State, node: MultiQuestion, option_id: str) -> Step:
    option = next((o for o in node.options if o.id == option_id), None)
    if option is None:
        return _invalid(dialog, state, "error.not_an_option")
    draft = list(state.get("draft", []))
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


def _accept(dialog: Dialog, state: State, node: Any, value: Any) -> Step:
    asked = _prompt(dialog, state, node)
    said, fired, outcome, passed = _record(dialog, state, node, value)
    return replace(_show(dialog, state, StepKind.ANSWERED, said, answer=Answer(node.id, value),
                         fired=fired, outcome=outcome), asked=asked, passed=passed)


def _record(dialog: Dialog, state: State, node: Any, value: Any
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
    fired = [flag for flag in _flags_reading(dialog, changed)
             if flag.id not in state["fired"] and holds(flag.when, facts)]
    state["fired"].extend(flag.id for flag in fired)
    said = tuple(Say(flag.advice, SayKind.RED_FLAG, title=flag.title, level=flag.level)
                 for flag in fired)
    produced = _produced(dialog, state) if fired else []
    views = tuple(_flag_view(dialog, flag, produced) for flag in fired)
    stopping = [flag for flag in fired if flag.stop_at]
    if stopping:
        target = max(stopping, key=lambda flag: flag.level.rank).stop_at
    else:
        target = _next_of(node, facts)
    entered, outcome, passed = _enter(dialog, state, target)
    return said + entered, views, outcome, passed


def _next_of(node: Any, facts: Facts) -> str:
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
        node = dialog.node(_next_of(node, state["facts"]))
        if node.id in passed:
            raise DialogBroken(f"info nodes loop for ever at '{node.id}'")
        passed.append(node.id)
    state["node"] = node.id
    outcome = _outcome(dialog, state, node) if isinstance(node, OutcomeNode) else None
    state["outcome"] = outcome.summary() if outcome else None
    return tuple(said), outcome, tuple(passed)


def _flag_view(dialog: Dialog, flag: Any, produced: Produced = ()) -> RedFlagView:
    because = _read(flag.when, produced)
    return RedFlagView(flag.id, flag.title, flag.advice, flag.level, because)


def evidence(dialog: Dialog, condition: Any, state: State) -> Evidence:
    """The answers a condition read: an answer counts when a fact it produced (its own, or
    one its chosen options set) is one the condition tests."""
    return _read(condition, _produced(dialog, state))


Produced = Sequence[tuple[tuple[str, Any], frozenset[str]]]


def _read(condition: Any, produced: Produced) -> Evidence:
    wanted = facts_read(condition)
    return tuple(pair for pair, facts in produced if wanted & facts)


def _produced(dialog: Dialog, state: State) -> list[tuple[tuple[str, Any], frozenset[str]]]:
    """Each distinct answer with the names of the facts it set (computed once per outcome)."""
    found: dict[str, tuple[tuple[str, Any], frozenset[str]]] = {}
    for answer in state["answers"]:
        node = dialog.node_by_id.get(answer["node"])
        pair = (answer["node"], answer["value"])
        if node is not None and repr(pair) not in found:
            found[repr(pair)] = (pair, frozenset(facts_of(node, answer["value"])))
    return list(found.values())


def _cause_evidence(dialog: Dialog, cause_id: str, state: State, produced: Produced
                    ) -> Evidence:
    """The answers behind the rules that gave points, in the order of the rules."""
    cause = next(cause for cause in dialog.causes if cause.id == cause_id)
    found: list[tuple[str, Any]] = []
    for score in cause.score:
        if score.points > 0 and holds(score.when, state["facts"]):
            wanted = facts_read(score.when)
            found += [pair for pair, facts in produced if wanted & facts and pair not in found]
    return tuple(found)


def rank_causes(dialog: Dialog, facts: Facts) -> tuple[list[CauseView], bool]:
    """The causes to show, best first (ties keep the order of the dialog file), and whether
    several are shown because none is ahead of the others.

    With `scoring.lead`, only the smallest group of top causes that is that many points ahead
    of the next is shown (the brief's rule 6.1); when no group is, the top `max_shown` are.
    """
    ranked = []
    for cause in dialog.causes:
        points = sum(score.points for score in cause.score if holds(score.when, facts))
        if points >= dialog.scoring.min_points:
            level = next((rule.level for rule in cause.level_if if holds(rule.when, facts)),
                         cause.level)
            ranked.append(CauseView(cause.id, cause.title, cause.explain, cause.todo, points,
                                    level))
    ranked.sort(key=lambda view: -view.points)
    shown = ranked[:dialog.scoring.max_shown]
    lead = dialog.scoring.lead
    if lead is None:
        return shown, False
    for size in range(1, len(shown)):
        if ranked[size - 1].points - ranked[size].points >= lead:
            return ranked[:size], False
    return shown, len(shown) > 1


def _outcome(dialog: Dialog, state: State, node: OutcomeNode) -> Outcome:
    flags = {flag.id: flag for flag in dialog.red_flags}
    produced = _produced(dialog, state)
    red_flags = tuple(_flag_view(dialog, flags[flag_id], produced) for flag_id in state["fired"]
                      if flag_id in flags)
    ranked, several = rank_causes(dialog, state["facts"]) if node.show_causes else ([], False)
    causes = tuple(replace(view, because=_cause_evidence(dialog, view.id, state, produced))
                   for view in ranked)
    level = TriageLevel.most_urgent([node.level] + [flag.level for flag in red_flags]
                                    + [cause.level for cause in causes])
    level_from = tuple(
        [LevelSource("red_flag", flag.id, flag.title) for flag in red_flags
         if flag.level is level]
        + [LevelSource("cause", cause.id, cause.title) for cause in causes
           if cause.level is level]) or (LevelSource("floor", node.id, None),)
    return Outcome(
        node_id=node.id, text=node.text, level=level, red_flags=red_flags, causes=causes,
        no_clear_cause=dialog.texts.no_clear_cause if node.show_causes and not causes else None,
        safety_net=None if level is TriageLevel.EMERGENCY else dialog.texts.safety_net,
        disclaimer=dialog.texts.disclaimer, level_from=level_from,
        several_causes=dialog.texts.several_causes if several else None)


def _prompt(dialog: Dialog, state: State, node: Any) -> Prompt:
    draft = set(state.get("draft", []))
    choices = tuple(ChoiceView(option.id, option.text, option.id in draft, option.exclusive)
                    for option in options_of(node))
    if isinstance(node, NumberQuestion):
        return Prompt(node.id, node.type, node.text, len(state["answers"]), (),
                      node.min, node.max, node.integer, node.unit)
    return Prompt(node.id, node.type, node.text, len(state["answers"]), choices)


def _show(dialog: Dialog, state: State, kind: StepKind, said: tuple[Say, ...],
          answer: Answer | None = None, fired: tuple[RedFlagView, ...] = (),
          outcome: Outcome | None = None) -> Step:
    node = dialog.node(state["node"])
    if isinstance(node, OutcomeNode):
        return Step(kind, state, said, outcome=outcome or _outcome(dialog, state, node),
                    answer=answer, fired=fired)
    if not is_question(node):
        raise DialogBroken(f"the session stands on '{node.id}', which is not a question")
    return Step(kind, state, said, prompt=_prompt(dialog, state, node), answer=answer,
                fired=fired)


def _back(dialog: Dialog, state: State) -> Step:
    if not state["answers"]:
        return _show(dialog, state, StepKind.BACK, (_notice("info.nothing_to_undo"),))
    answers = [Answer(a["node"], a["value"]) for a in state["answers"][:-1]]
    previous = replay(dialog, answers)
    if previous is None:  # cannot happen for answers this dialog accepted; start over safely
        fresh = start(dialog)
        return _show(dialog, fresh.state, StepKind.RESTARTED,
                     (_notice("info.dialog_updated"),) + fresh.said)
    return _show(dialog, previous, StepKind.BACK, (_notice("info.went_back"),))


def answer_input(node: Any, value: Any) -> Input:
    """The engine input that gives `value` as the answer to `node`: a number is typed, a
    multi-choice gets its options (one or several), any other question its option id."""
    if isinstance(node, NumberQuestion):
        return Typed(str(value))
    if isinstance(node, MultiQuestion):
        many = value if isinstance(value, (list, tuple, set, frozenset)) else (value,)
        return ChooseMany(tuple(str(item) for item in many))
    return Choose(str(value))
