"""The review book's cards: each question, red flag, cause and outcome as plain data.

A card holds what the book shows of one part of the dialog, with every text in each language
of the book (`Text`); `Texts` looks them up and remembers which keys were shown, so that the
appendix can list the rest. Pure: dialog, locales and proof report in, frozen data out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core import engine, graph, proofs
from bot.core.conditions import describe, fact_tests, facts_read, holds, test_values
from bot.core.i18n import UI_TEXTS, Locale
from bot.core.model import (
    Condition,
    Dialog,
    MultiQuestion,
    NumberQuestion,
    OutcomeNode,
    Range,
    RedFlag,
    TriageLevel,
    is_question,
    options_of,
)
from bot.tools.book_words import chrome_for

# --- the data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """One text key in every language of the book (one value per language, in order)."""

    key: str
    values: tuple[str, ...]
    params: tuple[str, ...] = ()   # placeholders Kebas fills in when it shows the text


@dataclass(frozen=True)
class Level:
    id: str
    label: str


@dataclass(frozen=True)
class FlagRef:
    id: str
    level: Level
    stop_at: str | None


@dataclass(frozen=True)
class OptionRow:
    id: str
    text: Text
    sets: tuple[str, ...]
    leads_to: str | None          # None: depends on other answers
    flags: tuple[FlagRef, ...]
    points: tuple[str, ...]
    exclusive: bool


@dataclass(frozen=True)
class Route:
    condition: str | None         # None: the default
    target: str


@dataclass(frozen=True)
class NodeCard:
    id: str
    type: str
    text: Text
    options: tuple[OptionRow, ...]
    number: tuple[str, str] | None   # (min, max)
    unit: Text | None
    routes: tuple[Route, ...]
    flags: tuple[FlagRef, ...]
    screening: bool
    reachable: bool
    note: str | None


@dataclass(frozen=True)
class FlagCard:
    id: str
    title: Text
    advice: Text
    level: Level
    condition: str
    meaning: tuple[str, ...]
    stop_at: str | None
    asked_in: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class CauseCard:
    id: str
    title: Text
    explain: Text
    todo: Text
    level: Level
    level_if: tuple[tuple[str, Level], ...]
    score: tuple[tuple[str, int], ...]
    meaning: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class OutcomeCard:
    id: str
    text: Text
    level: Level
    show_causes: bool
    reached_from: tuple[str, ...]
    reachable: bool
    note: str | None


@dataclass(frozen=True)
class ProofSummary:
    holds: bool
    paths: str
    states: str
    longest: int
    longest_answers: tuple[str, ...]
    screening_declared: bool
    violations: tuple[tuple[str, str, str], ...]   # (rule, message, scenario)


class Texts:
    """Looks texts up in every language of the book and remembers which keys were shown."""

    def __init__(self, locales: Sequence[Locale]) -> None:
        self.locales = list(locales)
        self.shown: set[str] = set()

    def __call__(self, key: str) -> Text:
        self.shown.add(key)
        return Text(key, tuple(locale.text(key) for locale in self.locales),
                    tuple(sorted(UI_TEXTS.get(key, ()))))


# --- cards ----------------------------------------------------------------------------------


def node_card(dialog: Dialog, node: Any, texts: Texts, levels: dict[TriageLevel, Level],
              reachable: bool) -> NodeCard:
    settable = graph.facts_set_by(node)
    flags = [flag for flag in dialog.red_flags if facts_read(flag.when) & settable]
    options = tuple(_option_row(dialog, node, option, flags, texts, levels)
                    for option in options_of(node))
    number = unit = None
    if isinstance(node, NumberQuestion):
        number = (_number(node.min), _number(node.max))
        unit = texts(node.unit) if node.unit else None
    routes = tuple(Route(describe(branch.when), branch.next)
                   for branch in getattr(node, "branches", []))
    if hasattr(node, "next"):
        routes += (Route(None, node.next),)
    return NodeCard(node.id, node.type, texts(node.text), options, number, unit, routes,
                    tuple(_flag_ref(flag, levels) for flag in flags),
                    node.id in dialog.screening, reachable, node.note)


def _option_row(dialog: Dialog, node: Any, option: Any, flags: list[Any], texts: Texts,
                levels: dict[TriageLevel, Level]) -> OptionRow:
    value: Any = [option.id] if isinstance(node, MultiQuestion) else option.id
    facts = {node.id: value, **option.set}
    points = tuple(f"{cause.id} {rule.points:+d}" for cause in dialog.causes
                   for rule in cause.score if _uses(rule.when, facts))
    return OptionRow(option.id, texts(option.text),
                     tuple(f"{fact} = {_value(setting)}" for fact, setting in option.set.items()),
                     _leads_to(node, facts, flags),
                     tuple(_flag_ref(flag, levels) for flag in flags if _uses(flag.when, facts)),
                     points, option.exclusive)


def _uses(condition: Condition, facts: dict[str, Any]) -> bool:
    """Whether this answer makes one of the condition's own tests true (not under a `not`)."""
    return any(fact in facts and "not" not in path
               and holds(Condition.model_validate({fact: test}), facts)
               for fact, test, path in fact_tests(condition))


