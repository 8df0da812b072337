"""Serving edited content without a restart (an admin's /muatulang, or SIGHUP), only once it
passes check, proofs and scenarios; sessions in progress keep the dialog they started with."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from telegram.error import TelegramError

from bot.channels.telegram.messages import escape
from bot.channels.telegram.metrics import BotMetrics
from bot.content.gate import gated_bundle
from bot.conversation import Conversations
from bot.core.i18n import Locale, pick_language

log = logging.getLogger("kebas.telegram")

SHOWN_PROBLEMS = 10  # a refused reload names this many of its problems, and counts the rest


class ContentReload:
    def __init__(self, conversations: Conversations, content_paths: list[Path] | None,
                 admin_ids: frozenset[int], metrics: BotMetrics) -> None:
        self.conversations = conversations  # serves the dialog and texts reloaded
        self.content_paths = content_paths
        self.admin_ids = admin_ids
        self.metrics = metrics  # reloads served or refused; the dialog served

    async def reload(self) -> tuple[bool, str]:
        """Reload (`gated`), counted in the metrics as served or refused."""
        served, detail = await self.gated()
        self.metrics.reloaded(served, self.conversations.dialog)
        return served, detail

    async def gated(self) -> tuple[bool, str]:
        """Serve the edited dialogs and texts, but only if they pass check, proofs and scenarios.

        Sessions in progress keep the dialog version they started with (Conversations).
        Returns whether it was served, and the dialog's name or the problems found.
        """
        if not self.content_paths:
            return False, "no content folders are configured"
        bundle, problems = await asyncio.to_thread(gated_bundle, self.content_paths)
        if bundle is None:
            shown = problems[:SHOWN_PROBLEMS] + (
                [f"... and {len(problems) - SHOWN_PROBLEMS} more"]
                if len(problems) > SHOWN_PROBLEMS else [])
            log.warning("reload refused: %d problems, first: %s", len(problems), problems[0])
            return False, "\n".join(shown)
        dialog = bundle.dialog()
        self.conversations.serve(dialog, bundle.locales, bundle.checkin_for(dialog))
        log.info("reloaded: dialog %s v%s", dialog.id, dialog.version)
        return True, f"{dialog.id} v{dialog.version}"

    def told(self, locale: Locale, loaded: bool, detail: str) -> str:
        """How a reload went, as an admin reads it."""
        if loaded:
            dialog = self.conversations.dialog
            return locale.text("tg.reloaded", dialog=dialog.id, version=dialog.version)
        return locale.text("tg.reload_failed", problems=detail)

    async def reload_and_tell_admins(self, bot: Any) -> None:
        """SIGHUP: reload, and tell every admin how it went."""
        loaded, detail = await self.reload()
        for admin in sorted(self.admin_ids):
            locales = self.conversations.locales
            locale = locales[pick_language(None, locales)]
            try:
                await bot.send_message(admin, escape(self.told(locale, loaded, detail)))
            except TelegramError as exc:
                log.info("could not tell admin %s about the reload: %s", admin,
                         type(exc).__name__)
