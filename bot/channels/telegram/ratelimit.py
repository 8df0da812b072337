"""How fast Kebas sends: within Telegram's limits, the most urgent first, never dropping a
message to keep them."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter, BaseRateLimiter

from bot.channels.telegram.outgoing import Priority

# RetryAfter.retry_after becomes a timedelta in PTB 23; opt in now (PTB's limiter reads it).
os.environ.setdefault("PTB_TIMEDELTA", "1")

# However often Telegram answers 429, the request is sent again after its retry_after.
NEVER_GIVE_UP = sys.maxsize

Result = bool | dict[str, Any] | list[dict[str, Any]]


def outgoing_limiter(per_second: float | None) -> AIORateLimiter:
    """Telegram's limits, kept without ever dropping a message.

    At most `per_second` requests a second to all chats together (sends and edits; answers
    to button presses are not counted by Telegram), and 20 a minute to any group. A flood
    wait (429) pauses every request for its retry_after, as Telegram asks, and the request is
    then sent again, for as long as it takes. A private chat gets one reply per message it
    sends (a result's few messages go together, a short burst Telegram tolerates), and a
    flooding chat gets hardly any (`bot.channels.telegram.flood`). `per_second=None`: no
    overall limit here (`UrgentFirst` keeps it).
    """
    return AIORateLimiter(overall_max_rate=per_second or 0, overall_time_period=1,
                          max_retries=NEVER_GIVE_UP)


class UrgentFirst(BaseRateLimiter[int]):
    """Telegram's overall budget, each moment of it given to the most urgent request waiting.

    PTB's limiter lets requests through in the order they came. Here each request that
    counts against the budget (one with a chat: sends and edits) waits in a queue ordered by
    `Priority`, then by arrival; whenever the budget has room for one more, the most urgent
    request waiting then goes. So red-flag advice asked for behind a queue of next questions
    goes out next, and a result's parts are not held up by cosmetic edits. What is left to
    PTB's limiter (`outgoing_limiter` with no overall rate): 20 a minute to a group, and
    waiting out 429s. Requests without a chat (answers to button presses, getUpdates) do not
    queue here.
    """

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.budget = AsyncLimiter(per_second, 1)
        self.limiter = outgoing_limiter(None)
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._giving: asyncio.Task[None] | None = None
        self._live = 0  # requests in `_waiting` not yet given their moment nor given up

    async def initialize(self) -> None:
        await self.limiter.initialize()

    async def shutdown(self) -> None:
        if self._giving is not None:
            self._giving.cancel()
        await self.limiter.shutdown()

    def waiting(self) -> int:
        """Rate-limited requests waiting for their moment of budget."""
        return self._live

    def spare(self) -> bool:
        """Whether the budget has room for what is only cosmetic: nothing waits, and at most
        half of a second's budget is spent."""
        return not self._live and self.budget.has_capacity(self.per_second / 2)

    async def process_request(
            self, callback: Callable[..., Coroutine[Any, Any, Result]], args: Any,
            kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
            rate_limit_args: int | None) -> Result:
        if data.get("chat_id") is not None:
            priority = Priority.REPLY if rate_limit_args is None else rate_limit_args
            if not self._live and self.budget.has_capacity(self._room(priority)):
                await self.budget.acquire()  # no one waits and there is room: at once
            else:
                await self._turn(priority)
        return await self.limiter.process_request(callback, args, kwargs, endpoint, data,
                                                  None)

    async def _turn(self, priority: int) -> None:
        """Wait until the budget has room and this is the most urgent request waiting."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), future))
        self._live += 1
        if self._giving is None or self._giving.done():
            self._giving = asyncio.get_running_loop().create_task(self._give())
        try:
            await future
        finally:
            self._live -= 1  # given its moment, or given up

    def _room(self, priority: int) -> float:
        """The room the budget must have for a request: a cosmetic one leaves half of it
        free, so that a burst of replies after it (a result in several messages) finds room."""
        return self.per_second / 2 if priority >= Priority.COSMETIC else 1

    async def _give(self) -> None:
        """While requests wait: take the next moment of budget, give it to the most urgent
        (a cosmetic one only while `_room` allows)."""
        while self._waiting:
            priority, _, future = self._waiting[0]
            if future.done():  # given up meanwhile
                heapq.heappop(self._waiting)
                continue
            if not self.budget.has_capacity(self._room(priority)):
                await asyncio.sleep(1 / self.per_second)
                continue
            await self.budget.acquire()
            while self._waiting:
                _, _, future = heapq.heappop(self._waiting)
                if not future.done():
                    future.set_result(None)
                    break
