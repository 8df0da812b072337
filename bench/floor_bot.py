"""The floor: the least a python-telegram-bot bot can do for the benchmark's runners.

No dialog, no storage, no checks: each update says which Bot API calls to make, and the bot
makes exactly those (answerCallbackQuery, editMessageText, editMessageReplyMarkup,
sendMessage with a keyboard), in the order Kebas makes them. The benchmark gets the recipe of
every step from Kebas's own run (`bench/load.py`), so both bots do the same Telegram work and
the difference between them is Kebas: its dialog engine, its database and its care.

It is built like `kebas run` where that costs the same in any bot: long polling, concurrent
updates, HTML by default, the same outgoing rate limiter (KEBAS_SEND_RATE per second) and, as
the benchmark runs it, the same HTTP connection pool. It builds its limiter itself rather than
import Kebas's `outgoing_limiter`: importing Kebas would load pydantic and the dialog model and
count them in the floor's memory.

Run: TELEGRAM_BOT_TOKEN=... TELEGRAM_API_BASE_URL=... KEBAS_SEND_RATE=... \
     python bench/floor_bot.py [--connections N]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    TypeHandler,
)

# A question about as long as Kebas's, with four options.
QUESTION = ("<b>Pertanyaan {step}</b>\nSaat berlari, di bagian mana rasa kebas itu muncul? "
            "Pilih yang paling sesuai dengan yang Anda rasakan; jawaban ini membantu "
            "membedakan penyebab yang mungkin.")
OPTIONS = ("Tulang kering bagian depan", "Betis", "Punggung kaki", "Telapak kaki")


def recipe(text: str) -> tuple[list[int], int] | None:
    """`f:A,E,R,S:M` → ([answers, text edits, markup edits, sends], message to edit)."""
    parts = text.split(":")
    if len(parts) != 3 or parts[0] != "f":
        return None
    return [int(count) for count in parts[1].split(",")], int(parts[2])


def keyboard(step: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"{label} ({step})",
                                                       callback_data=f"o:{step}:{number}")]
                                 for number, label in enumerate(OPTIONS)])


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, message = update.callback_query, update.message
    asked = recipe(query.data if query else message.text if message else "")
    if asked is None:
        return
    (answers, edits, markups, sends), edited = asked
    chat_id = update.effective_chat.id
    step = update.update_id
    bot = context.bot
    for _ in range(answers):
        await query.answer()
    for number in range(edits):
        await bot.edit_message_text(f"{QUESTION.format(step=step)}\n\n✓ {step}.{number}",
                                    chat_id=chat_id, message_id=edited)
    for number in range(markups):
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=edited,
                                            reply_markup=keyboard(step * 10 + number))
    for number in range(sends):
        last = number == sends - 1
        await bot.send_message(chat_id, QUESTION.format(step=step),
                               reply_markup=keyboard(step) if last else None)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    rate = float(os.environ.get("KEBAS_SEND_RATE", "30"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=256,
                        help="HTTP connection pool size (PTB's default: 256)")
    connections = parser.parse_args().connections
    app = (ApplicationBuilder().connection_pool_size(connections).pool_timeout(None)
           .token(os.environ["TELEGRAM_BOT_TOKEN"])
           .base_url(os.environ["TELEGRAM_API_BASE_URL"])
           .concurrent_updates(True)
           .rate_limiter(AIORateLimiter(overall_max_rate=rate, overall_time_period=1,
                                        max_retries=sys.maxsize))
           .defaults(Defaults(parse_mode=ParseMode.HTML,
                              link_preview_options=LinkPreviewOptions(is_disabled=True)))
           .build())
    app.add_handler(TypeHandler(Update, on_update))
    app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
