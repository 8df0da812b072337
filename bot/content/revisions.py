"""Content at a folder or at a git revision: what `kebas diff` and the sign-off check compare.

A revision is unpacked (only its dialogs/ and locales/) into a temporary folder that lives as
long as the caller's ExitStack.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from contextlib import ExitStack
from pathlib import Path


class SourceProblem(Exception):
    """OLD or NEW is neither a content folder nor a git revision that has one."""


CONTENT_FOLDERS = ("dialogs", "locales")


def content_paths(spec: str, scratch: ExitStack) -> tuple[list[Path], str]:
    """The dialog and locale folders that `spec` names, and how to call them in the report.

    A folder holding `dialogs/` (and `locales/`) is a checkout; any other folder is taken as
    is (its .yaml files, and a `locales/` beside it). Anything else is tried as a git revision
    of the repository here, and its content folders are unpacked into a temporary folder.
    """
    folder = Path(spec)
    if folder.is_dir():
        if (folder / "dialogs").is_dir():
            return [folder / name for name in CONTENT_FOLDERS if (folder / name).is_dir()], spec
        beside = folder.resolve().parent / "locales"
        return [folder] + ([beside] if beside.is_dir() and beside != folder.resolve() else []), spec
    return _from_git(spec, scratch), f"{spec} (git)"


def _from_git(revision: str, scratch: ExitStack) -> list[Path]:
    try:
        return folders_at(revision, [Path(name) for name in CONTENT_FOLDERS], scratch, Path())
    except NotInRepository:
        raise SourceProblem(f"'{revision}' is not a folder, and this is not a git repository "
                            f"where it could be a revision") from None


class NotInRepository(SourceProblem):
    """The folders are in no git repository (or git is not installed)."""


def folders_at(revision: str, folders: list[Path], scratch: ExitStack,
               where: Path | None = None) -> list[Path]:
    """`folders` as they were at `revision` of the git repository that holds them, unpacked
    into a temporary folder: looked up in the repository of the folders themselves, not of
    the working directory. `where`: the folder to find the repository from, with `folders`
    relative to its top (as `kebas diff HEAD` names them)."""
    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", *args], capture_output=True, check=False)

    start = where if where is not None else folders[0]
    try:
        top = git("-C", str(start), "rev-parse", "--show-toplevel")
    except FileNotFoundError:
        raise NotInRepository("git is not installed, so there is no last commit to compare "
                              "with") from None
    if top.returncode != 0:
        raise NotInRepository("these folders are not in a git repository, so there is no "
                              "last commit to compare with")
    root = Path(top.stdout.decode().strip())
    try:
        inside = [str(folder) if where is not None else
                  str(folder.resolve().relative_to(root.resolve())) for folder in folders]
    except ValueError:
        raise SourceProblem(f"{' and '.join(map(str, folders))} are not in the same git "
                            f"repository, so there is no one last commit to compare "
                            f"with") from None
    if git("-C", str(root), "rev-parse", "--verify", "--quiet",
           f"{revision}^{{commit}}").returncode:
        raise SourceProblem(f"'{revision}' is neither a folder nor a git revision here "
                            f"(try a commit, a tag, or e.g. HEAD~1)")
    archive = git("-C", str(root), "archive", "--format=tar", revision, "--", *inside)
    if archive.returncode != 0:
        raise SourceProblem(f"git revision '{revision}' has no {' or '.join(inside)} "
                            f"folder: {archive.stderr.decode().strip()}")
    target = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="kebas-diff-")))
    tar_path = target / "content.tar"
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(target, filter="data")
    tar_path.unlink()
    return [target / name for name in inside if (target / name).is_dir()]
