"""What a chat is sent: texts, its question with buttons, its result, and the edits that turn an
answered question into a record of the answer.

Sending retries network trouble and gives up loudly; a runner who blocked the bot is marked
and not sent to again (`Blocked`); a flooding chat is sent only what must not wait. Each
request carries its `Priority`, so when Telegram's budget is short red-flag advice goes
first, then results, then next questions; an answered question's record is edited at once
only while the budget is spare, and otherwise later, after everything else (`Later`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup
from telegram import Message as TgMessage
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.channels.telegram.bounded import BoundedDict
from bot.channels.telegram.chats import Chat
from bot.channels.telegram.messages import (
    answer_keyboard,
    escape,
    fit_telegram,
    keyboard,
    question_html,
)
from bot.channels.telegram.metrics import BotMetrics
from bot.channels.telegram.outgoing import (
    Priority,
    answer_record,
    followup_button,
    most_urgent,
    step_messages,
)
from bot.channels.telegram.ratelimit import UrgentFirst
from bot.conversation import Conversations, Turn
from bot.core import buttons
from bot.core.engine import Step, StepKind
from bot.core.render import (
    Message,
    Question,
    compose,
    outcome_messages,
)
from bot.storage import SessionStore

log = logging.getLogger("kebas.telegram")

SEND_ATTEMPTS = 4  # network trouble is retried this often in all, 0.5 s longer each time
# An answered question's record waits this long at most for spare budget; then its old
# buttons just stay (pressed, they are refused as stale, as ever).
RECORD_PATIENCE = 30.0  # seconds
MOST_RECORDS_WAITING = 2000  # beyond this, the oldest waiting record is given up

# What a request is sent as when nothing more urgent is said: a reply, unless the whole task
# is in the background (`background`).
_priority: ContextVar[Priority] = ContextVar("kebas_send_priority", default=Priority.REPLY)


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Send what is sent in this block after every reply a runner is waiting for (a check-in
    due now); red-flag advice and results in it stay as urgent as ever."""
    token = _priority.set(Priority.BACKGROUND)
    try:
        yield
    finally:
        _priority.reset(token)


def priority(urgent: Priority | None = None) -> int:
    """The rate_limit_args of a request: `urgent` when it is said, else the block's."""
    return int(urgent if urgent is not None else _priority.get())


class Blocked(Exception):
    """The runner blocked the bot; stop sending to them."""


class ButtonAnswer:
    """Answers a callback query once, with the first text given (a toast), or none."""

    def __init__(self, query: CallbackQuery) -> None:
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


async def answer_quietly(query: CallbackQuery) -> None:
    """Stop a button's spinner, saying nothing."""
    await ButtonAnswer(query).send()


