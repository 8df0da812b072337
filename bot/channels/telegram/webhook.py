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

Every request is checked before it costs anything (`Refused`): the secret token, a body of at
most a megabyte read within seconds, JSON nested no deeper than an update is; a connection must
send its headers within seconds and carries one request (`HeadersInTime`). Refusals reach the
log as one line a minute (`Refusals`), so a flood of them cannot fill it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update

from bot.channels.telegram.app import KebasApplication, build_bot
from bot.channels.telegram.chats import chat_key
from bot.channels.telegram.health import health_routes
from bot.channels.telegram.polling import readable
from bot.content.loader import Bundle
from bot.storage import STORAGE_FAULTS, SessionStore, shown_database

log = logging.getLogger("kebas.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How long a worker holds a chat without renewing: a chat held by a worker that died is free
# again this long after the worker's last renewal at most. A living worker renews it every
# RENEW_SECONDS for as long as the update takes (a flood wait can take long).
LEASE_SECONDS = 3.0
RENEW_SECONDS = 1.0
# What a request may cost (docs/deploy.md, the reverse proxy): Telegram's updates are a few
# kilobytes, nested about ten deep, and sent at once, by Telegram or by the proxy.
MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
HEADER_SECONDS = 10.0  # from connecting to the end of the request's headers
BODY_SECONDS = 10.0  # from the end of the headers to the end of the body
MAX_HEADER_BYTES = 16 * 1024  # request line and headers (h11's own default, made explicit)
# Connections and requests in hand at once; beyond it uvicorn answers 503. Telegram opens at
# most `max_connections` (40) to the bot, for all workers together.
MAX_CONNECTIONS = 100
REFUSALS_EVERY = 60.0  # seconds between the log's lines about refused requests


class ChatTurns:
    """One update of a chat at a time, across every worker process on the database.

    Without it, a worker could show "the current question" read just before another worker
    moved the chat on, and the runner would be looking at an old question.
    """

    def __init__(self, store: SessionStore, clock: Callable[[], float] = time.time, *,
                 lease_seconds: float = LEASE_SECONDS,
                 renew_seconds: float = RENEW_SECONDS) -> None:
        self.store, self.clock = store, clock
        self.lease_seconds, self.renew_seconds = lease_seconds, renew_seconds

    @contextlib.asynccontextmanager
    async def turn(self, chat_key: str | None) -> AsyncIterator[None]:
        """Hold the chat while the block runs. A database that fails while the turn is being
        taken raises (the caller apologises); once it is taken, a failing database cannot
        take it away."""
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


class Refused(Exception):
    """A request Kebas will not handle: the HTTP status, and the reason as the log counts it."""

    def __init__(self, status: int, reason: str, text: str) -> None:
        super().__init__(text)
        self.status, self.reason, self.text = status, reason, text


class Refusals:
    """Refused requests, told to the operator in one line a minute at most.

    The first refusal after a quiet minute is logged at once; those that follow are counted
    and summed up when the minute is over (and when the worker stops), so a flood of bad
    requests costs the log one line a minute, and none goes uncounted.
    """

    def __init__(self, every: float = REFUSALS_EVERY,
                 clock: Callable[[], float] = time.monotonic,
                 counted: Callable[[str], None] = lambda _reason: None) -> None:
        self.every, self.clock = every, clock
        self.counted = counted  # told of each refusal as it comes (/metrics)
        self.counts: Counter[str] = Counter()
        self.last: float | None = None  # when the last line was logged
        self.pending: asyncio.TimerHandle | None = None

    def refused(self, reason: str) -> None:
        self.counts[reason] += 1
        self.counted(reason)
        now = self.clock()
        if self.last is None or now - self.last >= self.every:
            self.report()
        elif self.pending is None:
            self.pending = asyncio.get_running_loop().call_later(
                self.last + self.every - now, self.report)

    def report(self) -> None:
        """Log what was refused since the last line, if anything."""
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
        if not self.counts:
            return
        total = sum(self.counts.values())
        kinds = ", ".join(f"{count} {reason}" for reason, count in self.counts.most_common())
        log.warning("refused %d webhook request%s in the last minute: %s", total,
                    "" if total == 1 else "s", kinds)
        self.counts.clear()
        self.last = self.clock()


class UvicornRefusals(logging.Filter):
    """uvicorn's own refusals (too many connections, not HTTP), counted instead of logged
    one line each."""

    REASONS = {"Exceeded concurrency limit.": "over the connection limit",
               "Invalid HTTP request received.": "not HTTP",
               "Unsupported upgrade request.": "an upgrade request",
               "No supported WebSocket library detected.": "an upgrade request"}

    def __init__(self, refusals: Refusals) -> None:
        super().__init__()
        self.refusals = refusals

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        reason = next((why for start, why in self.REASONS.items()
                       if message.startswith(start)), None)
        if reason is None:
            return True
        self.refusals.refused(reason)
        return False


async def read_body(request: Request) -> bytes:
    """The request's body, refused once it is larger than MAX_BODY_BYTES (by its
    Content-Length, before reading any of it, or by counting) or slower than BODY_SECONDS."""
    declared = request.headers.get("content-length", "")  # digits: h11 refused any other
    if len(declared) > 9 or (declared.isdigit() and int(declared) > MAX_BODY_BYTES):
        raise Refused(413, "too large", "request body larger than 1 MB")
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_SECONDS):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise Refused(413, "too large", "request body larger than 1 MB")
    except TimeoutError:
        raise Refused(408, "too slow", "request body too slow") from None
    except ClientDisconnect:
        raise Refused(400, "cut off", "request body cut off") from None
    return bytes(body)


