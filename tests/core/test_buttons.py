"""The callback codec: what a Telegram button carries back, in at most 64 bytes, and nothing
forged or garbled is ever taken for a press: the answers to a question and the control buttons
(consent, continue or restart, /hapus, why, summary, language) alike."""

from __future__ import annotations

import pytest

from bot.core.buttons import (
    CALLBACK_DATA_LIMIT,
    Action,
    ButtonPress,
    Consent,
    Control,
    Erase,
    Followup,
    Kind,
    Language,
    Resume,
    Summary,
    Why,
    decode,
    decode_control,
    encode,
    encode_control,
    longest_callback,
    to_base36,
)
from bot.core.i18n import LANGUAGE_NAMES

LARGEST_SESSION = 36 ** 8 - 1  # "zzzzzzzz", the largest session the codec promises to carry


@pytest.mark.parametrize("press", [
    ButtonPress(Action.CHOOSE, 1, 0, "chest", "yes"),
    ButtonPress(Action.CHOOSE, 71, 3, "calf", "swollen_breathless"),
    ButtonPress(Action.TOGGLE, 123_456, 12, "where", "top_of_foot"),
    ButtonPress(Action.TOGGLE, LARGEST_SESSION, 9999, "a1", "0"),
    ButtonPress(Action.DONE, 5, 4, "where", ""),
    ButtonPress(Action.DONE, 0, 0, "q", "x_1"),
])
def test_every_action_comes_back_as_it_was_sent(press):
    data = encode(press)
    assert decode(data) == press
    assert len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT


def test_the_data_is_action_session_in_base36_step_node_and_option():
    assert encode(ButtonPress(Action.CHOOSE, 71, 3, "calf", "swollen")) == "c:1z:3:calf:swollen"
    assert encode(ButtonPress(Action.TOGGLE, 36, 0, "where", "sole")) == "t:10:0:where:sole"
    assert encode(ButtonPress(Action.DONE, 0, 7, "where", "")) == "d:0:7:where:"


@pytest.mark.parametrize(("number", "text"), [
    (0, "0"), (9, "9"), (10, "a"), (35, "z"), (36, "10"), (1295, "zz"),
    (LARGEST_SESSION, "zzzzzzzz"),
])
def test_session_numbers_are_written_in_base36(number, text):
    assert to_base36(number) == text
    assert int(text, 36) == number


def test_a_negative_number_has_no_base36_here():
    with pytest.raises(ValueError, match="negative"):
        to_base36(-1)


def test_a_step_past_four_digits_wraps_round_instead_of_growing_the_data():
    wrapped = decode(encode(ButtonPress(Action.CHOOSE, 1, 10_003, "chest", "no")))
    assert wrapped == ButtonPress(Action.CHOOSE, 1, 3, "chest", "no")


def test_longest_callback_is_the_worst_case_of_any_press_on_that_option():
    node, option = "calf", "swollen_breathless"
    worst = longest_callback(node, option)
    assert worst == len("t:zzzzzzzz:9999:calf:swollen_breathless")
    for action in Action:
        for session, step in ((0, 0), (LARGEST_SESSION, 9999), (99, 10_000)):
            assert len(encode(ButtonPress(action, session, step, node, option))) <= worst


def test_an_option_that_just_fits_decodes_and_one_byte_more_is_refused():
    node = "n"
    option = "o" * (CALLBACK_DATA_LIMIT - longest_callback(node, ""))
    assert longest_callback(node, option) == CALLBACK_DATA_LIMIT
    fits = ButtonPress(Action.TOGGLE, LARGEST_SESSION, 9999, node, option)
    assert decode(encode(fits)) == fits

    too_long = ButtonPress(Action.TOGGLE, LARGEST_SESSION, 9999, node, option + "o")
    assert longest_callback(node, option + "o") == CALLBACK_DATA_LIMIT + 1
    assert decode(encode(too_long)) is None, "Telegram would refuse it; so do we"


