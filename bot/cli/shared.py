"""What every `kebas` command shares: its exit statuses, the one way it says what went wrong,
the checked content it works on, writing its result, and running on the database.

Every failure a person can cause (a bad path, a broken dialog, a missing token) ends in a short
message and a non-zero exit status, never a traceback: these helpers say it and give the status.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.content.checks import check_and_prove
from bot.content.loader import Bundle, LoadedDialog, default_paths, load_bundle
from bot.core.model import Dialog
from bot.core.problems import Problem
from bot.core.proofs import ProofReport
from bot.storage import (
    STORAGE_FAULTS,
    SessionStore,
    StorageError,
    explain_storage_fault,
    open_store,
    shown_database,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
# `kebas run` only: the database cannot be used. Restarting will not help until an operator
# acts, so the systemd unit in README does not restart on it (nor on EXIT_USAGE).
EXIT_STORAGE = 3

if TYPE_CHECKING:
    from bot.settings import Settings

T = TypeVar("T")


def complain(message: str) -> None:
    """Say on standard error, as the `kebas` command, what went wrong or what to note."""
    print(f"kebas: {message}", file=sys.stderr)


# --- the content a command works on ---------------------------------------------------------


# How every command's help names the content it works on when given none.
LOOKUP_ORDER = ("KEBAS_DIALOGS and KEBAS_LOCALES, else dialogs/ and locales/ here if both "
                "are there, else the shipped copy")


def given_paths(values: list[str] | None, settings: Settings | None = None) -> list[Path]:
    """The content a command works on, found in one order for every command: the paths on the
    command line, else KEBAS_DIALOGS / KEBAS_LOCALES (environment or .env, or the `settings`
    a command read), else dialogs/ and locales/ in the working directory, else the ones
    shipped with Kebas. The working directory is looked into only when it decides."""
    if values:
        return [Path(value) for value in values]
    if settings is None:
        from bot.settings import SettingsFileProblem, SettingsProblem, read_settings
        try:
            settings = read_settings()
        except SettingsFileProblem:
            raise  # unreadable: said, never passed over
        except SettingsProblem:  # a setting this command does not use; `kebas run` names it
            return default_paths()
    if settings.kebas_dialogs and settings.kebas_locales:
        return [settings.kebas_dialogs, settings.kebas_locales]
    return settings.content_paths(default_paths())


def load_checked(paths: list[Path], **checks: Any
                 ) -> tuple[Bundle, list[Problem], list[tuple[LoadedDialog, ProofReport]]]:
    bundle = load_bundle(paths)
    problems, reports = check_and_prove(bundle, **checks)
    return bundle, problems, reports


def load_usable(paths: list[Path], *, refusal: str = "the dialog has {count} errors; fix "
                "them first (see 'kebas check')", **checks: Any) -> Bundle | None:
    """The bundle if it has no errors; otherwise print them and, last, `refusal`."""
    bundle, problems, _reports = load_checked(paths, **checks)
    errors = [problem for problem in problems if problem.is_error]
    if errors:
        for problem in errors:
            print(problem, file=sys.stderr)
        complain(refusal.format(count=len(errors)))
        return None
    return bundle


def dialog_named(bundle: Bundle, dialog_id: str | None) -> Dialog | None:
    """The dialog asked for (the first one for None), or None after saying which there are."""
    try:
        return bundle.dialog(dialog_id)
    except KeyError:
        known = ", ".join(d.dialog.id for d in bundle.dialogs) or "none"
        complain(f"there is no dialog '{dialog_id}' (there is: {known})")
        return None


def usable_dialog(paths: list[Path], dialog_id: str | None) -> tuple[Bundle, Dialog] | int:
    """The checked bundle and the dialog asked for, or the exit status after saying why not."""
    bundle = load_usable(paths)
    if bundle is None:
        return EXIT_PROBLEMS
    dialog = dialog_named(bundle, dialog_id)
    return EXIT_USAGE if dialog is None else (bundle, dialog)


# --- the result -------------------------------------------------------------------------------


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
        complain(f"cannot write {output}: {exc.strerror or exc}")
        return EXIT_PROBLEMS
    print(f"wrote {output}")
    return EXIT_OK


def put_text(output: str, text: str, *, private: bool = False) -> int:
    """A text result on standard output for '-', else in the file `output` names."""
    if output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    return write_output(output, text, private=private)


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


# --- the database -----------------------------------------------------------------------------


async def with_store(db: str | Path, job: Callable[[SessionStore], Awaitable[T]],
                     **options: Any) -> T:
    """Open the store `db` names, do `job` on it, close it."""
    async with open_store(db, **options) as store:
        return await job(store)


def on_store(work: Coroutine[Any, Any, T], db: str | Path,
             faults: tuple[type[BaseException], ...] = STORAGE_FAULTS) -> tuple[T | None, int]:
    """Run `work` (a coroutine using the database); a database that fails becomes one
    sentence and EXIT_PROBLEMS, never a traceback."""
    try:
        return asyncio.run(work), EXIT_OK
    except faults as exc:
        complain(str(exc) if isinstance(exc, StorageError)
                 else explain_storage_fault(exc, shown_database(db)))
        return None, EXIT_PROBLEMS
