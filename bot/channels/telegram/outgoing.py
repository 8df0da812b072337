"""What Telegram is sent for a step, in order, each with its place in the queue for
Telegram's budget: the one plan the bot sends and the studio shows.

Pure: nothing here sends. Red-flag advice goes first and alone; a result just reached goes in
as few messages as fit before its disclaimer (each message costs Telegram's budget), then the
disclaimer, then the buttons under it; a question goes with its buttons.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import IntEnum

from telegram import InlineKeyboardMarkup

from bot.channels.telegram.messages import (
    answer_keyboard,
    escape,
    fit_telegram,
    keyboard,
    packed,
    question_html,
)
from bot.core import buttons
from bot.core.engine import SayKind, Step, StepKind
from bot.core.i18n import Locale
from bot.core.render import answer_label, compose, outcome_messages, question_of


class Priority(IntEnum):
    """Which request goes first when Telegram's budget is short (lower goes first).

    Passed to a Bot method as its `rate_limit_args`; a request without one is a REPLY. None
    is 0: PTB drops a `rate_limit_args` that is falsy.
    """

    RED_FLAG = 1    # red-flag advice: see a doctor now, call 112/119
    RESULT = 2      # a result just reached, sent whole
    REPLY = 3       # the next question, a tick on a box, the answer to a command
    BACKGROUND = 4  # what no one is waiting for this second: a check-in due now
    COSMETIC = 5    # an answered question turned into a record of its answer


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message: its HTML, its buttons, whether a flooding chat still gets it,
    its place in the queue (None: the sender's), and whether it holds the question."""

    html: str
    markup: InlineKeyboardMarkup | None = None
    essential: bool = False
    urgent: Priority | None = None
    question: bool = False


def step_messages(step: Step, locale: Locale, session_id: int, *, again: bool = False,
                  offer: list[tuple[str, str]] | None = None) -> list[Outgoing]:
    """What is sent for `step`. `again`: a redelivered update reached the result, which is
    sent whole once more; `offer`: buttons under a result just reached (ask again)."""
    messages, question = compose(step, locale)
    if again and step.outcome is not None:
        messages = outcome_messages(step.outcome, locale)  # its first sending may be cut short
    plan = list(zip(messages, cannot_wait(step, len(messages)),
                    how_urgent(step, len(messages))))
    reached = step.outcome is not None and step.kind is StepKind.ANSWERED and not again
    body, rest = (plan[:-1], plan[-1:]) if reached else ([], plan)
    sent = [Outgoing(part, essential=essential, urgent=urgent)
            for (essential, urgent), alike in itertools.groupby(body, key=lambda p: p[1:])
            for part in packed([message for message, _, _ in alike])]
    sent += [Outgoing(part, essential=essential, urgent=urgent)
             for message, essential, urgent in rest for part in fit_telegram(message)]
    if question is not None:
        sent.append(Outgoing(question_html(question),
                             answer_keyboard(question, session_id, locale), question=True))
    elif step.outcome is not None:
        sent.append(Outgoing(escape(locale.text("tg.after_outcome")),
                             result_keyboard(locale, session_id, offer),
                             essential=step.kind is StepKind.ANSWERED,
                             urgent=Priority.RESULT))
    return sent


def most_urgent(step: Step) -> Priority:
    """The most urgent of what is sent for `step`: a reply, its result, or red-flag advice."""
    if any(said.kind is SayKind.RED_FLAG for said in step.said):
        return Priority.RED_FLAG
    return Priority.RESULT if step.outcome is not None else Priority.REPLY


def answer_record(step: Step, locale: Locale) -> str | None:
    """The question just answered with the answer under it, without buttons: what the
    question's message is edited into (None: the step answered nothing)."""
    if step.asked is None or step.answer is None:
        return None
    label = answer_label(step.asked, step.answer.value, locale)
    return (f"{question_html(question_of(step.asked, locale))}\n\n"
            f"{escape(locale.text('tg.answered', answer=label))}")


def followup_button(locale: Locale, days: int, session_id: int) -> tuple[str, str]:
    """The button under a result that asks to be asked again in `days` days."""
    return (locale.text("tg.followup_button", days=days),
            buttons.encode_control(buttons.Followup(session_id)))


def result_keyboard(locale: Locale, session_id: int,
                    more: list[tuple[str, str]] | None = None) -> InlineKeyboardMarkup:
    """Under every result: why this advice, the summary for the doctor, and `more` (the offer
    to ask again, under a result just reached)."""
    return keyboard([
        (locale.text("tg.why_button"), buttons.encode_control(buttons.Why(session_id))),
        (locale.text("tg.summary_button"), buttons.encode_control(buttons.Summary(session_id))),
        *(more or [])])


def how_urgent(step: Step, count: int) -> list[Priority | None]:
    """Where each of a step's `count` messages queues for Telegram's budget: red-flag advice
    first, then the result (with what the step says before it); what else a step says goes
    as a reply (None)."""
    other = Priority.RESULT if step.outcome is not None else None
    said = [Priority.RED_FLAG if said.kind is SayKind.RED_FLAG else other
            for said in step.said]
    return said + [Priority.RESULT] * (count - len(said))


def cannot_wait(step: Step, count: int) -> list[bool]:
    """Which of a step's `count` messages a flooding chat still gets: red-flag advice and a
    result just reached, with what the step says before it. `compose` puts what the step
    says first, then the result."""
    reached = step.kind is StepKind.ANSWERED and step.outcome is not None
    said = [said.kind is SayKind.RED_FLAG or reached for said in step.said]
    return said + [step.kind is StepKind.ANSWERED] * (count - len(said))
