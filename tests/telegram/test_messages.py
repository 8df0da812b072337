"""What a runner reads on Telegram: every text escaped, long messages split under Telegram's
limit as Telegram counts it, and keyboards whose data and ticks read back as they were made."""

from __future__ import annotations

from bot.channels.telegram.messages import (
    TICK,
    answer_keyboard,
    chunks,
    escape,
    fit_telegram,
    keyboard,
    render_html,
    ticked,
    units,
)
from bot.core import buttons
from bot.core.buttons import Action
from bot.core.engine import Prompt
from bot.core.i18n import Locale
from bot.core.render import Button, Line, Message, Question

LOCALE = Locale("id", "id.yaml", {"common.done": "Selesai"})


def question(kind: str, *options: tuple[str, bool]) -> Question:
    prompt = Prompt("pain", kind, "q.pain", 3)
    return Question(prompt, (Line("Ada yang terasa?"),),
                    tuple(Button(option, option.title(), selected) for option, selected in options))


def test_every_text_is_escaped_and_only_headings_are_bold():
    message = Message((Line("Usia < 30 & > 18 <b>", strong=True), Line("a <i>b</i> & c")))
    assert render_html(message) == ("<b>Usia &lt; 30 &amp; &gt; 18 &lt;b&gt;</b>\n"
                                    "a &lt;i&gt;b&lt;/i&gt; &amp; c")
    assert escape('"kutip" & \'satu\'') == '"kutip" &amp; \'satu\'', "quotes need no escaping"


def test_a_long_message_is_split_between_lines_under_telegrams_limit():
    lines = tuple(Line(f"{n:04d} " + "kebas " * 100, strong=n % 10 == 0) for n in range(30))
    parts = fit_telegram(Message(lines))
    assert len(parts) > 1
    visible = [part.replace("<b>", "").replace("</b>", "") for part in parts]
    assert all(len(text) <= 4096 for text in visible)
    assert "\n".join(visible).split("\n") == [line.text for line in lines], "nothing lost"


def test_a_single_huge_line_is_cut_into_pieces():
    parts = fit_telegram(Message((Line("x" * 9000),)))
    assert [len(part) for part in parts] == [4096, 4096, 808]


def test_the_limit_counts_utf16_units_so_an_emoji_counts_twice_and_is_never_cut():
    assert units("🦵") == 2 and units("kaki") == 4
    pieces = chunks("a" + "🦵" * 3, 4)
    assert pieces == ["a🦵", "🦵🦵"], "a piece ends before an emoji that would not fit"
    parts = fit_telegram(Message((Line("🦵" * 3000),)))
    assert [units(part) for part in parts] == [4096, 1904]


def test_lines_that_fit_stay_in_one_message_and_escaping_does_not_count():
    message = Message((Line("<" * 2000), Line(">" * 2000)))
    assert fit_telegram(message) == ["&lt;" * 2000 + "\n" + "&gt;" * 2000]
    assert fit_telegram(Message(())) == []


def test_a_choice_has_its_short_buttons_side_by_side_each_carrying_its_press():
    markup = answer_keyboard(question("choice", ("yes", False), ("no", False)), 77, LOCALE)
    assert markup is not None
    rows = markup.inline_keyboard
    assert [[button.text for button in row] for row in rows] == [["Yes", "No"]]
    press = buttons.decode(rows[0][1].callback_data)
    assert press is not None and (press.action, press.session, press.step, press.node_id,
                                  press.option_id) == (Action.CHOOSE, 77, 3, "pain", "no")


def test_a_multiple_choice_shows_its_ticks_and_done_and_the_ticks_read_back():
    markup = answer_keyboard(question("multi", ("calf", True), ("foot", False), ("toe", True)),
                             5, LOCALE)
    assert markup is not None
    texts = [[button.text for button in row] for row in markup.inline_keyboard]
    assert texts == [[f"{TICK}Calf", "Foot"], [f"{TICK}Toe"], ["➡️ Selesai"]]
    done = buttons.decode(markup.inline_keyboard[-1][0].callback_data)
    assert done is not None and done.action is Action.DONE
    assert ticked(markup) == {"calf", "toe"}


def test_a_number_is_typed_so_it_has_no_buttons():
    assert answer_keyboard(question("number"), 1, LOCALE) is None


def test_a_control_keyboard_puts_short_buttons_side_by_side():
    markup = keyboard([("Saya setuju", "k:agree"), ("Tidak", "k:decline")])
    assert [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] == [
        [("Saya setuju", "k:agree"), ("Tidak", "k:decline")]]
    assert ticked(markup) == set(), "only a multiple choice's toggles are ticks"
