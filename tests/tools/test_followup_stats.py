"""`kebas stats` on follow-up check-ins: uptake, what became of them and how the runners were,
counted from a real SQLite database that the store and Conversations filled (check-ins made
due by a controllable clock, sent as the sender sends them, answered as a runner answers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.conversation import Conversations
from bot.core.inputs import Choose, ChooseMany, Typed
from bot.storage import SQLiteStore
from bot.tools.followup_stats import followup_stats
from bot.tools.stats import usage

from support.harness import PAD_STORY, SCREENING_CLEAR

ROOT = Path(__file__).resolve().parents[2]
CONTENT = [str(ROOT / "dialogs"), str(ROOT / "locales")]
NOW = datetime.now(UTC).replace(microsecond=0)
RECENT = NOW - timedelta(days=10)   # the runners of the window
OLD = NOW - timedelta(days=40)      # one runner before it
SINCE = (NOW - timedelta(days=20)).date()
# A runner whose laces are too tight, by option number: self care (as in the follow-up tests).
LACES_STORY = SCREENING_CLEAR + [2, 1, 5, 1, 4, 1, 1, 2, 1, "30", 16, 4]
HOLDER = "test-sender"


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def answer_for(prompt, answer):
    """An option id, several (a tuple), a typed number, or an option's number (an int)."""
    if isinstance(answer, int):
        chosen = prompt.choices[answer - 1].id
        return ChooseMany((chosen,)) if prompt.kind == "multi" else Choose(chosen)
    if isinstance(answer, tuple):
        return ChooseMany(answer)
    return Typed(answer) if answer.isdigit() else Choose(answer)


async def answer_all(talk: Conversations, chat: str, turn, story):
    for answer in story:
        assert turn.step.prompt is not None, f"{chat}: the questions ended before {answer!r}"
        turn = await talk.handle(chat, answer_for(turn.step.prompt, answer))
    return turn


async def result(talk: Conversations, chat: str, story, level: str) -> int:
    """A runner's whole questionnaire to a result at `level`; its session id."""
    turn = await answer_all(talk, chat, await talk.begin(chat), story)
    assert turn.step.outcome is not None and turn.step.outcome.level.value == level
    return turn.session_id


async def ask_again(talk: Conversations, chat: str, story, level: str) -> None:
    assert await talk.schedule_followup(chat, await result(talk, chat, story, level))


async def check_in(store, talk: Conversations, chat: str, answers, level: str | None) -> None:
    """Send the chat's due check-in as the sender does; answer it (to a result at `level`)."""
    followup, = await store.claim_due_followups(talk.clock(), HOLDER, 60, chat_key=chat)
    opened = await talk.open_checkin(followup)
    assert opened.turn is not None
    assert await store.followup_sent(followup.id, HOLDER, opened.turn.session_id)
    turn = await answer_all(talk, chat, opened.turn, answers)
    if level is not None:
        assert turn.step.outcome is not None and turn.step.outcome.level.value == level


async def fill(db: Path, shipped) -> None:
    """Ten runners: eight finish at a level followed up (soon, self care), one at emergency,
    one long ago. Asked for a check-in: seven, one of them before the window. Of the six in
    it: one cancelled by /batal, one not due for it yet (pending), one sent and not answered,
    three answered: better, the same, worse with a saddle sign (an emergency: escalated)."""
    clock = Clock(OLD)
    async with SQLiteStore(db, clock=clock) as store:
        main = shipped.dialog()
        talk = Conversations(main, store, shipped.locales,
                             checkin=shipped.dialog(main.followup.dialog))
        talk.clock = clock
        await ask_again(talk, "tg:701", PAD_STORY, "soon")     # before the window, pending
        clock.moment = RECENT
        for chat in ("tg:711", "tg:712", "tg:713", "tg:714"):
            await ask_again(talk, chat, PAD_STORY, "soon")
        await ask_again(talk, "tg:721", LACES_STORY, "self_care")
        await ask_again(talk, "tg:722", LACES_STORY, "self_care")
        await result(talk, "tg:731", PAD_STORY, "soon")          # not asked
        await result(talk, "tg:732", LACES_STORY, "self_care")   # not asked
        await result(talk, "tg:741", [("chest",)], "emergency")  # nothing to follow up
        assert await talk.cancel_followups("tg:721", "cancel") == 1  # what /batal does
        clock.moment = RECENT + timedelta(days=3)
        await check_in(store, talk, "tg:711", ["better"], "self_care")
        await check_in(store, talk, "tg:712", ["same"], "soon")
        await check_in(store, talk, "tg:713", ["worse", ("none",), "saddle"], "emergency")
        await check_in(store, talk, "tg:714", [], None)  # sent, not answered yet
        # tg:722 and tg:701 stay pending: nothing sent them


