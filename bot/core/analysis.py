"""What the rest of a dialog can still tell apart: residual conditions and answer classes.

The proofs and `kebas diff` both walk every answer path; this analysis is what keeps that walk
exhaustive and small. Answers no later condition can tell apart form one class, and states that
agree on what is still to be decided are one state.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Protocol, cast

from bot.core import graph
from bot.core.conditions import compiled, test_values, value_key
from bot.core.facts import facts_of
from bot.core.model import (
    Condition,
    Dialog,
    Facts,
    MultiQuestion,
    NumberQuestion,
    Range,
    options_of,
)
from bot.core.state import State

# --- the state abstraction --------------------------------------------------------------

# True | False | ("atom", index) | ("and", frozenset) | ("or", frozenset) | ("not", f)
Formula = Any


class AtomTest(Protocol):
    """One `fact: test` as a function of the facts, with the numbers at which its answer can
    change (`cuts`): where number answers must be split into classes."""

    cuts: set[float]

    def __call__(self, facts: Facts, /) -> bool: ...


class Analysis:
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
        self.atoms: list[tuple[str, AtomTest]] = []
        self._atom_index: dict[tuple[str, Any], int] = {}
        self.flag_formulas = {flag.id: self.formula(flag.when) for flag in dialog.red_flags}
        self.branch_formulas = {node.id: tuple(self.formula(branch.when)
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

    def formula(self, condition: Any) -> Formula:
        """`condition` over this analysis's atoms; atoms not seen before are added."""
        parts: list[Formula] = [("atom", self._atom(fact, test))
                                for fact, test in condition.tests.items()]
        if condition.all is not None:
            parts.append(("and", frozenset(self.formula(c) for c in condition.all)))
        if condition.any is not None:
            parts.append(("or", frozenset(self.formula(c) for c in condition.any)))
        if condition.not_ is not None:
            parts.append(("not", self.formula(condition.not_)))
        return parts[0] if len(parts) == 1 else ("and", frozenset(parts))

    def _atom(self, fact: str, test: Any) -> int:
        signature = (fact, _test_signature(test))
        if signature not in self._atom_index:
            self._atom_index[signature] = len(self.atoms)
            self.atoms.append((fact, _atom_test(fact, test)))
        return self._atom_index[signature]

    def residual(self, formula: Formula, facts: Facts, settable: set[str]) -> Formula:
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

    def key(self, state: State, level: int, asked: frozenset[str]) -> Any:
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
                    for cut in test.cuts}
            return number_classes(node, cuts)
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
            facts = facts_of(node, value)
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
    return ("values", frozenset(value_key(v) for v in test_values(test)))


def _atom_test(fact: str, test: Any) -> AtomTest:
    # the compiled condition itself, carrying its cuts: no wrapper on the proofs' hot path
    predicate = cast(AtomTest, compiled(Condition.model_validate({fact: test})))
    if isinstance(test, Range):
        predicate.cuts = {cut for cut in (test.min, None if test.max is None
                                          else value_after(test.max)) if cut is not None}
    else:
        predicate.cuts = {cut for value in test_values(test)
                          if isinstance(value, (int, float)) and not isinstance(value, bool)
                          for cut in (value, value_after(value))}
    return predicate


def number_classes(node: NumberQuestion, cuts: set[float]) -> list[tuple[Any, int]]:
    bounds = sorted({node.min} | {cut for cut in cuts if node.min < cut <= node.max})
    classes = []
    for index, low in enumerate(bounds):
        high = bounds[index + 1] if index + 1 < len(bounds) else value_after(node.max)
        value = int(low) if node.integer and float(low).is_integer() else low
        count = int(high - low) if node.integer else 1
        classes.append((value, max(count, 1)))
    return classes


def value_after(number: float) -> float:
    """The first value above `number` that a whole-number or decimal answer can take."""
    return number + 1 if float(number).is_integer() else number + 1e-9

