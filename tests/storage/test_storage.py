"""Sessions in a real database, SQLite and PostgreSQL alike: schema, resume, the answer log,
duplicate updates, deletion, two processes at once. (SQLite-only cases say so.)"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat

import pytest

from bot.conversation import Conversations
from bot.core.engine import StepKind
from bot.core.i18n import Locale
from bot.core.inputs import Back, Choose, ChooseMany, Restart, Typed
from bot.core.model import Dialog
from bot.core.render import compose
from bot.storage import (
    SCHEMA_VERSION,
    STORAGE_FAULTS,
    Conflict,
    SQLiteStore,
    StorageError,
)
from bot.tools.export import anonymise


@pytest.fixture
async def store(backend):
    async with backend.store() as opened:
        yield opened


def rows(path, sql, *params):
    with sqlite3.connect(path) as connection:
        return connection.execute(sql, params).fetchall()


async def test_a_new_database_gets_the_whole_schema_in_wal_mode(tmp_path):
    path = tmp_path / "new.sqlite3"
    async with SQLiteStore(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION
    tables = {name for (name,) in rows(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "answers", "processed_updates"} <= tables
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "health data: owner-only file"


async def test_opening_again_keeps_data_and_does_not_migrate_twice(backend, dialog):
    async with backend.store() as store:
        await Conversations(dialog, store).begin("cli:ani")
    async with backend.store() as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert (await store.latest("cli:ani")) is not None


async def test_a_database_from_a_newer_kebas_is_refused_clearly(tmp_path):
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer than this Kebas"):
        await SQLiteStore(path).open()


async def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path):
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="is damaged .* restore the last backup"):
        await SQLiteStore(path).open()


async def test_each_answer_is_committed_with_the_session_before_the_step_returns(backend, dialog):
    async with backend.store() as store:
        talk = Conversations(dialog, store)
        await talk.begin("tg:1")
        await talk.handle("tg:1", Choose("no"))
        await talk.handle("tg:1", Choose("swollen"))
        # read through a separate connection, as another process would
        assert await backend.rows("SELECT node, value, action FROM answers ORDER BY id") == [
            ("chest", '"no"', "answer"), ("calf", '"swollen"', "answer")]
        (node, status, state), = await backend.rows("SELECT node, status, state FROM sessions")
        assert node == "where" and status == "active" and '"rf_dvt"' in state


async def test_a_session_resumes_after_reopening_the_file(backend, dialog):
    async with backend.store() as store:
        talk = Conversations(dialog, store)
        await talk.begin("cli:budi")
        await talk.handle("cli:budi", Choose("no"))
    async with backend.store() as store:
        resumed = (await Conversations(dialog, store).begin("cli:budi")).step
    assert resumed.kind is StepKind.RESUMED
    assert resumed.said[0].key == "info.resumed"
    assert resumed.prompt.node_id == "calf"


async def test_the_same_update_is_applied_once(store, dialog):
    talk = Conversations(dialog, store)
    await talk.begin("tg:7", update_id=100)
    first = await talk.handle("tg:7", Choose("no"), update_id=101)
    again = await talk.handle("tg:7", Choose("no"), update_id=101)
    assert first.step.kind is StepKind.ANSWERED and not first.duplicate
    assert again.duplicate and again.step.answer is None
    assert again.step.prompt.node_id == first.step.prompt.node_id, "shows where the runner is"
    session = await store.latest("tg:7")
    assert len(session.state["answers"]) == 1
    assert len(await store.answers(session.id)) == 1


async def test_the_newest_update_applied_to_a_chat_is_known(backend, dialog):
    """A late update (a lower id than one applied) is told apart (bot.channels.telegram)."""
    async with backend.store() as store:
        talk = Conversations(dialog, store)
        assert await store.newest_update("tg:8") is None
        await talk.begin("tg:8", update_id=205)
        await talk.handle("tg:8", Choose("no"), update_id=207)
        await talk.begin("tg:9", update_id=300)
        assert await store.newest_update("tg:8") == 207
        await store.forget("tg:8")
        assert await store.newest_update("tg:8") is None


async def test_a_finished_session_stores_outcome_and_triage_and_next_begin_is_new(backend, dialog):
    async with backend.store() as store:
        talk = Conversations(dialog, store)
        await talk.begin("cli:c")
        for given in (Choose("no"), Choose("no"), ChooseMany(("top_of_foot",)), Typed("35"),
                      Choose("laces")):
            last = await talk.handle("cli:c", given)
        assert last.step.finished
        again = await talk.begin("cli:c")
        assert again.step.kind is StepKind.STARTED
    finished, fresh = await backend.rows("SELECT status, triage, outcome IS NOT NULL, finished_at "
                                 "IS NOT NULL FROM sessions ORDER BY id")
    assert finished == ("finished", "self_care", 1, 1)
    assert fresh == ("active", None, 0, 0)


async def test_restart_abandons_the_old_session_and_opens_a_new_one(store, dialog):
    talk = Conversations(dialog, store)
    await talk.begin("cli:d")
    await talk.handle("cli:d", Choose("no"))
    first = await store.latest("cli:d")
    await talk.handle("cli:d", Restart())
    second = await store.latest("cli:d")
    assert second.id != first.id and second.state["answers"] == []
    assert len(await store.answers(first.id)) == 1, "the old answers stay in the log"


async def test_back_is_logged_and_the_log_stays_append_only(store, dialog):
    talk = Conversations(dialog, store)
    await talk.begin("cli:e")
    await talk.handle("cli:e", Choose("no"))
    await talk.handle("cli:e", Back())
    await talk.handle("cli:e", Choose("no"))
    session = await store.latest("cli:e")
    assert [(row["action"], row["node"]) for row in await store.answers(session.id)] == [
        ("answer", "chest"), ("back", "chest"), ("answer", "chest")]


async def test_a_button_from_another_session_is_not_applied(store, dialog):
    talk = Conversations(dialog, store)
    old = await talk.begin("tg:9")
    await talk.handle("tg:9", Restart())
    turn = await talk.handle("tg:9", Choose("yes"), session_id=old.session_id)
    assert turn.step.kind is StepKind.STALE and turn.step.said[0].key == "error.stale_button"
    assert (await store.latest("tg:9")).state["answers"] == []


async def test_chat_settings_are_kept_and_cancel_ends_the_session(store, dialog):
    assert await store.chat("tg:5") is None
    await store.update_chat("tg:5", language="en")
    await store.update_chat("tg:5", consent_version=1, consent_at=store.now())
    settings = await store.chat("tg:5")
    assert settings.language == "en" and settings.consent_version == 1
    talk = Conversations(dialog, store)
    await talk.begin("tg:5")
    assert await store.abandon("tg:5") is True
    assert await store.latest("tg:5") is None
    assert await store.abandon("tg:5") is False


async def test_forget_removes_every_row_of_that_chat_only(backend, dialog):
    async with backend.store() as store:
        talk = Conversations(dialog, store)
        for chat in ("tg:1", "tg:2"):
            await store.update_chat(chat, language="id")
            await talk.begin(chat, update_id=hash(chat) % 1000)
            await talk.handle(chat, Choose("no"), update_id=hash(chat) % 1000 + 1)
        assert await store.forget("tg:1") == 1
    for table in ("sessions", "processed_updates", "chats"):
        assert await backend.rows(f"SELECT COUNT(*) FROM {table} WHERE chat_key = 'tg:1'") == [(0,)]
    assert await backend.rows("SELECT COUNT(*) FROM answers a JOIN sessions s "
                              "ON s.id = a.session_id WHERE s.chat_key = 'tg:2'") == [(1,)]
    assert await backend.rows("SELECT COUNT(*) FROM answers") == [(1,)], \
        "no orphaned answers remain"


async def test_a_session_finishes_on_the_dialog_it_started_with(backend, dialog):
    async with backend.store() as store:
        await Conversations(dialog, store).begin("cli:f")
        await Conversations(dialog, store).handle("cli:f", Choose("no"))
    # An edited dialog, version 2: the calf question now has a fourth option.
    calf = dialog.node("calf")
    extra = calf.model_copy(update={"options": calf.options + [
        calf.options[0].model_copy(update={"id": "cramp"})]})
    newer = dialog.model_copy(update={"version": 2, "nodes": [
        extra if node.id == "calf" else node for node in dialog.nodes]})
    async with backend.store() as store:  # a new process that only knows version 2
        talk = Conversations(newer, store)
        asked = (await talk.current("cli:f")).step.prompt
        assert [c.id for c in asked.choices] == ["no", "swollen", "swollen_breathless"]
        refused = (await talk.handle("cli:f", Choose("cramp"))).step
        assert refused.kind is StepKind.INVALID, "version 1 has no such option"
        for given in (Choose("no"), ChooseMany(("none",)), Typed("30"), Choose("laces")):
            turn = await talk.handle("cli:f", given)
        assert turn.step.finished and turn.dialog.version == 1
        assert (await store.latest("cli:f")).state["version"] == 1
        new = await talk.begin("cli:f")
        assert new.dialog.version == 2 and new.step.state["version"] == 2
    versions = await backend.rows("SELECT version FROM dialog_versions ORDER BY version")
    assert versions == [(1,), (2,)]


async def test_a_session_whose_dialog_was_never_kept_is_replayed_on_the_newest(store, backend,
                                                                              dialog):
    talk = Conversations(dialog, store)
    await talk.begin("cli:g")
    await talk.handle("cli:g", Choose("no"))
    await backend.execute("DELETE FROM dialog_versions")
    newer = dialog.model_copy(update={"version": 2})
    step = (await Conversations(newer, store).handle("cli:g", Choose("no"))).step
    assert step.kind is StepKind.ANSWERED and step.prompt.node_id == "where"
    assert (await store.latest("cli:g")).state["version"] == 2


async def test_a_session_keeps_the_texts_of_its_version_when_an_edit_renames_a_key(backend,
                                                                                  shipped):
    """v2 renames the key of the saddle question; a runner mid-way on v1 still reads it."""
    dialog = shipped.dialog()
    locales = {language: Locale(locale.language, locale.file, dict(locale.texts))
               for language, locale in shipped.locales.items()}
    saddle = locales["id"].texts["q.a3_saddle"]
    async with backend.store() as store:
        talk = Conversations(dialog, store, locales)
        await talk.begin("cli:h")
        await talk.handle("cli:h", ChooseMany(("none",)))
    data = dialog.model_dump(by_alias=True)
    data["version"] = dialog.version + 1
    next(node for node in data["nodes"] if node["id"] == "a3_saddle")["text"] = "q.a3_saddle_v2"
    renamed = Dialog.model_validate(data)
    edited = {}
    for language, locale in locales.items():
        texts = dict(locale.texts)
        texts["q.a3_saddle_v2"] = texts.pop("q.a3_saddle") + " (v2)"
        edited[language] = Locale(language, locale.file, texts)
    async with backend.store() as store:  # a new process that only knows version 2
        talk = Conversations(renamed, store, edited)
        turn = await talk.current("cli:h")
        shown = compose(turn.step, edited["id"])[1].lines[0].text
        assert turn.dialog.version == dialog.version and shown == saddle
        fresh = await talk.begin("cli:i")
        while fresh.step.prompt.node_id != "a3_saddle":
            fresh = await talk.handle("cli:i", ChooseMany(("none",)))
        assert compose(fresh.step, edited["id"])[1].lines[0].text == saddle + " (v2)"


def test_the_texts_an_older_version_needs_come_in_a_new_locale_never_changing_one(dialog):
    """A Locale is frozen: the kept texts go into a new one, in the mapping channels read."""
    old = Locale("id", "locales/id.yaml", {"q.kept": "Kept", "q.changed": "New words"})
    live = {"id": old}
    talk = Conversations(dialog, None, live)
    talk._keep_missing({"id": {"q.gone": "Gone", "q.changed": "Old words"},
                        "en": {"q.gone": "Gone"}})
    assert old.texts == {"q.kept": "Kept", "q.changed": "New words"}
    assert live["id"].texts == {"q.kept": "Kept", "q.changed": "New words", "q.gone": "Gone"}
    assert live["id"].file == old.file and set(live) == {"id"}


async def count_commits(store: SQLiteStore) -> list[str]:
    """The COMMITs the store's writer connection makes from now on (each one an fsync)."""
    commits: list[str] = []
    await store.db.run(lambda db: db.set_trace_callback(
        lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None))
    return commits


