"""Three webhook workers on one PostgreSQL database all poll for due check-ins: each due one
is sent exactly once, whichever worker claims it, and the others' polls find nothing."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp

from bot.conversation import Conversations
from bot.storage.postgres import PostgresStore

from support.backends import Backend, fresh_database
from support.harness import is_question
from support.webhook import workers

CHATS = (601, 602, 603, 604, 605)


async def polls(backend: str) -> float:
    """How often this worker has looked for due check-ins (its /metrics)."""
    async with aiohttp.ClientSession() as client, client.get(backend + "/metrics") as answer:
        text = await answer.text()
    return float(re.search(r'kebas_followups_total\{event="polls"\} (\S+)', text)[1])


async def polled_twice_more(backend: str) -> None:
    seen = await polls(backend)
    deadline = time.monotonic() + 60
    while await polls(backend) < seen + 2:
        assert time.monotonic() < deadline, f"{backend} stopped polling"
        await asyncio.sleep(0.2)


def checkins(fake, chat_id: int) -> int:
    return sum(1 for m in fake.sent(chat_id) if is_question(m)
               and m.buttons[0]["callback_data"].split(":")[3] == "ci_how")


async def test_three_workers_send_each_due_check_in_once(tmp_path, shipped, postgres_admin,
                                                         monkeypatch):
    database = await fresh_database(postgres_admin)
    dialog = shipped.dialog()
    async with PostgresStore(database) as store:
        talk = Conversations(dialog, store, shipped.locales, checkin=shipped.checkin_for(dialog))
        for chat in CHATS:
            key = f"tg:{chat}"
            await store.update_chat(key, consent_version=1, language="id")
            session = (await talk.begin(key)).session_id
            assert await store.schedule_followup(key, session, "kaki_kebas_checkin", "soon",
                                                 talk.clock())
    await Backend("postgres", database).execute(  # due long ago: aged by SQL
        "UPDATE followups SET due_at = '2000-01-01T07:00:00.000+00:00'")
    monkeypatch.setenv("KEBAS_FOLLOWUP_POLL_SECONDS", "1")
    monkeypatch.setenv("KEBAS_QUIET_HOURS", "")  # whatever the hour the test runs at
    async with workers(tmp_path, count=3, db=database) as (fake, group):
        await fake.wait_for(lambda: all(checkins(fake, chat) for chat in CHATS), timeout=60)
        for backend in group.backends:  # each worker looks twice more, and finds nothing
            await polled_twice_more(backend)
        assert [checkins(fake, chat) for chat in CHATS] == [1] * len(CHATS)
