"""`kebas export --anonymised`: the sessions as CSV or JSON that maintainers may study.

No Telegram id leaves the database: each runner becomes a keyed hash (HMAC-SHA256 with a key
made once per database), so one runner's sessions stay linked while nobody without the
database can find out who they are. Nothing free-form leaves either: an answer is exported
only when it is an option id or a number, and times are cut to the day (plus the minutes a
session took), which is enough to study use and too coarse to match against chat logs.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.storage import ExportRow

OPTION_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
FIELDS = ("runner", "session", "dialog", "version", "status", "started", "finished",
          "minutes_to_result", "triage", "ending", "red_flags", "causes")


@dataclass(frozen=True)
class ExportedSession:
    runner: str
    session: int
    dialog: str
    version: int
    status: str
    started: str
    finished: str | None
    minutes_to_result: int | None
    triage: str | None
    ending: str | None
    red_flags: list[str]
    causes: list[str]
    answers: dict[str, Any] = field(default_factory=dict)


def runner_hash(key: str, chat_key: str) -> str:
    return hmac.new(bytes.fromhex(key), chat_key.encode(), hashlib.sha256).hexdigest()[:16]


def exportable(value: Any) -> Any | None:
    """An answer as it may leave the database, or None for anything that is not a choice
    or a number (the engine stores nothing else, and this makes sure)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return value if OPTION_ID.fullmatch(value) else None
    if isinstance(value, list):
        kept = [item for item in value if isinstance(item, str) and OPTION_ID.fullmatch(item)]
        return kept if len(kept) == len(value) else None
    return None


def anonymise(key: str, rows: list[ExportRow]) -> list[ExportedSession]:
    sessions = []
    for row in rows:
        answers = {}
        for answer in row.state["answers"]:
            value = exportable(answer["value"])
            if value is not None and OPTION_ID.fullmatch(answer["node"]):
                answers[answer["node"]] = value
        outcome = row.outcome
        minutes = (None if row.finished_at is None else
                   round((row.finished_at - row.started_at).total_seconds() / 60))
        sessions.append(ExportedSession(
            runner=runner_hash(key, row.chat_key), session=row.session_id,
            dialog=row.dialog_id, version=row.dialog_version, status=row.status,
            started=row.started_at.date().isoformat(),
            finished=row.finished_at.date().isoformat() if row.finished_at else None,
            minutes_to_result=minutes, triage=row.triage,
            ending=outcome["node"] if outcome else None,
            red_flags=[flag["id"] for flag in outcome["red_flags"]] if outcome else [],
            causes=[cause["id"] for cause in outcome["causes"]] if outcome else [],
            answers=answers))
    return sessions


def to_json(sessions: list[ExportedSession]) -> str:
    return json.dumps([asdict(session) for session in sessions], ensure_ascii=False,
                      indent=2) + "\n"


def to_csv(sessions: list[ExportedSession]) -> str:
    """One row per session; one column per question, in the order questions first appear."""
    questions: dict[str, None] = {}
    for session in sessions:
        questions.update(dict.fromkeys(session.answers))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*FIELDS, *questions])
    for session in sessions:
        plain = asdict(session)
        writer.writerow([_cell(plain[name]) for name in FIELDS]
                        + [_cell(session.answers.get(node)) for node in questions])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(map(str, value))
    return str(value)
