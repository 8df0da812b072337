"""One conversation driver for every channel: load the session, step the engine, commit, reply.

Telegram, the terminal chat, the scenario runner and the tests all go through `Conversations`,
so they share one behaviour: the step is committed before its output is returned, and an
update that was already applied comes back as None instead of being applied twice.
"""

from __future__ import annotations

from bot import engine
from bot.engine import Input, Step, StepKind
from bot.model import Dialog
from bot.storage import FINISHED, SessionStore, StoredSession


class Conversations:
    def __init__(self, dialog: Dialog, store: SessionStore) -> None:
        self.dialog = dialog
        self.store = store

    async def begin(self, chat_key: str, *, update_id: int | None = None,
                    fresh: bool = False) -> Step | None:
        """Resume the chat's session where it stands, or start one (always, if `fresh`)."""
        stored = await self.store.latest(chat_key)
        if stored is None or stored.status == FINISHED:
            step = engine.start(self.dialog)
        elif fresh:
            step = engine.step(self.dialog, stored.state, engine.Restart())
        else:
            step = engine.resume(self.dialog, stored.state)
        return await self._commit(chat_key, stored, step, update_id)

    async def handle(self, chat_key: str, given: Input, *, update_id: int | None = None
                     ) -> Step | None:
        """Apply one input; None means this update was already applied and nothing changed."""
        stored = await self.store.latest(chat_key)
        if stored is None:
            return await self._commit(chat_key, None, engine.start(self.dialog), update_id)
        state = stored.state
        if (state.get("dialog"), state.get("version")) != (self.dialog.id, self.dialog.version):
            resumed = engine.resume(self.dialog, state)
            if resumed.kind is StepKind.RESTARTED:
                return await self._commit(chat_key, stored, resumed, update_id)
            state = resumed.state
        return await self._commit(chat_key, stored, engine.step(self.dialog, state, given),
                                  update_id)

    async def _commit(self, chat_key: str, stored: StoredSession | None, step: Step,
                      update_id: int | None) -> Step | None:
        saved = await self.store.save(chat_key, stored.id if stored else None, step,
                                      update_id=update_id)
        return None if saved.duplicate else step
