"""The studio's chat panel: the dialog as a runner sees it on Telegram, one move at a time.

Nothing is kept here: the page holds the engine's state (plain JSON) and sends it back with
each move, so every browser tab runs its own chat and a restart of the studio loses nothing.
The state is checked as storage checks a stored one (`stored_state`); a state made on an
earlier version of the content goes on as a stored session does (`engine.resume`).

Every text is made by the code the Telegram channel uses: `step_messages` for what is sent
for a step (its messages split or packed as Telegram gets them, the question with its buttons
in their rows with ticks, the buttons under a result), and the buttons' own callback data,
decoded by `bot.core.buttons` as a tap on Telegram is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from bot.channels.telegram.messages import (
    answer_keyboard,
    command_name,
    escape,
    fit_telegram,
)
from bot.channels.telegram.outgoing import answer_record, followup_button, step_messages
from bot.channels.telegram.presses import first_text, given
from bot.channels.telegram.summaries import summary_html
from bot.core import buttons, engine
from bot.core.engine import Step, StepKind
from bot.core.followup import offer_days, told_date
from bot.core.i18n import MENU_COMMANDS, Locale, command_names
from bot.core.inputs import Back, Input, Restart
from bot.core.model import Dialog
from bot.core.render import Message, compose, why_message
from bot.core.state import State, StateShapeError, stored_state
from bot.core.summary import clinical_summary
from bot.core.typed_input import typed_input
from bot.settings import Settings

SESSION = 1  # the session number the buttons carry: the studio has one chat per tab
# dates are told as the bot tells them by default (KEBAS_TIMEZONE): nothing is scheduled
RUNNERS_ZONE = ZoneInfo(str(Settings.model_fields["kebas_timezone"].default))

Row = list[dict[str, str]]  # the buttons of one row: {"label": ..., "data": callback data}


class BadMove(ValueError):
    """The page sent something that is not a move of this chat (a broken state, an unknown
    button): said to the page, never a traceback."""


@dataclass
class Bubble:
    """One message as the phone shows it: Telegram's HTML (escaped text, <b> for strong
    lines) and the rows of buttons under it."""

    html: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Reply:
    """What the page does after a move."""

    state: State
    bubbles: list[Bubble] = field(default_factory=list)
    answered: str | None = None       # the question just answered, as Telegram edits it
    keyboard: list[Row] | None = None  # new buttons for the question (a tick came or went)
    toast: str | None = None           # what Telegram shows over the chat for a button
    finished: bool = False             # a result was reached: it can be saved as a scenario

    def as_json(self) -> dict[str, Any]:
        return {"state": self.state, "bubbles": [vars(bubble) for bubble in self.bubbles],
                "answered": self.answered, "keyboard": self.keyboard, "toast": self.toast,
                "finished": self.finished}


def rows_of(markup: InlineKeyboardMarkup | None) -> list[Row]:
    if markup is None:
        return []
    return [[{"label": key.text, "data": str(key.callback_data)} for key in row]
            for row in markup.inline_keyboard]


def message_bubbles(message: Message) -> list[Bubble]:
    """A message in as many parts as Telegram's length limit needs."""
    return [Bubble(part) for part in fit_telegram(message)]


def shown(step: Step, locale: Locale, dialog: Dialog | None = None) -> list[Bubble]:
    """What Telegram sends for a step (`step_messages`): its messages, then its question with
    buttons, or a result and the buttons under it (why this advice, the summary for the
    doctor, and, under a result just reached that `dialog` follows up, the offer to ask
    again)."""
    days = offer_days(dialog, step.outcome.level.value) \
        if dialog is not None and step.outcome is not None \
        and step.kind is StepKind.ANSWERED else None
    offer = [] if days is None else [followup_button(locale, days, SESSION)]
    return [Bubble(out.html, rows_of(out.markup))
            for out in step_messages(step, locale, SESSION, offer=offer)]


def start(dialog: Dialog, locale: Locale, followed_up: bool = False) -> Reply:
    """The first messages. `followed_up`: the content has the check-in `dialog` names, so
    its results offer to ask again (as the bot offers it)."""
    first = engine.start(dialog)
    return Reply(first.state, shown(first, locale, _offering(dialog, followed_up)),
                 finished=first.finished)


def _offering(dialog: Dialog, followed_up: bool) -> Dialog | None:
    return dialog if followed_up else None


