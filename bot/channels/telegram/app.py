"""The Application `kebas run` runs: PTB wired to Kebas's handler, store, inbox and limits.

Long polling (`run_polling`) and the webhook workers (`bot.channels.telegram.webhook`) build the
same Application (`build_bot`); only how updates come in differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotDescription,
    BotShortDescription,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults, TypeHandler
from telegram.request import HTTPXRequest

from bot.channels.telegram.faults import storage_fault
from bot.channels.telegram.handler import KebasTelegram
from bot.channels.telegram.metrics import FloodWaitsCounted
from bot.channels.telegram.polling import KebasBot, UnreadableSkipped
from bot.content.loader import Bundle, default_paths
from bot.core.i18n import DEFAULT_LANGUAGE, Locale, command_menu
from bot.core.model import Dialog
from bot.storage import (
    STORAGE_FAULTS,
    StorageError,
    open_store,
    purge_now_and_daily,
    shown_database,
    utc_now,
)

log = logging.getLogger("kebas.telegram")

# Connections to the Bot API. httpcore scans its whole pool for every request, so PTB's default
# of 256 costs more CPU than it saves under load (docs/performance.md); 16 carry far more than
# the 30 messages a second Telegram allows, even at 200 ms a request. A request waits for a free
# connection rather than fail.
HTTP_CONNECTIONS = 16

KebasApplication = Application[Any, Any, Any, Any, Any, Any]

__all__ = ["HTTP_CONNECTIONS", "build_bot", "run_polling"]


def application(kebas: KebasTelegram, token: str, base_url: str, base_file_url: str, *,
                polling: bool = True) -> KebasApplication:
    """`polling=False`: no Updater; a webhook server hands each update in (`webhook`).

    Long polling skips an update PTB cannot read and stops at once on SIGTERM, whatever
    getUpdates answers (`polling`).
    """
    bot = KebasBot(token, base_url, base_file_url,
                   request=HTTPXRequest(connection_pool_size=HTTP_CONNECTIONS,
                                        pool_timeout=None),
                   get_updates_request=UnreadableSkipped(connection_pool_size=1),
                   rate_limiter=FloodWaitsCounted(kebas.sending, kebas.metrics),
                   defaults=Defaults(parse_mode=ParseMode.HTML,
                                     link_preview_options=LinkPreviewOptions(is_disabled=True)))
    builder = (ApplicationBuilder().bot(bot)
               .concurrent_updates(kebas.processor)
               .update_queue(kebas.updates))
    if not polling:
        builder = builder.updater(None)
    app = builder.build()
    bot.poll_while(lambda: app.updater is not None and app.updater.running)
    app.add_handler(TypeHandler(Update, kebas.on_update))
    app.add_error_handler(kebas.on_error)
    return app


async def announce_commands(app: KebasApplication, locales: dict[str, Locale]) -> None:
    """The command menu, description and short description Telegram shows each client: the
    default language's to every client (no language_code), each other language's to its own.

    Each is read first and set only when it differs: Telegram rate-limits these methods, and
    every start (each webhook worker's too) would set them all again. They go out without the
    outgoing limiter, which would wait out a flood wait (an hour or more, for these methods)
    and hold every message to runners meanwhile. A refusal is a warning: the bot works
    without them, and tries again at its next start.
    """
    main = app.bot
    try:
        async with Bot(main.token, base_url=lambda _token: main.base_url,
                       base_file_url=lambda _token: main.base_file_url) as bot:
            for language, locale in locales.items():
                await _announce(bot, language, locale)
    except TelegramError as exc:  # its getMe, as it opens
        _not_set("command menus and descriptions", "any language", exc)


async def _announce(bot: Bot, language: str, locale: Locale) -> None:
    code = None if language == DEFAULT_LANGUAGE else language
    # the log's words for whom: the one without a language code is every client's default
    shown = f"default: {language}" if code is None else f"language {language}"
    menu = tuple(BotCommand(name, locale.text(f"command.{key}"))
                 for key, name in command_menu(language).items())
    description = locale.text("bot.description")
    short = locale.text("bot.short_description")
    await _unless_same(
        "command menu", shown, menu, lambda: bot.get_my_commands(language_code=code),
        lambda: bot.set_my_commands(menu, language_code=code))
    await _unless_same(
        "description", shown, BotDescription(description),
        lambda: bot.get_my_description(language_code=code),
        lambda: bot.set_my_description(description, language_code=code))
    await _unless_same(
        "short description", shown, BotShortDescription(short),
        lambda: bot.get_my_short_description(language_code=code),
        lambda: bot.set_my_short_description(short, language_code=code))


async def _unless_same(what: str, shown: str, wanted: object,
                       read: Callable[[], Awaitable[object]],
                       write: Callable[[], Awaitable[object]]) -> None:
    try:
        if await read() == wanted:
            return
        await write()
        log.info("set the bot's %s (%s)", what, shown)
    except TelegramError as exc:
        _not_set(what, shown, exc)


def _not_set(what: str, shown: str, exc: TelegramError) -> None:
    log.warning("could not set the bot's %s (%s): %s: %s; the bot works without it, and "
                "tries again at its next start", what, shown, type(exc).__name__, exc)


def build_bot(settings: Any, bundle: Bundle, *, polling: bool = True) -> KebasApplication:
    """The Application `kebas run` runs; tests drive this same object against a fake server.

    The store opens before the first update (post_init) and closes after the last
    (post_shutdown), so every answer is on disk before the process ends. Long polling with
    KEBAS_HEALTH_LISTEN serves /healthz and /metrics meanwhile (a webhook worker serves them
    beside its route).
    """
    store = open_store(settings.kebas_db)
    kebas = KebasTelegram(bundle.dialog(), bundle.locales, store,
                          content_paths=settings.content_paths(default_paths()),
                          admin_ids=frozenset(settings.kebas_admin_ids),
                          retention_days=settings.kebas_retention_days,
                          send_rate=settings.kebas_send_rate / settings.kebas_workers,
                          erase_key=hashlib.sha256(
                              b"kebas /hapus confirmation\0" + settings.token.encode()).digest(),
                          checkin=bundle.checkin_for(bundle.dialog()))
    kebas.conversations.quiet = settings.quiet_hours()
    app = application(kebas, settings.token, settings.telegram_api_base_url,
                      settings.base_file_url, polling=polling)
    address = settings.health_address() if polling else None
    health = None
    if address is not None:
        from bot.channels.telegram.health import HealthServer  # uvicorn only when asked
        health = HealthServer(kebas, address)

    async def start_up(application: KebasApplication) -> None:
        if health is not None:  # first: a port that cannot be had is refused before all else
            await health.start()
        await store.open()
        try:
            await purge_now_and_daily(application, store, settings.kebas_retention_days,
                                      utc_now, purged=kebas.metrics.purged)
        except STORAGE_FAULTS as exc:  # e.g. locked by another program: refuse, clearly
            raise StorageError(storage_fault(store, exc)) from exc
        kebas.followups.start(application, settings.kebas_followup_poll_seconds)
        warn_if_retention_ends_first(kebas.conversations.dialog,
                                     settings.kebas_retention_days)
        replayed = await kebas.updates.replay(application.bot)
        if replayed:
            log.info("replaying %d updates received before the last stop", replayed)
        await announce_commands(application, kebas.locales)
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals: no reload
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, lambda: application.create_task(
                    kebas.reloads.reload_and_tell_admins(application.bot)))
        kebas.not_ready = None

    async def close_store(_application: KebasApplication) -> None:
        kebas.not_ready = "Kebas is stopping"
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if health is not None:
            await health.stop()
        await kebas.replies.later.close()
        await store.close()

    app.post_init = start_up
    app.post_shutdown = close_store
    app.bot_data["kebas"] = kebas
    return app


def warn_if_retention_ends_first(dialog: Dialog, retention_days: int) -> None:
    """Say at start that follow-ups are not offered when retention would delete them first."""
    longest = max(dict(dialog.followup.days).values()) if dialog.followup else 0
    if longest >= retention_days:
        log.warning("KEBAS_RETENTION_DAYS is %d: follow-ups due after %d days or more are not "
                    "offered (retention would delete them first); set it above %d to offer "
                    "them", retention_days, retention_days, longest)


def run_polling(settings: Any, bundle: Bundle) -> None:
    app = build_bot(settings, bundle)
    log.info("Kebas is starting: dialog %s v%s, database %s; %s", bundle.dialog().id,
             bundle.dialog().version, shown_database(settings.kebas_db), bundle.review_status)
    app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    log.info("Kebas stopped")
