"""`kebas check` for the summary for the doctor (`summary:` in a dialog): each line names real
questions, once, and every question is on some line, so the doctor is shown every answer."""

from __future__ import annotations

import difflib

from bot.content.loader import LoadedDialog
from bot.core.model import is_question
from bot.core.problems import Position, Problem, error, warning


def check_summary(loaded: LoadedDialog) -> list[Problem]:
    """Errors: a line naming something that is not a question, two lines with one id.
    Warnings: a question on two lines, a question on none (once the dialog has a summary)."""
    dialog = loaded.dialog
    if not dialog.summary:
        return []
    questions = [node.id for node in dialog.nodes if is_question(node)]
    problems: list[Problem] = []
    line_ids: dict[str, Position] = {}
    placed: dict[str, Position] = {}
    for i, line in enumerate(dialog.summary):
        position = loaded.position("summary", i, "id")
        if line.id in line_ids:
            problems.append(error(position, f"duplicate summary line id '{line.id}' (also at "
                                  f"line {line_ids[line.id].line})", "give each line its own id"))
        line_ids.setdefault(line.id, position)
        for j, question_id in enumerate(line.questions):
            where = loaded.position("summary", i, "questions", j)
            if not is_question(dialog.node_by_id.get(question_id)):
                close = difflib.get_close_matches(question_id, questions, n=1, cutoff=0.5)
                problems.append(error(where, f"summary line '{line.id}' names '{question_id}', "
                                      "which is not a question",
                                      f"did you mean '{close[0]}'?" if close
                                      else "list question ids only"))
            elif question_id in placed:
                problems.append(warning(where, f"question '{question_id}' is on two summary "
                                        f"lines (also at line {placed[question_id].line})",
                                        "keep it on the line a doctor looks for it"))
            placed.setdefault(question_id, where)
    for question_id in questions:
        if question_id not in placed:
            index = next(i for i, node in enumerate(dialog.nodes) if node.id == question_id)
            problems.append(warning(loaded.position("nodes", index, "id"), f"question "
                                    f"'{question_id}' is on no summary line, so the doctor "
                                    "never sees its answer", "add it to a line under 'summary:'"))
    return problems
