"""Who an update comes from: the private chat, its language and consent, read afresh each time."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.i18n import Locale, pick_language
from bot.storage import SessionStore

CONSENT_VERSION = 1


@dataclass
class Chat:
    """One private chat while an update is handled: where to send, in which language."""

    id: int
    key: str
    locale: Locale
    consented: bool
    consent_at: str | None = None  # when; a /hapus confirmation is bound to it
    quiet: bool = False  # the chat is flooding: send only what must not wait (`flood`)


def chat_key(chat_id: int) -> str:
    """How the store names a Telegram chat."""
    return f"tg:{chat_id}"


async def read_chat(store: SessionStore, locales: dict[str, Locale], chat_id: int,
                    language_code: str | None) -> Chat:
    """The chat as stored (a chat that blocked the bot and writes again is unblocked), in
    the language it chose, else its Telegram client's, else Indonesian."""
    key = chat_key(chat_id)
    settings = await store.chat(key)
    if settings is not None and settings.blocked_at:
        await store.update_chat(key, blocked_at=None)  # they wrote to us again
    language = settings.language if settings and settings.language else None
    locale = locales[pick_language(language or language_code, locales)]
    consented = bool(settings and settings.consent_version
                     and settings.consent_version >= CONSENT_VERSION)
    return Chat(chat_id, key, locale, consented,
                consent_at=settings.consent_at if settings else None)
