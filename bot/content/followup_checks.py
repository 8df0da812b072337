"""`kebas check` for follow-up check-ins (issue 18): the copies a check-in makes stay copies.

A check-in dialog (`follows:`) asks the red-flag screening of the dialog it follows again, as
copies of its nodes and red flags, so that a runner who is worse meets the same rules. These
checks make that a checked fact rather than a promise: the two dialogs name each other; every
screening question is there; a node or red flag with the same id is equal to its original
(except where it goes next, and the emergency ending it stops at); every red flag that reads
only answers the check-in asks is copied; and a check-in offers no check-in of its own.
"""

from __future__ import annotations

from typing import Any

from bot.content.loader import Bundle, LoadedDialog
from bot.core.conditions import facts_read
from bot.core.graph import facts_set_by
from bot.core.model import Dialog
from bot.core.problems import Position, Problem, error

NODE_MAY_DIFFER = frozenset({"next", "branches", "note"})  # where a copied question leads
FLAG_MAY_DIFFER = frozenset({"stop_at", "note"})           # the check-in's own ending
_ABSENT = object()
Path = tuple[str | int, ...]


def check_followups(bundle: Bundle) -> list[Problem]:
    """Every follow-up offer and every check-in in the bundle, checked against its partner."""
    by_id = {loaded.dialog.id: loaded for loaded in bundle.dialogs}
    partner_may_be_unloaded = bool(bundle.unloaded_dialogs)  # its own errors come first
    problems: list[Problem] = []
    for loaded in bundle.dialogs:
        dialog = loaded.dialog
        if dialog.followup is not None:
            checkin = by_id.get(dialog.followup.dialog)
            if checkin is None and not partner_may_be_unloaded:
                problems.append(error(
                    loaded.position("followup", "dialog"),
                    f"'{dialog.followup.dialog}' is not a dialog",
                    f"name one of: {', '.join(by_id)}; or add the check-in dialog, with "
                    f"'follows: {dialog.id}'"))
            elif checkin is not None and checkin.dialog.follows != dialog.id:
                problems.append(_not_following(loaded, checkin))
        if dialog.follows is not None:
            followed = by_id.get(dialog.follows)
            if followed is None and not partner_may_be_unloaded:
                problems.append(error(loaded.position("follows"),
                                      f"'{dialog.follows}' is not a dialog",
                                      f"name the dialog this check-in follows up, one of: "
                                      f"{', '.join(by_id)}"))
            problems.extend(check_checkin(loaded, followed))
    return problems


def _not_following(offering: LoadedDialog, checkin: LoadedDialog) -> Problem:
    named = checkin.dialog.follows
    has = f"it follows '{named}'" if named is not None else "it has no 'follows:'"
    return error(offering.position("followup", "dialog"),
                 f"'{checkin.dialog.id}' is not a check-in of this dialog ({has})",
                 f"name this dialog's check-in here, or write 'follows: {offering.dialog.id}' "
                 f"in {checkin.source.file}")


def check_checkin(checkin: LoadedDialog, followed: LoadedDialog | None) -> list[Problem]:
    """One check-in against the dialog it follows (None: that one is missing)."""
    dialog = checkin.dialog
    problems = []
    if dialog.followup is not None:
        problems.append(error(checkin.position("followup"), "a check-in cannot offer a "
                              "check-in of its own", f"remove 'followup:'; '{dialog.follows}' "
                              "offers this one"))
    if followed is None:
        return problems
    original = followed.dialog
    if original.followup is None or original.followup.dialog != dialog.id:
        problems.append(error(checkin.position("follows"), f"'{original.id}' does not offer "
                              f"this check-in", f"add 'followup: {{dialog: {dialog.id}, days: "
                              f"{{soon: 3, self_care: 3}}}}' to {followed.source.file}"))
    for node_id in original.screening:
        if node_id not in dialog.node_by_id:
            index = next(i for i, n in enumerate(original.nodes) if n.id == node_id)
            problems.append(error(
                checkin.position("follows"), f"the check-in does not ask '{node_id}', a "
                f"screening question of '{original.id}'",
                f"copy node '{node_id}' from {_at(followed, 'nodes', index)}: a runner who "
                "is worse must meet every red-flag question again"))
    originals = {node.id: i for i, node in enumerate(original.nodes)}
    for i, node in enumerate(dialog.nodes):
        if node.id in originals:
            problems.extend(_compare(checkin, ("nodes", i), node, followed,
                                     ("nodes", originals[node.id]), NODE_MAY_DIFFER, "node"))
    problems.extend(_check_flags(checkin, followed))
    return problems