async def test_steps_of_many_chats_arriving_together_share_one_commit(tmp_path, dialog):
    """SQLite: the group commit."""
    async with SQLiteStore(tmp_path / "kebas.sqlite3") as store:
        await _share_one_commit(store, dialog)


async def _share_one_commit(store: SQLiteStore, dialog) -> None:
    talk = Conversations(dialog, store)
    chats = [f"tg:{number}" for number in range(20)]
    await asyncio.gather(*(talk.begin(chat, update_id=index)
                           for index, chat in enumerate(chats)))
    commits = await count_commits(store)
    turns = await asyncio.gather(*(talk.handle(chat, Choose("no"), update_id=100 + index)
                                   for index, chat in enumerate(chats)))
    assert all(turn.step.kind is StepKind.ANSWERED and not turn.duplicate for turn in turns)
    assert len(commits) < len(chats), "one fsync for the steps that waited together"
    for chat in chats:  # each answer in its own chat's session, once
        session = await store.latest(chat)
        assert [answer["node"] for answer in await store.answers(session.id)] == ["chest"]
        assert session.chat_key == chat


async def test_a_write_that_fails_among_others_is_undone_alone(store, backend, dialog):
    talk = Conversations(dialog, store)
    await asyncio.gather(talk.begin("tg:1", update_id=1), talk.begin("tg:2", update_id=2))
    ani = await talk.handle("tg:1", Choose("no"), update_id=3)
    # together: a redelivered update, a step for a session that does not exist, a fresh step
    again, missing, budi = await asyncio.gather(
        talk.handle("tg:1", Choose("no"), update_id=3),
        store.save("tg:3", 999_999, ani.step, update_id=4),
        talk.handle("tg:2", Choose("no"), update_id=5),
        return_exceptions=True)
    assert again.duplicate
    assert isinstance(missing, STORAGE_FAULTS), "its answer has no session to go to"
    assert not budi.duplicate and budi.step.kind is StepKind.ANSWERED
    assert await backend.rows("SELECT update_id FROM processed_updates ORDER BY update_id") == [
        (1,), (2,), (3,), (5,)], "the failed step left nothing, not even its update id"
    assert len(await store.answers((await store.latest("tg:1")).id)) == 1
    assert len(await store.answers((await store.latest("tg:2")).id)) == 1


