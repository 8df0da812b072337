"""Every store operation written once: the statements it runs, in SQL that SQLite and
PostgreSQL both read, and what it makes of their rows.

An operation is a `Plan`: a generator that yields a `Statement`, is sent back what that
statement returned (a row count, a row, the rows, or the id of the row it inserted) and at
last returns the operation's result. Each store carries plans out its own way (SQLite on its
writer's thread or on its reader, PostgreSQL on a pooled connection, `?` numbered as $1, $2,
...), so a step becomes rows by one piece of code for both (`save_step`), and the two stores
cannot drift apart in what they write.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

from bot.core.engine import Step, StepKind
from bot.core.state import OutcomeSummary, SessionState, stored_outcome, stored_state
from bot.storage.protocol import (
    ABANDONED,
    ACTIVE,
    FINISHED,
    LINK_SOURCE,
    OTHER_SOURCE,
    SOURCES_A_DAY,
    ChatSettings,
    ChatValue,
    Conflict,
    Expected,
    ExportRow,
    LoggedAnswer,
    Purged,
    Saved,
    StartCount,
    StorageError,
    StoredSession,
    UsageRow,
)
from bot.storage.schema import CHAT_COLUMNS

T = TypeVar("T")
# How long a counted start's update id is kept: Telegram keeps an update it could not
# deliver 24 hours at most, so no redelivery can come later (the inbox's replays are kept
# while it holds them). Two days, for a clock that is off.
REDELIVERY = timedelta(days=2)


@dataclass(frozen=True)
class Statement:
    """One SQL statement (`?` for each parameter) and what the plan wants back from it:
    `count` the rows it changed, `row` its first row (a tuple, or None), `rows` all of them,
    `id` the id of the row it inserted."""

    sql: str
    params: tuple[Any, ...] = ()
    returns: Literal["count", "row", "rows", "id"] = "count"


# yields statements, is sent what each returned, returns the operation's result
Plan = Generator[Statement, Any, T]


def stamp(moment: datetime) -> str:
    """How a moment is written in every table: ISO 8601, UTC, milliseconds (sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def run_all(statements: Iterable[Statement]) -> Plan[list[int]]:
    """The statements one after another; each one's row count."""
    counts = []
    for statement in statements:
        counts.append((yield statement))
    return counts


# --- sessions and the answer log ------------------------------------------------------------

LATEST = ("SELECT id, chat_key, dialog_id, dialog_version, state, status, started_at, "
          "updated_at, revision FROM sessions WHERE chat_key = ? AND status != ? "
          "ORDER BY id DESC LIMIT 1")
LATEST_REVISION = ("SELECT id, revision FROM sessions WHERE chat_key = ? AND status != ? "
                   "ORDER BY id DESC LIMIT 1")


def read_state(text: str) -> SessionState:
    """The one place a state read from the database becomes a `SessionState`: checked, and
    given today's shape (an older Kebas's state lacks keys: `state.stored_state`)."""
    try:
        return stored_state(json.loads(text))
    except ValueError as error:  # the message names a key or a position, never a value
        raise StorageError(f"a stored session state is not one Kebas wrote: {error}") from None


def read_outcome(text: str) -> OutcomeSummary:
    """A result summary read from the sessions table, as `read_state` reads a state."""
    try:
        return stored_outcome(json.loads(text))
    except ValueError as error:
        raise StorageError(f"a stored session result is not one Kebas wrote: {error}") from None


def latest(chat_key: str) -> Plan[StoredSession | None]:
    """The chat's most recent session that was not abandoned by a restart."""
    row = yield Statement(LATEST, (chat_key, ABANDONED), "row")
    if row is None:
        return None
    return StoredSession(row[0], row[1], row[2], row[3], read_state(row[4]), row[5], row[6],
                         row[7], row[8])


def save_step(chat_key: str, session_id: int | None, step: Step, *, update_id: int | None,
              now: str, expected: Expected | str = "any") -> Plan[Saved]:
    """One engine step as rows: the update id (a repeated one writes nothing), the session
    (a restart, or no session yet, opens a new one) and its answer log entry.

    `expected`: the chat's latest session as read for this step, (id, revision) or None; if
    it has changed since, `Conflict` is raised before anything is written ("any": no check).
    Run in one transaction that nobody else can change the chat during (SQLite's single
    writer; PostgreSQL's lock on the chat), so a session still the one read stays so.
    """
    state = step.state
    status = FINISHED if step.outcome is not None else ACTIVE
    triage = step.outcome.level.value if step.outcome is not None else None
    outcome = json.dumps(step.outcome.summary()) if step.outcome is not None else None
    if update_id is not None and (yield Statement(
            "INSERT INTO processed_updates (update_id, chat_key, at) VALUES (?, ?, ?) "
            "ON CONFLICT (update_id) DO NOTHING", (update_id, chat_key, now))) == 0:
        return Saved(session_id or 0, duplicate=True)
    if expected != "any" and (
            yield Statement(LATEST_REVISION, (chat_key, ABANDONED), "row")) != expected:
        raise Conflict(f"{chat_key}: the session changed since it was read")
    if session_id is None or step.kind in (StepKind.STARTED, StepKind.RESTARTED):
        if session_id is not None:
            yield Statement("UPDATE sessions SET status = ?, updated_at = ?, "
                            "revision = revision + 1 WHERE id = ? AND status = ?",
                            (ABANDONED, now, session_id, ACTIVE))
        session_id = yield Statement(
            "INSERT INTO sessions (chat_key, dialog_id, dialog_version, node, state, status, "
            "triage, outcome, started_at, updated_at, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (chat_key, state["dialog"], state["version"], state["node"], json.dumps(state),
             status, triage, outcome, now, now, now if status == FINISHED else None), "id")
    else:
        yield Statement(
            "UPDATE sessions SET dialog_id = ?, dialog_version = ?, node = ?, state = ?, "
            "status = ?, triage = ?, outcome = ?, updated_at = ?, revision = revision + 1, "
            "finished_at = CASE WHEN ? = 'finished' THEN COALESCE(finished_at, ?) END "
            "WHERE id = ?",
            (state["dialog"], state["version"], state["node"], json.dumps(state), status,
             triage, outcome, now, status, now, session_id))
    logged = None
    if step.answer is not None:
        logged = ("answer", step.answer.node_id, step.answer.value)
    elif step.kind is StepKind.BACK and step.prompt is not None:
        logged = ("back", step.prompt.node_id, None)
    if logged is not None:
        action, node, value = logged
        yield Statement("INSERT INTO answers (session_id, seq, action, node, value, at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (session_id, len(state["answers"]), action, node,
                         None if value is None else json.dumps(value), now))
    return Saved(int(session_id))


