"""The "yes, delete everything" button of /hapus: signed, and good for one chat, one consent
and ten minutes, so an old or forged button never erases what the runner said since."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from bot.channels.telegram.chats import Chat
from bot.core import buttons

ERASE_WINDOW = 10 * 60  # seconds


def erase_confirmation(key: bytes, here: Chat, issued: int) -> str:
    """What a /hapus "yes" button carries: when it was shown, signed with the chat and the
    consent it was shown under (fits in callback data: at most 24 characters)."""
    signed = f"{here.key}|{here.consent_at or ''}|{issued}".encode()
    signature = hmac.new(key, signed, hashlib.sha256).hexdigest()[:16]
    return f"{buttons.to_base36(issued)}-{signature}"


class EraseConfirmations:
    """Issues and checks the confirmations; every worker of one bot must share the key
    (`build_bot` derives it from the token)."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.clock = clock  # wall clock: confirmations expire, and outlive a restart

    def issue(self, here: Chat) -> str:
        return erase_confirmation(self.key, here, int(self.clock()))

    def confirmed(self, here: Chat, given: str | None) -> bool:
        """Whether a "yes, delete" button was shown to this chat, under its present consent,
        less than ERASE_WINDOW seconds ago."""
        issued = (given or "").partition("-")[0]
        try:
            shown_at = int(issued, 36)
        except ValueError:
            return False
        fresh = 0 <= self.clock() - shown_at <= ERASE_WINDOW
        return fresh and hmac.compare_digest(
            given or "", erase_confirmation(self.key, here, shown_at))
