"""The `kebas` command: check, chat, run, webhook, migrate, scenarios, graph, book, signoff,
diff, stats, purge, export, schema.

Every failure a person can cause (a bad path, a broken dialog, a missing token) ends in a short
message and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import secrets
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.content.checks import check_and_prove, has_errors
from bot.content.loader import Bundle, default_paths, load_bundle
from bot.core.i18n import pick_language
from bot.core.model import Dialog, dialog_json_schema
from bot.core.problems import Problem
from bot.storage import (
    STORAGE_FAULTS,
    SQLiteStore,
    StorageError,
    explain_storage_fault,
    is_file_database,
    open_store,
    shown_database,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
# `kebas run` only: the database cannot be used. Restarting will not help until an operator
# acts, so the systemd unit in README does not restart on it (nor on EXIT_USAGE).
EXIT_STORAGE = 3
SCHEMA_FILE = "dialog.schema.json"


def _paths(values: list[str] | None) -> list[Path]:
    return [Path(value) for value in values] if values else default_paths()


def load_checked(paths: list[Path], **checks: Any) -> tuple[Bundle, list[Problem], list]:
    bundle = load_bundle(paths)
    problems, reports = check_and_prove(bundle, **checks)
    return bundle, problems, reports


def cmd_check(args: argparse.Namespace) -> int:
    paths = _paths(args.paths)
    bundle, problems, reports = load_checked(paths)
    if not has_errors(problems):
        from bot.content.signoff_check import changes_since_signoff
        problems += changes_since_signoff(bundle, paths[0])
    for problem in problems:
        print(problem)
    for loaded, report in reports:
        verdict = "hold" if report.holds else "FAIL"
        print(f"safety proofs a-e {verdict} for {loaded.dialog.id} v{loaded.dialog.version}: "
              f"{report.paths:,} distinct answer paths ({report.states:,} states explored); "
              f"longest path {report.longest_questions} questions")
    errors = sum(problem.is_error for problem in problems)
    warnings = len(problems) - errors
    dialogs = ", ".join(f"{d.dialog.id} v{d.dialog.version}" for d in bundle.dialogs) or "none"
    print(f"{len(bundle.files)} files checked (dialogs: {dialogs}; languages: "
          f"{', '.join(sorted(bundle.locales)) or 'none'}): {errors} errors, {warnings} warnings")
    return EXIT_PROBLEMS if has_errors(problems) else EXIT_OK


def load_usable(paths: list[Path], *, refusal: str = "the dialog has {count} errors; fix "
                "them first (see 'kebas check')", **checks: Any) -> Bundle | None:
    """The bundle if it has no errors; otherwise print them and, last, `refusal`."""
    bundle, problems, _reports = load_checked(paths, **checks)
    errors = [problem for problem in problems if problem.is_error]
    if errors:
        for problem in errors:
            print(problem, file=sys.stderr)
        print(f"kebas: {refusal.format(count=len(errors))}", file=sys.stderr)
        return None
    return bundle


def write_output(output: str, content: str | bytes, *, private: bool = False) -> int:
    """Write a command's result to a file and say so, or say why it could not be written.

    `private` (it is about people): the file is its owner's alone from the moment it exists.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if private:
            _write_private(Path(output), data)
        else:
            Path(output).write_bytes(data)
    except OSError as exc:
        print(f"kebas: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"wrote {output}")
    return EXIT_OK


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to a new file made 0600 (os.open; the umask can only narrow it), then
    put it in the place of `path`. Not written into an existing file: that one may be open
    to others, or already opened by someone who could then read the new contents."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def on_store(work: Any, db: str | Path) -> tuple[Any, int]:
    """Run `work` (a coroutine using the database); a database that fails becomes one
    sentence and EXIT_PROBLEMS, never a traceback."""
    try:
        return asyncio.run(work), EXIT_OK
    except STORAGE_FAULTS as exc:
        said = str(exc) if isinstance(exc, StorageError) \
            else explain_storage_fault(exc, shown_database(db))
        print(f"kebas: {said}", file=sys.stderr)
        return None, EXIT_PROBLEMS


def usable_dialog(paths: list[Path], dialog_id: str | None) -> tuple[Bundle, Dialog] | int:
    """The checked bundle and the dialog asked for, or the exit status after saying why not."""
    bundle = load_usable(paths)
    if bundle is None:
        return EXIT_PROBLEMS
    try:
        return bundle, bundle.dialog(dialog_id)
    except KeyError:
        known = ", ".join(d.dialog.id for d in bundle.dialogs)
        print(f"kebas: there is no dialog '{dialog_id}' (there is: {known})", file=sys.stderr)
        return EXIT_USAGE


def cmd_chat(args: argparse.Namespace) -> int:
    found = usable_dialog(_paths(args.paths), args.dialog)
    if isinstance(found, int):
        return found
    bundle, dialog = found
    locale = bundle.locales[pick_language(args.lang, bundle.locales)]
    from bot.channels.console import ConsoleChat
    from bot.conversation import Conversations

    async def run() -> int:
        async with SQLiteStore(args.db) as store:
            chat = ConsoleChat(Conversations(dialog, store, bundle.locales), locale,
                               f"cli:{args.user}")
            return await chat.run()

    code, status = on_store(run(), args.db)
    return status if code is None else code


def _bot_settings(args: argparse.Namespace, *, webhook: bool | None = False) -> Any:
    """The settings a command that talks to Telegram needs, or the exit status after saying
    why they cannot work. `webhook=None`: webhook mode if a webhook address is set."""
    from bot.settings import SettingsProblem, check_webhook, load_settings
    try:
        settings = load_settings(args.env_file)
        for option, name in (("webhook", "kebas_webhook_url"), ("listen", "kebas_listen"),
                             ("url", "kebas_webhook_url")):
            if getattr(args, option, None):
                setattr(settings, name, getattr(args, option))
        if webhook or (webhook is None and settings.kebas_webhook_url):
            check_webhook(settings)
    except SettingsProblem as exc:
        print(f"kebas: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    """Long polling (or a webhook server) until SIGTERM or Ctrl-C; refuses to start on bad
    settings or a bad dialog."""
    settings = _bot_settings(args, webhook=None)
    if isinstance(settings, int):
        return settings
    bundle = load_usable(settings.content_paths(default_paths()))
    if bundle is None:
        print("kebas: not starting the bot", file=sys.stderr)
        return EXIT_PROBLEMS
    from telegram.error import BadRequest, InvalidToken, TelegramError

    from bot import logsafe
    from bot.channels.telegram.app import run_polling
    logsafe.configure(settings.token)
    try:
        if settings.kebas_webhook_url:
            from bot.channels.telegram.webhook import (
                run_webhook,  # Starlette and uvicorn only here
            )
            return run_webhook(settings, bundle)
        return run_polling(settings, bundle)
    except StorageError as exc:
        print(f"kebas: {exc}. Not starting the bot.", file=sys.stderr)
        return EXIT_STORAGE
    except InvalidToken:
        print("kebas: the Bot API rejected TELEGRAM_BOT_TOKEN. Copy the token again from "
              "@BotFather (or /revoke it there and use the new one).", file=sys.stderr)
    except BadRequest as exc:  # e.g. setWebhook refused the address
        detail = str(exc).replace(settings.token, logsafe.REDACTED)
        print(f"kebas: Telegram refused: {detail}. Not starting the bot.", file=sys.stderr)
    except TelegramError as exc:
        detail = str(exc).replace(settings.token, logsafe.REDACTED)
        print(f"kebas: cannot reach the Bot API at {settings.telegram_api_base_url} "
              f"({type(exc).__name__}: {detail}). Check the network and "
              f"TELEGRAM_API_BASE_URL.", file=sys.stderr)
    return EXIT_PROBLEMS


def cmd_webhook(args: argparse.Namespace) -> int:
    """Register, remove or show the bot's webhook with Telegram (a deploy step)."""
    settings = _bot_settings(args, webhook=args.action == "set")
    if isinstance(settings, int):
        return settings
    from telegram import Bot, Update
    from telegram.error import InvalidToken, TelegramError

    from bot import logsafe
    from bot.channels.telegram.webhook import webhook_info
    logsafe.configure(settings.token)

    async def act() -> str:
        async with Bot(settings.token, base_url=settings.telegram_api_base_url) as bot:
            if args.action == "set":
                await bot.set_webhook(url=settings.kebas_webhook_url,
                                      secret_token=settings.webhook_secret,
                                      allowed_updates=Update.ALL_TYPES,
                                      max_connections=args.max_connections)
                return f"webhook set: {settings.kebas_webhook_url}"
            if args.action == "delete":
                await bot.delete_webhook(drop_pending_updates=args.drop_pending_updates)
                return "webhook deleted: the bot can run with long polling again"
            return webhook_info(await bot.get_webhook_info())

    try:
        print(asyncio.run(act()))
    except InvalidToken:
        print("kebas: the Bot API rejected TELEGRAM_BOT_TOKEN. Copy the token again from "
              "@BotFather.", file=sys.stderr)
        return EXIT_PROBLEMS
    except TelegramError as exc:
        detail = str(exc).replace(settings.token, logsafe.REDACTED)
        print(f"kebas: Telegram refused: {detail}", file=sys.stderr)
        return EXIT_PROBLEMS
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database's schema up to this Kebas's, once, before the workers start."""
    from bot.storage import SCHEMA_VERSION
    found = _store_path(args, existing=False)
    if isinstance(found, int):
        return found
    db, _settings = found

    async def migrate() -> int:
        async with open_store(db) as store:  # opening migrates
            return store.migrated_from

    before, status = on_store(migrate(), db)
    if before is None:
        return status
    if before == SCHEMA_VERSION:
        print(f"{shown_database(db)}: schema version {SCHEMA_VERSION}, already up to date")
    else:
        print(f"{shown_database(db)}: schema version {before} -> {SCHEMA_VERSION}")
    return status


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def cmd_scenarios(args: argparse.Namespace) -> int:
    from bot.content.scenarios import Unrunnable, coverage, load_scenarios, run_scenarios
    from bot.core.proofs import prove
    content = default_paths()
    bundle = load_usable(content)
    if bundle is None:
        return EXIT_PROBLEMS
    files = [Path(value) for value in args.files] or [content[0] / "scenarios"]
    scenarios, problems = load_scenarios(files)
    for problem in problems:
        print(problem)
    if any(problem.is_error for problem in problems):
        return EXIT_PROBLEMS
    results_by_dialog: dict[str, list] = {}
    failed = 0
    for run in run_scenarios(bundle, scenarios):
        if isinstance(run, Unrunnable):
            print(run.report())
            failed += 1
            continue
        dialog_id = bundle.dialog(run.scenario.scenario.dialog).id
        results_by_dialog.setdefault(dialog_id, []).append(run)
        if not run.passed:
            failed += 1
            print(run.report())
            print()
    print(f"{len(scenarios)} scenarios: {len(scenarios) - failed} passed, {failed} failed")
    for dialog_id, results in results_by_dialog.items():
        print(f"coverage of {dialog_id} by its {len(results)} scenarios:")
        dialog = bundle.dialog(dialog_id)
        for line in coverage(dialog, results, prove(dialog).transitions).lines():
            print(f"  {line}")
    return EXIT_PROBLEMS if failed else EXIT_OK


def cmd_signoff(args: argparse.Namespace) -> int:
    """Record that a physician reviewed exactly this content (the review book's hash)."""
    from bot.content import signoff
    from bot.content.gate import gated_bundle
    paths = _paths(args.paths)
    try:
        when = signoff.valid_date(args.date) if args.date else date.today().isoformat()
    except ValueError as exc:
        print(f"kebas: --date: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if when > date.today().isoformat():
        print(f"kebas: --date {when} is in the future; give the day of the review",
              file=sys.stderr)
        return EXIT_USAGE
    reviewer, registration = args.reviewer.strip(), args.registration.strip()
    if not reviewer or not registration:
        print("kebas: --reviewer and --registration must name the physician and their STR or "
              "SIP number", file=sys.stderr)
        return EXIT_USAGE
    bundle, failures = gated_bundle(paths)
    if bundle is None:
        for failure in failures:
            print(failure, file=sys.stderr)
        print("kebas: a sign-off is for content that passes 'kebas check' and every scenario "
              "('kebas scenarios'); nothing was recorded", file=sys.stderr)
        return EXIT_PROBLEMS
    revision = committed_revision(paths)
    if revision is None and in_git(paths[0]):
        print("kebas: the content has changes that are not committed to git; commit them "
              "first, so that the sign-off names the revision that holds exactly this content "
              "(kebas check verifies it, and shows what changes after it)", file=sys.stderr)
        return EXIT_PROBLEMS
    entry = signoff.SignOff(bundle.content_hash, ", ".join(
        f"{loaded.dialog.id} v{loaded.dialog.version}" for loaded in bundle.dialogs),
        reviewer, registration, when, revision)
    try:
        written = signoff.record(paths[0], entry)
    except (OSError, ValueError) as exc:
        print(f"kebas: cannot record the sign-off in {paths[0] / signoff.SIGNOFF_FILE}: "
              f"{getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"signed off: {entry.dialog}, content {entry.hash}, by {reviewer} ({registration}) "
          f"on {when}; recorded in {written}")
    status = load_bundle(paths).locales[pick_language(None, bundle.locales)].text(
        signoff.REVIEWED_KEY)
    print(f"runners now read: \"{status}\" (until the content changes)")
    if revision is None:
        print("note: the content is not in a git repository, so 'kebas check' can neither "
              "verify this sign-off nor show what changes after it", file=sys.stderr)
    return EXIT_OK


def _git(folder: Path, *words: str) -> str | None:
    """What a git command prints, or None when git is missing or the command fails."""
    import subprocess
    try:
        done = subprocess.run(["git", "-C", str(folder), *words], capture_output=True,
                              text=True, check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def in_git(folder: Path) -> bool:
    return _git(folder, "rev-parse", "--is-inside-work-tree") == "true"


def committed_revision(paths: list[Path]) -> str | None:
    """The git commit that holds exactly these content folders, or None (no git, not a
    repository, or uncommitted changes; the sign-off file itself does not count)."""
    from bot.content.signoff import SIGNOFF_FILE
    changes = _git(paths[0], "status", "--porcelain", "--",
                   *map(str, (path.resolve() for path in paths)),
                   f":(exclude){(paths[0] / SIGNOFF_FILE).resolve()}")
    return _git(paths[0], "rev-parse", "HEAD") if changes == "" else None


def cmd_graph(args: argparse.Namespace) -> int:
    from bot.tools.flowchart import GraphvizMissing, flow_of, render
    found = usable_dialog(_paths(args.paths), args.dialog)
    if isinstance(found, int):
        return found
    bundle, dialog = found
    flow = flow_of(dialog, bundle.locales[pick_language(args.lang, bundle.locales)])
    try:
        picture = render(flow, args.format)
    except GraphvizMissing as exc:
        print(f"kebas: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.output in (None, "-"):
        if args.format in ("svg", "png") and sys.stdout.isatty():
            print(f"kebas: {args.format.upper()} is binary; write it to a file with -o",
                  file=sys.stderr)
            return EXIT_USAGE
        sys.stdout.buffer.write(picture)
        sys.stdout.flush()
        return EXIT_OK
    return write_output(args.output, picture)


def cmd_book(args: argparse.Namespace) -> int:
    from bot.tools.book import main as book_main
    return book_main(args)


def cmd_diff(args: argparse.Namespace) -> int:
    from bot.tools.diff import main as diff_main
    return diff_main(args)


def cmd_stats(args: argparse.Namespace) -> int:
    from bot.tools.stats import main as stats_main
    return stats_main(args)


def _store_path(args: argparse.Namespace, *, existing: bool = True) -> tuple[str, Any] | int:
    """The database a maintenance command works on, and the settings; or why there is none
    (`existing=False`: a SQLite file need not exist yet)."""
    from bot.settings import SettingsProblem, read_settings
    try:
        settings = read_settings(args.env_file)
    except SettingsProblem as exc:
        print(f"kebas: {exc}", file=sys.stderr)
        return EXIT_USAGE
    db = args.db or settings.kebas_db
    if existing and is_file_database(db) and not Path(db).is_file():
        print(f"kebas: there is no database at {db} (set KEBAS_DB or use --db)",
              file=sys.stderr)
        return EXIT_PROBLEMS
    return db, settings


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete sessions past retention now, as the running bot does once a day."""
    from bot.storage import utc_now
    from bot.storage.retention import purge_expired
    found = _store_path(args)
    if isinstance(found, int):
        return found
    db, settings = found
    days = settings.kebas_retention_days if args.days is None else args.days
    if days < 1:
        print("kebas: --days must be at least 1", file=sys.stderr)
        return EXIT_USAGE

    async def run() -> Any:
        async with open_store(db) as store:
            return await purge_expired(store, days, utc_now())

    purged, status = on_store(run(), db)
    if purged is None:
        return status
    print(f"{shown_database(db)}: deleted {purged.sessions} sessions ({purged.answers} answers), "
          f"{purged.chats} chats and {purged.updates} update ids not touched for {days} days")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from bot.tools.export import anonymise, to_csv, to_json
    found = _store_path(args)
    if isinstance(found, int):
        return found
    db, _settings = found
    form = args.format or ("json" if str(args.output).endswith(".json") else "csv")

    async def run() -> Any:
        async with open_store(db, read_only=True) as store:
            return await store.export_rows()

    found, status = on_store(run(), db)
    if found is None:
        return status
    key, rows = found
    sessions = anonymise(key, rows)
    text = to_json(sessions) if form == "json" else to_csv(sessions)
    runners = len({session.runner for session in sessions})
    print(f"kebas: {len(sessions)} sessions of {runners} runners, anonymised", file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    return write_output(args.output, text, private=True)  # pseudonymous, still about people


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(dialog_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    return write_output(args.output, text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kebas", description="Kebas: a triage and education "
                                     "bot for runners whose lower leg goes numb.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="check dialogs and locales for mistakes")
    check.add_argument("paths", nargs="*", metavar="PATH",
                       help="files or folders (default: dialogs/ and locales/)")
    check.set_defaults(func=cmd_check)

    chat = commands.add_parser("chat", help="talk to the dialog in this terminal")
    chat.add_argument("--lang", choices=["id", "en"], default="id", help="language (default id)")
    chat.add_argument("--db", default="kebas.sqlite3",
                      help="SQLite file for sessions (default kebas.sqlite3)")
    chat.add_argument("--user", default=_default_user(),
                      help="whose session to continue (default: your login name)")
    chat.add_argument("--dialog", help="dialog id, when there are several")
    chat.add_argument("paths", nargs="*", metavar="PATH",
                      help="dialog and locale folders (default: dialogs/ and locales/)")
    chat.set_defaults(func=cmd_chat)

    run = commands.add_parser("run", help="run the Telegram bot (long polling, or a webhook "
                              "server)")
    run.add_argument("--env-file", default=".env",
                     help="settings file read before the environment (default .env)")
    run.add_argument("--webhook", metavar="URL", help="serve a webhook instead of polling: "
                     "the public https:// address Telegram posts to (KEBAS_WEBHOOK_URL; needs "
                     "KEBAS_WEBHOOK_SECRET)")
    run.add_argument("--listen", metavar="HOST:PORT", help="where the webhook server listens "
                     "(KEBAS_LISTEN, default 127.0.0.1:8443)")
    run.set_defaults(func=cmd_run)

    webhook = commands.add_parser("webhook", help="register, remove or show the webhook with "
                                  "Telegram")
    webhook.add_argument("action", choices=["set", "delete", "info"])
    webhook.add_argument("--url", help="set: the public https:// address (default "
                         "KEBAS_WEBHOOK_URL)")
    webhook.add_argument("--max-connections", type=int, default=40, choices=range(1, 101),
                         metavar="N", help="set: parallel deliveries Telegram may make, 1-100 "
                         "(default 40)")
    webhook.add_argument("--drop-pending-updates", action="store_true",
                         help="delete: also discard the updates Telegram still holds")
    webhook.add_argument("--env-file", default=".env", help="settings file (default .env)")
    webhook.set_defaults(func=cmd_webhook)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date "
                                  "(before starting several workers)")
    migrate.add_argument("--db", help="SQLite file (default: KEBAS_DB, else kebas.sqlite3)")
    migrate.add_argument("--env-file", default=".env", help="settings file (default .env)")
    migrate.set_defaults(func=cmd_migrate)

    scenarios = commands.add_parser("scenarios", help="run maintainers' scenarios and report "
                                    "coverage")
    scenarios.add_argument("files", nargs="*", metavar="FILE",
                           help="scenario files or folders (default: dialogs/scenarios/)")
    scenarios.set_defaults(func=cmd_scenarios)

    graph = commands.add_parser("graph", help="draw the dialog as a flow picture")
    graph.add_argument("--format", choices=["mermaid", "dot", "svg", "png"], default="mermaid",
                       help="mermaid text (default), Graphviz dot text, or an SVG/PNG picture")
    graph.add_argument("-o", "--output", help="file to write (default: standard output)")
    graph.add_argument("--lang", choices=["id", "en"], default="id",
                       help="language of the labels (default id)")
    graph.add_argument("--dialog", help="dialog id, when there are several")
    graph.add_argument("paths", nargs="*", metavar="PATH",
                       help="dialog and locale folders (default: dialogs/ and locales/)")
    graph.set_defaults(func=cmd_graph)

    book = commands.add_parser("book", help="write the printable review book (HTML) for "
                               "clinical sign-off")
    book.add_argument("-o", "--output", default="kebas-book.html",
                      help="HTML file to write ('-' for stdout; default kebas-book.html)")
    book.add_argument("--lang", default="id",
                      help="language, or two side by side: id, en, id,en (default id)")
    book.add_argument("--dialog", help="dialog id, when there are several")
    book.add_argument("paths", nargs="*", metavar="PATH",
                      help="dialog and locale folders (default: dialogs/ and locales/)")
    book.set_defaults(func=cmd_book)

    signoff = commands.add_parser("signoff", help="record that a physician reviewed exactly "
                                  "this content (runners then read 'reviewed by ...')")
    signoff.add_argument("--reviewer", required=True, help="the physician's name, as "
                         "runners should read it (e.g. 'dr. Siti Rahma, Sp.N')")
    signoff.add_argument("--registration", required=True, metavar="STR/SIP",
                         help="their STR or SIP registration number")
    signoff.add_argument("--date", help="date of the review, YYYY-MM-DD (default today)")
    signoff.add_argument("paths", nargs="*", metavar="PATH",
                         help="dialog and locale folders (default: dialogs/ and locales/)")
    signoff.set_defaults(func=cmd_signoff)

    diff = commands.add_parser("diff", help="which answer paths change outcome, triage or "
                               "causes between two versions")
    diff.add_argument("old", metavar="OLD", help="content folder or git revision (e.g. HEAD~1)")
    diff.add_argument("new", metavar="NEW", nargs="?", default=".",
                      help="content folder or git revision (default: the working tree)")
    diff.add_argument("--dialog", help="dialog id, when there are several")
    diff.add_argument("--lang", choices=["id", "en"], default="id",
                      help="language of the answers shown (default id)")
    diff.add_argument("--limit", type=int, default=30,
                      help="how many kinds of change to list per pass (default 30)")
    diff.add_argument("--samples", type=int, default=1000,
                      help="paths drawn to compare causes (default 1000; 0 to skip)")
    diff.set_defaults(func=cmd_diff)

    stats = commands.add_parser("stats", help="how the bot is used: funnel, outcomes, triage")
    stats.add_argument("--since", metavar="DATE", help="only sessions started on or after "
                       "DATE (YYYY-MM-DD)")
    stats.add_argument("--html", metavar="FILE", help="also write an HTML report with charts")
    stats.add_argument("--db", help="SQLite file (default: KEBAS_DB, else kebas.sqlite3)")
    stats.add_argument("--dialog", help="dialog id, when there are several")
    stats.add_argument("paths", nargs="*", metavar="PATH",
                       help="dialog and locale folders (default: dialogs/ and locales/)")
    stats.set_defaults(func=cmd_stats)

    purge = commands.add_parser("purge", help="delete sessions older than the retention "
                                "period now")
    purge.add_argument("--days", type=int, help="keep this many days (default: "
                       "KEBAS_RETENTION_DAYS, else 90)")
    purge.add_argument("--db", help="SQLite file (default: KEBAS_DB, else kebas.sqlite3)")
    purge.add_argument("--env-file", default=".env", help="settings file (default .env)")
    purge.set_defaults(func=cmd_purge)

    export = commands.add_parser("export", help="write the sessions, anonymised, as CSV or "
                                 "JSON for maintainers")
    export.add_argument("--anonymised", "--anonymized", action="store_true", required=True,
                        help="required: Kebas exports only anonymised data (a keyed hash "
                        "instead of Telegram ids, no free text, dates without times)")
    export.add_argument("--format", choices=["csv", "json"],
                        help="default: json for a .json file, else csv")
    export.add_argument("-o", "--output", default="-", help="file to write (default: "
                        "standard output)")
    export.add_argument("--db", help="SQLite file (default: KEBAS_DB, else kebas.sqlite3)")
    export.add_argument("--env-file", default=".env", help="settings file (default .env)")
    export.set_defaults(func=cmd_export)

    schema = commands.add_parser("schema", help="write the JSON Schema of the dialog format")
    schema.add_argument("-o", "--output", default=f"dialogs/{SCHEMA_FILE}",
                        help=f"where to write it ('-' for stdout; default dialogs/{SCHEMA_FILE})")
    schema.set_defaults(func=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `kebas check | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
