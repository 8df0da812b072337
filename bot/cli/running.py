"""`kebas chat`, `run` and `webhook`: the bot itself, in a terminal or on Telegram, and
registering its webhook with Telegram."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from bot.cli.shared import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_STORAGE,
    EXIT_USAGE,
    complain,
    given_paths,
    load_usable,
    on_store,
    usable_dialog,
)
from bot.core.i18n import pick_language
from bot.storage import SQLiteStore, StorageError

if TYPE_CHECKING:
    from telegram.error import TelegramError

    from bot.settings import Settings

REJECTED_TOKEN = ("the Bot API rejected TELEGRAM_BOT_TOKEN. Copy the token again from "
                  "@BotFather (or /revoke it there and use the new one).")


def cmd_chat(args: argparse.Namespace) -> int:
    """The dialog in this terminal, its sessions kept in a SQLite file."""
    found = usable_dialog(given_paths(args.paths), args.dialog)
    if isinstance(found, int):
        return found
    bundle, dialog = found
    locale = bundle.locales[pick_language(args.lang, bundle.locales)]
    from bot.channels.console import ConsoleChat
    from bot.conversation import Conversations

    async def run() -> int:
        async with SQLiteStore(args.db) as store:
            conversations = Conversations(dialog, store, bundle.locales,
                                          checkin=bundle.checkin_for(dialog))
            chat = ConsoleChat(conversations, locale, f"cli:{args.user}")
            return await chat.run()

    code, status = on_store(run(), args.db)
    return status if code is None else code


def _bot_settings(args: argparse.Namespace, *, webhook: bool | None = False) -> Settings:
    """The settings a command that talks to Telegram needs; SettingsProblem (said by `kebas`,
    exit 2) when they cannot work. `webhook=None`: webhook mode if a webhook address is set."""
    from bot.settings import check_webhook, load_settings
    settings = load_settings(args.env_file)
    for option, name in (("webhook", "kebas_webhook_url"), ("listen", "kebas_listen"),
                         ("url", "kebas_webhook_url")):
        if getattr(args, option, None):
            setattr(settings, name, getattr(args, option))
    if webhook or (webhook is None and settings.kebas_webhook_url):
        check_webhook(settings, "--webhook" if webhook is None else "--url")
    elif webhook is None:  # long polling: where it serves /healthz and /metrics, if set
        settings.health_address()
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    """Long polling (or a webhook server) until SIGTERM or Ctrl-C; refuses to start on bad
    settings or a bad dialog."""
    settings = _bot_settings(args, webhook=None)
    bundle = load_usable(given_paths(None, settings))
    if bundle is None:
        complain("not starting the bot")
        return EXIT_PROBLEMS
    from telegram.error import TelegramError

    from bot import logsafe
    from bot.channels.telegram.app import run_polling
    from bot.settings import SettingsProblem
    logsafe.configure(settings.token, settings.kebas_log_level, settings.kebas_log_format)
    try:
        if settings.kebas_webhook_url:
            from bot.channels.telegram.webhook import (
                run_webhook,  # Starlette and uvicorn only here
            )
            # not listening: e.g. the port is taken (uvicorn has said why)
            return EXIT_OK if run_webhook(settings, bundle) else EXIT_PROBLEMS
        run_polling(settings, bundle)
        return EXIT_OK
    except StorageError as exc:
        complain(f"{exc}. Not starting the bot.")
        return EXIT_STORAGE
    except SettingsProblem as exc:  # found only at start: e.g. the health port is taken
        complain(f"{exc}. Not starting the bot.")
        return EXIT_USAGE
    except TelegramError as exc:
        return telegram_refused(exc, settings, " Not starting the bot.")


def telegram_refused(exc: TelegramError, settings: Settings, after: str = "") -> int:
    """Say what Telegram's refusal means; its exit status. A token it rejects, or a request it
    refuses (setWebhook's address), is a bad setting: EXIT_USAGE, which systemd does not
    restart on, since no restart can mend it. Anything else (the network): EXIT_PROBLEMS."""
    from telegram.error import BadRequest, InvalidToken

    from bot import logsafe
    detail = str(exc).replace(settings.token, logsafe.REDACTED)
    if isinstance(exc, InvalidToken):
        complain(REJECTED_TOKEN)
        return EXIT_USAGE
    if isinstance(exc, BadRequest):
        complain(f"Telegram refused: {detail}.{after}")
        return EXIT_USAGE
    complain(f"cannot reach the Bot API at {settings.telegram_api_base_url} "
             f"({type(exc).__name__}: {detail}). Check the network and TELEGRAM_API_BASE_URL.")
    return EXIT_PROBLEMS


def cmd_webhook(args: argparse.Namespace) -> int:
    """Register, remove or show the bot's webhook with Telegram (a deploy step)."""
    settings = _bot_settings(args, webhook=args.action == "set")
    from telegram import Bot, Update
    from telegram.error import TelegramError

    from bot import logsafe
    from bot.channels.telegram.webhook import webhook_info
    logsafe.configure(settings.token, settings.kebas_log_level, settings.kebas_log_format)

    async def act() -> str:
        async with Bot(settings.token, base_url=settings.telegram_api_base_url) as bot:
            if args.action == "set":
                url = settings.kebas_webhook_url
                assert url is not None, "check_webhook refuses settings without one"
                await bot.set_webhook(url=url,
                                      secret_token=settings.webhook_secret,
                                      allowed_updates=Update.ALL_TYPES,
                                      max_connections=args.max_connections)
                return f"webhook set: {url}"
            if args.action == "delete":
                await bot.delete_webhook(drop_pending_updates=args.drop_pending_updates)
                return "webhook deleted: the bot can run with long polling again"
            return webhook_info(await bot.get_webhook_info())

    try:
        print(asyncio.run(act()))
    except TelegramError as exc:
        return telegram_refused(exc, settings)
    return EXIT_OK
