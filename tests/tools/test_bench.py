"""The benchmark measures what it says: same work for both bots, answers durable, rows right.

Timings themselves are the benchmark's business (bench/perf.py), not the tests'.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
import perf  # noqa: E402
from past_sessions import make_past_sessions  # noqa: E402

from bot.channels.telegram.app import HTTP_CONNECTIONS  # noqa: E402


async def test_the_floor_bot_is_asked_for_and_makes_the_same_calls_as_kebas(tmp_path):
    db = await make_past_sessions(tmp_path / "kebas.sqlite3", 30)
    kebas = await load.kebas_round(3, db, tmp_path / "kebas.log", send_rate=1000)
    floor = await load.floor_round(kebas.recipes, tmp_path / "floor.log", 1000,
                                   HTTP_CONNECTIONS)

    assert kebas.durability.ok, kebas.durability.problems
    assert kebas.durability.finished == 3
    assert kebas.measured.updates == floor.updates > 3 * 10, "every runner walked the dialog"
    assert kebas.measured.api_calls == floor.api_calls
    assert {"answerCallbackQuery", "editMessageText", "editMessageReplyMarkup",
            "sendMessage"} <= set(floor.api_calls)
    assert len(kebas.measured.latencies) == kebas.measured.updates
    assert all(latency > 0 for latency in floor.latencies)
    assert kebas.measured.cpu_seconds > 0 and floor.peak_rss > 10 * 2**20
    with sqlite3.connect(db) as connection:
        finished = connection.execute(
            "SELECT COUNT(*) FROM sessions WHERE status = 'finished'").fetchone()[0]
    assert finished == 30 + 3, "the past sessions stay; the runners' sessions were finished"

    rows = {row.what: row for row in perf.against_floor([kebas], [floor])}
    assert rows["Bot API calls per update"].met is True
    assert rows["updates per second"].cells[:2] == [f"{kebas.measured.per_second:.0f}",
                                                    f"{floor.per_second:.0f}"]
    assert perf.durability([kebas]).met is True


def test_a_missed_target_is_marked_and_fails_the_run(capsys):
    tables = {"memory": [perf.Row("1,000 past sessions", ["60.0", "1.000", "≤ 1.1"]),
                         perf.Row("100,000 past sessions", ["70.0", "1.167", "≤ 1.1"], False)]}
    perf.show(tables, "title", as_markdown=True, say=None)
    printed = capsys.readouterr().out
    assert "| 100,000 past sessions | 70.0 | 1.167 | ≤ 1.1 | ✗ missed |" in printed
    assert perf.missed_targets(tables) == ["100,000 past sessions"]


def test_a_generated_dialog_is_checked_clean_as_yaml(tmp_path):
    paths = perf.generated_content(tmp_path, 20)
    assert perf.check_seconds(paths, runs=1) > 0  # raises if kebas check found an error


async def test_the_capacity_benchmark_ramps_both_versions_and_counts_what_telegram_took():
    import argparse

    import capacity

    options = argparse.Namespace(before="HEAD", steps=[2, 4], step_seconds=3.0, warmup=1.0,
                                 think=(0.2, 0.5), seed=1, send_rate=None)
    ramps = await capacity.measure(options, say=lambda text: None)
    assert [ramp.name for ramp in ramps] == ["before", "after"]
    for ramp in ramps:
        assert [step.runners for step in ramp.steps] == [2, 4]
        for step in ramp.steps:
            assert step.answers and step.per_second > 0
            assert 1.0 <= step.requests_per_answer <= 3.5, "every answer got its reply"
            assert 0 < step.records_per_answer < step.requests_per_answer
            assert step.unanswered == 0 and step.reply_time(95) < 30
    table = capacity.table(ramps)
    assert len(table) == 2 + 4 and table[2].startswith("| before | 2 |")
    assert capacity.headline(ramps)[0].startswith("before: at most ")
