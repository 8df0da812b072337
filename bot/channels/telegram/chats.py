"""Who an update comes from: the private chat, its language and consent, read afresh each time
(and the language a runner chose before consenting, which only this process remembers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.channels.telegram.bounded import REMEMBERED_CHATS, BoundedDict
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
    # while quiet: whether one more message that must not wait may still go (`flood`)
    urgent_allowed: Callable[[], bool] = lambda: True


class LanguagesBeforeConsent:
    """The language each runner chose (a /start en link, /bahasa) before consenting, by chat
    id: the language code only, for the chats most recently active (`BoundedDict`).

    Memory, not the database: nothing about a runner may be stored before they consent.
    So a restart forgets the choice, which is acceptable: the runner just sees their Telegram
    client's language again and may choose once more. Consent stores it (`chats.language`)
    and it leaves here; a decline or a /hapus forgets it.

    With several webhook workers each has its own memory. The consent buttons carry the
    language (`buttons.Consent.language`), so the tap that consents keeps the chosen
    language whichever worker gets it; other replies before consent may come in the
    client's language from a worker that did not see the choice, which is acceptable too.
    """

    def __init__(self, size: int = REMEMBERED_CHATS) -> None:
        self.chosen: BoundedDict[int, str] = BoundedDict(size)

    def of(self, chat_id: int) -> str | None:
        """The language this chat chose before consenting, if this process remembers one."""
        if chat_id not in self.chosen:
            return None
        return self.chosen[chat_id]  # not .get: reading keeps it among the most recent

    def forget(self, chat_id: int) -> None:
        self.chosen.pop(chat_id, None)

    async def choose(self, store: SessionStore, here: Chat, locale: Locale) -> None:
        """The runner chose `locale`: the chat speaks it from now on, stored if they have
        consented, else remembered here."""
        here.locale = locale
        if here.consented:
            await store.update_chat(here.key, language=locale.language)
        else:
            self.chosen[here.id] = locale.language


def chat_key(chat_id: int) -> str:
    """How the store names a Telegram chat."""
    return f"tg:{chat_id}"


async def read_chat(store: SessionStore, locales: dict[str, Locale], chat_id: int,
                    language_code: str | None, before_consent: LanguagesBeforeConsent
                    ) -> Chat:
    """The chat as stored (a chat that blocked the bot and writes again is unblocked), in
    the language it chose (stored, else chosen before consent), else its Telegram client's,
    else Indonesian."""
    key = chat_key(chat_id)
    settings = await store.chat(key)
    if settings is not None and settings.blocked_at:
        await store.update_chat(key, blocked_at=None)  # they wrote to us again
    language = settings.language if settings and settings.language else None
    language = language or before_consent.of(chat_id) or language_code
    locale = locales[pick_language(language, locales)]
    consented = bool(settings and settings.consent_version
                     and settings.consent_version >= CONSENT_VERSION)
    return Chat(chat_id, key, locale, consented,
                consent_at=settings.consent_at if settings else None)
