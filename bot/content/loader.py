"""Turns dialog and locale files into model objects, and every mistake into a located Problem.

`parse_dialog` and `parse_locale` are pure (text in, objects out); `load_bundle` is the thin
layer that finds and reads the files.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.content.signoff import (
    REVIEWED_KEY,
    SIGNOFF_FILE,
    SignOff,
    content_hash,
    parse_signoffs,
    signed,
    with_review_status,
)
from bot.content.yamlsource import PathKey, SourceDocument, read_yaml
from bot.core.i18n import Locale
from bot.core.model import (
    Branch,
    Cause,
    ChoiceQuestion,
    Dialog,
    Followup,
    InfoNode,
    LevelRule,
    MultiQuestion,
    NumberQuestion,
    Option,
    OutcomeNode,
    RedFlag,
    Score,
    Scoring,
    Texts,
    YesNoQuestion,
)
from bot.core.problems import Position, Problem, error

DIALOG_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedDialog:
    dialog: Dialog
    source: SourceDocument

    def position(self, *path: str | int) -> Position:
        return self.source.position(path)


@dataclass
class Bundle:
    """Everything a running bot needs: dialogs, locales, and what went wrong reading them."""

    dialogs: list[LoadedDialog] = field(default_factory=list)
    locales: dict[str, Locale] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unloaded_dialogs: list[str] = field(default_factory=list)  # files that had to be refused
    signoffs: list[SignOff] = field(default_factory=list)  # dialogs/signoff.yaml
    content_hash: str = ""  # of every dialog and text: what a sign-off names (bot.content.signoff)

    @property
    def signed_off(self) -> SignOff | None:
        """The clinician's sign-off of exactly this content, if there is one."""
        return signed(self.signoffs, self.content_hash)

    @property
    def review_status(self) -> str:
        """For the operator (`kebas --version`, the start-up log): who signed this content
        off, or that it is still a draft runners are told is unreviewed."""
        signoff = self.signed_off
        if signoff is None:
            return ("medical review: not signed off; runners are told it is a draft, not yet "
                    "reviewed by a physician (kebas book, then kebas signoff)")
        return (f"medical review: signed off by {signoff.reviewer} ({signoff.registration}) "
                f"on {signoff.date}")

    def dialog(self, dialog_id: str | None = None) -> Dialog:
        """The dialog with this id; without one, the main dialog: the first that follows none.

        A check-in dialog (`follows:`) is never the main one, whatever its file sorts as.
        """
        if dialog_id is None:
            main = next((d.dialog for d in self.dialogs if d.dialog.follows is None), None)
            return main or self.dialogs[0].dialog
        for loaded in self.dialogs:
            if loaded.dialog.id == dialog_id:
                return loaded.dialog
        raise KeyError(dialog_id)

    def checkin_for(self, dialog: Dialog) -> Dialog | None:
        """The check-in dialog that follows up `dialog`'s results, if it offers one."""
        if dialog.followup is None:
            return None
        return next((d.dialog for d in self.dialogs if d.dialog.id == dialog.followup.dialog),
                    None)


# --- dialogs ----------------------------------------------------------------------------


def parse_dialog(text: str, file: str) -> tuple[LoadedDialog | None, list[Problem]]:
    source, problems = read_yaml(file, text=text, display_name=file)
    if source is None:
        return None, problems
    if not isinstance(source.data, dict):
        problems.append(error(source.position(()), "a dialog file must be a mapping of keys "
                              "(id, version, start, nodes, ...)", "see docs/dialog-format.md"))
        return None, problems
    try:
        dialog = Dialog.model_validate(source.data)
    except ValidationError as exc:
        problems.extend(explain_validation(exc, source))
        return None, problems
    return LoadedDialog(dialog, source), problems


_TYPE_WORDS = {
    "string_type": "text", "int_type": "a whole number", "float_type": "a number",
    "bool_type": "true or false", "list_type": "a list", "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)", "model_attributes_type": "a mapping (key: value)",
    "int_from_float": "a whole number", "is_instance_of": "a mapping (key: value)",
}

# Which model a mapping follows, for "did you mean" hints: items of a list under a key, and
# mappings directly under a key.
_ITEM_MODELS: dict[str, type[BaseModel]] = {
    "options": Option, "red_flags": RedFlag, "causes": Cause, "branches": Branch,
    "score": Score, "level_if": LevelRule,
}
_MAPPING_MODELS: dict[str, type[BaseModel]] = {"texts": Texts, "scoring": Scoring,
                                               "followup": Followup}
CONDITION_KEYS = ["all", "any", "not", "min", "max"]

_NODE_MODELS: dict[str, type[BaseModel]] = {
    "choice": ChoiceQuestion, "multi": MultiQuestion, "yesno": YesNoQuestion,
    "number": NumberQuestion, "info": InfoNode, "outcome": OutcomeNode}


