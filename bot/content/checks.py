"""`kebas check`: everything that can be wrong in dialogs and locales, found before a runner does.

Schema mistakes (unknown keys, wrong types, YAML syntax) come from the loader; this module adds
the checks that need the whole picture: ids, transitions, reachability, loops, conditions,
texts in every language, and Telegram's button limit. Each check is a function that returns the
Problems it found, each pointing at the YAML line to fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import PurePath
from typing import Any

from bot.content.followup_checks import check_followups
from bot.content.loader import Bundle, LoadedDialog
from bot.content.option_labels import check_option_labels
from bot.content.summary_checks import check_summary
from bot.content.yamlsource import PathKey
from bot.core import buttons, graph, proofs
from bot.core.conditions import fact_tests, test_values
from bot.core.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    TEXT_LIMITS,
    UI_TEXTS,
    VARS_PREFIX,
    Locale,
    command_menu,
    command_names,
    placeholders,
)
from bot.core.model import (
    Condition,
    MultiQuestion,
    NumberQuestion,
    OutcomeNode,
    Range,
    TriageLevel,
    dialog_text_keys,
    is_question,
    options_of,
)
from bot.core.problems import Position, Problem, error, sort_problems, warning

TELEGRAM_TEXT_LIMIT = 4096
PHONE_TEXT_AIM = 700  # characters: what reads comfortably on a phone screen
COMMAND_MENTION = re.compile(r"(?<![\w/])/([a-z0-9_]+)")  # "/hapus", not "27/2022"

DialogCheck = Callable[[LoadedDialog], list[Problem]]


def check_bundle(bundle: Bundle, code_texts: Iterable[str] = UI_TEXTS) -> list[Problem]:
    """All problems, loader's included, sorted by file and line.

    `code_texts` are the keys this version of Kebas shows itself; `kebas diff` passes none,
    because an older dialog is compared as it was, not against today's code.
    """
    problems = list(bundle.problems)
    for loaded in bundle.dialogs:
        for check in DIALOG_CHECKS:
            problems.extend(check(loaded))
        problems.extend(check_texts_exist(loaded, bundle.locales))
    problems.extend(check_dialog_ids_unique(bundle))
    problems.extend(check_followups(bundle))
    problems.extend(check_locales(bundle, code_texts))
    problems.extend(check_option_labels(bundle))
    if code_texts:  # today's code, and so today's command menus
        problems.extend(check_command_names(bundle.locales))
    return sort_problems(problems)


def check_and_prove(bundle: Bundle, code_texts: Iterable[str] = UI_TEXTS
                    ) -> tuple[list[Problem], list[tuple[LoadedDialog, proofs.ProofReport]]]:
    """`kebas check`: the checks, then, when they pass, the safety proofs over every path."""
    problems = check_bundle(bundle, code_texts)
    if has_errors(problems):
        return problems, []
    reports = []
    for loaded in bundle.dialogs:
        try:
            report = proofs.prove(loaded.dialog)
        except proofs.ProofTooLarge as exc:
            problems.append(error(loaded.position("nodes"), f"the dialog has more than "
                                  f"{exc.args[0]} distinct situations; the safety proofs "
                                  f"cannot cover it", "split it, or make fewer answers "
                                  "matter to later conditions"))
            continue
        reports.append((loaded, report))
        problems.extend(proof_problems(loaded, report))
    return sort_problems(problems), reports


def proof_problems(loaded: LoadedDialog, report: proofs.ProofReport) -> list[Problem]:
    dialog = loaded.dialog
    problems = []
    if not report.screening_declared:
        problems.append(warning(loaded.position("start"), "no 'screening:' questions are "
                                "declared, so 'screening comes first' is not proven",
                                "list the red-flag screening questions under 'screening:'"))
    for violation in report.violations:
        kind, ident = violation.where
        if kind == "red_flag":
            index = next(i for i, f in enumerate(dialog.red_flags) if f.id == ident)
            position = loaded.position("red_flags", index, "id")
        else:
            index = next(i for i, n in enumerate(dialog.nodes) if n.id == ident)
            position = loaded.position("nodes", index, "id")
        problems.append(error(position, f"safety proof ({violation.prop}) fails: "
                              f"{violation.message}",
                              "the shortest answers that reach it, as a scenario:\n"
                              + _indent(violation.scenario(), 6)))
    return problems


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


# --- ids --------------------------------------------------------------------------------


def check_duplicate_ids(loaded: LoadedDialog) -> list[Problem]:
    dialog = loaded.dialog
    problems: list[Problem] = []
    groups: list[tuple[str, list[tuple[str, PathKey]]]] = [
        ("node", [(node.id, ("nodes", i, "id")) for i, node in enumerate(dialog.nodes)]),
        ("red flag", [(f.id, ("red_flags", i, "id")) for i, f in enumerate(dialog.red_flags)]),
        ("cause", [(c.id, ("causes", i, "id")) for i, c in enumerate(dialog.causes)]),
    ]
    for i, node in enumerate(dialog.nodes):
        if hasattr(node, "options") and "options" in type(node).model_fields:
            groups.append((f"option of node '{node.id}'",
                           [(o.id, ("nodes", i, "options", j, "id"))
                            for j, o in enumerate(node.options)]))
    for label, entries in groups:
        first_seen: dict[str, Position] = {}
        for ident, path in entries:
            position = loaded.position(*path)
            if ident in first_seen:
                problems.append(error(position, f"duplicate {label} id '{ident}' (also at line "
                                      f"{first_seen[ident].line})", "give each one its own id"))
            else:
                first_seen[ident] = position
    question_ids = {node.id for node in dialog.nodes if is_question(node)}
    for i, node in enumerate(dialog.nodes):
        for j, option in enumerate(options_of(node)):
            for fact in option.set:
                if fact in question_ids:
                    problems.append(error(
                        loaded.position("nodes", i, "options", j, "set", fact),
                        f"option '{option.id}' sets '{fact}', which is the answer of question "
                        f"'{fact}'", "choose another fact name; each question's answer is "
                        "already a fact named after it"))
    return problems


def check_dialog_ids_unique(bundle: Bundle) -> list[Problem]:
    seen: dict[str, LoadedDialog] = {}
    problems = []
    for loaded in bundle.dialogs:
        if loaded.dialog.id in seen:
            problems.append(error(loaded.position("id"), f"dialog id '{loaded.dialog.id}' is "
                                  f"also used by {seen[loaded.dialog.id].source.file}",
                                  "every dialog needs its own id"))
        seen.setdefault(loaded.dialog.id, loaded)
    return problems


# --- transitions and the graph ----------------------------------------------------------


def _targets_with_paths(loaded: LoadedDialog) -> Iterator[tuple[str, PathKey]]:
    dialog = loaded.dialog
    yield dialog.start, ("start",)
    for i, node in enumerate(dialog.nodes):
        if not isinstance(node, OutcomeNode):
            yield node.next, ("nodes", i, "next")
            for j, branch in enumerate(node.branches):
                yield branch.next, ("nodes", i, "branches", j, "next")


def check_transitions(loaded: LoadedDialog) -> list[Problem]:
    dialog = loaded.dialog
    known = list(dialog.node_by_id)
    problems = []
    for target, path in _targets_with_paths(loaded):
        if target not in dialog.node_by_id:
            problems.append(error(loaded.position(*path), f"'{target}' is not a node",
                                  _suggest(target, known, "add a node with that id")))
    for i, node_id in enumerate(dialog.screening):
        if not is_question(dialog.node_by_id.get(node_id)):
            problems.append(error(loaded.position("screening", i), f"screening names "
                                  f"'{node_id}', which is not a question",
                                  _suggest(node_id, known, "list question ids only")))
    for i, flag in enumerate(dialog.red_flags):
        if flag.stop_at is None and flag.level is TriageLevel.EMERGENCY:
            problems.append(error(loaded.position("red_flags", i, "level"),
                                  f"emergency red flag '{flag.id}' does not stop the questions",
                                  "add 'stop_at:' naming the emergency ending: a runner told "
                                  "to call for help now must not be asked more questions"))
        if flag.stop_at is None:
            continue
        ending = dialog.node_by_id.get(flag.stop_at)
        if ending is None:
            problems.append(error(loaded.position("red_flags", i, "stop_at"),
                                  f"'{flag.stop_at}' is not a node",
                                  _suggest(flag.stop_at, known, "name an outcome node")))
        elif not isinstance(ending, OutcomeNode):
            problems.append(error(loaded.position("red_flags", i, "stop_at"),
                                  f"red flag '{flag.id}' stops at '{flag.stop_at}', which is "
                                  f"not an outcome", "stop_at must name an outcome node"))
    return problems


def check_graph(loaded: LoadedDialog) -> list[Problem]:
    """Unreachable nodes, nodes that can never finish, and loops with no way out."""
    dialog = loaded.dialog
    if len(dialog.node_by_id) < len(dialog.nodes) or any(
            target not in dialog.node_by_id for target, _ in _targets_with_paths(loaded)):
        return []  # duplicate ids or unknown targets are reported first; the graph is unclear
    edges = graph.edges(dialog)
    index = {node.id: i for i, node in enumerate(dialog.nodes)}
    problems = []
    reachable = graph.reachable(dialog.start, edges)
    for node in dialog.nodes:
        if node.id not in reachable:
            problems.append(warning(loaded.position("nodes", index[node.id], "id"),
                                    f"node '{node.id}' can never be reached from the start "
                                    f"'{dialog.start}'", "point a 'next' or a branch at it, "
                                    "or remove it"))
    finishing = graph.can_finish(edges, graph.outcome_ids(dialog))
    trapped = set(dialog.node_by_id) - finishing
    in_cycles: set[str] = set()
    for cycle in graph.trapped_cycles(edges, trapped):
        in_cycles.update(cycle)
        first = min(cycle, key=index.__getitem__)
        problems.append(error(loaded.position("nodes", index[first], "id"),
                              f"the loop {' -> '.join(_cycle_order(cycle, edges, first))} has "
                              f"no way out", "add a branch or 'next' that leaves the loop "
                              "towards an outcome"))
    for node_id in sorted(trapped - in_cycles, key=index.__getitem__):
        if node_id in reachable:
            problems.append(error(loaded.position("nodes", index[node_id], "id"),
                                  f"no outcome can be reached from node '{node_id}'",
                                  "every path must end at a node with 'type: outcome'"))
    return problems


def _cycle_order(cycle: list[str], edges: graph.Edges, first: str) -> list[str]:
    members, order, current = set(cycle), [first], first
    while True:
        following = next((t for t in edges[current] if t in members and t not in order), None)
        if following is None:
            return order + [first]
        order.append(following)
        current = following


# --- questions and buttons --------------------------------------------------------------


def check_questions(loaded: LoadedDialog) -> list[Problem]:
    problems = []
    for i, node in enumerate(loaded.dialog.nodes):
        if isinstance(node, MultiQuestion):
            exclusive = [j for j, option in enumerate(node.options) if option.exclusive]
            if not exclusive:
                problems.append(error(loaded.position("nodes", i, "options"),
                                      f"multiple-choice question '{node.id}' has no 'none of "
                                      f"these' option", "add an option with 'exclusive: true'"))
            for j in exclusive[1:]:
                problems.append(error(loaded.position("nodes", i, "options", j, "exclusive"),
                                      f"question '{node.id}' has more than one exclusive option",
                                      "keep 'exclusive: true' on the 'none of these' option only"))
        elif hasattr(node, "options") and "options" in type(node).model_fields:
            for j, option in enumerate(node.options):
                if option.exclusive:
                    problems.append(warning(
                        loaded.position("nodes", i, "options", j, "exclusive"),
                        "'exclusive' only matters in a multiple choice (type: multi)",
                        "remove it"))
        for j, option in enumerate(options_of(node)):
            size = buttons.longest_callback(node.id, option.id)
            if size > buttons.CALLBACK_DATA_LIMIT:
                path = ("nodes", i, "options", j, "id") if "options" in type(
                    node).model_fields else ("nodes", i, "id")
                problems.append(error(
                    loaded.position(*path),
                    f"node id '{node.id}' with option id '{option.id}' needs {size} bytes in a "
                    f"Telegram button, over its {buttons.CALLBACK_DATA_LIMIT}-byte limit",
                    f"shorten the node or option id by {size - buttons.CALLBACK_DATA_LIMIT} "
                    f"characters"))
    return problems


# --- conditions -------------------------------------------------------------------------


class FactDomain:
    """What values a fact can hold: option ids, yes/no, a number range, or values set by options."""

    def __init__(self) -> None:
        self.values: set[Any] = set()
        self.number: tuple[float, float] | None = None


def fact_domains(loaded: LoadedDialog) -> dict[str, FactDomain]:
    domains: dict[str, FactDomain] = {}
    for node in loaded.dialog.nodes:
        if isinstance(node, NumberQuestion):
            domains.setdefault(node.id, FactDomain()).number = (node.min, node.max)
        elif is_question(node):
            domains.setdefault(node.id, FactDomain()).values.update(
                option.id for option in options_of(node))
        for option in options_of(node):
            for fact, value in option.set.items():
                domains.setdefault(fact, FactDomain()).values.add(value)
    return domains


def _conditions(loaded: LoadedDialog) -> Iterator[tuple[Condition, PathKey]]:
    dialog = loaded.dialog
    for i, node in enumerate(dialog.nodes):
        for j, branch in enumerate(getattr(node, "branches", [])):
            yield branch.when, ("nodes", i, "branches", j, "when")
    for i, flag in enumerate(dialog.red_flags):
        yield flag.when, ("red_flags", i, "when")
    for i, cause in enumerate(dialog.causes):
        for j, score in enumerate(cause.score):
            yield score.when, ("causes", i, "score", j, "when")
        for j, rule in enumerate(cause.level_if):
            yield rule.when, ("causes", i, "level_if", j, "when")


def check_conditions(loaded: LoadedDialog) -> list[Problem]:
    domains = fact_domains(loaded)
    problems = []
    for condition, base in _conditions(loaded):
        for fact, test, sub in fact_tests(condition):
            position = loaded.position(*base, *sub)
            domain = domains.get(fact)
            if domain is None:
                problems.append(error(position, f"the condition names '{fact}', which no "
                                      f"question asks and no option sets",
                                      _suggest(fact, list(domains), "use a question id or a "
                                               "fact set by an option")))
                continue
            if isinstance(test, Range):
                if domain.number is None:
                    problems.append(error(position, f"'{fact}' is not a number question, so "
                                          f"min/max cannot apply", "compare with its option "
                                          "ids instead"))
                continue
            for value in test_values(test):
                if domain.number is not None:
                    low, high = domain.number
                    if isinstance(value, bool) or not isinstance(value, (int, float)):
                        problems.append(error(position, f"'{fact}' is a number, but the "
                                              f"condition compares it with {value!r}",
                                              "use a number or {min: .., max: ..}"))
                    elif not low <= value <= high:
                        problems.append(error(position, f"{value} is outside the range of "
                                              f"'{fact}' ({low} to {high})",
                                              "this test can never be true"))
                elif value not in domain.values:
                    known = sorted(str(v) for v in domain.values)
                    problems.append(error(position, f"'{fact}' can never be {value!r}",
                                          _suggest(str(value), known,
                                                   f"its values are: {', '.join(known)}")))
    return problems


DIALOG_CHECKS: list[DialogCheck] = [check_duplicate_ids, check_transitions, check_graph,
                                    check_questions, check_conditions, check_summary]


# --- texts ------------------------------------------------------------------------------


def check_texts_exist(loaded: LoadedDialog, locales: dict[str, Locale]) -> list[Problem]:
    problems = []
    for key, path in dialog_text_keys(loaded.dialog):
        for language in sorted(locales):
            if key not in locales[language].texts:
                problems.append(error(loaded.position(*path), f"text '{key}' is missing in "
                                      f"{locales[language].file}",
                                      f"add it there (under '{key.split('.')[0]}:')"))
    return problems


def check_locales(bundle: Bundle, code_texts: Iterable[str] = UI_TEXTS) -> list[Problem]:
    """Every locale has the same keys and placeholders; code-owned keys exist; none unused."""
    locales = bundle.locales
    if not locales:
        if bundle.dialogs:
            return [error(Position("locales"), "no locale files were found",
                          f"add locales/{DEFAULT_LANGUAGE}.yaml")]
        return []
    problems = []
    # An id.yaml that is there but did not load has its own error; it is not missing.
    if DEFAULT_LANGUAGE not in locales and not any(
            PurePath(name).parent.name == "locales"
            and PurePath(name).name == f"{DEFAULT_LANGUAGE}.yaml" for name in bundle.files):
        some = next(iter(locales.values()))
        problems.append(error(Position(some.file, 1, 1), f"there is no locales/"
                              f"{DEFAULT_LANGUAGE}.yaml; Indonesian is the default language",
                              "add it"))
    used = {key for loaded in bundle.dialogs
            for key, _ in dialog_text_keys(loaded.dialog)}
    used |= set(code_texts)
    # A dialog that did not load uses texts we cannot see: say nothing about unused ones.
    know_usage = not bundle.unloaded_dialogs
    reference = locales.get(DEFAULT_LANGUAGE) or next(iter(locales.values()))
    for _language, locale in sorted(locales.items()):
        for key in sorted(code_texts):
            if key not in locale.texts:
                problems.append(error(Position(locale.file, 1, 1), f"text '{key}', which Kebas "
                                      f"itself shows, is missing", f"add '{key}' to {locale.file}"))
        variables = set(locale.variables)
        for key, text in locale.texts.items():
            position = locale.position(key)
            # what Telegram shows about the bot has its own limit, on the text as shown
            length = len(locale.text(key)) if key in TEXT_LIMITS else len(text)
            limit = TEXT_LIMITS.get(key, TELEGRAM_TEXT_LIMIT)
            if length > limit:
                problems.append(error(position, f"text '{key}' has {length} characters; "
                                      f"Telegram allows {limit}", "shorten it"))
            elif len(text) > PHONE_TEXT_AIM:
                problems.append(warning(position, f"text '{key}' has {len(text)} characters, "
                                        f"long for a phone (aim for {PHONE_TEXT_AIM})",
                                        "shorten it, or split it into two texts"))
            names = placeholders(text)
            if names is None:
                problems.append(error(position, f"text '{key}' has an unmatched '{{' or '}}'",
                                      "write {name} for a placeholder; a single brace is not "
                                      "allowed"))
                continue
            allowed = variables | UI_TEXTS.get(key, frozenset())
            for name in sorted(names - allowed):
                problems.append(error(position, f"text '{key}' uses {{{name}}}, which nothing "
                                      f"fills in", _suggest(name, sorted(allowed),
                                                            "define it under 'vars:'")))
            if locale is not reference and key in reference.texts:
                theirs = placeholders(reference.texts[key]) or set()
                if names != theirs:
                    problems.append(error(position, f"text '{key}' has placeholders "
                                          f"{_braces(names)} but {reference.file} has "
                                          f"{_braces(theirs)}", "use the same {names} in "
                                          "every language"))
            if know_usage and key not in used and not key.startswith(VARS_PREFIX):
                problems.append(warning(position, f"text '{key}' is not used by any dialog",
                                        "remove it, or use it in a dialog"))
        used_vars = {name for text in locale.texts.values() for name in placeholders(text) or ()}
        for name in sorted(variables - used_vars if know_usage else set()):
            problems.append(warning(locale.position(VARS_PREFIX + name),
                                    f"variable '{name}' is not used by any text", "remove it"))
        if locale is not reference:
            for key in sorted(set(reference.texts) - set(locale.texts) - used - set(UI_TEXTS)):
                problems.append(warning(Position(locale.file, 1, 1), f"text '{key}' from "
                                        f"{reference.file} is missing here", "translate it"))
    return problems


def check_command_names(locales: dict[str, Locale]) -> list[Problem]:
    """A text names a command as its language's menu does: that is the menu its runners see."""
    problems = []
    for language, locale in sorted(locales.items()):
        menu = command_menu(language)
        for key, text in locale.texts.items():
            for name in COMMAND_MENTION.findall(text):
                own = next((own for command, own in menu.items()
                            if name in command_names(command)), name)
                if own != name:
                    language_name = LANGUAGE_NAMES.get(language, language)
                    problems.append(error(locale.position(key), f"text '{key}' names /{name}, "
                                          f"a command's name in another language",
                                          f"write /{own}: the command menu of {language_name} "
                                          "clients shows it so"))
    return problems


def _braces(names: set[str]) -> str:
    return ", ".join(f"{{{name}}}" for name in sorted(names)) or "none"


def _suggest(value: str, known: list[str], fallback: str) -> str:
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else fallback


def has_errors(problems: list[Problem]) -> bool:
    return any(problem.is_error for problem in problems)
