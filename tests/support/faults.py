"""Faults the fake Bot API injects at random (`Chaos`), as a bad network and a busy Telegram
produce them: the chaos test's weather."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

# What a running bot calls. Startup calls (getMe, deleteWebhook, setMyCommands) are left alone:
# failing them stops `kebas run` before it polls, which other tests cover.
CHAOS_METHODS = frozenset({"getUpdates", "sendMessage", "editMessageText",
                           "editMessageReplyMarkup", "answerCallbackQuery", "sendChatAction"})


@dataclass
class Chaos:
    """Seeded random faults, each at its rate per call (0-1), as a bad network and a busy
    Telegram produce them.

    5xx, 429 (with `retry_after`) and slow answers happen before the method is applied: the
    server refused or dawdled, nothing changed, so getUpdates confirms nothing and its updates
    stay pending, as Telegram keeps them. A dropped connection (closed with no HTTP response)
    loses the request half the time and the response the other half: then the method was
    applied and the bot, seeing a NetworkError, may send the same message twice, as it can over
    a real network.
    """

    seed: int = 0
    server_error: float = 0.0
    flood: float = 0.0
    slow: float = 0.0
    dropped: float = 0.0
    retry_after: int = 1
    slow_seconds: tuple[float, float] = (0.2, 1.5)
    methods: frozenset[str] = CHAOS_METHODS
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def draw(self, method: str) -> str | None:
        """The fault for this call, if any: 5xx, 429, slow, dropped (request) or dropped_after."""
        if method not in self.methods:
            return None
        roll = self.random.random()
        for fault, rate in (("5xx", self.server_error), ("429", self.flood),
                            ("slow", self.slow), ("dropped", self.dropped)):
            if roll < rate:
                self.injected[fault] += 1
                if fault == "dropped" and self.random.random() < 0.5:
                    return "dropped_after"
                return fault
            roll -= rate
        return None

    def pause(self) -> float:
        return self.random.uniform(*self.slow_seconds)

    def summary(self) -> str:
        return " ".join(f"{fault}={self.injected[fault]}"
                        for fault in ("5xx", "429", "slow", "dropped"))
