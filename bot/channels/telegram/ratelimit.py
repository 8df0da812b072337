"""How fast Kebas sends: within Telegram's limits, and never dropping a message to keep them."""

from __future__ import annotations

import os
import sys

from telegram.ext import AIORateLimiter

# RetryAfter.retry_after becomes a timedelta in PTB 23; opt in now (PTB's limiter reads it).
os.environ.setdefault("PTB_TIMEDELTA", "1")

# However often Telegram answers 429, the request is sent again after its retry_after.
NEVER_GIVE_UP = sys.maxsize


def outgoing_limiter(per_second: float) -> AIORateLimiter:
    """Telegram's limits, kept without ever dropping a message.

    At most `per_second` requests a second to all chats together (sends and edits; answers
    to button presses are not counted by Telegram), and 20 a minute to any group. A flood
    wait (429) pauses every request for its retry_after, as Telegram asks, and the request is
    then sent again, for as long as it takes. One private chat cannot outrun Telegram's
    one message a second for long: it gets one reply per message, and a flooding chat gets
    hardly any (`bot.channels.telegram.flood`).
    """
    return AIORateLimiter(overall_max_rate=per_second, overall_time_period=1,
                          max_retries=NEVER_GIVE_UP)
