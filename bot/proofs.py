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
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from bot import engine, graph
from bot.conditions import compiled, holds, test_values
from bot.engine import Choose, ChooseMany, Input, StepKind, Typed
from bot.model import (Condition, Dialog, MultiQuestion, NumberQuestion, OutcomeNode, Range,
                       TriageLevel, options_of)

URGENT_RANK = TriageLevel.URGENT.rank


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
    state: engine.State
    parent: Any = None
    answer: tuple[str, Any] | None = None
    children: list[tuple[Any, int]] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)   # the answer behind each child link
    level: int = -1               # most urgent rank reached so far
    asked: frozenset[str] = frozenset()
    outcome: bool = False
    result: engine.Outcome | None = None   # the result shown on arriving, for outcomes


def prove(dialog: Dialog, limit: int = 200_000) -> ProofReport:
    analysis = _Analysis(dialog)
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
            step = engine.step(dialog, state, _input(node, value))
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


def _check_step(dialog: Dialog, analysis: _Analysis, step: engine.Step, here: _Node, key: Any,
                child: Any, answer: tuple[str, Any], violate: Any) -> None:
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


def _check_outcome(dialog: Dialog, analysis: _Analysis, state: engine.State, here: _Node,
                   key: Any, violate: Any) -> None:
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


# --- the state abstraction --------------------------------------------------------------

Formula = Any  # True | False | ("atom", index) | ("and", frozenset) | ("or", frozenset) | ("not", f)


class _Analysis:
    """What the rest of the dialog can still tell apart, as residual conditions.

    Every `fact: test` in a branch or red-flag condition is an atom. A state's future depends
    only on its node, its fired red flags and on what the unfired red flags and the branches
    ahead still have to decide: the conditions with every known answer substituted in.
    """

    def __init__(self, dialog: Dialog) -> None:
        self.dialog = dialog
        self.flags = {flag.id: flag for flag in dialog.red_flags}
        self.screening = frozenset(dialog.screening)
        edges = graph.edges(dialog)
        self.cyclic = bool(graph.trapped_cycles(edges, set(edges)))  # any loop at all
        self.atoms: list[tuple[str, Any]] = []
        self._atom_index: dict[tuple[str, Any], int] = {}
        self.flag_formulas = {flag.id: self._formula(flag.when) for flag in dialog.red_flags}
        self.branch_formulas = {node.id: tuple(self._formula(branch.when)
                                               for branch in getattr(node, "branches", []))
                                for node in dialog.nodes}
        self.ahead = {node.id: sorted(n for n in graph.reachable(node.id, edges)
                                      if self.branch_formulas[n]) for node in dialog.nodes}
        settable = {node.id: graph.facts_set_by(node) for node in dialog.nodes}
        self.settable_after = {node.id: set().union(*(settable[n] for n in
                                                      graph.reachable(node.id, edges)))
                               for node in dialog.nodes}
        self._classes: dict[str, list[tuple[Any, int]]] = {}

    # conditions as formulas over atoms

    def _formula(self, condition: Any) -> Formula:
        parts = [("atom", self._atom(fact, test)) for fact, test in condition.tests.items()]
        if condition.all is not None:
            parts.append(("and", frozenset(self._formula(c) for c in condition.all)))
        if condition.any is not None:
            parts.append(("or", frozenset(self._formula(c) for c in condition.any)))
        if condition.not_ is not None:
            parts.append(("not", self._formula(condition.not_)))
        return parts[0] if len(parts) == 1 else ("and", frozenset(parts))

    def _atom(self, fact: str, test: Any) -> int:
        signature = (fact, _test_signature(test))
        if signature not in self._atom_index:
            self._atom_index[signature] = len(self.atoms)
            self.atoms.append((fact, _compile_test(fact, test)))
        return self._atom_index[signature]

    def residual(self, formula: Formula, facts: engine.Facts, settable: set[str]) -> Formula:
        kind = formula[0]
        if kind == "atom":
            fact, test = self.atoms[formula[1]]
            if fact in facts:
                return test(facts)
            return formula if fact in settable else False
        if kind == "not":
            inner = self.residual(formula[1], facts, settable)
            return (not inner) if isinstance(inner, bool) else ("not", inner)
        parts = set()
        for part in formula[1]:
            value = self.residual(part, facts, settable)
            if value is (kind == "or"):      # True decides an "or", False an "and"
                return value
            if not isinstance(value, bool):
                parts.add(value)
        if not parts:
            return kind == "and"
        return next(iter(parts)) if len(parts) == 1 else (kind, frozenset(parts))

    def true_but_unfired(self, key: Any) -> list[str]:
        """Red flags whose condition holds (residual True) although the engine did not fire them."""
        if self.cyclic:
            return []  # checked by evaluating, see _check_step
        return [flag_id for flag_id, residual in key[1] if residual is True]

    def key(self, state: engine.State, level: int, asked: frozenset[str]) -> Any:
        node_id = state["node"]
        fired = frozenset(state["fired"])
        facts = state["facts"]
        if self.cyclic:  # answers can change: no substitution, the exact facts decide
            exact = tuple(sorted((fact, repr(value)) for fact, value in facts.items()))
            return (node_id, exact, fired, level, asked)
        settable = self.settable_after[node_id]
        flags = frozenset((flag_id, residual) for flag_id, formula in self.flag_formulas.items()
                          if flag_id not in fired and
                          (residual := self.residual(formula, facts, settable)) is not False)
        branches = tuple((node, tuple(self.residual(f, facts, settable)
                                      for f in self.branch_formulas[node]))
                         for node in self.ahead[node_id])
        # Which flags fired does not matter ahead: unfired ones are in `flags`, and the fired
        # ones only through the most urgent level they reached.
        return (node_id, flags, branches, level, asked & self.screening)

    # answers

    def answer_classes(self, node: Any) -> list[tuple[Any, int]]:
        """One representative answer per class no condition can tell apart, with its count."""
        if node.id not in self._classes:
            self._classes[node.id] = self._merge_by_atoms(node, self._candidates(node))
        return self._classes[node.id]

    def _candidates(self, node: Any) -> list[tuple[Any, int]]:
        if isinstance(node, NumberQuestion):
            cuts = {cut for fact, test in self.atoms if fact == node.id
                    for cut in getattr(test, "cuts", ())}
            return _number_classes(node, cuts)
        groups: dict[Any, list[str]] = {}
        exclusive = []
        for option in options_of(node):
            if option.exclusive:
                exclusive.append(option.id)
                continue
            groups.setdefault(self._signature(node, option), []).append(option.id)
        if not isinstance(node, MultiQuestion):
            return [(ids[0], len(ids)) for ids in groups.values()] + [(i, 1) for i in exclusive]
        return [([option_id], 1) for option_id in exclusive] + group_choices(groups.values())

    def _signature(self, node: Any, option: Any) -> Any:
        """Options that every atom sees alike are interchangeable."""
        return tuple(test({**option.set, node.id: [option.id]})
                     if fact == node.id or fact in option.set else None
                     for fact, test in self.atoms)

    def _merge_by_atoms(self, node: Any, candidates: list[tuple[Any, int]]
                        ) -> list[tuple[Any, int]]:
        merged: dict[Any, list[Any]] = {}
        for value, count in candidates:
            facts = engine._facts_of(node, value)
            vector = tuple(test(facts) if fact in facts else None for fact, test in self.atoms)
            if vector in merged:
                merged[vector][1] += count
            else:
                merged[vector] = [value, count]
        return [(value, count) for value, count in merged.values()]