@pytest.mark.parametrize("data", [
    None,
    "",
    "c",
    "c:1:0:chest",                  # a part missing
    "c:1:0:chest:yes:more",         # a part too many
    "x:1:0:chest:yes",              # no such action
    "C:1:0:chest:yes",              # actions are lower case
    "cc:1:0:chest:yes",
    "c::0:chest:yes",               # no session
    "c:zzzzzzzzz:0:chest:yes",      # a session longer than 8 base-36 digits
    "c:1Z:0:chest:yes",             # base 36 is written in lower case
    "c:-1:0:chest:yes",
    "c:1::chest:yes",               # no step
    "c:1:10000:chest:yes",          # a step longer than 4 digits
    "c:1:a:chest:yes",
    "c:1:0::yes",                   # no node
    "c:1:0:1chest:yes",             # node ids start with a letter
    "c:1:0:Chest:yes",
    "c:1:0:chest:Yes",              # option ids are lower case
    "c:1:0:chest:y-s",
    "c:1:0:chest:yes\n",            # a trailing newline is not ours either
    " c:1:0:chest:yes",
    "c:1:0:chest:yés",              # we only ever send ASCII
    "c:1:0:chest:\ud800",           # a lone surrogate
    "c:1:0:" + "n" * 60 + ":yes",   # well formed but over 64 bytes
])
def test_forged_or_garbled_data_is_not_a_press(data):
    assert decode(data) is None


# --- every kind together ---------------------------------------------------------------------

CONFIRMATION = f"{to_base36(2 ** 40)}-{'0123456789abcdef'}"  # as erasure.py writes one
# one button of every kind, as Kebas sends it
EVERY_KIND: dict[Kind, str] = {
    Kind.CHOOSE: encode(ButtonPress(Action.CHOOSE, 71, 3, "calf", "yes")),
    Kind.TOGGLE: encode(ButtonPress(Action.TOGGLE, 71, 3, "where", "sole")),
    Kind.DONE: encode(ButtonPress(Action.DONE, 71, 3, "where", "")),
    Kind.CONSENT: encode_control(Consent(agree=True)),
    Kind.RESUME: encode_control(Resume(71, fresh=False)),
    Kind.ERASE: encode_control(Erase(yes=True, confirmation=CONFIRMATION)),
    Kind.WHY: encode_control(Why(71)),
    Kind.SUMMARY: encode_control(Summary(71)),
    Kind.LANGUAGE: encode_control(Language("id")),
    Kind.FOLLOWUP: encode_control(Followup(71)),
}


def kind_read(data: str) -> Kind | None:
    """The kind both decoders together take data for; None for nothing (and both at once
    fails)."""
    press, control = decode(data), decode_control(data)
    assert press is None or control is None, f"{data!r} is read as two kinds"
    if press is not None:
        return Kind(press.action.value)
    return control.KIND if control is not None else None


def test_no_two_kinds_share_a_prefix():
    prefixes = [f"{kind.value}:" for kind in Kind]
    assert all(len(kind.value) == 1 and kind.value.islower() for kind in Kind)
    for one in prefixes:
        assert [other for other in prefixes if other.startswith(one)] == [one]
    assert {action.value for action in Action} == {Kind.CHOOSE, Kind.TOGGLE, Kind.DONE}
    controls = (Consent, Resume, Erase, Why, Summary, Language, Followup)
    assert {control.KIND for control in controls} == set(Kind) - {Kind.CHOOSE, Kind.TOGGLE,
                                                                   Kind.DONE}


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_is_read_as_itself_and_as_nothing_else(kind):
    data = EVERY_KIND[kind]  # a new kind needs its example here
    assert data.startswith(f"{kind.value}:")
    assert kind_read(data) is kind


# --- control buttons -------------------------------------------------------------------------

@pytest.mark.parametrize(("control", "data"), [
    (Consent(agree=True), "k:agree"),
    (Consent(agree=False), "k:decline"),
    (Consent(agree=True, language="en"), "k:agree:en"),
    (Consent(agree=False, language="id"), "k:decline:id"),
    (Resume(71, fresh=False), "s:continue:1z"),
    (Resume(71, fresh=True), "s:restart:1z"),
    (Resume(0, fresh=False), "s:continue:0"),
    (Erase(yes=True, confirmation="1a2b3c-0123456789abcdef"), "h:yes:1a2b3c-0123456789abcdef"),
    (Erase(yes=True), "h:yes"),
    (Erase(yes=False), "h:no"),
    (Why(36), "w:why:10"),
    (Summary(36), "r:10"),
    (Summary(0), "r:0"),
    (Language("id"), "l:id"),
    (Language("en"), "l:en"),
    (Followup(36), "f:10"),
])
def test_control_buttons_carry_exactly_what_they_always_did(control, data):
    assert encode_control(control) == data
    assert decode_control(data) == control


