"""One conversation driver for every channel: load the session, step the engine, commit, reply.

Telegram and the terminal chat go through `Conversations` (the scenarios, proofs and tools
drive the pure engine directly: they store nothing), so every channel shares one behaviour:
the step is committed before its output is returned, and an update that was already applied
is not applied again (the runner is shown where they stand).

A session stays on the dialog it started with, even after the dialog is edited: every dialog
a session started on is kept in the store (by content hash), with the texts it used, and used
again for that session. New sessions always get the newest dialog.

Texts are served from the live locales, so a corrected text reaches every session at once.
A key that an edit renamed or removed is put back into the live locales from the version that
still needs it (a new Locale with it takes the old one's place in the mapping the channels read
from): the newest dialog never names such a key (`kebas check` makes sure every key it names
exists), so only the older sessions ever see it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core import engine
from bot.core.engine import Step, StepKind
from bot.core.followup import QuietHours, due_time, offer_days
from bot.core.i18n import VARS_PREFIX, Locale
from bot.core.inputs import Input, Restart
from bot.core.model import Dialog, dialog_text_keys
from bot.storage import (
    ACTIVE,
    FINISHED,
    Conflict,
    Followup,
    SessionStore,
    StoredSession,
    utc_now,
)

# No quiet hours unless a channel sets them (`kebas run` does, from KEBAS_QUIET_HOURS).
ANY_HOUR = QuietHours(ZoneInfo("Asia/Jakarta"))

# How often a step is redone when another process changed the chat's session meanwhile; each
# try re-reads the session, and one of any two racing workers always succeeds.
CONFLICT_RETRIES = 8


@dataclass(frozen=True)
class Turn:
    step: Step | None         # None only for a repeated update when the chat has no session left
    session_id: int
    duplicate: bool = False   # the update was applied before; `step` only shows where we are
    dialog: Dialog | None = None  # the dialog this session runs on (its own version)
    # the session as read for this turn: `handle(..., read=turn)` need not read it again
    stored: StoredSession | None = field(default=None, repr=False, compare=False)


Texts = dict[str, dict[str, str]]   # language -> key -> text


@dataclass(frozen=True)
class Checkin:
    """What a due follow-up comes to: the check-in's first question (or, after a crash, the
    one it stands at) to show; nothing to show, sent already; or why it is not sent."""

    turn: Turn | None = None
    cancel: str | None = None   # a reason: the follow-up is cancelled, not sent


class Conversations:
    def __init__(self, dialog: Dialog, store: SessionStore,
                 locales: dict[str, Locale] | None = None, *,
                 checkin: Dialog | None = None) -> None:
        self.dialog = dialog
        self.store = store
        self.locales = locales or {}
        self.checkin = checkin  # the check-in dialog `dialog.followup` names, if it offers one
        # when follow-ups are due: the clock, and the hours none is sent (a channel sets them)
        self.clock: Callable[[], datetime] = utc_now
        self.quiet = ANY_HOUR
        self.keep_days: int | None = None  # retention: no follow-up due later is offered
        # told how many follow-ups were cancelled and why (a channel counts them)
        self.cancelled: Callable[[str, int], None] = lambda _reason, _count: None
        self._dialogs: dict[str, Dialog] = {dialog.content_hash: dialog}
        if checkin is not None:
            self._dialogs[checkin.content_hash] = checkin
        self._texts: dict[str, Texts] = {}      # older versions' texts, by content hash
        self._remembered: set[str] = set()

    @property
    def zone(self) -> ZoneInfo:
        """The runners' time zone: follow-up dates are told in it."""
        return self.quiet.zone

    def serve(self, dialog: Dialog, locales: dict[str, Locale],
              checkin: Dialog | None = None) -> None:
        """New sessions get this dialog (and check-ins this check-in) and these texts;
        sessions on older versions keep the texts they need that these locales lack."""
        self.dialog, self.locales, self.checkin = dialog, locales, checkin
        for served in (dialog, checkin):
            if served is not None:
                self._dialogs.setdefault(served.content_hash, served)
        for texts in self._texts.values():
            self._keep_missing(texts)

    async def begin(self, chat_key: str, *, update_id: int | None = None,
                    fresh: bool = False) -> Turn:
        """Resume the chat's session where it stands, or start one (always, if `fresh`)."""
        return await _retrying(lambda _try: self._begin(chat_key, update_id, fresh))

    async def _begin(self, chat_key: str, update_id: int | None, fresh: bool) -> Turn:
        stored = await self.store.latest(chat_key)
        if stored is None or stored.status == FINISHED:
            step, dialog = engine.start(self.dialog), self.dialog
        elif fresh:
            step, dialog = engine.step(self.dialog, stored.state, Restart()), self.dialog
        else:
            dialog = await self.dialog_of(stored)
            step = engine.resume(dialog, stored.state)
        return await self._commit(chat_key, stored, step, update_id, dialog)

    async def handle(self, chat_key: str, given: Input, *, update_id: int | None = None,
                     session_id: int | None = None, read: Turn | None = None) -> Turn:
        """Apply one input. A button made for another session (`session_id`) is not applied.

        `read`: what `current` returned earlier in this same turn of the chat, to spare
        reading it again (unless another process changed it: then it is read again).
        """
        return await _retrying(lambda attempt: self._handle(
            chat_key, given, update_id, session_id, read if attempt == 0 else None))

    async def _handle(self, chat_key: str, given: Input, update_id: int | None,
                      session_id: int | None, read: Turn | None) -> Turn:
        stored = read.stored if read is not None and read.stored is not None \
            else await self.store.latest(chat_key)
        if stored is None:
            return await self._commit(chat_key, None, engine.start(self.dialog), update_id,
                                      self.dialog)
        dialog = await self.dialog_of(stored)
        state = stored.state
        if not engine.same_dialog(dialog, state):  # its own dialog is unknown: replay it
            resumed = engine.resume(dialog, state)
            if resumed.kind is StepKind.RESTARTED:
                return await self._commit(chat_key, stored, resumed, update_id, dialog)
            state = resumed.state
        if session_id is not None and session_id != stored.id:
            stale = engine.current(dialog, state, StepKind.STALE)
            return Turn(_with_notice(stale, "error.stale_button"), stored.id, dialog=dialog)
        return await self._commit(chat_key, stored, engine.step(dialog, state, given),
                                  update_id, dialog)

    async def current(self, chat_key: str) -> Turn | None:
        """Where the chat stands, changing nothing; None when it has no session."""
        stored = await self.store.latest(chat_key)
        if stored is None:
            return None
        dialog = await self.dialog_of(stored)
        return Turn(engine.resume(dialog, stored.state), stored.id, dialog=dialog,
                    stored=stored)

    async def dialog_of(self, stored: StoredSession) -> Dialog:
        """The dialog the session started on, if it is still known; else the newest."""
        if "hash" not in stored.state:  # saved before dialog versions were kept
            return self.dialog
        content_hash = stored.state["hash"]
        if content_hash not in self._dialogs:
            kept = await self.store.dialog_definition(content_hash)
            if kept is None:
                return self.dialog
            definition, texts = kept
            self._dialogs[content_hash] = Dialog.model_validate_json(definition)
            self._texts[content_hash] = json.loads(texts) if texts else {}
            self._keep_missing(self._texts[content_hash])
        return self._dialogs[content_hash]

    def _keep_missing(self, texts: Texts) -> None:
        """Give the live locales the texts an older version needs that they lack. A Locale
        is frozen: each one that lacks some is replaced, in the mapping the channels read
        from, by a new one that has them too."""
        for language, own in texts.items():
            live = self.locales.get(language)
            if live is None:
                continue
            missing = {key: text for key, text in own.items() if key not in live.texts}
            if missing:
                self.locales[language] = replace(live, texts={**live.texts, **missing})

    def _texts_of(self, dialog: Dialog) -> Texts:
        """The texts this dialog names (and the locale variables they use), per language."""
        keys = {key for key, _path in dialog_text_keys(dialog)}
        return {language: {key: text for key, text in locale.texts.items()
                           if key in keys or key.startswith(VARS_PREFIX)}
                for language, locale in self.locales.items()}

    async def _commit(self, chat_key: str, stored: StoredSession | None, step: Step,
                      update_id: int | None, dialog: Dialog) -> Turn:
        if dialog.content_hash not in self._remembered:
            texts = self._texts_of(dialog) if dialog in (self.dialog, self.checkin) else \
                self._texts.get(dialog.content_hash)
            await self.store.remember_dialog(
                dialog.content_hash, dialog.id, dialog.version,
                dialog.model_dump_json(by_alias=True),
                json.dumps(texts, ensure_ascii=False) if texts else None)
            self._remembered.add(dialog.content_hash)
        saved = await self.store.save(
            chat_key, stored.id if stored else None, step, update_id=update_id,
            expected=(stored.id, stored.revision) if stored else None)
        if saved.duplicate:
            latest = await self.store.latest(chat_key)
            if latest is None:  # e.g. a redelivered /start after the runner cancelled
                return Turn(None, 0, duplicate=True, dialog=dialog)
            own = await self.dialog_of(latest)
            return Turn(engine.current(own, latest.state), latest.id, duplicate=True, dialog=own)
        return Turn(step, saved.session_id, dialog=dialog)

    # --- follow-up check-ins ------------------------------------------------------------

    def offer(self, dialog: Dialog | None, step: Step | None) -> int | None:
        """In how many days a check-in can be offered under this step's result: only under
        a result of the served dialog at a level it follows up, with its check-in served,
        and due before retention would delete it."""
        if dialog is None or step is None or step.outcome is None \
                or self.checkin is None or dialog.content_hash != self.dialog.content_hash:
            return None
        days = offer_days(dialog, step.outcome.level.value)
        if days is None or (self.keep_days is not None and days >= self.keep_days):
            return None
        return days

    async def schedule_followup(self, chat_key: str, session_id: int) -> datetime | None:
        """Ask for a check-in after the chat's latest session, its result one `offer` takes;
        when it is due, or None (another session since, no such result, asked already)."""
        stored = await self.store.latest(chat_key)
        if stored is None or stored.id != session_id or stored.status != FINISHED \
                or self.checkin is None:
            return None
        dialog = await self.dialog_of(stored)
        step = engine.current(dialog, stored.state)
        days = self.offer(dialog, step)
        if days is None or step.outcome is None:
            return None
        due = due_time(self.clock(), days, self.quiet)
        added = await self.store.schedule_followup(chat_key, session_id, self.checkin.id,
                                                   step.outcome.level.value, due)
        return due if added else None

    async def cancel_followups(self, chat_key: str, reason: str, *,
                               only: int | None = None) -> int:
        """Cancel the chat's check-ins not sent yet (or only the one `only`); how many."""
        count = await self.store.cancel_followups(chat_key, reason, only=only)
        self.cancelled(reason, count)
        return count

    async def open_checkin(self, followup: Followup) -> Checkin:
        """Start the check-in a due follow-up asks for, if the chat still stands at the
        result it followed (or at a questionnaire begun since but not answered: it gives
        way). Safe to repeat (a worker died before marking it sent): a
        check-in already started is shown where it stands, one answered is not sent again."""
        for _attempt in range(CONFLICT_RETRIES):
            stored = await self.store.latest(followup.chat_key)
            if stored is not None and stored.dialog_id == followup.checkin_dialog \
                    and stored.id > followup.session_id:
                if stored.status != ACTIVE or stored.state["answers"]:
                    return Checkin()
                dialog = await self.dialog_of(stored)
                return Checkin(Turn(engine.resume(dialog, stored.state), stored.id,
                                    dialog=dialog, stored=stored))
            begun = stored is not None and stored.id > followup.session_id \
                and stored.status == ACTIVE and not stored.state["answers"]
            if stored is None or (stored.id != followup.session_id and not begun):
                return Checkin(cancel="superseded")
            if self.checkin is None or self.checkin.id != followup.checkin_dialog:
                return Checkin(cancel="no_checkin")
            try:
                return Checkin(await self._commit(followup.chat_key, stored,
                                                  engine.start(self.checkin), None,
                                                  self.checkin))
            except Conflict:  # the runner did something meanwhile: read it again
                continue
        return Checkin(cancel="superseded")


async def _retrying(attempt: Callable[[int], Awaitable[Turn]]) -> Turn:
    """Run a step, again on a fresh read when another process got to the chat first."""
    for number in range(CONFLICT_RETRIES - 1):
        try:
            return await attempt(number)
        except Conflict:
            continue
    return await attempt(CONFLICT_RETRIES - 1)


def _with_notice(step: Step, key: str) -> Step:
    return replace(step, said=(engine.Say(key, engine.SayKind.ERROR),))
