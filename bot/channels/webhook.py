"""Webhook mode: Telegram posts each update to an ASGI app, so several processes can serve one bot.

Each process runs the same `Application` as long polling, without an Updater: the route hands
an update to it and answers Telegram only once the update has been handled, its step committed
and its reply sent. An update that fails on the way (the process dies, the request times out)
is not acknowledged, so Telegram delivers it again, to whichever worker; the processed update
ids in the shared database make it count once. Updates of one chat that reach two workers at
once are handled one after the other (`ChatTurns`, a lease in the shared database), so each
reply is sent from the session as it stands; the session's revision (`bot.conversation`) keeps
the answers right even when a lease runs out. A lease is short and renewed while its update is
handled, so a chat held by a worker that died is another's within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.loader import Bundle
from bot.storage import STORAGE_FAULTS, shown_database

log = logging.getLogger("kebas.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
EXIT_NOT_LISTENING = 1  # e.g. the port is taken; uvicorn has said why
# How long a worker holds a chat without renewing: a chat held by a worker that died is free
# again this long after the worker's last renewal at most. A living worker renews it every
# RENEW_SECONDS for as long as the update takes (a flood wait can take long).
LEASE_SECONDS = 3.0
RENEW_SECONDS = 1.0


class ChatTurns:
    """One update of a chat at a time, across every worker process on the database.

    Without it, a worker could show "the current question" read just before another worker
    moved the chat on, and the runner would be looking at an old question.
    """

    def __init__(self, store: Any, clock: Callable[[], float] = time.time, *,
                 lease_seconds: float = LEASE_SECONDS,
                 renew_seconds: float = RENEW_SECONDS) -> None:
        self.store, self.clock = store, clock
        self.lease_seconds, self.renew_seconds = lease_seconds, renew_seconds

    @contextlib.asynccontextmanager
    async def turn(self, chat_key: str | None) -> AsyncIterator[None]:
        """Hold the chat while the block runs. A database that fails while the turn is being
        taken raises; once it is taken, a failing database cannot take it away."""
        if chat_key is None:  # e.g. an inline query: no chat to keep in order
            yield
            return
        holder, pause = uuid.uuid4().hex, 0.005
        while not await self._take(chat_key, holder):
            await asyncio.sleep(pause)
            pause = min(2 * pause, 0.2)
        done = asyncio.Event()
        renewing = asyncio.create_task(self._renew(chat_key, holder, done))
        try:
            yield
        finally:
            done.set()
            await renewing  # a renewal under way ends first, so it cannot outlive end_lease
            try:
                await self.store.end_lease(chat_key, holder)
            except STORAGE_FAULTS as exc:  # it runs out by itself
                log.warning("could not hand back chat %s's turn (it runs out within %.0f s): "
                            "%s", chat_key, self.lease_seconds, exc)

    async def _take(self, chat_key: str, holder: str) -> bool:
        """Take the lease, or renew it if `holder` has it already."""
        return await self.store.take_lease(chat_key, holder, self.clock(), self.lease_seconds)

    async def _renew(self, chat_key: str, holder: str, done: asyncio.Event) -> None:
        """Keep the lease while the update is handled, however long that takes."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.renew_seconds)
            if done.is_set():
                return
            try:
                kept = await self._take(chat_key, holder)
            except STORAGE_FAULTS as exc:  # try again; the step itself will fail or go on
                log.warning("could not renew chat %s's turn: %s", chat_key, exc)
                continue
            if not kept:  # this worker stalled longer than a lease; the revisions still hold
                log.warning("chat %s's turn ran out while its update was handled; another "
                            "worker has it now", chat_key)
                return


def route_path(public_url: str) -> str:
    """The path Telegram posts to: the public URL's, which the reverse proxy passes on."""
    return urlsplit(public_url).path or "/"


