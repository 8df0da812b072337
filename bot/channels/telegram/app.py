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
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults, TypeHandler
from telegram.request import HTTPXRequest

from bot.channels.telegram.faults import storage_fault
from bot.channels.telegram.handler import KebasTelegram
from bot.channels.telegram.metrics import FloodWaitsCounted
from bot.channels.telegram.polling import KebasBot, UnreadableSkipped
from bot.channels.telegram.ratelimit import outgoing_limiter
from bot.content.loader import Bundle, default_paths
from bot.core.i18n import TELEGRAM_COMMANDS, Locale
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
                   rate_limiter=FloodWaitsCounted(outgoing_limiter(kebas.send_rate),
                                                  kebas.metrics),
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
    """setMyCommands in Indonesian for everyone, and in English for English clients."""
    for language, locale in locales.items():
        commands = [BotCommand(name, locale.text(f"command.{name}"))
                    for name in TELEGRAM_COMMANDS]
        try:
            await app.bot.set_my_commands(
                commands, language_code=None if language == "id" else language)
        except TelegramError as exc:
            log.warning("could not register the command list (%s): %s", language,
                        type(exc).__name__)


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
                              b"kebas /hapus confirmation\0" + settings.token.encode()).digest())
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
            await purge_now_and_daily(application, store,
                                                settings.kebas_retention_days, utc_now)
        except STORAGE_FAULTS as exc:  # e.g. locked by another program: refuse, clearly
            raise StorageError(storage_fault(store, exc)) from exc
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
        await store.close()

    app.post_init = start_up
    app.post_shutdown = close_store
    app.bot_data["kebas"] = kebas
    return app


def run_polling(settings: Any, bundle: Bundle) -> None:
    app = build_bot(settings, bundle)
    log.info("Kebas is starting: dialog %s v%s, database %s", bundle.dialog().id,
             bundle.dialog().version, shown_database(settings.kebas_db))
    app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    log.info("Kebas stopped")
