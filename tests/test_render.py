"""What a runner reads: HTML for Telegram escapes every text; lines keep their emphasis."""

from __future__ import annotations

from bot.channels.telegram import render_html
from bot.render import Line, Message


def test_every_text_is_escaped_and_only_headings_are_bold():
    message = Message((Line("Usia < 30 & > 18 <b>", strong=True), Line("a <i>b</i> & c")))
    assert render_html(message) == ("<b>Usia &lt; 30 &amp; &gt; 18 &lt;b&gt;</b>\n"
                                    "a &lt;i&gt;b&lt;/i&gt; &amp; c")
