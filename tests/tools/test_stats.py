"""`kebas stats` and `/statistik`: after a simulated run, every number equals what SQL over the
same database file says."""

from __future__ import annotations

import asyncio
import base64
import re
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random

import pytest

from bot.cli import main as cli
from bot.conversation import Conversations
from bot.core.engine import Prompt
from bot.core.inputs import Back, Choose, ChooseMany, Typed
from bot.storage import SQLiteStore, StorageError, UsageRow
from bot.tools.stats import chart_words, funnel_figure, telegram_summary, usage, usage_tables

from support.harness import Runner, running_bot

ROOT = Path(__file__).resolve().parents[2]
CONTENT = [str(ROOT / "dialogs"), str(ROOT / "locales")]
ADMIN = 300
DAYS = 60          # the simulated run ends now and began this many days ago
SINCE = (datetime.now(UTC) - timedelta(days=DAYS // 2)).date()


# --- a simulated run ----------------------------------------------------------------------


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


def pick(prompt: Prompt, rng: Random):
    """A plausible answer: mostly 'no'/'none of these' on warning signs, or any option."""
    ids = [choice.id for choice in prompt.choices]
    calm = [i for i in ids if i in ("no", "none")]
    if prompt.kind == "number":
        return Typed(str(rng.randint(int(prompt.minimum), int(prompt.maximum))))
    if prompt.kind == "multi":
        if calm and rng.random() < 0.85:
            return ChooseMany(tuple(calm))
        others = [c.id for c in prompt.choices if not c.exclusive]
        return ChooseMany(tuple(rng.sample(others, rng.randint(1, min(2, len(others))))))
    if calm and rng.random() < 0.85:
        return Choose(calm[0])
    return Choose(rng.choice(ids))


async def simulate(db: Path, dialog, seed: int = 7, runners: int = 70) -> None:
    """Runners over the last DAYS days: most finish, some stop midway, some restart or cancel,
    some go back a step; a few come back for a second round after a result."""
    rng = Random(seed)
    first = datetime.now(UTC) - timedelta(days=DAYS)
    clock = Clock(first)
    async with SQLiteStore(db, clock=clock) as store:
        talk = Conversations(dialog, store)
        for number in range(runners):
            chat = f"tg:{9000 + number}"
            clock.moment = first + timedelta(days=(number + rng.random() / 2) * DAYS / runners)
            for _round in range(rng.choice((1, 1, 1, 2))):
                plan = rng.choices(["finish", "stop", "restart", "cancel"], [6, 2, 2, 1])[0]
                turn = await talk.begin(chat)
                answered = 0
                stop_after = rng.randint(0, 8)
                while turn.step.prompt is not None:
                    if plan != "finish" and answered == stop_after:
                        if plan == "restart":
                            turn = await talk.begin(chat, fresh=True)
                            plan = rng.choice(["finish", "stop"])
                            stop_after = rng.randint(0, 12)
                            answered = 0
                            continue
                        if plan == "cancel":
                            await store.abandon(chat)
                        break
                    clock.advance(rng.uniform(4, 90))
                    if answered and rng.random() < 0.05:
                        turn = await talk.handle(chat, Back())
                        continue
                    turn = await talk.handle(chat, pick(turn.step.prompt, rng))
                    answered += 1
                clock.advance(rng.uniform(600, 6 * 3600))


@pytest.fixture(scope="session")
def simulated(tmp_path_factory, shipped) -> Path:
    db = tmp_path_factory.mktemp("stats") / "kebas.sqlite3"
    asyncio.run(simulate(db, shipped.dialog()))
    return db


@pytest.fixture
def db(simulated, tmp_path) -> Path:
    copy = tmp_path / "kebas.sqlite3"
    shutil.copy(simulated, copy)
    return copy


# --- what SQL says ------------------------------------------------------------------------


def sql(db: Path, query: str, *params):
    connection = sqlite3.connect(db)
    try:
        return connection.execute(query, params).fetchall()
    finally:
        connection.close()


def expected(db: Path, since: date | None = None) -> dict:
    """Every number, straight from the rows (`since`: started on or after 00:00 UTC)."""
    start = since.isoformat() if since else ""
    window = "FROM sessions WHERE started_at >= ?"
    count = lambda extra="": sql(db, f"SELECT COUNT(*) {window} {extra}", start)[0][0]  # noqa: E731
    reached = dict(sql(db, f"""
        SELECT node, COUNT(DISTINCT id) FROM (
            SELECT s.id AS id, json_extract(a.value, '$.node') AS node
            FROM sessions s, json_each(s.state, '$.answers') a WHERE s.started_at >= ?1
            UNION SELECT id, node {window.replace('?', '?1')} AND status != 'finished')
        GROUP BY node""", start))
    minutes = [m for (m,) in sql(db, f"SELECT (julianday(finished_at) - julianday(started_at))"
                                     f" * 1440 {window} AND status = 'finished'", start)]
    return {
        "started": count(), "finished": count("AND status = 'finished'"),
        "abandoned": count("AND status = 'abandoned'"), "active": count("AND status = 'active'"),
        "reached": reached,
        "dropped": dict(sql(db, f"SELECT node, COUNT(*) {window} AND status != 'finished' "
                                f"GROUP BY node", start)),
        "triage": dict(sql(db, f"SELECT triage, COUNT(*) {window} AND status = 'finished' "
                               f"GROUP BY triage", start)),
        "outcomes": dict(sql(db, f"SELECT json_extract(outcome, '$.node'), COUNT(*) {window} "
                                 f"AND status = 'finished' GROUP BY 1", start)),
        "red_flag_sessions": count("AND json_array_length(state, '$.fired') > 0"),
        "red_flags": dict(sql(db, "SELECT f.value, COUNT(DISTINCT s.id) FROM sessions s, "
                                  "json_each(s.state, '$.fired') f WHERE s.started_at >= ? "
                                  "GROUP BY f.value", start)),
        "median": statistics.median(minutes) if minutes else None,
    }


async def read_usage(db: Path, shipped, since: date | None = None):
    async with SQLiteStore(db, read_only=True) as store:
        rows = await store.usage_rows()
    return usage(rows, shipped.dialog(), shipped.locales["id"], since)


def assert_matches(numbers, want: dict) -> None:
    assert (numbers.started, numbers.finished, numbers.abandoned, numbers.active) == (
        want["started"], want["finished"], want["abandoned"], want["active"])
    assert numbers.completion == pytest.approx(want["finished"] / want["started"])
    assert {step.node: step.reached for step in numbers.funnel
            if step.reached} == want["reached"]
    assert {step.node: step.dropped for step in numbers.funnel if step.dropped} == want["dropped"]
    assert {c.id: c.count for c in numbers.triage if c.count} == want["triage"]
    assert {c.id: c.count for c in numbers.outcomes} == want["outcomes"]
    assert numbers.red_flag_sessions == want["red_flag_sessions"]
    assert numbers.red_flag_rate == pytest.approx(want["red_flag_sessions"] / want["started"])
    assert {c.id: c.count for c in numbers.red_flags} == want["red_flags"]
    assert numbers.median_minutes == pytest.approx(want["median"], abs=1e-3)


# --- the numbers --------------------------------------------------------------------------


async def test_every_number_matches_the_rows_after_a_simulated_run(db, shipped):
    want = expected(db)
    assert want["finished"] and want["abandoned"] and want["active"], "a varied run"
    assert want["red_flag_sessions"] and len(want["triage"]) >= 3
    numbers = await read_usage(db, shipped)
    assert_matches(numbers, want)
    first = shipped.dialog().nodes[1].id  # after the intro
    assert numbers.funnel[0].node == first and numbers.funnel[0].reached == want["started"]
    assert [c.id for c in numbers.triage] == ["emergency", "urgent", "soon", "self_care"]


async def test_since_leaves_out_older_sessions(db, shipped):
    everything, recent = expected(db), expected(db, SINCE)
    assert 0 < recent["started"] < everything["started"]
    assert_matches(await read_usage(db, shipped, SINCE), recent)


async def test_the_funnel_follows_the_dialog_and_names_questions_in_indonesian(db, shipped):
    numbers = await read_usage(db, shipped)
    order = [node.id for node in shipped.dialog().nodes]
    positions = [order.index(step.node) for step in numbers.funnel]
    assert positions == sorted(positions), "the shipped dialog is written in asking order"
    first = numbers.funnel[0]
    assert first.label.startswith("Saat atau setelah berlari, apakah Anda")
    assert all(len(step.label) <= 60 for step in numbers.funnel)


async def test_a_question_nobody_reached_is_in_the_funnel_with_zero(db, shipped):
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM sessions WHERE state LIKE '%e4_foot%'")
    numbers = await read_usage(db, shipped)
    questions = [node.id for node in shipped.dialog().nodes if node.type not in
                 ("info", "outcome")]
    assert sorted(step.node for step in numbers.funnel) == sorted(questions)
    unreached = next(step for step in numbers.funnel if step.node == "e4_foot")
    assert (unreached.reached, unreached.dropped) == (0, 0)


async def test_nodes_of_an_older_version_fall_back_to_their_ids(db, shipped):
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE sessions SET node = 'old_question', status = 'abandoned' "
                           "WHERE id = (SELECT MIN(id) FROM sessions)")
    numbers = await read_usage(db, shipped)
    old = next(step for step in numbers.funnel if step.node == "old_question")
    assert old.label == "old_question" and old.reached == 1 and old.dropped == 1


async def test_an_empty_window_has_no_rates_rather_than_a_division_by_zero(db, shipped):
    numbers = await read_usage(db, shipped, date.today() + timedelta(days=2))
    assert numbers.empty and numbers.completion is None and numbers.red_flag_rate is None
    assert numbers.median_minutes is None and numbers.funnel == ()


async def test_the_terminal_report_is_markup_and_tables_for_the_command_to_print(db, shipped):
    since = date.today() + timedelta(days=2)
    empty = usage_tables(await read_usage(db, shipped, since), "kaki_kebas", 80)
    assert empty == [f"[bold]Kebas usage[/bold]: sessions started since {since.isoformat()} "
                     f"(UTC) of dialog kaki_kebas", f"no sessions since {since.isoformat()}"]
    shown = usage_tables(await read_usage(db, shipped), None, 80)
    assert [getattr(part, "title", None) for part in shown[1:-1]][:2] == [
        "Sessions", "Funnel (questions in dialog order)"]
    assert shown[-1].startswith("[dim]started: ")


def test_an_empty_window_says_so(db, tmp_path, capsys):
    since = (date.today() + timedelta(days=2)).isoformat()
    report = tmp_path / "empty.html"
    assert cli.main(["stats", "--db", str(db), "--since", since, "--html", str(report),
                     *CONTENT]) == 0
    assert f"no sessions since {since}" in capsys.readouterr().out
    page = report.read_text(encoding="utf-8")
    assert f"no sessions since {since}" in page and "<img" not in page


# --- kebas stats ------------------------------------------------------------------------


def cell(output: str, name: str) -> str:
    """The value next to a row name in a rich table."""
    match = re.search(rf"{re.escape(name)}\s*│\s*(\S+)", output)
    assert match, f"no row {name!r} in:\n{output}"
    return match.group(1)


def test_the_terminal_tables_show_the_numbers(db, capsys):
    want = expected(db)
    assert cli.main(["stats", "--db", str(db), *CONTENT]) == 0
    output = capsys.readouterr().out
    assert cell(output, "started") == str(want["started"])
    assert cell(output, "finished") == str(want["finished"])
    assert cell(output, "completion rate") == f"{want['finished'] / want['started']:.1%}"
    assert cell(output, "sessions with a red flag") == str(want["red_flag_sessions"])
    assert cell(output, "median time to finish (minutes)") == f"{want['median']:.1f}"
    for level, number in want["triage"].items():
        assert cell(output, level) == str(number)
    row = re.search(r"│\s*a3_saddle\s*│\s*(\d+)\s*│\s*\S+\s*│\s*(\d+)\s*│", output)
    assert row and (int(row.group(1)), int(row.group(2))) == (
        want["reached"]["a3_saddle"], want["dropped"].get("a3_saddle", 0))
    assert "tg:" not in output and "9000" not in output


def test_the_html_report_embeds_png_charts_and_the_numbers(db, tmp_path, capsys):
    want = expected(db, SINCE)
    report = tmp_path / "usage.html"
    assert cli.main(["stats", "--db", str(db), "--since", SINCE.isoformat(),
                     "--html", str(report), *CONTENT]) == 0
    assert f"wrote {report}" in capsys.readouterr().out
    page = report.read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 3, "funnel, triage and outcome charts"
    assert all(base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    assert re.search(rf"started</th><td class=\"n\">{want['started']}<", page)
    assert re.search(rf"finished</th><td class=\"n\">{want['finished']}<", page)
    assert f"since {SINCE.isoformat()}" in page and "completion rate = finished / started" in page
    assert "tg:" not in page


def test_the_html_report_is_written_even_when_the_terminal_stops_reading(db, tmp_path):
    report = tmp_path / "usage.html"
    done = subprocess.run(f"{shlex.quote(sys.executable)} -m bot stats --db {db} --html "
                          f"{report} {' '.join(CONTENT)} | head -1", shell=True, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip(), "the terminal got the first line"
    assert report.is_file() and "<img" in report.read_text(encoding="utf-8")


def test_a_missing_database_is_not_created(tmp_path, capsys):
    missing = tmp_path / "nowhere.sqlite3"
    assert cli.main(["stats", "--db", str(missing), *CONTENT]) == 1
    assert f"no database at {missing}" in capsys.readouterr().err
    assert not missing.exists()


def test_the_database_comes_from_kebas_db_by_default(db, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEBAS_DB", str(db))
    assert cli.main(["stats", *CONTENT]) == 0
    assert cell(capsys.readouterr().out, "started") == str(expected(db)["started"])


@pytest.mark.parametrize("since", ["yesterday", "2025-13-01", "20250101", "2025-1-1"])
def test_a_bad_since_is_a_usage_error(db, since, capsys):
    assert cli.main(["stats", "--db", str(db), "--since", since, *CONTENT]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


async def test_the_store_opens_read_only_and_never_writes(db):
    before = db.read_bytes()
    async with SQLiteStore(db, read_only=True) as store:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await store.remember_dialog("x", "d", 1, "{}")
    assert db.read_bytes() == before
    not_kebas = db.parent / "other.sqlite3"
    sqlite3.connect(not_kebas).close()
    not_kebas.write_bytes(b"")
    with pytest.raises(StorageError, match="not a Kebas database"):
        await SQLiteStore(not_kebas, read_only=True).open()


# --- /statistik ---------------------------------------------------------------------------


@pytest.fixture
async def bot(fake, shipped, db):
    async with running_bot(fake, shipped, db, kebas_admin_ids=[ADMIN]) as app:
        yield app


async def test_an_admin_gets_the_summary_with_the_right_counts(fake, bot, db):
    recent = (datetime.now(UTC) - timedelta(days=30)).date()
    last_30, everything = expected(db, recent), expected(db)
    admin = Runner(fake, ADMIN)
    await admin.type("/statistik", expect="Statistik pemakaian Kebas")
    text = "\n".join(m.text for m in admin.sent)
    assert f"30 hari terakhir (sejak {recent.isoformat()}, UTC)" in text
    for want in (last_30, everything):
        rate = f"{want['finished'] / want['started']:.1%}".replace(".", ",")  # Indonesian
        assert (f"Dimulai: {want['started']} · selesai: {want['finished']} ({rate}) · "
                f"dihentikan: {want['abandoned']} · masih berjalan: {want['active']}") in text
        assert f"Sesi dengan tanda bahaya: {want['red_flag_sessions']} (" in text
    assert f"Tingkat saran: DARURAT: {everything['triage']['emergency']}; " in text
    node, number = re.findall(r"Paling sering berhenti di: (\w+): (\d+)", text)[-1]
    assert everything["dropped"][node] == int(number) == max(everything["dropped"].values())
    assert "tg:9" not in text and str(ADMIN) not in text


async def test_statistik_from_a_runner_is_an_unknown_command(fake, bot):
    runner = Runner(fake, 301)
    await runner.agree()
    await runner.type("/statistik", expect="Perintah itu tidak saya kenal")
    assert not any("Statistik" in m.text or "Dimulai:" in m.text for m in runner.sent)


# --- /statistik in the admin's language, and its chart -----------------------------------

def row(status: str, node: str, answered: tuple[str, ...] = ()) -> UsageRow:
    return UsageRow("kaki_kebas", 2, status, node, None, None, answered, (),
                    datetime(2026, 12, 1, tzinfo=UTC), None)


HALF_ABANDONED = [row("abandoned", "a12_alarm"), row("active", "a12_alarm"),
                  row("active", "a12_alarm")]


@pytest.mark.parametrize(("language", "rate"), [("id", "0,0%"), ("en", "0.0%")])
def test_statistik_writes_a_rate_as_the_admins_language_does(shipped, language, rate):
    message = telegram_summary(HALF_ABANDONED, shipped.dialog(), shipped.locales[language],
                               datetime(2026, 12, 7, tzinfo=UTC))
    assert any(f"({rate})" in line.text for line in message.lines)


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_funnel_chart_speaks_the_admins_language_and_counts_whole_sessions(
        shipped, language):
    locale = shipped.locales[language]
    figure = funnel_figure(usage(HALF_ABANDONED, shipped.dialog(), locale),
                           chart_words(locale))
    axes = figure.axes[0]
    assert axes.get_title() == locale.text("stats.chart_title")
    assert [text.get_text() for text in axes.get_legend().get_texts()] == [
        locale.text("stats.chart_reached"), locale.text("stats.chart_stopped"),
        locale.text("stats.chart_waiting")]
    figure.canvas.draw()
    ticks = [tick for tick in axes.get_xticks() if tick >= 0]
    assert ticks and all(float(tick).is_integer() for tick in ticks), ticks


def test_sessions_still_in_progress_are_not_drawn_as_stopped(shipped):
    locale = shipped.locales["en"]
    numbers = usage(HALF_ABANDONED, shipped.dialog(), locale)
    figure = funnel_figure(numbers, chart_words(locale))
    bars = {container.get_label(): container for container in figure.axes[0].containers}
    first = [step.node for step in numbers.funnel].index("a12_alarm")
    assert bars[locale.text("stats.chart_stopped")][first].get_width() == 1
    assert bars[locale.text("stats.chart_waiting")][first].get_width() == 2
