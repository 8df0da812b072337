"""The command table: every command Telegram's menu announces (and its English twin) runs its
own function; consent, admin rights and lateness are checked as the table says, before it runs.

The end-to-end tests (test_telegram.py) show what each command sends; these show the routing
with every collaborator faked, so a command missing from the table fails here by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from bot.channels.telegram.chats import Chat
from bot.channels.telegram.commands import COMMAND_TABLE, STARTS, Commands
from bot.core import buttons
from bot.core.buttons import Erase, Language, Resume
from bot.core.i18n import TELEGRAM_COMMANDS, Locale

LOCALE = Locale("id", "id.yaml", {"tg.unknown_command": "Perintah tidak dikenal",
                                  "tg.help": "Bantuan", "tg.reloaded": "dimuat"})
ADMIN = 9

# command -> the function that does it (Indonesian and English names alike)
DOES = {"start": "start", "mulai": "start", "kembali": "back", "back": "back",
        "ulang": "restart", "restart": "restart", "batal": "cancel", "cancel": "cancel",
        "bantuan": "help", "help": "help", "privasi": "privacy", "privacy": "privacy",
        "hapus": "delete", "delete": "delete", "bahasa": "language", "language": "language",
        "ringkasan": "summary", "summary": "summary", "muatulang": "reload",
        "statistik": "stats"}


@dataclass
class Calls:
    """Every collaborator of `Commands` in one fake, recording what it was asked to do."""

    late_now: bool = False
    session: Any = None  # what `current` gives: no session unless a test sets one
    made: list[tuple[Any, ...]] = field(default_factory=list)
    locales: dict[str, Locale] = field(default_factory=lambda: {"id": LOCALE})

    def __getattr__(self, name: str) -> Any:
        async def record(*args: Any, **kwargs: Any) -> Any:
            self.made.append((name, *[a for a in args if not isinstance(a, Chat)],
                              *sorted(kwargs.items())))
            if name == "current":
                return self.session
            return (True, "v2") if name == "reload" else None
        return record

    async def late(self, bot: Any, here: Chat, update_id: int) -> bool:
        self.made.append(("late", update_id))
        return self.late_now

    def issue(self, here: Chat) -> str:
        return "confirmation"

    def told(self, locale: Locale, loaded: bool, detail: str) -> str:
        return f"reloaded {detail}"

    def names(self) -> list[str]:
        return [call[0] for call in self.made]


def commands(calls: Calls) -> Commands:
    return Commands(replies=calls, conversations=calls, store=calls, reloads=calls,
                    erasure=calls, question_messages={}, admin_ids=frozenset({ADMIN}),
                    retention_days=90)


def chat(consented: bool = True, chat_id: int = 1) -> Chat:
    return Chat(chat_id, f"tg:{chat_id}", LOCALE, consented)


def test_every_announced_command_and_its_english_name_has_its_function():
    assert set(TELEGRAM_COMMANDS) <= set(COMMAND_TABLE), "an announced command does nothing"
    assert {name: command.does.__name__ for name, command in COMMAND_TABLE.items()} == DOES
    assert all(getattr(Commands, does) is COMMAND_TABLE[name].does
               for name, does in DOES.items())


@pytest.mark.parametrize("name", sorted(set(DOES) - {"muatulang", "statistik"}))
async def test_a_consented_runner_gets_what_each_command_does(name):
    calls = Calls()  # no session yet (`current` gives None): /start begins one
    await commands(calls).run(name, 40, chat(), bot=None)
    assert "send_texts" in calls.names() or "send" in calls.names() \
        or "show" in calls.names(), calls.made
    assert "ask_consent" not in calls.names()


@pytest.mark.parametrize("name", ["bantuan", "help", "privasi", "bahasa", "hapus", "delete",
                                  "ringkasan", "summary"])
async def test_help_privacy_language_and_delete_work_before_consent(name):
    calls = Calls()
    await commands(calls).run(name, 40, chat(consented=False), bot=None)
    assert "ask_consent" not in calls.names() and calls.made


@pytest.mark.parametrize(("name", "again"), [("start", False), ("mulai", False),
                                             ("kembali", True), ("batal", True),
                                             ("muatulang", True), ("apaini", True)])
async def test_anything_else_before_consent_asks_for_it(name, again):
    calls = Calls()
    await commands(calls).run(name, 40, chat(consented=False), bot=None)
    assert calls.made == [("ask_consent", None, ("again", again))]
    assert (name in STARTS) is not again, "only /start is welcomed first"


@pytest.mark.parametrize("name", ["muatulang", "statistik", "apaini"])
async def test_an_admin_command_is_unknown_to_anyone_else(name):
    calls = Calls()
    await commands(calls).run(name, 40, chat(), bot=None)
    assert calls.names() == ["send_texts", "show_current"]
    assert calls.made[0][2] == ["Perintah tidak dikenal"]


async def test_an_admin_reloads_even_before_consenting():
    calls = Calls()
    await commands(calls).run("muatulang", 40, chat(consented=False, chat_id=ADMIN), bot=None)
    assert calls.names() == ["reload", "send_message"]


@pytest.mark.parametrize("name", ["kembali", "back", "ulang", "restart", "batal", "cancel"])
async def test_a_late_back_restart_or_cancel_is_not_used(name):
    calls = Calls(late_now=True)
    await commands(calls).run(name, 40, chat(), bot=None)
    assert calls.made == [("late", 40)], "told late (by `late`) and nothing else done"


async def test_start_is_never_late():
    calls = Calls(late_now=True)
    await commands(calls).run("start", 40, chat(), bot=None)
    assert "late" not in calls.names() and "show" in calls.names()


def buttons_sent(calls: Calls) -> list[str]:
    """The callback data of every button the commands sent, in order."""
    return [button.callback_data for call in calls.made if call[0] == "send"
            for row in call[-1].inline_keyboard for button in row]


@pytest.mark.parametrize(("name", "sent", "read"), [
    ("bahasa", ["l:id", "l:en"], [Language("id"), Language("en")]),
    ("hapus", ["h:yes:confirmation", "h:no"],
     [Erase(yes=True, confirmation="confirmation"), Erase(yes=False)]),
    ("start", ["s:continue:1z", "s:restart:1z"],
     [Resume(71, fresh=False), Resume(71, fresh=True)]),
])
async def test_the_control_buttons_a_command_sends_are_the_codecs(name, sent, read):
    calls = Calls(locales={"id": LOCALE, "en": LOCALE}, session=SimpleNamespace(
        session_id=71, step=SimpleNamespace(prompt=object(), state={"answers": [{}]})))
    await commands(calls).run(name, 40, chat(), bot=None)
    assert buttons_sent(calls) == sent, "the data sent stays byte for byte what it was"
    assert [buttons.decode_control(data) for data in sent] == read
