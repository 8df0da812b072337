"""Safety proofs over every answer path, by driving the real engine exhaustively.

What is proven, on every path a runner can take:
  a. it ends at an outcome, and never asks the same question twice;
  b. a red flag whose condition becomes true fires at that very answer (its advice is said
     then), and the final triage is at least its level;
  c. urgency never goes down: the final advice is at least the most urgent level reached;
  d. every outcome shows the disclaimer, and "when to seek help" unless it is an emergency;
  e. the red-flag screening questions (`screening:` in the dialog) come before any other
     question and before any outcome less urgent than `urgent`.

How it stays exhaustive and fast: answers that no later condition can tell apart are one
"answer class" (options nobody tests, numbers between the same thresholds), and states are
merged when they agree on the node and on the facts later branches and unfired red flags can
still read. Causes are left out of that key on purpose: they can only raise the final level
(it is the most urgent of floor, red flags and causes), so they cannot break a–e. Breadth-
first order makes the first path found to any state a shortest one, which is what a
violation reports, ready to paste as a scenario.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core import engine
from bot.core.analysis import Analysis
from bot.core.conditions import holds
from bot.core.engine import StepKind
from bot.core.inputs import answer_input
from bot.core.model import Dialog, OutcomeNode, TriageLevel
from bot.core.outcome import Outcome
from bot.core.state import State

URGENT_RANK = TriageLevel.URGENT.rank
# reports a violation: property, message, the state it was found at, the answer that broke
# it (if any) and where in the dialog
Violate = Callable[[str, str, Any, tuple[str, Any] | None, tuple[str, str]], None]


@dataclass(frozen=True)
class Violation:
    prop: str                     # "a" .. "e"
    message: str
    answers: tuple[tuple[str, Any], ...]
    where: tuple[str, str]        # ("node" | "red_flag" | "dialog", id)

    def scenario(self) -> str:
        """The shortest path to the violation, as a scenario a maintainer can paste.

        Scenario answers are one per question; a question asked again on a looping path gets
        its first answer again, and a different later answer is kept as a comment.
        """
        lines = [f"- name: \"property {self.prop}: {self.message}\"", "  answers:"]
        given: dict[str, Any] = {}
        for node, value in self.answers:
            if node not in given:
                given[node] = value
                lines.append(f"    {node}: {_yaml_value(value)}")
            elif given[node] != value:
                lines.append(f"    # then '{node}' again: {_yaml_value(value)}")
        return "\n".join(lines)


@dataclass
class ProofReport:
    violations: list[Violation] = field(default_factory=list)
    states: int = 0
    paths: int = 0
    longest_questions: int = 0
    longest_answers: tuple[tuple[str, Any], ...] = ()
    screening_declared: bool = True
    transitions: set[tuple[str, str]] = field(default_factory=set)  # those a path can take

    @property
    def holds(self) -> bool:
        return not self.violations


@dataclass
class _Node:
    state: State
    parent: Any = None
    answer: tuple[str, Any] | None = None
    children: list[tuple[Any, int]] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)   # the answer behind each child link
    level: int = -1               # most urgent rank reached so far
    asked: frozenset[str] = frozenset()
    outcome: bool = False
    result: Outcome | None = None   # the result shown on arriving, for outcomes


def prove(dialog: Dialog, limit: int = 200_000) -> ProofReport:
    analysis = Analysis(dialog)
    report = ProofReport(screening_declared=bool(dialog.screening))
    first = engine.start(dialog)
    report.transitions.update(zip(first.passed, first.passed[1:]))
    start_key = analysis.key(first.state, -1, frozenset())
    nodes: dict[Any, _Node] = {start_key: _Node(first.state)}
    queue = deque([start_key])
    reported: set[tuple[str, str, str]] = set()

    def violate(prop: str, message: str, key: Any, extra: tuple[str, Any] | None,
                where: tuple[str, str]) -> None:
        if (prop, *where) in reported:
            return  # one (shortest) example per rule and place is enough
        reported.add((prop, *where))
        answers = _path(nodes, key) + ((extra,) if extra else ())
        report.violations.append(Violation(prop, message, answers, where))

    while queue:
        key = queue.popleft()
        here = nodes[key]
        state = here.state
        node = dialog.node(state["node"])
        if isinstance(node, OutcomeNode):
            here.outcome = True
            _check_outcome(dialog, analysis, state, here, key, violate)
            continue
        for value, count in analysis.answer_classes(node):
            step = engine.step(dialog, state, answer_input(node, value))
            answer = (node.id, value)
            if step.kind is not StepKind.ANSWERED:
                raise AssertionError(f"the engine refused {answer}: {step.said}")
            walked = (node.id,) + step.passed
            report.transitions.update(zip(walked, walked[1:]))
            level = max([here.level] + [flag.level.rank for flag in step.fired])
            asked = here.asked | {node.id}
            child = analysis.key(step.state, level, asked)
            _check_step(dialog, analysis, step, here, key, child, answer, violate)
            if child not in nodes:
                if len(nodes) >= limit:
                    raise ProofTooLarge(limit)
                nodes[child] = _Node(step.state, key, answer, level=level, asked=asked,
                                     result=step.outcome)
                queue.append(child)
            here.children.append((child, count))
            here.values.append(value)

    report.states = len(nodes)
    loop = _find_loop(nodes, start_key)
    if loop is not None:
        node_id = nodes[loop].state["node"]
        violate("a", f"a path can go round for ever through '{node_id}' without ending",
                loop, None, ("node", node_id))
        return report
    report.paths, report.longest_questions, report.longest_answers = _count(nodes, start_key)
    return report


class ProofTooLarge(Exception):
    """The dialog has more distinct situations than the prover will explore."""


# --- checks -----------------------------------------------------------------------------


def _check_step(dialog: Dialog, analysis: Analysis, step: engine.Step, here: _Node, key: Any,
                child: Any, answer: tuple[str, Any], violate: Violate) -> None:
    node_id = answer[0]
    if node_id in here.asked:
        violate("a", f"question '{node_id}' is asked twice on one path", key, None,
                ("node", node_id))
    if dialog.screening and node_id not in analysis.screening \
            and not analysis.screening <= here.asked:
        missing = sorted(analysis.screening - here.asked)
        violate("e", f"question '{node_id}' comes before the screening question(s) "
                f"{', '.join(missing)}", key, None, ("node", node_id))
    said = {said.key for said in step.said if said.kind is engine.SayKind.RED_FLAG}
    for flag in step.fired:
        if flag.advice not in said:
            violate("b", f"red flag '{flag.id}' fired but its advice was not shown at once",
                    key, answer, ("red_flag", flag.id))
    unfired_true = analysis.true_but_unfired(child) if not analysis.cyclic else [
        flag.id for flag in dialog.red_flags
        if flag.id not in step.state["fired"] and holds(flag.when, step.state["facts"])]
    for flag_id in unfired_true:
        violate("b", f"red flag '{flag_id}' became true but did not fire at once", key,
                answer, ("red_flag", flag_id))


def _check_outcome(dialog: Dialog, analysis: Analysis, state: State, here: _Node,
                   key: Any, violate: Violate) -> None:
    outcome = here.result or engine.current(dialog, state).outcome
    assert outcome is not None
    final = outcome.level.rank
    for flag_id in state["fired"]:  # merged states share the most urgent level, checked in c
        flag = analysis.flags[flag_id]
        if final < flag.level.rank:
            violate("b", f"red flag '{flag_id}' fired but the result says "
                    f"'{outcome.level.value}'", key, None, ("red_flag", flag_id))
    if final < here.level:
        violate("c", f"the result '{outcome.level.value}' at '{outcome.node_id}' is less "
                f"urgent than what was already reached", key, None, ("node", outcome.node_id))
    if not outcome.disclaimer:
        violate("d", f"outcome '{outcome.node_id}' shows no disclaimer", key, None,
                ("node", outcome.node_id))
    if outcome.level is not TriageLevel.EMERGENCY and not outcome.safety_net:
        violate("d", f"outcome '{outcome.node_id}' does not say when to seek help", key, None,
                ("node", outcome.node_id))
    # Judged without the causes: merged states may differ in them, and a cause lifting one
    # path to "urgent" must not hide a sibling path that ends below it.
    floor = max([dialog.node(outcome.node_id).level.rank, here.level])
    if dialog.screening and floor < URGENT_RANK and not analysis.screening <= here.asked:
        missing = sorted(analysis.screening - here.asked)
        violate("e", f"outcome '{outcome.node_id}' can be reached below 'urgent' without "
                f"asking {', '.join(missing)}", key, None, ("node", outcome.node_id))


# --- walking the explored graph ----------------------------------------------------------


def _path(nodes: dict[Any, _Node], key: Any) -> tuple[tuple[str, Any], ...]:
    answers = []
    while key is not None and nodes[key].answer is not None:
        answers.append(nodes[key].answer)
        key = nodes[key].parent
    return tuple(reversed(answers))


def _find_loop(nodes: dict[Any, _Node], start: Any) -> Any | None:
    """A state from which the runner can come back to it without reaching an outcome."""
    colour: dict[Any, int] = {}
    stack = [(start, iter(nodes[start].children))]
    colour[start] = 1
    while stack:
        key, children = stack[-1]
        advanced = False
        for child, _count in children:
            if colour.get(child) == 1:
                return child
            if child not in colour:
                colour[child] = 1
                stack.append((child, iter(nodes[child].children)))
                advanced = True
                break
        if not advanced:
            colour[key] = 2
            stack.pop()
    return None


def _post_order(nodes: dict[Any, _Node], start: Any) -> list[Any]:
    """States with every child before its parents (no recursion: big dialogs are deep)."""
    order: list[Any] = []
    seen = {start}
    stack = [(start, iter(nodes[start].children))]
    while stack:
        key, children = stack[-1]
        for child, _count in children:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(nodes[child].children)))
                break
        else:
            order.append(key)
            stack.pop()
    return order


def _count(nodes: dict[Any, _Node], start: Any
           ) -> tuple[int, int, tuple[tuple[str, Any], ...]]:
    """Distinct answer paths, the most questions on one path, and that path's answers."""
    paths: dict[Any, int] = {}
    depth: dict[Any, int] = {}
    deepest: dict[Any, int] = {}  # state -> index of the link on its longest way down
    for key in _post_order(nodes, start):
        node = nodes[key]
        if not node.children:
            paths[key] = 1 if node.outcome else 0
            depth[key] = 0
            continue
        paths[key] = sum(count * paths[child] for child, count in node.children)
        deepest[key] = max(range(len(node.children)),
                           key=lambda index: depth[node.children[index][0]])
        depth[key] = depth[node.children[deepest[key]][0]] + 1
    answers, key = [], start
    while key in deepest:
        node = nodes[key]
        answers.append((node.state["node"], node.values[deepest[key]]))
        key = node.children[deepest[key]][0]
    return paths[start], depth[start], tuple(answers)


def _yaml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    if isinstance(value, str) and value in ("yes", "no", "on", "off", "true", "false"):
        return f'"{value}"'
    return str(value)