def parse_update(body: bytes, bot: Any) -> Update:
    """The update in a body, or Refused: not JSON, nested deeper than any update is, or not
    an update. The depth is checked before PTB reads it (its reader recurses)."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise Refused(400, "nested too deeply", "JSON nested too deeply") from None
    except ValueError:
        raise Refused(400, "not an update", "not a Telegram update") from None
    if nesting(data) > MAX_JSON_DEPTH:
        raise Refused(400, "nested too deeply", "JSON nested too deeply")
    # One PTB cannot read is skipped as in polling (logged once by id and kind) and answered
    # 200 as a bare update the bot ignores: refused, Telegram would post it again and again.
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise Refused(400, "not an update", "not a Telegram update")
    kept = readable(data)
    try:
        update = Update.de_json(kept, bot) if kept is not None else None
    except (ValueError, TypeError, KeyError, AttributeError):
        update = None
    if update is None:
        raise Refused(400, "not an update", "not a Telegram update")
    return update


def nesting(data: Any) -> int:
    """How deep objects and arrays are nested in parsed JSON (a scalar: 0), without
    recursion; it stops counting once past MAX_JSON_DEPTH."""
    deepest, pending = 0, [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = list(value.values())
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        pending.extend((item, depth + 1) for item in value if isinstance(item, (dict, list)))
    return deepest


class OneRequestPerConnection:
    """ASGI middleware: every answer closes its connection (`Connection: close`).

    Telegram and a reverse proxy open connections as they need them; closing each after its
    answer means a connection never idles between requests, and `HeadersInTime` has one
    request per connection to time.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def closing(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing if scope["type"] == "http" else send)


def headers_in_time(refusals: Refusals, seconds: float = HEADER_SECONDS) -> type:
    """uvicorn's HTTP/1.1 protocol (h11), closing a connection whose request headers have not
    all arrived `seconds` after it was made.

    uvicorn times out only a connection idle between two requests: one that connects and says
    nothing, or trickles its headers a byte at a time, it would hold for ever. Each connection
    carries one request (`OneRequestPerConnection`), so its headers end at the first empty
    line; the body has its own deadline (`read_body`).
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadersInTime(asyncio.Protocol):
        def __init__(self, **options: Any) -> None:
            self.http = H11Protocol(**options)
            self.transport: asyncio.BaseTransport | None = None
            self.deadline: asyncio.TimerHandle | None = None
            self.begun, self.tail = False, b""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.deadline = asyncio.get_running_loop().call_later(seconds, self.too_slow)
            self.http.connection_made(transport)  # type: ignore[arg-type]

        def data_received(self, data: bytes) -> None:
            if self.deadline is not None:
                self.watch(data)
            self.http.data_received(data)

        def watch(self, data: bytes) -> None:
            """Stop the clock at the empty line that ends the headers (blank lines before
            the request line do not count)."""
            if not self.begun:
                data = data.lstrip(b"\r\n")
                self.begun = bool(data)
            seen = self.tail + data
            if self.begun and (b"\n\n" in seen or b"\n\r\n" in seen):
                self.deadline.cancel()  # type: ignore[union-attr]
                self.deadline = None
            self.tail = seen[-2:]

        def too_slow(self) -> None:
            self.deadline = None
            refusals.refused("too slow")
            if self.transport is not None:
                self.transport.close()

        def eof_received(self) -> bool | None:
            self.http.eof_received()
            return None  # as H11Protocol: the transport closes

        def connection_lost(self, exc: Exception | None) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None
            self.http.connection_lost(exc)

        def pause_writing(self) -> None:
            self.http.pause_writing()

        def resume_writing(self) -> None:
            self.http.resume_writing()

    return HeadersInTime


def route_path(public_url: str) -> str:
    """The path Telegram posts to: the public URL's, which the reverse proxy passes on."""
    return urlsplit(public_url).path or "/"