@pytest.fixture
async def db(tmp_path, shipped) -> Path:
    path = tmp_path / "kebas.sqlite3"
    await fill(path, shipped)
    return path


def cell(output: str, name: str) -> str:
    """The value next to a row name in a rich table."""
    match = re.search(rf"{re.escape(name)}\s*│\s*(\S+)", output)
    assert match, f"no row {name!r} in:\n{output}"
    return match.group(1)


def outcome(output: str, answer: str) -> tuple[int, int]:
    """(check-ins, escalated) in the outcome table's row for `answer`."""
    match = re.search(rf"│\s*{answer}\s*│[^│\n]*│\s*(\d+)\s*│\s*(\d+)\s*│", output)
    assert match, f"no outcome row {answer!r} in:\n{output}"
    return int(match.group(1)), int(match.group(2))


def test_the_terminal_report_counts_uptake_fates_and_outcomes_in_the_window(db, capsys):
    assert cli.main(["stats", "--db", str(db), "--since", SINCE.isoformat(), *CONTENT]) == 0
    output = capsys.readouterr().out
    assert cell(output, "started") == "9", "the check-ins are not sessions of the main dialog"
    assert cell(output, "finished at soon or self_care") == "8"
    assert cell(output, "follow-ups asked for") == "6"
    assert cell(output, "uptake") == "75.0%"
    assert cell(output, "pending") == "1"
    assert cell(output, "sent") == "4"
    assert cell(output, "cancelled (cancel)") == "1"
    assert cell(output, "check-ins answered") == "3"
    assert cell(output, "escalated above the followed level") == "1"
    assert outcome(output, "better") == (1, 0)
    assert outcome(output, "same") == (1, 0)
    assert outcome(output, "worse") == (1, 1)
    assert outcome(output, "danger") == (0, 0)
    assert "tg:" not in output and "7" + "11" not in output


def test_the_html_report_has_the_same_numbers_of_all_time(db, tmp_path, capsys):
    report = tmp_path / "usage.html"
    assert cli.main(["stats", "--db", str(db), "--html", str(report), *CONTENT]) == 0
    capsys.readouterr()
    page = report.read_text(encoding="utf-8")

    def shown(name: str) -> str:
        match = re.search(rf"<th scope=\"row\">{re.escape(name)}</th><td class=\"n\">([^<]*)<",
                          page)
        assert match, f"no row {name!r} in the page"
        return match.group(1)

    assert shown("started") == "10"
    assert shown("finished at soon or self_care") == "9"
    assert shown("follow-ups asked for") == "7"
    assert shown("uptake") == "77.8%"
    assert shown("pending") == "2"
    assert shown("cancelled (cancel)") == "1"
    assert shown("escalated above the followed level") == "1"
    rows = re.findall(r"<tr><td><code>(\w+)</code></td><td>[^<]*</td>"
                      r"<td class=\"n\">(\d+)</td><td class=\"n\">(\d+)</td></tr>", page)
    assert rows == [("better", "1", "0"), ("same", "1", "0"), ("worse", "1", "1"),
                    ("danger", "0", "0")], "in the order the check-in asks"
    assert "Membaik atau sudah hilang" in page, "the answers as the runner read them"
    assert "tg:" not in page


async def test_no_follow_ups_leave_uptake_undivided(shipped):
    numbers = usage([], shipped.dialog())
    found = followup_stats([], numbers, shipped.dialog(), None)
    assert found is not None and found.uptake is None and found.asked == 0


async def test_a_dialog_that_follows_nothing_up_has_no_follow_up_numbers(shipped):
    checkin = shipped.dialog("kaki_kebas_checkin")
    assert followup_stats([], usage([], checkin), checkin, None) is None
