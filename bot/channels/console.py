"""`kebas chat`: the dialog in a terminal, or scripted through a pipe.

Choices are numbered; the runner answers with the number or the option's words. The session is
stored like a Telegram one, so the same user continues where they left off next time.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.channels.summaries import latest_summary
from bot.conversation import Conversations, Turn
from bot.core.engine import Step
from bot.core.followup import CLAIM_SECONDS, followed_text, told_date
from bot.core.i18n import Locale
from bot.core.inputs import Back, Input, Restart, plain_number
from bot.core.model import Dialog
from bot.core.outcome import Outcome
from bot.core.render import Message, Question, answer_label, compose, why_message
from bot.core.summary import summary_text
from bot.core.typed_input import typed_input

COMMANDS_BACK = ("/kembali", "/back")
COMMANDS_RESTART = ("/ulang", "/restart")
COMMANDS_QUIT = ("/keluar", "/quit", "/exit")
COMMANDS_HELP = ("/bantuan", "/help")
COMMANDS_WHY = ("/mengapa", "/why")
COMMANDS_REMIND = ("/ingatkan", "/remind")
HOLDER = "console"  # the claim a console check-in is opened under
COMMANDS_SUMMARY = ("/ringkasan", "/summary")


class ConsoleChat:
    def __init__(self, conversations: Conversations, locale: Locale, chat_key: str,
                 reader: TextIO = sys.stdin, writer: TextIO = sys.stdout) -> None:
        self.conversations = conversations
        self.locale = locale
        self.chat_key = chat_key
        self.reader = reader
        self.writer = writer
        self.question: Question | None = None
        self.outcome: Outcome | None = None  # the last result shown, for /mengapa
        self.dialog: Dialog | None = None    # the dialog this session runs on
        self.session_id: int | None = None   # the session shown, for /ingatkan

    async def run(self) -> int:
        self._say(self.locale.text("console.welcome"))
        self._show_turn(await self.due_checkin() or await self.conversations.begin(
            self.chat_key))
        while True:
            self._write("> ")
            line = await asyncio.to_thread(self.reader.readline)
            if not line:  # end of input: a pipe ran dry or Ctrl-D
                self._write("\n")
                return 0
            text = line.strip()
            if not text:
                continue
            if not self.reader.isatty():
                self._write(text + "\n")  # a scripted transcript shows what was typed
            command = text.split()[0].lower()
            if command in COMMANDS_QUIT:
                self._say(self.locale.text("console.bye"))
                return 0
            if command in COMMANDS_HELP:
                self._say(self.locale.text("console.help"))
                continue
            if command in COMMANDS_REMIND:
                await self.remind()
                continue
            if command in COMMANDS_SUMMARY:
                self._say(await self._summary())
                continue
            if command in COMMANDS_WHY and self.outcome is not None:
                self._message(why_message(self.outcome, self.dialog or self.conversations.dialog,
                                          self.locale))
                continue
            self._show_turn(await self.conversations.handle(self.chat_key, self._input(text)))

    async def due_checkin(self) -> Turn | None:
        """The check-in this user asked for, if it is due (at any hour: the user opened the
        chat): opened and marked sent; None without one."""
        due = await self.conversations.store.claim_due_followups(
            self.conversations.clock(), HOLDER, CLAIM_SECONDS, chat_key=self.chat_key)
        for followup in due:
            opened = await self.conversations.open_checkin(followup)
            if opened.cancel is not None:
                await self.conversations.cancel_followups(self.chat_key, opened.cancel,
                                                          only=followup.id)
                continue
            await self.conversations.store.followup_sent(
                followup.id, HOLDER, opened.turn.session_id if opened.turn else None)
            if opened.turn is not None:
                self._say(followed_text(self.locale, followup.level))
                return opened.turn
        return None

    async def remind(self) -> None:
        """/ingatkan: ask again in a few days, after the result just shown."""
        due = None if self.session_id is None else \
            await self.conversations.schedule_followup(self.chat_key, self.session_id)
        if due is None:
            self._say(self.locale.text("console.followup_unavailable"))
        else:
            self._say(self.locale.text("console.followup_set",
                                       date=told_date(due, self.conversations.zone)))
    async def _summary(self) -> str:
        """The summary for the doctor of this user's latest session, as Telegram sends it."""
        made = await latest_summary(self.conversations, self.chat_key, self.locale)
        return self.locale.text("summary.nothing") if made is None else summary_text(made[0])

    def _input(self, text: str) -> Input:
        command = text.split()[0].lower()
        if command in COMMANDS_BACK:
            return Back()
        if command in COMMANDS_RESTART:
            return Restart()
        return typed_input(self.question, text)

    def _show_turn(self, turn: Turn) -> None:
        self.dialog = turn.dialog
        self.session_id = turn.session_id
        if turn.step is not None:
            self._show(turn.step)
            days = self.conversations.offer(turn.dialog, turn.step)
            if days is not None:
                self._say(self.locale.text("console.followup_offer", days=days))

    def _show(self, step: Step) -> None:
        if step.answer is not None and step.asked is not None:
            label = answer_label(step.asked, step.answer.value, self.locale)
            self._say(self.locale.text("console.answered", answer=label))
        messages, question = compose(step, self.locale)
        for message in messages:
            self._message(message)
        self.question = question
        self.outcome = step.outcome
        if question is not None:
            self._question(question)
        elif step.outcome is not None:
            self._say(self.locale.text("console.finished"))

    def _message(self, message: Message) -> None:
        self._say("\n".join(line.text.upper() if line.strong else line.text
                             for line in message.lines))

    def _question(self, question: Question) -> None:
        lines = [question.lines[0].text]  # the tap-and-Selesai hint is for Telegram
        for number, button in enumerate(question.buttons, start=1):
            lines.append(f"  {number}. {button.label}")
        prompt = question.prompt
        if prompt.kind == "number" and prompt.minimum is not None \
                and prompt.maximum is not None:  # a number question always has its range
            lines.append(self.locale.text("console.prompt_number", min=plain_number(prompt.minimum),
                                          max=plain_number(prompt.maximum)))
        elif prompt.kind == "multi":
            lines.append(self.locale.text("console.prompt_multi", count=len(question.buttons)))
        else:
            lines.append(self.locale.text("console.prompt_choice", count=len(question.buttons)))
        self._say("\n".join(lines))

    def _say(self, text: str) -> None:
        self._write(text + "\n\n")

    def _write(self, text: str) -> None:
        self.writer.write(text)
        self.writer.flush()

