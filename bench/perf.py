"""The performance benchmark: Kebas against the python-telegram-bot floor, memory, `kebas check`.

Run, from a fresh clone:
    python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python bench/perf.py

1. Kebas and the floor bot (`bench/floor_bot.py`) take turns, A B A B ..., each against U
   runners walking at once (`bench/load.py`); the table gives the medians and their ratios.
   This machine may be shared and noisy: the ratios are what count.
2. Kebas again with 1 000 and with 100 000 past sessions in its database: its peak RSS.
3. `kebas check` (with its safety proofs) on the shipped dialog and on generated dialogs of up to
   300 questions, as the command a maintainer runs: the median wall time of 5 runs.

Telegram's 30 messages a second would cap both bots alike and hide what each costs, so both
run with the same outgoing limiter set out of the way (--send-rate); docs/performance.md
explains the real limits. Exits 1 when a target is missed; --markdown prints the tables for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import telegram
import yaml
from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from load import ROOT, KebasRound, Measured, floor_round, kebas_round  # noqa: E402
from past_sessions import make_past_sessions  # noqa: E402

from bot.channels.telegram.app import HTTP_CONNECTIONS  # noqa: E402
from bot.content.loader import load_bundle  # noqa: E402
from bot.core.proofs import prove  # noqa: E402

from support.generated import GENERATED_TEXT_KEYS, generated_dialog_data  # noqa: E402

THROUGHPUT_AT_LEAST = 0.9
P99_AT_MOST = 1.2
CPU_AT_MOST = 1.3
RSS_GROWTH_AT_MOST = 1.10
CHECK_SECONDS_BELOW = 1.0
CHECK_RUNS = 5
GENERATED_SIZES = (50, 100, 200, 300)


@dataclass
class Row:
    what: str
    cells: list[str]
    met: bool | None = None  # None: reported, no target


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU") \
        if Path("/proc/cpuinfo").exists() else platform.processor()
    memory = psutil.virtual_memory().total / 2**30
    return (f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, python-telegram-bot "
            f"{telegram.__version__}, SQLite {sqlite3.sqlite_version}")


# --- 1. Kebas against the floor -----------------------------------------------------------


async def take_turns(runners: int, rounds: int, send_rate: float, past: Path, workdir: Path,
                     say: Console) -> tuple[list[KebasRound], list[Measured]]:
    kebas: list[KebasRound] = []
    floor: list[Measured] = []
    for number in range(1, rounds + 1):
        db = workdir / f"kebas-{number}.sqlite3"
        shutil.copy(past, db)
        kebas.append(await kebas_round(runners, db, workdir / "kebas.log", send_rate,
                                       seed=number))
        floor.append(await floor_round(kebas[-1].recipes, workdir / "floor.log", send_rate,
                                       HTTP_CONNECTIONS))
        db.unlink()
        say.print(f"round {number}/{rounds}: kebas {_brief(kebas[-1].measured)} · "
                  f"floor {_brief(floor[-1])}")
    return kebas, floor


def _brief(measured: Measured) -> str:
    return (f"{measured.per_second:.0f} updates/s, p99 {measured.latency(99) * 1000:.0f} ms, "
            f"{measured.cpu_per_update * 1000:.2f} ms CPU/update")


def against_floor(kebas: list[KebasRound], floor: list[Measured]) -> list[Row]:
    ours = [round_.measured for round_ in kebas]

    def row(what: str, value, scale: float, digits: int, target: str = "",
            test=None) -> Row:
        mine = statistics.median([value(m) for m in ours])
        theirs = statistics.median([value(m) for m in floor])
        ratio = mine / theirs
        return Row(what, [f"{mine * scale:.{digits}f}", f"{theirs * scale:.{digits}f}",
                          f"{ratio:.2f}", target], None if test is None else test(ratio))

    same_calls = all(k.api_calls == f.api_calls for k, f in zip(ours, floor))
    return [
        row("updates per second", lambda m: m.per_second, 1, 0,
            f"≥ {THROUGHPUT_AT_LEAST}", lambda r: r >= THROUGHPUT_AT_LEAST),
        row("reply latency p50 (ms)", lambda m: m.latency(50), 1000, 0),
        row("reply latency p95 (ms)", lambda m: m.latency(95), 1000, 0),
        row("reply latency p99 (ms)", lambda m: m.latency(99), 1000, 0,
            f"≤ {P99_AT_MOST}", lambda r: r <= P99_AT_MOST),
        row("CPU per update (ms)", lambda m: m.cpu_per_update, 1000, 2,
            f"≤ {CPU_AT_MOST}", lambda r: r <= CPU_AT_MOST),
        row("peak RSS (MB)", lambda m: m.peak_rss, 1e-6, 0),
        Row("Bot API calls per update", [f"{_calls_per_update(ours[0])}",
                                         f"{_calls_per_update(floor[0])}",
                                         "same" if same_calls else "DIFFER", "the same"],
            same_calls),
    ]


def _calls_per_update(measured: Measured) -> str:
    return f"{sum(measured.api_calls.values()) / measured.updates:.2f}"


def durability(kebas: list[KebasRound]) -> Row:
    """Every answer acknowledged to a runner was in the database, once, in its session."""
    reports = [round_.durability for round_ in kebas]
    answers = sum(report.acknowledged for report in reports)
    problems = sum(len(report.problems) for report in reports)
    finished = sum(report.finished for report in reports)
    runners = sum(report.runners for report in reports)
    ok = all(report.ok for report in reports)
    return Row("answers durable before their reply",
               [f"{answers} answers acknowledged, {problems} lost, doubled or crossed; "
                f"{finished}/{runners} runners finished"], ok)


# --- 2. memory with many past sessions -----------------------------------------------------


async def memory(runners: int, send_rate: float, small: tuple[int, Path],
                 large: tuple[int, Path], workdir: Path) -> list[Row]:
    rows, baseline = [], None
    for count, template in (small, large):
        db = workdir / f"memory-{count}.sqlite3"
        shutil.copy(template, db)
        measured = (await kebas_round(runners, db, workdir / "kebas.log", send_rate)).measured
        db.unlink()
        baseline = baseline or measured.peak_rss
        growth = measured.peak_rss / baseline
        rows.append(Row(f"{count:,} past sessions", [
            f"{measured.peak_rss / 1e6:.1f}", f"{growth:.3f}", f"≤ {RSS_GROWTH_AT_MOST}"],
            None if count == small[0] else growth <= RSS_GROWTH_AT_MOST))
    return rows


# --- 3. kebas check ------------------------------------------------------------------------


def check_seconds(paths: list[Path], runs: int = CHECK_RUNS) -> float:
    """The median wall time of `kebas check PATHS`, a new process each time."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bot", "check", *map(str, paths)],
                              cwd=ROOT, capture_output=True, text=True)
        timings.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"kebas check failed on {paths}:\n{done.stdout}{done.stderr}")
    return statistics.median(timings)


