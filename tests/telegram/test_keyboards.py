"""The answer buttons as a runner sees them on a phone: short options side by side, long ones
alone, in the options' order, "Selesai" on its own row; the hint says to tap, and a number typed
anyway picks the button in that place in reading order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.channels.telegram.messages import answer_keyboard, keyboard, ticked
from bot.content.loader import load_bundle
from bot.core import buttons
from bot.core.buttons import Action
from bot.core.engine import ChoiceView, Prompt
from bot.core.i18n import Locale
from bot.core.layout import TICK, fits_one_row
from bot.core.model import options_of
from bot.core.render import Question, question_of
from bot.core.typed_input import option_meant

from support.harness import Runner, is_question, running_bot

ROOT = Path(__file__).resolve().parents[2]
LABELS = {"yes": "Ya", "no": "Tidak", "left": "Kiri", "right": "Kanan", "both": "Keduanya",
          "gear": "Sepatu/kaus kaki baru, tali kencang", "none": "Tidak ada"}
LOCALE = Locale("id", "id.yaml", {"common.done": "Selesai", "q": "Ada yang terasa?",
                                  "multi.hint": "Ketuk semua yang sesuai.",
                                  **{f"o.{option}": label for option, label in LABELS.items()}})


def asked(kind: str, *options: str, ticked_ones: tuple[str, ...] = ()) -> Question:
    choices = tuple(ChoiceView(option, f"o.{option}", option in ticked_ones)
                    for option in options)
    return question_of(Prompt("pain", kind, "q", 3, choices), LOCALE)


def labels(markup) -> list[list[str]]:
    return [[button.text for button in row] for row in markup.inline_keyboard]


def test_yes_and_no_are_one_row_of_two_each_carrying_its_press():
    markup = answer_keyboard(asked("yesno", "yes", "no"), 77, LOCALE)
    assert labels(markup) == [["Ya", "Tidak"]]
    presses = [buttons.decode(button.callback_data) for button in markup.inline_keyboard[0]]
    assert [(p.action, p.session, p.step, p.node_id, p.option_id) for p in presses] == [
        (Action.CHOOSE, 77, 3, "pain", "yes"), (Action.CHOOSE, 77, 3, "pain", "no")]


def test_a_multiple_choice_keeps_its_rows_as_options_are_ticked_and_done_stays_alone():
    options = ("left", "right", "both", "gear", "none")
    plain = answer_keyboard(asked("multi", *options), 5, LOCALE)
    ticks = answer_keyboard(asked("multi", *options, ticked_ones=options), 5, LOCALE)
    assert labels(plain) == [["Kiri", "Kanan", "Keduanya"],
                             ["Sepatu/kaus kaki baru, tali kencang"], ["Tidak ada"],
                             ["➡️ Selesai"]]
    assert [len(row) for row in labels(ticks)] == [3, 1, 1, 1], "nothing moves under a finger"
    assert labels(ticks)[0] == [f"{TICK}Kiri", f"{TICK}Kanan", f"{TICK}Keduanya"]
    assert ticked(ticks) == set(options) and ticked(plain) == set()
    done = buttons.decode(ticks.inline_keyboard[-1][0].callback_data)
    assert done is not None and done.action is Action.DONE


def test_the_last_option_of_a_multiple_choice_is_alone_at_the_bottom_as_the_errors_say():
    # error.pick_at_least_one: "if none applies, choose the bottom answer"
    markup = answer_keyboard(asked("multi", "left", "right", "none"), 5, LOCALE)
    assert labels(markup) == [["Kiri", "Kanan"], ["Tidak ada"], ["➡️ Selesai"]]
    single = answer_keyboard(asked("choice", "left", "right", "none"), 5, LOCALE)
    assert labels(single) == [["Kiri", "Kanan", "Tidak ada"]], "one choice: no such rule"


def test_control_buttons_that_are_short_share_a_row_too():
    markup = keyboard([("Saya setuju", "k:agree"), ("Tidak setuju", "k:decline")])
    assert [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] == [
        [("Saya setuju", "k:agree"), ("Tidak setuju", "k:decline")]]
    long = keyboard([("Yes, delete everything and forget me", "h:yes"), ("No", "h:no")])
    assert labels(long) == [["Yes, delete everything and forget me"], ["No"]]


# --- the shipped dialog ----------------------------------------------------------------

# Option texts too long for a phone's row even alone (ticked, on a multiple choice): Telegram
# cuts their ends with "…". Shorten them in locales/, then take them off this list.
TOO_LONG_FOR_A_PHONE: set[tuple[str, str, str]] = set()   # none in the shipped dialog


def shipped_questions():
    bundle = load_bundle([ROOT / "dialogs", ROOT / "locales"])
    for language, locale in sorted(bundle.locales.items()):
        for node in bundle.dialog().nodes:
            options = options_of(node)
            if options:
                # every option ticked: the widest each label gets
                choices = tuple(ChoiceView(o.id, o.text, node.type == "multi") for o in options)
                prompt = Prompt(node.id, node.type, node.text, 0, choices)
                yield language, question_of(prompt, locale), locale


def test_every_row_of_the_shipped_dialog_fits_a_phone_and_keeps_every_option_in_order():
    too_long = set()
    questions = list(shipped_questions())
    assert {language for language, _, _ in questions} == {"id", "en"}
    for language, question, locale in questions:
        markup = answer_keyboard(question, 1, locale)
        rows = labels(markup)
        if question.prompt.kind == "multi":
            assert rows.pop() == [f"➡️ {locale.text('common.done')}"]
            assert len(rows[-1]) == 1, "the bottom answer is one answer"
        for row in rows:
            if len(row) > 1:
                assert fits_one_row(row), (language, question.prompt.node_id, row)
            elif not fits_one_row(row):
                too_long.add((language, question.prompt.node_id, row[0].removeprefix(TICK)))
        shown = [label.removeprefix(TICK) for row in rows for label in row]
        assert shown == [button.label for button in question.buttons], "each once, in order"
    assert too_long == TOO_LONG_FOR_A_PHONE


def test_in_the_shipped_dialog_a_typed_number_picks_the_button_in_that_place():
    for _language, question, locale in shipped_questions():
        markup = answer_keyboard(question, 1, locale)
        read = [buttons.decode(button.callback_data) for row in markup.inline_keyboard
                for button in row]
        options = [press.option_id for press in read if press and press.action is not Action.DONE]
        assert [option_meant(question, str(place)) for place in range(1, len(options) + 1)] \
            == options


# --- end to end --------------------------------------------------------------------------

YES_NO_FIRST = """\
id: keyboards
version: 1
title: dialog.title
start: gone
screening: [gone]
texts: {disclaimer: common.disclaimer, safety_net: common.safety_net,
        no_clear_cause: common.no_clear_cause}
