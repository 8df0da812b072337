"""`kebas` run by a user who may not read some files or folders: a service user started from a
folder it cannot read (`cd /root`), or given a .env only root may read.

Root reads everything, and the tests run as root here. So two ways, each test run both where it
can: "nobody" runs the installed `kebas` as a real subprocess as the user nobody (root and
setpriv needed, else skipped); "simulated" runs it in this process, pathlib's reads of the
forbidden places raising PermissionError as the kernel would refuse them.
"""

from __future__ import annotations

import errno
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.cli.main import main

NOBODY = 65534
WAYS = ["nobody", "simulated"]
SETTINGS_PREFIXES = ("KEBAS_", "TELEGRAM_")


def can_switch_user() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("setpriv") is not None


class Stranger:
    """Folders to run in, places to forbid, and `run` (exit status, standard error)."""

    def __init__(self, way: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        if way == "nobody" and not can_switch_user():
            pytest.skip("running as another user needs root and setpriv")
        self.way, self.monkeypatch, self.capsys = way, monkeypatch, capsys
        self.name = pwd.getpwuid(NOBODY if way == "nobody" else os.geteuid()).pw_name
        self.made: list[Path] = []
        self.closed: list[Path] = []     # folders whose contents may not be read
        self.forbidden: list[Path] = []  # files that may not be read
        self.scratch = self._made(0o777)  # anyone may write here, as in /tmp

    def __enter__(self) -> Stranger:
        return self

    def __exit__(self, *exc: object) -> None:
        for folder in self.made:
            shutil.rmtree(folder, ignore_errors=True)

    def _made(self, mode: int) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="kebas-stranger-"))
        folder.chmod(mode)
        self.made.append(folder)
        return folder

    def folder(self, *, readable: bool) -> Path:
        """A new folder, owned by root, that the user may or may not look into."""
        folder = self._made(0o755 if readable else 0o700)
        if not readable:
            self.closed.append(folder)
        return folder

    def forbid(self, file: Path) -> None:
        """A file only its owner (root) may read."""
        file.chmod(0o600)
        self.forbidden.append(file)

    def run(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None
            ) -> tuple[int, str]:
        if self.way == "nobody":
            return self._as_nobody(argv, cwd, env or {})
        return self._simulated(argv, cwd, env or {})

    def _as_nobody(self, argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
        kebas = Path(sys.executable).with_name("kebas")
        command = [str(kebas)] if kebas.exists() else [sys.executable, "-m", "bot"]
        done = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             *command, *argv], cwd=cwd, capture_output=True, text=True, timeout=120,
            env={"PATH": os.environ["PATH"], "NO_PROXY": "127.0.0.1,localhost", **env})
        return done.returncode, done.stderr

    def _simulated(self, argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
        with self.monkeypatch.context() as patch:
            for name in list(os.environ):
                if name.startswith(SETTINGS_PREFIXES):
                    patch.delenv(name)
            for name, value in env.items():
                patch.setenv(name, value)
            patch.chdir(cwd)
            for method in ("stat", "open", "iterdir"):
                patch.setattr(Path, method, self._refusing(getattr(Path, method)))
            self.capsys.readouterr()
            status = main(argv)
        return status, self.capsys.readouterr().err

    def _refusing(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def refused(path: Path, *args: Any, **kwargs: Any) -> Any:
            if self._denied(Path(os.path.abspath(path))):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return method(path, *args, **kwargs)
        return refused

    def _denied(self, path: Path) -> bool:
        return path in self.forbidden or any(folder in path.parents for folder in self.closed)
