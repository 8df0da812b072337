"""The summary for the doctor on Telegram (/ringkasan, /summary, the button under a result): one
message to forward, then the same as a one-page PDF.

Made from the chat's stored session each time it is asked for, never kept: after /hapus there
is nothing to make it from. A session still going on is summarised too, marked incomplete.
"""

from __future__ import annotations

import asyncio

from telegram.constants import MessageLimit

from bot.channels.summaries import latest_summary
from bot.channels.telegram.chats import Chat
from bot.channels.telegram.messages import escape, units
from bot.channels.telegram.replies import Replies
from bot.conversation import Conversations
from bot.core.summary import (
    EVIDENCE_CUTS,
    ClinicalSummary,
    cut_evidence,
    local_time,
    summary_text,
)


async def send_summary(replies: Replies, conversations: Conversations, bot: object, here: Chat,
                       session_id: int | None = None) -> bool:
    """Send the summary of the chat's latest session, or say there is nothing to summarise.

    `session_id`: the session a button was sent with; False (nothing sent) when the chat's
    latest session is another one, so the caller can say the button is old.
    """
    made = await latest_summary(conversations, here.key, here.locale)
    if made is None:
        await replies.send_texts(bot, here, [here.locale.text("summary.nothing")])
        return True
    summary, stored = made
    if session_id is not None and session_id != stored.id:
        return False
    for part in summary_html(summary):
        await replies.send(bot, here, part)
    # fpdf2 (and the numpy it loads) only when a PDF is asked for: every bot process would
    # otherwise carry them
    from bot.tools.summary_pdf import summary_pdf
    document = await asyncio.to_thread(summary_pdf, summary)  # ~0.2 s: off the event loop
    day = local_time(stored.updated_at, conversations.zone)
    await replies.send_document(bot, here, document, f"ringkasan-kebas-{day:%Y-%m-%d}.pdf",
                                here.locale.text("summary.pdf_caption"))
    return True


def summary_html(summary: ClinicalSummary, limit: int = MessageLimit.MAX_TEXT_LENGTH
                 ) -> list[str]:
    """The summary as one message, bold labels, short enough to forward whole: the evidence
    is cut shorter until it fits (split between lines only if even that is too long)."""
    for cut in EVIDENCE_CUTS:
        shortened = cut_evidence(summary, cut)
        if units(summary_text(shortened)) <= limit:
            break
    lines = [_bold(shortened.heading), (escape(shortened.date), shortened.date)]
    if shortened.incomplete:
        lines.append(_bold(shortened.incomplete))
    for section in shortened.sections:
        lines += [("", ""), _bold(section.title)]
        lines += [(f"<b>{escape(row.label)}:</b> {escape(row.value)}", f"{row.label}: {row.value}")
                  if row.label else (escape(row.value), row.value) for row in section.rows]
    lines.append(("", ""))
    lines += [(f"<i>{escape(text)}</i>", text) for text in shortened.footer]
    parts: list[list[tuple[str, str]]] = [[]]
    for line in lines:  # what Telegram counts is the text shown, not the tags
        if parts[-1] and units("\n".join(plain for _html, plain in [*parts[-1], line])) > limit:
            parts.append([])
        parts[-1].append(line)
    return ["\n".join(html for html, _plain in part) for part in parts]


def _bold(text: str) -> tuple[str, str]:
    """A line as HTML and as the text Telegram shows of it."""
    return f"<b>{escape(text)}</b>", text