class Replies:
    """Everything Kebas sends to a private chat, in the chat's language."""

    def __init__(self, store: SessionStore, conversations: Conversations,
                 question_messages: BoundedDict[int, int], retention_days: int,
                 metrics: BotMetrics, sending: UrgentFirst) -> None:
        self.store = store
        self.metrics = metrics  # replies sent, sends retried
        self.sending = sending  # whether Telegram's budget is spare now
        self.later = Later(metrics)
        self.conversations = conversations
        # chat id -> the message holding its current question, to record a typed answer there
        self.question_messages = question_messages
        self.retention_days = retention_days  # said in the consent text

    # --- sending ----------------------------------------------------------------------

    async def send(self, bot: Any, here: Chat, text: str,
                   markup: InlineKeyboardMarkup | None = None, *,
                   essential: bool = False, urgent: Priority | None = None
                   ) -> TgMessage | None:
        """Send HTML, retrying network trouble a few times, then give up loudly.

        Flood waits (429) never get here: the limiter (`UrgentFirst`) waits them out. A runner who
        blocked us is marked and not retried. A flooding chat is sent only what is
        `essential` (None is returned for the rest). `urgent`: its place in the queue for
        Telegram's budget (else a reply's, or the `background` block's).
        """
        if here.quiet and not (essential and here.urgent_allowed()):
            return None
        return await self.retried(here, lambda: bot.send_message(
            here.id, text, reply_markup=markup, rate_limit_args=priority(urgent)))

    async def send_photo(self, bot: Any, here: Chat, photo: bytes, caption: str) -> None:
        """A picture (PNG or JPEG bytes) with a caption (plain text), sent as `send` sends."""
        if not here.quiet:
            await self.retried(here, lambda: bot.send_photo(here.id, photo,
                                                            caption=escape(caption)))

    async def send_document(self, bot: Any, here: Chat, document: bytes, filename: str,
                            caption: str) -> None:
        """A file (e.g. a PDF) with a caption (plain text), sent as `send` sends."""
        if not here.quiet:
            await self.retried(here, lambda: bot.send_document(
                here.id, document, filename=filename, caption=escape(caption)))

    async def retried(self, here: Chat, sending: Callable[[], Awaitable[TgMessage]]
                      ) -> TgMessage:
        """What `sending` sent: network trouble is retried; a block is marked (`Blocked`)."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                sent = await sending()
                self.metrics.replies.inc()
                return sent
            except Forbidden as exc:
                await self.mark_blocked(here)
                raise Blocked() from exc
            except BadRequest:
                raise
            except NetworkError as exc:
                if attempt == SEND_ATTEMPTS:
                    raise
                pause = 0.5 * attempt
                self.metrics.send_retries.inc()
                log.info("sending to chat %s failed (%s); retrying in %.1f s", here.id,
                         type(exc).__name__, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def send_texts(self, bot: Any, here: Chat, texts: list[str]) -> None:
        """Plain texts (escaped), one message each."""
        for text in texts:
            await self.send(bot, here, escape(text))

    async def send_message(self, bot: Any, here: Chat, message: Message, *,
                           essential: bool = False, urgent: Priority | None = None) -> None:
        """A rendered message, in as many parts as Telegram's length limit needs."""
        for part in fit_telegram(message):
            await self.send(bot, here, part, essential=essential, urgent=urgent)

    async def mark_blocked(self, here: Chat) -> None:
        if here.consented:
            await self.store.update_chat(here.key, blocked_at=self.store.now())

    # --- editing ----------------------------------------------------------------------

    async def edit(self, here: Chat, editing: Callable[[], Awaitable[Any]]) -> None:
        """Edits are cosmetic: a failure is logged and the conversation goes on.

        A flooding chat gets none; its question comes again, up to date, once it calms down.
        """
        if here.quiet:
            return
        try:
            await editing()
        except Forbidden as exc:
            await self.mark_blocked(here)
            raise Blocked() from exc
        except TelegramError as exc:
            if "not modified" not in str(exc).lower():
                log.info("could not edit a message in chat %s: %s", here.id,
                         type(exc).__name__)

    async def edit_markup(self, query: CallbackQuery, markup: InlineKeyboardMarkup | None,
                          here: Chat) -> None:
        await self.edit(here, lambda: query.edit_message_reply_markup(markup))

    async def record(self, bot: Any, query: CallbackQuery, label: str, here: Chat) -> None:
        """Show the choice made on a control message (consent, language...), without buttons."""
        message = query.message
        if not isinstance(message, TgMessage) or not message.text:
            return
        text = f"{message.text_html}\n\n{escape(here.locale.text('tg.answered', answer=label))}"
        # a control button is pressed once or twice a questionnaire: its record goes at once
        await self.edit(here, lambda: bot.edit_message_text(
            text, chat_id=here.id, message_id=message.message_id))

    async def record_answer(self, bot: Any, here: Chat, message_id: int, step: Step) -> None:
        """Turn the answered question into a record of the answer, without buttons."""
        text = answer_record(step, here.locale)
        if text is None:
            return
        if self.question_messages.get(here.id) == message_id:
            del self.question_messages[here.id]
        await self.recorded(bot, here, message_id, text, most_urgent(step))

    async def recorded(self, bot: Any, here: Chat, message_id: int, text: str,
                       urgent: Priority = Priority.REPLY) -> None:
        """Edit a message into `text`, without buttons: at once while Telegram's budget is
        spare, else after every reply waiting for it (the runner's next question goes first).

        At once, it queues as `urgent` as what the runner is sent next, so that it can never
        hold that up behind other chats' replies.
        """
        if self.sending.spare():
            self.metrics.records.labels("at_once").inc()
            await self.edit(here, lambda: bot.edit_message_text(
                text, chat_id=here.id, message_id=message_id, rate_limit_args=int(urgent)))
        else:
            self.later.run(here.id, lambda: self.edit(here, lambda: bot.edit_message_text(
                text, chat_id=here.id, message_id=message_id,
                rate_limit_args=int(Priority.COSMETIC))))

    async def answers_withdrawn(self, here: Chat) -> None:
        """The chat went back, started over, cancelled or erased everything: the records of
        its answers still waiting are given up, so none comes back after it (`Later`)."""
        self.later.forget(here.id)

    # --- showing ----------------------------------------------------------------------

    async def show(self, bot: Any, here: Chat, turn: Turn) -> None:
        """Send what a step says, then its question (as buttons) or its result.

        A repeated update (Telegram redelivers after a crash) shows where the runner stands,
        since the reply to the first delivery may never have gone out.
        """
        step = turn.step
        if step is None:
            return
        if turn.duplicate and step.outcome is None:
            await self.show_current(bot, here)
            return
        if step.outcome is not None:
            self.question_messages.pop(here.id, None)
        for out in step_messages(step, here.locale, turn.session_id, again=turn.duplicate,
                                 offer=self.followup_offer(here, turn)):
            sent = await self.send(bot, here, out.html, out.markup, essential=out.essential,
                                   urgent=out.urgent)
            if out.question and sent is not None:
                self.question_messages[here.id] = sent.message_id

    def followup_offer(self, here: Chat, turn: Turn) -> list[tuple[str, str]]:
        """The button that asks for a check-in in a few days, under a result just reached
        that the dialog follows up (none under a result shown again)."""
        days = self.conversations.offer(turn.dialog, turn.step)
        if days is None or turn.step is None or turn.step.kind is not StepKind.ANSWERED:
            return []
        return [followup_button(here.locale, days, turn.session_id)]

    async def show_current(self, bot: Any, here: Chat) -> None:
        """Where the runner stands: the current question again, or the result's summary."""
        if not here.consented:
            await self.ask_consent(bot, here, again=True)
            return
        current = await self.conversations.current(here.key)
        step = current.step if current is not None else None
        if current is not None and step is not None and step.prompt is not None:
            question = compose(step, here.locale)[1]
            if question is not None:
                await self.send_question(bot, here, question, current.session_id)
        elif step is not None and step.outcome is not None:
            await self.send_message(bot, here, outcome_messages(step.outcome, here.locale)[0])
            await self.send_texts(bot, here, [here.locale.text("tg.after_outcome")])
        else:
            await self.send_texts(bot, here, [here.locale.text("tg.after_outcome")])

    async def send_question(self, bot: Any, here: Chat, question: Question,
                            session_id: int) -> None:
        sent = await self.send(bot, here, question_html(question),
                               answer_keyboard(question, session_id, here.locale))
        if sent is not None:
            self.question_messages[here.id] = sent.message_id

    async def ask_consent(self, bot: Any, here: Chat, again: bool) -> None:
        locale = here.locale
        if not again:
            await self.send_texts(bot, here, [locale.text("tg.welcome")])
        text = locale.text("tg.need_consent") if again else locale.text(
            "tg.consent", retention_days=self.retention_days)
        await self.send(bot, here, escape(text), keyboard(
            [(locale.text("tg.consent_agree"),
              buttons.encode_control(buttons.Consent(True, locale.language))),
             (locale.text("tg.consent_decline"),
              buttons.encode_control(buttons.Consent(False, locale.language)))]))

    async def late(self, bot: Any, here: Chat, update_id: int) -> bool:
        """Whether this text was sent before something of the chat already applied: Telegram
        delivers it late (a webhook worker died holding it), and the question it answered is
        gone; if so, the runner is told and shown where they stand. Buttons carry their own
        question; typed text and commands do not."""
        newest = await self.store.newest_update(here.key)
        if newest is None or newest <= update_id:
            return False
        log.info("update %s of chat %s arrived after update %s was applied; not used",
                 update_id, here.id, newest)
        await self.send_texts(bot, here, [here.locale.text("tg.late")])
        await self.show_current(bot, here)
        return True