async def test_a_step_read_before_another_worker_changed_the_session_is_redone(backend,
                                                                               dialog):
    """Two processes on one database, each handling an update of the same chat at once."""
    async with backend.store() as one, backend.store() as other:
        first, second = Conversations(dialog, one), Conversations(dialog, other)
        await first.begin("tg:1", update_id=1)
        read_by_first = await first.current("tg:1")          # at "chest"
        await second.handle("tg:1", Choose("no"), update_id=2)  # meanwhile: now at "calf"
        # computed on the old read, "swollen" would be refused and the old state written
        # over the answer the other worker just stored; it is redone on the fresh session
        turn = await first.handle("tg:1", Choose("swollen"), update_id=3, read=read_by_first)
        assert turn.step.kind is StepKind.ANSWERED and turn.step.prompt.node_id == "where"
        session = await one.latest("tg:1")
        assert [(a["node"], a["value"]) for a in session.state["answers"]] == [
            ("chest", "no"), ("calf", "swollen")]
        assert [(a["node"], a["value"]) for a in await one.answers(session.id)] == [
            ("chest", "no"), ("calf", "swollen")], "each answer once, in order"


async def test_a_save_against_a_changed_session_writes_nothing(store, backend, dialog):
    talk = Conversations(dialog, store)
    started = await talk.begin("tg:1", update_id=1)
    read = await store.latest("tg:1")
    await talk.handle("tg:1", Choose("no"), update_id=2)
    with pytest.raises(Conflict):
        await store.save("tg:1", read.id, started.step, update_id=3,
                         expected=(read.id, read.revision))
    assert await backend.rows("SELECT update_id FROM processed_updates") == [(1,), (2,)]
    assert len(await store.answers(read.id)) == 1


