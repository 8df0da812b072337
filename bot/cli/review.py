"""`kebas graph`, `book` and `diff`: what a reviewer reads of the dialog (its flow picture, the
printable review book, and which answer paths an edit changes)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.shared import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    complain,
    given_paths,
    load_usable,
    put_text,
    usable_dialog,
    write_output,
)
from bot.content.loader import Bundle
from bot.core.i18n import pick_language

if TYPE_CHECKING:
    from bot.tools.diff import Progress as DiffProgress

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def cmd_graph(args: argparse.Namespace) -> int:
    """The flow as Mermaid or dot text, or an SVG/PNG picture (those only into a file)."""
    from bot.tools.flowchart import GraphvizMissing, flow_of, render
    found = usable_dialog(given_paths(args.paths), args.dialog)
    if isinstance(found, int):
        return found
    bundle, dialog = found
    flow = flow_of(dialog, bundle.locales[pick_language(args.lang, bundle.locales)])
    try:
        picture = render(flow, args.format)
    except GraphvizMissing as exc:
        complain(str(exc))
        return EXIT_PROBLEMS
    if args.output in (None, "-"):
        if args.format in ("svg", "png") and sys.stdout.isatty():
            complain(f"{args.format.upper()} is binary; write it to a file with -o")
            return EXIT_USAGE
        sys.stdout.buffer.write(picture)
        sys.stdout.flush()
        return EXIT_OK
    return write_output(args.output, picture)


# --- kebas book -------------------------------------------------------------------------------


def parse_languages(value: str) -> list[str]:
    """`id`, `en` or `id,en` as a list; ValueError with a message a person can act on."""
    from bot.tools.book import MAX_LANGUAGES
    languages = [part.strip().lower() for part in value.split(",")]
    if not value.strip() or any(not part for part in languages):
        raise ValueError(f"--lang '{value}': name one or two languages, e.g. id or id,en")
    if len(languages) > MAX_LANGUAGES:
        raise ValueError(f"--lang '{value}': at most {MAX_LANGUAGES} languages side by side, "
                         f"e.g. id,en")
    if len(set(languages)) != len(languages):
        raise ValueError(f"--lang '{value}': a language is named twice")
    for language in languages:
        if not LANGUAGE_CODE.match(language):
            raise ValueError(f"--lang '{value}': '{language}' is not a language code "
                             f"(like id or en)")
    return languages


def cmd_book(args: argparse.Namespace) -> int:
    """The review book in one or two languages; without Graphviz, without the picture."""
    from bot.core import proofs
    from bot.tools.book import book_html, checkin_of, flow_picture
    try:
        languages = parse_languages(args.lang)
    except ValueError as exc:
        complain(str(exc))
        return EXIT_USAGE
    found = usable_dialog(given_paths(args.paths), args.dialog)
    if isinstance(found, int):
        return found
    bundle, dialog = found
    unknown = [language for language in languages if language not in bundle.locales]
    if unknown:
        complain(f"--lang '{args.lang}': there is no locale '{unknown[0]}' (there is: "
                 f"{', '.join(sorted(bundle.locales))})")
        return EXIT_USAGE
    locales = [bundle.locales[language] for language in languages]
    picture = flow_picture(dialog, locales[0])
    if picture is None:
        complain("note: Graphviz's 'dot' is not installed, so the book has no flow picture; "
                 "install it with 'sudo apt-get install graphviz'")
    return put_text(args.output, book_html(dialog, locales, proofs.prove(dialog), picture,
                                           date.today(), bundle.content_hash,
                                           checkin_of(bundle, dialog, locales[0])))


# --- kebas diff -------------------------------------------------------------------------------


@contextmanager
def diff_progress(dialog_id: str) -> Iterator[DiffProgress]:
    """A live line on standard error while `kebas diff` explores, when that is a terminal;
    in a pipe or a log, nothing: the report alone is the output."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from bot.tools.diff import EVERY_PATH, silent

    screen = Console(stderr=True)
    if not screen.is_terminal:
        yield silent
        return
    tasks: dict[str, TaskID] = {}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
             TextColumn("{task.fields[count]}"), TimeElapsedColumn(), console=screen,
             transient=True) as bar:
        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                what = ("exploring answer paths" if phase == EVERY_PATH else "sampling causes")
                tasks[phase] = bar.add_task(f"{dialog_id}: {what}", total=total, count="")
            count = (f"{done:,} situations" if phase == EVERY_PATH
                     else f"{done}/{total}")
            bar.update(tasks[phase], completed=done, total=total, count=count)
        yield progress


def compared(spec: str | None, scratch: ExitStack) -> tuple[list[Path], str]:
    """The content folders of OLD or NEW, and its name in the report; NEW not given: the
    content every command uses (KEBAS_DIALOGS..., ./dialogs..., the shipped copy)."""
    from bot.content.revisions import content_paths
    if spec is None:
        paths = given_paths(None)
        return paths, str(paths[0])
    return content_paths(spec, scratch)


def cmd_diff(args: argparse.Namespace) -> int:
    """Compare each dialog both versions hold; exit 1 when an answer path changes. NEW, when
    not given, is the content every command uses (`given_paths`)."""
    from rich.console import Console

    from bot.content.revisions import SourceProblem
    from bot.tools.diff import DiffTooLarge, compare
    from bot.tools.diff_report import report_lines
    out = Console(highlight=False, soft_wrap=True)
    with ExitStack() as scratch:
        bundles: list[tuple[Bundle, str]] = []
        for spec in (args.old, args.new):
            try:
                paths, name = compared(spec, scratch)
            except SourceProblem as exc:
                complain(str(exc))
                return EXIT_USAGE
            bundle = load_usable(paths, code_texts=(), refusal=f"cannot compare: {name} has "
                                 "{count} errors (above); fix them or pick another version")
            if bundle is None:  # not "changed" (1): this version cannot be compared at all
                return EXIT_USAGE
            bundles.append((bundle, name))
        (old_bundle, old_name), (new_bundle, new_name) = bundles
        old_ids = [loaded.dialog.id for loaded in old_bundle.dialogs]
        new_ids = [loaded.dialog.id for loaded in new_bundle.dialogs]
        if args.dialog:
            missing = [name for name, ids in ((old_name, old_ids), (new_name, new_ids))
                       if args.dialog not in ids]
            if missing:
                complain(f"there is no dialog '{args.dialog}' in {' or '.join(missing)}")
                return EXIT_USAGE
            ids = [args.dialog]
        else:
            ids = [dialog_id for dialog_id in new_ids if dialog_id in old_ids]
            for dialog_id in sorted(set(old_ids) ^ set(new_ids)):
                side = old_name if dialog_id in old_ids else new_name
                out.print(f"dialog '{dialog_id}' is only in {side}; not compared")
            if not ids:
                complain("the two versions have no dialog in common")
                return EXIT_USAGE
        locales = [bundle.locales.get(pick_language(args.lang, bundle.locales))
                   for bundle in (old_bundle, new_bundle)]
        any_change = False
        for dialog_id in ids:
            try:
                with diff_progress(dialog_id) as progress:
                    report = compare(old_bundle.dialog(dialog_id), new_bundle.dialog(dialog_id),
                                     samples=max(args.samples, 0), progress=progress)
            except DiffTooLarge as exc:
                complain(f"{dialog_id} has too many distinct situations to compare (more than "
                         f"{exc.args[0]:,})")
                return EXIT_PROBLEMS
            for line in report_lines(report, (old_name, new_name), locales, args.limit):
                out.print(line)
            any_change = any_change or report.changed
    return EXIT_PROBLEMS if any_change else EXIT_OK