def _check_flags(checkin: LoadedDialog, followed: LoadedDialog) -> list[Problem]:
    dialog, original = checkin.dialog, followed.dialog
    asked: set[str] = set().union(*(facts_set_by(node) for node in dialog.nodes))
    copies = {flag.id: i for i, flag in enumerate(dialog.red_flags)}
    problems = []
    for j, flag in enumerate(original.red_flags):
        if flag.id in copies:
            i = copies[flag.id]
            problems.extend(_compare(checkin, ("red_flags", i), dialog.red_flags[i], followed,
                                     ("red_flags", j), FLAG_MAY_DIFFER, "red flag"))
        elif facts_read(flag.when) <= asked:
            where = ("red_flags",) if dialog.red_flags else ("follows",)
            problems.append(error(
                checkin.position(*where), f"red flag '{flag.id}' of '{original.id}' reads "
                f"only answers this check-in asks, but is not copied here",
                f"copy it from {_at(followed, 'red_flags', j)} ('stop_at' names this "
                "dialog's own emergency ending)"))
    return problems


def _compare(copy: LoadedDialog, copy_path: Path, item: Any, followed: LoadedDialog,
             original_path: Path, may_differ: frozenset[str], label: str) -> list[Problem]:
    theirs = _item(followed.dialog, original_path).model_dump(
        mode="json", by_alias=True, exclude=set(may_differ))
    ours = item.model_dump(mode="json", by_alias=True, exclude=set(may_differ))
    found = first_difference(ours, theirs)
    if found is None:
        return []
    path, mine, original_value = found
    allowed = " and ".join(f"'{name}'" for name in sorted(may_differ - {"note"}))
    return [error(copy.position(*copy_path, *path),
                  f"{label} '{item.id}' is a copy from '{followed.dialog.id}' but differs in "
                  f"'{_dotted(path)}': {_show(mine)} here, {_show(original_value)} at "
                  f"{_at(followed, *original_path, *path)}",
                  f"make it equal to the original again (only {allowed} may differ), or give "
                  f"it an id of its own if it is meant to differ")]


def _item(dialog: Dialog, path: Path) -> Any:
    kind, index = path
    return dialog.nodes[int(index)] if kind == "nodes" else dialog.red_flags[int(index)]


def first_difference(ours: Any, theirs: Any, path: Path = ()
                     ) -> tuple[Path, Any, Any] | None:
    """The first place where two dumped models differ, as (path, ours, theirs)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in [*theirs, *(key for key in ours if key not in theirs)]:
            found = first_difference(ours.get(key, _ABSENT), theirs.get(key, _ABSENT),
                                     path + (key,))
            if found is not None:
                return found
        return None
    if isinstance(ours, list) and isinstance(theirs, list):
        for index in range(max(len(ours), len(theirs))):
            found = first_difference(ours[index] if index < len(ours) else _ABSENT,
                                     theirs[index] if index < len(theirs) else _ABSENT,
                                     path + (index,))
            if found is not None:
                return found
        return None
    same = type(ours) is type(theirs) and ours == theirs  # true is not 1
    return None if same else (path, ours, theirs)


def _dotted(path: Path) -> str:
    return "".join(f"[{part + 1}]" if isinstance(part, int) else f".{part}"
                   for part in path).lstrip(".") or "type"


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "nothing"
    if isinstance(value, dict):
        return f"{{{', '.join(f'{key}: {_show(item)}' for key, item in value.items())}}}"
    if isinstance(value, list):
        return f"[{', '.join(_show(item) for item in value)}]"
    return repr(value)


def _at(loaded: LoadedDialog, *path: str | int) -> str:
    position: Position = loaded.position(*path)
    return f"{position.file}:{position.line}" if position.line > 0 else position.file

