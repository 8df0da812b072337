"""What a button carries back to us, in at most 64 bytes: every kind of callback data Kebas
sends is written and read here, and nowhere else.

`Kind` names each kind by the letter its data starts with. An answer to the question is
`action:session:step:node:option` (`ButtonPress`; actions c, t and d). The session and step
make every answer button single-use: a tap on an old question, a finished session or a second
tap of the same button no longer matches the session's current step and is never applied. The
checker uses `longest_callback` to make sure every option id fits.

The control buttons (`Control`) are consent (`k:agree`, `k:decline`), continue or start over
(`s:continue:<session>`, `s:restart:<session>`), the /hapus question (`h:yes:<confirmation>`,
`h:no`), why this advice (`w:why:<session>`), the summary for the doctor (`r:<session>`) and
language (`l:<code>`), sessions in base 36.
Data that is not exactly what we send, forged or garbled, decodes to None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, unique
from typing import ClassVar, TypeAlias, TypeGuard

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for InlineKeyboardButton.callback_data
_LARGEST_SESSION = "zzzzzzzz"  # base-36 session numbers up to 2.8 * 10**12
_LARGEST_STEP = 9999
_PATTERN = re.compile(r"^([a-z]):([0-9a-z]{1,8}):([0-9]{1,4}):([a-z][a-z0-9_]*):([a-z0-9_]*)$")


@unique
class Kind(str, Enum):
    """Every kind of button, by the letter its callback data starts with (then a colon)."""

    CHOOSE = "c"  # the answers to the question (`Action`)
    TOGGLE = "t"
    DONE = "d"
    CONSENT = "k"  # the control buttons (`Control`)
    RESUME = "s"
    ERASE = "h"
    WHY = "w"
    SUMMARY = "r"
    LANGUAGE = "l"
    FOLLOWUP = "f"


class Action(str, Enum):
    CHOOSE = Kind.CHOOSE.value
    TOGGLE = Kind.TOGGLE.value
    DONE = Kind.DONE.value


@dataclass(frozen=True)
class ButtonPress:
    action: Action
    session: int
    step: int
    node_id: str
    option_id: str


@dataclass(frozen=True)
class Consent:
    """Nothing is stored before consent, so the button carries the language the runner chose
    (a deep link, /bahasa) for the tap to keep; None on buttons sent before it did."""

    KIND: ClassVar[Kind] = Kind.CONSENT
    agree: bool
    language: str | None = None


@dataclass(frozen=True)
class Resume:
    """The choice /start offers in the middle of a session."""

    KIND: ClassVar[Kind] = Kind.RESUME
    session: int
    fresh: bool  # start over, rather than continue


@dataclass(frozen=True)
class Erase:
    """The answer to /hapus: yes, with the confirmation it was shown with, or no."""

    KIND: ClassVar[Kind] = Kind.ERASE
    yes: bool
    confirmation: str = ""  # only on yes; one without is never confirmed, so erases nothing


@dataclass(frozen=True)
class Why:
    """Why this advice, for the session whose result it was sent under."""

    KIND: ClassVar[Kind] = Kind.WHY
    session: int


@dataclass(frozen=True)
class Summary:
    """The summary for the doctor, of the session whose result it was sent under."""

    KIND: ClassVar[Kind] = Kind.SUMMARY
    session: int


@dataclass(frozen=True)
class Language:
    KIND: ClassVar[Kind] = Kind.LANGUAGE
    code: str


@dataclass(frozen=True)
class Followup:
    """Ask again in a few days, after the result of this session."""

    KIND: ClassVar[Kind] = Kind.FOLLOWUP
    session: int


Control: TypeAlias = Consent | Resume | Erase | Why | Summary | Language | Followup
# the controls that carry only the session whose result they were sent under
_FOR_A_SESSION: dict[Kind, type[Why | Summary | Followup]] = {
    Kind.WHY: Why, Kind.SUMMARY: Summary, Kind.FOLLOWUP: Followup}

_SESSION = r"(0|[1-9a-z][0-9a-z]{0,7})"  # base 36 as `to_base36` writes it, up to 8 digits
# what follows "kind:" in a control button's data
_LANGUAGE = r"([a-z]{2,3}(?:_[a-z]{2,4})?)"
_CONTROL_PATTERNS: dict[Kind, re.Pattern[str]] = {
    Kind.CONSENT: re.compile(rf"(agree|decline)(?::{_LANGUAGE})?"),
    Kind.RESUME: re.compile(rf"(continue|restart):{_SESSION}"),
    Kind.ERASE: re.compile(r"(no)|yes(?::([0-9a-z-]{1,32}))?"),
    Kind.WHY: re.compile(rf"why:{_SESSION}"),
    Kind.SUMMARY: re.compile(_SESSION),
    Kind.LANGUAGE: re.compile(_LANGUAGE),
    Kind.FOLLOWUP: re.compile(_SESSION),
}


def to_base36(number: int) -> str:
    if number < 0:
        raise ValueError(f"{number} is negative: base 36 is written here for 0 and up")
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


def _could_be_ours(data: str | None) -> TypeGuard[str]:
    """Whether data is ASCII and fits: we only ever send ASCII (odd Unicode, e.g. a lone
    surrogate, is forged)."""
    return isinstance(data, str) and data.isascii() and 0 < len(data) <= CALLBACK_DATA_LIMIT


def decode(data: str | None) -> ButtonPress | None:
    """The answer a button stands for, or None when the data is not an answer of ours (a
    control button's, forged or garbage)."""
    if not _could_be_ours(data):
        return None
    match = _PATTERN.fullmatch(data)
    if match is None:
        return None
    action, session, step, node_id, option_id = match.groups()
    try:
        return ButtonPress(Action(action), int(session, 36), int(step), node_id, option_id)
    except ValueError:
        return None


def encode_control(control: Control) -> str:
    """A control button's data; ValueError for one that would not decode as itself (a
    session out of range, a confirmation or language code we never send)."""
    data = f"{control.KIND.value}:{_control_value(control)}"
    if decode_control(data) != control:
        raise ValueError(f"{control!r} does not fit in a button's callback data")
    return data


def _control_value(control: Control) -> str:
    """What follows "kind:" (`_CONTROL_PATTERNS` reads it back)."""
    if isinstance(control, Consent):
        said = "agree" if control.agree else "decline"
        return f"{said}:{control.language}" if control.language else said
    if isinstance(control, Resume):
        return f"{'restart' if control.fresh else 'continue'}:{to_base36(control.session)}"
    if isinstance(control, Erase):
        if not control.yes:
            return "no"
        return f"yes:{control.confirmation}" if control.confirmation else "yes"
    if isinstance(control, Why):
        return f"why:{to_base36(control.session)}"
    if isinstance(control, (Followup, Summary)):
        return to_base36(control.session)
    return control.code


def decode_control(data: str | None) -> Control | None:
    """The control button data stands for, or None when it is not one of ours (an answer
    button's, forged or garbage)."""
    if not _could_be_ours(data) or data[1:2] != ":":
        return None
    try:
        kind = Kind(data[0])
    except ValueError:
        return None
    pattern = _CONTROL_PATTERNS.get(kind)
    match = pattern.fullmatch(data, 2) if pattern is not None else None
    if match is None:
        return None
    if kind is Kind.CONSENT:
        return Consent(agree=match[1] == "agree", language=match[2])
    if kind is Kind.RESUME:
        return Resume(session=int(match[2], 36), fresh=match[1] == "restart")
    if kind is Kind.ERASE:
        return Erase(yes=match[1] is None, confirmation=match[2] or "")
    if kind in _FOR_A_SESSION:
        return _FOR_A_SESSION[kind](session=int(match[1], 36))
    return Language(code=match[1])


def longest_callback(node_id: str, option_id: str) -> int:
    """Bytes the callback data of this option takes in the worst case."""
    press = ButtonPress(Action.TOGGLE, int(_LARGEST_SESSION, 36), _LARGEST_STEP, node_id,
                        option_id)
    return len(encode(press).encode("utf-8"))
