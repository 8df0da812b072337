"""What a runner reads: HTML for Telegram escapes every text; lines keep their emphasis."""

from __future__ import annotations

from bot.channels.telegram.app import fit_telegram, render_html
from bot.core.render import Line, Message


def test_every_text_is_escaped_and_only_headings_are_bold():
    message = Message((Line("Usia < 30 & > 18 <b>", strong=True), Line("a <i>b</i> & c")))
    assert render_html(message) == ("<b>Usia &lt; 30 &amp; &gt; 18 &lt;b&gt;</b>\n"
                                    "a &lt;i&gt;b&lt;/i&gt; &amp; c")


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