def group_choices(groups: Any) -> list[tuple[list[str], int]]:
    """Multiple-choice answers, one per non-empty set of groups of interchangeable options:
    the first option of each chosen group, and how many real answers it stands for."""
    members = list(groups)
    choices = []
    for size in range(1, len(members) + 1):
        for chosen in combinations(members, size):
            count = 1
            for ids in chosen:
                count *= 2 ** len(ids) - 1   # at least one option of each chosen group
            choices.append(([ids[0] for ids in chosen], count))
    return choices


def _test_signature(test: Any) -> Any:
    if isinstance(test, Range):
        return ("range", test.min, test.max)
    return ("values", frozenset(_tag(v) for v in test_values(test)))


def _compile_test(fact: str, test: Any) -> Any:
    predicate = compiled(Condition.model_validate({fact: test}))
    if isinstance(test, Range):
        predicate.cuts = {cut for cut in (test.min, None if test.max is None
                                          else _after(test.max)) if cut is not None}
    else:
        predicate.cuts = {cut for value in test_values(test)
                          if isinstance(value, (int, float)) and not isinstance(value, bool)
                          for cut in (value, _after(value))}
    return predicate


def _number_classes(node: NumberQuestion, cuts: set[float]) -> list[tuple[Any, int]]:
    bounds = sorted({node.min} | {cut for cut in cuts if node.min < cut <= node.max})
    classes = []
    for index, low in enumerate(bounds):
        high = bounds[index + 1] if index + 1 < len(bounds) else _after(node.max)
        value = int(low) if node.integer and float(low).is_integer() else low
        count = int(high - low) if node.integer else 1
        classes.append((value, max(count, 1)))
    return classes


def _after(number: float) -> float:
    """The first value above `number` that a whole-number or decimal answer can take."""
    return number + 1 if float(number).is_integer() else number + 1e-9


def _tag(value: Any) -> tuple[bool, Any]:
    return (isinstance(value, bool), value)


def _input(node: Any, value: Any) -> Input:
    if isinstance(node, NumberQuestion):
        return Typed(str(value))
    if isinstance(node, MultiQuestion):
        return ChooseMany(tuple(value))
    return Choose(value)


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