def _leads_to(node: Any, facts: dict[str, Any], flags: list[RedFlag]) -> str | None:
    """Where one answer goes, when that answer alone decides it; None when others matter too."""
    alone = set(facts)
    stop_at = engine.stop_of([flag for flag in flags if facts_read(flag.when) <= alone
                              and holds(flag.when, facts)])
    if stop_at:
        return stop_at
    if any(flag.stop_at and _uses(flag.when, facts) for flag in flags):
        return None
    branches = getattr(node, "branches", [])
    if branches and (isinstance(node, MultiQuestion)  # ticked together, options route as a set
                     or any(facts_read(branch.when) - alone for branch in branches)):
        return None
    return engine.next_of(node, facts)


def _flag_ref(flag: Any, levels: dict[TriageLevel, Level]) -> FlagRef:
    return FlagRef(flag.id, levels[flag.level], flag.stop_at)


def flag_card(dialog: Dialog, flag: Any, texts: Texts, levels: dict[TriageLevel, Level],
              locale: Locale) -> FlagCard:
    read = facts_read(flag.when)
    asked_in = tuple(node.id for node in dialog.nodes if graph.facts_set_by(node) & read)
    return FlagCard(flag.id, texts(flag.title), texts(flag.advice), levels[flag.level],
                    describe(flag.when), _meaning(dialog, [flag.when], locale), flag.stop_at,
                    asked_in, flag.note)


def cause_card(dialog: Dialog, cause: Any, texts: Texts, levels: dict[TriageLevel, Level],
               locale: Locale) -> CauseCard:
    conditions = [rule.when for rule in cause.level_if] + [rule.when for rule in cause.score]
    return CauseCard(cause.id, texts(cause.title), texts(cause.explain), texts(cause.todo),
                     levels[cause.level],
                     tuple((describe(rule.when), levels[rule.level]) for rule in cause.level_if),
                     tuple((describe(rule.when), rule.points) for rule in cause.score),
                     _meaning(dialog, conditions, locale), cause.note)


def outcome_card(dialog: Dialog, node: OutcomeNode, texts: Texts,
                 levels: dict[TriageLevel, Level], reachable: bool) -> OutcomeCard:
    moves = graph.edges(dialog)
    sources = tuple(source for source, targets in moves.items() if node.id in targets)
    return OutcomeCard(node.id, texts(node.text), levels[node.level], node.show_causes,
                       sources, reachable, node.note)


def _meaning(dialog: Dialog, conditions: list[Condition], locale: Locale) -> tuple[str, ...]:
    """What the ids in conditions stand for: `a3_saddle = saddle: «option text»`."""
    lines: list[str] = []
    for condition in conditions:
        for fact, test, _path in fact_tests(condition):
            node = dialog.node_by_id.get(fact)
            if isinstance(test, Range):
                continue  # a number range reads as it is (`e1_age ≥ 50`)
            if node is not None and is_question(node):
                labels = {option.id: locale.text(option.text) for option in options_of(node)}
                for value in test_values(test):
                    if str(value) in labels:
                        lines.append(f"{fact} = {value}: «{labels[str(value)]}»")
                continue
            setters = [f"{owner.id} ({option.id})" for owner in dialog.nodes
                       for option in options_of(owner) if fact in option.set]
            if setters:
                chrome = chrome_for(locale.language)
                lines.append(f"{fact}: {chrome['helper_fact']} {', '.join(setters)}")
    return tuple(dict.fromkeys(lines))


def proof_summary(dialog: Dialog, report: proofs.ProofReport, locale: Locale) -> ProofSummary:
    answers = []
    for node_id, value in report.longest_answers:
        node = dialog.node_by_id.get(node_id)
        labels = {option.id: locale.text(option.text) for option in options_of(node)}
        values = value if isinstance(value, list) else [value]
        answers.append(f"{node_id}: " + ", ".join(labels.get(str(v), _value(v)) for v in values))
    violations = tuple((violation.prop, violation.message, violation.scenario())
                       for violation in report.violations)
    return ProofSummary(report.holds, _count(report.paths, locale.language),
                        _count(report.states, locale.language), report.longest_questions,
                        tuple(answers), report.screening_declared, violations)


def appendix(locales: Sequence[Locale], texts: Texts, names: dict[str, str],
             other: str) -> list[tuple[str, str, list[Text]]]:
    """Every key not shown yet, grouped by the part before the first dot, in file order."""
    keys = list(dict.fromkeys(key for locale in locales for key in locale.texts))
    groups: dict[str, list[str]] = {}
    for key in keys:
        if key not in texts.shown:
            groups.setdefault(key.split(".")[0] if "." in key else "", []).append(key)
    return [(group, names.get(group, other), [texts(key) for key in members])
            for group, members in groups.items()]


def _count(number: int, language: str) -> str:
    text = f"{number:,}"
    return text.replace(",", ".") if language == "id" else text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

