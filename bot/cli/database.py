"""`kebas migrate`, `purge`, `export` and `stats`: looking after the sessions database and
learning from it (the schema, retention, the anonymised export, the usage numbers)."""

from __future__ import annotations

import argparse
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.shared import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    complain,
    dialog_named,
    given_paths,
    on_store,
    put_text,
    with_store,
    write_output,
)
from bot.content.loader import load_bundle
from bot.core.i18n import pick_language
from bot.storage import (
    FollowupRow,
    SessionStore,
    StartCount,
    StorageError,
    UsageRow,
    is_file_database,
    shown_database,
)

if TYPE_CHECKING:
    from bot.settings import Settings

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def where(db: str) -> str:
    """The database as a message names it: a SQLite file by its whole path (a relative KEBAS_DB
    depends on the folder kebas ran in), an address without its password."""
    return shown_database(os.path.abspath(db) if is_file_database(db) else db)


def store_path(args: argparse.Namespace, *, existing: bool = True) -> tuple[str, Settings] | int:
    """The database a maintenance command works on, and the settings; or why there is none
    (`existing=False`: a SQLite file need not exist yet). Settings that cannot be read or
    used raise SettingsProblem: `kebas` says it and exits 2."""
    from bot.settings import read_settings
    settings = read_settings(args.env_file)
    db = args.db or settings.kebas_db
    if existing and is_file_database(db) and not Path(db).is_file():
        complain(f"there is no database at {db} (set KEBAS_DB or use --db)")
        return EXIT_PROBLEMS
    return db, settings


async def schema_found(store: SessionStore) -> int | None:
    return store.migrated_from


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database's schema up to this Kebas's, once, before the workers start."""
    from bot.storage import SCHEMA_VERSION
    found = store_path(args, existing=False)
    if isinstance(found, int):
        return found
    db, _settings = found
    before, status = on_store(with_store(db, schema_found), db)  # opening migrates
    if before is None:
        return status
    if before == SCHEMA_VERSION:
        print(f"{where(db)}: schema version {SCHEMA_VERSION}, already up to date")
    else:
        print(f"{where(db)}: schema version {before} -> {SCHEMA_VERSION}")
    return status


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete sessions past retention now, as the running bot does once a day."""
    from bot.storage import purge_expired, utc_now
    found = store_path(args)
    if isinstance(found, int):
        return found
    db, settings = found
    days = settings.kebas_retention_days if args.days is None else args.days
    if days < 1:
        complain("--days must be at least 1")
        return EXIT_USAGE
    purged, status = on_store(
        with_store(db, lambda store: purge_expired(store, days, utc_now())), db)
    if purged is None:
        return status
    print(f"{where(db)}: deleted {purged.sessions} sessions ({purged.answers} answers), "
          f"{purged.chats} chats and {purged.updates} update ids not touched for {days} days")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """The sessions, anonymised, as CSV or JSON; a file is made readable by its owner only."""
    from bot.tools.export import anonymise, to_csv, to_json
    found = store_path(args)
    if isinstance(found, int):
        return found
    db, _settings = found
    complain(f"database: {where(db)}")
    form = args.format or ("json" if str(args.output).endswith(".json") else "csv")
    exported, status = on_store(
        with_store(db, lambda store: store.export_rows(), read_only=True), db)
    if exported is None:
        return status
    key, rows = exported
    sessions = anonymise(key, rows)
    text = to_json(sessions) if form == "json" else to_csv(sessions)
    runners = len({session.runner for session in sessions})
    complain(f"{len(sessions)} sessions of {runners} runners, anonymised")
    return put_text(args.output, text, private=True)  # pseudonymous, still about people


def since_date(value: str | None) -> date | None | int:
    """`--since` as a date (None when not given), or EXIT_USAGE after saying what it wants."""
    if value is None:
        return None
    try:
        if not DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        complain(f"--since wants a date as YYYY-MM-DD (e.g. 2025-01-31), not '{value}'")
        return EXIT_USAGE


async def usage_and_starts(store: SessionStore, since: datetime | None, dialog_id: str | None
                           ) -> tuple[list[UsageRow], list[StartCount], list[FollowupRow]]:
    """The sessions started since then (of one dialog, if named), the starts from links and
    the follow-ups asked for since then."""
    return (await store.usage_rows(since, dialog_id), await store.start_counts(),
            await store.followup_rows(since))


def cmd_stats(args: argparse.Namespace) -> int:
    """The usage numbers as tables (and, with --html, a report with charts); the starts from
    links since --since, or over the last days, and of all time."""
    from rich.console import Console

    from bot.tools.followup_stats import followup_stats, followup_tables
    from bot.tools.stats import (
        RECENT_DAYS,
        html_report,
        link_starts,
        since_moment,
        usage,
        usage_tables,
    )
    since = since_date(args.since)
    if isinstance(since, int):
        return since
    found_store = store_path(args)
    if isinstance(found_store, int):
        return found_store
    db, settings = found_store
    complain(f"database: {where(db)}")
    paths = given_paths(args.paths, settings)
    bundle = load_bundle(paths)
    dialog = None
    if args.dialog is not None or bundle.dialogs:
        dialog = dialog_named(bundle, args.dialog)
        if dialog is None:
            return EXIT_USAGE
    else:
        complain(f"no dialog found in {', '.join(map(str, paths))}; questions are shown by "
                 f"their ids")
    locale = bundle.locales.get(pick_language(None, bundle.locales)) if bundle.locales \
        else None
    found, status = on_store(with_store(db, lambda store: usage_and_starts(
        store, since_moment(since) if since else None, args.dialog), read_only=True),
        db, faults=(StorageError,))
    if found is None:
        return status
    rows, starts, asked = found
    numbers = usage(rows, dialog, locale, since)
    followups = None if dialog is None else followup_stats(
        asked, numbers, dialog, bundle.checkin_for(dialog), locale)
    shown_dialog = args.dialog or (dialog.id if dialog is not None else None)
    now = datetime.now(UTC)
    links = link_starts(starts, since or (now - timedelta(days=RECENT_DAYS)).date())
    if args.html:  # first: a terminal that stops reading must not cost the report
        status = write_output(args.html, html_report(numbers, shown_dialog, now, links,
                                                     followups))
    console = Console()
    for shown in usage_tables(numbers, shown_dialog, console.width, links) + (
            [] if followups is None else followup_tables(followups)):
        console.print(shown)
    return status
