"""The book's part on the summary for the doctor: each line of the dialog's `summary:` with
its label in every language of the book, the questions that fill it and the clinical term of
each of their answers, the "not asked" / "not yet answered" rule, and a sample summary.

The sample is made by `bot.core.summary`, the code /ringkasan and the PDF use, from a
session this module plays through the dialog (the answers are made up, and said to be).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import engine
from bot.core.i18n import Locale
from bot.core.inputs import answer_input
from bot.core.model import (
    Dialog,
    MultiQuestion,
    NumberQuestion,
    clinical_term_key,
    is_question,
    options_of,
)
from bot.core.summary import clinical_summary, summary_text
from bot.tools.book_cards import Text, Texts

# the sample's date: a fixed one, so that the book of one content is the same every day; in
# the default KEBAS_TIMEZONE
SAMPLE_DATE = datetime(2026, 5, 12, 14, 5, tzinfo=ZoneInfo("Asia/Jakarta"))


@dataclass(frozen=True)
class Term:
    option: str          # the option's id; "" for a number's unit
    text: Text           # the clinical term (or the unit), in every language


@dataclass(frozen=True)
class LineQuestion:
    id: str
    asks: Text | None    # the question as the runner reads it; None for a node not a question
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class LineCard:
    id: str
    label: Text
    questions: tuple[LineQuestion, ...]


def summary_part(dialog: Dialog, texts: Texts, first: Locale) -> dict[str, Any]:
    """The summary's lines, its rule's texts and a sample summary, for the template."""
    lines = [LineCard(line.id, texts(line.label),
                      tuple(_question(dialog, question_id, texts)
                            for question_id in line.questions))
             for line in dialog.summary]
    state = sample_state(dialog)
    sample = clinical_summary(dialog, state, first, active=state["outcome"] is None,
                              updated_at=SAMPLE_DATE, serving_hash=dialog.content_hash)
    return {"lines": lines, "not_asked": texts("summary.not_asked"),
            "not_yet": texts("summary.not_yet"), "incomplete": texts("summary.incomplete"),
            "sample": summary_text(sample) if lines else None}


def _question(dialog: Dialog, question_id: str, texts: Texts) -> LineQuestion:
    node = dialog.node_by_id.get(question_id)
    if not is_question(node):
        return LineQuestion(question_id, None, ())
    terms = tuple(Term(option.id, texts(clinical_term_key(question_id, option.id)))
                  for option in options_of(node))
    if isinstance(node, NumberQuestion) and node.unit:
        terms += (Term("", texts(node.unit)),)
    return LineQuestion(question_id, texts(node.text), terms)


def sample_state(dialog: Dialog) -> Any:
    """A made-up session played to its end: for a question with a "none of these" (an
    exclusive option), that; else the last option; for a number, the middle of its range.
    Not a scenario a clinician wrote: only a layout to see."""
    step = engine.start(dialog)
    for _turn in range(len(dialog.nodes) * 2):  # a dialog's loop cannot hold the sample
        if step.prompt is None:
            break
        node = dialog.node(step.prompt.node_id)
        step = engine.step(dialog, step.state, answer_input(node, _sample_answer(node)))
    return step.state


def _sample_answer(node: Any) -> Any:
    if isinstance(node, NumberQuestion):
        return round((node.min + node.max) / 2)
    options = options_of(node)
    chosen = next((option for option in options if option.exclusive), options[-1])
    return [chosen.id] if isinstance(node, MultiQuestion) else chosen.id
