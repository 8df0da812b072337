"""The summary for the doctor of a chat's latest session, as every channel shows it: made from
the stored session on request, never kept."""

from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo

from bot.conversation import Conversations
from bot.core.i18n import Locale
from bot.core.summary import TIMEZONE, ClinicalSummary, stored_session_summary
from bot.storage import ACTIVE, StoredSession

ZONE: tzinfo = ZoneInfo(TIMEZONE)


async def latest_summary(conversations: Conversations, chat_key: str, locale: Locale,
                         zone: tzinfo = ZONE) -> tuple[ClinicalSummary, StoredSession] | None:
    """The summary of the chat's latest session, and that session; None when it has none."""
    current = await conversations.current(chat_key)
    stored = current.stored if current is not None else None
    if current is None or stored is None:
        return None
    serving = conversations.dialog
    return stored_session_summary(
        current.dialog or serving, serving, stored.state, locale,
        active=stored.status == ACTIVE, updated_at=stored.updated_at, zone=zone), stored