async def test_the_export_reads_every_session_with_its_key(store, dialog):
    talk = Conversations(dialog, store)
    await talk.begin("tg:1")
    await talk.handle("tg:1", Choose("no"))
    await talk.begin("tg:2")
    key, exported = await store.export_rows()
    assert len(key) == 64 and int(key, 16) >= 0, "a random hex key, made once per database"
    assert [(row.chat_key, len(row.state["answers"])) for row in exported] == [
        ("tg:1", 1), ("tg:2", 0)]
    assert (await store.export_rows())[0] == key


async def stored_as_written_before(backend, chat_key, change):
    """Rewrite the chat's latest session as an older Kebas saved it: `change(state, outcome)`
    edits the parsed state and result summary in place."""
    (session_id, state, outcome), = await backend.rows(
        "SELECT id, state, outcome FROM sessions WHERE chat_key = ? ORDER BY id DESC LIMIT 1",
        chat_key)
    state, outcome = json.loads(state), json.loads(outcome) if outcome else None
    change(state, outcome)

    def literal(value):
        return "NULL" if value is None else "'" + json.dumps(value).replace("'", "''") + "'"

    await backend.execute(f"UPDATE sessions SET state = {literal(state)}, "
                          f"outcome = {literal(outcome)} WHERE id = {session_id}")


