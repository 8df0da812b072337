"""The `kebas` command: its parser, and the dispatch to one module per group of commands.

  authoring: check, scenarios, signoff, schema      review: graph, book, diff
  running: chat, run, webhook                       database: migrate, purge, export, stats

Every failure a person can cause (a bad path, a broken dialog, a missing token) ends in a short
message and a non-zero exit status, never a traceback (`bot.cli.shared`); a setting or a file
that cannot be used, wherever a command meets it, ends here: one line and exit 2.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

from bot.cli import authoring, database, review, running, studio
from bot.cli.shared import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_STORAGE,
    EXIT_USAGE,
    LOOKUP_ORDER,
    complain,
    load_usable,
    write_output,
)
from bot.settings import SettingsProblem, cannot_read

__all__ = ["EXIT_OK", "EXIT_PROBLEMS", "EXIT_STORAGE", "EXIT_USAGE", "build_parser",
           "load_usable", "main", "write_output"]

SCHEMA_FILE = "dialog.schema.json"
CONTENT_FOLDERS = f"dialog and locale folders (default: {LOOKUP_ORDER})"
LANGUAGES = ["id", "en"]
Command = Callable[[argparse.Namespace], int]


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def _content(command: argparse.ArgumentParser, what: str = CONTENT_FOLDERS) -> None:
    command.add_argument("paths", nargs="*", metavar="PATH", help=what)


def _dialog(command: argparse.ArgumentParser) -> None:
    command.add_argument("--dialog", help="dialog id, when there are several")


def _database(command: argparse.ArgumentParser) -> None:
    command.add_argument("--db", help="SQLite file (default: KEBAS_DB, else kebas.sqlite3)")


def _settings(command: argparse.ArgumentParser, what: str = "settings file") -> None:
    command.add_argument("--env-file", help=f"{what} (default: .env here, if there is one)")


def version_text() -> str:
    """This package's version, the id, version and content hash of each shipped dialog, and
    whether a physician signed that content off."""
    from importlib.metadata import PackageNotFoundError, version

    from bot.content.loader import load_bundle, shipped_paths
    try:
        package = version("kebas")
    except PackageNotFoundError:  # run from a checkout that was never installed
        package = "unknown"
    bundle = load_bundle(shipped_paths())
    dialogs = [f"dialog {loaded.dialog.id} version {loaded.dialog.version}, content "
               f"{loaded.dialog.content_hash}" for loaded in bundle.dialogs]
    return "\n".join([f"kebas {package}", *dialogs, bundle.review_status])


class _Version(argparse.Action):
    """`kebas --version`: worked out only when asked (it reads the shipped dialog)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kebas", description="Kebas: a triage and education "
                                     "bot for runners whose lower leg goes numb.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show the version of Kebas and of the shipped dialog, then exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, run: Command) -> argparse.ArgumentParser:
        added = commands.add_parser(name, help=summary)
        added.set_defaults(func=run)
        return added

    check = command("check", "check dialogs and locales for mistakes", authoring.cmd_check)
    _content(check, f"files or folders (default: {LOOKUP_ORDER})")

    chat = command("chat", "talk to the dialog in this terminal", running.cmd_chat)
    chat.add_argument("--lang", choices=LANGUAGES, default="id", help="language (default id)")
    chat.add_argument("--db", default="kebas.sqlite3",
                      help="SQLite file for sessions (default kebas.sqlite3)")
    chat.add_argument("--user", default=_default_user(),
                      help="whose session to continue (default: your login name)")
    _dialog(chat)
    _content(chat)

    run = command("run", "run the Telegram bot (long polling, or a webhook server)",
                  running.cmd_run)
    _settings(run, "settings file, read before the environment")
    run.add_argument("--webhook", metavar="URL", help="serve a webhook instead of polling: "
                     "the public https:// address Telegram posts to (KEBAS_WEBHOOK_URL; needs "
                     "KEBAS_WEBHOOK_SECRET)")
    run.add_argument("--listen", metavar="HOST:PORT", help="where the webhook server listens "
                     "(KEBAS_LISTEN, default 127.0.0.1:8443)")

    webhook = command("webhook", "register, remove or show the webhook with Telegram",
                      running.cmd_webhook)
    webhook.add_argument("action", choices=["set", "delete", "info"])
    webhook.add_argument("--url", help="set: the public https:// address (default "
                         "KEBAS_WEBHOOK_URL)")
    webhook.add_argument("--max-connections", type=int, default=40, choices=range(1, 101),
                         metavar="N", help="set: parallel deliveries Telegram may make, 1-100 "
                         "(default 40)")
    webhook.add_argument("--drop-pending-updates", action="store_true",
                         help="delete: also discard the updates Telegram still holds")
    _settings(webhook)

    migrate = command("migrate", "bring the database schema up to date (before starting "
                      "several workers)", database.cmd_migrate)
    _database(migrate)
    _settings(migrate)

    scenarios = command("scenarios", "run maintainers' scenarios and report coverage",
                        authoring.cmd_scenarios)
    scenarios.add_argument("files", nargs="*", metavar="FILE",
                           help="scenario files or folders (default: scenarios/ in the "
                           f"dialog folder: {LOOKUP_ORDER})")

    graph = command("graph", "draw the dialog as a flow picture", review.cmd_graph)
    graph.add_argument("--format", choices=["mermaid", "dot", "svg", "png"], default="mermaid",
                       help="mermaid text (default), Graphviz dot text, or an SVG/PNG picture")
    graph.add_argument("-o", "--output", help="file to write (default: standard output)")
    graph.add_argument("--lang", choices=LANGUAGES, default="id",
                       help="language of the labels (default id)")
    _dialog(graph)
    _content(graph)

    book = command("book", "write the printable review book (HTML) for clinical sign-off",
                   review.cmd_book)
    book.add_argument("-o", "--output", default="kebas-book.html",
                      help="HTML file to write ('-' for stdout; default kebas-book.html)")
    book.add_argument("--lang", default="id",
                      help="language, or two side by side: id, en, id,en (default id)")
    _dialog(book)
    _content(book)

    signoff = command("signoff", "record that a physician reviewed exactly this content "
                      "(runners then read 'reviewed by ...')", authoring.cmd_signoff)
    signoff.add_argument("--reviewer", required=True, help="the physician's name, as "
                         "runners should read it (e.g. 'dr. Siti Rahma, Sp.N')")
    signoff.add_argument("--registration", required=True, metavar="STR/SIP",
                         help="their STR or SIP registration number")
    signoff.add_argument("--date", help="date of the review, YYYY-MM-DD (default today)")
    _content(signoff)

    diff = command("diff", "which answer paths change outcome, triage or causes between two "
                   "versions", review.cmd_diff)
    diff.add_argument("old", metavar="OLD", help="content folder or git revision (e.g. HEAD~1)")
    diff.add_argument("new", metavar="NEW", nargs="?", help="content folder or git revision "
                      f"(default: the content every command uses: {LOOKUP_ORDER})")
    _dialog(diff)
    diff.add_argument("--lang", choices=LANGUAGES, default="id",
                      help="language of the answers shown (default id)")
    diff.add_argument("--limit", type=int, default=30,
                      help="how many kinds of change to list per pass (default 30)")
    diff.add_argument("--samples", type=int, default=1000,
                      help="paths drawn to compare causes (default 1000; 0 to skip)")

    stats = command("stats", "how the bot is used: funnel, outcomes, triage", database.cmd_stats)
    stats.add_argument("--since", metavar="DATE", help="only sessions started on or after "
                       "DATE (YYYY-MM-DD)")
    stats.add_argument("--html", metavar="FILE", help="also write an HTML report with charts")
    _database(stats)
    _settings(stats)
    _dialog(stats)
    _content(stats)

    purge = command("purge", "delete sessions older than the retention period now",
                    database.cmd_purge)
    purge.add_argument("--days", type=int, help="keep this many days (default: "
                       "KEBAS_RETENTION_DAYS, else 90)")
    _database(purge)
    _settings(purge)

    export = command("export", "write the sessions, anonymised, as CSV or JSON for maintainers",
                     database.cmd_export)
    export.add_argument("--anonymised", "--anonymized", action="store_true", required=True,
                        help="required: Kebas exports only anonymised data (a keyed hash "
                        "instead of Telegram ids, no free text, dates without times)")
    export.add_argument("--format", choices=["csv", "json"],
                        help="default: json for a .json file, else csv")
    export.add_argument("-o", "--output", default="-", help="file to write (default: "
                        "standard output)")
    _database(export)
    _settings(export)

    studio_command = command("studio", "a local web page to edit the dialog and see at once "
                             "what it does (problems, proof, scenarios, flow, chat, changes)",
                             studio.cmd_studio)
    studio_command.add_argument("--port", type=int, default=8765,
                                help="port on this computer (default 8765; 0: any free one)")
    studio_command.add_argument("--host", default="127.0.0.1",
                                help="127.0.0.1 (default), ::1 or localhost: this computer only")
    _content(studio_command)

    schema = command("schema", "write the JSON Schema of the dialog format",
                     authoring.cmd_schema)
    schema.add_argument("-o", "--output", default=f"dialogs/{SCHEMA_FILE}",
                        help=f"where to write it ('-' for stdout; default dialogs/{SCHEMA_FILE})")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `kebas check | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except SettingsProblem as exc:
        complain(str(exc))
        return EXIT_USAGE
    except OSError as exc:  # e.g. run as a user who may not read the working folder
        if not isinstance(exc.filename, str):  # not about a file: a fault of Kebas's own
            raise
        complain(cannot_read(os.path.abspath(exc.filename), exc, "use another folder"))
        return EXIT_USAGE
    return status


if __name__ == "__main__":
    sys.exit(main())
