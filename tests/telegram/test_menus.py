"""Native on Telegram: each client sees the command menu, description and short description in
its own language, every command works under either language's name, and texts name the
commands of their own language.

End to end: the Application `kebas run` builds starts against the fake Bot API, which keeps
what the bot announced per language, as Telegram shows it to clients.
"""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from telegram import Bot, BotCommand
from telegram.error import BadRequest

from support.fakebotapi import TOKEN
from support.harness import Runner, is_question, running_bot, shown

ID_MENU = ["mulai", "kembali", "ulang", "batal", "bantuan", "privasi", "hapus", "bahasa",
           "ringkasan"]
EN_MENU = ["start", "back", "restart", "cancel", "help", "privacy", "delete", "language",
           "summary"]
PROFILE_SETTERS = ("setMyCommands", "setMyDescription", "setMyShortDescription")
# An hour's flood wait, as Telegram answers a bot that changes its profile too often.
FLOOD_WAIT = (429, "Too Many Requests: retry after 3600", {"retry_after": 3600})


@pytest.fixture
async def bot(fake, shipped, tmp_path):
    async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3") as app:
        yield app


def names(menu):
    return [command["command"] for command in menu]


def commands_named(text):
    """Every /command a text names (not the slash inside "27/2022" or "kebas/lemah")."""
    return set(re.findall(r"(?<![\w/])/([a-z_]+)", text))


async def test_indonesian_is_every_clients_menu_and_english_clients_get_english(fake, bot):
    assert names(fake.menu()) == ID_MENU, "the default menu, for every client"
    assert names(fake.menu("en")) == EN_MENU
    assert sorted(language for _scope, language in fake.menus) == ["", "en"]
    assert fake.menu()[1] == {"command": "kembali",
                              "description": "Kembali ke pertanyaan sebelumnya"}
    assert fake.menu("en")[1] == {"command": "back",
                                  "description": "Back to the previous question"}


async def test_each_language_gets_a_description_and_short_description(fake, bot, shipped):
    assert set(fake.descriptions) == set(fake.short_descriptions) == {"", "en"}
    for language, code, emergency in (("id", "", "112 atau 119"), ("en", "en", "112 or 119")):
        locale = shipped.locales[language]
        assert fake.descriptions[code] == locale.text("bot.description")
        assert fake.short_descriptions[code] == locale.text("bot.short_description")
        assert emergency in fake.descriptions[code]
        assert emergency in fake.short_descriptions[code]
    assert "mati rasa" in fake.descriptions[""] and "bukan dokter" in fake.descriptions[""]
    assert "numb" in fake.descriptions["en"] and "not a doctor" in fake.descriptions["en"]


@pytest.mark.parametrize(("language", "back"), [("en", "/back"), ("id", "/kembali"),
                                                ("en", "/kembali"), ("id", "/back")])
async def test_back_works_mid_session_under_either_name(fake, bot, shipped, language, back):
    runner = Runner(fake, 301, language=language)
    await runner.agree()
    await runner.choose_many("none")
    assert runner.node() == "a3_saddle"
    await runner.type(back, expect=shown(shipped.locales[language], "info.went_back"))
    await fake.wait_for(lambda: is_question(runner.sent[-1]))
    assert runner.node() == "a12_alarm"


@pytest.mark.parametrize(("language", "start"), [("en", "/start"), ("en", "/mulai"),
                                                 ("id", "/mulai"), ("id", "/start")])
async def test_either_start_welcomes_a_new_runner(fake, bot, shipped, language, start):
    runner = Runner(fake, 302, language=language)
    welcome = shown(shipped.locales[language], "tg.welcome").split(".")[0]
    await runner.type(start, expect=welcome)
    await runner.tap(runner.sent[-1], "k:agree")
    await fake.wait_for(lambda: any(is_question(m) for m in runner.sent))


@pytest.mark.parametrize(("language", "help_", "own", "other"), [
    ("en", "/help", EN_MENU, ID_MENU), ("id", "/bantuan", ID_MENU, EN_MENU)])
