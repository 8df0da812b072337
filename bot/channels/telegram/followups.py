"""Follow-up check-ins on Telegram: the job that sends the due ones, once each.

Every process polls (long polling, and each webhook worker): PTB's JobQueue runs `poll` every
KEBAS_FOLLOWUP_POLL_SECONDS, from the start (an overdue check-in goes out at once). A poll
in the quiet hours does nothing, so a check-in due at night waits for the morning. A due one
is claimed in the database (`claim_due_followups`): of several workers one gets it, for
CLAIM_SECONDS; it is opened and sent in the chat's turn (after what the runner sent before),
then marked sent. A worker that dies holding a claim leaves it to run out: another sends it
late, never not at all. One that dies between Telegram's OK and marking it sent has it sent
twice: the check-in is shown again where it stands (`Conversations.open_checkin`).

A check-in is not sent (it is cancelled) to a runner who has no consent of today's version,
who blocked the bot, or who started another session since the result it follows.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from telegram.error import TelegramError

from bot.channels.telegram.chats import CONSENT_VERSION, Chat, chat_key
from bot.channels.telegram.metrics import BotMetrics
from bot.channels.telegram.ordering import PerChatUpdates
from bot.channels.telegram.replies import Blocked, Replies, background
from bot.conversation import Conversations
from bot.core.followup import CLAIM_SECONDS, followed_text
from bot.core.i18n import pick_language
from bot.storage import STORAGE_FAULTS, Followup, SessionStore

log = logging.getLogger("kebas.followups")

JOB_NAME = "followups"
PREFIX = chat_key(0)[:-1]  # Telegram's chat keys ("tg:"); the console's are not sent here


class FollowupSender:
    """Sends the due check-ins of Telegram chats, one claim at a time."""

    def __init__(self, store: SessionStore, conversations: Conversations, replies: Replies,
                 processor: PerChatUpdates, metrics: BotMetrics) -> None:
        self.store, self.conversations, self.replies = store, conversations, replies
        self.processor, self.metrics = processor, metrics
        self.holder = uuid.uuid4().hex  # this process, in the claims it takes
        # a webhook worker's turn among the workers (`ChatTurns.turn`); None: one process
        self.chat_turn: Callable[[str], AbstractAsyncContextManager[None]] | None = None

    def start(self, application: Any, every_seconds: float) -> None:
        """Poll every `every_seconds` in the application's JobQueue, the first time now."""

        async def poll(context: Any) -> None:
            await self.poll(context.bot)

        application.job_queue.run_repeating(poll, interval=every_seconds, first=0,
                                            name=JOB_NAME)

    async def poll(self, bot: Any) -> int:
        """Send what is due now (nothing in the quiet hours); how many were sent."""
        self.metrics.followups.labels("polls").inc()
        now = self.conversations.clock()
        if self.conversations.quiet.contains(now):
            return 0
        try:
            due = await self.store.claim_due_followups(now, self.holder, CLAIM_SECONDS,
                                                       prefix=PREFIX)
        except STORAGE_FAULTS as exc:
            log.warning("could not look for due follow-ups (trying again at the next poll): "
                        "%s", exc)
            return 0
        sent = 0
        for followup in due:
            chat_id = int(followup.chat_key.removeprefix(PREFIX))
            try:
                sent += await self.processor.in_turn(chat_id, self.in_turn(bot, followup))
            except (*STORAGE_FAULTS, TelegramError) as exc:
                log.warning("follow-up %d not sent now (its claim runs out and it is sent "
                            "later): %s: %s", followup.id, type(exc).__name__, exc)
        return sent

    async def in_turn(self, bot: Any, followup: Followup) -> int:
        turn = self.chat_turn(followup.chat_key) if self.chat_turn is not None \
            else contextlib.nullcontext()
        async with turn:
            return await self.send(bot, followup)

    async def send(self, bot: Any, followup: Followup) -> int:
        """Open the check-in and send it, or cancel it; 1 if it was sent."""
        settings = await self.store.chat(followup.chat_key)
        if settings is None or not settings.consent_version \
                or settings.consent_version < CONSENT_VERSION:
            return await self.cancel(followup, "consent")
        if settings.blocked_at is not None:
            return await self.cancel(followup, "blocked")
        opened = await self.conversations.open_checkin(followup)
        if opened.cancel is not None:
            return await self.cancel(followup, opened.cancel)
        if opened.turn is not None:
            locales = self.conversations.locales
            here = Chat(int(followup.chat_key.removeprefix(PREFIX)), followup.chat_key,
                        locales[pick_language(settings.language, locales)], consented=True,
                        consent_at=settings.consent_at)
            try:
                with background():  # after the replies runners are waiting for
                    await self.replies.send_texts(bot, here,
                                                  [followed_text(here.locale, followup.level)])
                    await self.replies.show(bot, here, opened.turn)
            except Blocked:
                log.info("chat %s blocked the bot; its follow-up is cancelled", here.id)
                return await self.cancel(followup, "blocked")
        checkin = opened.turn.session_id if opened.turn is not None else None
        if await self.store.followup_sent(followup.id, self.holder, checkin):
            self.metrics.followups.labels("sent").inc()
        return 1

    async def cancel(self, followup: Followup, reason: str) -> int:
        await self.conversations.cancel_followups(followup.chat_key, reason, only=followup.id)
        return 0