def generated_content(workdir: Path, questions: int) -> list[Path]:
    """A generated dialog of `questions` questions as YAML, with the shipped texts plus its own."""
    folder = workdir / f"generated-{questions}"
    (folder / "dialogs").mkdir(parents=True)
    (folder / "locales").mkdir()
    (folder / "dialogs" / "generated.yaml").write_text(
        yaml.safe_dump(generated_dialog_data(questions), sort_keys=False), encoding="utf-8")
    own = {"t": {key.split(".", 1)[1]: f"Teks {key}" for key in GENERATED_TEXT_KEYS}}
    for shipped in sorted((ROOT / "locales").glob("*.yaml")):
        (folder / "locales" / shipped.name).write_text(
            shipped.read_text(encoding="utf-8") + "\n" + yaml.safe_dump(own), encoding="utf-8")
    return [folder / "dialogs", folder / "locales"]


def check_timings(workdir: Path) -> list[Row]:
    content = [ROOT / "dialogs", ROOT / "locales"]
    shipped = check_seconds(content)
    dialog = load_bundle(content).dialog()
    rows = [Row(f"shipped {dialog.id} v{dialog.version}",
                [str(prove(dialog).longest_questions), f"{shipped:.2f}",
                 f"< {CHECK_SECONDS_BELOW} s"], shipped < CHECK_SECONDS_BELOW)]
    for questions in GENERATED_SIZES:
        seconds = check_seconds(generated_content(workdir, questions))
        rows.append(Row(f"generated, {questions} questions",
                        [str(questions), f"{seconds:.2f}", ""]))
    return rows


