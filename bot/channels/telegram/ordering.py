"""Many chats at once, each chat's updates one after another, and a stop that ends in time."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger("kebas.telegram")

# After SIGTERM, the updates still running get this long to finish before they are cut short
# (they stay in the inbox and are replayed at the next start): the process ends within 10 s
# even while a reply waits out a long flood wait.
STOP_GRACE = 5.0  # seconds


class PerChatUpdates(BaseUpdateProcessor):
    """Many chats at once, each chat's updates one after another in arrival order.

    Tasks reach the per-chat lock in the order PTB created them, and asyncio locks are fair,
    so a chat's second update waits for its first: a double tap can never race itself.
    """

    # Updates waiting for their chat hold a slot, so the bound is high: one runner's flood
    # must not use up the slots other chats need.
    def __init__(self, max_concurrent_updates: int = 4096) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        # Set when the bot begins to stop, and when what is still running is cut short: from
        # then on, updates not yet begun are left for the next start.
        self.stopping = self.cut = False
        self._running: set[asyncio.Task[Any]] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            chat = update.effective_chat if isinstance(update, Update) else None
            if chat is None:
                await coroutine
                return
            await self.in_turn(chat.id, coroutine)
        finally:
            if task is not None:
                self._running.discard(task)

    def stop_soon(self, grace: float = STOP_GRACE) -> None:
        """The bot is stopping: after `grace` seconds, cut short the updates still running
        (a reply waiting out a long flood wait, say) and begin no more. Each one kept in the
        inbox is replayed at the next start and applied once, as after a kill."""
        if self.stopping:
            return
        self.stopping = True
        asyncio.get_running_loop().call_later(grace, self._cut_short)

    def _cut_short(self) -> None:
        self.cut = True
        if self._running:
            log.info("stopping: %d updates still running are left for the next start",
                     len(self._running))
        for task in list(self._running):
            task.cancel()

    async def in_turn(self, chat_id: int, coroutine: Awaitable[Any]) -> Any:
        """Run `coroutine` when it is this chat's turn: after what the chat sent before."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                return await coroutine
        except asyncio.CancelledError:
            if isinstance(coroutine, Coroutine) \
                    and inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()  # cut short before it began: never "never awaited"
            raise
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id], self._locks[chat_id]

    def behind(self, chat_id: int) -> int:
        """How many of the chat's updates wait behind the one being handled."""
        return max(0, self._users.get(chat_id, 0) - 1)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
