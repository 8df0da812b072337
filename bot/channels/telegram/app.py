"""Kebas on Telegram: one dispatcher for every update, the shared conversation driver behind it.

Every update takes the same road: which chat and language → consent → neutral input → the
conversation commits the step → render HTML (all text escaped) → send. Chats are handled
concurrently, but each chat's updates strictly in order (`PerChatUpdates`); a chat that floods
is answered sparingly (`bot.flood`). Nothing is stored before the runner consents, and nothing
at all for groups and channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import inspect
import json
import logging
import os
import re
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram import Message as TgMessage
from telegram.constants import ChatType, FloodLimit, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    Defaults,
    TypeHandler,
)
from telegram.request import HTTPXRequest

from bot.channels.telegram.bounded import BoundedDict
from bot.channels.telegram.flood import FloodGuard, Verdict
from bot.channels.telegram.inbox import replay_payload
from bot.channels.telegram.polling import KebasBot, UnreadableSkipped
from bot.content.gate import gated_bundle
from bot.content.loader import Bundle, default_paths
from bot.conversation import Conversations, Turn
from bot.core import buttons
from bot.core.buttons import Action, ButtonPress
from bot.core.engine import Back, Choose, Input, SayKind, Step, StepKind, Submit, Toggle
from bot.core.i18n import LANGUAGE_NAMES, TELEGRAM_COMMANDS, Locale, pick_language
from bot.core.model import Dialog
from bot.core.render import (
    Line,
    Message,
    Question,
    answer_label,
    compose,
    outcome_messages,
    question_of,
    why_message,
)
from bot.core.typed_input import typed_input
from bot.storage import (
    STORAGE_FAULTS,
    SessionStore,
    StorageError,
    explain_storage_fault,
    open_store,
    retention,
    shown_database,
    utc_now,
)
from bot.tools.stats import telegram_summary

log = logging.getLogger("kebas.telegram")
# RetryAfter.retry_after becomes a timedelta in PTB 23; opt in now (PTB's limiter reads it).
os.environ.setdefault("PTB_TIMEDELTA", "1")

CONSENT_VERSION = 1
LONGEST_TEXT = 1000  # characters; no answer needs more, and we never store free text
COMMANDS = TELEGRAM_COMMANDS
# consent (k), continue/restart (s, with the session), delete (h, with its confirmation),
# language (l)
CONTROL = re.compile(r"([a-z]):([a-z_]+)(?::([0-9a-z-]{1,32}))?")
# The "yes, delete everything" button of /hapus works this long, for that chat and the consent
# it was shown under: an old or forged button never erases what the runner said since.
ERASE_WINDOW = 10 * 60  # seconds
# After SIGTERM, the updates still running get this long to finish before they are cut short
# (they stay in the inbox and are replayed at the next start): the process ends within 10 s
# even while a reply waits out a long flood wait.
STOP_GRACE = 5.0  # seconds
# Chats whose group notice or current question message is remembered (the least recently
# used are forgotten first): memory follows the active chats, not every chat ever seen.
REMEMBERED_CHATS = 10_000



# Connections to the Bot API. httpcore scans its whole pool for every request, so PTB's default
# of 256 costs more CPU than it saves under load (docs/performance.md); 16 carry far more than
# the 30 messages a second Telegram allows, even at 200 ms a request. A request waits for a free
# connection rather than fail.
HTTP_CONNECTIONS = 16
# However often Telegram answers 429, the request is sent again after its retry_after.
NEVER_GIVE_UP = sys.maxsize


def outgoing_limiter(per_second: float) -> AIORateLimiter:
    """Telegram's limits, kept without ever dropping a message.

    At most `per_second` requests a second to all chats together (sends and edits; answers
    to button presses are not counted by Telegram), and 20 a minute to any group. A flood
    wait (429) pauses every request for its retry_after, as Telegram asks, and the request is
    then sent again, for as long as it takes. One private chat cannot outrun Telegram's
    one message a second for long: it gets one reply per message, and a flooding chat gets
    hardly any (`bot.flood`).
    """
    return AIORateLimiter(overall_max_rate=per_second, overall_time_period=1,
                          max_retries=NEVER_GIVE_UP)


class PerChatUpdates(BaseUpdateProcessor):
    """Many chats at once, each chat's updates one after another in arrival order.

    Tasks reach the per-chat lock in the order PTB created them, and asyncio locks are fair,
    so a chat's second update waits for its first: a double tap can never race itself.
    """

    # Updates waiting for their chat hold a slot, so the bound is high: one runner's flood
    # must not use up the slots other chats need.
    def __init__(self, max_concurrent_updates: int = 4096) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        # Set when the bot begins to stop, and when what is still running is cut short: from
        # then on, updates not yet begun are left for the next start.
        self.stopping = self.cut = False
        self._running: set[asyncio.Task[Any]] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            chat = update.effective_chat if isinstance(update, Update) else None
            if chat is None:
                await coroutine
                return
            await self.in_turn(chat.id, coroutine)
        finally:
            self._running.discard(task)  # type: ignore[arg-type]

    def stop_soon(self, grace: float) -> None:
        """The bot is stopping: after `grace` seconds, cut short the updates still running
        (a reply waiting out a long flood wait, say) and begin no more. Each one kept in the
        inbox is replayed at the next start and applied once, as after a kill."""
        if self.stopping:
            return
        self.stopping = True
        asyncio.get_running_loop().call_later(grace, self._cut_short)

    def _cut_short(self) -> None:
        self.cut = True
        if self._running:
            log.info("stopping: %d updates still running are left for the next start",
                     len(self._running))
        for task in list(self._running):
            task.cancel()

    async def in_turn(self, chat_id: int, coroutine: Awaitable[Any]) -> Any:
        """Run `coroutine` when it is this chat's turn: after what the chat sent before."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                return await coroutine
        except asyncio.CancelledError:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:  # type: ignore
                coroutine.close()  # type: ignore[attr-defined]  # cut short before it began
            raise
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id], self._locks[chat_id]

    def behind(self, chat_id: int) -> int:
        """How many of the chat's updates wait behind the one being handled."""
        return max(0, self._users.get(chat_id, 0) - 1)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class DurableUpdates(asyncio.Queue):
    """The queue PTB's Updater fills: each update is on disk before Telegram hears we have it.

    The Updater confirms a batch (next getUpdates offset) as soon as it is queued, not when
    it is handled; so a SIGKILL could otherwise lose queued updates. Handled updates are
    deleted (`KebasTelegram.on_update`); leftovers are replayed at start (`replay`).
    """

    def __init__(self, store: SessionStore, on_stop: Callable[[], None] = lambda: None
                 ) -> None:
        super().__init__()
        self.store = store
        self.held: set[int] = set()  # ids of the updates kept in the inbox, until handled
        # The Application puts a stop marker (not an update) here when it begins to stop.
        self.on_stop = on_stop

    async def put(self, item: object) -> None:
        """Never raises: PTB's polling would stop for good. When the database cannot take
        the update, it is handled all the same, so the runner at least gets an apology."""
        if not isinstance(item, Update):
            self.on_stop()
            await super().put(item)
            return
        payload = None
        try:
            payload = await self._durable(item)
            fresh = payload is None or await self.store.inbox_add(
                item.update_id, f"tg:{item.effective_chat.id}", payload)
        except STORAGE_FAULTS as exc:
            log.warning("update %s is handled without the inbox: %s",
                        getattr(item, "update_id", "?"), storage_fault(self.store, exc))
            payload, fresh = None, True  # not kept: nothing to delete afterwards
        if payload is not None and fresh:
            self.held.add(item.update_id)
        if fresh:  # else Telegram sent it again while we still hold it
            await super().put(item)

    def release(self, update_id: int) -> bool:
        """Whether this update was kept in the inbox (and so must now be deleted from it)."""
        if update_id in self.held:
            self.held.discard(update_id)
            return True
        return False

    async def _durable(self, item: object) -> str | None:
        """What to keep of an update until it is handled, or None when nothing need be kept.

        Only what can change a consented runner's session is kept: a text message or a
        button press in a private chat, and the consent tap itself. Nothing is kept for
        groups, for media, contacts, locations or forwarded messages (they only get a fixed
        reply), nor anything else before consent. Of what is kept, only the fields its
        replay reads (`bot.channels.inbox`): no name, nobody else's words.
        """
        if not isinstance(item, Update) or item.effective_chat is None \
                or item.effective_chat.type != ChatType.PRIVATE:
            return None
        message, query = item.message, item.callback_query
        if query is None and (message is None or message.text is None
                              or message.forward_origin is not None):
            return None
        if query is None or not (query.data or "").startswith("k:"):
            settings = await self.store.chat(f"tg:{item.effective_chat.id}")
            if settings is None or not settings.consent_version:
                return None
        return replay_payload(item)

    async def replay(self, bot: Any) -> int:
        pending = await self.store.inbox_pending()
        for update_id, payload in pending:
            self.held.add(update_id)
            await super().put(Update.de_json(json.loads(payload), bot))
        return len(pending)


