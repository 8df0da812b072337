"""Dialogs and texts that are fit to serve: loaded, checked, proven safe, and their scenarios
passing. `kebas run` starts only on such content, and a reload swaps only to such content."""

from __future__ import annotations

from pathlib import Path

from bot.checks import check_and_prove
from bot.loader import Bundle, load_bundle
from bot.scenarios import load_scenarios, run_scenario


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
    for loaded in scenarios:
        scenario = loaded.scenario
        try:
            dialog = bundle.dialog(scenario.dialog)
        except KeyError:
            failures.append(f"{loaded.position}: scenario '{scenario.name}' names the unknown "
                            f"dialog '{scenario.dialog}'")
            continue
        locale = bundle.locales.get(scenario.language)
        if locale is None:
            failures.append(f"{loaded.position}: no locale '{scenario.language}'")
            continue
        result = run_scenario(dialog, locale, loaded)
        if not result.passed:
            failures.append(f"{loaded.position}: scenario '{scenario.name}' fails: "
                            f"{result.failures[0]}")
    return (None, failures) if failures else (bundle, [])
