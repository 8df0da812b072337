"""`kebas check`'s look at the sign-off: what changed since a physician last signed the content.

A change never fails the check (editing is the maintainers' work), but it is a warning that
says what runners will notice: they are told "draft" again, which texts differ, and on how
many answer paths the ending, red flags or triage differ (`kebas diff` against the revision
the sign-off recorded, every path, exactly).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from bot.behaviour_diff import DiffTooLarge, SourceProblem, compare, content_paths
from bot.loader import Bundle, load_bundle
from bot.problems import Position, Problem, warning
from bot.signoff import REVIEWED_KEY, SIGNOFF_FILE, SignOff

SHOWN_KEYS = 8  # changed text keys named in the warning; the rest are counted


def changes_since_signoff(bundle: Bundle, dialogs_folder: Path) -> list[Problem]:
    """A warning when the content is no longer the one last signed off (none if it is, or
    if nothing was ever signed off)."""
    if not bundle.signoffs or bundle.signed_off is not None:
        return []
    last = bundle.signoffs[-1]
    where = Position(str(dialogs_folder / SIGNOFF_FILE))
    said = (f"the content changed since {last.reviewer} signed it off on {last.date} "
            f"(content {last.hash} -> {bundle.content_hash}): runners are told it is a draft "
            f"not yet reviewed by a doctor")
    hint = "make the review book (kebas book) and have it signed off again (kebas signoff)"
    if last.revision is None:
        return [warning(where, f"{said}; the sign-off names no git revision to compare with",
                        hint)]
    with ExitStack() as scratch:
        try:
            old = load_bundle(content_paths(last.revision, scratch)[0])
        except SourceProblem as exc:
            return [warning(where, f"{said}; cannot compare with the signed-off revision: {exc}",
                            hint)]
        details = [_texts_changed(old, bundle)] + _paths_changed(old, bundle, last)
    return [warning(where, "; ".join([said, *filter(None, details)]), hint)]


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


def _paths_changed(old: Bundle, new: Bundle, last: SignOff) -> list[str]:
    said = []
    for loaded in new.dialogs:
        dialog = loaded.dialog
        try:
            before = old.dialog(dialog.id)
        except KeyError:
            said.append(f"dialog {dialog.id} is new since the sign-off")
            continue
        try:
            every_path = compare(before, dialog, samples=0).every_path
        except DiffTooLarge:
            said.append(f"{dialog.id}: too many answer paths to compare here")
            continue
        if every_path.changes:
            lowered = sum(change.paths for change in every_path.lowered)
            said.append(f"{dialog.id}: {every_path.changed_paths:,} of {every_path.paths:,} "
                        f"answer paths end differently (ending, red flags or triage"
                        + (f"; {lowered:,} LESS urgent" if lowered else "")
                        + f"): see kebas diff {last.revision[:12]} .")
    return said