def answers(session_id: int) -> Plan[list[LoggedAnswer]]:
    """The answer log of one session, oldest first."""
    rows = yield Statement("SELECT seq, action, node, value, at FROM answers "
                           "WHERE session_id = ? ORDER BY id", (session_id,), "rows")
    return [LoggedAnswer(seq=seq, action=action, node=node, at=at,
                         value=None if value is None else json.loads(value))
            for seq, action, node, value, at in rows]


def forget(chat_key: str, lease: str) -> Plan[int]:
    """Delete every row about this chat (its lease goes by `lease`); how many sessions went."""
    counts = yield from run_all([
        Statement("DELETE FROM sessions WHERE chat_key = ?", (chat_key,)),
        Statement("DELETE FROM followups WHERE chat_key = ?", (chat_key,)),
        Statement("DELETE FROM processed_updates WHERE chat_key = ?", (chat_key,)),
        Statement("DELETE FROM chats WHERE chat_key = ?", (chat_key,)),
        Statement("DELETE FROM inbox WHERE chat_key = ?", (chat_key,)),
        Statement("DELETE FROM chat_leases WHERE chat_key = ?", (lease,)),
    ])
    return counts[0]


def abandon(chat_key: str, now: str) -> Plan[bool]:
    """End the chat's active session without a result (the runner cancelled)."""
    changed = yield Statement("UPDATE sessions SET status = ?, updated_at = ?, "
                              "revision = revision + 1 WHERE chat_key = ? AND status = ?",
                              (ABANDONED, now, chat_key, ACTIVE))
    return bool(changed > 0)


def newest_update(chat_key: str) -> Plan[int | None]:
    """The highest update id applied to this chat: an update with a lower one was sent
    before it and arrives late (a webhook worker died holding it)."""
    row = yield Statement("SELECT max(update_id) FROM processed_updates WHERE chat_key = ?",
                          (chat_key,), "row")
    newest: int | None = None if row is None else row[0]
    return newest


def ping() -> Plan[None]:
    """A read that fails when the database cannot be read (a health check)."""
    yield Statement("SELECT count(*) FROM sessions WHERE id = 0", (), "row")


# --- chats, dialog versions, secrets --------------------------------------------------------


def chat(chat_key: str) -> Plan[ChatSettings | None]:
    row = yield Statement(f"SELECT {', '.join(CHAT_COLUMNS)} FROM chats WHERE chat_key = ?",
                          (chat_key,), "row")
    return None if row is None else ChatSettings(chat_key, *row)


def update_chat(chat_key: str, changes: dict[str, ChatValue], now: str) -> Plan[None]:
    """Set some of a chat's settings (made if new); an unknown one raises ValueError here."""
    unknown = set(changes) - set(CHAT_COLUMNS)
    if unknown:
        raise ValueError(f"unknown chat columns: {sorted(unknown)}")
    names = list(changes)
    return run_none([Statement(
        f"INSERT INTO chats (chat_key, {''.join(name + ', ' for name in names)}updated_at) "
        f"VALUES (?, {'?, ' * len(names)}?) ON CONFLICT (chat_key) DO UPDATE SET "
        f"{''.join(f'{name} = excluded.{name}, ' for name in names)}"
        f"updated_at = excluded.updated_at", (chat_key, *changes.values(), now))])


