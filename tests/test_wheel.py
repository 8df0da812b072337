"""The wheel is self-contained: installed without the source, `kebas` works from any folder.

This test BUILDS the wheel (`pip wheel . --no-deps`, offline with setuptools) and installs it
with `--no-deps` into a fresh venv that sees this venv's packages (the dependencies) through a
.pth file, so no network is needed. Then, from an empty folder, with no KEBAS_DIALOGS or
KEBAS_LOCALES set: `kebas check`, a piped `kebas chat` to an ending, `kebas --version`, and
`kebas run` against the fake Bot API to a runner's first question.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.fakebotapi import TOKEN
from support.harness import Runner, is_question
from support.process import ready

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


@dataclass
class Installed:
    """The wheel, built and installed into a venv of its own, and an empty folder to run in."""

    python: Path
    kebas: Path
    site: Path
    empty: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    tmp_path = tmp_path_factory.mktemp("wheel")
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
    done = run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                "--no-deps", wheel], tmp_path, env)
    assert done.returncode == 0, done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    return Installed(python, venv / "bin" / "kebas", site, empty, env)


def test_the_installed_wheel_checks_chats_and_names_its_version_from_an_empty_folder(
        installed):
    kebas, empty, env = installed.kebas, installed.empty, installed.env
    checked = run([kebas, "check"], empty, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 errors" in checked.stdout
    assert str(installed.site / "bot" / "dialogs") in run(
        [installed.python, "-c",
         "from bot.content.loader import default_paths; print(default_paths())"],
        empty, env).stdout, "the copy inside the wheel, not the checkout"

    chat = run([kebas, "chat", "--db", "chat.sqlite3"], empty, env)
    assert chat.returncode == 0, chat.stderr
    assert "DARURAT" in chat.stdout and "Tanya-jawab sudah selesai" in chat.stdout

    shown = run([kebas, "--version"], empty, env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("kebas 0.1.0\ndialog kaki_kebas version ")
    assert "content " in shown.stdout


async def test_the_installed_wheel_runs_the_bot_to_a_first_question_from_an_empty_folder(
        installed, fake):
    env = {**installed.env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url,
           "KEBAS_DB": str(installed.empty / "kebas.sqlite3"),
           "NO_PROXY": "127.0.0.1,localhost"}
    process = await asyncio.create_subprocess_exec(
        str(installed.kebas), "run", "--env-file", os.devnull, cwd=installed.empty, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await ready(fake, 0)
        runner = Runner(fake, 424242)
        await runner.agree()
        assert is_question(runner.sent[-1]), "the first question arrived"
    finally:
        process.terminate()
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()[-2000:]
