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
from bot.content.loader import default_paths
from bot.core.i18n import pick_language
from bot.storage import SQLiteStore, StorageError

if TYPE_CHECKING:
    from bot.settings import Settings


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


def _bot_settings(args: argparse.Namespace, *, webhook: bool | None = False
                  ) -> Settings | int:
    """The settings a command that talks to Telegram needs, or the exit status after saying
    why they cannot work. `webhook=None`: webhook mode if a webhook address is set."""
    from bot.settings import SettingsProblem, check_webhook, load_settings
    try:
        settings = load_settings(args.env_file)
        for option, name in (("webhook", "kebas_webhook_url"), ("listen", "kebas_listen"),
                             ("url", "kebas_webhook_url")):
            if getattr(args, option, None):
                setattr(settings, name, getattr(args, option))
        if webhook or (webhook is None and settings.kebas_webhook_url):
            check_webhook(settings)
        elif webhook is None:  # long polling: where it serves /healthz and /metrics, if set
            settings.health_address()
    except SettingsProblem as exc:
        complain(str(exc))
        return EXIT_USAGE
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    """Long polling (or a webhook server) until SIGTERM or Ctrl-C; refuses to start on bad
    settings or a bad dialog."""
    settings = _bot_settings(args, webhook=None)
    if isinstance(settings, int):
        return settings
    bundle = load_usable(settings.content_paths(default_paths()))
    if bundle is None:
        complain("not starting the bot")
        return EXIT_PROBLEMS
    from telegram.error import BadRequest, InvalidToken, TelegramError

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
    except InvalidToken:
        complain("the Bot API rejected TELEGRAM_BOT_TOKEN. Copy the token again from "
                 "@BotFather (or /revoke it there and use the new one).")
    except BadRequest as exc:  # e.g. setWebhook refused the address
        detail = str(exc).replace(settings.token, logsafe.REDACTED)
        complain(f"Telegram refused: {detail}. Not starting the bot.")
    except TelegramError as exc:
        detail = str(exc).replace(settings.token, logsafe.REDACTED)
        complain(f"cannot reach the Bot API at {settings.telegram_api_base_url} "
                 f"({type(exc).__name__}: {detail}). Check the network and "
                 f"TELEGRAM_API_BASE_URL.")
    return EXIT_PROBLEMS


def cmd_webhook(args: argparse.Namespace) -> int:
    """Register, remove or show the bot's webhook with Telegram (a deploy step)."""
    settings = _bot_settings(args, webhook=args.action == "set")
    if isinstance(settings, int):
        return settings
    from telegram import Bot, Update
    from telegram.error import InvalidToken, TelegramError

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
    except InvalidToken:
        complain("the Bot API rejected TELEGRAM_BOT_TOKEN. Copy the token again from "
                 "@BotFather.")
        return EXIT_PROBLEMS
    except TelegramError as exc:
        detail = str(exc).replace(settings.token, logsafe.REDACTED)
        complain(f"Telegram refused: {detail}")
        return EXIT_PROBLEMS
    return EXIT_OK
