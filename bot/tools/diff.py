"""What an edit changes for runners: the answer paths whose ending, triage, red flags or
causes differ between two versions of a dialog.

Both versions are driven together by the real engine, with one set of answers: a question
both versions ask gets the same answer in both.

Two passes, because one exact pass over causes is out of reach: cause points add up over many
multiple-choice answers, so the shipped dialog has more distinct point tallies than can be
listed.
  1. Every path, exactly: the ending, the red flags that fired, and the triage level those two
     guarantee. Answers no branch or red-flag condition can tell apart are one class, and
     situations merge when both versions agree on everything still to be decided (as the
     safety prover does), so all paths are counted and each change comes with a shortest path.
  2. Causes and the final triage (which causes can raise) on a fixed-seed sample of paths,
     drawn over the answer classes that the cause rules tell apart too: some at random, most
     steered past the red flags towards each cause and each calm ending in turn, so every
     cause gets to lead on the way to every ending.

`compare` is pure; `diff_report` puts its result in words for `kebas diff`. The first pass
can take a minute on the shipped dialog, so `compare` tells a `Progress` how far it has got.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core import engine, inputs, outcome, state
from bot.core.analysis import Analysis, Formula, group_choices, number_classes, value_after
from bot.core.conditions import holds
from bot.core.engine import StepKind
from bot.core.facts import facts_of
from bot.core.inputs import answer_input
from bot.core.model import (
    Dialog,
    Facts,
    MultiQuestion,
    NumberQuestion,
    OutcomeNode,
    TriageLevel,
    is_question,
    options_of,
)

OLD, NEW = 0, 1
SIDE_NAMES = ("old", "new")

# Told (phase, done, total) as the comparison goes: "every path" counts the situations
# explored so far (the total is unknown until the end: None), "sample" the paths drawn.
Progress = Callable[[str, int, "int | None"], None]
EVERY_PATH, SAMPLE = "every path", "sample"
EXPLORED_STRIDE = 500   # situations between two reports: often enough to see it move
SAMPLED_STRIDE = 25


def silent(phase: str, done: int, total: int | None) -> None:
    """The `Progress` of a caller that does not watch."""


@dataclass(frozen=True)
class Result:
    """What a runner is told at the end of one path (causes only in the sampled pass)."""

    node: str
    level: TriageLevel
    causes: tuple[str, ...]       # shown, best first
    red_flags: tuple[str, ...]    # fired on the way

    @classmethod
    def of(cls, dialog: Dialog, outcome: outcome.Outcome, with_causes: bool) -> Result:
        flags = tuple(flag.id for flag in outcome.red_flags)
        if with_causes:
            return cls(outcome.node_id, outcome.level, tuple(c.id for c in outcome.causes), flags)
        # the most urgent of the ending's own level and the red flags' (most_urgent's rule)
        levels = [dialog.node(outcome.node_id).level, *(flag.level for flag in outcome.red_flags)]
        return cls(outcome.node_id, max(levels, key=lambda level: level.rank), (), flags)


# One answer on an example path: (question id, value, side) where side is None when both
# versions took the answer, else OLD or NEW (the other version could not take it).
Given = tuple[str, Any, int | None]
# Each pair of results (old, new) that some paths end in: [how many paths, a shortest one].
Found = dict[tuple[Result, Result], list[Any]]
# A cause's score rules (condition, points) and its level_if rules (condition, level).
CauseRules = tuple[tuple[tuple[Formula, int], ...], tuple[tuple[Formula, TriageLevel], ...]]


@dataclass(frozen=True)
class Change:
    old: Result
    new: Result
    paths: int                     # how many answer paths end like this
    example: tuple[Given, ...]     # a shortest one

    @property
    def less_urgent(self) -> bool:
        return self.new.level.rank < self.old.level.rank

    @property
    def more_urgent(self) -> bool:
        return self.new.level.rank > self.old.level.rank

    @property
    def changed(self) -> list[str]:
        return [part for part in ("level", "node", "causes", "red_flags")
                if getattr(self.old, part) != getattr(self.new, part)]


@dataclass
class Pass:
    """One pass of the comparison: how many paths it looked at, and what changed on them."""

    paths: int = 0
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)   # less urgent first, then by paths

    @property
    def changed_paths(self) -> int:
        return self.paths - self.unchanged

    @property
    def lowered(self) -> list[Change]:
        return [change for change in self.changes if change.less_urgent]

    def add(self, before: Result, after: Result, paths: int, example: tuple[Given, ...]) -> None:
        self.paths += paths
        if before == after:
            self.unchanged += paths
        else:
            self.changes.append(Change(before, after, paths, example))

    def sort(self) -> None:
        self.changes.sort(key=lambda c: (not c.less_urgent, c.new.level.rank - c.old.level.rank,
                                         -c.paths, len(c.example)))


@dataclass
class DiffReport:
    old: Dialog
    new: Dialog
    every_path: Pass              # endings, red flags and the level they guarantee
    sampled: Pass                 # causes and the final level, on a sample

    @property
    def changed(self) -> bool:
        return bool(self.every_path.changes or self.sampled.changes)

    @property
    def lowered(self) -> bool:
        return bool(self.every_path.lowered or self.sampled.lowered)


class DiffTooLarge(Exception):
    """The two versions together have more distinct situations than the comparison explores."""


# --- the comparison ----------------------------------------------------------------------


class _Side:
    """One version: its engine and what its conditions (branches, red flags, causes) read."""

    def __init__(self, dialog: Dialog, with_causes: bool) -> None:
        self.dialog = dialog
        self.with_causes = with_causes
        self.analysis = Analysis(dialog)
        # calm endings that only a branch leads to, and the conditions of those branches
        self.routes: dict[str, list[Any]] = {}
        for node in dialog.nodes:
            for branch in getattr(node, "branches", []):
                target = dialog.node_by_id.get(branch.next)
                if isinstance(target, OutcomeNode) and target.level is not TriageLevel.EMERGENCY:
                    self.routes.setdefault(branch.next, []).append(
                        self.analysis.formula(branch.when))
        self.cause_rules: tuple[CauseRules, ...] = ()
        if not with_causes:
            return
        self.cause_rules = tuple(
            (tuple((self.analysis.formula(rule.when), rule.points) for rule in cause.score),
             tuple((self.analysis.formula(rule.when), rule.level) for rule in cause.level_if))
            for cause in dialog.causes)

    @property
    def atoms(self) -> list[tuple[str, Any]]:
        return self.analysis.atoms

    def key(self, state: state.State) -> Any:
        """Everything this version's future can depend on, with known answers substituted."""
        analysis = self.analysis
        if analysis.cyclic:
            exact = tuple(sorted((fact, repr(value)) for fact, value in state["facts"].items()))
            return (state["node"], exact, frozenset(state["fired"]))
        settable = analysis.settable_after[state["node"]]
        causes = tuple(self._cause_key(scores, levels, state["facts"], settable)
                       for scores, levels in self.cause_rules)
        return (analysis.key(state, -1, frozenset()), frozenset(state["fired"]), causes)

    def _cause_key(self, scores: tuple[tuple[Formula, int], ...],
                   levels: tuple[tuple[Formula, TriageLevel], ...], facts: Facts,
                   settable: set[str]) -> Any:
        """A cause's points so far and the rules still open; the first level rule that holds."""
        points, open_scores = 0, []
        for formula, worth in scores:
            residual = self.analysis.residual(formula, facts, settable)
            if residual is True:
                points += worth
            elif residual is not False:
                open_scores.append((residual, worth))
        open_levels: list[Any] = []
        for formula, level in levels:
            residual = self.analysis.residual(formula, facts, settable)
            if residual is True:
                open_levels.append(level)
                break
            if residual is not False:
                open_levels.append((residual, level))
        return points, tuple(open_scores), tuple(open_levels)

    def vector(self, question: str, value: Any) -> Any:
        """How this version's conditions see an answer, or None if it cannot take it."""
        node = self.dialog.node_by_id.get(question)
        if node is None or isinstance(node, OutcomeNode) or not inputs.valid_value(node, value):
            return None
        facts = facts_of(node, value)
        return tuple(test(facts) if fact in facts else None for fact, test in self.atoms)


