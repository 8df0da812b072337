"""`kebas check`'s look at the sign-off: what changed since a physician last signed the content.

A change never fails the check (editing is the maintainers' work), but it is said as warnings a
maintainer can act on: one at the sign-off file (runners are told "draft" again, which texts
differ, and the `kebas diff` command that compares every answer path), and one at the YAML line
of each red flag, cause, question or ending that differs from the signed-off revision, with a
level that became LESS urgent said so. The answer-path comparison itself is left to
`kebas diff`: on the shipped dialog it takes half a minute, far more than a check may.
A sign-off is also verified: the revision it names must hold content with its hash.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bot.content.checks import check_and_prove, has_errors
from bot.content.loader import Bundle, LoadedDialog, load_bundle
from bot.content.revisions import SourceProblem, content_paths
from bot.content.signoff import REVIEWED_KEY, SIGNOFF_FILE, SignOff
from bot.core.model import TriageLevel
from bot.core.problems import Position, Problem, error, warning
from bot.core.proofs import ProofReport

SHOWN_KEYS = 8  # changed text keys named in the warning; the rest are counted
AGAIN = "make the review book (kebas book) and have it signed off again (kebas signoff)"


_PARTS = {True: 'rule, question or ending', False: 'rules, questions or endings'}


def changes_since_signoff(bundle: Bundle, dialogs_folder: Path) -> list[Problem]:
    """Warnings when the content is no longer the one last signed off (none if it is, or if
    nothing was ever signed off); an error when a sign-off does not match its revision."""
    if not bundle.signoffs:
        return []
    where = Position(str(dialogs_folder / SIGNOFF_FILE))
    current = bundle.signed_off
    if current is not None:
        return _verified(current, where)
    last = bundle.signoffs[-1]
    said = (f"the content changed since {last.reviewer} signed it off on {last.date} "
            f"(content {last.hash} -> {bundle.content_hash}): runners are told it is a draft "
            f"not yet reviewed by a doctor")
    if last.revision is None:
        return [warning(where, f"{said}; the sign-off names no git revision to compare with",
                        AGAIN)]
    with ExitStack() as scratch:
        try:
            old = load_bundle(content_paths(last.revision, scratch)[0])
        except SourceProblem as exc:
            return [warning(where, f"{said}; cannot compare with the signed-off revision: "
                            f"{exc}", AGAIN)]
        changed = list(_changed_parts(old, bundle, last))
    summary = warning(where, f"{said}; {_texts_changed(old, bundle)}; "
                      f"{len(changed)} {_PARTS[len(changed) == 1]} changed "
                      f"(at their lines); every answer path compared: "
                      f"kebas diff {last.revision[:12]} .", AGAIN)
    return [summary, *changed]


def _verified(signoff: SignOff, where: Position) -> list[Problem]:
    """A sign-off naming a revision must be of that revision's content: a hash copied into
    the file by hand does not make unreviewed content "reviewed"."""
    if signoff.revision is None:
        return [warning(where, f"the sign-off by {signoff.reviewer} on {signoff.date} names no "
                        f"git revision, so it cannot be verified", AGAIN)]
    with ExitStack() as scratch:
        try:
            signed = load_bundle(content_paths(signoff.revision, scratch)[0])
        except SourceProblem as exc:
            return [warning(where, f"cannot verify the sign-off by {signoff.reviewer}: {exc}",
                            AGAIN)]
    if signed.content_hash != signoff.hash:
        return [error(where, f"the sign-off by {signoff.reviewer} on {signoff.date} names "
                      f"content {signoff.hash}, but its revision {signoff.revision[:12]} holds "
                      f"{signed.content_hash}: runners would be told unreviewed content was "
                      f"reviewed", "restore dialogs/signoff.yaml from git; only kebas signoff "
                      "writes it")]
    return []


def _texts_changed(old: Bundle, new: Bundle) -> str:
    keys = sorted({key for language in set(old.locales) | set(new.locales)
                   for key in _differing(old, new, language)})
    if not keys:
        return "no text changed"
    named = ", ".join(keys[:SHOWN_KEYS]) + (f" and {len(keys) - SHOWN_KEYS} more"
                                           if len(keys) > SHOWN_KEYS else "")
    return f"{len(keys)} {'text' if len(keys) == 1 else 'texts'} changed ({named})"


def _differing(old: Bundle, new: Bundle, language: str) -> set[str]:
    before = old.locales[language].texts if language in old.locales else {}
    after = new.locales[language].texts if language in new.locales else {}
    return {key for key in set(before) | set(after)
            if key != REVIEWED_KEY and before.get(key) != after.get(key)}


def _changed_parts(old: Bundle, new: Bundle, last: SignOff) -> Iterator[Problem]:
    """A warning at the line of each red flag, cause, node and setting that differs."""
    for loaded in new.dialogs:
        try:
            before = old.dialog(loaded.dialog.id)
        except KeyError:
            yield warning(loaded.position(), f"dialog {loaded.dialog.id} is new since the "
                          f"sign-off by {last.reviewer}", AGAIN)
            continue
        yield from _changed_items(loaded, "red flag", "red_flags", before.red_flags, last)
        yield from _changed_items(loaded, "cause", "causes", before.causes, last)
        yield from _changed_items(loaded, "node", "nodes", before.nodes, last)
        for part in ("screening", "texts", "scoring", "start"):
            if getattr(before, part) != getattr(loaded.dialog, part):
                yield warning(loaded.position(part), f"'{part}' changed since the sign-off "
                              f"by {last.reviewer}", AGAIN)


def _changed_items(loaded: LoadedDialog, kind: str, field: str, before: list[Any],
                   last: SignOff) -> Iterator[Problem]:
    old_by_id = {item.id: item for item in before}
    now = getattr(loaded.dialog, field)
    for index, item in enumerate(now):
        where = loaded.position(field, index)
        was = old_by_id.get(item.id)
        if was is None:
            yield warning(where, f"{kind} {item.id} is new since the sign-off by "
                          f"{last.reviewer}", AGAIN)
        elif was != item:
            yield warning(where, f"{kind} {item.id} changed since the sign-off by "
                          f"{last.reviewer}{_level_change(was, item)}", AGAIN)
    for gone in sorted(set(old_by_id) - {item.id for item in now}):
        yield warning(loaded.position(field), f"{kind} {gone} was removed since the sign-off "
                      f"by {last.reviewer}", AGAIN)


def _level_change(was: Any, now: Any) -> str:
    before, after = getattr(was, "level", None), getattr(now, "level", None)
    if not isinstance(before, TriageLevel) or not isinstance(after, TriageLevel) \
            or before is after:
        return ""
    lower = " (LESS urgent)" if after.rank < before.rank else ""
    return f": level {before.value} -> {after.value}{lower}"


# --- `kebas check` as a whole ---------------------------------------------------------------


def check_content(paths: list[Path]
                  ) -> tuple[Bundle, list[Problem], list[tuple[LoadedDialog, ProofReport]]]:
    """`kebas check`: the content under `paths` loaded, every problem in it (what changed
    since the last sign-off too, once there are no errors) and each dialog's proof report."""
    bundle = load_bundle(paths)
    problems, reports = check_and_prove(bundle)
    if not has_errors(problems):
        problems += changes_since_signoff(bundle, paths[0])
    return bundle, problems, reports


def proof_verdict(loaded: LoadedDialog, report: ProofReport) -> str:
    """One line: whether the safety proofs (rules a-e) hold, over how many paths."""
    verdict = "hold" if report.holds else "FAIL"
    return (f"safety proofs a-e {verdict} for {loaded.dialog.id} v{loaded.dialog.version}: "
            f"{report.paths:,} distinct answer paths ({report.states:,} states explored); "
            f"longest path {report.longest_questions} questions")