def webhook_app(application: KebasApplication, secret: str, path: str,
                refusals: Refusals | None = None) -> Starlette:
    """The ASGI app of one worker: the Telegram route, `/healthz` and `/metrics` (`serve`
    runs it)."""
    kebas = application.bot_data["kebas"]
    expected = secret.encode()
    turns = ChatTurns(kebas.store)
    kebas.followups.chat_turn = turns.turn  # a check-in is sent in the chat's turn too
    refusals = refusals or Refusals(counted=kebas.metrics.webhook_refusal)

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        try:
            if not hmac.compare_digest(given, expected):
                raise Refused(403, "wrong secret", "")
            update = parse_update(await read_body(request), application.bot)
        except Refused as refusal:
            refusals.refused(refusal.reason)
            return Response(refusal.text or None, status_code=refusal.status)
        chat = update.effective_chat

        async def handle() -> None:
            try:
                async with turns.turn(None if chat is None else chat_key(chat.id)):
                    await application.process_update(update)  # on_error has any fault in it
            except Exception as exc:  # the chat's turn could not be taken: the database
                # As in polling: the operator's sentence and the runner's apology (on_error);
                # and Telegram's 200, not a retry: delivered again later, a typed answer would
                # be read against whatever question is current by then, while the runner,
                # told to try again, may have answered it already.
                await application.process_error(update, exc)

        # the same road as polling: chats side by side, each in order (PerChatUpdates, which
        # also counts a flood), and within the chat's turn here, its turn among the workers
        await application.update_processor.process_update(update, handle())
        return Response(status_code=200)

    return Starlette(routes=[Route(path, receive, methods=["POST"]), *health_routes(kebas)],
                     middleware=[Middleware(OneRequestPerConnection)])


async def serve(application: KebasApplication, server: Any, url: str, secret: str) -> None:
    """The bot's lifetime around the web server's, as PTB's custom webhook example has it.

    The store opens and the webhook is registered before the server listens, so a refusal
    (a locked database, a wrong token) is an error here, not a request that fails.
    """
    async with application:  # initialize (getMe) ... shutdown
        try:
            if application.post_init is not None:  # the store, purge, commands, reload
                await application.post_init(application)
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
            if application.post_shutdown is not None:  # every step is on disk
                await application.post_shutdown(application)


async def register(application: KebasApplication, url: str, secret: str,
                   max_connections: int = 40) -> None:
    """Tell Telegram where to post updates, with the secret it must send along."""
    await application.bot.set_webhook(url=url, secret_token=secret,
                                      allowed_updates=Update.ALL_TYPES,
                                      max_connections=max_connections)


def run_webhook(settings: Any, bundle: Bundle) -> bool:
    """Serve Telegram's posts until SIGTERM or Ctrl-C (uvicorn: requests in flight finish);
    whether it listened at all."""
    import uvicorn

    application = build_bot(settings, bundle, polling=False)
    host, port = settings.listen_address()
    refusals = Refusals(counted=application.bot_data["kebas"].metrics.webhook_refusal)
    if settings.kebas_health_listen:
        log.warning("KEBAS_HEALTH_LISTEN is not used with a webhook: /healthz and /metrics "
                    "are served beside the webhook, on %s:%d", host, port)
    app = webhook_app(application, settings.webhook_secret,
                      route_path(settings.kebas_webhook_url), refusals)
    log.info("Kebas is starting (webhook): dialog %s v%s, database %s, listening on %s:%d; %s",
             bundle.dialog().id, bundle.dialog().version, shown_database(settings.kebas_db),
             host, port, bundle.review_status)
    server = uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, lifespan="off", log_config=None, access_log=False,
        timeout_graceful_shutdown=30, http=headers_in_time(refusals), ws="none",
        h11_max_incomplete_event_size=MAX_HEADER_BYTES, limit_concurrency=MAX_CONNECTIONS,
        # a backstop: every answer closes its connection (OneRequestPerConnection)
        timeout_keep_alive=5,
        proxy_headers=False))  # the client's address is never used, so never trusted
    counted = UvicornRefusals(refusals)
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addFilter(counted)
    try:
        asyncio.run(serve(application, server, settings.kebas_webhook_url,
                          settings.webhook_secret))
    finally:
        uvicorn_log.removeFilter(counted)
        refusals.report()  # what was counted since the last line
    log.info("Kebas stopped")
    return bool(server.started)  # False: it never listened (e.g. the port is taken)


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