LARGEST_CONFIRMATION = "z" * 15 + "-" + "f" * 16  # 32 characters, the most a "yes" carries


@pytest.mark.parametrize("control", [
    Consent(agree=True), Consent(agree=False), Consent(agree=True, language="pt_br"),
    *[Resume(session, fresh) for session in (0, 1, 35, 36, LARGEST_SESSION)
      for fresh in (False, True)],
    Erase(yes=True, confirmation=CONFIRMATION), Erase(yes=True, confirmation="0"),
    Erase(yes=True, confirmation=LARGEST_CONFIRMATION), Erase(yes=True), Erase(yes=False),
    *[Why(session) for session in (0, 1, 36, LARGEST_SESSION)],
    *[Summary(session) for session in (0, 1, 36, LARGEST_SESSION)],
    *[Language(code) for code in LANGUAGE_NAMES],
    Language("pt_br"),
    *[Followup(session) for session in (0, 1, 36, LARGEST_SESSION)],
])
def test_every_control_button_comes_back_as_it_was_sent_and_fits(control: Control):
    data = encode_control(control)
    assert decode_control(data) == control
    assert decode(data) is None, "a control button is never an answer"
    assert data.isascii() and len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT


@pytest.mark.parametrize("control", [
    Resume(-1, fresh=False),
    Resume(LARGEST_SESSION + 1, fresh=True),    # 9 base-36 digits
    Why(LARGEST_SESSION + 1),
    Summary(LARGEST_SESSION + 1),
    Erase(yes=False, confirmation=CONFIRMATION),  # only a "yes" carries one
    Erase(yes=True, confirmation=LARGEST_CONFIRMATION + "0"),
    Erase(yes=True, confirmation="1A2B-00"),
    Erase(yes=True, confirmation="12:34"),
    Language(""),
    Language("ID"),
    Language("id:en"),
    Language("indonesian"),
])
def test_a_control_button_that_would_not_come_back_is_never_encoded(control: Control):
    with pytest.raises(ValueError, match="does not fit|negative"):
        encode_control(control)


@pytest.mark.parametrize("data", [
    None,
    "",
    "k",
    "k:",
    "k:maybe",                           # no such choice
    "k:agree:1",                         # a part too many
    "K:agree",                           # kinds are lower case
    "k:Agree",
    "kk:agree",
    "k;agree",
    "x:agree",                           # no such kind
    "s:continue",                        # no session
    "s:continue:",
    "s:pause:1z",
    "s:continue:1Z",                     # base 36 is written in lower case
    "s:continue:01z",                    # nor with a leading zero
    "s:continue:zzzzzzzzz",              # over 8 base-36 digits
    "s:continue:-1",
    "s:continue:1z:1",
    "h",
    "h:yes:",                            # an empty confirmation
    "h:yes:ABC-DEF",
    "h:yes:" + "z" * 33,                 # a confirmation over 32 characters
    "h:yes:1a2b:c",
    "h:yes:\udfff",                      # a lone surrogate
    "h:no:1a2b3c-0123456789abcdef",      # "no" carries nothing
    "h:maybe",
    "w:why",                             # no session
    "w:why:",
    "w:how:1",
    "w:1",
    "r:",                                # no session
    "r:01",                              # not as base 36 is written
    "r:why:1",
    "r:" + "z" * 9,                      # 9 base-36 digits
    "l:",
    "l:x",                               # not a language code
    "l:EN",
    "l:id:en",
    "l:id\n",                            # a trailing newline is not ours either
    " l:id",
    "l:íd",                              # we only ever send ASCII
    "c:1:0:chest:yes",                   # an answer is not a control button
    "l:" + "a" * 63,                     # over 64 bytes
])
def test_forged_or_garbled_data_is_no_control_button(data):
    assert decode_control(data) is None
