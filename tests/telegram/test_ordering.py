"""Per-chat ordering: a chat's updates run one after another in arrival order while other chats
go on; a stop cuts short what still runs after the grace (the inbox keeps it for next time)."""

from __future__ import annotations

import asyncio
import contextlib

from bot.channels.telegram.ordering import PerChatUpdates


async def test_a_chats_updates_run_in_order_while_other_chats_go_on():
    updates = PerChatUpdates()
    done: list[str] = []
    release = asyncio.Event()

    async def handle(name: str, wait: bool = False) -> str:
        if wait:
            await release.wait()
        done.append(name)
        return name

    first = asyncio.create_task(updates.in_turn(1, handle("1a", wait=True)))
    second = asyncio.create_task(updates.in_turn(1, handle("1b")))
    other = asyncio.create_task(updates.in_turn(2, handle("2a")))
    await other
    assert done == ["2a"], "chat 2 does not wait for chat 1"
    assert updates.behind(1) == 1 and updates.behind(2) == 0
    release.set()
    assert await asyncio.gather(first, second) == ["1a", "1b"]
    assert done == ["2a", "1a", "1b"]
    assert updates.behind(1) == 0


async def test_a_stop_cuts_short_what_still_runs_after_the_grace():
    updates = PerChatUpdates()
    began: list[str] = []

    async def handle(name: str) -> None:
        began.append(name)
        await asyncio.sleep(60)  # a reply waiting out a long flood wait

    async def processed(name: str) -> None:
        await updates.do_process_update(object(), handle(name))

    running = asyncio.create_task(processed("a"))
    await asyncio.sleep(0)
    updates.stop_soon(grace=0.05)
    assert updates.stopping and not updates.cut
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(running, 5)
    assert updates.cut and began == ["a"] and running.cancelled()
