"""The SQLite database's files (the database, its -wal and its -shm) hold health answers:
they are created readable by their owner only, and kept so."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from bot.storage.protocol import StorageError

log = logging.getLogger("kebas.storage")


def owner_only(path: Path, *, writing: bool) -> None:
    """The database, its -wal and its -shm readable by their owner only: they hold health
    answers. A file found open to group or others (a restored backup, a copy, another
    program's umask) is tightened to its owner's bits, with a warning naming it. When Kebas
    cannot change it (not the file's owner, a read-only disk), it refuses to write more
    answers into it; a report that only reads (`writing=False`) goes on with a warning."""
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except OSError:  # not there (or not to be seen: SQLite says so, next)
            continue
        if not mode & 0o077:
            continue
        try:
            os.chmod(file, mode & 0o700)
        except OSError as exc:
            problem = (f"{file} can be read by other users (mode {mode:03o}) and Kebas "
                       f"cannot change that ({exc.strerror}); as its owner, run: "
                       f"chmod 600 {file}")
            if writing:
                raise StorageError(problem) from exc
            log.warning("%s", problem)
            continue
        log.warning("%s could be read by other users (mode %03o); Kebas made it its "
                    "owner's only (%03o). It holds health answers: if anyone else can log in "
                    "to this machine, find out whether they copied it", file, mode,
                    mode & 0o700)


def create_private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds health answers."""
    if path.exists():
        return
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)
