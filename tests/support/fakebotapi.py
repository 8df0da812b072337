"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests.

It speaks the real wire format (form-encoded POSTs to /bot<TOKEN>/<method>, JSON replies), holds
getUpdates as a long poll, keeps each chat's messages, and answers 400 where real Telegram does
(empty or too long text, bad callback_data, editing with nothing changed, unknown message, HTML
it cannot parse). Tests drive it like runners: `send_text`, `press`, then wait for what the bot
sends. Errors can be injected per method with `fail_next`, or at random with `chaos` (`Chaos`,
in faults.py). What it refuses is in botapirules.py, what it records in botapirecords.py, its
media methods (sendPhoto) in botapimedia.py, and the names and words it hands out (which no
log may show) in people.py.

Webhook mode: after the bot's `setWebhook`, `deliver_to(backends)` makes the fake post each
update, as Telegram does, to the registered URL's path on those backends in turn (the load
balancer in front of the workers), with the secret token, again until one answers 2xx; `twice`
of them also go to a second backend at the same moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from support.botapimedia import UPLOAD_BYTES, MediaMethods
from support.botapiprofile import BotProfileMethods
from support.botapirecords import Call, StoredMessage
from support.botapirules import (
    NOT_MODIFIED,
    TelegramBadRequest,
    decoded,
    validate_markup,
    validate_text,
)
from support.faults import Chaos
from support.people import BOT_USER, HANDED_OUT, people_words

TOKEN = "123456789:AAFakeTokenForKebasTests_0123456789x"