def explain_validation(exc: ValidationError, source: SourceDocument) -> list[Problem]:
    """One readable Problem per place, however many union branches pydantic tried."""
    by_path: dict[PathKey, list[ErrorDetails]] = {}
    positions: dict[PathKey, Position] = {}
    for detail in exc.errors(include_url=False):
        position, path = source.locate(detail["loc"])
        if detail["type"] == "missing":
            path = path + ("\0" + str(detail["loc"][-1]),)  # one problem per missing key
        elif detail["type"].startswith("union_tag") and path + ("type",) in source.positions:
            path = path + ("type",)
            position = source.position(path)
        by_path.setdefault(path, []).append(detail)
        positions[path] = position
    # A union tried several shapes; when one shape got further (a deeper path), report that.
    deepest = [path for path in by_path
               if not any(other != path and other[:len(path)] == path for other in by_path)]
    problems = []
    for path in deepest:
        problems.append(_problem_for(by_path[path], positions[path], path, source))
    return problems


def _problem_for(details: list[ErrorDetails], position: Position, path: PathKey,
                 source: SourceDocument) -> Problem:
    first = details[0]
    kind = first["type"]
    where = _describe(path, source.data)
    if kind == "extra_forbidden":
        key = str(first["loc"][-1])
        allowed = [name for name in _allowed_keys(path[:-1], source) if name != key]
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else (
            f"allowed here: {', '.join(sorted(allowed))}" if allowed else "remove it")
        return error(position, f"unknown key '{key}'{where}", hint)
    if kind == "missing":
        key = str(first["loc"][-1])
        return error(position, f"missing key '{key}'{where}", f"add '{key}: ...'")
    if kind == "union_tag_invalid":
        ctx = first.get("ctx", {})
        return error(position, f"unknown node type '{ctx.get('tag')}'",
                     f"use one of: {', '.join(_NODE_MODELS)}")
    if kind == "union_tag_not_found":
        return error(position, f"this node has no 'type'{where}",
                     f"add 'type:' with one of: {', '.join(_NODE_MODELS)}")
    if kind == "string_pattern_mismatch":
        value = first.get("input")
        return error(position, f"'{value}' is not a valid id or key{where}",
                     "use lower-case letters, digits and _ (keys may have dots: q.chest_pain)")
    if kind == "literal_error":  # e.g. a key of followup.days other than soon / self_care
        expected = first.get("ctx", {}).get("expected", "")
        return error(position, f"{_show(first.get('input'))} is not allowed here{where}",
                     f"use {expected}")
    if kind == "enum":
        expected = first.get("ctx", {}).get("expected", "")
        return error(position, f"'{first.get('input')}' is not allowed{where}",
                     f"use one of: {expected}")
    if kind == "value_error":
        # The models' own rules say what is wrong, then "|" and what to do.
        message, _, hint = str(first.get("ctx", {}).get("error", first["msg"])).partition("|")
        return error(position, f"{message}{where}", hint or _FORMAT_HINT)
    if kind in ("too_short", "too_long", "greater_than_equal", "less_than_equal",
                "greater_than", "less_than"):
        return error(position, f"{first['msg'].lower()}{where}", _FORMAT_HINT)
    wanted = [_TYPE_WORDS[d["type"]] for d in details if d["type"] in _TYPE_WORDS]
    if "a number" in wanted and "a whole number" in wanted:
        wanted.remove("a whole number")
    if wanted:
        expected = " or ".join(dict.fromkeys(wanted))
        value = first.get("input")
        hint = ("put the value in quotes" if "text" in expected and value is not None
                else f"write {expected} here" + (", in digits (e.g. 12)" if "number" in expected
                                                 else ""))
        return error(position, f"expected {expected}, got {_show(value)}{where}", hint)
    return error(position, f"{first['msg']}{where}", _FORMAT_HINT)


_FORMAT_HINT = "docs/dialog-format.md shows what this key takes"


_ITEM_LABELS = {"nodes": "node", "options": "option", "red_flags": "red flag",
                "causes": "cause", "branches": "branch", "score": "score rule",
                "level_if": "level rule"}


def _describe(path: PathKey, data: Any) -> str:
    """' in node 'q2', option 'a'': where the problem sits, in the maintainer's terms."""
    parts = []
    for index, part in enumerate(path):
        if isinstance(part, int) and index > 0 and path[index - 1] in _ITEM_LABELS:
            item = _get(data, path[:index + 1])
            label = _ITEM_LABELS[str(path[index - 1])]
            ident = item.get("id") if isinstance(item, dict) else None
            parts.append(f"{label} '{ident}'" if isinstance(ident, str) else f"{label} {part + 1}")
    return " in " + ", ".join(parts) if parts else ""


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)


def _allowed_keys(path: PathKey, source: SourceDocument) -> list[str]:
    """The keys a mapping at `path` may have, for 'did you mean' hints."""
    if "when" in path:
        return CONDITION_KEYS  # fact names are free; these are the language's own words
    model: type[BaseModel] | None
    if path == ():
        model = Dialog
    elif path[:1] == ("nodes",) and len(path) == 2:
        node = _get(source.data, path)
        model = _NODE_MODELS.get(node.get("type", "")) if isinstance(node, dict) else None
    elif len(path) >= 2 and isinstance(path[-1], int):
        model = _ITEM_MODELS.get(str(path[-2]))
    else:
        model = _MAPPING_MODELS.get(str(path[-1]))
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _get(data: Any, path: PathKey) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


