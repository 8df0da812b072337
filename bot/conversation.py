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

from bot.core import engine
from bot.core.engine import Step, StepKind
from bot.core.i18n import VARS_PREFIX, Locale
from bot.core.inputs import Input, Restart
from bot.core.model import Dialog, dialog_text_keys
from bot.storage import FINISHED, Conflict, SessionStore, StoredSession

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


class Conversations:
    def __init__(self, dialog: Dialog, store: SessionStore,
                 locales: dict[str, Locale] | None = None) -> None:
        self.dialog = dialog
        self.store = store
        self.locales = locales or {}
        self._dialogs: dict[str, Dialog] = {dialog.content_hash: dialog}
        self._texts: dict[str, Texts] = {}      # older versions' texts, by content hash
        self._remembered: set[str] = set()

    def serve(self, dialog: Dialog, locales: dict[str, Locale]) -> None:
        """New sessions get this dialog and these texts; sessions on older versions keep
        the texts they need that these locales no longer have."""
        self.dialog, self.locales = dialog, locales
        self._dialogs.setdefault(dialog.content_hash, dialog)
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
            dialog = await self._dialog_of(stored)
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
        dialog = await self._dialog_of(stored)
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
        dialog = await self._dialog_of(stored)
        return Turn(engine.resume(dialog, stored.state), stored.id, dialog=dialog,
                    stored=stored)

    async def _dialog_of(self, stored: StoredSession) -> Dialog:
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
            texts = self._texts_of(dialog) if dialog is self.dialog else \
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
            own = await self._dialog_of(latest)
            return Turn(engine.current(own, latest.state), latest.id, duplicate=True, dialog=own)
        return Turn(step, saved.session_id, dialog=dialog)


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