# --- the report ----------------------------------------------------------------------------


SECTIONS = {
    "floor": ("Kebas against the floor", ["", "Kebas", "floor", "Kebas/floor", "target"]),
    "memory": ("Peak RSS with past sessions in the database",
               ["database", "peak RSS (MB)", "vs the first", "target"]),
    "check": ("kebas check, safety proofs included (a new process each time)",
              ["dialog", "longest path (questions)", "seconds (median of 5)", "target"]),
}


def _mark(met: bool | None) -> str:
    return "" if met is None else "✓" if met else "✗ missed"


def missed_targets(tables: dict[str, list[Row]]) -> list[str]:
    return [row.what for rows in tables.values() for row in rows if row.met is False]


def show(tables: dict[str, list[Row]], title: str, as_markdown: bool, say: Console) -> None:
    if not as_markdown:
        say.print(title)
    else:
        print(f"{title}\n")
    for key, rows in tables.items():
        name, headers = SECTIONS.get(key, (key, [""]))
        width = max(len(headers), 1 + max(len(row.cells) for row in rows))
        headers = headers + [""] * (width - len(headers)) + ["met"]
        lines = [[row.what, *row.cells, *[""] * (width - 1 - len(row.cells)), _mark(row.met)]
                 for row in rows]
        if as_markdown:
            print(f"**{name}**\n")
            for cells in [headers, ["---"] * len(headers), *lines]:
                print("| " + " | ".join(cells) + " |")
            print()
            continue
        table = Table(*headers, title=name, title_justify="left")
        for cells in lines:
            table.add_row(*cells)
        say.print(table)


async def measure_all(options: argparse.Namespace, workdir: Path, say: Console
                      ) -> dict[str, list[Row]]:
    say.print(f"past sessions: writing {options.past[0]:,} and {options.past[1]:,} ...")
    small = (options.past[0], await make_past_sessions(workdir / "past-small.sqlite3",
                                                       options.past[0]))
    large = (options.past[1], await make_past_sessions(workdir / "past-large.sqlite3",
                                                       options.past[1]))
    kebas, floor = await take_turns(options.runners, options.rounds, options.send_rate,
                                    small[1], workdir, say)
    tables = {"floor": against_floor(kebas, floor) + [durability(kebas)]}
    say.print("memory: Kebas with each database ...")
    tables["memory"] = await memory(options.runners, options.send_rate, small, large, workdir)
    say.print("kebas check ...")
    tables["check"] = check_timings(workdir)
    return tables


async def profiled(options: argparse.Namespace, workdir: Path) -> Measured:
    db = await make_past_sessions(workdir / "past.sqlite3", options.past[0])
    return (await kebas_round(options.runners, db, workdir / "kebas.log", options.send_rate,
                              profile=options.profile.resolve())).measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runners", type=int, default=200, metavar="U",
                        help="runners walking the dialog at once (default 200)")
    parser.add_argument("--rounds", type=int, default=3, metavar="N",
                        help="turns each bot takes, alternating (default 3)")
    parser.add_argument("--past", type=int, nargs=2, default=[1000, 100_000],
                        metavar=("SMALL", "LARGE"),
                        help="past sessions in the database for the memory comparison; the "
                             "first is also in the database of every round")
    parser.add_argument("--send-rate", type=float, default=1_000_000, metavar="PER_SECOND",
                        help="both bots' outgoing limit (default: out of the way)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--profile", type=Path, metavar="HTML",
                        help="instead: one Kebas round under pyinstrument (pip install -e "
                             "'.[profile]'), its report written to HTML")
    options = parser.parse_args()
    say = Console(stderr=options.markdown)
    workdir = Path(tempfile.mkdtemp(prefix="kebas-perf-"))
    try:
        if options.profile:
            measured = asyncio.run(profiled(options, workdir))
            say.print(f"kebas {_brief(measured)}; profile written to {options.profile}")
            return 0
        started = time.monotonic()
        tables = asyncio.run(measure_all(options, workdir, say))
        title = (f"{options.runners} runners at once, {options.rounds} rounds each "
                 f"(medians), {time.monotonic() - started:.0f} s in all. {machine()}")
        show(tables, title, options.markdown, say)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    missed = missed_targets(tables)
    if missed:
        say.print(f"targets missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
