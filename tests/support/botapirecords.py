"""What the fake Bot API records: each call a bot made to it, and each message in a chat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200  # 0: the connection was dropped before the method was applied
    fault: str | None = None  # what `Chaos` injected into this call


@dataclass
class StoredMessage:
    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    from_bot: bool
    parse_mode: str | None = None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        return [button for row in self.reply_markup.get("inline_keyboard", []) for button in row]

    def button(self, label_part: str) -> dict[str, Any]:
        for button in self.buttons:
            if label_part.casefold() in button["text"].casefold():
                return button
        raise AssertionError(f"no button with {label_part!r} in {self.buttons}")
