"""The callback codec: what a Telegram button carries back, in at most 64 bytes, and nothing
forged or garbled is ever taken for a press."""

from __future__ import annotations

import pytest

from bot.core.buttons import (
    CALLBACK_DATA_LIMIT,
    Action,
    ButtonPress,
    decode,
    encode,
    longest_callback,
    to_base36,
)

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
