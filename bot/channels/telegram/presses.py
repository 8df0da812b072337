"""Button presses: an answer to the question or a control button (consent, continue or
restart, delete, why, the summary for the doctor, language), as `bot.core.buttons` reads its
data.

Every press is answered (its spinner stops) as soon as its effect is committed, before the
slower sends; an old, repeated or forged press changes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery
from telegram import Message as TgMessage

from bot.channels.telegram.bounded import BoundedDict
from bot.channels.telegram.chats import CONSENT_VERSION, Chat, LanguagesBeforeConsent
from bot.channels.telegram.erasure import EraseConfirmations
from bot.channels.telegram.messages import answer_keyboard, ticked
from bot.channels.telegram.replies import ButtonAnswer, Replies
from bot.channels.telegram.summaries import send_summary
from bot.conversation import Conversations, Turn
from bot.core import buttons
from bot.core.buttons import (
    Action,
    ButtonPress,
    Consent,
    Control,
    Erase,
    Followup,
    Language,
    Resume,
    Summary,
    Why,
)
from bot.core.engine import Step, StepKind
from bot.core.followup import told_date
from bot.core.i18n import LANGUAGE_NAMES, Locale
from bot.core.inputs import Choose, Input, Submit, Toggle
from bot.core.render import compose, why_message
from bot.storage import SessionStore


@dataclass
class Tap:
    """One button press while it is handled."""

    query: CallbackQuery
    update_id: int
    here: Chat
    bot: Any
    answer: ButtonAnswer


class ButtonPresses:
    def __init__(self, replies: Replies, conversations: Conversations, store: SessionStore,
                 erasure: EraseConfirmations, question_messages: BoundedDict[int, int],
                 languages: LanguagesBeforeConsent) -> None:
        self.replies = replies
        self.conversations = conversations
        self.store = store
        self.erasure = erasure
        self.question_messages = question_messages
        self.languages = languages  # chosen before consent: kept at consent, else forgotten

    async def pressed(self, query: CallbackQuery, update_id: int, here: Chat, bot: Any
                      ) -> None:
        """Every press is answered: as soon as its effect is committed, before slow sends."""
        tap = Tap(query, update_id, here, bot, ButtonAnswer(query))
        try:
            data = query.data or ""
            control = buttons.decode_control(data)
            press = buttons.decode(data)
            if control is not None:
                if not await self.controlled(tap, control):
                    await tap.answer.send(here.locale.text("tg.forged"))
                    await self.replies.show_current(bot, here)
            elif press is None:
                await tap.answer.send(here.locale.text("tg.forged"))
                await self.replies.show_current(bot, here)
            elif not here.consented:
                await tap.answer.send()
                await self.replies.ask_consent(bot, here, again=True)
            else:
                await self.answered(press, tap)
        finally:
            await tap.answer.send()

    # --- control buttons: each says whether the press was one it knows ----------------

    async def controlled(self, tap: Tap, control: Control) -> bool:
        """Do what a control button asks; False for a press none of them takes (forged)."""
        if isinstance(control, Consent):
            return await self.consent(tap, control)
        if isinstance(control, Resume):
            return await self.resume(tap, control)
        if isinstance(control, Erase):
            return await self.erase(tap, control)
        if isinstance(control, Why):
            return await self.why(tap, control)
        if isinstance(control, Followup):
            return await self.followup(tap, control)
        if isinstance(control, Summary):
            return await self.summary(tap, control)
        return await self.language(tap, control)

    async def consent(self, tap: Tap, control: Consent) -> bool:
        here, bot, locale = tap.here, tap.bot, tap.here.locale
        if here.consented:
            # a second tap, or an old consent message: consent stands until /hapus
            await tap.answer.send(locale.text("tg.already_recorded"))
            if not control.agree:
                await self.replies.send_texts(bot, here, [locale.text("tg.already_consented")])
            elif here.id not in self.question_messages and await self.not_begun(here):
                # redelivered after a restart: the first question may never have gone out
                await self.replies.show(bot, here, await self.conversations.begin(
                    here.key, update_id=tap.update_id))
        else:
            # the language the buttons were shown in: this worker may not remember the choice
            if control.language in self.conversations.locales:
                here.locale = locale = self.conversations.locales[control.language]
            if control.agree:
                await self.store.update_chat(here.key, consent_version=CONSENT_VERSION,
                                             consent_at=self.store.now(),
                                             language=locale.language)
                here.consented = True
                self.languages.forget(here.id)  # stored now
                await self.settled(tap, locale.text("tg.consent_agree"), "tg.consent_given")
                await self.replies.show(bot, here, await self.conversations.begin(
                    here.key, update_id=tap.update_id))
            else:
                self.languages.forget(here.id)
                await self.settled(tap, locale.text("tg.consent_decline"), "tg.declined")
        return True

    async def settled(self, tap: Tap, chosen: str, then: str) -> None:
        """A control button done with: the tap answered, the choice shown on its message, and
        the text `then` (a key, in the chat's language now) sent."""
        await tap.answer.send()
        await self.replies.record(tap.bot, tap.query, chosen, tap.here)
        await self.replies.send_texts(tap.bot, tap.here, [tap.here.locale.text(then)])

    async def resume(self, tap: Tap, control: Resume) -> bool:
        """Continue the session or start over (the choice /start offers mid-session)."""
        here, bot, locale = tap.here, tap.bot, tap.here.locale
        if not here.consented:
            return False
        current = await self.conversations.current(here.key)
        if current is None or control.session != current.session_id:
            await tap.answer.send(locale.text("error.stale_button"))
            await self.replies.show_current(bot, here)
            return True
        await tap.answer.send()
        if control.fresh:
            await self.replies.answers_withdrawn(here)
        await self.replies.record(
            bot, tap.query, locale.text("tg.restart" if control.fresh else "tg.continue"), here)
        await self.replies.show(bot, here, await self.conversations.begin(
            here.key, fresh=control.fresh, update_id=tap.update_id))
        return True

    async def erase(self, tap: Tap, control: Erase) -> bool:
        here, locale = tap.here, tap.here.locale
        if control.yes and not self.erasure.confirmed(here, control.confirmation):
            await tap.answer.send(locale.text("tg.delete_expired"))  # data stays as it is
        elif control.yes:
            await self.replies.answers_withdrawn(here)  # no erased answer may come back
            await self.conversations.cancel_followups(here.key, "erased")  # counted
            await self.store.forget(here.key)
            self.languages.forget(here.id)  # a language chosen before consent goes too
            here.consented = False
            self.question_messages.pop(here.id, None)
            await self.settled(tap, locale.text("tg.delete_yes"), "tg.deleted")
        else:
            await self.settled(tap, locale.text("tg.delete_no"), "tg.delete_kept")
        return True

    async def followup(self, tap: Tap, control: Followup) -> bool:
        """Ask again in a few days, after the result the button was sent under."""
        here, locale = tap.here, tap.here.locale
        if not here.consented:
            return False
        due = await self.conversations.schedule_followup(here.key, control.session)
        if due is None:
            await tap.answer.send(locale.text("tg.followup_unavailable"))
            return True
        self.replies.metrics.followups.labels("scheduled").inc()
        await tap.answer.send()
        await self.replies.send_texts(tap.bot, here, [locale.text(
            "tg.followup_set", date=told_date(due, self.conversations.zone))])
        return True

    async def why(self, tap: Tap, control: Why) -> bool:
        """Why this advice: the result's reasons, for the session the button was sent with."""
        here, locale = tap.here, tap.here.locale
        if not here.consented:
            return False
        current = await self.conversations.current(here.key)
        step = current.step if current is not None else None
        outcome = step.outcome if step is not None else None
        if current is None or outcome is None or control.session != current.session_id:
            await tap.answer.send(locale.text("error.stale_button"))
            return True
        await tap.answer.send()
        why = why_message(outcome, current.dialog or self.conversations.dialog, locale)
        await self.replies.send_message(tap.bot, here, why)
        return True

    async def summary(self, tap: Tap, control: Summary) -> bool:
        """The summary for the doctor, of the session the button was sent with; after /hapus
        there is nothing to summarise, and the button says so."""
        here = tap.here
        if not here.consented:
            await tap.answer.send(here.locale.text("summary.nothing"))
            await self.replies.send_texts(tap.bot, here, [here.locale.text("summary.nothing")])
            return True
        await tap.answer.send()
        if not await send_summary(self.replies, self.conversations, tap.bot, here,
                                  control.session):
            await self.replies.send_texts(tap.bot, here,
                                          [here.locale.text("error.stale_button")])
        return True

    async def language(self, tap: Tap, control: Language) -> bool:
        here, value = tap.here, control.code
        if value not in self.conversations.locales:
            return False
        await self.languages.choose(self.store, here, self.conversations.locales[value])
        await self.settled(tap, LANGUAGE_NAMES.get(value, value), "tg.language_set")
        await self.replies.show_current(tap.bot, here)
        return True

    async def not_begun(self, here: Chat) -> bool:
        """No question answered yet in a session that is not over (or no session at all)."""
        current = await self.conversations.current(here.key)
        step = current.step if current is not None else None
        return step is None or (step.prompt is not None and not step.state["answers"])

    # --- answers to the question ------------------------------------------------------

    async def answered(self, press: ButtonPress, tap: Tap) -> None:
        here, bot, answer, locale = tap.here, tap.bot, tap.answer, tap.here.locale
        current = await self.conversations.current(here.key)
        if current is None:
            await answer.send(locale.text("error.stale_button"))  # e.g. after /batal
            await self.replies.send_texts(bot, here, [locale.text("tg.after_outcome")])
            return
        if press.action is Action.DONE and ticks_differ(tap.query.message, current, press):
            # Submit only what the runner sees: this copy's ticks are out of date.
            await answer.send(locale.text("error.stale_button"))
            await self.replies.show_current(bot, here)
            return
        turn = await self.conversations.handle(here.key, given(press), update_id=tap.update_id,
                                               session_id=press.session, read=current)
        step = turn.step
        if turn.duplicate or step is None:
            await answer.send(locale.text("tg.already_recorded"))
            await self.replies.show(bot, here, turn)
            return
        if step.kind is StepKind.STALE:
            if press.session == turn.session_id and repeats_last_answer(step, press):
                await answer.send(locale.text("tg.already_recorded"))  # a double tap
                return
            await answer.send(locale.text("error.stale_button"))
            await self.replies.show_current(bot, here)
            return
        if step.kind is StepKind.TOGGLED and step.prompt is not None:
            await answer.send()
            question = compose(step, locale)[1]
            if question is not None:
                await self.replies.edit_markup(
                    tap.query, answer_keyboard(question, turn.session_id, locale), here)
            return
        if step.kind is StepKind.INVALID:
            await answer.send(first_text(step, locale))
            if step.said and step.said[0].key == "error.not_an_option":
                await self.replies.show_current(bot, here)  # a well-formed but unknown option
            return
        await answer.send()
        message = tap.query.message
        if step.answer is not None and message is not None:
            await self.replies.record_answer(bot, here, message.message_id, step)
        await self.replies.show(bot, here, turn)


def given(press: ButtonPress) -> Input:
    """What the press means to the engine, bound to the question it was made for."""
    place = (press.node_id, press.step)
    if press.action is Action.CHOOSE:
        return Choose(press.option_id, at=place)
    if press.action is Action.TOGGLE:
        return Toggle(press.option_id, at=place)
    return Submit(at=place)


def ticks_differ(message: object, current: Turn, press: ButtonPress) -> bool:
    """Done under ticks other than the choices kept: an older copy of the question (sent
    again after a restart), or one whose last edit failed."""
    step = current.step
    prompt = step.prompt if step is not None else None
    markup = message.reply_markup if isinstance(message, TgMessage) else None
    if markup is None or step is None or prompt is None or current.session_id != press.session \
            or prompt.place != (press.node_id, press.step):
        return False
    return ticked(markup) != set(step.state["draft"])


def repeats_last_answer(step: Step, press: ButtonPress) -> bool:
    answers = step.state["answers"]
    if not answers or press.step != len(answers) - 1 or answers[-1]["node"] != press.node_id:
        return False
    value = answers[-1]["value"]
    return press.action is Action.DONE or value == press.option_id or (
        isinstance(value, list) and press.option_id in value)


def first_text(step: Step, locale: Locale) -> str | None:
    messages, _ = compose(step, locale)
    return messages[0].plain if messages else None