async def test_help_and_consent_name_the_commands_of_their_language(fake, bot, language,
                                                                     help_, own, other):
    runner = Runner(fake, 303, language=language)
    await runner.type(help_, expect="/" + own[1])
    assert commands_named(runner.sent[-1].text) == set(own) - {own[4]}, "all but help itself"
    await runner.type("/" + own[0], expect="/" + own[6])
    consent = runner.sent[-1].text
    assert {own[5], own[6]} <= commands_named(consent), "privacy and delete"
    assert not commands_named(consent) & set(other)


async def test_a_refused_description_is_a_warning_and_the_bot_runs(fake, shipped, tmp_path,
                                                                    caplog):
    fake.fail_next["setMyDescription"] = [(400, "Bad Request: BOT_DESCRIPTION_INVALID", None)]
    fake.fail_next["setMyShortDescription"] = [FLOOD_WAIT]
    # it starts and serves runners without waiting out the hour first
    async with asyncio.timeout(60), running_bot(fake, shipped, tmp_path / "kebas.sqlite3"):
        runner = Runner(fake, 304, language="en")
        await runner.agree()
    assert len(fake.descriptions) == len(fake.short_descriptions) == 1, "the other language's"
    assert names(fake.menu()) == ID_MENU and names(fake.menu("en")) == EN_MENU
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and r.name == "kebas.telegram"]
    assert any("description" in w and "BadRequest" in w for w in warnings), warnings
    assert any("short description" in w and "RetryAfter" in w for w in warnings), warnings


async def test_a_restart_changes_only_what_differs(fake, shipped, tmp_path):
    """Telegram rate-limits these methods: a restart (or each webhook worker) reads first."""
    db = tmp_path / "kebas.sqlite3"
    async with running_bot(fake, shipped, db):
        pass
    assert sorted(c.method for c in fake.calls if c.method in PROFILE_SETTERS) == sorted(
        PROFILE_SETTERS * 2)
    before = len(fake.calls)
    fake.descriptions["en"] = "An older description"
    async with running_bot(fake, shipped, db):
        pass
    again = [call for call in fake.calls[before:] if call.method in PROFILE_SETTERS]
    assert [(c.method, c.params.get("language_code")) for c in again] == [
        ("setMyDescription", "en")]
    assert fake.descriptions["en"] == shipped.locales["en"].text("bot.description")


# --- the fake refuses what Telegram refuses ---------------------------------------------


@pytest.mark.parametrize(("method", "params"), [
    ("set_my_description", {"description": "x" * 513}),
    ("set_my_short_description", {"short_description": "x" * 121}),
    ("set_my_description", {"description": "Halo", "language_code": "ind"}),
    ("set_my_commands", {"commands": []}),
    ("set_my_commands", {"commands": [BotCommand("x" * 33, "Terlalu panjang")]}),
    ("set_my_commands", {"commands": [BotCommand("Mulai", "Huruf besar")]}),
    ("set_my_commands", {"commands": [BotCommand("mulai", "x" * 257)]}),
    ("set_my_commands", {"commands": [BotCommand(f"c{n}", "Satu") for n in range(101)]}),
])
async def test_the_fake_refuses_what_telegram_refuses(fake, method, params):
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        with pytest.raises(BadRequest):
            await getattr(bot, method)(**params)


async def test_the_fake_keeps_each_language_apart(fake):
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        await bot.set_my_description("Untuk semua", language_code=None)
        await bot.set_my_short_description("For English", language_code="en")
        await bot.set_my_commands([BotCommand("back", "Back")], language_code="en")
        await bot.set_my_description("x" * 512, language_code="de")
        assert (await bot.get_my_description()).description == "Untuk semua"
        assert (await bot.get_my_short_description("en")).short_description == "For English"
        assert (await bot.get_my_short_description()).short_description == ""
        assert await bot.get_my_commands(language_code="en") == (BotCommand("back", "Back"),)
        assert await bot.get_my_commands() == ()