def current_state(dialog: Dialog, data: Any) -> tuple[State, Step | None]:
    """The page's state, on the dialog as it is now: the same content goes on as it was;
    edited content replays the answers (or starts again, saying why), as a stored session
    does. The step is None when nothing needs saying."""
    try:
        state = stored_state(data)
    except StateShapeError as exc:
        raise BadMove(f"the chat's state is not one Kebas made ({exc}); press Restart") from None
    if state["dialog"] != dialog.id:
        raise BadMove(f"this chat ran the dialog '{state['dialog']}'; press Restart")
    if engine.same_dialog(dialog, state) and state["node"] in dialog.node_by_id:
        return state, None
    resumed = engine.resume(dialog, state)
    return resumed.state, resumed


def move(dialog: Dialog, locale: Locale, data: Any, *, press: str | None = None,
         text: str | None = None, back: bool = False, restart: bool = False,
         followed_up: bool = False) -> Reply:
    """One move of the runner: a button's callback data, a typed text, back or restart."""
    state, resumed = current_state(dialog, data)
    offering = _offering(dialog, followed_up)
    before = shown(resumed, locale) if resumed is not None else []
    if press is not None:
        control = buttons.decode_control(press)
        if control is not None:
            return _control(dialog, locale, state, control, before)
        tapped = buttons.decode(press)
        if tapped is None or tapped.session != SESSION:
            raise BadMove("that button is not one the studio made; press Restart")
        reply = _tapped(locale, engine.step(dialog, state, given(tapped)), offering)
    else:
        command = typed_command(text)
        if command == "help":
            return Reply(state, before + [Bubble(escape(locale.text("tg.help")))])
        if command is not None and command not in ("start", "restart", "back"):
            return Reply(state, before, toast=f"{(text or '').split()[0]} works on Telegram; the "
                         "studio's chat has only start, restart, back and help")
        back = back or command == "back"
        restart = restart or command in ("start", "restart")
        given_input: Input
        if back:
            given_input = Back()
        elif restart:
            given_input = Restart()
        else:
            question = compose(engine.current(dialog, state), locale)[1]
            given_input = typed_input(question, text or "")
        step = engine.step(dialog, state, given_input)
        reply = Reply(step.state, shown(step, locale, offering),
                      answered=answer_record(step, locale), finished=step.finished)
    reply.bubbles[:0] = before
    return reply


def typed_command(text: str | None) -> str | None:
    """The menu command a typed text is, in any language ("/ulang" -> "restart"), or None."""
    if not text or not text.startswith("/"):
        return None
    name = command_name(text.split()[0])
    return next((key for key in MENU_COMMANDS if name in command_names(key)), None)


def _tapped(locale: Locale, step: Step, offering: Dialog | None) -> Reply:
    """A tap on an answer button, as the Telegram channel answers it."""
    if step.kind is StepKind.STALE:
        return Reply(step.state, toast=locale.text("error.stale_button"))
    if step.kind is StepKind.TOGGLED:
        question = compose(step, locale)[1]
        rows = rows_of(answer_keyboard(question, SESSION, locale)) if question else None
        return Reply(step.state, keyboard=rows)
    if step.kind is StepKind.INVALID:
        return Reply(step.state, toast=first_text(step, locale))
    return Reply(step.state, shown(step, locale, offering), answered=answer_record(step, locale),
                 finished=step.finished)


def _control(dialog: Dialog, locale: Locale, state: State, control: buttons.Control,
             before: list[Bubble]) -> Reply:
    """Why this advice, the summary for the doctor, or ask again, under a result."""
    outcome = engine.current(dialog, state).outcome
    if outcome is None or not isinstance(control, buttons.Why | buttons.Summary
                                         | buttons.Followup):
        return Reply(state, before, toast=locale.text("error.stale_button"))
    if isinstance(control, buttons.Followup):
        days = offer_days(dialog, outcome.level.value) or 0
        due = told_date(datetime.now(UTC) + timedelta(days=days), RUNNERS_ZONE)
        return Reply(state, before + [Bubble(escape(locale.text("tg.followup_set", date=due)))],
                     finished=True)
    if isinstance(control, buttons.Why):
        return Reply(state, before + message_bubbles(why_message(outcome, dialog, locale)),
                     finished=True)
    now = datetime.now(UTC).astimezone(RUNNERS_ZONE)
    summary = clinical_summary(dialog, state, locale, active=False, updated_at=now,
                               serving_hash=dialog.content_hash)
    document = (f"📄 <b>ringkasan-kebas-{now:%Y-%m-%d}.pdf</b>\n"  # Telegram sends it as a file
                f"{escape(locale.text('summary.pdf_caption'))}")
    return Reply(state, before + [Bubble(part) for part in summary_html(summary)]
                 + [Bubble(document)], finished=True)
