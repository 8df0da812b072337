"""`kebas --version` names what an operator is about to serve: the package, each shipped
dialog's id, version and content hash, and whether a physician signed that content off."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.content import loader

ROOT = Path(__file__).resolve().parents[1]


def version(capsys) -> str:
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    return capsys.readouterr().out


def test_the_version_says_the_shipped_content_is_not_signed_off_yet(capsys):
    shown = version(capsys)
    assert "dialog kaki_kebas version " in shown
    assert "medical review: not signed off" in shown and "a draft" in shown


def test_the_version_names_who_signed_the_content_off(tmp_path, monkeypatch, capsys):
    dialogs, locales = tmp_path / "dialogs", tmp_path / "locales"
    shutil.copytree(ROOT / "dialogs", dialogs)
    shutil.copytree(ROOT / "locales", locales)
    assert main(["signoff", "--reviewer", "dr. Siti Rahma, Sp.N", "--registration",
                 "STR 3171234567", "--date", "2026-12-01", str(dialogs), str(locales)]) == 0
    capsys.readouterr()
    monkeypatch.setattr(loader, "shipped_paths", lambda: [dialogs, locales])
    shown = version(capsys)
    assert ("medical review: signed off by dr. Siti Rahma, Sp.N (STR 3171234567) on "
            "2026-12-01") in shown
