"""Clinical sign-off bound to the exact content a physician reviewed.

`kebas signoff` records, in `dialogs/signoff.yaml`, the hash of the dialogs and of every locale
text the review book was made from, with the reviewer and the date. Runners are told "reviewed
by ... on ..." only while the content they are served has exactly that hash; any later edit
makes it "draft, not yet reviewed by a doctor" again, by itself. Pure apart from reading and
writing that one file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.content.yamlsource import read_yaml
from bot.core.i18n import VARS_PREFIX, Locale
from bot.core.model import Dialog
from bot.core.problems import Position, Problem, error

SIGNOFF_FILE = "signoff.yaml"
# The locale variable runners read the review status in (`{reviewed}` in the disclaimer).
REVIEWED_VAR = "reviewed"
REVIEWED_KEY = VARS_PREFIX + REVIEWED_VAR
HEADER = """\
# Clinical sign-offs, written by `kebas signoff` (never by hand). Each entry binds a reviewer to
# the exact content they reviewed: `hash` covers every dialog and every locale text. Runners are
# told "reviewed by ..." only while the running content has one of these hashes.
"""


@dataclass(frozen=True)
class SignOff:
    hash: str            # content_hash() of what was reviewed
    dialog: str          # e.g. "kaki_kebas v1", for people reading the file
    reviewer: str
    registration: str    # STR / SIP number
    date: str            # ISO date of the review
    revision: str | None = None  # git commit holding that content, to compare with later


def content_hash(dialogs: Iterable[Dialog], locales: Mapping[str, Locale]) -> str:
    """Identifies the content runners are served: every dialog and every text, in every
    language (not the review status itself, which this hash decides)."""
    content = {
        "dialogs": sorted(dialog.content_hash for dialog in dialogs),
        "locales": {language: {key: text for key, text in sorted(locale.texts.items())
                               if key != REVIEWED_KEY}
                    for language, locale in sorted(locales.items())},
    }
    text = json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(text).hexdigest()[:16]


def signed(signoffs: Iterable[SignOff], content: str) -> SignOff | None:
    """The latest sign-off of exactly this content, if any."""
    matching = [signoff for signoff in signoffs if signoff.hash == content]
    return max(matching, key=lambda signoff: signoff.date) if matching else None


def with_review_status(locales: Mapping[str, Locale], signoff: SignOff | None
                       ) -> dict[str, Locale]:
    """Each locale with `{reviewed}` saying who reviewed this content and when, or that it
    is a draft."""
    shown = {}
    for language, locale in locales.items():
        status = locale.text("signoff.draft") if signoff is None else locale.text(
            "signoff.reviewed", reviewer=signoff.reviewer, registration=signoff.registration,
            date=signoff.date)
        shown[language] = replace(locale, texts={**locale.texts, REVIEWED_KEY: status})
    return shown


def parse_signoffs(text: str, file: str) -> tuple[list[SignOff], list[Problem]]:
    """The sign-offs in `text`; each malformed entry is a located problem."""
    source, problems = read_yaml(file, text=text)
    if source is None:
        return [], problems
    data = source.data or {}
    entries = data.get("signoffs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return [], [error(Position(file, 1, 1), "expected a list under 'signoffs:'",
                          "this file is written by 'kebas signoff'; restore it from git")]
    found: list[SignOff] = []
    fields = set(SignOff.__dataclass_fields__)
    required = fields - {"revision"}
    for index, entry in enumerate(entries):
        position = source.position(("signoffs", index))
        if not isinstance(entry, dict) or not required <= set(entry) \
                or not set(entry) <= fields:
            problems.append(error(position, f"a sign-off needs exactly: {', '.join(sorted(fields))}"
                                  " (revision may be empty)",
                                  "this file is written by 'kebas signoff'; restore it from git"))
            continue
        given: dict[str, Any] = {str(name): None if value is None else str(value)
                                 for name, value in entry.items()}
        found.append(SignOff(**given))
    return found, problems


def load_signoffs(folder: Path) -> tuple[list[SignOff], list[Problem]]:
    file = folder / SIGNOFF_FILE
    if not file.is_file():
        return [], []
    return parse_signoffs(file.read_text(encoding="utf-8"), str(file))


def render_signoffs(signoffs: Iterable[SignOff]) -> str:
    entries: list[dict[str, Any]] = [asdict(signoff) for signoff in signoffs]
    return HEADER + yaml.safe_dump({"signoffs": entries}, allow_unicode=True, sort_keys=False)


def record(folder: Path, signoff: SignOff) -> Path:
    """Append a sign-off to the folder's sign-off file; returns the file."""
    existing, problems = load_signoffs(folder)
    if problems:
        raise ValueError(str(problems[0]))
    file = folder / SIGNOFF_FILE
    file.write_text(render_signoffs([*existing, signoff]), encoding="utf-8")
    return file


def valid_date(text: str) -> str:
    """An ISO date (YYYY-MM-DD), or ValueError saying what is expected."""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"'{text}' is not a date like 2026-12-07") from None
