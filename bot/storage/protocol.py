"""What a store is to the rest of Kebas: the `SessionStore` Protocol, the records it hands
back, its errors and the session statuses.

Every method and attribute a caller uses is declared here (the channels, the conversation
driver, the reports, the CLI and retention), so SQLite, PostgreSQL and any test double are
held to one interface by mypy (`open_store`) and by tests/storage/test_protocol.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, TypedDict

from bot.core.engine import Step
from bot.core.state import OutcomeSummary, SessionState

Clock = Callable[[], datetime]

ACTIVE, FINISHED, ABANDONED = "active", "finished", "abandoned"

# What a save expects the chat's latest session to still be: (id, revision), or None for none.
Expected = tuple[int, int] | None
# What `update_chat` may set: a language, a consent version, a time stamp, or nothing.
ChatValue = str | int | None


class StorageError(Exception):
    """The database cannot be used (unreadable file, newer schema, disk problem)."""


class Conflict(Exception):
    """The chat's session changed since it was read (another process handled an update of
    the same chat at the same time): nothing was written; read it again and redo the step."""


@dataclass(frozen=True)
class StoredSession:
    id: int
    chat_key: str
    dialog_id: str
    dialog_version: int
    state: SessionState
    status: str
    started_at: str
    updated_at: str
    revision: int = 0  # counts the session's writes: a save names the one it read


@dataclass(frozen=True)
class ChatSettings:
    """What we keep about a chat besides its sessions: language, consent, whether it blocked us."""

    chat_key: str
    language: str | None = None
    consent_version: int | None = None
    consent_at: str | None = None
    blocked_at: str | None = None


@dataclass(frozen=True)
class UsageRow:
    """One session as the usage statistics see it: where it went, never who or what was typed.

    `answered` lists the questions on its path as it stands (an answer taken back is gone);
    `node` is where it stands now (the ending, once finished).
    """

    dialog_id: str
    dialog_version: int
    status: str
    node: str
    triage: str | None
    outcome: str | None          # the ending's node id, when finished
    answered: tuple[str, ...]
    fired: tuple[str, ...]       # red flags that fired on its path
    started_at: datetime
    finished_at: datetime | None


# What a link's start may be counted as (t.me/<bot>?start=SOURCE, lowercased): Telegram allows
# [A-Za-z0-9_-]{1,64}; Kebas names at most SOURCES_A_DAY sources a day, of 32 characters at
# most, and counts any further new one as OTHER_SOURCE, so random payloads cannot grow a table.
LINK_SOURCE = re.compile(r"[a-z0-9_-]{1,32}")
SOURCES_A_DAY = 50
OTHER_SOURCE = "other"


def link_source(payload: str) -> str | None:
    """The source a /start payload names (lowercased), or None when it is not one a link
    could carry (too long, a space, a character beyond ASCII letters, digits, _ and -)."""
    source = payload.lower() if payload.isascii() else ""
    return source if LINK_SOURCE.fullmatch(source) else None


@dataclass(frozen=True)
class StartCount:
    """How many starts came from one link source on one day (UTC): never who started."""

    day: date
    source: str
    starts: int


@dataclass(frozen=True)
class Purged:
    """What a retention purge removed."""

    sessions: int = 0
    answers: int = 0
    chats: int = 0
    updates: int = 0
    followups: int = 0
    followups_pending: int = 0  # of `followups`, those not sent yet: cancelled by retention

    @property
    def total(self) -> int:
        return self.sessions + self.answers + self.chats + self.updates + self.followups


# What a follow-up check-in is: asked for, sent (its check-in session opened) or cancelled.
PENDING, SENT, CANCELLED = "pending", "sent", "cancelled"


@dataclass(frozen=True)
class Followup:
    """A check-in a runner asked for after the result of session `session_id`."""

    id: int
    chat_key: str
    session_id: int
    checkin_dialog: str
    level: str                    # the followed result's triage level
    due_at: datetime              # quiet hours already applied
    status: str                   # PENDING, SENT or CANCELLED
    cancelled: str | None = None  # why, when cancelled
    checkin_session: int | None = None  # the check-in's own session, once sent


@dataclass(frozen=True)
class FollowupRow:
    """A follow-up as the statistics see it: never whose. `checkin_answer` is the value of
    the check-in's first answer (None before it is answered or without a check-in)."""

    level: str
    created_at: datetime
    due_at: datetime
    status: str
    cancelled: str | None
    checkin_answer: Any
    checkin_status: str | None
    checkin_triage: str | None


