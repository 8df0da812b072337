"""What a person put into an update: names (of people, groups, a forward's hidden sender) and
what they typed or shared. No log may ever show one of them: every fake Bot API adds what it
hands to a bot to `HANDED_OUT`, and conftest.py scans every test's logs for it."""

from __future__ import annotations

from typing import Any

# The bot itself: what it sent, coming back inside a button press or a reply, is not a person's.
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Kebas", "username": "kebas_bot"}
NAME_FIELDS = ("first_name", "last_name", "username", "title", "sender_user_name")
TYPED_FIELDS = ("text", "caption", "question", "phone_number", "address")
# Every name and typed text any fake has handed to a bot since the current test began.
HANDED_OUT: set[str] = set()


def people_words(value: Any) -> set[str]:
    """The names and typed texts in an update, leaving out the bot's own (its user, and the
    messages it sent that come back inside a button press or a reply)."""
    if isinstance(value, list):
        return set().union(*map(people_words, value))
    if not isinstance(value, dict):
        return set()
    sender = value.get("from")
    if value.get("id") == BOT_USER["id"] or (isinstance(sender, dict)
                                             and sender.get("id") == BOT_USER["id"]):
        return set()
    words = {item for key, item in value.items()
             if key in NAME_FIELDS + TYPED_FIELDS and isinstance(item, str)}
    return words.union(*(people_words(item) for item in value.values()))
