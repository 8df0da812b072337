"""What a runner meant by what they typed: an option's number or words, several numbers, text.

Shared by every channel so that "2", "tidak" and "1, 3" mean the same in a terminal and on
Telegram.
"""

from __future__ import annotations

from bot.core.inputs import AnswerInput, Choose, ChooseMany, Typed
from bot.core.render import Question

NO_SUCH_OPTION = ""  # an option id no dialog can have: the engine answers "not an option"


def typed_input(question: Question | None, text: str) -> AnswerInput:
    if question is None or question.prompt.kind == "number":
        return Typed(text)
    if question.prompt.kind == "multi":
        parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
        if len(parts) == 1 and all(word.isdecimal() for word in parts[0].split()):
            parts = parts[0].split()
        if parts and all(part.isdecimal() for part in parts):
            return ChooseMany(tuple(option_meant(question, part) or NO_SUCH_OPTION
                                    for part in parts))
        chosen = [option_meant(question, part) for part in parts]
        if parts and all(chosen):
            return ChooseMany(tuple(option for option in chosen if option))
        return Typed(text)
    option = option_meant(question, text)
    if option is None and text.strip().isdecimal():
        return Choose(NO_SUCH_OPTION)
    return Choose(option) if option else Typed(text)


def option_meant(question: Question, text: str) -> str | None:
    """The option named by its number ("2") or its words ("tidak"), if any."""
    text = text.strip()
    if text.isdecimal():  # not isdigit: "²" is a digit, but no number
        index = int(text) - 1
        return question.buttons[index].id if 0 <= index < len(question.buttons) else None
    wanted = text.casefold()
    for button in question.buttons:
        if wanted in (button.label.casefold(), button.id.casefold()):
            return button.id
    return None