@dataclass(frozen=True)
class ExportRow:
    """One session as the anonymised export reads it; `chat_key` never leaves `bot.tools.export`."""

    chat_key: str
    session_id: int
    dialog_id: str
    dialog_version: int
    status: str
    state: SessionState
    triage: str | None
    outcome: OutcomeSummary | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Saved:
    session_id: int
    duplicate: bool = False   # the update was applied before; nothing was written


class LoggedAnswer(TypedDict):
    """One entry of a session's answer log (append-only: a `back` is logged, never undone)."""

    seq: int
    action: str
    node: str
    value: Any
    at: str


class SessionStore(Protocol):
    """Sessions, answers, chats, leases and the inbox, on one database."""

    @property
    def path(self) -> str | Path:
        """What messages call the database (a PostgreSQL address without its password)."""

    @property
    def migrated_from(self) -> int | None:
        """The schema version found at open (None before it)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, traceback: TracebackType | None) -> None: ...

    def now(self) -> str:
        """The store's clock as it writes time stamps (ISO 8601, UTC, milliseconds)."""

    async def ping(self) -> None: ...

    # sessions and the answer log
    async def latest(self, chat_key: str) -> StoredSession | None: ...
    async def save(self, chat_key: str, session_id: int | None, step: Step, *,
                   update_id: int | None = None, expected: Expected | str = "any"
                   ) -> Saved: ...
    async def forget(self, chat_key: str) -> int: ...
    async def abandon(self, chat_key: str) -> bool: ...
    async def newest_update(self, chat_key: str) -> int | None: ...

    # chats and dialog versions
    async def chat(self, chat_key: str) -> ChatSettings | None: ...
    async def update_chat(self, chat_key: str, **changes: ChatValue) -> None: ...
    async def remember_dialog(self, content_hash: str, dialog_id: str, version: int,
                              definition: str, texts: str | None = None) -> None: ...
    async def dialog_definition(self, content_hash: str) -> tuple[str, str | None] | None: ...

    # leases (webhook workers)
    async def take_lease(self, chat_key: str, holder: str, now: float, seconds: float
                         ) -> bool: ...
    async def end_lease(self, chat_key: str, holder: str) -> None: ...

    # the inbox (long polling)
    async def inbox_add(self, update_id: int, chat_key: str | None, payload: str) -> bool: ...
    async def inbox_done(self, update_id: int) -> None: ...
    async def inbox_pending(self) -> list[tuple[int, str]]: ...

    # starts from links (t.me/<bot>?start=SOURCE), and reports and retention
    async def count_start(self, update_id: int, source: str) -> bool: ...
    async def start_counts(self) -> list[StartCount]: ...
    async def usage_rows(self, since: datetime | None = None,
                         dialog_id: str | None = None) -> list[UsageRow]: ...
    async def purge(self, older_than: datetime, *,
                    unless_rebuilt_since: datetime | None = None) -> Purged: ...
    async def export_rows(self) -> tuple[str, list[ExportRow]]: ...

    # follow-up check-ins (`followup_queries`)
    async def session(self, chat_key: str, session_id: int) -> StoredSession | None: ...
    async def schedule_followup(self, chat_key: str, session_id: int, checkin_dialog: str,
                                level: str, due_at: datetime) -> bool: ...
    async def claim_due_followups(self, now: datetime, holder: str, seconds: float, *,
                                  prefix: str = "", chat_key: str | None = None,
                                  limit: int = 20) -> list[Followup]: ...
    async def followup_sent(self, followup_id: int, holder: str,
                            checkin_session: int | None) -> bool: ...
    async def cancel_followups(self, chat_key: str, reason: str, *,
                               only: int | None = None) -> int: ...
    async def followup_for(self, chat_key: str, session_id: int) -> Followup | None: ...
    async def followup_rows(self, since: datetime | None = None) -> list[FollowupRow]: ...

    # monitoring (/metrics)
    async def count_active(self) -> int:
        """How many sessions are in progress: begun, neither finished nor cancelled."""