def run_none(statements: list[Statement]) -> Plan[None]:
    yield from run_all(statements)


def remember_dialog(content_hash: str, dialog_id: str, version: int, definition: str,
                    texts: str | None, now: str) -> Plan[None]:
    """Keep a dialog version, and its texts, the first time it is used (later calls change
    nothing)."""
    yield Statement("INSERT INTO dialog_versions (content_hash, dialog_id, version, "
                    "definition, texts, first_used) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (content_hash) DO NOTHING",
                    (content_hash, dialog_id, version, definition, texts, now))


def dialog_definition(content_hash: str) -> Plan[tuple[str, str | None] | None]:
    """A kept dialog version: its definition and its texts (JSON), or None."""
    row = yield Statement("SELECT definition, texts FROM dialog_versions "
                          "WHERE content_hash = ?", (content_hash,), "row")
    return None if row is None else (row[0], row[1])


def secret(name: str) -> Plan[str]:
    """A key made once per database by a migration ('export_key', 'lease_key')."""
    row = yield Statement("SELECT value FROM secrets WHERE name = ?", (name,), "row")
    value: str = row[0]
    return value


# --- leases (webhook workers) ---------------------------------------------------------------


def take_lease(lease: str, holder: str, now: float, seconds: float) -> Plan[bool]:
    """Become the one process handling the chat named `lease` until `now + seconds`, unless
    another holds it (a lease left by a process that died runs out)."""
    taken = yield Statement(
        "INSERT INTO chat_leases (chat_key, holder, until) VALUES (?, ?, ?) "
        "ON CONFLICT (chat_key) DO UPDATE SET holder = excluded.holder, "
        "until = excluded.until WHERE chat_leases.until < ? OR chat_leases.holder = ?",
        (lease, holder, now + seconds, now, holder))
    return bool(taken == 1)


def end_lease(lease: str, holder: str) -> Plan[None]:
    yield Statement("DELETE FROM chat_leases WHERE chat_key = ? AND holder = ?",
                    (lease, holder))


# --- the inbox (long polling) ---------------------------------------------------------------


def inbox_add(update_id: int, chat_key: str | None, payload: str, now: str) -> Plan[bool]:
    """Keep an update until it is handled; False if it is already kept (a redelivery)."""
    added = yield Statement("INSERT INTO inbox (update_id, chat_key, payload, received_at) "
                            "VALUES (?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
                            (update_id, chat_key, payload, now))
    return bool(added == 1)


def inbox_done(update_id: int) -> Plan[None]:
    yield Statement("DELETE FROM inbox WHERE update_id = ?", (update_id,))


def inbox_pending() -> Plan[list[tuple[int, str]]]:
    """Updates received but never handled (the process stopped), oldest first."""
    rows = yield Statement("SELECT update_id, payload FROM inbox ORDER BY update_id", (),
                           "rows")
    return [(int(update_id), payload) for update_id, payload in rows]


# --- starts from links (t.me/<bot>?start=SOURCE) --------------------------------------------


def count_start(update_id: int, source: str, day: str) -> Plan[bool]:
    """Count one start from a link on `day`, in one transaction with the record that the
    update was counted: False (nothing counted) when it was, a redelivery. A source beyond
    the SOURCES_A_DAY already named that day counts as OTHER_SOURCE. A source no link could
    carry raises ValueError here (the text is not quoted: a runner may have typed it)."""
    if not LINK_SOURCE.fullmatch(source):
        raise ValueError(f"not a link source: it must match {LINK_SOURCE.pattern}")
    return counted_start(update_id, source, day)


def counted_start(update_id: int, source: str, day: str) -> Plan[bool]:
    if (yield Statement("INSERT INTO counted_starts (update_id, day) VALUES (?, ?) "
                        "ON CONFLICT (update_id) DO NOTHING", (update_id, day))) == 0:
        return False
    # Under concurrent PostgreSQL workers the cap may be passed by one per worker that day.
    known, named = yield Statement(
        "SELECT count(CASE WHEN source = ? THEN 1 END), "
        "count(CASE WHEN source != ? THEN 1 END) FROM start_counts WHERE day = ?",
        (source, OTHER_SOURCE, day), "row")
    if not known and named >= SOURCES_A_DAY:
        source = OTHER_SOURCE
    yield Statement("INSERT INTO start_counts (day, source, starts) VALUES (?, ?, 1) "
                    "ON CONFLICT (day, source) DO UPDATE SET starts = start_counts.starts + 1",
                    (day, source))
    return True


