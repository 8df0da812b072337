"""The result at an ending: how urgent and why, the causes ranked, and the answers behind each.

Built from a finished state alone, so a resumed or replayed session shows the same result and
the same reasons as the one that reached it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.core.conditions import facts_read, holds
from bot.core.facts import facts_of
from bot.core.model import Condition, Dialog, Facts, OutcomeNode, RedFlag, TriageLevel
from bot.core.state import Because, OutcomeSummary, State

Evidence = tuple[tuple[str, Any], ...]  # (question id, answer) pairs behind a conclusion
# each distinct answer, as a (question id, answer) pair, with the names of the facts it set
Produced = Sequence[tuple[tuple[str, Any], frozenset[str]]]


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

    def summary(self) -> OutcomeSummary:
        """What is stored with the session: the result and the trace of why."""
        return {"node": self.node_id, "level": self.level.value,
                "red_flags": [{"id": flag.id, "because": _listed(flag.because)}
                              for flag in self.red_flags],
                "causes": [{"id": cause.id, "points": cause.points,
                            "because": _listed(cause.because)} for cause in self.causes],
                "level_from": [{"kind": source.kind, "id": source.id}
                               for source in self.level_from]}


def _listed(evidence: Evidence) -> Because:
    return [[node_id, value] for node_id, value in evidence]


def build_outcome(dialog: Dialog, state: State, node: OutcomeNode) -> Outcome:
    """The result of a state standing on the ending `node`."""
    flags = {flag.id: flag for flag in dialog.red_flags}
    produced = answers_produced(dialog, state)
    red_flags = tuple(flag_view(flags[flag_id], produced) for flag_id in state["fired"]
                      if flag_id in flags)
    ranked, several = rank_causes(dialog, state["facts"]) if node.show_causes else ([], False)
    causes = tuple(replace(view, because=_cause_evidence(dialog, view.id, state, produced))
                   for view in ranked)
    level = TriageLevel.most_urgent([node.level] + [flag.level for flag in red_flags]
                                    + [cause.level for cause in causes]) or node.level
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


def flag_view(flag: RedFlag, produced: Produced = ()) -> RedFlagView:
    """A fired red flag as shown, with the answers its condition read."""
    return RedFlagView(flag.id, flag.title, flag.advice, flag.level,
                       _read(flag.when, produced))


def answers_produced(dialog: Dialog, state: State) -> Produced:
    """Each distinct answer with the names of the facts it set (computed once per outcome)."""
    found: dict[str, tuple[tuple[str, Any], frozenset[str]]] = {}
    for answer in state["answers"]:
        node = dialog.node_by_id.get(answer["node"])
        pair = (answer["node"], answer["value"])
        if node is not None and repr(pair) not in found:
            found[repr(pair)] = (pair, frozenset(facts_of(node, answer["value"])))
    return list(found.values())


def _read(condition: Condition, produced: Produced) -> Evidence:
    """The answers a condition read: an answer counts when a fact it produced (its own, or
    one its chosen options set) is one the condition tests."""
    wanted = facts_read(condition)
    return tuple(pair for pair, facts in produced if wanted & facts)


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