async def test_a_session_saved_before_dialog_versions_were_kept_still_resumes(backend, dialog):
    """States saved before issue 5 have no `hash`: the session is matched to its dialog by id
    and version, goes on, and is written back without one."""
    async with backend.store() as store:
        talk = Conversations(dialog, store)
        await talk.begin("cli:old")
        await talk.handle("cli:old", Choose("no"))
    await stored_as_written_before(backend, "cli:old", lambda state, _: state.pop("hash"))
    async with backend.store() as store:
        talk = Conversations(dialog, store)
        assert "hash" not in (await store.latest("cli:old")).state
        resumed = (await talk.begin("cli:old")).step
        assert resumed.kind is StepKind.RESUMED and resumed.prompt.node_id == "calf"
        answered = (await talk.handle("cli:old", Choose("no"))).step
        assert answered.kind is StepKind.ANSWERED and answered.prompt.node_id == "where"
        stored = await store.latest("cli:old")
        assert "hash" not in stored.state
        assert stored.state["answers"] == [{"node": "chest", "value": "no"},
                                           {"node": "calf", "value": "no"}]
        newer = dialog.model_copy(update={"version": 2})
        replayed = (await Conversations(newer, store).current("cli:old")).step
        assert replayed.kind is StepKind.RESUMED and replayed.state["version"] == 2


async def test_a_result_stored_in_the_first_shape_is_still_read(backend, dialog):
    """The first result summaries listed red flags by id alone, with no trace of why (no
    `because`, no `level_from`): the export and the usage statistics still read them."""
    async with backend.store() as store:
        talk = Conversations(dialog, store)
        await talk.begin("tg:9")
        turns = [await talk.handle("tg:9", given) for given in (
            Choose("no"), Choose("swollen"), ChooseMany(("sole",)), Typed("30"), Choose("laces"))]
        assert turns[-1].step.finished

    def first_shape(state, outcome):
        for summary in (state["outcome"], outcome):
            summary["red_flags"] = [flag["id"] for flag in summary["red_flags"]]
            summary["causes"] = [{"id": cause["id"], "points": cause["points"]}
                                 for cause in summary["causes"]]
            del summary["level_from"]

    await stored_as_written_before(backend, "tg:9", first_shape)
    async with backend.store() as store:
        (row,) = (await store.export_rows())[1]
        assert row.outcome["red_flags"] == [{"id": "rf_dvt", "because": []}]
        assert row.outcome["level_from"] == [] and row.state["outcome"] == row.outcome
        assert all(cause["because"] == [] for cause in row.outcome["causes"])
        (exported,) = anonymise("00" * 32, [row])
        assert (exported.ending, exported.red_flags) == ("result", ["rf_dvt"])
        assert exported.causes == [cause["id"] for cause in row.outcome["causes"]] != []
        (usage,) = await store.usage_rows()
        assert (usage.outcome, usage.fired) == ("result", ("rf_dvt",))


async def test_a_stored_state_no_kebas_wrote_is_a_storage_fault_that_quotes_no_answer(
        store, backend, dialog):
    talk = Conversations(dialog, store)
    await talk.begin("tg:10")
    await talk.handle("tg:10", Choose("no"))
    await backend.execute("""UPDATE sessions SET state = '{"dialog": "engine_test", '
                          || '"version": 1, "node": "calf", "answers": "Saya Budi"}'""")
    with pytest.raises(StorageError, match="'answers' is str, not list") as raised:
        await talk.begin("tg:10")
    assert "Budi" not in str(raised.value)
