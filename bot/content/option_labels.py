"""Answers a phone would cut off: Telegram draws a button's label on one line and ends what
does not fit with "…", so the words that tell two answers apart may not show. A label must fit
a row of its own (bot.core.layout), with the tick a multiple choice puts before it."""

from __future__ import annotations

from bot.content.loader import Bundle
from bot.core.i18n import Locale
from bot.core.layout import BUTTON_PADDING, KEYBOARD_WIDTH, TICK, fits_one_row, label_width
from bot.core.model import MultiQuestion, options_of
from bot.core.problems import Problem, warning


def check_option_labels(bundle: Bundle) -> list[Problem]:
    """A warning at the locale's line for each answer label too wide for a phone's keyboard."""
    problems = []
    for loaded in bundle.dialogs:
        for node in loaded.dialog.nodes:
            ticked = isinstance(node, MultiQuestion)
            for option in options_of(node):
                for _language, locale in sorted(bundle.locales.items()):
                    problem = _too_wide(locale, node.id, option.text, ticked)
                    if problem is not None:
                        problems.append(problem)
    return problems


def _too_wide(locale: Locale, question: str, key: str, ticked: bool) -> Problem | None:
    if key not in locale.texts:
        return None   # a missing text is check_texts_exist's error
    label = locale.text(key)
    shown = f"{TICK}{label}" if ticked else label
    if fits_one_row([shown]):
        return None
    room = KEYBOARD_WIDTH - BUTTON_PADDING - (label_width(TICK) if ticked else 0)
    return warning(locale.position(key),
                   f"the answer '{label}' of {question} is {label_width(label)} letters wide; a "
                   f"phone's button shows about {room}, so Telegram would cut it off with '…'",
                   f"shorten it to {room} letters or fewer (an emoji counts as two)")
