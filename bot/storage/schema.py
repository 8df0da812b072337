"""The database's tables, made by numbered migrations that SQLite and PostgreSQL share.

A store opens a database at whatever version it finds and applies the steps it lacks, in
order; `SCHEMA_VERSION` is how many there are. Never edit a shipped step: append a new one.
"""

from __future__ import annotations

# The columns that said who a runner is or what they answered or typed when step 9 stopped
# their sampling; frozen, since step 9 is built from it at import and a table added later does
# not exist yet when a new database runs step 9.
SAMPLED_BY_STEP_9 = {"sessions": ("chat_key", "state", "outcome"), "answers": ("value",),
                     "processed_updates": ("chat_key",), "chats": ("chat_key",),
                     "inbox": ("chat_key", "payload"), "chat_leases": ("chat_key",)}
# Every column that says who a runner is or what they answered or typed (read by PostgreSQL's
# vacuum after an erasure): a later table's step stops its sampling itself (step 13).
PERSONAL_COLUMNS = {**SAMPLED_BY_STEP_9, "followups": ("chat_key",)}
# The follow-up check-ins a runner asked for (step 13), in both databases' words.
FOLLOWUPS = [
    """CREATE TABLE followups (
        id {id},
        chat_key TEXT NOT NULL,
        session_id {big} NOT NULL UNIQUE REFERENCES sessions (id) ON DELETE CASCADE,
        checkin_dialog TEXT NOT NULL,
        level TEXT NOT NULL,
        due_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'cancelled')),
        cancelled TEXT,
        claimed_by TEXT,
        claimed_until {real},
        checkin_session {big} REFERENCES sessions (id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX followups_due ON followups (status, due_at)",
    "CREATE INDEX followups_by_chat ON followups (chat_key)",
]

# Each entry upgrades the schema by one version; never edit a shipped entry, append a new one.
# The same steps serve SQLite and PostgreSQL: {names} are what differs between them (DIALECTS);
# a step only one of them needs names its statements by database.
MIGRATIONS: list[list[str] | dict[str, list[str]]] = [
    [
        """CREATE TABLE sessions (
            id {id},
            chat_key TEXT NOT NULL,
            dialog_id TEXT NOT NULL,
            dialog_version INTEGER NOT NULL,
            node TEXT NOT NULL,
            state TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'finished', 'abandoned')),
            triage TEXT,
            outcome TEXT,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        "CREATE INDEX sessions_by_chat ON sessions (chat_key, id)",
        """CREATE TABLE answers (
            id {id},
            session_id {big} NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('answer', 'back')),
            node TEXT NOT NULL,
            value TEXT,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX answers_by_session ON answers (session_id, seq)",
        """CREATE TABLE processed_updates (
            update_id {big} PRIMARY KEY,
            chat_key TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX processed_updates_by_chat ON processed_updates (chat_key)",
    ],
    [
        """CREATE TABLE chats (
            chat_key TEXT PRIMARY KEY,
            language TEXT,
            consent_version INTEGER,
            consent_at TEXT,
            blocked_at TEXT,
            updated_at TEXT NOT NULL
        )""",
    ],
    [
        # Updates received but not yet handled: written before Telegram is told we have them,
        # deleted once handled, replayed after a crash. Short-lived by design.
        """CREATE TABLE inbox (
            update_id {big} PRIMARY KEY,
            chat_key TEXT,
            payload TEXT NOT NULL,
            received_at TEXT NOT NULL
        )""",
    ],
    [
        # Every dialog a session ever started on, so it can finish on the same one.
        """CREATE TABLE dialog_versions (
            content_hash TEXT PRIMARY KEY,
            dialog_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            definition TEXT NOT NULL,
            first_used TEXT NOT NULL
        )""",
    ],
    [
        # The key of the anonymised export's runner hash, made once per database: the same
        # runner gets the same hash in every export, and no one without the database can
        # turn a hash back into a Telegram id by trying them all.
        "CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "INSERT INTO secrets (name, value) VALUES ('export_key', {random_key})",
    ],
    [
        # The texts a dialog version used, so its sessions can finish on them after an edit
        # renamed or removed a key (JSON: language -> key -> text).
        "ALTER TABLE dialog_versions ADD COLUMN texts TEXT",
    ],
    [
        # Counts each session's writes, so a worker that read an older revision of a chat's
        # session (another worker handled the chat meanwhile) notices before it writes.
        "ALTER TABLE sessions ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
    ],
    [
        # Which worker process is handling a chat right now, until when (webhook mode): the
        # others wait, so a chat's updates are handled one at a time across all of them.
        """CREATE TABLE chat_leases (
            chat_key TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            until {real} NOT NULL
        )""",
    ],
    {
        # PostgreSQL's planner keeps samples of column values (pg_statistic) and keeps them
        # after their rows are deleted, for good once a table is empty: no chat key or typed
        # text may wait there after an erasure. A column changed to its own type loses its
        # samples; a statistics target of 0 takes no new ones. SQLite samples nothing unless
        # told to ANALYZE, which Kebas never does.
        "postgresql": [f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {column} SET STATISTICS 0, ALTER COLUMN {column} TYPE TEXT"
            for column in columns) for table, columns in SAMPLED_BY_STEP_9.items()],
        "sqlite": [],
    },
    [
        # chat_leases.chat_key holds a keyed hash of the chat key (`lease_name`), never the
        # key: a lease is written for every update of every chat (groups, chats that never
        # consent) and renewed while a reply goes out, after an erasure too. The key is made
        # once per database, so every worker on it names a chat alike. The leases there
        # (seconds long) named chats plainly: they go.
        "DELETE FROM chat_leases",
        "INSERT INTO secrets (name, value) VALUES ('lease_key', {random_key})",
    ],
    [
        # When the SQLite file was last rebuilt to leave no older copy of deleted rows
        # (`SQLiteStore.purge`): the purge at start rebuilds only if it deleted something or
        # this is over a day old. A new, empty database counts as rebuilt now; one upgraded
        # with people's data in it as never (''), so its first start rebuilds it.
        # (PostgreSQL has the table too, for one schema; its VACUUM runs every time.)
        "CREATE TABLE upkeep (task TEXT PRIMARY KEY, done_at TEXT NOT NULL)",
        "INSERT INTO upkeep (task, done_at) SELECT 'rebuild', CASE WHEN "
        "EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM chats) OR "
        "EXISTS (SELECT 1 FROM processed_updates) OR EXISTS (SELECT 1 FROM inbox) "
        "THEN '' ELSE {now} END",
    ],
    [
        # How many starts came from each link (t.me/<bot>?start=SOURCE) each day (UTC):
        # a number per day and source, and nothing else: no chat, user or session, so it
        # says only "N starts came from poster-a on day D". Retention keeps it (it is about
        # no one); at most SOURCES_A_DAY sources a day are named, the rest count as 'other'.
        """CREATE TABLE start_counts (
            day TEXT NOT NULL,
            source TEXT NOT NULL,
            starts INTEGER NOT NULL,
            PRIMARY KEY (day, source)
        )""",
        # The updates counted there, so one delivered twice (a webhook retry, a replay after
        # a restart) counts once: the update id and its day, no source and no chat; each goes
        # once Telegram can no longer deliver it again and the inbox no longer holds it.
        """CREATE TABLE counted_starts (
            update_id {big} PRIMARY KEY,
            day TEXT NOT NULL
        )""",
    ],
    {
        # A check-in a runner asked for after a result (`followup_queries`): due when quiet
        # hours allow, claimed by one worker for a while (`claimed_until`, wall-clock
        # seconds) so it is sent once, and late rather than never if that worker dies. Its
        # chat key is never sampled for the planner (as step 9 does for the older tables).
        "postgresql": [*FOLLOWUPS, "ALTER TABLE followups ALTER COLUMN chat_key "
                                   "SET STATISTICS 0"],
        "sqlite": FOLLOWUPS,
    },
]
# The schema version from which starts from links are counted.
STARTS_SCHEMA = 12
# The schema version from which follow-ups are kept.
FOLLOWUPS_SCHEMA = 13
DIALECTS: dict[str, dict[str, str]] = {
    "sqlite": {"id": "INTEGER PRIMARY KEY", "big": "INTEGER", "real": "REAL",
               "random_key": "lower(hex(randomblob(32)))",
               "now": "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '+00:00'"},
    # 244 random bits from PostgreSQL's strong random source (gen_random_uuid is v4)
    "postgresql": {"id": "BIGSERIAL PRIMARY KEY", "big": "BIGINT", "real": "DOUBLE PRECISION",
                   "random_key": "replace(gen_random_uuid()::text, '-', '') || "
                                 "replace(gen_random_uuid()::text, '-', '')",
                   "now": "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS') "
                          "|| '+00:00'"},
}


def migrations(dialect: str) -> list[list[str]]:
    """MIGRATIONS in one database's words."""
    return [[statement.format(**DIALECTS[dialect])
             for statement in (step[dialect] if isinstance(step, dict) else step)]
            for step in MIGRATIONS]


CHAT_COLUMNS = ("language", "consent_version", "consent_at", "blocked_at")
SCHEMA_VERSION = len(MIGRATIONS)
