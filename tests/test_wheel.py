"""The wheel is self-contained: installed without the source, `kebas` works from any folder.

This test BUILDS the wheel (`pip wheel . --no-deps`, offline with setuptools) and installs it
with `--no-deps` into a fresh venv that sees this venv's packages (the dependencies) through a
.pth file, so no network is needed. Then, from an empty folder, with no KEBAS_DIALOGS or
KEBAS_LOCALES set: `kebas check`, a piped `kebas chat` to an ending, and `kebas --version`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel_build

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = {"bot.dialogs", "bot.dialogs.scenarios", "bot.locales"}


def run(command: list[str | Path], cwd: Path, env: dict[str, str]
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, input="1\n",
                          capture_output=True, text=True, timeout=120)


def test_pyproject_lists_every_package_of_bot():
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts)
             for init in ROOT.glob("bot/**/__init__.py")}
    assert listed - PACKAGED == found


def test_the_installed_wheel_runs_from_an_empty_folder(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("KEBAS_", "PYTHON", "VIRTUAL_ENV"))}
    built = run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-q",
                 "-w", tmp_path / "dist"], tmp_path, env)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("kebas-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    installed = run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                     "--no-deps", wheel], tmp_path, env)
    assert installed.returncode == 0, installed.stderr
    kebas = venv / "bin" / "kebas"
    empty = tmp_path / "empty"
    empty.mkdir()

    checked = run([kebas, "check"], empty, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 errors" in checked.stdout
    assert str(site / "bot" / "dialogs") in run(
        [python, "-c", "from bot.content.loader import default_paths; print(default_paths())"],
        empty, env).stdout, "the copy inside the wheel, not the checkout"

    chat = run([kebas, "chat", "--db", "chat.sqlite3"], empty, env)
    assert chat.returncode == 0, chat.stderr
    assert "DARURAT" in chat.stdout and "Tanya-jawab sudah selesai" in chat.stdout

    shown = run([kebas, "--version"], empty, env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("kebas 0.1.0\ndialog kaki_kebas version ")
    assert "content " in shown.stdout