@dataclass
class FakeBotAPI(BotProfileMethods, MediaMethods):
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, dict[int, StoredMessage]] = field(default_factory=dict)
    photos: dict[tuple[int, int], bytes] = field(default_factory=dict)  # (chat, message id)
    fail_next: dict[str, list[tuple[int, str, dict[str, Any] | None]]] = field(
        default_factory=dict)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: Any = field(default_factory=lambda: itertools.count(1))
    _message_ids: Any = field(default_factory=lambda: itertools.count(1000))
    _callback_ids: Any = field(default_factory=lambda: itertools.count(1))
    _history: dict[int, dict[str, Any]] = field(default_factory=dict)  # by update id
    _redelivered: list[dict[str, Any]] = field(default_factory=list)
    _changed: asyncio.Condition | None = None
    _closing: bool = False
    _runner: web.AppRunner | None = None
    port: int = 0
    # set by a test harness that can tell when the bot has nothing in hand (else: quiet time)
    idle: Callable[[], bool] | None = None
    chaos: Chaos | None = None
    # callback query id -> the toast texts the bot answered it with ("" for none)
    answered: dict[str, list[str]] = field(default_factory=dict)
    # told of every call the fake carried out, as it completes (the benchmark's stopwatch)
    observer: Callable[[Call], None] | None = None
    _callback_chats: dict[str, int] = field(default_factory=dict)
    # webhook mode: what setWebhook registered, and the backends updates are posted to
    webhook: dict[str, Any] = field(default_factory=dict)
    backends: list[str] = field(default_factory=list)
    twice: float = 0.0
    posts: list[tuple[int, str, int]] = field(default_factory=list)  # (update, backend, status)
    _deliveries: set[asyncio.Task[None]] = field(default_factory=set)
    _client: aiohttp.ClientSession | None = None
    _turn: Any = field(default_factory=itertools.count)
    _random: random.Random = field(default_factory=lambda: random.Random(5))
    # (method, chat id, seconds): the next such call waits that long before it is carried out
    delays: list[tuple[str, int, float]] = field(default_factory=list)
    # methods whose next answer is cut off halfway, as a broken proxy can (HTTP 200)
    cut_next: set[str] = field(default_factory=set)

    # --- server -----------------------------------------------------------------------

    async def start(self) -> FakeBotAPI:
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=UPLOAD_BYTES)
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop serving; long polls still held (a killed bot's) end at once, not at a timeout."""
        for delivery in self._deliveries:
            delivery.cancel()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            self._closing = True
            await self._notify()
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        form = await request.post()
        params = {key: decoded(key, value) for key, value in form.items()}
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        for delay in self.delays:
            if delay[:2] == (method, self.chat_of(call)):
                self.delays.remove(delay)
                await asyncio.sleep(delay[2])
                break
        call.fault = self.chaos.draw(method) if self.chaos is not None else None
        if call.fault is not None:
            refused = await self._inject(call, request)
            if refused is not None:
                await self._notify()
                return refused
        if self.fail_next.get(method):
            status, description, parameters = self.fail_next[method].pop(0)
            call.status = status
            await self._notify()
            return self._error(status, description, parameters)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            call.status = 400
            return self._error(400, f"Bad Request: the fake Bot API lacks method {method}")
        try:
            result = await handler(params)
        except TelegramBadRequest as exc:
            call.status = exc.status
            await self._notify()
            return self._error(exc.status, exc.description, exc.parameters)
        await self._notify()
        if self.observer is not None:
            self.observer(call)
        if call.fault == "dropped_after":
            return self._drop(request)
        if method in self.cut_next:
            self.cut_next.discard(method)
            whole = json.dumps({"ok": True, "result": result})
            return web.Response(text=whole[:len(whole) // 2], content_type="application/json")
        return web.json_response({"ok": True, "result": result})

    async def _inject(self, call: Call, request: web.Request) -> web.Response | None:
        """Apply a chaos fault that comes before the method; None lets the call go on."""
        assert self.chaos is not None
        if call.fault == "slow":
            await asyncio.sleep(self.chaos.pause())
            return None
        if call.fault == "dropped_after":
            return None
        if call.fault == "dropped":
            call.status = 0
            return self._drop(request)
        if call.fault == "429":
            call.status = 429
            seconds = self.chaos.retry_after
            return self._error(429, f"Too Many Requests: retry after {seconds}",
                               {"retry_after": seconds})
        call.status = 502
        return self._error(502, "Bad Gateway")

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        """Close the connection with no HTTP response: the client sees a NetworkError."""
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    @staticmethod
    def _error(status: int, description: str, parameters: dict[str, Any] | None = None
               ) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # --- Bot API methods --------------------------------------------------------------

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if len(params.get("text") or "") > 200:
            raise TelegramBadRequest("Bad Request: MESSAGE_TOO_LONG")
        self.answered.setdefault(str(params.get("callback_query_id")), []).append(
            params.get("text") or "")
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook:
            raise TelegramBadRequest("Conflict: can't use getUpdates method while webhook is "
                                     "active; use deleteWebhook to delete the webhook first",
                                     status=409)
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        assert self._changed is not None
        async with self._changed:
            while not self._updates and not self._redelivered and not self._closing \
                    and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
        again, self._redelivered = self._redelivered, []
        return again + list(self._updates[:100])

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        text = params.get("text") or ""
        validate_text(text, params.get("parse_mode"))
        markup = validate_markup(params.get("reply_markup"))
        message = StoredMessage(next(self._message_ids), chat_id, text, markup, True,
                                params.get("parse_mode"))
        self.messages.setdefault(chat_id, {})[message.message_id] = message
        return self._message_json(message)

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        text = params.get("text") or ""
        validate_text(text, params.get("parse_mode"))
        markup = validate_markup(params.get("reply_markup"))  # absent: keyboard goes
        if text == message.text and markup == message.reply_markup:
            raise TelegramBadRequest(NOT_MODIFIED)
        message.text, message.reply_markup = text, markup
        message.parse_mode = params.get("parse_mode")
        return self._message_json(message)

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        markup = validate_markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise TelegramBadRequest(NOT_MODIFIED)
        message.reply_markup = markup
        return self._message_json(message)

    async def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        message = self._find(params)
        del self.messages[message.chat_id][message.message_id]
        return True

    def _find(self, params: dict[str, Any]) -> StoredMessage:
        chat = self.messages.get(int(params.get("chat_id", 0)), {})
        message = chat.get(int(params.get("message_id", 0)))
        if message is None:
            raise TelegramBadRequest("Bad Request: message to edit not found")
        return message

    def _message_json(self, message: StoredMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id, "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private" if message.chat_id > 0
                     else "group"},
            "text": message.text,
        }
        if message.from_bot:
            body["from"] = BOT_USER
        if message.reply_markup:
            body["reply_markup"] = message.reply_markup
        return body

    # --- what runners do --------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        """Hand an update to the bot as Telegram would (getUpdates, or a webhook post)."""
        update_id = next(self._update_ids)
        update["update_id"] = update_id
        HANDED_OUT.update(people_words(update))
        self._updates.append(update)
        self._history[update_id] = json.loads(json.dumps(update))
        if self.backends:
            self._updates.remove(update)
            copies = 2 if self._random.random() < self.twice and len(self.backends) > 1 else 1
            first = next(self._turn)
            for copy in range(copies):
                delivery = asyncio.get_running_loop().create_task(
                    self._deliver(update, first + copy))
                self._deliveries.add(delivery)
                delivery.add_done_callback(self._deliveries.discard)
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def forget_pending(self) -> None:
        """Drop the updates the bot has not fetched yet: the test posts them itself."""
        self._updates.clear()

    def deliver_to(self, backends: list[str], twice: float = 0.0) -> None:
        """Post updates to these workers (http://host:port) from now on, as a webhook."""
        self.backends, self.twice = list(backends), twice

    async def _deliver(self, update: dict[str, Any], turn: int) -> None:
        """Post until a worker takes it: another one after each refusal or failure."""
        from urllib.parse import urlsplit
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        path = urlsplit(self.webhook.get("url", "https://unset/")).path or "/"
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook.get("secret_token", "")}
        for attempt in itertools.count():
            backend = self.backends[(turn + attempt) % len(self.backends)]
            try:
                async with self._client.post(backend + path, json=update,
                                             headers=headers) as response:
                    self.posts.append((update["update_id"], backend, response.status))
                    if 200 <= response.status < 300:
                        return
            except (TimeoutError, aiohttp.ClientError):
                self.posts.append((update["update_id"], backend, 0))
            await asyncio.sleep(min(0.1 * 2 ** attempt, 2.0))

    async def delivered(self, timeout: float = 30.0) -> None:
        """Wait until every webhook delivery was taken."""
        await self.wait_for(lambda: not self._deliveries, timeout)

    def redeliver(self, update_id: int) -> None:
        """Telegram sending the same update again, as it does to a bot that crashed before
        confirming it; served once on the next getUpdates whatever its offset."""
        self._redelivered.append(json.loads(json.dumps(self.update(update_id))))
        asyncio.get_running_loop().create_task(self._notify())

    def deliveries(self, update_id: int) -> int:
        """How many times the bot answered this button press."""
        wanted = self.callback_id(update_id)
        return sum(call.params.get("callback_query_id") == wanted
                   for call in self.calls_of("answerCallbackQuery"))

    def user(self, chat_id: int, language: str = "id") -> dict[str, Any]:
        return {"id": abs(chat_id), "is_bot": False, "first_name": f"Pelari{abs(chat_id)}",
                "language_code": language}

    def chat(self, chat_id: int, kind: str = "private") -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = f"Pelari{abs(chat_id)}"
        else:
            chat["title"] = "Klub Lari"
        return chat

    def send(self, chat_id: int, message: dict[str, Any], *, kind: str = "private",
             language: str = "id", field_name: str = "message") -> int:
        """Any message-like update from a runner (text, sticker, photo...)."""
        body = {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": self.chat(chat_id, kind), "from": self.user(chat_id, language),
                **message}
        if kind != "private":
            body["from"] = self.user(777, language)
        stored = StoredMessage(body["message_id"], chat_id, message.get("text", ""), None, False)
        self.messages.setdefault(chat_id, {})[stored.message_id] = stored
        update = {field_name: body}
        return self.push(update)

    def send_text(self, chat_id: int, text: str, **kwargs: Any) -> int:
        message: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.send(chat_id, message, **kwargs)

    def press(self, chat_id: int, message_id: int, data: str, language: str = "id") -> int:
        """Tap a button; returns the update id. `callback_id(update_id)` names the press."""
        message = self.messages[chat_id][message_id]
        callback_id = str(next(self._callback_ids))
        self._callback_chats[callback_id] = chat_id
        update = {"callback_query": {
            "id": callback_id, "from": self.user(chat_id, language),
            "chat_instance": f"ci{chat_id}", "data": data,
            "message": self._message_json(message)}}
        return self.push(update)

    # --- what tests look at -----------------------------------------------------------

    def update(self, update_id: int) -> dict[str, Any]:
        """The update as a runner sent it."""
        return self._history[update_id]

    def updates_sent(self) -> dict[int, dict[str, Any]]:
        """Every update runners sent, by update id."""
        return dict(self._history)

    def callback_id(self, update_id: int) -> str:
        return self.update(update_id)["callback_query"]["id"]

    def press_answered(self, update_id: int) -> bool:
        """Did the bot answer this button press (answerCallbackQuery with its id)?"""
        return self.answer_to(self.callback_id(update_id)) is not None

    def answer_to(self, callback_id: str) -> dict[str, Any] | None:
        """The bot's first answerCallbackQuery for this button press, if any."""
        return next((call.params for call in self.calls_of("answerCallbackQuery")
                     if call.params.get("callback_query_id") == callback_id), None)

    def chat_of(self, call: Call) -> int | None:
        """The chat a call was about: its chat_id, or the chat of the button press it answers."""
        if "chat_id" in call.params:
            return int(call.params["chat_id"])
        return self._callback_chats.get(str(call.params.get("callback_query_id")))

    def sent(self, chat_id: int) -> list[StoredMessage]:
        return [m for m in self.messages.get(chat_id, {}).values() if m.from_bot]

    def last(self, chat_id: int) -> StoredMessage:
        sent = self.sent(chat_id)
        assert sent, f"the bot sent nothing to {chat_id}"
        return sent[-1]

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [call for call in self.calls if call.method == method and (
            chat_id is None or str(call.params.get("chat_id")) == str(chat_id))]

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until `condition()` is truthy (re-checked on every API call the bot makes)."""
        assert self._changed is not None
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                result = condition()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("timed out waiting for the bot")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    async def settled(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the bot has finished what it was doing."""
        if self.idle is not None:
            await self.wait_for(self.idle, timeout)
            return
        await self.wait_for(lambda: not self.calls or time.monotonic() - self.calls[-1].at
                            >= quiet, timeout)

    async def wait_for_calls(self, method: str, count: int, chat_id: int | None = None,
                             timeout: float = 10.0) -> list[Call]:
        return await self.wait_for(
            lambda: (calls := self.calls_of(method, chat_id)) and len(calls) >= count and calls,
            timeout)


# A poll whose options lack `persistent_id`, as Bot API servers before 9.6 send them: PTB 22.8
# raises TypeError on it. A runner forwarding such a poll puts their own words in it.
UNREADABLE_POLL = {"poll": {
    "id": "p1", "question": "Kaki kiri saya kebas sejak lari pagi, perlu ke dokter?",
    "options": [{"text": "Ya, segera", "voter_count": 0},
                {"text": "Belum perlu", "voter_count": 0}],
    "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
    "allows_multiple_answers": False}}
