"""`kebas chat`: the dialog in a terminal, or scripted through a pipe.

Choices are numbered; the runner answers with the number or the option's words. The session is
stored like a Telegram one, so the same user continues where they left off next time.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.conversation import Conversations
from bot.engine import (Back, Choose, ChooseMany, Input, Restart, Step, StepKind, Typed,
                        plain_number)
from bot.i18n import Locale
from bot.render import Message, Question, answer_label, compose

COMMANDS_BACK = ("/kembali", "/back")
COMMANDS_RESTART = ("/ulang", "/restart")
COMMANDS_QUIT = ("/keluar", "/quit", "/exit")
COMMANDS_HELP = ("/bantuan", "/help")


class ConsoleChat:
    def __init__(self, conversations: Conversations, locale: Locale, chat_key: str,
                 reader: TextIO = sys.stdin, writer: TextIO = sys.stdout) -> None:
        self.conversations = conversations
        self.locale = locale
        self.chat_key = chat_key
        self.reader = reader
        self.writer = writer
        self.question: Question | None = None

    async def run(self) -> int:
        self._say(self.locale.text("console.welcome"))
        step = await self.conversations.begin(self.chat_key)
        self._show(step)
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
            step = await self.conversations.handle(self.chat_key, self._input(text))
            self._show(step)

    def _input(self, text: str) -> Input:
        command = text.split()[0].lower()
        if command in COMMANDS_BACK:
            return Back()
        if command in COMMANDS_RESTART:
            return Restart()
        question = self.question
        if question is None or question.prompt.kind == "number":
            return Typed(text)
        if question.prompt.kind == "multi":
            parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
            if len(parts) == 1 and " " in parts[0] and all(p.isdigit() for p in parts[0].split()):
                parts = parts[0].split()
            chosen = [self._option(part) for part in parts]
            if parts and all(chosen):
                return ChooseMany(tuple(option for option in chosen if option))
            return Typed(text)
        option = self._option(text)
        return Choose(option) if option else Typed(text)

    def _option(self, text: str) -> str | None:
        """The option meant by a number ("2") or by its words ("tidak"), if any."""
        buttons = self.question.buttons if self.question else ()
        if text.isdigit():
            index = int(text) - 1
            return buttons[index].id if 0 <= index < len(buttons) else None
        wanted = text.casefold()
        for button in buttons:
            if wanted in (button.label.casefold(), button.id.casefold()):
                return button.id
        return None

    def _show(self, step: Step | None) -> None:
        if step is None:
            return
        if step.kind is StepKind.ANSWERED and self.question and step.answer:
            label = answer_label(self.question.prompt, step.answer.value, self.locale)
            self._say(self.locale.text("console.answered", answer=label))
        messages, question = compose(step, self.locale)
        for message in messages:
            self._message(message)
        self.question = question
        if question is not None:
            self._question(question)
        elif step.outcome is not None:
            self._say(self.locale.text("console.finished"))

    def _message(self, message: Message) -> None:
        self._say("\n".join(line.text.upper() if line.strong and len(line.text) < 60
                            else line.text for line in message.lines))

    def _question(self, question: Question) -> None:
        lines = [line.text for line in question.lines]
        for number, button in enumerate(question.buttons, start=1):
            lines.append(f"  {number}. {button.label}")
        prompt = question.prompt
        if prompt.kind == "number":
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

