"""The durable inbox: each update on disk before Telegram hears we have it, until handled.

`DurableUpdates` is the queue PTB's Updater fills; it keeps an update in the database's inbox,
deletes it once handled (`done`) and, at the next start, replays what is left (`replay`).

It keeps only what replaying an update reads (`replay_payload`): an allow-list, not a
block-list (issue 14). A field is kept only when it is named below, so a forwarded message's
origin, a quoted or replied-to message, a mentioned person, a bot a message came via, and
whatever field Telegram adds next never reach the disk. The fields named are the ones Kebas
reads when it handles an update (`handler`, `commands`, `presses` and what they call): the
chat's id and type, the sender's id, is_bot and language, a text and the id of the message it
replies to, a button's data, and of the message holding the button its id, its text (shown
again with the choice made; Kebas's own, escaped, so it needs no formatting entities) and its
buttons (which options are ticked). Fields the Bot API types require but handling never reads
are kept empty.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.constants import ChatType

from bot.channels.telegram.chats import chat_key
from bot.channels.telegram.faults import storage_fault
from bot.channels.telegram.metrics import BotMetrics
from bot.core import buttons
from bot.storage import STORAGE_FAULTS, SessionStore

log = logging.getLogger("kebas.telegram")

KEEP = None   # the value as Telegram sent it
EMPTY = ""    # required to rebuild the update, never read: kept as an empty string

CHAT = {"id": KEEP, "type": KEEP}
SENDER = {"id": KEEP, "is_bot": KEEP, "language_code": KEEP, "first_name": EMPTY}
# A nested allow-list applies to a dict, or to every item of a list (of lists) of dicts.
REPLAYED: dict[str, Any] = {
    "update_id": KEEP,
    "message": {
        "message_id": KEEP, "date": KEEP, "chat": CHAT, "from": SENDER, "text": KEEP,
        "reply_to_message": {"message_id": KEEP, "date": KEEP, "chat": CHAT},
    },
    "callback_query": {
        "id": KEEP, "from": SENDER, "chat_instance": EMPTY, "data": KEEP,
        "message": {
            "message_id": KEEP, "date": KEEP, "chat": CHAT, "text": KEEP,
            "reply_markup": {"inline_keyboard": {"text": KEEP, "callback_data": KEEP}},
        },
    },
}


def replay_payload(update: Update) -> str:
    """The update as the inbox keeps it (JSON): the allow-listed fields, nothing else."""
    return json.dumps(allowed(update.to_dict(), REPLAYED))


def allowed(value: Any, fields: dict[str, Any]) -> Any:
    """`value` with only the fields named in `fields` (recursively)."""
    if isinstance(value, list):
        return [allowed(item, fields) for item in value]
    if not isinstance(value, dict):
        return None
    kept: dict[str, Any] = {}
    for name, inner in fields.items():
        if inner == EMPTY:
            kept[name] = EMPTY
        elif name in value:
            kept[name] = value[name] if inner is KEEP else allowed(value[name], inner)
    return kept


class DurableUpdates(asyncio.Queue[object]):
    """The queue PTB's Updater fills: each update is on disk before Telegram hears we have it.

    The Updater confirms a batch (next getUpdates offset) as soon as it is queued, not when
    it is handled; so a SIGKILL could otherwise lose queued updates. Handled updates are
    deleted (`done`); leftovers are replayed at start (`replay`).
    """

    def __init__(self, store: SessionStore, on_stop: Callable[[], None] = lambda: None, *,
                 metrics: BotMetrics) -> None:
        super().__init__()
        self.store = store
        self.metrics = metrics  # a failing write counts as a storage error
        self.held: set[int] = set()  # ids of the updates kept in the inbox, until handled
        # The Application puts a stop marker (not an update) here when it begins to stop.
        self.on_stop = on_stop

    async def put(self, item: object) -> None:
        """Never raises: PTB's polling would stop for good. When the database cannot take
        the update, it is handled all the same, so the runner at least gets an apology."""
        if not isinstance(item, Update):
            self.on_stop()
            await super().put(item)
            return
        kept = None
        try:
            kept = await self.kept_of(item)
            fresh = kept is None or await self.store.inbox_add(item.update_id, *kept)
        except STORAGE_FAULTS as exc:
            log.warning("update %s is handled without the inbox: %s", getattr(
                item, "update_id", "?"), storage_fault(self.store, exc, self.metrics))
            kept, fresh = None, True  # not kept: nothing to delete afterwards
        if kept is not None and fresh:
            self.held.add(item.update_id)
        if fresh:  # else Telegram sent it again while we still hold it
            await super().put(item)

    def release(self, update_id: int) -> bool:
        """Whether this update was kept in the inbox (and so must now be deleted from it)."""
        if update_id in self.held:
            self.held.discard(update_id)
            return True
        return False

    async def done(self, update_id: int) -> None:
        """Forget a handled update kept in the inbox."""
        try:
            if self.release(update_id):
                await self.store.inbox_done(update_id)
        except STORAGE_FAULTS as exc:  # it stays in the inbox; a replay is applied once
            log.warning("update %s stays in the inbox: %s", update_id,
                        storage_fault(self.store, exc, self.metrics))

    async def kept_of(self, item: Update) -> tuple[str, str] | None:
        """The chat's key and what to keep of an update until it is handled, or None when
        nothing need be kept.

        Only what can change a consented runner's session is kept: a text message or a
        button press in a private chat, and the consent tap itself. Nothing is kept for
        groups, for media, contacts, locations or forwarded messages (they only get a fixed
        reply), nor anything else before consent. Of what is kept, only the fields its
        replay reads (`REPLAYED`): no name, nobody else's words.
        """
        chat = item.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return None
        message, query = item.message, item.callback_query
        if query is None and (message is None or message.text is None
                              or message.forward_origin is not None):
            return None
        if query is None or not isinstance(buttons.decode_control(query.data), buttons.Consent):
            settings = await self.store.chat(chat_key(chat.id))
            if settings is None or not settings.consent_version:
                return None
        return chat_key(chat.id), replay_payload(item)

    async def replay(self, bot: Any) -> int:
        """Queue the updates left in the inbox at the last stop; how many there were."""
        pending = await self.store.inbox_pending()
        for update_id, payload in pending:
            self.held.add(update_id)
            await super().put(Update.de_json(json.loads(payload), bot))
        return len(pending)
