"""Turns an engine step into messages of localised lines, the same for every channel.

Channels only decide looks: the terminal prints lines and numbers the choices, Telegram makes
strong lines bold (escaping everything) and choices into buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.engine import Prompt, Say, SayKind, Step, StepKind, TextRef
from bot.core.i18n import Locale
from bot.core.model import Dialog, options_of
from bot.core.outcome import Evidence, Outcome


@dataclass(frozen=True)
class Line:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class Message:
    lines: tuple[Line, ...]

    @property
    def plain(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True)
class Button:
    id: str
    label: str
    selected: bool = False


@dataclass(frozen=True)
class Question:
    prompt: Prompt
    lines: tuple[Line, ...]
    buttons: tuple[Button, ...]


def compose(step: Step, locale: Locale) -> tuple[list[Message], Question | None]:
    """The messages of a step and its question.

    The whole result comes once, on the answer that reached it; input after that gets
    "already finished" with the result's summary (red flags, how soon, what to do).
    """
    messages = [say_message(said, locale) for said in step.said]
    if step.outcome is not None and step.kind is StepKind.ANSWERED:
        messages.extend(outcome_messages(step.outcome, locale))
    elif step.outcome is not None and step.kind is StepKind.INVALID:
        messages.append(outcome_messages(step.outcome, locale)[0])
    question = question_of(step.prompt, locale) if step.prompt is not None else None
    return messages, question


def say_message(said: Say, locale: Locale) -> Message:
    if said.kind is SayKind.RED_FLAG:
        level = said.level.value if said.level else "urgent"
        return Message((
            Line(f"{locale.text('red_flag.heading')}: {locale.text(f'triage.{level}.title')}",
                 strong=True),
            Line(locale.text(said.title or ""), strong=True),
            Line(locale.text(said.key, **said.params)),
        ))
    params = {name: locale.text(value.key) if isinstance(value, TextRef) else value
              for name, value in said.params.items()}
    return Message((Line(locale.text(said.key, **params)),))


def outcome_messages(outcome: Outcome, locale: Locale) -> list[Message]:
    """The result as phone-sized messages: summary, one per cause, then the safety net."""
    level = outcome.level.value
    summary = [Line(locale.text(outcome.text))]
    if outcome.red_flags:
        summary.append(Line(locale.text("outcome.red_flags_heading"), strong=True))
        summary.extend(Line(f"• {locale.text(flag.title)}") for flag in outcome.red_flags)
    summary.append(Line(f"{locale.text('outcome.triage_heading')}: "
                        f"{locale.text(f'triage.{level}.title')}", strong=True))
    summary.append(Line(locale.text(f"triage.{level}.todo")))
    messages = [Message(tuple(summary))]
    for rank, cause in enumerate(outcome.causes, start=1):
        # Why, then what to do, as two messages: each fits a phone screen (kebas check warns
        # about any text over 700 characters).
        heading = [Line(locale.text("outcome.causes_heading"), strong=True)] if rank == 1 else []
        if rank == 1 and outcome.several_causes:
            messages.append(Message((heading[0], Line(locale.text(outcome.several_causes)))))
            heading = []
        messages.append(Message(tuple(heading + [
            Line(locale.text("outcome.cause_line", rank=rank, title=locale.text(cause.title)),
                 strong=True),
            Line(locale.text(cause.explain))])))
        messages.append(Message((
            Line(f"{locale.text('outcome.todo_heading')}: {locale.text(cause.title)}",
                 strong=True),
            Line(locale.text(cause.todo)))))
    if not outcome.causes and outcome.no_clear_cause:
        messages.append(Message((Line(locale.text(outcome.no_clear_cause)),)))
    if outcome.safety_net:
        messages.append(Message((Line(locale.text("outcome.safety_net_heading"), strong=True),
                                 Line(locale.text(outcome.safety_net)))))
    messages.append(Message((Line(locale.text(outcome.disclaimer)),)))
    return messages


def question_of(prompt: Prompt, locale: Locale) -> Question:
    lines = [Line(locale.text(prompt.text))]
    if prompt.kind == "multi":
        lines.append(Line(locale.text("multi.hint")))
    buttons = tuple(Button(choice.id, locale.text(choice.text), choice.selected)
                    for choice in prompt.choices)
    return Question(prompt, tuple(lines), buttons)


def answer_label(prompt: Prompt, value: object, locale: Locale) -> str:
    """How an accepted answer reads back to the runner ("Tidak", "Betis, Telapak kaki", "35")."""
    if prompt.kind == "number" and not isinstance(value, list):
        unit = f" {locale.text(prompt.unit)}" if prompt.unit else ""
        return f"{value}{unit}"
    return _labelled({choice.id: locale.text(choice.text) for choice in prompt.choices}, value)


def why_message(outcome: Outcome, dialog: Dialog, locale: Locale) -> Message:
    """Why this advice: what set the level, and the answers behind each cause and red flag."""
    level = locale.text(f"triage.{outcome.level.value}.title")
    lines = [Line(locale.text("why.heading"), strong=True),
             Line(locale.text("why.level", level=level), strong=True)]
    for source in outcome.level_from:
        if source.kind == "floor":
            lines.append(Line(f"• {locale.text('why.by_floor')}"))
        else:
            key = "why.by_red_flag" if source.kind == "red_flag" else "why.by_cause"
            lines.append(Line(f"• {locale.text(key, title=locale.text(source.title or ''))}"))
    for flag in outcome.red_flags:
        lines.append(Line(locale.text("why.flag", title=locale.text(flag.title)), strong=True))
        lines += _evidence_lines(flag.because, dialog, locale)
    for cause in outcome.causes:
        lines.append(Line(locale.text("why.cause", title=locale.text(cause.title),
                                      points=cause.points), strong=True))
        lines += _evidence_lines(cause.because, dialog, locale)
    if not outcome.causes and not outcome.red_flags:
        lines.append(Line(locale.text("why.nothing")))
    return Message(tuple(lines))


def _evidence_lines(because: Evidence, dialog: Dialog, locale: Locale) -> list[Line]:
    lines = []
    for node_id, value in because:
        node = dialog.node_by_id.get(node_id)
        if node is None:
            continue
        lines.append(Line(locale.text("why.answer", question=short_question(node, locale),
                                      answer=answer_text(node, value, locale))))
    return lines


def answer_text(node: Any, value: object, locale: Locale) -> str:
    """A stored answer in the runner's words: option texts, or the number as given."""
    return _labelled({option.id: locale.text(option.text) for option in options_of(node)}, value)


def _labelled(labels: dict[str, str], value: object) -> str:
    """An answer's option ids (one, or a list) as their labels; other values as written."""
    values = value if isinstance(value, list) else [value]
    return ", ".join(labels.get(str(item), str(item)) for item in values)


def short_question(node: Any, locale: Locale) -> str:
    return shorten(locale.text(node.text))


def shorten(question: str, limit: int = 90) -> str:
    """The gist of a question: its first sentence, cut to fit one line on a phone."""
    first = question.strip().splitlines()[0]
    for end in ("?", "."):
        if end in first:
            first = first[:first.index(end) + 1]
            break
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "…"
