"""A follow-up asked for survives `kill -9`: the real `kebas run` is killed after the runner
asked to be asked again, the check-in falls due while no process runs, and the next process
sends it, once, however often it restarts afterwards (issue 18: sent late rather than lost)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from test_followup_checkins import asked_again, checkins

from support.harness import Runner, rows
from support.process import ready, start_kebas

PAST = "2020-01-01T00:00:00.000+00:00"   # as bot.storage.queries.stamp writes a moment


@pytest.fixture(autouse=True)
def quick_followups(monkeypatch):
    monkeypatch.setenv("KEBAS_QUIET_HOURS", "")   # the test must not depend on the hour
    monkeypatch.setenv("KEBAS_FOLLOWUP_POLL_SECONDS", "1")


async def test_a_follow_up_asked_for_before_kill_9_is_sent_once_by_the_next_process(
        fake, tmp_path):
    db = tmp_path / "kebas.sqlite3"
    process = await start_kebas(fake, db)
    await ready(fake, 0)
    runner = Runner(fake, 606)
    await asked_again(runner)
    process.kill()   # SIGKILL: no shutdown
    await process.wait()
    assert rows(db, "SELECT status FROM followups") == [("pending",)]
    with sqlite3.connect(db) as connection:   # three days pass while nothing runs
        connection.execute("UPDATE followups SET due_at = ?", (PAST,))

    for restart in range(2):
        polls = len(fake.calls_of("getUpdates"))
        process = await start_kebas(fake, db)
        try:
            await ready(fake, polls)
            await fake.wait_for(lambda: checkins(runner), timeout=30)
            await asyncio.sleep(3)   # three more of the sender's polls
        finally:
            process.kill() if restart == 0 else process.terminate()
            await process.wait()
        assert len(checkins(runner)) == 1, "sent once, not again by the next process"
        assert rows(db, "SELECT status FROM followups") == [("sent",)]
