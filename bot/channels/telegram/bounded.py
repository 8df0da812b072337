"""A mapping that forgets its least recently used entries beyond a size: memory per chat
follows the chats that are active, not every chat the bot has ever seen."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

# How many chats each per-chat memory holds (the least recently used are forgotten first).
REMEMBERED_CHATS = 10_000


class BoundedDict(OrderedDict[K, V]):
    """At most `size` entries; setting or reading one makes it the most recent."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)

    def __getitem__(self, key: K) -> V:
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value
