"""What a runner's typed text means: an option's number or words, several of them for a
multiple choice, or the text itself; and what the engine then makes of it."""

from __future__ import annotations

import pytest

from bot.core import engine, inputs
from bot.core.engine import SayKind, StepKind
from bot.core.i18n import Locale
from bot.core.inputs import Choose, ChooseMany, Typed
from bot.core.render import question_of
from bot.core.typed_input import NO_SUCH_OPTION, option_meant, typed_input

# What the runner reads on the buttons of tests/data/engine_dialog.yaml.
LOCALE = Locale("id", "test.yaml", {
    "common.yes": "Ya", "common.no": "Tidak",
    "t.no": "Tidak", "t.swollen": "Bengkak", "t.swollen_breathless": "Bengkak dan sesak",
    "t.top": "Punggung kaki", "t.sole": "Telapak kaki", "t.calf_area": "Betis",
    "t.none": "Tidak ada",
    "t.laces": "Tali sepatu", "t.minutes": "Beberapa menit",
})
TO_QUESTION = {"chest": (), "calf": ("no",), "where": ("no", "no"),
               "age": ("no", "no", ["sole"])}


def at(dialog, node_id):
    """The step that asks `node_id`, reached with plain answers."""
    step = engine.start(dialog)
    for value in TO_QUESTION[node_id]:
        step = engine.step(dialog, step.state, inputs.answer_input(
            dialog.node(step.prompt.node_id), value))
    assert step.prompt.node_id == node_id
    return step


def meant(dialog, node_id, text):
    return typed_input(question_of(at(dialog, node_id).prompt, LOCALE), text)


def reply(dialog, node_id, text):
    """What the engine does with `text` typed at `node_id`, as a runner would see it."""
    step = at(dialog, node_id)
    given = typed_input(question_of(step.prompt, LOCALE), text)
    return engine.step(dialog, step.state, given)


def refused_with(step):
    assert step.kind is StepKind.INVALID
    assert [said.kind for said in step.said] == [SayKind.ERROR]
    return step.said[0].key


# --- one choice -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "option"), [
    ("1", "no"), ("2", "swollen"), (" 3 ", "swollen_breathless"),
    ("Bengkak", "swollen"), ("bengkak dan SESAK", "swollen_breathless"), ("  tidak ", "no"),
    ("swollen_breathless", "swollen_breathless"),  # the option id works too
])
def test_an_option_is_named_by_its_number_its_words_or_its_id(dialog, text, option):
    assert meant(dialog, "calf", text) == Choose(option)
    answered = reply(dialog, "calf", text)
    assert answered.kind is StepKind.ANSWERED
    assert answered.answer == engine.Answer("calf", option)


@pytest.mark.parametrize(("text", "option"), [("ya", "yes"), ("TIDAK", "no"), ("1", "yes"),
                                              ("2", "no")])
def test_yes_and_no_are_typed_as_their_words_or_numbers(dialog, text, option):
    assert reply(dialog, "chest", text).answer == engine.Answer("chest", option)


@pytest.mark.parametrize("text", ["0", "4", "12", "007"])
def test_a_number_with_no_option_is_refused_as_not_an_option(dialog, text):
    assert meant(dialog, "calf", text) == Choose(NO_SUCH_OPTION)
    assert refused_with(reply(dialog, "calf", text)) == "error.not_an_option"


@pytest.mark.parametrize("text", ["mungkin", "bengk", "bengkak sesak", "", "²", "1.5", "-1"])
def test_other_words_are_not_guessed_and_the_runner_is_asked_to_use_the_buttons(dialog, text):
    assert meant(dialog, "calf", text) == Typed(text)
    assert refused_with(reply(dialog, "calf", text)) == "error.pick_a_button"


# --- several choices --------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("1, 2", ["top_of_foot", "sole"]),
    ("2,1", ["top_of_foot", "sole"]),      # kept in the order of the question
    ("1 2", ["top_of_foot", "sole"]),
    ("1; 3", ["top_of_foot", "calf"]),
    ("3", ["calf"]),
    ("Betis, telapak kaki", ["sole", "calf"]),
    ("1, betis", ["top_of_foot", "calf"]),
    ("1, 1", ["top_of_foot"]),
    ("tidak ada", ["none"]),
])
def test_several_options_are_typed_as_numbers_or_words_apart(dialog, text, value):
    answered = reply(dialog, "where", text)
    assert answered.kind is StepKind.ANSWERED
    assert answered.answer == engine.Answer("where", value)


def test_numbers_name_the_options_in_the_order_typed(dialog):
    assert meant(dialog, "where", "3, 1") == ChooseMany(("calf", "top_of_foot"))
    assert meant(dialog, "where", "2 4") == ChooseMany(("sole", "none"))


def test_one_number_with_no_option_spoils_the_whole_answer(dialog):
    assert meant(dialog, "where", "1, 9") == ChooseMany(("top_of_foot", NO_SUCH_OPTION))
    assert refused_with(reply(dialog, "where", "1, 9")) == "error.not_an_option"


@pytest.mark.parametrize("text", ["1, kepala", "1 betis", "", ",", "semua"])
def test_a_word_that_is_no_option_makes_it_text_and_the_buttons_are_asked_for(dialog, text):
    assert meant(dialog, "where", text) == Typed(text)
    assert refused_with(reply(dialog, "where", text)) == "error.pick_a_button"


def test_none_of_these_cannot_be_typed_with_another_option(dialog):
    assert refused_with(reply(dialog, "where", "1, 4")) == "error.exclusive_with_others"


# --- numbers and no question -------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [("35", 35), ("35 tahun", 35), ("1", None),
                                             ("tiga puluh", None)])
def test_a_number_question_gets_the_text_as_typed(dialog, text, value):
    assert meant(dialog, "age", text) == Typed(text), "option numbers mean nothing here"
    answered = reply(dialog, "age", text)
    if value is None:
        assert answered.kind is StepKind.INVALID
    else:
        assert answered.answer == engine.Answer("age", value)


def test_without_a_question_everything_is_text():
    assert typed_input(None, "2") == Typed("2")
    assert typed_input(None, "ya") == Typed("ya")


def test_option_meant_names_the_option_or_nothing(dialog):
    question = question_of(at(dialog, "calf").prompt, LOCALE)
    assert option_meant(question, "2") == "swollen"
    assert option_meant(question, "BENGKAK") == "swollen"
    assert option_meant(question, "4") is None
    assert option_meant(question, "kaki") is None
