"""Logging for a running bot: useful to an operator, and never showing the bot token.

httpx logs every request URL at INFO, and the URL holds the token; PTB's own messages can too.
We keep httpx quiet and, as a second line of defence, blank the token out of every record.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

REDACTED = "<TOKEN>"


class RedactToken(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secret:
            return True
        message = record.getMessage()
        if self.secret in message:
            record.msg = message.replace(self.secret, REDACTED)
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if self.secret in text:
                record.exc_text = text.replace(self.secret, REDACTED)
                record.exc_info = None
        return True


class ExplainedElsewhere(logging.Filter):
    """Errors `kebas run` explains in one sentence keep their log line but lose the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        from telegram.error import InvalidToken
        # PTB's retry loop logs its give-up with a traceback (logger "telegram.ext"); the
        # CLI then says what failed and what to do.
        startup_gave_up = record.name.startswith("telegram") and "Aborting" in str(record.msg)
        if record.exc_info and (isinstance(record.exc_info[1], InvalidToken) or startup_gave_up):
            record.exc_info = None
            record.exc_text = None
        return True


def configure(token: str, level: str = "INFO", format: str = "text") -> None:
    """The root logger for a running bot: `level` and up, as text or as JSON (one object a
    line: time, level, logger, message, and any fields a line adds), the token blanked."""
    handler = logging.StreamHandler(sys.stderr)
    if format == "json":
        handler.setFormatter(JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",   # ISO 8601 in UTC, with its offset: a shipper needs the zone
            # uvicorn adds the message again with terminal colours, for a console
            reserved_attrs=[*RESERVED_ATTRS, "color_message"]))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ExplainedElsewhere())
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
