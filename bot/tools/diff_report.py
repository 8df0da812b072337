"""`kebas diff`'s report: which versions were compared, then each pass's changes, each with
a shortest example path, as lines of rich markup (the command prints them)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from bot.core.i18n import Locale
from bot.core.model import TriageLevel
from bot.core.render import answer_text, short_question
from bot.tools.diff import NEW, OLD, SIDE_NAMES, DiffReport, Pass


def report_lines(report: DiffReport, names: tuple[str, str], locales: list[Locale | None],
                 limit: int) -> list[str]:
    """The report: which versions, then each pass's changes with an example."""
    old, new = report.old, report.new
    lines = [f"[bold]{old.id}[/bold]: v{old.version} ({old.content_hash[:10]}, "
             f"{escape(names[0])}) → v{new.version} ({new.content_hash[:10]}, "
             f"{escape(names[1])})"]
    if old.content_hash == new.content_hash:
        return [*lines, "the same dialog (same content hash): no answer path changes"]
    lines += _pass_lines(report, report.every_path, locales, limit,
                         "Endings, red flags and the triage they guarantee, on every answer path")
    if report.sampled.paths:
        lines += _pass_lines(report, report.sampled, locales, limit,
                             "Causes and the final triage, on a sample of answer paths")
    if report.lowered:
        lines.append("\n[bold red]Some answers now get LESS URGENT advice. Have a clinician "
                     "confirm each one before this version goes live.[/bold red]")
    return lines


def _pass_lines(report: DiffReport, run: Pass, locales: list[Locale | None], limit: int,
                title: str) -> list[str]:
    lines = [f"\n[bold]{title}[/bold]"]
    what = "sampled paths" if run is report.sampled else "answer paths"
    if not run.changes:
        return [*lines, f"no change ({run.paths:,} {what} compared)"]
    lowered = run.lowered
    lines.append(f"{_share(run.changed_paths, run.paths)} of {run.paths:,} {what} change, in "
                 f"{_ways(len(run.changes))}" + (
                     f"; [bold red]{_share(sum(c.paths for c in lowered), run.paths)} in "
                     f"{_ways(len(lowered))} get LESS URGENT advice[/bold red]" if lowered
                     else ""))
    locale = locales[NEW] or locales[OLD]
    for number, change in enumerate(run.changes[:limit], 1):
        lines.append("")
        level = (f"{_level(change.old.level, locale)} → {_level(change.new.level, locale)}"
                 if change.old.level != change.new.level
                 else f"{_level(change.new.level, locale)} (unchanged)")
        if change.less_urgent:
            head = f"[bold red]▼ LESS URGENT: {escape(level)}[/bold red]"
        elif change.more_urgent:
            head = f"[yellow]▲ more urgent: {escape(level)}[/yellow]"
        else:
            head = f"triage {escape(level)}"
        lines.append(f"{number}. {head}; {_share(change.paths, run.paths)} of the {what}")
        if change.old.node != change.new.node:
            lines.append(f"   ending: {change.old.node} → {change.new.node}")
        for part, label in (("red_flags", "red flags"), ("causes", "causes")):
            before, after = getattr(change.old, part), getattr(change.new, part)
            if before != after:
                lines.append(f"   {label}: {', '.join(before) or 'none'} → "
                             f"{', '.join(after) or 'none'}")
        lines.append("   for example:")
        for question, value, side in change.example:
            lines.append(f"     {escape(_answer_line(report, question, value, side, locales))}")
    if len(run.changes) > limit:
        lines.append(f"\n… and {len(run.changes) - limit} more ways (see --limit)")
    return lines


def _share(part: int, whole: int) -> str:
    return f"{part:,} ({part / whole:.2%})" if whole else f"{part:,}"


def _ways(count: int) -> str:
    return "1 way" if count == 1 else f"{count} ways"


def _level(level: TriageLevel, locale: Locale | None) -> str:
    key = f"triage.{level.value}.title"
    return locale.text(key) if locale is not None and key in locale.texts else level.value


def _answer_line(report: DiffReport, question: str, value: Any, side: int | None,
                 locales: list[Locale | None]) -> str:
    index = side if side is not None else (NEW if question in report.new.node_by_id else OLD)
    dialog, locale = (report.old, report.new)[index], locales[index]
    node = dialog.node_by_id[question]
    only = f" (only {SIDE_NAMES[side]})" if side is not None else (
        "" if question in report.old.node_by_id and question in report.new.node_by_id
        else f" (asked only by {SIDE_NAMES[index]})")
    if locale is None:
        return f"{question}: {value}{only}"
    return f"{question}: {short_question(node, locale)} → {answer_text(node, value, locale)}{only}"