# --- locales ----------------------------------------------------------------------------


def parse_locale(text: str, file: str, language: str) -> tuple[Locale | None, list[Problem]]:
    source, problems = read_yaml(file, text=text, display_name=file)
    if source is None:
        return None, problems
    if not isinstance(source.data, dict):
        problems.append(error(source.position(()), "a locale file must be a mapping of keys "
                              "to texts", "e.g.  q:\\n  chest_pain: \"...\""))
        return None, problems
    texts: dict[str, str] = {}
    positions: dict[str, Position] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        for key, value in node.items():
            key_path = path + (str(key),)
            dotted = ".".join(key_path)
            position = source.position(key_path)
            if isinstance(value, dict):
                walk(value, key_path)
            elif isinstance(value, str):
                if not value.strip():
                    problems.append(error(position, f"text '{dotted}' is empty",
                                          "write the text, or remove the key"))
                texts[dotted] = value
                positions[dotted] = position
            else:
                problems.append(error(position, f"text '{dotted}' should be text, got "
                                      f"{_show(value)}", "put the text in quotes"))

    walk(source.data, ())
    return Locale(language, file, texts, positions), problems


# --- files ------------------------------------------------------------------------------


def shipped_paths() -> list[Path]:
    """The dialog and locales shipped with Kebas.

    Run from a checkout (an editable install), they are its top-level `dialogs/` and `locales/`;
    installed from a wheel, they are the copy packaged inside it as `bot/dialogs` and
    `bot/locales` (pyproject.toml maps the same folders there).
    """
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "dialogs").is_dir() and (checkout / "locales").is_dir():
        return [checkout / "dialogs", checkout / "locales"]
    package = resources.files("bot")
    return [Path(str(package / "dialogs")), Path(str(package / "locales"))]


def default_paths(base: Path | None = None) -> list[Path]:
    """`dialogs/` and `locales/` in the working directory, else the ones shipped with Kebas."""
    root = base or Path.cwd()
    if (root / "dialogs").is_dir() and (root / "locales").is_dir():
        return [root / "dialogs", root / "locales"]
    return shipped_paths()


def shown_path(path: Path) -> str:
    """A path as the maintainer wrote it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_bundle(paths: list[Path] | None = None) -> Bundle:
    """Load every dialog and locale under `paths` (folders or single files).

    A file is a locale when it lives in a folder called `locales`; anything else is a dialog.
    """
    bundle = Bundle()
    for path in paths or default_paths():
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in DIALOG_SUFFIXES)
            if not files:
                bundle.problems.append(error(Position(shown_path(path)),
                                             "no .yaml files in this folder"))
        elif path.is_file():
            files = [path]
        else:
            bundle.problems.append(error(Position(shown_path(path)), "no such file or folder"))
            continue
        for file in files:
            _load_file(bundle, file)
    if not bundle.dialogs and not any(p.is_error for p in bundle.problems):
        bundle.problems.append(error(Position("dialogs"), "no dialog was found",
                                     "put a dialog file in dialogs/"))
    _show_review_status(bundle)
    return bundle


def _show_review_status(bundle: Bundle) -> None:
    """Fill `{reviewed}` from the sign-offs: only `kebas signoff` can make it say reviewed."""
    for locale in bundle.locales.values():
        if REVIEWED_KEY in locale.texts:
            bundle.problems.append(error(
                locale.position(REVIEWED_KEY), f"'{REVIEWED_KEY}' is written by kebas signoff, "
                "not by hand", "remove it; runners see 'reviewed by ...' once a doctor has "
                "signed off this exact content (kebas book, then kebas signoff)"))
    bundle.content_hash = content_hash((loaded.dialog for loaded in bundle.dialogs),
                                       bundle.locales)
    bundle.locales = with_review_status(bundle.locales, bundle.signed_off)


def _load_file(bundle: Bundle, file: Path) -> None:
    name = shown_path(file)
    bundle.files.append(name)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        bundle.problems.append(error(Position(name, 1, 1), "the file is not UTF-8 text",
                                     "save it as UTF-8"))
        return
    except OSError as exc:
        bundle.problems.append(error(Position(name), f"cannot read the file: {exc.strerror}"))
        return
    if file.name == SIGNOFF_FILE:
        signoffs, problems = parse_signoffs(text, name)
        bundle.signoffs.extend(signoffs)
        bundle.problems.extend(problems)
    elif file.parent.name == "locales":
        language = file.stem
        locale, problems = parse_locale(text, name, language)
        bundle.problems.extend(problems)
        if locale is not None:
            bundle.locales[language] = locale
    else:
        loaded, problems = parse_dialog(text, name)
        bundle.problems.extend(problems)
        if loaded is not None:
            bundle.dialogs.append(loaded)
        else:
            bundle.unloaded_dialogs.append(name)
