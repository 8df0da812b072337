"""`kebas check` warns about an answer that a phone's keyboard would cut off: Telegram shows
a button's label on one line and ends what does not fit with "…", so the runner may not see
the words that tell two answers apart. The warning names the locale's FILE:LINE."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def content_with_label(tmp_path: Path, language: str, old: str, new: str) -> tuple[Path, int]:
    shutil.copytree(ROOT / "dialogs", tmp_path / "dialogs")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    path = tmp_path / "locales" / f"{language}.yaml"
    text = path.read_text(encoding="utf-8")
    assert f'"{old}"' in text
    line = text[:text.index(f'"{old}"')].count("\n") + 1
    path.write_text(text.replace(f'"{old}"', f'"{new}"'), encoding="utf-8")
    return tmp_path, line


def test_a_multiple_choice_label_too_long_for_a_phone_is_a_warning_at_its_line(tmp_path, capsys):
    folder, line = content_with_label(tmp_path, "id", "Kedua telapak kaki, pola kaus kaki",
                                      "Kedua telapak kaki, seperti sedang berkaus kaki")
    code = main(["check", str(folder / "dialogs"), str(folder / "locales")])
    out = capsys.readouterr().out
    assert code == 0, out   # a warning: the bot still works
    found = re.search(rf"locales/id\.yaml:{line}:\d+: warning: .*d1_where.*cut it off", out)
    assert found, out
    assert "shorten" in out


def test_the_shipped_content_has_no_label_a_phone_cuts_off(capsys):
    assert main(["check"]) == 0
    assert "cut it off" not in capsys.readouterr().out
