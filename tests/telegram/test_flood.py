"""Floods: a chat that sends faster than anyone reads the replies gets one notice and few
replies, keeps its real answer and still gets red-flag advice, and never slows other chats.
The flood guard alone with a fake clock, then end to end through the real bot."""

from __future__ import annotations

import time

import pytest

from bot.channels.telegram.flood import LIMIT, MOST_URGENT_IN_A_FLOOD, FloodGuard, Verdict

from support.harness import Runner, node_of, rows, running_bot, shown

LONG_ENOUGH = 30.0  # seconds: only a hung bot takes longer
DB = "kebas.sqlite3"


@pytest.fixture
async def bot(fake, shipped, tmp_path):
    async with running_bot(fake, shipped, tmp_path / DB) as app:
        yield app


def test_the_flood_guard_counts_only_updates_sent_without_waiting():
    now = [0.0]
    guard = FloodGuard(limit=5, window=5.0, clock=lambda: now[0])
    assert [guard.arrived(1, behind=0) for _ in range(100)] == [Verdict.SERVE] * 100, \
        "a runner who waits for each reply is never flooding, however fast"
    verdicts = [guard.arrived(1, behind=9) for _ in range(7)]
    assert verdicts == [Verdict.SERVE] * 5 + [Verdict.WARN, Verdict.QUIET]
    assert guard.arrived(2, behind=3) is Verdict.SERVE, "other chats are not affected"


def test_the_flood_guard_window_slides_and_a_flood_ends_after_a_silent_window():
    now = [0.0]
    guard = FloodGuard(limit=5, window=5.0, clock=lambda: now[0])
    for _ in range(20):  # one unanswered update every 1.1 s: never five in five seconds
        now[0] += 1.1
        assert guard.arrived(1, behind=1) is Verdict.SERVE
    for _ in range(6):
        guard.arrived(1, behind=1)
    assert guard.until_calm(1) == 5.0 and not guard.calmed(1)
    now[0] += 3.0
    assert guard.arrived(1, behind=0) is Verdict.QUIET, "quiet even when it waits"
    now[0] += 4.9
    assert guard.until_calm(1) == pytest.approx(0.1) and not guard.calmed(1)
    now[0] += 0.1
    assert guard.calmed(1) and guard.until_calm(1) == 0.0
    assert [guard.arrived(1, behind=1) for _ in range(5)] == [Verdict.SERVE] * 5, \
        "after the flood the chat starts afresh"


def number_of(runner: Runner, option_id: str) -> str:
    """What a runner types to choose this option of the current question."""
    data = runner.data_for(option_id)
    return str(1 + [b["callback_data"] for b in runner.question().buttons].index(data))


async def test_a_flood_gets_few_replies_keeps_its_answer_and_never_slows_others(
        fake, bot, shipped, tmp_path):
    flooder, other = Runner(fake, 148), Runner(fake, 149)
    await flooder.agree()
    await other.agree()
    before = flooder.last_id()
    none = number_of(flooder, "none")
    for _ in range(99):
        fake.send_text(148, "halo")
    fake.send_text(148, none)  # a real answer at the end of the flood is not lost
    asked = time.monotonic()
    other_before = other.last_id()
    fake.send_text(149, number_of(other, "none"))
    await fake.wait_for(lambda: any(node_of(m) == "a3_saddle" for m in other.sent
                                    if m.message_id > other_before), timeout=LONG_ENOUGH)
    assert time.monotonic() - asked < 2.0, "another runner is answered promptly"

    await fake.wait_for(lambda: flooder.node() == "a3_saddle", timeout=LONG_ENOUGH)
    to_flooder = [m.text for m in flooder.sent if m.message_id > before]
    notice = shown(shipped.locales["id"], "tg.flood")
    assert to_flooder.count(notice) == 1, "one notice"
    # A flood is seen once messages queue up behind one another, so the first one or two may
    # be served before the queue builds (how soon depends on the machine): each reply is the
    # explanation and the question (2), plus the notice and the question once calm.
    assert len(to_flooder) <= 2 * (LIMIT + 2) + 2, f"a bounded number of replies: {to_flooder}"
    assert rows(tmp_path / DB, "SELECT answers.node, value FROM answers JOIN sessions "
                    "ON sessions.id = session_id WHERE chat_key = 'tg:148'") == [
        ("a12_alarm", '["none"]')]

    before = flooder.last_id()
    await flooder.choose("no")
    assert flooder.node() == "a45_leg", "the dialog goes on as usual after the flood"
    assert notice not in flooder.texts_after(before)


async def test_red_flag_advice_reaches_a_runner_even_in_the_middle_of_a_flood(
        fake, bot, shipped):
    flooder = Runner(fake, 150)
    await flooder.agree()
    before = flooder.last_id()
    chest = number_of(flooder, "chest")
    for typed in ["halo"] * 15 + [chest] + ["halo"] * 15:
        fake.send_text(150, typed)
    await fake.wait_for(lambda: any("Tanda bahaya: DARURAT" in t
                                    for t in flooder.texts_after(before)), timeout=LONG_ENOUGH)
    texts = flooder.texts_after(before)
    assert texts.count(shown(shipped.locales["id"], "tg.flood")) == 1
    advice = next(t for t in texts if "Tanda bahaya: DARURAT" in t)
    assert "112 atau 119" in advice


async def test_a_flood_of_restarts_and_red_flags_gets_one_result_not_a_share_of_everyone_s_budget(
        fake, bot, shipped):
    """Found by an outside review: red-flag advice and results are sent even to a flooding
    chat, and go first; restarting and answering "chest pain" again and again made Kebas send
    that chat four urgent messages a cycle, ahead of everyone else."""
    flooder = Runner(fake, 151)
    await flooder.agree()
    before = flooder.last_id()
    chest = number_of(flooder, "chest")
    for _ in range(15):
        fake.send_text(151, "/ulang")
        fake.send_text(151, chest)
    await fake.wait_for(lambda: any("Tanda bahaya: DARURAT" in t
                                    for t in flooder.texts_after(before)), timeout=LONG_ENOUGH)
    await fake.settled()
    texts = flooder.texts_after(before)
    advice = [t for t in texts if "Tanda bahaya: DARURAT" in t]
    assert advice and "112 atau 119" in advice[0], "the advice still comes, at once"
    # before the flood is seen, a few cycles are served in full; in it, one result's worth
    assert len(advice) <= 4, f"but not once a cycle: {len(advice)} times"
    assert len(texts) <= 2 * (LIMIT + 2) * 3 + MOST_URGENT_IN_A_FLOOD, \
        f"a bounded number of messages: {len(texts)}"
