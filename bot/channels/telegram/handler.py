"""Kebas on Telegram: one handler for every update, the shared conversation driver behind it.

Every update takes the same road: which chat and language → consent → neutral input → the
conversation commits the step → render HTML (all text escaped) → send. Chats are handled
concurrently, but each chat's updates strictly in order (`PerChatUpdates`); a chat that floods
is answered sparingly (`flood`). Nothing is stored before the runner consents, and nothing at
all for groups and channels. Commands are in `commands`, button presses in `presses`, what is
sent in `replies`; typed text is read here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from telegram import ChatMemberUpdated, Update
from telegram import Message as TgMessage
from telegram.constants import ChatType, FloodLimit
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.channels.telegram.bounded import REMEMBERED_CHATS, BoundedDict
from bot.channels.telegram.chats import Chat, LanguagesBeforeConsent, chat_key, read_chat
from bot.channels.telegram.commands import STARTS, Commands
from bot.channels.telegram.erasure import EraseConfirmations
from bot.channels.telegram.faults import storage_fault
from bot.channels.telegram.flood import FloodGuard, Verdict
from bot.channels.telegram.followups import FollowupSender
from bot.channels.telegram.inbox import DurableUpdates
from bot.channels.telegram.messages import command_name, escape
from bot.channels.telegram.metrics import BotMetrics
from bot.channels.telegram.ordering import PerChatUpdates
from bot.channels.telegram.presses import ButtonPresses
from bot.channels.telegram.ratelimit import UrgentFirst
from bot.channels.telegram.reload import ContentReload
from bot.channels.telegram.replies import Blocked, Replies, answer_quietly
from bot.conversation import Conversations
from bot.core.i18n import Locale, pick_language
from bot.core.inputs import Back, Input, Place, Restart
from bot.core.model import Dialog
from bot.core.render import compose
from bot.core.typed_input import typed_input
from bot.storage import STORAGE_FAULTS, SessionStore

log = logging.getLogger("kebas.telegram")

LONGEST_TEXT = 1000  # characters; no answer needs more, and we never store free text


class KebasTelegram:
    """The bot's state, shared by every update, and the handler PTB calls for each one."""

    def __init__(self, dialog: Dialog, locales: dict[str, Locale], store: SessionStore,
                 content_paths: list[Path] | None = None,
                 admin_ids: frozenset[int] = frozenset(), retention_days: int = 90,
                 send_rate: float = FloodLimit.MESSAGES_PER_SECOND,
                 erase_key: bytes | None = None, checkin: Dialog | None = None) -> None:
        self.store = store
        self.admin_ids = admin_ids
        self.retention_days = retention_days  # said in the consent and privacy texts
        self.send_rate = send_rate
        self.metrics = BotMetrics(dialog)  # this bot's own registry: /metrics
        # why /healthz is 503 before the bot has started and once it stops (None: started)
        self.not_ready: str | None = "Kebas is starting"
        # serves the dialog, its check-in and the texts
        self.conversations = Conversations(dialog, store, locales, checkin=checkin)
        self.conversations.keep_days = retention_days
        self.conversations.cancelled = self.metrics.followup_cancelled
        self.processor = PerChatUpdates()
        self.updates = DurableUpdates(store, on_stop=self.processor.stop_soon,
                                      metrics=self.metrics)
        self.flood = FloodGuard()
        # groups told that Kebas works in private chats only (the value is unused)
        self.groups_told: BoundedDict[int, None] = BoundedDict(REMEMBERED_CHATS)
        # chat id -> the message holding its current question, to record a typed answer there
        self.question_messages: BoundedDict[int, int] = BoundedDict(REMEMBERED_CHATS)
        # chat id -> the language it chose before consenting (nothing is stored until then)
        self.languages = LanguagesBeforeConsent(REMEMBERED_CHATS)
        # signs /hapus confirmations; every worker of one bot must share the key (build_bot)
        self.erasure = EraseConfirmations(erase_key or os.urandom(32))
        self.reloads = ContentReload(self.conversations, content_paths, admin_ids,
                                     self.metrics)
        # Telegram's budget, spent on the most urgent request first (red-flag advice)
        self.sending = UrgentFirst(send_rate)
        self.metrics.send_waiting.set_function(self.sending.waiting)
        self.replies = Replies(store, self.conversations, self.question_messages,
                               retention_days, self.metrics, self.sending)
        self.commands = Commands(self.replies, self.conversations, store, self.reloads,
                                 self.erasure, self.question_messages, admin_ids,
                                 retention_days, self.languages)
        self.presses = ButtonPresses(self.replies, self.conversations, store, self.erasure,
                                     self.question_messages, self.languages)
        self.followups = FollowupSender(store, self.conversations, self.replies,
                                        self.processor, self.metrics)

    @property
    def dialog(self) -> Dialog:
        """The dialog new sessions get (a reload changes it)."""
        return self.conversations.dialog

    @property
    def locales(self) -> dict[str, Locale]:
        return self.conversations.locales

    async def health_problem(self) -> str | None:
        """Why this process cannot serve runners now (for /healthz), or None."""
        if self.not_ready is not None:
            return self.not_ready
        try:
            await self.store.ping()
        except STORAGE_FAULTS as exc:
            return storage_fault(self.store, exc, self.metrics)
        return None

    # --- every update -----------------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self.processor.cut:
            return  # kept in the inbox (if it matters): replayed at the next start
        began = time.monotonic()
        try:
            await self.handle(update, context)
        except asyncio.CancelledError:
            raise  # the bot stops: it stays in the inbox, replayed at the next start
        except BaseException:
            self.metrics.handled(update, None)
            await self.updates.done(update.update_id)
            raise
        self.metrics.handled(update, time.monotonic() - began)
        await self.updates.done(update.update_id)

    async def handle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        query = update.callback_query
        if update.my_chat_member is not None:
            await self.member_changed(update.my_chat_member)
            return
        if update.chat_member is not None or update.chat_join_request is not None:
            return  # someone joined or left a group: not a word to anyone
        user = update.effective_user
        from_bot = user is not None and user.is_bot
        # in a private chat only its owner speaks; anyone else's update is not theirs to act on
        stranger = chat is not None and chat.type == ChatType.PRIVATE \
            and (user is None or user.id != chat.id)
        if chat is None or chat.type != ChatType.PRIVATE or from_bot or stranger:
            if query is not None:
                await answer_quietly(query)  # a button must never keep spinning
            if chat is not None and chat.type != ChatType.PRIVATE and not from_bot:
                await self.not_private(chat.id, chat.type, context.bot)
            return  # inline queries, polls, other bots: nothing for a questionnaire to do
        language_code = user.language_code if user else None
        here = await read_chat(self.store, self.locales, chat.id, language_code,
                               self.languages)
        bot = context.bot
        verdict = self.flood.arrived(chat.id, self.processor.behind(chat.id))
        here.quiet = verdict is not Verdict.SERVE
        here.urgent_allowed = functools.partial(self.flood.urgent_allowed, chat.id)
        try:
            if verdict is Verdict.WARN:
                self.metrics.chat_floods.inc()
                # first: the flood must end and the question come again even if this send fails
                context.application.create_task(self.after_flood(bot, chat.id, language_code))
                await self.replies.send(bot, here, escape(here.locale.text("tg.flood")),
                                        essential=True)
            if query is not None:
                await self.presses.pressed(query, update.update_id, here, bot)
            elif update.edited_message is not None:
                await self.replies.send_texts(bot, here, [here.locale.text("tg.edited")])
                await self.replies.show_current(bot, here)
            elif update.message is not None:
                await self.on_message(update.message, update.update_id, here, bot)
        except Blocked:
            log.info("chat %s blocked the bot; not sending to it any more", chat.id)

    async def after_flood(self, bot: Any, chat_id: int, language_code: str | None) -> None:
        """Once a flooding chat has been silent for a while, show it where it stands, once."""
        while not self.processor.stopping:
            await asyncio.sleep(self.flood.until_calm(chat_id))
            if self.processor.stopping:
                return
            if await self.processor.in_turn(chat_id, self.end_flood(bot, chat_id,
                                                                    language_code)):
                return

    async def end_flood(self, bot: Any, chat_id: int, language_code: str | None) -> bool:
        if not self.flood.calmed(chat_id):
            return False  # more arrived while we waited for the chat's turn
        here = await read_chat(self.store, self.locales, chat_id, language_code,
                               self.languages)
        try:
            await self.replies.show_current(bot, here)
        except Blocked:
            log.info("chat %s blocked the bot; not sending to it any more", chat_id)
        return True

    async def not_private(self, chat_id: int, chat_type: str, bot: Any) -> None:
        """Say once per group that Kebas works in private chats; store nothing about it."""
        if chat_id in self.groups_told:
            return
        self.groups_told[chat_id] = None
        if chat_type == ChatType.CHANNEL:
            return  # a bot cannot start a conversation in a channel
        locale = self.locales[pick_language(None, self.locales)]
        try:
            await bot.send_message(chat_id, escape(locale.text("tg.private_only")))
        except TelegramError as exc:
            log.info("could not answer in group %s: %s", chat_id, type(exc).__name__)

    async def member_changed(self, member: ChatMemberUpdated) -> None:
        """A runner who blocks the bot is marked, so nothing more is sent to them."""
        if member.chat.type == ChatType.PRIVATE and member.new_chat_member.status == "kicked":
            key = chat_key(member.chat.id)
            if await self.store.chat(key) is not None:
                await self.store.update_chat(key, blocked_at=self.store.now())
                await self.conversations.cancel_followups(key, "blocked")

    # --- typed text -------------------------------------------------------------------

    async def on_message(self, message: TgMessage, update_id: int, here: Chat, bot: Any
                         ) -> None:
        refused = self.refusal(message, here)
        if refused is not None:
            await self.replies.send_texts(bot, here, [here.locale.text(refused)])
            await self.replies.show_current(bot, here)
            return
        text = message.text or ""  # a message without text is refused above
        if text.startswith("/"):
            command, *words = text.split()
            name = command_name(command)
            if name in STARTS and len(words) == 1:  # t.me/<bot>?start=PAYLOAD
                await self.commands.follow_link(words[0], update_id, here)
            await self.commands.run(name, update_id, here, bot)
            return
        if not here.consented:
            await self.replies.ask_consent(bot, here, again=True)
            return
        if await self.replies.late(bot, here, update_id):
            return
        current = await self.conversations.current(here.key)
        if current is None or current.step is None:
            await self.replies.show(bot, here, await self.conversations.begin(
                here.key, update_id=update_id))
            return
        step = current.step
        question = compose(step, here.locale)[1] if step.prompt is not None else None
        # meant for this question: redone after another worker moved the chat on, it is stale
        place = (step.state["node"], len(step.state["answers"]))
        turn = await self.conversations.handle(
            here.key, placed(typed_input(question, text), place), update_id=update_id,
            read=current)
        answered = turn.step
        if answered is not None and answered.answer is not None \
                and here.id in self.question_messages:
            await self.replies.record_answer(bot, here, self.question_messages[here.id],
                                             answered)
        await self.replies.show(bot, here, turn)

    def refusal(self, message: TgMessage, here: Chat) -> str | None:
        """The text key of why a message is not read as an answer or command, if it is not.

        A forwarded message holds someone else's words, and a reply to an older message was
        meant for another question: applying either to the current question would store an
        answer the runner never gave. (After a restart the current question is known again
        once it is sent again, so a reply made just then gets the question again.)
        """
        if message.forward_origin is not None:
            return "tg.forwarded"
        if message.text is None:
            return "tg.unsupported"
        if message.text.startswith("/"):
            return None
        if here.consented and message.reply_to_message is not None \
                and message.reply_to_message.message_id != self.question_messages.get(here.id):
            return "tg.old_reply"
        if here.consented and len(message.text) > LONGEST_TEXT:
            return "tg.too_long"
        return None

    # --- errors -----------------------------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure and apologise: never leave a runner in silence.

        The log gets the error's type and where it happened, not its message, which may
        quote what the runner typed.
        """
        error = context.error
        if isinstance(error, STORAGE_FAULTS):  # the operator's to mend: say what and where
            log.error("storage fault while handling update %s: %s; the runner was asked to "
                      "try again", getattr(update, "update_id", "?"),
                      storage_fault(self.store, error, self.metrics))
        else:
            where = "".join(traceback.format_tb(error.__traceback__)) if error else ""
            log.error("handling update %s failed: %s\n%s", getattr(update, "update_id", "?"),
                      type(error).__name__, where.rstrip())
        if not isinstance(update, Update) or update.effective_chat is None \
                or update.effective_chat.type != ChatType.PRIVATE:
            return
        locale = self.locales[pick_language(
            update.effective_user.language_code if update.effective_user else None,
            self.locales)]
        if update.callback_query is not None:
            await answer_quietly(update.callback_query)
        if self.flood.until_calm(update.effective_chat.id) > 0:
            return  # a flooding chat hears from us once its flood is over
        try:
            await context.bot.send_message(update.effective_chat.id,
                                           escape(locale.text("tg.sorry")))
            self.metrics.replies.inc()
        except TelegramError as exc:
            log.warning("could not apologise: %s", type(exc).__name__)


def placed(given: Input, place: Place) -> Input:
    """Typed input, bound to the question it was meant for (typed text is never Back or
    Restart, which belong to no question)."""
    if isinstance(given, (Back, Restart)):
        return given
    return replace(given, at=place)