nodes:
  - {id: gone, type: yesno, text: q.a8_now, next: sides}
  - {id: sides, type: choice, text: q.d2_sides, next: where,
     options: [{id: left, text: opt.d2_sides.left}, {id: right, text: opt.d2_sides.right},
               {id: both, text: opt.d2_sides.both}]}
  - {id: where, type: multi, text: q.d1_where, next: end_result,
     options: [{id: heel, text: opt.d1_where.heel}, {id: calf, text: opt.d1_where.calf},
               {id: none, text: opt.none_of_these, exclusive: true}]}
  - {id: end_result, type: outcome, text: out.result, level: soon}
"""


@pytest.fixture
async def bot(fake, tmp_path):
    (tmp_path / "dialogs").mkdir()
    (tmp_path / "dialogs" / "keyboards.yaml").write_text(YES_NO_FIRST, encoding="utf-8")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    bundle = load_bundle([tmp_path / "dialogs", tmp_path / "locales"])
    assert not [p for p in bundle.problems if p.is_error], bundle.problems
    async with running_bot(fake, bundle, tmp_path / "kebas.sqlite3") as app:
        yield app


def rows_of(message) -> list[list[str]]:
    return [[button["text"] for button in row]
            for row in message.reply_markup["inline_keyboard"]]


async def test_a_yes_no_question_is_one_row_of_two_and_typing_2_picks_the_second(fake, bot):
    runner = Runner(fake, 401)
    await runner.agree()
    first = runner.question()
    assert rows_of(first) == [["Ya", "Tidak"]]
    await runner.type("2")
    assert "✅ Tidak" in fake.messages[401][first.message_id].text, "the second button"
    sides = runner.question()
    assert rows_of(sides) == [["Kiri", "Kanan", "Keduanya"]]
    await runner.type("3")
    assert "✅ Keduanya" in fake.messages[401][sides.message_id].text, "the third, one row"


async def test_the_multiple_choice_hint_says_to_tap_and_promises_no_numbers(fake, bot):
    runner = Runner(fake, 402)
    await runner.agree()
    await runner.choose("no")
    await runner.choose("left")
    where = runner.question()
    assert "Boleh pilih lebih dari satu. Ketuk semua yang sesuai, lalu tekan Selesai." \
        in where.text
    assert "nomor" not in where.text, "the buttons carry no numbers"
    assert rows_of(where)[-1] == ["➡️ Selesai"]
    before = runner.last_id()
    await runner.type("kanan saja")
    said = runner.texts_after(before)
    assert any("tidak cocok dengan pilihan mana pun" in text for text in said)
    assert not any("nomor" in text for text in said)
    assert any(is_question(message) for message in runner.sent
               if message.message_id > before), "asked again, with its buttons"