@dataclass
class Chat:
    """One private chat while an update is handled: where to send, in which language."""

    id: int
    key: str
    locale: Locale
    consented: bool
    consent_at: str | None = None  # when; a /hapus confirmation is bound to it
    quiet: bool = False  # the chat is flooding: send only what must not wait (bot.flood)


class _Blocked(Exception):
    """The runner blocked the bot; stop sending to them."""


class KebasTelegram:
    def __init__(self, dialog: Dialog, locales: dict[str, Locale], store: SessionStore,
                 content_paths: list[Path] | None = None,
                 admin_ids: frozenset[int] = frozenset(), retention_days: int = 90,
                 send_rate: float = FloodLimit.MESSAGES_PER_SECOND,
                 erase_key: bytes | None = None) -> None:
        self.dialog = dialog
        self.locales = locales
        self.store = store
        self.content_paths = content_paths
        self.admin_ids = admin_ids
        self.retention_days = retention_days  # said in the consent and privacy texts
        self.send_rate = send_rate
        self.conversations = Conversations(dialog, store, locales)
        self.processor = PerChatUpdates()
        self.updates = DurableUpdates(store, on_stop=lambda: self.processor.stop_soon(
            STOP_GRACE))
        self.flood = FloodGuard()
        # groups told that Kebas works in private chats only (the value is unused)
        self.groups_told: BoundedDict[int, None] = BoundedDict(REMEMBERED_CHATS)
        # chat id -> the message holding its current question, to record a typed answer there
        self.question_messages: BoundedDict[int, int] = BoundedDict(REMEMBERED_CHATS)
        # signs /hapus confirmations; every worker of one bot must share it (build_bot)
        self.erase_key = erase_key or os.urandom(32)
        self.clock = time.time  # wall clock, for confirmations that expire

    # --- wiring -----------------------------------------------------------------------

    def application(self, token: str, base_url: str, base_file_url: str, *,
                    polling: bool = True) -> Application:
        """`polling=False`: no Updater; a webhook server hands each update in (bot.webhook).

        Long polling skips an update PTB cannot read and stops at once on SIGTERM, whatever
        getUpdates answers (`bot.channels.polling`).
        """
        bot = KebasBot(token, base_url, base_file_url,
                       request=HTTPXRequest(connection_pool_size=HTTP_CONNECTIONS,
                                            pool_timeout=None),
                       get_updates_request=UnreadableSkipped(connection_pool_size=1),
                       rate_limiter=outgoing_limiter(self.send_rate),
                       defaults=Defaults(parse_mode=ParseMode.HTML,
                                         link_preview_options=LinkPreviewOptions(
                                             is_disabled=True)))
        builder = (ApplicationBuilder().bot(bot)
                   .concurrent_updates(self.processor)
                   .update_queue(self.updates))
        if not polling:
            builder = builder.updater(None)
        app = builder.build()
        bot.poll_while(lambda: app.updater is not None and app.updater.running)
        app.add_handler(TypeHandler(Update, self.on_update))
        app.add_error_handler(self.on_error)
        return app

    async def health_problem(self) -> str | None:
        """Why this process cannot serve runners now (for /healthz), or None."""
        try:
            await self.store.ping()
        except STORAGE_FAULTS as exc:
            return storage_fault(self.store, exc)
        return None

    async def announce_commands(self, app: Application) -> None:
        """setMyCommands in Indonesian for everyone, and in English for English clients."""
        for language, locale in self.locales.items():
            commands = [BotCommand(name, locale.text(f"command.{name}")) for name in COMMANDS]
            try:
                await app.bot.set_my_commands(
                    commands, language_code=None if language == "id" else language)
            except TelegramError as exc:
                log.warning("could not register the command list (%s): %s", language,
                            type(exc).__name__)

    # --- reloading edited content -----------------------------------------------------

    async def reload(self) -> tuple[bool, str]:
        """Serve the edited dialogs and texts, but only if they pass check, proofs and scenarios.

        Sessions in progress keep the dialog version they started with (Conversations).
        """
        if not self.content_paths:
            return False, "no content folders are configured"
        bundle, problems = await asyncio.to_thread(gated_bundle, self.content_paths)
        if bundle is None:
            shown = problems[:10] + ([f"... and {len(problems) - 10} more"]
                                     if len(problems) > 10 else [])
            log.warning("reload refused: %d problems, first: %s", len(problems), problems[0])
            return False, "\n".join(shown)
        self.dialog, self.locales = bundle.dialog(), bundle.locales
        self.conversations.serve(self.dialog, self.locales)
        log.info("reloaded: dialog %s v%s", self.dialog.id, self.dialog.version)
        return True, f"{self.dialog.id} v{self.dialog.version}"

    async def reload_and_tell_admins(self, bot: Any) -> None:
        """SIGHUP: reload, and tell every admin how it went."""
        loaded, detail = await self.reload()
        for admin in sorted(self.admin_ids):
            locale = self.locales[pick_language(None, self.locales)]
            try:
                await bot.send_message(admin, _escape(self._reload_text(locale, loaded, detail)))
            except TelegramError as exc:
                log.info("could not tell admin %s about the reload: %s", admin,
                         type(exc).__name__)

    def _reload_text(self, locale: Locale, loaded: bool, detail: str) -> str:
        if loaded:
            return locale.text("tg.reloaded", dialog=self.dialog.id, version=self.dialog.version)
        return locale.text("tg.reload_failed", problems=detail)

    # --- every update -----------------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self.processor.cut:
            return  # kept in the inbox (if it matters): replayed at the next start
        try:
            await self._handle(update, context)
        except asyncio.CancelledError:
            raise  # the bot stops: it stays in the inbox, replayed at the next start
        except BaseException:
            await self._release(update.update_id)
            raise
        await self._release(update.update_id)

    async def _release(self, update_id: int) -> None:
        """Forget a handled update kept in the inbox."""
        try:
            if self.updates.release(update_id):
                await self.store.inbox_done(update_id)
        except STORAGE_FAULTS as exc:  # it stays in the inbox; a replay is applied once
            log.warning("update %s stays in the inbox: %s", update_id,
                        storage_fault(self.store, exc))

    async def _handle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        query = update.callback_query
        if update.my_chat_member is not None:
            await self._member_changed(update)
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
                await _answer_quietly(query)  # a button must never keep spinning
            if chat is not None and chat.type != ChatType.PRIVATE and not from_bot:
                await self._not_private(update, context)
            return  # inline queries, polls, other bots: nothing for a questionnaire to do
        language_code = user.language_code if user else None
        here = await self._chat(chat.id, language_code)
        bot = context.bot
        verdict = self.flood.arrived(chat.id, self.processor.behind(chat.id))
        here.quiet = verdict is not Verdict.SERVE
        try:
            if verdict is Verdict.WARN:
                # first: the flood must end and the question come again even if this send fails
                context.application.create_task(self._after_flood(bot, chat.id, language_code))
                await self._send(bot, here, _escape(here.locale.text("tg.flood")),
                                 essential=True)
            if query is not None:
                await self._on_button(update, here, bot)
            elif update.edited_message is not None:
                await self._send_texts(bot, here, [here.locale.text("tg.edited")])
                await self._show_current(bot, here)
            elif update.message is not None:
                await self._on_message(update.message, update.update_id, here, bot)
        except _Blocked:
            log.info("chat %s blocked the bot; not sending to it any more", chat.id)

    async def _after_flood(self, bot: Any, chat_id: int, language_code: str | None) -> None:
        """Once a flooding chat has been silent for a while, show it where it stands, once."""
        while not self.processor.stopping:
            await asyncio.sleep(self.flood.until_calm(chat_id))
            if self.processor.stopping:
                return
            if await self.processor.in_turn(chat_id, self._end_flood(bot, chat_id,
                                                                     language_code)):
                return

    async def _end_flood(self, bot: Any, chat_id: int, language_code: str | None) -> bool:
        if not self.flood.calmed(chat_id):
            return False  # more arrived while we waited for the chat's turn
        here = await self._chat(chat_id, language_code)
        try:
            await self._show_current(bot, here)
        except _Blocked:
            log.info("chat %s blocked the bot; not sending to it any more", chat_id)
        return True

    async def _chat(self, chat_id: int, language_code: str | None) -> Chat:
        key = f"tg:{chat_id}"
        settings = await self.store.chat(key)
        if settings is not None and settings.blocked_at:
            await self.store.update_chat(key, blocked_at=None)  # they wrote to us again
        language = settings.language if settings and settings.language else None
        locale = self.locales[pick_language(language or language_code, self.locales)]
        consented = bool(settings and settings.consent_version
                         and settings.consent_version >= CONSENT_VERSION)
        return Chat(chat_id, key, locale, consented,
                    consent_at=settings.consent_at if settings else None)

    async def _not_private(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Say once per group that Kebas works in private chats; store nothing about it."""
        chat = update.effective_chat
        if chat is None or chat.id in self.groups_told:
            return
        self.groups_told[chat.id] = None
        if chat.type == ChatType.CHANNEL:
            return  # a bot cannot start a conversation in a channel
        locale = self.locales[pick_language(None, self.locales)]
        try:
            await context.bot.send_message(chat.id, _escape(locale.text("tg.private_only")))
        except TelegramError as exc:
            log.info("could not answer in group %s: %s", chat.id, type(exc).__name__)

    async def _member_changed(self, update: Update) -> None:
        member = update.my_chat_member
        if member.chat.type == ChatType.PRIVATE and member.new_chat_member.status == "kicked":
            key = f"tg:{member.chat.id}"
            if await self.store.chat(key) is not None:
                await self.store.update_chat(key, blocked_at=self.store.now())

    # --- messages ---------------------------------------------------------------------

    async def _on_message(self, message: TgMessage, update_id: int, here: Chat, bot: Any
                          ) -> None:
        text = message.text
        refused = self._refusal(message, here)
        if refused is not None:
            await self._send_texts(bot, here, [here.locale.text(refused)])
            await self._show_current(bot, here)
            return
        if text.startswith("/"):
            command = text.split()[0][1:].split("@")[0].lower()
            await self._on_command(command, update_id, here, bot)
            return
        if not here.consented:
            await self._ask_consent(bot, here, again=True)
            return
        if await self._late(here, update_id, bot):
            return
        current = await self.conversations.current(here.key)
        if current is None:
            await self._show(bot, here, await self.conversations.begin(here.key,
                                                                      update_id=update_id))
            return
        question = _question_of(current.step, here.locale)
        # meant for this question: redone after another worker moved the chat on, it is stale
        place = (current.step.state["node"], len(current.step.state["answers"]))
        turn = await self.conversations.handle(
            here.key, replace(typed_input(question, text), at=place), update_id=update_id,
            read=current)
        step = turn.step
        if step is not None and step.answer is not None and here.id in self.question_messages:
            await self._record_answer(bot, here, self.question_messages[here.id], step)
        await self._show(bot, here, turn)

    async def _late(self, here: Chat, update_id: int, bot: Any) -> bool:
        """Whether this text was sent before something of the chat already applied: Telegram
        delivers it late (a webhook worker died holding it), and the question it answered is
        gone. Buttons carry their own question; typed text and commands do not."""
        newest = await self.store.newest_update(here.key)
        if newest is None or newest <= update_id:
            return False
        log.info("update %s of chat %s arrived after update %s was applied; not used",
                 update_id, here.id, newest)
        await self._send_texts(bot, here, [here.locale.text("tg.late")])
        await self._show_current(bot, here)
        return True

    def _refusal(self, message: TgMessage, here: Chat) -> str | None:
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

    async def _on_command(self, command: str, update_id: int, here: Chat, bot: Any) -> None:
        locale = here.locale
        if command == "muatulang" and here.id in self.admin_ids:
            loaded, detail = await self.reload()
            for part in fit_telegram(Message((Line(self._reload_text(
                    self.locales[here.locale.language], loaded, detail)),))):
                await self._send(bot, here, part)
        elif command == "statistik" and here.id in self.admin_ids:
            await self._send_stats(bot, here)
        elif command in ("bantuan", "help"):
            await self._send_texts(bot, here, [locale.text("tg.help")])
        elif command in ("privasi", "privacy"):
            await self._send_texts(bot, here, [locale.text(
                "tg.privacy", retention_days=self.retention_days)])
        elif command in ("bahasa", "language"):
            await self._send(bot, here, _escape(locale.text("tg.language_prompt")), _keyboard(
                [(name, f"l:{code}") for code, name in LANGUAGE_NAMES.items()
                 if code in self.locales]))
        elif command in ("hapus", "delete"):
            confirmation = erase_confirmation(self.erase_key, here, int(self.clock()))
            await self._send(bot, here, _escape(locale.text("tg.delete_confirm")), _keyboard(
                [(locale.text("tg.delete_yes"), f"h:yes:{confirmation}"),
                 (locale.text("tg.delete_no"), "h:no")]))
        elif not here.consented:
            await self._ask_consent(bot, here, again=command not in ("start", "mulai"))
        elif command in ("kembali", "back", "ulang", "restart", "batal", "cancel") \
                and await self._late(here, update_id, bot):
            return
        elif command in ("start", "mulai"):
            current = await self.conversations.current(here.key)
            if current is not None and current.step.prompt is not None \
                    and current.step.state["answers"]:
                session = buttons.to_base36(current.session_id)
                await self._send(bot, here, _escape(locale.text("tg.continue_or_restart")),
                                 _keyboard([(locale.text("tg.continue"), f"s:continue:{session}"),
                                            (locale.text("tg.restart"), f"s:restart:{session}")]))
            else:
                await self._show(bot, here, await self.conversations.begin(
                    here.key, update_id=update_id))
        elif command in ("kembali", "back"):
            await self._show(bot, here, await self.conversations.handle(
                here.key, Back(), update_id=update_id))
        elif command in ("ulang", "restart"):
            await self._show(bot, here, await self.conversations.begin(
                here.key, update_id=update_id, fresh=True))
        elif command in ("batal", "cancel"):
            cancelled = await self.store.abandon(here.key)
            self.question_messages.pop(here.id, None)
            await self._send_texts(bot, here, [locale.text(
                "tg.cancelled" if cancelled else "tg.nothing_to_cancel",
                retention_days=self.retention_days)])
        else:
            await self._send_texts(bot, here, [locale.text("tg.unknown_command")])
            await self._show_current(bot, here)

    async def _send_stats(self, bot: Any, here: Chat) -> None:
        """Usage numbers for an admin: counts and node ids only, never who or what was typed."""
        rows = await self.store.usage_rows()
        now = datetime.fromisoformat(self.store.now())
        for part in fit_telegram(telegram_summary(rows, self.dialog, here.locale, now)):
            await self._send(bot, here, part)

    # --- buttons ----------------------------------------------------------------------

    async def _on_button(self, update: Update, here: Chat, bot: Any) -> None:
        """Every press is answered: as soon as its effect is committed, before slow sends."""
        answer = _Answer(update.callback_query)
        try:
            data = update.callback_query.data or ""
            control = CONTROL.fullmatch(data)
            press = buttons.decode(data)
            if control:
                await self._on_control(control.group(1), control.group(2), control.group(3),
                                       update, here, bot, answer)
            elif press is None:
                await answer.send(here.locale.text("tg.forged"))
                await self._show_current(bot, here)
            elif not here.consented:
                await answer.send()
                await self._ask_consent(bot, here, again=True)
            else:
                await self._on_press(press, update, here, bot, answer)
        finally:
            await answer.send()

    async def _on_control(self, kind: str, value: str, session: str | None, update: Update,
                          here: Chat, bot: Any, answer: _Answer) -> None:
        locale = here.locale
        query = update.callback_query
        if kind == "k" and here.consented and value in ("agree", "decline"):
            # a second tap, or an old consent message: consent stands until /hapus
            await answer.send(locale.text("tg.already_recorded"))
            if value == "decline":
                await self._send_texts(bot, here, [locale.text("tg.already_consented")])
            elif here.id not in self.question_messages and await self._not_begun(here):
                # redelivered after a restart: the first question may never have gone out
                await self._show(bot, here, await self.conversations.begin(
                    here.key, update_id=update.update_id))
        elif kind == "k" and value == "agree":
            await self.store.update_chat(here.key, consent_version=CONSENT_VERSION,
                                         consent_at=self.store.now(),
                                         language=here.locale.language)
            here.consented = True
            await answer.send()
            await self._record(query, locale.text("tg.consent_agree"), here)
            await self._send_texts(bot, here, [locale.text("tg.consent_given")])
            await self._show(bot, here, await self.conversations.begin(
                here.key, update_id=update.update_id))
        elif kind == "k" and value == "decline":
            await answer.send()
            await self._record(query, locale.text("tg.consent_decline"), here)
            await self._send_texts(bot, here, [locale.text("tg.declined")])
        elif kind == "s" and here.consented and value in ("continue", "restart"):
            current = await self.conversations.current(here.key)
            if current is None or session != buttons.to_base36(current.session_id):
                await answer.send(locale.text("error.stale_button"))
                await self._show_current(bot, here)
                return
            fresh = value == "restart"
            await answer.send()
            await self._record(query, locale.text("tg.restart" if fresh else "tg.continue"), here)
            await self._show(bot, here, await self.conversations.begin(
                here.key, fresh=fresh, update_id=update.update_id))
        elif kind == "h" and value == "yes" and not self._erase_confirmed(here, session):
            await answer.send(locale.text("tg.delete_expired"))  # data stays as it is
        elif kind == "h" and value == "yes":
            await self.store.forget(here.key)
            here.consented = False
            self.question_messages.pop(here.id, None)
            await answer.send()
            await self._record(query, locale.text("tg.delete_yes"), here)
            await self._send_texts(bot, here, [locale.text("tg.deleted")])
        elif kind == "h" and value == "no":
            await answer.send()
            await self._record(query, locale.text("tg.delete_no"), here)
            await self._send_texts(bot, here, [locale.text("tg.delete_kept")])
        elif kind == "w" and value == "why" and here.consented:
            current = await self.conversations.current(here.key)
            if current is None or current.step.outcome is None \
                    or session != buttons.to_base36(current.session_id):
                await answer.send(locale.text("error.stale_button"))
                return
            await answer.send()
            why = why_message(current.step.outcome, current.dialog or self.dialog, locale)
            for part in fit_telegram(why):
                await self._send(bot, here, part)
        elif kind == "l" and value in self.locales:
            here.locale = self.locales[value]
            if here.consented:
                await self.store.update_chat(here.key, language=value)
            await answer.send()
            await self._record(query, LANGUAGE_NAMES.get(value, value), here)
            await self._send_texts(bot, here, [here.locale.text("tg.language_set")])
            await self._show_current(bot, here)
        else:
            await answer.send(locale.text("tg.forged"))
            await self._show_current(bot, here)

    def _erase_confirmed(self, here: Chat, given: str | None) -> bool:
        """Whether a "yes, delete" button was shown to this chat, under its present consent,
        less than ERASE_WINDOW seconds ago."""
        issued = (given or "").partition("-")[0]
        try:
            shown_at = int(issued, 36)
        except ValueError:
            return False
        fresh = 0 <= self.clock() - shown_at <= ERASE_WINDOW
        return fresh and hmac.compare_digest(
            given or "", erase_confirmation(self.erase_key, here, shown_at))

    async def _on_press(self, press: ButtonPress, update: Update, here: Chat, bot: Any,
                        answer: _Answer) -> None:
        current = await self.conversations.current(here.key)
        if current is None:
            await answer.send(here.locale.text("error.stale_button"))  # e.g. after /batal
            await self._send_texts(bot, here, [here.locale.text("tg.after_outcome")])
            return
        if press.action is Action.DONE and _ticks_differ(update.callback_query.message,
                                                         current, press):
            # Submit only what the runner sees: this copy's ticks are out of date.
            await answer.send(here.locale.text("error.stale_button"))
            await self._show_current(bot, here)
            return
        place = (press.node_id, press.step)
        given: Input = {Action.CHOOSE: lambda: Choose(press.option_id, at=place),
                        Action.TOGGLE: lambda: Toggle(press.option_id, at=place),
                        Action.DONE: lambda: Submit(at=place)}[press.action]()
        turn = await self.conversations.handle(here.key, given, update_id=update.update_id,
                                               session_id=press.session, read=current)
        step = turn.step
        if turn.duplicate or step is None:
            await answer.send(here.locale.text("tg.already_recorded"))
            await self._show(bot, here, turn)
            return
        if step.kind is StepKind.STALE:
            if press.session == turn.session_id and _repeats_last_answer(step, press):
                await answer.send(here.locale.text("tg.already_recorded"))  # a double tap
                return
            await answer.send(here.locale.text("error.stale_button"))
            await self._show_current(bot, here)
            return
        if step.kind is StepKind.TOGGLED and step.prompt is not None:
            await answer.send()
            question = compose(step, here.locale)[1]
            await self._edit_markup(update.callback_query,
                                    _answer_keyboard(question, turn.session_id, here.locale),
                                    here)
            return
        if step.kind is StepKind.INVALID:
            await answer.send(_first_text(step, here.locale))
            if step.said and step.said[0].key == "error.not_an_option":
                await self._show_current(bot, here)  # a well-formed but unknown option
            return
        await answer.send()
        message = update.callback_query.message
        if step.answer is not None and message is not None:
            await self._record_answer(bot, here, message.message_id, step)
        await self._show(bot, here, turn)

    # --- showing ----------------------------------------------------------------------

    async def _show(self, bot: Any, here: Chat, turn: Turn) -> None:
        """Send what a step says, then its question (as buttons) or its result.

        A repeated update (Telegram redelivers after a crash) shows where the runner stands,
        since the reply to the first delivery may never have gone out.
        """
        if turn.step is None:
            return
        if turn.duplicate and turn.step.outcome is None:
            await self._show_current(bot, here)
            return
        messages, question = compose(turn.step, here.locale)
        if turn.duplicate:  # the whole result again: its first sending may have been cut short
            messages = outcome_messages(turn.step.outcome, here.locale)
        for message, urgent in zip(messages, _cannot_wait(turn.step, len(messages))):
            for part in fit_telegram(message):
                await self._send(bot, here, part, essential=urgent)
        if question is not None:
            await self._send_question(bot, here, question, turn.session_id)
        elif turn.step.outcome is not None:
            self.question_messages.pop(here.id, None)
            await self._send(bot, here, _escape(here.locale.text("tg.after_outcome")),
                             _keyboard([(here.locale.text("tg.why_button"),
                                         f"w:why:{buttons.to_base36(turn.session_id)}")]),
                             essential=turn.step.kind is StepKind.ANSWERED)

    async def _not_begun(self, here: Chat) -> bool:
        """No question answered yet in a session that is not over (or no session at all)."""
        current = await self.conversations.current(here.key)
        return current is None or (current.step.prompt is not None
                                   and not current.step.state["answers"])

    async def _show_current(self, bot: Any, here: Chat) -> None:
        if not here.consented:
            await self._ask_consent(bot, here, again=True)
            return
        current = await self.conversations.current(here.key)
        if current is not None and current.step.prompt is not None:
            question = compose(current.step, here.locale)[1]
            await self._send_question(bot, here, question, current.session_id)
        elif current is not None and current.step.outcome is not None:
            summary = outcome_messages(current.step.outcome, here.locale)[0]
            for part in fit_telegram(summary):
                await self._send(bot, here, part)
            await self._send_texts(bot, here, [here.locale.text("tg.after_outcome")])
        else:
            await self._send_texts(bot, here, [here.locale.text("tg.after_outcome")])

    async def _send_question(self, bot: Any, here: Chat, question: Question,
                             session_id: int) -> None:
        sent = await self._send(bot, here, _question_html(question),
                                _answer_keyboard(question, session_id, here.locale))
        if sent is not None:
            self.question_messages[here.id] = sent.message_id

    async def _ask_consent(self, bot: Any, here: Chat, again: bool) -> None:
        locale = here.locale
        if not again:
            await self._send_texts(bot, here, [locale.text("tg.welcome")])
        text = locale.text("tg.need_consent") if again else locale.text(
            "tg.consent", retention_days=self.retention_days)
        await self._send(bot, here, _escape(text), _keyboard(
            [(locale.text("tg.consent_agree"), "k:agree"),
             (locale.text("tg.consent_decline"), "k:decline")]))

    async def _record_answer(self, bot: Any, here: Chat, message_id: int, step: Step) -> None:
        """Turn the answered question into a record of the answer, without buttons."""
        if step.asked is None or step.answer is None:
            return
        question = _question_html(question_of(step.asked, here.locale))
        label = answer_label(step.asked, step.answer.value, here.locale)
        text = f"{question}\n\n{_escape(here.locale.text('tg.answered', answer=label))}"
        await self._edit(here, lambda: bot.edit_message_text(text, chat_id=here.id,
                                                             message_id=message_id))
        if self.question_messages.get(here.id) == message_id:
            del self.question_messages[here.id]

    async def _record(self, query: Any, label: str, here: Chat) -> None:
        """Show the choice made on a control message (consent, language...), without buttons."""
        message = query.message
        if message is None or not getattr(message, "text", None):
            return
        text = f"{message.text_html}\n\n{_escape(here.locale.text('tg.answered', answer=label))}"
        await self._edit(here, lambda: query.edit_message_text(text))

    async def _edit_markup(self, query: Any, markup: InlineKeyboardMarkup, here: Chat) -> None:
        await self._edit(here, lambda: query.edit_message_reply_markup(markup))

    async def _edit(self, here: Chat, editing: Callable[[], Awaitable[Any]]) -> None:
        """Edits are cosmetic: a failure is logged and the conversation goes on.

        A flooding chat gets none; its question comes again, up to date, once it calms down.
        """
        if here.quiet:
            return
        try:
            await editing()
        except Forbidden as exc:
            await self._mark_blocked(here)
            raise _Blocked() from exc
        except TelegramError as exc:
            if "not modified" not in str(exc).lower():
                log.info("could not edit a message in chat %s: %s", here.id,
                         type(exc).__name__)

    async def _send_texts(self, bot: Any, here: Chat, texts: list[str]) -> None:
        for text in texts:
            await self._send(bot, here, _escape(text))

    async def _send(self, bot: Any, here: Chat, text: str,
                    markup: InlineKeyboardMarkup | None = None, *,
                    essential: bool = False) -> TgMessage | None:
        """Send, retrying network trouble a few times, then give up loudly.

        Flood waits (429) never get here: `outgoing_limiter` waits them out. A runner who
        blocked us is marked and not retried. A flooding chat is sent only what is
        `essential` (None is returned for the rest).
        """
        if here.quiet and not essential:
            return None
        attempts = 4
        for attempt in range(1, attempts + 1):
            try:
                return await bot.send_message(here.id, text, reply_markup=markup)
            except Forbidden as exc:
                await self._mark_blocked(here)
                raise _Blocked() from exc
            except BadRequest:
                raise
            except NetworkError as exc:
                if attempt == attempts:
                    raise
                pause = 0.5 * attempt
                log.info("sending to chat %s failed (%s); retrying in %.1f s", here.id,
                         type(exc).__name__, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def _mark_blocked(self, here: Chat) -> None:
        if here.consented:
            await self.store.update_chat(here.key, blocked_at=self.store.now())

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
                      storage_fault(self.store, error))
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
            await _answer_quietly(update.callback_query)
        if self.flood.until_calm(update.effective_chat.id) > 0:
            return  # a flooding chat hears from us once its flood is over
        try:
            await context.bot.send_message(update.effective_chat.id,
                                           _escape(locale.text("tg.sorry")))
        except TelegramError as exc:
            log.warning("could not apologise: %s", type(exc).__name__)


class _Answer:
    """Answers a callback query once, with the first text given (a toast), or none."""

    def __init__(self, query: Any) -> None:
        self.query = query
        self.done = False

    async def send(self, text: str | None = None) -> None:
        if self.done:
            return
        self.done = True
        try:
            await self.query.answer(text=text[:200] if text else None)
        except TelegramError as exc:  # too late or answered twice: nothing to do
            log.info("could not answer a button press: %s", type(exc).__name__)


async def _answer_quietly(query: Any) -> None:
    await _Answer(query).send()


# --- rendering ------------------------------------------------------------------------


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def render_html(message: Message) -> str:
    return "\n".join(f"<b>{_escape(line.text)}</b>" if line.strong else _escape(line.text)
                     for line in message.lines)


def fit_telegram(message: Message, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """The message as HTML parts of at most `limit` visible characters, split between lines.

    Telegram counts UTF-16 code units, so an emoji may count twice.
    """
    parts: list[list[Line]] = [[]]
    size = 0
    for line in message.lines:
        for piece in _chunks(line.text, limit):
            if parts[-1] and size + _units(piece) + 1 > limit:
                parts.append([])
                size = 0
            parts[-1].append(Line(piece, line.strong))
            size += _units(piece) + 1
    return [render_html(Message(tuple(lines))) for lines in parts if lines]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _chunks(text: str, limit: int) -> list[str]:
    if _units(text) <= limit:
        return [text]
    pieces, piece, size = [], [], 0
    for character in text:
        units = 2 if ord(character) > 0xFFFF else 1
        if size + units > limit:
            pieces.append("".join(piece))
            piece, size = [], 0
        piece.append(character)
        size += units
    return pieces + ["".join(piece)]


def _question_html(question: Question) -> str:
    return render_html(Message(question.lines))


def _answer_keyboard(question: Question, session_id: int, locale: Locale) -> InlineKeyboardMarkup:
    prompt = question.prompt
    if prompt.kind == "number":
        return None  # type: ignore[return-value]  # typed, no buttons
    multi = prompt.kind == "multi"
    rows = []
    for button in question.buttons:
        action = Action.TOGGLE if multi else Action.CHOOSE
        press = ButtonPress(action, session_id, prompt.step, prompt.node_id, button.id)
        label = f"✓ {button.label}" if button.selected else button.label
        rows.append([InlineKeyboardButton(label, callback_data=buttons.encode(press))])
    if multi:
        done = ButtonPress(Action.DONE, session_id, prompt.step, prompt.node_id, "")
        rows.append([InlineKeyboardButton(f"➡️ {locale.text('common.done')}",
                                          callback_data=buttons.encode(done))])
    return InlineKeyboardMarkup(rows)


def erase_confirmation(key: bytes, here: Chat, issued: int) -> str:
    """What a /hapus "yes" button carries: when it was shown, signed with the chat and the
    consent it was shown under (fits in callback data: at most 24 characters)."""
    signed = f"{here.key}|{here.consent_at or ''}|{issued}".encode()
    signature = hmac.new(key, signed, hashlib.sha256).hexdigest()[:16]
    return f"{buttons.to_base36(issued)}-{signature}"


def _keyboard(choices: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]
                                 for label, data in choices])


def _question_of(step: Step, locale: Locale) -> Question | None:
    return compose(step, locale)[1] if step.prompt is not None else None


def _cannot_wait(step: Step, count: int) -> list[bool]:
    """Which of a step's `count` messages a flooding chat still gets: red-flag advice and a
    result just reached. `compose` puts what the step says first, then the result."""
    said = [said.kind is SayKind.RED_FLAG for said in step.said]
    return said + [step.kind is StepKind.ANSWERED] * (count - len(said))


def _ticks_differ(message: Any, current: Turn, press: ButtonPress) -> bool:
    """Done under ticks other than the choices kept: an older copy of the question (sent
    again after a restart), or one whose last edit failed."""
    prompt = current.step.prompt
    markup = getattr(message, "reply_markup", None)
    if markup is None or prompt is None or current.session_id != press.session \
            or prompt.place != (press.node_id, press.step):
        return False
    ticked = {(button.callback_data or "").split(":")[-1] for row in markup.inline_keyboard
              for button in row
              if (button.callback_data or "").startswith("t:") and button.text.startswith("✓ ")}
    return ticked != set(current.step.state.get("draft") or [])


def _repeats_last_answer(step: Step, press: ButtonPress) -> bool:
    answers = step.state["answers"]
    if not answers or press.step != len(answers) - 1 or answers[-1]["node"] != press.node_id:
        return False
    value = answers[-1]["value"]
    return press.action is Action.DONE or value == press.option_id or (
        isinstance(value, list) and press.option_id in value)


def _first_text(step: Step, locale: Locale) -> str | None:
    messages, _ = compose(step, locale)
    return messages[0].plain if messages else None


def storage_fault(store: SessionStore, error: BaseException) -> str:
    """The operator's sentence for a failing database (see `explain_storage_fault`)."""
    return explain_storage_fault(error, getattr(store, "path", "the database"))


def build_bot(settings: Any, bundle: Bundle, *, polling: bool = True) -> Application:
    """The Application `kebas run` runs; tests drive this same object against a fake server.

    The store opens before the first update (post_init) and closes after the last
    (post_shutdown), so every answer is on disk before the process ends.
    """
    store = open_store(settings.kebas_db)
    kebas = KebasTelegram(bundle.dialog(), bundle.locales, store,
                          content_paths=settings.content_paths(default_paths()),
                          admin_ids=frozenset(settings.kebas_admin_ids),
                          retention_days=settings.kebas_retention_days,
                          send_rate=settings.kebas_send_rate / settings.kebas_workers,
                          erase_key=hashlib.sha256(
                              b"kebas /hapus confirmation\0" + settings.token.encode()).digest())
    app = kebas.application(settings.token, settings.telegram_api_base_url,
                            settings.base_file_url, polling=polling)

    async def start_up(application: Application) -> None:
        await store.open()
        try:
            await retention.purge_now_and_daily(application, store,
                                                settings.kebas_retention_days, utc_now)
        except STORAGE_FAULTS as exc:  # e.g. locked by another program: refuse, clearly
            raise StorageError(storage_fault(store, exc)) from exc
        replayed = await kebas.updates.replay(application.bot)
        if replayed:
            log.info("replaying %d updates received before the last stop", replayed)
        await kebas.announce_commands(application)
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals: no reload
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP,
                lambda: application.create_task(kebas.reload_and_tell_admins(application.bot)))

    async def close_store(_application: Application) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        await store.close()

    app.post_init = start_up
    app.post_shutdown = close_store
    app.bot_data["kebas"] = kebas
    return app


def run_polling(settings: Any, bundle: Bundle) -> int:
    app = build_bot(settings, bundle)
    log.info("Kebas is starting: dialog %s v%s, database %s", bundle.dialog().id,
             bundle.dialog().version, shown_database(settings.kebas_db))
    app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    log.info("Kebas stopped")
    return 0
