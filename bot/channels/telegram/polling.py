"""Long polling that one unreadable update or a failing Bot API cannot wedge (issue 14).

PTB's Updater fetches each batch with `Bot.get_updates`, which parses the whole batch at once.
One update PTB cannot read (a shape from a self-hosted Bot API server or a Bot API change)
failed the batch: PTB logged all of it at CRITICAL, names and typed health texts included, and
fetched the same batch again, for ever; on SIGTERM, `Updater.stop()` fetched it once more and
its error skipped the shutdown, so the process never ended. `UnreadableSkipped` reads each
update on its own and hands the Updater a bare update in place of one it cannot read, so the
offset passes it.

PTB's retry loop sleeps between failed getUpdates calls (up to 30 s, or a whole flood wait)
where `Updater.stop()` cannot interrupt it, so SIGTERM waited that long. `KebasBot` waits those
out inside the call, which `Updater.stop()` cancels at once.

PTB also logs at DEBUG every request's parameters and answer and every update it handles, and
at ERROR an answer it cannot parse, whole; `PayloadsLeftOut` keeps those lines without them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import telegram
from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

log = logging.getLogger("kebas.polling")

FLOOD_SLACK = 0.5  # seconds added to a flood wait on getUpdates, as PTB's retry loop does
LONGEST_PAUSE = 30.0  # seconds between getUpdates calls that keep failing, as PTB's retry loop


class UnreadableSkipped(HTTPXRequest):
    """The request object for getUpdates, the only method PTB sends through it."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        answer = HTTPXRequest.parse_json_payload(payload)
        updates = answer.get("result") if isinstance(answer, dict) and answer.get("ok") else None
        if isinstance(updates, list):
            answer["result"] = [kept for kept in map(readable, updates) if kept is not None]
        return answer


def readable(update: Any) -> Any:
    """The update if PTB can read it, else a bare update of its id (the bot ignores it, and
    the next offset confirms it), or None if it has no id.

    The log gets the update's id and kind once, never its content: that holds names and
    what runners typed.
    """
    try:
        Update.de_json(update, None)
        return update
    except Exception as exc:  # noqa: BLE001  # whatever PTB raises on a shape it does not know
        update_id = update.get("update_id") if isinstance(update, dict) else None
        kinds = ", ".join(key for key in update if key != "update_id") \
            if isinstance(update, dict) else type(update).__name__
        log.warning("update %s (%s) is skipped: python-telegram-bot %s cannot read it (%s); "
                    "a newer version may", update_id, kinds or "empty", telegram.__version__,
                    type(exc).__name__)
        return {"update_id": update_id} if type(update_id) is int else None


class KebasBot(ExtBot[Any]):
    """PTB's ExtBot, whose getUpdates waits out Bot API errors itself while the Updater polls."""

    # PTB's bots refuse new public attributes once built; these two are set by their methods.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._polling: Callable[[], bool] = lambda: False
        self._failures = 0  # getUpdates calls failed in a row

    def poll_while(self, polling: Callable[[], bool]) -> None:
        """Wait out errors only while `polling()` (the Updater's): Updater.stop()'s last
        getUpdates, after polling ended, reports its error at once, as PTB does."""
        self._polling = polling

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        try:
            updates = await super().get_updates(*args, **kwargs)
        except (InvalidToken, TimedOut):
            raise  # PTB's retry loop gives up on the one and asks again at once after the other
        except TelegramError as exc:
            if not self._polling():
                raise
            self._failures += 1
            pause = pause_after(exc, self._failures)
            log.warning("getUpdates failed (%s: %s); asking again in %.1f s",
                        type(exc).__name__, exc, pause)
            await asyncio.sleep(pause)  # Updater.stop() cancels it
            return ()
        self._failures = 0
        return updates


def pause_after(error: TelegramError, failures: int) -> float:
    """Seconds to wait before the next getUpdates: a flood wait as Telegram asks, else 1 s,
    half as long again after each failure in a row, at most LONGEST_PAUSE (as PTB's loop)."""
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        return (wait.total_seconds() if isinstance(wait, timedelta) else wait) + FLOOD_SLACK
    return min(LONGEST_PAUSE, 1.5 ** (failures - 1))


# --- logs without payloads ----------------------------------------------------------------

LEFT_OUT = "(left out)"


def _update_id(update: object) -> object:
    return getattr(update, "update_id", type(update).__name__)


# (logger, message) -> its arguments without the payload (tests/conftest.py scans every log).
PAYLOAD_FREE: dict[tuple[str, str], Callable[..., tuple[object, ...]]] = {
    **{(bot, message): arguments for bot in ("telegram.Bot", "telegram.ext.ExtBot")
       for message, arguments in (
           ("Calling Bot API endpoint `%s` with parameters `%s`",
            lambda endpoint, parameters: (endpoint, ", ".join(parameters))),
           ("Call to Bot API endpoint `%s` finished with return value `%s`",
            lambda endpoint, _value: (endpoint, LEFT_OUT)),
           # at CRITICAL, should PTB still fail to read a batch `UnreadableSkipped` passed
           ("Error while parsing updates! Received data was %r",
            lambda updates: (f"{LEFT_OUT}: {len(updates)} updates",)))},
    ("telegram.ext.Application", "Processing update %s"): lambda update: (_update_id(update),),
    ("telegram.ext.Application", "Dropping pending update: %s"):
        lambda update: (_update_id(update),),
    # at ERROR: a getUpdates answer cut short would be logged whole
    ("telegram.request.BaseRequest", 'Can not load invalid JSON data: "%s"'):
        lambda body: (f"{len(body)} characters {LEFT_OUT}",),
}


class PayloadsLeftOut(logging.Filter):
    """Keeps the lines of `PAYLOAD_FREE`, with arguments that cannot show what runners sent."""

    def filter(self, record: logging.LogRecord) -> bool:
        arguments = PAYLOAD_FREE.get((record.name, str(record.msg)))
        if arguments is not None:
            try:
                record.args = arguments(*(record.args if isinstance(record.args, tuple)
                                          else (record.args,)))
            except Exception:  # noqa: BLE001  # a library changed its line: keep no values
                record.args = ()
        return True


PAYLOADS_LEFT_OUT = PayloadsLeftOut()
# Installed on import, so that every process running Kebas's Telegram channel has it, before
# its first log line, for every bot PTB makes in it.
for _logger in sorted({name for name, _message in PAYLOAD_FREE}):
    logging.getLogger(_logger).addFilter(PAYLOADS_LEFT_OUT)
