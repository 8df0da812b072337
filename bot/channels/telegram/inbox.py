"""What the durable inbox keeps of an update until it is handled: only what replaying it reads.

An allow-list, not a block-list (issue 14): a field is kept only when it is named below, so a
forwarded message's origin, a quoted or replied-to message, a mentioned person, a bot a message
came via, and whatever field Telegram adds next never reach the disk. The fields named are the
ones `KebasTelegram` reads when it handles an update (`_handle`, `_refusal`, `_on_message`,
`_on_button` and what they call): the chat's id and type, the sender's id, is_bot and language,
a text and the id of the message it replies to, a button's data, and of the message holding the
button its id, its text (shown again with the choice made; Kebas's own, escaped, so it needs no
formatting entities) and its buttons (which options are ticked). Fields the Bot API types
require but handling never reads are kept empty.
"""

from __future__ import annotations

import json
from typing import Any

from telegram import Update

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
