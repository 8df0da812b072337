"""The systemd units an operator copies: they run the wheel's `kebas` from the venv the
deployment guide creates, systemd accepts them, they do not restart on the exit codes a restart
cannot mend, and README and docs/deploy.md show them as they are in deploy/."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.cli.shared import EXIT_STORAGE, EXIT_USAGE

from conftest import ROOT

UNITS = ("kebas.service", "kebas@.service")
INSTALLED = "/opt/kebas/venv/bin/kebas"   # where docs/deploy.md's "From zero" installs it
GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)  # keys may repeat
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys keep case
    parser.read_string((ROOT / "deploy" / name).read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("name", UNITS)
def test_a_unit_runs_the_wheel_install_from_the_guide_and_stops_restarting_when_it_cannot_help(
        name):
    service = unit(name)["Service"]
    assert service["ExecStart"].split()[:2] == [INSTALLED, "run"]
    assert {int(code) for code in service["RestartPreventExitStatus"].split()} == {
        EXIT_USAGE, EXIT_STORAGE}
    assert service["EnvironmentFile"] in GUIDE
    assert service["KillSignal"] == "SIGTERM" and service["UMask"] == "0077"


def test_the_guide_installs_the_wheel_into_the_venv_the_units_run():
    venv = INSTALLED.removesuffix("/bin/kebas")
    assert f"python3 -m venv {venv}" in GUIDE
    assert re.search(rf"{venv}/bin/pip install \S+\.whl", GUIDE)
    assert "pip install -e" not in GUIDE


def ini_blocks(text: str) -> list[str]:
    return [textwrap.dedent(block) for block in re.findall(r"```ini\n(.*?)^ *```", text,
                                                           re.S | re.M)]


@pytest.mark.parametrize(("name", "documents"), [
    ("kebas.service", ("docs/deploy.md", "README.md")),
    ("kebas@.service", ("docs/deploy.md",)),
])
def test_readme_and_the_guide_show_the_units_as_shipped(name, documents):
    text = (ROOT / "deploy" / name).read_text(encoding="utf-8")
    for document in documents:
        assert text in ini_blocks((ROOT / document).read_text(encoding="utf-8")), document


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
@pytest.mark.parametrize("name", UNITS)
def test_systemd_accepts_the_unit(tmp_path, name):
    """`systemd-analyze verify` with the venv of this test run in place of /opt/kebas/venv:
    an unknown key, a bad value or a missing program is a complaint."""
    kebas = Path(sys.executable).with_name("kebas")
    text = (ROOT / "deploy" / name).read_text(encoding="utf-8").replace(INSTALLED, str(kebas))
    (tmp_path / name).write_text(text, encoding="utf-8")
    target = tmp_path / name.replace("@.", "@8441.")
    done = subprocess.run(["systemd-analyze", "verify", str(target)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
