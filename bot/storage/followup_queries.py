"""The follow-up check-ins' statements, as plans both stores run (`queries`).

Sent exactly once across workers without SKIP LOCKED (SQLite has none) or RETURNING: a worker
claims a due row by a conditional UPDATE that only one of any racing workers can change (on
PostgreSQL the losers wait for the row lock, see the claim taken and change nothing; SQLite
has one writer). A claim lasts `seconds`: if its holder dies before marking the row sent,
another takes it once it runs out, so a check-in is sent late rather than lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.storage.protocol import (
    CANCELLED,
    PENDING,
    SENT,
    Followup,
    FollowupRow,
    StoredSession,
)
from bot.storage.queries import Plan, Statement, read_state, stamp

COLUMNS = ("id, chat_key, session_id, checkin_dialog, level, due_at, status, cancelled, "
           "checkin_session")
SESSION = ("SELECT id, chat_key, dialog_id, dialog_version, state, status, started_at, "
           "updated_at, revision FROM sessions WHERE id = ? AND chat_key = ?")
# Not claimed, or claimed by a holder whose claim ran out.
UNCLAIMED = "(claimed_until IS NULL OR claimed_until < ?)"


def followup(row: tuple[Any, ...]) -> Followup:
    return Followup(int(row[0]), row[1], int(row[2]), row[3], row[4],
                    datetime.fromisoformat(row[5]), row[6], row[7],
                    None if row[8] is None else int(row[8]))


def session(chat_key: str, session_id: int) -> Plan[StoredSession | None]:
    """One of the chat's sessions by id (None if it is another chat's, or gone)."""
    row = yield Statement(SESSION, (session_id, chat_key), "row")
    if row is None:
        return None
    return StoredSession(row[0], row[1], row[2], row[3], read_state(row[4]), row[5], row[6],
                         row[7], row[8])


def schedule(chat_key: str, session_id: int, checkin_dialog: str, level: str,
             due_at: datetime, now: str) -> Plan[bool]:
    """Ask for a check-in after session `session_id`; False if one was asked for already
    (a double tap stores one)."""
    added = yield Statement(
        "INSERT INTO followups (chat_key, session_id, checkin_dialog, level, due_at, status, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (session_id) DO NOTHING",
        (chat_key, session_id, checkin_dialog, level, stamp(due_at), PENDING, now, now))
    return bool(added == 1)


def claim_due(now: datetime, holder: str, seconds: float, prefix: str,
              chat_key: str | None, limit: int) -> Plan[list[Followup]]:
    """Claim for `holder`, until `now + seconds`, the pending check-ins due by `now` whose
    chat key starts with `prefix` (or is `chat_key`) that nobody holds; those it won."""
    moment = now.timestamp()
    sql = (f"SELECT id FROM followups WHERE status = ? AND due_at <= ? AND chat_key LIKE ? "
           f"AND {UNCLAIMED}")
    params: list[Any] = [PENDING, stamp(now), prefix + "%", moment]
    if chat_key is not None:
        sql += " AND chat_key = ?"
        params.append(chat_key)
    due = yield Statement(sql + " ORDER BY due_at, id LIMIT ?", (*params, limit), "rows")
    won = []
    for (followup_id,) in due:
        if (yield Statement(
                f"UPDATE followups SET claimed_by = ?, claimed_until = ? "
                f"WHERE id = ? AND status = ? AND {UNCLAIMED}",
                (holder, moment + float(seconds), followup_id, PENDING, moment))) == 1:
            row = yield Statement(f"SELECT {COLUMNS} FROM followups WHERE id = ?",
                                  (followup_id,), "row")
            won.append(followup(row))
    return won


def sent(followup_id: int, holder: str, checkin_session: int | None, now: str) -> Plan[bool]:
    """Mark a claimed check-in sent; False if `holder` no longer holds it (its claim ran
    out and another took it, or it was cancelled meanwhile)."""
    changed = yield Statement(
        "UPDATE followups SET status = ?, checkin_session = ?, claimed_until = NULL, "
        "updated_at = ? WHERE id = ? AND claimed_by = ? AND status = ?",
        (SENT, checkin_session, now, followup_id, holder, PENDING))
    return bool(changed == 1)


def cancel(chat_key: str, reason: str, only: int | None, now: str) -> Plan[int]:
    """Cancel the chat's pending check-ins (or only the one `only`); how many."""
    sql = ("UPDATE followups SET status = ?, cancelled = ?, updated_at = ? "
           "WHERE chat_key = ? AND status = ?")
    params: tuple[Any, ...] = (CANCELLED, reason, now, chat_key, PENDING)
    if only is not None:
        sql += " AND id = ?"
        params = (*params, only)
    changed: int = yield Statement(sql, params)
    return changed


def followup_for(chat_key: str, session_id: int) -> Plan[Followup | None]:
    """The check-in asked for after `session_id`, or the one that opened it."""
    row = yield Statement(f"SELECT {COLUMNS} FROM followups WHERE chat_key = ? AND "
                          f"(session_id = ? OR checkin_session = ?) ORDER BY id LIMIT 1",
                          (chat_key, session_id, session_id), "row")
    return None if row is None else followup(row)


def rows(since: datetime | None) -> Plan[list[FollowupRow]]:
    """Every follow-up asked for at or after `since`, with its check-in's first answer,
    status and triage; no chat key, oldest first."""
    found = yield Statement(
        "SELECT f.level, f.created_at, f.due_at, f.status, f.cancelled, c.state, c.status, "
        "c.triage FROM followups f LEFT JOIN sessions c ON c.id = f.checkin_session "
        "WHERE f.created_at >= ? ORDER BY f.id", ("" if since is None else stamp(since),),
        "rows")
    return [FollowupRow(level, datetime.fromisoformat(created), datetime.fromisoformat(due),
                        status, cancelled, first_answer(state), checkin_status, triage)
            for level, created, due, status, cancelled, state, checkin_status, triage
            in found]


def first_answer(state: str | None) -> Any:
    answers = read_state(state)["answers"] if state else []
    return answers[0]["value"] if answers else None
