"""What Kebas's Telegram channel keeps out of logs that PTB writes (issue 14).

PTB logs at DEBUG every request's parameters and answer and every update it handles, and at
ERROR an answer it cannot parse, whole: runners' names and what they typed. `PayloadsLeftOut`
keeps those lines without them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

LEFT_OUT = "(left out)"


def _update_id(update: object) -> object:
    return getattr(update, "update_id", type(update).__name__)


# (logger, message) -> its arguments without the payload. aiosqlite, at DEBUG, shows the values
# of reads (not of writes, which are functions): no name or typed text is read by value.
PAYLOAD_FREE: dict[tuple[str, str], Callable[..., tuple[object, ...]]] = {
    **{(bot, message): arguments for bot in ("telegram.Bot", "telegram.ext.ExtBot")
       for message, arguments in (
           ("Calling Bot API endpoint `%s` with parameters `%s`",
            lambda endpoint, parameters: (endpoint, ", ".join(parameters))),
           ("Call to Bot API endpoint `%s` finished with return value `%s`",
            lambda endpoint, _value: (endpoint, LEFT_OUT)))},
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
