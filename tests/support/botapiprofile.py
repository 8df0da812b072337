"""The fake Bot API's methods about the bot itself rather than a chat: who it is, its webhook,
and what it announces to clients (command menus, description, short description), kept per
language as Telegram keeps them, so a test can read what a client would be shown."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from support.botapirules import (
    validate_commands,
    validate_description,
    validate_language,
    validate_webhook,
)
from support.people import BOT_USER

DEFAULT_SCOPE = {"type": "default"}
DESCRIPTION_LIMIT = 512
SHORT_DESCRIPTION_LIMIT = 120


def scope_of(params: dict[str, Any]) -> str:
    """A command menu's scope as a key: the default scope unless the call names another."""
    return json.dumps(params.get("scope") or DEFAULT_SCOPE, sort_keys=True)


@dataclass
class BotProfileMethods:
    """Mixed into `FakeBotAPI`, whose fields (`webhook`, the deliveries) these use.

    The language code "" is the text for every client whose language has none of its own.
    """

    # (scope, language code) -> the commands as setMyCommands sent them
    menus: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    short_descriptions: dict[str, str] = field(default_factory=dict)

    def menu(self, language: str = "") -> list[dict[str, str]]:
        """The command menu a client in `language` is given in a private chat ("" for any)."""
        return self.menus.get((scope_of({}), language), [])

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        validate_webhook(params)
        self.webhook = dict(params)
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {"url": self.webhook.get("url", ""),
                                "has_custom_certificate": False,
                                "pending_update_count": len(self._deliveries)}
        for name in ("max_connections", "allowed_updates"):
            if name in self.webhook:
                info[name] = self.webhook[name]
        return info

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        validate_commands(commands)
        self.menus[(scope_of(params), validate_language(params))] = [
            {"command": command["command"], "description": command["description"]}
            for command in commands]
        return True

    async def _api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return self.menus.get((scope_of(params), validate_language(params)), [])

    async def _api_setMyDescription(self, params: dict[str, Any]) -> bool:
        return set_text(self.descriptions, params, "description", DESCRIPTION_LIMIT,
                        "BOT_DESCRIPTION_INVALID")

    async def _api_getMyDescription(self, params: dict[str, Any]) -> dict[str, str]:
        return {"description": self.descriptions.get(validate_language(params), "")}

    async def _api_setMyShortDescription(self, params: dict[str, Any]) -> bool:
        return set_text(self.short_descriptions, params, "short_description",
                        SHORT_DESCRIPTION_LIMIT, "BOT_ABOUT_INVALID")

    async def _api_getMyShortDescription(self, params: dict[str, Any]) -> dict[str, str]:
        return {"short_description": self.short_descriptions.get(validate_language(params), "")}


def set_text(texts: dict[str, str], params: dict[str, Any], name: str, limit: int,
             refusal: str) -> bool:
    """setMyDescription and setMyShortDescription: the text for the call's language."""
    text = params.get(name) or ""
    validate_description(text, limit, refusal)
    texts[validate_language(params)] = text
    return True
