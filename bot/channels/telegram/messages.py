"""What Kebas's messages look like on Telegram: escaped HTML within Telegram's length limit,
and the inline keyboards under them.

Pure: nothing here sends. Every text a runner or the content wrote is escaped, so nothing they
type can format or break a message.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot.core import buttons
from bot.core.buttons import Action, ButtonPress
from bot.core.i18n import Locale
from bot.core.layout import TICK, in_rows
from bot.core.render import Line, Message, Question


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def render_html(message: Message) -> str:
    return "\n".join(f"<b>{escape(line.text)}</b>" if line.strong else escape(line.text)
                     for line in message.lines)


def fit_telegram(message: Message, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """The message as HTML parts of at most `limit` visible characters, split between lines.

    Telegram counts UTF-16 code units, so an emoji may count twice.
    """
    parts: list[list[Line]] = [[]]
    size = 0
    for line in message.lines:
        for piece in chunks(line.text, limit):
            if parts[-1] and size + units(piece) + 1 > limit:
                parts.append([])
                size = 0
            parts[-1].append(Line(piece, line.strong))
            size += units(piece) + 1
    return [render_html(Message(tuple(lines))) for lines in parts if lines]


def packed(messages: list[Message], limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Messages sent together as few Telegram messages as fit, a blank line between two: cut
    only between them (a heading stays with its text), and one too long alone is split as
    `fit_telegram` splits it. Every message sent costs Telegram's budget."""
    parts: list[str] = []
    together: list[Line] = []
    size = 0
    for message in messages:
        length = sum(units(line.text) + 1 for line in message.lines)
        if together and size + 1 + length > limit:
            parts += fit_telegram(Message(tuple(together)), limit)
            together, size = [], 0
        if together:
            together.append(Line(""))
            size += 1
        together.extend(message.lines)
        size += length
    return parts + (fit_telegram(Message(tuple(together)), limit) if together else [])


def units(text: str) -> int:
    """The length of `text` as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def chunks(text: str, limit: int) -> list[str]:
    """`text` cut into pieces of at most `limit` units, never inside a character."""
    if units(text) <= limit:
        return [text]
    pieces: list[str] = []
    piece: list[str] = []
    size = 0
    for character in text:
        width = 2 if ord(character) > 0xFFFF else 1
        if size + width > limit:
            pieces.append("".join(piece))
            piece, size = [], 0
        piece.append(character)
        size += width
    return pieces + ["".join(piece)]


def question_html(question: Question) -> str:
    return render_html(Message(question.lines))


def command_name(word: str) -> str:
    """The command a typed "/name" or "/name@bot" word names, in lower case ("" for "/")."""
    return word[1:].split("@")[0].lower()


def answer_keyboard(question: Question, session_id: int, locale: Locale
                    ) -> InlineKeyboardMarkup | None:
    """A question's options as buttons (ticked ones marked), short ones side by side, and
    Selesai alone under a multiple choice; None for a number, which is typed."""
    prompt = question.prompt
    if prompt.kind == "number":
        return None
    multi = prompt.kind == "multi"
    action = Action.TOGGLE if multi else Action.CHOOSE
    options = [InlineKeyboardButton(
        f"{TICK}{button.label}" if button.selected else button.label,
        callback_data=buttons.encode(ButtonPress(action, session_id, prompt.step,
                                                 prompt.node_id, button.id)))
        for button in question.buttons]
    # A multiple choice is laid out as if every option were ticked, so that no button moves
    # under the runner's finger when a tick comes or goes; its last option ("none of these")
    # stands alone, the one "choose the bottom answer" (error.pick_at_least_one) means.
    widest = [f"{TICK}{button.label}" if multi else button.label for button in question.buttons]
    rows = in_phone_rows(options, widest, alone={len(options) - 1} if multi else set())
    if multi:
        done = ButtonPress(Action.DONE, session_id, prompt.step, prompt.node_id, "")
        rows.append([InlineKeyboardButton(f"➡️ {locale.text('common.done')}",
                                          callback_data=buttons.encode(done))])
    return InlineKeyboardMarkup(rows)


def ticked(markup: InlineKeyboardMarkup) -> set[str]:
    """The option ids ticked on a multiple-choice question's keyboard (`answer_keyboard`)."""
    toggles = [(button.text, button.callback_data) for row in markup.inline_keyboard
               for button in row]
    return {data.split(":")[-1] for text, data in toggles
            if isinstance(data, str) and data.startswith(f"{Action.TOGGLE.value}:")
            and text.startswith(TICK)}


def keyboard(choices: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Control buttons, (label, callback data) each, short ones side by side."""
    return InlineKeyboardMarkup(in_phone_rows(
        [InlineKeyboardButton(label, callback_data=data) for label, data in choices]))


def in_phone_rows(keys: list[InlineKeyboardButton], measured: list[str] | None = None,
                  alone: set[int] | None = None) -> list[list[InlineKeyboardButton]]:
    """The buttons in rows that fit a phone (bot.core.layout), in their order; measured by
    their own labels, or by `measured` ones (the same labels ticked)."""
    labels = measured if measured is not None else [key.text for key in keys]
    return [[keys[place] for place in row] for row in in_rows(labels, alone or set())]
