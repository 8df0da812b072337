"""Generated dialogs of any length, for the proofs' scale tests and benchmarks."""

from __future__ import annotations


def generated_dialog(questions: int):
    """A long chain of 3-way questions with skips and red flags that look back 3 questions."""
    from bot.core.model import Dialog
    return Dialog.model_validate(generated_dialog_data(questions))


# Every text key `generated_dialog_data` names.
GENERATED_TEXT_KEYS = ("t.q", "t.o", "t.r", "t.a", "t.b", "t.t", "t.d", "t.s", "t.n")


def generated_dialog_data(questions: int) -> dict:
    """`generated_dialog` as the plain data a dialog YAML file holds."""
    nodes = []
    for i in range(questions):
        node = {"id": f"q{i}", "type": "choice", "text": "t.q",
                "options": [{"id": o, "text": "t.o"} for o in ("a", "b", "c")],
                "next": f"q{i + 1}" if i + 1 < questions else "result"}
        if i % 5 == 4 and i + 2 < questions:
            node["branches"] = [{"when": {f"q{i}": "c"}, "next": f"q{i + 2}"}]
        nodes.append(node)
    nodes += [{"id": "result", "type": "outcome", "text": "t.r"},
              {"id": "end_emergency", "type": "outcome", "text": "t.r", "level": "emergency"}]
    flags = [{"id": "rf_first", "when": {"q0": "a"}, "level": "emergency", "title": "t.a",
              "advice": "t.b", "stop_at": "end_emergency"}]
    flags += [{"id": f"rf_{i}", "when": {f"q{i}": "a", f"q{i - 3}": "b"}, "level": "urgent",
               "title": "t.a", "advice": "t.b"} for i in range(10, questions, 10)]
    data = {"id": "generated", "version": 1, "title": "t.t", "start": "q0",
            "screening": ["q0"], "nodes": nodes, "red_flags": flags,
            "texts": {"disclaimer": "t.d", "safety_net": "t.s", "no_clear_cause": "t.n"}}
    return data
