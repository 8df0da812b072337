"""What a button carries back to us: `action:session:step:node:option` in at most 64 bytes.

The session and step make every button single-use: a tap on an old question, a finished
session or a second tap of the same button no longer matches the session's current step and is
never applied. The checker uses `longest_callback` to make sure every option id fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for InlineKeyboardButton.callback_data
_LARGEST_SESSION = "zzzzzzzz"  # base-36 session numbers up to 2.8 * 10**12
_LARGEST_STEP = 9999
_PATTERN = re.compile(r"^([a-z]):([0-9a-z]{1,8}):([0-9]{1,4}):([a-z][a-z0-9_]*):([a-z0-9_]*)$")


class Action(str, Enum):
    CHOOSE = "c"
    TOGGLE = "t"
    DONE = "d"


@dataclass(frozen=True)
class ButtonPress:
    action: Action
    session: int
    step: int
    node_id: str
    option_id: str


def to_base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if number == 0:
            return text


def encode(press: ButtonPress) -> str:
    return (f"{press.action.value}:{to_base36(press.session)}:{press.step % (_LARGEST_STEP + 1)}:"
            f"{press.node_id}:{press.option_id}")


def decode(data: str | None) -> ButtonPress | None:
    """The press a button stands for, or None when the data is not ours (forged or garbage)."""
    if not data or not data.isascii() or len(data) > CALLBACK_DATA_LIMIT:
        return None  # we only ever send ASCII (odd Unicode, e.g. a lone surrogate, is forged)
    match = _PATTERN.fullmatch(data)
    if match is None:
        return None
    action, session, step, node_id, option_id = match.groups()
    try:
        return ButtonPress(Action(action), int(session, 36), int(step), node_id, option_id)
    except ValueError:
        return None


def longest_callback(node_id: str, option_id: str) -> int:
    """Bytes the callback data of this option takes in the worst case."""
    press = ButtonPress(Action.TOGGLE, int(_LARGEST_SESSION, 36), _LARGEST_STEP, node_id,
                        option_id)
    return len(encode(press).encode("utf-8"))
