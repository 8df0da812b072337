"""The slash commands: one table maps each command, in Indonesian and English, to what it does.

Help, privacy, language and /hapus work before consent; the rest need it, and a runner who has
not consented is asked for it instead. The admin commands exist only for admins: for anyone
else they are unknown. /kembali, /ulang and /batal act on the question the runner last saw,
so one that arrives after something else of the chat was applied is not used. A /start from a
link (t.me/<bot>?start=PAYLOAD) first does what its payload says (`follow_link`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.channels.telegram.bounded import BoundedDict
from bot.channels.telegram.chats import Chat, LanguagesBeforeConsent
from bot.channels.telegram.erasure import EraseConfirmations
from bot.channels.telegram.faults import storage_fault
from bot.channels.telegram.messages import escape, keyboard
from bot.channels.telegram.reload import ContentReload
from bot.channels.telegram.replies import Replies
from bot.channels.telegram.summaries import send_summary
from bot.conversation import Conversations
from bot.core import buttons
from bot.core.i18n import LANGUAGE_NAMES, command_names
from bot.core.inputs import Back
from bot.core.render import Line, Message
from bot.storage import STORAGE_FAULTS, SessionStore, link_source
from bot.tools.stats import telegram_chart, telegram_summary

log = logging.getLogger("kebas.telegram")

STARTS = command_names("start")  # a first /mulai or /start is welcomed before consent is asked


class Commands:
    """What each command does in a private chat (`COMMAND_TABLE` says which runs when)."""

    def __init__(self, replies: Replies, conversations: Conversations, store: SessionStore,
                 reloads: ContentReload, erasure: EraseConfirmations,
                 question_messages: BoundedDict[int, int], admin_ids: frozenset[int],
                 retention_days: int, languages: LanguagesBeforeConsent | None = None
                 ) -> None:
        self.replies = replies
        self.conversations = conversations
        self.store = store
        self.reloads = reloads
        self.erasure = erasure
        self.question_messages = question_messages
        self.admin_ids = admin_ids
        self.retention_days = retention_days  # said in the privacy and /batal texts
        # the bot's, which `read_chat` reads (a memory of its own for a table-only test)
        self.languages = languages if languages is not None else LanguagesBeforeConsent()

    async def run(self, name: str, update_id: int, here: Chat, bot: Any) -> None:
        """Do what the command `name` (without its slash) asks, as `COMMAND_TABLE` says."""
        command = COMMAND_TABLE.get(name)
        if command is not None and command.admins_only and here.id not in self.admin_ids:
            command = None
        if command is not None and command.before_consent:
            await command.does(self, here, bot, update_id)
        elif not here.consented:
            await self.replies.ask_consent(bot, here, again=name not in STARTS)
        elif command is None:
            await self.replies.send_texts(bot, here, [here.locale.text("tg.unknown_command")])
            await self.replies.show_current(bot, here)
        elif command.acts_on_the_question and await self.replies.late(bot, here, update_id):
            return
        else:
            await command.does(self, here, bot, update_id)

    # --- for admins -------------------------------------------------------------------

    async def reload(self, here: Chat, bot: Any, _update_id: int) -> None:
        loaded, detail = await self.reloads.reload()
        locale = self.conversations.locales[here.locale.language]  # as reloaded
        await self.replies.send_message(
            bot, here, Message((Line(self.reloads.told(locale, loaded, detail)),)))

    async def stats(self, here: Chat, bot: Any, _update_id: int) -> None:
        """Usage numbers for an admin: counts, node ids and link sources only, never who or
        what was typed; then, once there are sessions, the funnel as a photo."""
        rows, starts = await self.store.usage_rows(), await self.store.start_counts()
        now = datetime.fromisoformat(self.store.now())
        dialog, locale = self.conversations.dialog, here.locale
        await self.replies.send_message(
            bot, here, telegram_summary(rows, dialog, locale, now, starts))
        # matplotlib takes a moment: off the event loop, which serves every other chat
        chart = await asyncio.to_thread(telegram_chart, rows, dialog, locale)
        if chart is not None:
            await self.replies.send_photo(bot, here, chart, f"{locale.text('stats.heading')} · "
                                                            f"{locale.text('stats.all_time')}")

    # --- before consent ---------------------------------------------------------------

    async def help(self, here: Chat, bot: Any, _update_id: int) -> None:
        await self.replies.send_texts(bot, here, [here.locale.text("tg.help")])

    async def privacy(self, here: Chat, bot: Any, _update_id: int) -> None:
        await self.replies.send_texts(bot, here, [here.locale.text(
            "tg.privacy", retention_days=self.retention_days)])

    async def language(self, here: Chat, bot: Any, _update_id: int) -> None:
        choices = [(name, buttons.encode_control(buttons.Language(code)))
                   for code, name in LANGUAGE_NAMES.items() if code in self.conversations.locales]
        await self.replies.send(bot, here, escape(here.locale.text("tg.language_prompt")),
                                keyboard(choices))

    async def delete(self, here: Chat, bot: Any, _update_id: int) -> None:
        """Ask first; the "yes" button carries a confirmation bound to this chat and consent."""
        locale = here.locale
        confirmation = self.erasure.issue(here)
        await self.replies.send(bot, here, escape(locale.text("tg.delete_confirm")), keyboard(
            [(locale.text("tg.delete_yes"),
              buttons.encode_control(buttons.Erase(yes=True, confirmation=confirmation))),
             (locale.text("tg.delete_no"), buttons.encode_control(buttons.Erase(yes=False)))]))

    # --- /start from a link ----------------------------------------------------------

    async def follow_link(self, payload: str, update_id: int, here: Chat) -> None:
        """Do what t.me/<bot>?start=PAYLOAD asks, before /start runs: a language code (id,
        en) chooses the language, as /bahasa does (held in memory until consent, then
        stored); anything else is a source, counted once for this update with nothing that
        says who; a language, a hyphen and more (en-poster) does both. A payload no link
        could carry changes nothing."""
        source = link_source(payload)
        if source is None:
            return
        locales = self.conversations.locales
        language = source.partition("-")[0]
        if language in locales:
            await self.languages.choose(self.store, here, locales[language])
        if source in locales:
            return
        try:
            await self.store.count_start(update_id, source)
        except STORAGE_FAULTS as exc:  # a number in a report: the runner is served anyway
            log.warning("a start from a link was not counted: %s",
                        storage_fault(self.store, exc))

    # --- after consent ----------------------------------------------------------------

    async def start(self, here: Chat, bot: Any, update_id: int) -> None:
        """Begin, or, in the middle of a session, ask whether to continue or start over."""
        locale = here.locale
        current = await self.conversations.current(here.key)
        step = current.step if current is not None else None
        if current is not None and step is not None and step.prompt is not None \
                and step.state["answers"]:
            session = current.session_id
            await self.replies.send(
                bot, here, escape(locale.text("tg.continue_or_restart")), keyboard(
                    [(locale.text("tg.continue"),
                      buttons.encode_control(buttons.Resume(session, fresh=False))),
                     (locale.text("tg.restart"),
                      buttons.encode_control(buttons.Resume(session, fresh=True)))]))
        else:
            await self.replies.show(bot, here, await self.conversations.begin(
                here.key, update_id=update_id))

    async def back(self, here: Chat, bot: Any, update_id: int) -> None:
        await self.replies.answers_withdrawn(here)  # the last answer no longer stands
        await self.replies.show(bot, here, await self.conversations.handle(
            here.key, Back(), update_id=update_id))

    async def restart(self, here: Chat, bot: Any, update_id: int) -> None:
        await self.replies.answers_withdrawn(here)
        await self.replies.show(bot, here, await self.conversations.begin(
            here.key, update_id=update_id, fresh=True))

    async def summary(self, here: Chat, bot: Any, _update_id: int) -> None:
        """The summary for the doctor of the latest session; nothing after /hapus (or before
        consent: nothing was kept)."""
        if here.consented:
            await send_summary(self.replies, self.conversations, bot, here)
        else:
            await self.replies.send_texts(bot, here, [here.locale.text("summary.nothing")])

    async def cancel(self, here: Chat, bot: Any, _update_id: int) -> None:
        await self.replies.answers_withdrawn(here)
        cancelled = await self.store.abandon(here.key)
        reminders = await self.conversations.cancel_followups(here.key, "cancel")
        self.question_messages.pop(here.id, None)
        texts = [here.locale.text("tg.cancelled", retention_days=self.retention_days)
                 ] if cancelled else []
        if reminders:
            texts.append(here.locale.text("tg.followup_cancelled"))
        await self.replies.send_texts(bot, here, texts or [
            here.locale.text("tg.nothing_to_cancel")])


@dataclass(frozen=True)
class Command:
    does: Callable[[Commands, Chat, Any, int], Awaitable[None]]
    before_consent: bool = False  # works for a runner who has not consented (yet)
    admins_only: bool = False  # for anyone else it is an unknown command
    # refused when it arrives after something else of the chat was applied
    acts_on_the_question: bool = False


# Every name a runner may type: each menu command under every language's name for it
# (i18n.COMMAND_NAMES), so a runner's menu and texts work whatever language they are in.
COMMAND_TABLE: dict[str, Command] = {
    name: command for names, command in (
        (("muatulang",), Command(Commands.reload, before_consent=True, admins_only=True)),
        (("statistik",), Command(Commands.stats, before_consent=True, admins_only=True)),
        (command_names("help"), Command(Commands.help, before_consent=True)),
        (command_names("privacy"), Command(Commands.privacy, before_consent=True)),
        (command_names("language"), Command(Commands.language, before_consent=True)),
        (command_names("delete"), Command(Commands.delete, before_consent=True)),
        (command_names("summary"), Command(Commands.summary, before_consent=True)),
        (STARTS, Command(Commands.start)),
        (command_names("back"), Command(Commands.back, acts_on_the_question=True)),
        (command_names("restart"), Command(Commands.restart, acts_on_the_question=True)),
        (command_names("cancel"), Command(Commands.cancel, acts_on_the_question=True)),
    ) for name in names
}