@dataclass
class _Walker:
    """Where one version stands: its state, or its result once it has ended."""

    state: state.State
    result: Result | None = None


class _Comparison:
    def __init__(self, old: Dialog, new: Dialog, with_causes: bool, limit: int = 0,
                 progress: Progress = silent) -> None:
        self.sides = (_Side(old, with_causes), _Side(new, with_causes))
        self.limit = limit
        self.progress = progress
        self.memo: dict[Any, Found] = {}
        self.moves: dict[tuple[int, Any, str], _Walker | None] = {}
        self._classes: dict[tuple[str, int | None], list[tuple[Any, int]]] = {}

    def first(self) -> tuple[_Walker, ...]:
        return tuple(self.walker(side, engine.start(side.dialog)) for side in self.sides)

    @staticmethod
    def walker(side: _Side, step: engine.Step) -> _Walker:
        if step.outcome is None:
            return _Walker(step.state)
        return _Walker(step.state, Result.of(side.dialog, step.outcome, side.with_causes))

    def run(self) -> Found:
        self.progress(EVERY_PATH, 0, None)
        found = self.explore(self.first(), {})
        self.progress(EVERY_PATH, len(self.memo), len(self.memo))
        return found

    def sample(self, count: int, seed: int) -> Found:
        """`count` joint paths: a third with every answer drawn at random among the classes,
        the rest steered (`_steer`) towards each cause, and each calm ending, in turn.

        Drawn uniformly, nearly every path leaves at the red-flag screening (its first
        questions have many answers that fire a flag), so causes would hardly be compared.
        """
        chance = random.Random(seed)
        causes = sorted({cause.id for side in self.sides for cause in side.dialog.causes})
        endings = sorted({ending for side in self.sides for ending in side.routes})
        targets = [(cause, ending) for cause in causes for ending in [None, *endings]]
        found: Found = {}
        for number in range(count):
            if number % SAMPLED_STRIDE == 0:
                self.progress(SAMPLE, number, count)
            target = targets[number % len(targets)] if targets and number % 3 else None
            walkers = self.first()
            given: dict[Any, Any] = {}
            path: list[Given] = []
            while True:
                walkers = tuple(self.advance(i, w, given) for i, w in enumerate(walkers))
                pair = _ended(walkers)
                if pair is not None:
                    break
                index, question, own = self.needed(walkers, given)
                classes = self.classes(question, index if own else None)
                value = (chance.choice(classes)[0] if target is None
                         else self._steer(walkers, question, classes, target, chance))
                given[(index, question) if own else question] = value
                path.append((question, value, index if own else None))
            if pair not in found:
                found[pair] = [0, tuple(path)]
            elif len(path) < len(found[pair][1]):
                found[pair][1] = tuple(path)
            found[pair][0] += 1
        self.progress(SAMPLE, count, count)
        return found

    STEER_CLASSES = 16   # answer classes weighed per question: enough to steer, cheap to do

    def _steer(self, walkers: tuple[_Walker, ...], question: str,
               classes: list[tuple[Any, int]], target: tuple[str, str | None],
               chance: random.Random) -> Any:
        """An answer that fires no new red flag where one can, keeps a branch to the target
        ending open, and most often (70 %) gives the target cause the most points."""
        cause_id, ending = target
        weighed = chance.sample(classes, min(len(classes), self.STEER_CLASSES))
        scored = []
        for value, _count in weighed:
            alarms = closed = points = 0
            for side, walker in zip(self.sides, walkers):
                if walker.result is not None or walker.state["node"] != question:
                    continue
                node = side.dialog.node(question)
                if not is_question(node) or not inputs.valid_value(node, value):
                    continue
                facts = {**walker.state["facts"], **facts_of(node, value)}
                alarms += sum(flag.id not in walker.state["fired"] and holds(flag.when, facts)
                              for flag in side.dialog.red_flags)
                if ending is not None and ending in side.routes:
                    settable = side.analysis.settable_after[question]
                    closed += all(side.analysis.residual(route, facts, settable) is False
                                  for route in side.routes[ending])
                points += sum(rule.points for cause in side.dialog.causes if cause.id == cause_id
                              for rule in cause.score if holds(rule.when, facts))
            scored.append(((alarms, closed), -points, value))
        calm = min(rank for rank, _points, _value in scored)
        choices = [(points, value) for rank, points, value in scored if rank == calm]
        if chance.random() < 0.3:
            return chance.choice(choices)[1]
        best = min(points for points, _value in choices)
        return chance.choice([value for points, value in choices if points == best])

    def explore(self, walkers: tuple[_Walker, ...], given: dict[Any, Any]) -> Found:
        walkers = tuple(self.advance(index, walker, given) for index, walker in enumerate(walkers))
        pair = _ended(walkers)
        if pair is not None:
            return {pair: [1, ()]}
        key = (tuple(self.sides[i].key(w.state) if w.result is None else w.result
                     for i, w in enumerate(walkers)), self.pending(walkers, given))
        if key in self.memo:
            return self.memo[key]
        if self.limit and len(self.memo) >= self.limit:
            raise DiffTooLarge(self.limit)
        index, question, own = self.needed(walkers, given)
        found: Found = {}
        for value, count in self.classes(question, index if own else None):
            answer_key = (index, question) if own else question
            below = self.explore(walkers, {**given, answer_key: value})
            step: Given = (question, value, index if own else None)
            for pair, (paths, example) in below.items():
                if pair not in found:
                    found[pair] = [0, (step,) + example]
                elif len(example) + 1 < len(found[pair][1]):
                    found[pair][1] = (step,) + example
                found[pair][0] += count * paths
        self.memo[key] = found
        if len(self.memo) % EXPLORED_STRIDE == 0:
            self.progress(EVERY_PATH, len(self.memo), None)
        return found

    def advance(self, index: int, walker: _Walker, given: dict[Any, Any]) -> _Walker:
        """Answer what this version asks from the answers already given, as far as they go."""
        dialog = self.sides[index].dialog
        while walker.result is None:
            node = dialog.node(walker.state["node"])
            value = given.get((index, node.id), given.get(node.id, _MISSING))
            if value is _MISSING:
                return walker
            move = (index, self.sides[index].key(walker.state), repr(value))
            if move not in self.moves:   # the key decides the future, so one step serves all
                step = engine.step(dialog, walker.state, answer_input(node, value))
                self.moves[move] = (self.walker(self.sides[index], step)
                                    if step.kind is StepKind.ANSWERED else None)
            moved = self.moves[move]
            if moved is None:
                return walker   # the other version's answer does not fit here: ask anew
            walker = moved
        return walker

    def needed(self, walkers: tuple[_Walker, ...], given: dict[Any, Any]
               ) -> tuple[int, str, bool]:
        """The next question to branch on: (version, question id, whether only that version
        takes the answer because the shared one does not fit it)."""
        for index, walker in enumerate(walkers):
            if walker.result is None:
                question = walker.state["node"]
                return index, question, question in given
        raise AssertionError("both versions have ended")

    def pending(self, walkers: tuple[_Walker, ...], given: dict[Any, Any]
                ) -> frozenset[tuple[Any, str]]:
        """Answers given that a version still waiting may yet be asked for."""
        left = []
        for answer_key, value in given.items():
            sides = [answer_key[0]] if isinstance(answer_key, tuple) else [OLD, NEW]
            question = answer_key[1] if isinstance(answer_key, tuple) else answer_key
            if any(walkers[i].result is None and question in self.sides[i].dialog.node_by_id
                   and question not in _answered(walkers[i].state) for i in sides):
                left.append((answer_key, repr(value)))
        return frozenset(left)

    # answer classes

    def classes(self, question: str, only: int | None) -> list[tuple[Any, int]]:
        """One answer per class that neither version can tell apart, with how many it stands for."""
        if (question, only) not in self._classes:
            sides = [self.sides[only]] if only is not None else list(self.sides)
            nodes = [side.dialog.node_by_id[question] for side in sides
                     if question in side.dialog.node_by_id]
            candidates = _candidates(nodes, sides)
            merged: dict[Any, list[Any]] = {}   # vector -> [an answer, how many it stands for]
            for value, count in candidates:
                vector = tuple(side.vector(question, value) for side in sides)
                if all(part is None for part in vector):
                    continue
                if vector in merged:
                    merged[vector][1] += count
                else:
                    merged[vector] = [value, count]
            self._classes[(question, only)] = [(value, count) for value, count in merged.values()]
        return self._classes[(question, only)]


