"""One conversation driver for every channel: load the session, step the engine, commit, reply.

Telegram, the terminal chat, the scenario runner and the tests all go through `Conversations`,
so they share one behaviour: the step is committed before its output is returned, and an
update that was already applied is not applied again (the runner is shown where they stand).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot import engine
from bot.engine import Input, Step, StepKind
from bot.model import Dialog
from bot.storage import FINISHED, SessionStore, StoredSession


@dataclass(frozen=True)
class Turn:
    step: Step | None         # None only for a repeated update when the chat has no session left
    session_id: int
    duplicate: bool = False   # the update was applied before; `step` only shows where we are


class Conversations:
    def __init__(self, dialog: Dialog, store: SessionStore) -> None:
        self.dialog = dialog
        self.store = store

    async def begin(self, chat_key: str, *, update_id: int | None = None,
                    fresh: bool = False) -> Turn:
        """Resume the chat's session where it stands, or start one (always, if `fresh`)."""
        stored = await self.store.latest(chat_key)
        if stored is None or stored.status == FINISHED:
            step = engine.start(self.dialog)
        elif fresh:
            step = engine.step(self.dialog, stored.state, engine.Restart())
        else:
            step = engine.resume(self.dialog, stored.state)
        return await self._commit(chat_key, stored, step, update_id)

    async def handle(self, chat_key: str, given: Input, *, update_id: int | None = None,
                     session_id: int | None = None) -> Turn:
        """Apply one input. A button made for another session (`session_id`) is not applied."""
        stored = await self.store.latest(chat_key)
        if stored is None:
            return await self._commit(chat_key, None, engine.start(self.dialog), update_id)
        state = stored.state
        if (state.get("dialog"), state.get("version")) != (self.dialog.id, self.dialog.version):
            resumed = engine.resume(self.dialog, state)
            if resumed.kind is StepKind.RESTARTED:
                return await self._commit(chat_key, stored, resumed, update_id)
            state = resumed.state
        if session_id is not None and session_id != stored.id:
            stale = engine.current(self.dialog, state, StepKind.STALE)
            return Turn(_with_notice(stale, "error.stale_button"), stored.id)
        return await self._commit(chat_key, stored, engine.step(self.dialog, state, given),
                                  update_id)

    async def current(self, chat_key: str) -> Turn | None:
        """Where the chat stands, changing nothing; None when it has no session."""
        stored = await self.store.latest(chat_key)
        if stored is None:
            return None
        return Turn(engine.resume(self.dialog, stored.state), stored.id)

    async def _commit(self, chat_key: str, stored: StoredSession | None, step: Step,
                      update_id: int | None) -> Turn:
        saved = await self.store.save(chat_key, stored.id if stored else None, step,
                                      update_id=update_id)
        if saved.duplicate:
            latest = await self.store.latest(chat_key)
            if latest is None:  # e.g. a redelivered /start after the runner cancelled
                return Turn(None, 0, duplicate=True)
            return Turn(engine.current(self.dialog, latest.state), latest.id, duplicate=True)
        return Turn(step, saved.session_id)


def _with_notice(step: Step, key: str) -> Step:
    return replace(step, said=(engine.Say(key, engine.SayKind.ERROR),))
