"""`kebas check`, `scenarios`, `signoff` and `schema`: the commands of whoever writes the
dialog, from checking it to recording that a physician reviewed it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from bot.cli.shared import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    complain,
    given_paths,
    load_usable,
    put_text,
)
from bot.content.checks import has_errors
from bot.content.loader import load_bundle
from bot.core.i18n import pick_language
from bot.core.model import dialog_json_schema


def cmd_check(args: argparse.Namespace) -> int:
    """Every problem in the content, then the safety proofs; exit 1 when one is an error."""
    from bot.content.signoff_check import check_content, proof_verdict
    bundle, problems, reports = check_content(given_paths(args.paths))
    for problem in problems:
        print(problem)
    for loaded, report in reports:
        print(proof_verdict(loaded, report))
    errors = sum(problem.is_error for problem in problems)
    warnings = len(problems) - errors
    dialogs = ", ".join(f"{d.dialog.id} v{d.dialog.version}" for d in bundle.dialogs) or "none"
    print(f"{len(bundle.files)} files checked (dialogs: {dialogs}; languages: "
          f"{', '.join(sorted(bundle.locales)) or 'none'}): {errors} errors, {warnings} warnings")
    return EXIT_PROBLEMS if has_errors(problems) else EXIT_OK


def cmd_scenarios(args: argparse.Namespace) -> int:
    """Run the maintainers' scenarios, show the failures and what they cover."""
    from bot.content.scenarios import Unrunnable, run_suite
    content = given_paths(None)
    bundle = load_usable(content)
    if bundle is None:
        return EXIT_PROBLEMS
    suite = run_suite(bundle, [Path(value) for value in args.files] or [content[0] / "scenarios"])
    for problem in suite.problems:
        print(problem)
    if suite.unreadable:
        return EXIT_PROBLEMS
    for run in suite.failed:
        print(run.report())
        if not isinstance(run, Unrunnable):
            print()
    failed = len(suite.failed)
    print(f"{len(suite.runs)} scenarios: {len(suite.runs) - failed} passed, {failed} failed")
    for dialog_id, covered in suite.coverage.items():
        print(f"coverage of {dialog_id} by its {len(suite.results[dialog_id])} scenarios:")
        for line in covered.lines():
            print(f"  {line}")
    return EXIT_PROBLEMS if failed else EXIT_OK


def cmd_signoff(args: argparse.Namespace) -> int:
    """Record that a physician reviewed exactly this content (the review book's hash)."""
    from bot.content import signoff
    from bot.content.gate import gated_bundle
    paths = given_paths(args.paths)
    try:
        when = signoff.valid_date(args.date) if args.date else date.today().isoformat()
    except ValueError as exc:
        complain(f"--date: {exc}")
        return EXIT_USAGE
    if when > date.today().isoformat():
        complain(f"--date {when} is in the future; give the day of the review")
        return EXIT_USAGE
    reviewer, registration = args.reviewer.strip(), args.registration.strip()
    if not reviewer or not registration:
        complain("--reviewer and --registration must name the physician and their STR or SIP "
                 "number")
        return EXIT_USAGE
    bundle, failures = gated_bundle(paths)
    if bundle is None:
        for failure in failures:
            print(failure, file=sys.stderr)
        complain("a sign-off is for content that passes 'kebas check' and every scenario "
                 "('kebas scenarios'); nothing was recorded")
        return EXIT_PROBLEMS
    revision = committed_revision(paths)
    if revision is None and in_git(paths[0]):
        complain("the content has changes that are not committed to git; commit them first, so "
                 "that the sign-off names the revision that holds exactly this content (kebas "
                 "check verifies it, and shows what changes after it)")
        return EXIT_PROBLEMS
    entry = signoff.SignOff(bundle.content_hash, ", ".join(
        f"{loaded.dialog.id} v{loaded.dialog.version}" for loaded in bundle.dialogs),
        reviewer, registration, when, revision)
    try:
        written = signoff.record(paths[0], entry)
    except (OSError, ValueError) as exc:
        complain(f"cannot record the sign-off in {paths[0] / signoff.SIGNOFF_FILE}: "
                 f"{getattr(exc, 'strerror', None) or exc}")
        return EXIT_PROBLEMS
    print(f"signed off: {entry.dialog}, content {entry.hash}, by {reviewer} ({registration}) "
          f"on {when}; recorded in {written}")
    status = load_bundle(paths).locales[pick_language(None, bundle.locales)].text(
        signoff.REVIEWED_KEY)
    print(f"runners now read: \"{status}\" (until the content changes)")
    if revision is None:
        print("note: the content is not in a git repository, so 'kebas check' can neither "
              "verify this sign-off nor show what changes after it", file=sys.stderr)
    return EXIT_OK


def _git(folder: Path, *words: str) -> str | None:
    """What a git command prints, or None when git is missing or the command fails."""
    try:
        done = subprocess.run(["git", "-C", str(folder), *words], capture_output=True,
                              text=True, check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def in_git(folder: Path) -> bool:
    return _git(folder, "rev-parse", "--is-inside-work-tree") == "true"


def committed_revision(paths: list[Path]) -> str | None:
    """The git commit that holds exactly these content folders, or None (no git, not a
    repository, or uncommitted changes; the sign-off file itself does not count)."""
    from bot.content.signoff import SIGNOFF_FILE
    changes = _git(paths[0], "status", "--porcelain", "--",
                   *map(str, (path.resolve() for path in paths)),
                   f":(exclude){(paths[0] / SIGNOFF_FILE).resolve()}")
    return _git(paths[0], "rev-parse", "HEAD") if changes == "" else None


def cmd_schema(args: argparse.Namespace) -> int:
    """The JSON Schema of the dialog format, for editors that complete and check YAML."""
    return put_text(args.output,
                    json.dumps(dialog_json_schema(), indent=2, ensure_ascii=False) + "\n")
