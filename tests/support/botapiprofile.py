"""The fake Bot API's methods about the bot itself rather than a chat: who it is, its webhook,
and what it announces to clients (the command menus), kept per language as Telegram keeps them."""

from __future__ import annotations

from typing import Any

from support.botapirules import validate_commands, validate_webhook
from support.people import BOT_USER


class BotProfileMethods:
    """Mixed into `FakeBotAPI`, whose fields (`webhook`, the deliveries) these use."""

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
        validate_commands(params.get("commands") or [])
        return True