def webhook_app(application: Application, secret: str, path: str) -> Starlette:
    """The ASGI app of one worker: the Telegram route and `/healthz` (`serve` runs it)."""
    kebas = application.bot_data["kebas"]
    expected = secret.encode()
    turns = ChatTurns(kebas.store)

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("refused a webhook request without the right secret token")
            return Response(status_code=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return Response("not a Telegram update", status_code=400)
        if update is None:
            return Response("not a Telegram update", status_code=400)
        chat = update.effective_chat

        async def handle() -> None:
            async with turns.turn(None if chat is None else f"tg:{chat.id}"):
                await application.process_update(update)

        # the same road as polling: chats side by side, each in order (PerChatUpdates, which
        # also counts a flood), and within the chat's turn here, its turn among the workers
        await application.update_processor.process_update(update, handle())
        return Response(status_code=200)

    async def health(_request: Request) -> Response:
        problem = await kebas.health_problem()
        body: dict[str, Any] = {"status": "ok" if problem is None else "unavailable",
                                "dialog": f"{kebas.dialog.id} v{kebas.dialog.version}"}
        if problem is not None:
            body["problem"] = problem
        return JSONResponse(body, status_code=200 if problem is None else 503)

    return Starlette(routes=[Route(path, receive, methods=["POST"]),
                             Route(HEALTH_PATH, health, methods=["GET"])])


async def serve(application: Application, server: Any, url: str, secret: str) -> None:
    """The bot's lifetime around the web server's, as PTB's custom webhook example has it.

    The store opens and the webhook is registered before the server listens, so a refusal
    (a locked database, a wrong token) is an error here, not a request that fails.
    """
    async with application:  # initialize (getMe) ... shutdown
        try:
            await application.post_init(application)  # the store, purge, commands, reload
            await register(application, url, secret)
            log.info("webhook registered: %s", url)
            await application.start()
            # uvicorn raises the stop signal again once it has stopped, under the handler it
            # found in place; with this one that lets the bot stop and close the store below
            previous = {stop: signal.signal(stop, lambda *_: None)
                        for stop in (signal.SIGTERM, signal.SIGINT)}
            try:
                await server.serve()  # until SIGTERM; requests in flight finish first
            except SystemExit:  # uvicorn's way of saying it could not listen (it said why)
                pass
            finally:
                for stop, handler in previous.items():
                    signal.signal(stop, handler)
                await application.stop()
        finally:  # also when starting failed: an open store would keep the process alive
            await application.post_shutdown(application)  # every step is on disk


async def register(application: Application, url: str, secret: str,
                   max_connections: int = 40) -> None:
    """Tell Telegram where to post updates, with the secret it must send along."""
    await application.bot.set_webhook(url=url, secret_token=secret,
                                      allowed_updates=Update.ALL_TYPES,
                                      max_connections=max_connections)


def run_webhook(settings: Any, bundle: Bundle) -> int:
    """Serve Telegram's posts until SIGTERM or Ctrl-C (uvicorn: requests in flight finish)."""
    import uvicorn

    from bot.channels.telegram import build_bot
    application = build_bot(settings, bundle, polling=False)
    host, port = settings.listen_address()
    app = webhook_app(application, settings.webhook_secret,
                      route_path(settings.kebas_webhook_url))
    log.info("Kebas is starting (webhook): dialog %s v%s, database %s, listening on %s:%d",
             bundle.dialog().id, bundle.dialog().version, shown_database(settings.kebas_db),
             host, port)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, lifespan="off",
                                           log_config=None, access_log=False,
                                           timeout_graceful_shutdown=30))
    asyncio.run(serve(application, server, settings.kebas_webhook_url, settings.webhook_secret))
    log.info("Kebas stopped")
    return 0 if server.started else EXIT_NOT_LISTENING


def webhook_info(info: Any) -> str:
    """getWebhookInfo as an operator reads it."""
    lines = [f"url: {info.url or '(none: the bot is not on a webhook)'}",
             f"pending updates: {info.pending_update_count}"]
    if info.max_connections:
        lines.append(f"max connections: {info.max_connections}")
    if info.allowed_updates:
        lines.append(f"allowed updates: {', '.join(info.allowed_updates)}")
    if info.last_error_date:
        lines.append(f"last error: {info.last_error_date:%Y-%m-%d %H:%M:%S} UTC: "
                     f"{info.last_error_message}")
    return "\n".join(lines)
