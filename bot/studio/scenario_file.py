""""Save as scenario": the path a chat just took, with its result as the expectation, written
as a new file in `dialogs/scenarios/` (docs/scenarios.md). The only file the studio writes.

The scenario is run by `kebas scenarios`' own runner before it is written, so a file that
would not pass is never left behind. A file is only ever created, never written over: the
name is made from the scenario's name in lower-case letters, digits and dashes (so it cannot
point outside the folder) and numbered when taken.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from bot.content.loader import Bundle
from bot.content.scenarios import LoadedScenario, Scenario, run_scenario
from bot.core import engine
from bot.core.i18n import Locale
from bot.core.model import Dialog
from bot.core.problems import Position
from bot.core.state import State

PREFIX = "studio-"
LONGEST_NAME = 200
LONGEST_SLUG = 60
MOST_COPIES = 1000


class CannotSave(ValueError):
    """Why the path cannot be saved, in words for the page."""


def scenario_of(dialog: Dialog, state: State, language: str, name: str, main: bool
                ) -> dict[str, Any]:
    """The scenario of a finished chat: every answer given, and the ending, triage, red flags
    and causes it reached as what must hold."""
    outcome = engine.current(dialog, state).outcome
    if outcome is None:
        raise CannotSave("the chat has not reached a result yet; answer until the advice shows")
    scenario: dict[str, Any] = {"name": name}
    if not main:
        scenario["dialog"] = dialog.id
    if language != "id":
        scenario["language"] = language
    scenario["answers"] = {answer["node"]: answer["value"] for answer in state["answers"]}
    scenario["expect"] = {
        "outcome": outcome.node_id,
        "triage": outcome.level.value,
        "red_flags": [flag.id for flag in outcome.red_flags],
        **({"causes": {cause.id: rank for rank, cause in enumerate(outcome.causes, 1)}}
           if outcome.causes else {}),
    }
    return scenario


def checked_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise CannotSave("give the scenario a name that says what the runner had")
    if len(name) > LONGEST_NAME:
        raise CannotSave(f"the name is longer than {LONGEST_NAME} characters; shorten it")
    if any(unicodedata.category(character).startswith("C") for character in name):
        raise CannotSave("the name has a control character; type it again")
    return name


def file_stem(name: str) -> str:
    """The scenario's name as a file name: letters and digits, dashes between words."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:LONGEST_SLUG].strip("-")
    return PREFIX + (slug or "scenario")


def save(bundle: Bundle, folder: Path, dialog: Dialog, locale: Locale, state: State,
         name: str) -> Path:
    """Write the chat's scenario as a new file in `folder`; the file written."""
    name = checked_name(name)
    scenario = scenario_of(dialog, state, locale.language, name,
                           main=dialog.id == bundle.dialog().id)
    result = run_scenario(dialog, locale, LoadedScenario(Scenario.model_validate(scenario),
                                                         Position(str(folder))))
    if not result.passed:  # cannot happen: the runner takes the engine's own path
        raise CannotSave("the scenario would not pass: " + "; ".join(result.failures))
    text = ("# Saved by kebas studio from a chat: the answers given and the result they "
            "reached.\n" + yaml.safe_dump([scenario], allow_unicode=True, sort_keys=False,
                                            width=100))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return _create(folder, file_stem(name), text)
    except OSError as exc:
        raise CannotSave(f"cannot write in {folder}: {exc.strerror or exc}") from None


def _create(folder: Path, stem: str, text: str) -> Path:
    """A new file stem.yaml (stem-2.yaml, ... when taken): created, never written over."""
    for number in range(1, MOST_COPIES + 1):
        path = folder / (f"{stem}.yaml" if number == 1 else f"{stem}-{number}.yaml")
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        return path
    raise CannotSave(f"there are already {MOST_COPIES} files named {stem}*.yaml; pick "
                     "another name")
