"""Follow-up check-ins in a real database, SQLite and PostgreSQL alike: one per session, sent
exactly once by whichever of several workers claims it first, late rather than never when that
worker dies, cancelled and erased with the runner's other data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.conversation import Conversations
from bot.core.inputs import Choose
from bot.storage import CANCELLED, PENDING, SCHEMA_VERSION, SENT

from support.backends import Backend
from support.erasure import leftovers

NOW = datetime(2026, 5, 12, 7, 5, tzinfo=UTC)
DUE = NOW + timedelta(days=3)
CHAT = "tg:5550101"
CLAIM = 600.0


@pytest.fixture
async def store(backend):
    async with backend.store(clock=lambda: NOW) as opened:
        yield opened


async def finished_session(store, dialog, chat: str = CHAT) -> int:
    talk = Conversations(dialog, store)
    turn = await talk.begin(chat, fresh=True)
    await talk.handle(chat, Choose("no"))
    return turn.session_id


async def test_one_check_in_per_session_a_double_tap_stores_one(store, dialog):
    session = await finished_session(store, dialog)
    assert await store.schedule_followup(CHAT, session, "checkin", "soon", DUE)
    assert not await store.schedule_followup(CHAT, session, "checkin", "soon", DUE + timedelta(1))
    followup = await store.followup_for(CHAT, session)
    assert (followup.session_id, followup.level, followup.due_at, followup.status) == (
        session, "soon", DUE, PENDING)
    assert await store.followup_for("tg:other", session) is None


async def test_nothing_is_claimed_before_it_is_due_nor_for_another_channel(store, dialog):
    session = await finished_session(store, dialog)
    await store.schedule_followup(CHAT, session, "checkin", "soon", DUE)
    assert await store.claim_due_followups(DUE - timedelta(seconds=1), "w1", CLAIM,
                                           prefix="tg:") == []
    assert await store.claim_due_followups(DUE, "w1", CLAIM, prefix="cli:") == []
    claimed, = await store.claim_due_followups(DUE, "w1", CLAIM, prefix="tg:")
    assert claimed.session_id == session


async def test_of_three_stores_claiming_at_once_one_wins(backend, dialog):
    async with backend.store() as first:
        for number in range(5):
            session = await finished_session(first, dialog, f"tg:{number}")
            await first.schedule_followup(f"tg:{number}", session, "checkin", "soon", DUE)
    stores = [backend.store() for _ in range(3)]
    for opened in stores:
        await opened.open()
    try:
        for _round in range(3):
            won = await asyncio.gather(*(opened.claim_due_followups(
                DUE, f"worker-{number}", CLAIM, prefix="tg:")
                for number, opened in enumerate(stores)))
            ids = [followup.id for claimed in won for followup in claimed]
            assert len(ids) == len(set(ids)), "a check-in claimed twice"
            if _round == 0:
                assert len(ids) == 5
            else:
                assert ids == [], "a claim still held is not taken again"
    finally:
        for opened in stores:
            await opened.close()


async def test_an_expired_claim_is_taken_again_and_only_its_holder_marks_it_sent(store,
                                                                                dialog):
    session = await finished_session(store, dialog)
    await store.schedule_followup(CHAT, session, "checkin", "soon", DUE)
    dead, = await store.claim_due_followups(DUE, "dead worker", CLAIM, prefix="tg:")
    assert await store.claim_due_followups(DUE + timedelta(seconds=CLAIM - 1), "w2", CLAIM,
                                           prefix="tg:") == []
    late, = await store.claim_due_followups(DUE + timedelta(seconds=CLAIM + 1), "w2", CLAIM,
                                            prefix="tg:")
    assert late.id == dead.id
    assert not await store.followup_sent(dead.id, "dead worker", None), "no longer its claim"
    checkin = await finished_session(store, dialog)
    assert await store.followup_sent(late.id, "w2", checkin)
    sent = await store.followup_for(CHAT, checkin)
    assert (sent.id, sent.status, sent.checkin_session) == (late.id, SENT, checkin)
    assert await store.claim_due_followups(DUE + timedelta(days=1), "w3", CLAIM,
                                           prefix="tg:") == []


async def test_one_console_chat_claims_only_its_own(store, dialog):
    for chat in ("cli:ani", "cli:anita"):
        session = await finished_session(store, dialog, chat)
        await store.schedule_followup(chat, session, "checkin", "self_care", DUE)
    mine, = await store.claim_due_followups(DUE, "console", CLAIM, chat_key="cli:ani")
    assert mine.chat_key == "cli:ani"


async def test_cancelling_keeps_the_reason_and_stops_the_claims(store, dialog):
    session = await finished_session(store, dialog)
    other = await finished_session(store, dialog, "tg:other")
    await store.schedule_followup(CHAT, session, "checkin", "soon", DUE)
    await store.schedule_followup("tg:other", other, "checkin", "soon", DUE)
    assert await store.cancel_followups(CHAT, "cancel") == 1
    assert await store.cancel_followups(CHAT, "cancel") == 0, "only pending ones"
    cancelled = await store.followup_for(CHAT, session)
    assert (cancelled.status, cancelled.cancelled) == (CANCELLED, "cancel")
    claimed, = await store.claim_due_followups(DUE, "w1", CLAIM, prefix="tg:")
    assert claimed.chat_key == "tg:other"
    assert await store.cancel_followups("tg:other", "superseded", only=claimed.id + 1) == 0
    assert await store.cancel_followups("tg:other", "superseded", only=claimed.id) == 1
    assert not await store.followup_sent(claimed.id, "w1", None), "cancelled meanwhile"


async def test_forget_deletes_the_chats_check_ins(backend, store, dialog):
    session = await finished_session(store, dialog)
    other = await finished_session(store, dialog, "tg:other")
    await store.schedule_followup(CHAT, session, "checkin", "soon", DUE)
    await store.schedule_followup("tg:other", other, "checkin", "soon", DUE)
    await store.forget(CHAT)
    assert await backend.rows("SELECT chat_key FROM followups") == [("tg:other",)]


async def test_retention_deletes_the_check_ins_of_expired_sessions(backend, dialog):
    moment = [NOW]
    async with backend.store(clock=lambda: moment[0]) as store:
        old = await finished_session(store, dialog, "tg:old")
        await store.schedule_followup("tg:old", old, "checkin", "soon", DUE)
        moment[0] = NOW + timedelta(days=60)
        new = await finished_session(store, dialog)
        await store.schedule_followup(CHAT, new, "checkin", "soon", moment[0] + (DUE - NOW))
        purged = await store.purge(NOW + timedelta(days=1))
    assert (purged.followups, purged.followups_pending) == (1, 1)
    assert await backend.rows("SELECT chat_key FROM followups") == [(CHAT,)]


async def test_the_statistics_see_no_chat_but_the_check_ins_answer(store, dialog):
    session = await finished_session(store, dialog)
    await store.schedule_followup(CHAT, session, "checkin", "self_care", DUE)
    claimed, = await store.claim_due_followups(DUE, "w1", CLAIM, prefix="tg:")
    talk = Conversations(dialog, store)
    checkin = (await talk.begin(CHAT, fresh=True)).session_id
    await talk.handle(CHAT, Choose("no"))
    await store.followup_sent(claimed.id, "w1", checkin)
    row, = await store.followup_rows()
    assert (row.level, row.due_at, row.status, row.checkin_answer) == (
        "self_care", DUE, SENT, "no")
    assert CHAT not in repr(row)
    assert await store.followup_rows(NOW + timedelta(days=1)) == []


async def test_no_byte_of_a_forgotten_check_in_is_left_in_the_files(tmp_path, dialog):
    backend = Backend("sqlite", tmp_path / "kebas.sqlite3")
    secret = "tg:8812345"
    async with backend.store(clock=lambda: NOW) as store:
        for number in range(50):
            chat = secret if number == 25 else f"tg:{number + 100}"
            session = await finished_session(store, dialog, chat)
            await store.schedule_followup(chat, session, "checkin", "soon", DUE)
        await store.cancel_followups(secret, "cancel")
        await store.forget(secret)
        assert leftovers(Path(backend.target), (secret, "8812345")) == {}


async def test_on_postgresql_the_chat_key_of_a_check_in_is_never_sampled(postgres_admin, dialog):
    from support.backends import fresh_database
    backend = Backend("postgres", await fresh_database(postgres_admin))
    async with backend.store(clock=lambda: NOW) as store:
        for _turn in range(20):
            session = await finished_session(store, dialog, "tg:77001")
            await store.schedule_followup("tg:77001", session, "checkin", "soon", DUE)
    await backend.execute("ANALYZE")
    found = await backend.rows("SELECT attname FROM pg_stats WHERE tablename = 'followups'")
    assert found and ("chat_key",) not in found, "other columns are sampled, not the chat key"


async def test_a_database_of_schema_12_gains_the_table(backend, dialog):
    async with backend.store() as store:
        session = await finished_session(store, dialog)
    await backend.execute("DROP TABLE followups")
    await backend.execute("UPDATE kebas_schema SET version = 12" if backend.kind == "postgres"
                          else "PRAGMA user_version = 12")
    async with backend.store() as store:
        assert store.migrated_from == 12
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.schedule_followup(CHAT, session, "checkin", "soon", DUE)