def start_counts() -> Plan[list[StartCount]]:
    """Every day's starts by source, oldest day first (at most SOURCES_A_DAY + 1 a day)."""
    rows = yield Statement("SELECT day, source, starts FROM start_counts "
                           "ORDER BY day, source", (), "rows")
    return [StartCount(date.fromisoformat(day), source, int(starts))
            for day, source, starts in rows]


# --- reports and retention ------------------------------------------------------------------


def usage_rows(since: datetime | None, dialog_id: str | None) -> Plan[list[UsageRow]]:
    """Every session started at or after `since` (of one dialog, if given), oldest first."""
    sql = ("SELECT dialog_id, dialog_version, status, node, triage, outcome, state, "
           "started_at, finished_at FROM sessions WHERE started_at >= ?")
    params: list[Any] = ["" if since is None else stamp(since)]
    if dialog_id is not None:
        sql += " AND dialog_id = ?"
        params.append(dialog_id)
    rows = yield Statement(sql + " ORDER BY id", tuple(params), "rows")
    return [usage_row(*row) for row in rows]


def usage_row(dialog_id: str, dialog_version: int, status: str, node: str,
              triage: str | None, outcome: str | None, state: str, started_at: str,
              finished_at: str | None) -> UsageRow:
    saved = read_state(state)
    ending = read_outcome(outcome)["node"] if outcome else None
    return UsageRow(dialog_id, dialog_version, status, node, triage, ending,
                    tuple(answer["node"] for answer in saved["answers"]),
                    tuple(saved["fired"]), datetime.fromisoformat(started_at),
                    datetime.fromisoformat(finished_at) if finished_at else None)


def export_sessions() -> Plan[list[ExportRow]]:
    """Every session as the anonymised export reads it, oldest first."""
    rows = yield Statement("SELECT chat_key, id, dialog_id, dialog_version, status, state, "
                           "triage, outcome, started_at, finished_at FROM sessions "
                           "ORDER BY id", (), "rows")
    return [export_row(*row) for row in rows]


def export_row(chat_key: str, session_id: int, dialog_id: str, version: int, status: str,
               state: str, triage: str | None, outcome: str | None, started: str,
               finished: str | None) -> ExportRow:
    return ExportRow(chat_key, session_id, dialog_id, version, status, read_state(state),
                     triage, read_outcome(outcome) if outcome else None,
                     datetime.fromisoformat(started),
                     datetime.fromisoformat(finished) if finished else None)


def purge(older_than: datetime, now: datetime) -> Plan[Purged]:
    """Delete what retention no longer allows: sessions last touched before `older_than`
    (with their answers and follow-ups), the update ids of that time, leftover inbox
    entries and leases, and chats that have nothing left but a language or a consent; and
    the ids of counted starts no redelivery can repeat any more (`REDELIVERY` before
    `now`). The counts stay."""
    cutoff = stamp(older_than)
    # check-ins past retention, or of sessions deleted now: those not sent yet are counted
    expired = "(updated_at < ? OR session_id IN (SELECT id FROM sessions WHERE updated_at < ?))"
    (pending,) = yield Statement(f"SELECT count(*) FROM followups WHERE status = 'pending' "
                                 f"AND {expired}", (cutoff, cutoff), "row")
    followups = yield Statement(f"DELETE FROM followups WHERE {expired}", (cutoff, cutoff))
    answers_, sessions, updates, chats, _inbox, _leases, _counted = yield from run_all([
        Statement("DELETE FROM answers WHERE session_id IN "
                  "(SELECT id FROM sessions WHERE updated_at < ?)", (cutoff,)),
        Statement("DELETE FROM sessions WHERE updated_at < ?", (cutoff,)),
        Statement("DELETE FROM processed_updates WHERE at < ?", (cutoff,)),
        Statement("DELETE FROM chats WHERE updated_at < ? AND chat_key NOT IN "
                  "(SELECT chat_key FROM sessions)", (cutoff,)),
        Statement("DELETE FROM inbox WHERE received_at < ?", (cutoff,)),
        Statement("DELETE FROM chat_leases WHERE until < ?", (older_than.timestamp(),)),
        Statement("DELETE FROM counted_starts WHERE day < ? AND update_id NOT IN "
                  "(SELECT update_id FROM inbox)", (stamp(now - REDELIVERY)[:10],)),
    ])
    return Purged(sessions=sessions, answers=answers_, chats=chats, updates=updates,
                  followups=followups, followups_pending=int(pending))


# --- monitoring (/metrics) ------------------------------------------------------------------


def count_active() -> Plan[int]:
    """How many sessions are in progress (a restart's abandoned one is not)."""
    row = yield Statement("SELECT count(*) FROM sessions WHERE status = ?", (ACTIVE,), "row")
    return int(row[0])
