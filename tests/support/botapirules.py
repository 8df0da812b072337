"""What the real Bot API refuses, checked the way it checks: the fake answers 400 where
Telegram does (HTML it cannot parse, empty or too long text, bad buttons, a webhook URL,
command list, description or language code it would not take), and reads a request's form
fields as Telegram reads PTB's."""

from __future__ import annotations

import html.parser
import json
import re
from typing import Any

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "tg-spoiler", "blockquote", "span"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the "
                "message")


class TelegramBadRequest(Exception):
    def __init__(self, description: str, status: int = 400,
                 parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.parameters = parameters


class HtmlChecker(html.parser.HTMLParser):
    """Telegram refuses text whose HTML does not parse; this catches the same mistakes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise TelegramBadRequest(f"Bad Request: can't parse entities: unsupported start "
                                     f"tag \"{tag}\"")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            raise TelegramBadRequest(f"Bad Request: can't parse entities: unexpected end tag "
                                     f"\"{tag}\"")


def visible_text(text: str, parse_mode: str | None) -> str:
    if parse_mode != "HTML":
        return text
    if "<" in text.replace("&lt;", ""):
        checker = HtmlChecker()
        checker.feed(text)
        checker.close()
        if checker.open:
            raise TelegramBadRequest("Bad Request: can't parse entities: unclosed tag")
    stripper = html.parser.HTMLParser(convert_charrefs=True)
    parts: list[str] = []
    stripper.handle_data = parts.append  # type: ignore[method-assign]
    stripper.feed(text)
    stripper.close()
    return "".join(parts)


def validate_text(text: str, parse_mode: str | None) -> None:
    visible = visible_text(text, parse_mode)
    if not visible.strip():
        raise TelegramBadRequest("Bad Request: message text is empty")
    if len(visible) > 4096:
        raise TelegramBadRequest("Bad Request: message is too long")


def validate_markup(markup: Any) -> dict[str, Any] | None:
    if not markup:
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                raise TelegramBadRequest("Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise TelegramBadRequest("Bad Request: text buttons are unallowed")
    return markup


def validate_webhook(params: dict[str, Any]) -> None:
    url = params.get("url") or ""
    if not url.startswith("https://"):
        raise TelegramBadRequest("Bad Request: bad webhook: An HTTPS URL must be provided "
                                 "for webhook")
    secret = params.get("secret_token") or ""
    if secret and not (1 <= len(secret) <= 256 and secret.replace("_", "")
                       .replace("-", "").isalnum()):
        raise TelegramBadRequest("Bad Request: secret token contains unallowed characters")


def validate_commands(commands: list[dict[str, Any]]) -> None:
    if not 1 <= len(commands) <= 100:
        raise TelegramBadRequest("Bad Request: commands must be 1-100")
    for command in commands:
        name, description = command.get("command", ""), command.get("description", "")
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise TelegramBadRequest("Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise TelegramBadRequest("Bad Request: command description is invalid")


def validate_language(params: dict[str, Any]) -> str:
    """The call's language code: a two-letter ISO 639-1 code, or "" for every language."""
    code = params.get("language_code") or ""
    if code and not re.fullmatch(r"[a-z]{2}", code):
        raise TelegramBadRequest("Bad Request: LANG_CODE_INVALID")
    return str(code)


def validate_description(text: str, limit: int, refusal: str) -> None:
    """A description or short description: at most `limit` characters ("" removes it)."""
    if len(text) > limit:
        raise TelegramBadRequest(f"Bad Request: {refusal}")


JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates", "offset", "timeout",
               "limit", "chat_id", "message_id", "show_alert", "cache_time",
               "drop_pending_updates", "link_preview_options", "reply_parameters",
               "disable_notification"}


def decoded(key: str, value: Any) -> Any:
    """PTB sends objects, lists, numbers and booleans JSON-encoded and text raw.

    Only known non-text fields are decoded, so a runner's "42" stays the text "42".
    """
    if key not in JSON_FIELDS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
