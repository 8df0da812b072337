"""Dialogs and texts that are fit to serve: loaded, checked, proven safe, and their scenarios
passing. `kebas run` starts only on such content, and a reload swaps only to such content."""

from __future__ import annotations

from pathlib import Path

from bot.content.checks import check_and_prove
from bot.content.loader import Bundle, load_bundle
from bot.content.scenarios import Unrunnable, load_scenarios, run_scenarios


def gated_bundle(paths: list[Path]) -> tuple[Bundle | None, list[str]]:
    """The bundle if it passes every gate, else None and what failed (FILE:LINE first)."""
    bundle = load_bundle(paths)
    problems, _reports = check_and_prove(bundle)
    errors = [str(problem) for problem in problems if problem.is_error]
    if errors:
        return None, errors
    scenario_folder = paths[0] / "scenarios"
    if not scenario_folder.is_dir():
        return bundle, []
    scenarios, load_problems = load_scenarios([scenario_folder])
    failures = [str(problem) for problem in load_problems if problem.is_error]
    for run in run_scenarios(bundle, scenarios):
        if isinstance(run, Unrunnable):
            failures.append(run.report())
        elif not run.passed:
            failures.append(f"{run.scenario.position}: scenario '{run.scenario.scenario.name}' "
                            f"fails: {run.failures[0]}")
    return (None, failures) if failures else (bundle, [])
