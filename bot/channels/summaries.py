"""The summary for the doctor of a chat's latest session, as every channel shows it: made from
the stored session on request, never kept. When that session is a check-in, the summary is of
the session it followed up, with the check-in after the result. Dates are in the runners'
zone (KEBAS_TIMEZONE, `Conversations.zone`)."""

from __future__ import annotations

from bot.conversation import Conversations
from bot.core.i18n import Locale
from bot.core.summary import (
    ClinicalSummary,
    checkin_section,
    local_time,
    stored_session_summary,
    with_checkin,
)
from bot.storage import ACTIVE, StoredSession


async def latest_summary(conversations: Conversations, chat_key: str, locale: Locale
                         ) -> tuple[ClinicalSummary, StoredSession] | None:
    """The summary of the chat's latest session, and that session; None when it has none."""
    current = await conversations.current(chat_key)
    stored = current.stored if current is not None else None
    if current is None or stored is None:
        return None
    serving, zone = conversations.dialog, conversations.zone
    dialog = current.dialog or serving
    followed = await _followed(conversations, stored) if dialog.follows else None
    if followed is None:
        return stored_session_summary(
            dialog, serving, stored.state, locale, active=stored.status == ACTIVE,
            updated_at=stored.updated_at, zone=zone), stored
    main = await conversations.dialog_of(followed)
    summary = stored_session_summary(
        main, serving, followed.state, locale, active=followed.status == ACTIVE,
        updated_at=followed.updated_at, zone=zone)
    checkin = checkin_section(dialog, stored.state, locale, active=stored.status == ACTIVE,
                              updated_at=local_time(stored.updated_at, zone),
                              lines=main.summary or serving.summary)
    return with_checkin(summary, checkin), stored


async def _followed(conversations: Conversations, checkin: StoredSession
                    ) -> StoredSession | None:
    """The session a check-in followed up, as the follow-ups table links them."""
    store = conversations.store
    followup = await store.followup_for(checkin.chat_key, checkin.id)
    if followup is None or followup.checkin_session != checkin.id:
        return None
    return await store.session(checkin.chat_key, followup.session_id)
