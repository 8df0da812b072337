"""Which chats send faster than anyone reads the replies, so the bot stops replying to each one.

Telegram asks bots to send about one message a second to a chat (short bursts are fine) and
pauses the whole bot when one chat gets too many. A person reads the reply before answering
again; a flood does not wait. So an update counts when more from the same chat are already
queued behind it, and a chat with more than `limit` of those in any `window` seconds is
flooding: it gets one notice, then only what must never be held back (red-flag advice, a
result), until it has sent nothing for a whole window. Pure, with an injected clock: the
Telegram adapter decides what "quiet" means.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

# A double tap, or ticking boxes quickly on a slow line, leaves an update or two waiting; more
# than three in five seconds is more than anyone reading the replies sends. Each reply is one or
# two messages, so a flood gets at most six, the notice and, once calm, its question again.
LIMIT = 3
WINDOW = 5.0  # seconds
# What must not wait (red-flag advice, a result) still reaches a flooding chat, and first: up
# to one whole result's worth in a flood, so that restarting and reaching a red flag again and
# again cannot take Telegram's budget from everyone else. Once calm, the chat is shown where it
# stands.
MOST_URGENT_IN_A_FLOOD = 8


class Verdict(str, Enum):
    SERVE = "serve"  # reply as usual
    WARN = "warn"    # the flood starts now: tell the runner once, then reply quietly
    QUIET = "quiet"  # still flooding: apply the update, send only what must not wait


class FloodGuard:
    """A sliding window, per chat, of the updates sent without waiting for a reply."""

    def __init__(self, limit: int = LIMIT, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._last: dict[int, float] = {}  # chat -> when its latest update came
        # only the newest limit + 1 matter: "more than limit in a window" is all we ask
        self._unwaited: dict[int, deque[float]] = {}
        self._flooding: set[int] = set()
        self._urgent_sent: dict[int, int] = {}  # flooding chat -> urgent messages sent it
        self._next_sweep = 0.0

    def arrived(self, chat_id: int, behind: int) -> Verdict:
        """Count one update of the chat, with `behind` more of its updates queued after it."""
        now = self.clock()
        self._sweep(now)
        self._last[chat_id] = now
        if chat_id in self._flooding:
            return Verdict.QUIET
        if behind:
            unwaited = self._unwaited.setdefault(chat_id, deque(maxlen=self.limit + 1))
            unwaited.append(now)
            if len(unwaited) > self.limit and now - unwaited[0] < self.window:
                self._flooding.add(chat_id)
                self._urgent_sent[chat_id] = 0
                return Verdict.WARN
        return Verdict.SERVE

    def urgent_allowed(self, chat_id: int) -> bool:
        """Whether one more message that must not wait may go to the chat: always, unless it
        is flooding and has had a whole result's worth in this flood (counted here)."""
        if chat_id not in self._flooding:
            return True
        self._urgent_sent[chat_id] = sent = self._urgent_sent.get(chat_id, 0) + 1
        return sent <= MOST_URGENT_IN_A_FLOOD

    def until_calm(self, chat_id: int) -> float:
        """Seconds until the chat's flood is over if nothing more comes (0: not flooding)."""
        if chat_id not in self._flooding:
            return 0.0
        return max(0.0, self._last[chat_id] + self.window - self.clock())

    def calmed(self, chat_id: int) -> bool:
        """Whether the chat is not flooding: a flood ends once a whole window had no update."""
        if self.until_calm(chat_id) > 0:
            return False
        if chat_id in self._flooding:
            self._flooding.discard(chat_id)
            self._unwaited.pop(chat_id, None)
            self._urgent_sent.pop(chat_id, None)
        return True

    def _sweep(self, now: float) -> None:
        """Forget chats that have been silent for a window, so memory follows active chats."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window
        for chat_id in [chat_id for chat_id, last in self._last.items()
                        if chat_id not in self._flooding and now - last >= self.window]:
            del self._last[chat_id]
            self._unwaited.pop(chat_id, None)
