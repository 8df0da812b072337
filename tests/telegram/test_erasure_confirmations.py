"""The /hapus "yes" button erases only for the chat and the consent it was shown under, and only
for ten minutes: an old, copied or forged confirmation deletes nothing."""

from __future__ import annotations

from dataclasses import replace

from bot.channels.telegram.chats import Chat
from bot.channels.telegram.erasure import ERASE_WINDOW, EraseConfirmations
from bot.core.i18n import Locale

LOCALE = Locale("id", "id.yaml", {})
KEY = b"k" * 32
SHOWN = 1_760_000_000


def confirmations(now: float) -> EraseConfirmations:
    return EraseConfirmations(KEY, clock=lambda: now)


def test_a_confirmation_works_for_ten_minutes_after_it_was_shown():
    here = Chat(7, "tg:7", LOCALE, True, consent_at="2025-10-01T08:00:00")
    given = confirmations(SHOWN).issue(here)
    assert len(given) <= 24, "it fits in callback data beside 'h:yes:'"
    assert confirmations(SHOWN).confirmed(here, given)
    assert confirmations(SHOWN + ERASE_WINDOW).confirmed(here, given)
    assert not confirmations(SHOWN + ERASE_WINDOW + 1).confirmed(here, given)
    assert not confirmations(SHOWN - 1).confirmed(here, given), "never from the future"


def test_it_is_bound_to_the_chat_the_consent_and_the_key():
    here = Chat(7, "tg:7", LOCALE, True, consent_at="2025-10-01T08:00:00")
    given = confirmations(SHOWN).issue(here)
    assert not confirmations(SHOWN).confirmed(replace(here, key="tg:8"), given)
    assert not confirmations(SHOWN).confirmed(
        replace(here, consent_at="2025-10-02T09:00:00"), given), "consented again since"
    assert not EraseConfirmations(b"x" * 32, clock=lambda: SHOWN).confirmed(here, given)


def test_a_forged_or_missing_confirmation_is_refused():
    here = Chat(7, "tg:7", LOCALE, True)
    issued = confirmations(SHOWN).issue(here).partition("-")[0]
    for forged in (None, "", "-", "zz", f"{issued}-0000000000000000", "not base36!-x"):
        assert not confirmations(SHOWN).confirmed(here, forged), forged
