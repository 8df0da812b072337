"""What answers make known: the facts each answer sets, and the red flags that read them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.core.conditions import facts_read
from bot.core.model import Dialog, Facts, QuestionNode, RedFlag, options_of
from bot.core.state import AnswerRecord


def facts_of(node: QuestionNode, value: Any) -> Facts:
    """The facts one answer sets: the question's own, then what its chosen options set."""
    facts: Facts = {node.id: value}
    chosen = set(value) if isinstance(value, list) else {value}
    for option in options_of(node):
        if option.id in chosen:
            facts.update(option.set)
    return facts


def derive_facts(dialog: Dialog, answers: Iterable[AnswerRecord]) -> Facts:
    """The facts these answers set, applied in the order given."""
    facts: Facts = {}
    for answer in answers:
        node = dialog.node_by_id.get(answer["node"])
        if node is not None:
            facts.update(facts_of(node, answer["value"]))
    return facts


_FLAG_INDEX: dict[int, tuple[Dialog, dict[str, list[RedFlag]]]] = {}


def flags_reading(dialog: Dialog, facts: Iterable[str]) -> list[RedFlag]:
    """Red flags whose condition reads any of these facts, in the dialog's order."""
    entry = _FLAG_INDEX.get(id(dialog))
    if entry is None or entry[0] is not dialog:
        index: dict[str, list[RedFlag]] = {}
        for flag in dialog.red_flags:
            for fact in facts_read(flag.when):
                index.setdefault(fact, []).append(flag)
        entry = (dialog, index)
        _FLAG_INDEX[id(dialog)] = entry
    found = {id(flag) for fact in facts for flag in entry[1].get(fact, [])}
    return [flag for flag in dialog.red_flags if id(flag) in found]