class Later:
    """Cosmetic edits that wait for spare budget, each given up after RECORD_PATIENCE.

    They run beside the chat's next updates, which is safe: each edits only a message whose
    buttons are already refused, into the record of its answer. When the answer no longer
    stands (the runner went back, started over, cancelled or erased everything), its chat's
    waiting records are given up (`forget`): the record must not outlive the answer.
    """

    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics  # records edited at once, later, or given up
        self.waiting: dict[asyncio.Task[None], int] = {}  # oldest first, with its chat id

    def run(self, chat_id: int, editing: Callable[[], Awaitable[Any]]) -> None:
        if len(self.waiting) >= MOST_RECORDS_WAITING:  # give up the oldest not given up yet
            oldest = next((task for task in self.waiting if not task.cancelling()), None)
            if oldest is not None:
                oldest.cancel()
        task = asyncio.get_running_loop().create_task(self._edit(editing))
        self.waiting[task] = chat_id
        task.add_done_callback(self.waiting.pop)

    def forget(self, chat_id: int) -> None:
        """Give up the chat's waiting records: the answers they show no longer stand."""
        for task, chat in list(self.waiting.items()):
            if chat == chat_id:
                task.cancel()

    async def _edit(self, editing: Callable[[], Awaitable[Any]]) -> None:
        try:
            async with asyncio.timeout(RECORD_PATIENCE):
                await editing()
            self.metrics.records.labels("later").inc()
        except (TimeoutError, asyncio.CancelledError):
            self.metrics.records.labels("given_up").inc()
        except Blocked:
            pass  # marked; nothing more to send them
        except Exception:  # a record is cosmetic: whatever went wrong, the runner goes on
            log.exception("a deferred edit failed")

    async def close(self) -> None:
        """The bot stops: records still waiting are given up."""
        for task in list(self.waiting):
            task.cancel()
        await asyncio.gather(*self.waiting, return_exceptions=True)