_MISSING = object()


def _ended(walkers: tuple[_Walker, ...]) -> tuple[Result, Result] | None:
    """The two results once both versions have ended; None while one still asks."""
    old, new = walkers[OLD].result, walkers[NEW].result
    return None if old is None or new is None else (old, new)


def _answered(state: state.State) -> set[str]:
    return {answer["node"] for answer in state["answers"]}


def _candidates(nodes: list[Any], sides: list[_Side]) -> list[tuple[Any, int]]:
    """Possible answers to a question as either version asks it, before merging classes."""
    numbers = [node for node in nodes if isinstance(node, NumberQuestion)]
    if numbers:
        cuts = {cut for side in sides for fact, test in side.atoms if fact == numbers[0].id
                for cut in getattr(test, "cuts", ())}
        cuts |= {bound for node in numbers for bound in (node.min, value_after(node.max))}
        widest = numbers[0].model_copy(update={"min": min(node.min for node in numbers),
                                               "max": max(node.max for node in numbers)})
        found = number_classes(widest, cuts)
    else:
        found = []
    choices = [node for node in nodes if not isinstance(node, NumberQuestion)]
    options: dict[str, Any] = {}
    for node in choices:
        for option in options_of(node):
            options.setdefault(option.id, option)
    if not any(isinstance(node, MultiQuestion) for node in choices):
        return found + [(option_id, 1) for option_id in options]
    exclusive = [option_id for option_id, option in options.items() if option.exclusive]
    groups: dict[Any, list[str]] = {}
    for option_id in options:
        if option_id not in exclusive:
            signature = tuple(side.vector(nodes[0].id, [option_id]) for side in sides)
            groups.setdefault(signature, []).append(option_id)
    return found + [([option_id], 1) for option_id in exclusive] + group_choices(groups.values())


def compare(old: Dialog, new: Dialog, samples: int = 2000, seed: int = 1,
            limit: int = 500_000, progress: Progress = silent) -> DiffReport:
    """Every answer path for endings, red flags and their level; a sample for causes."""
    report = DiffReport(old, new, Pass(), Pass())
    if old.content_hash == new.content_hash:
        return report
    every_path = _Comparison(old, new, False, limit, progress).run()
    for (before, after), (paths, example) in every_path.items():
        report.every_path.add(before, after, paths, example)
    if samples:
        sampled = _Comparison(old, new, True, progress=progress).sample(samples, seed)
        for (before, after), (paths, example) in sampled.items():
            report.sampled.add(before, after, paths, example)
    report.every_path.sort()
    report.sampled.sort()
    return report
