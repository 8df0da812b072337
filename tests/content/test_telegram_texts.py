"""`kebas check` on the texts Telegram shows about the bot and its commands.

Telegram refuses a description over 512 characters, a short description over 120 and a
command description over 256 (the bot would start without them, with a warning): the check
says so first, at the locale's FILE:LINE, counting the text as shown (variables filled in).
A text naming a command of another language's menu is an error too: the runner's menu has
the other name.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def content_with(tmp_path: Path, language: str, key: str, text: str) -> tuple[Path, Path, int]:
    """The shipped content with one text of locales/<language>.yaml replaced; the folders and
    the line of that text (found here by reading the file, not taken from the checker)."""
    dialogs, locales = tmp_path / "dialogs", tmp_path / "locales"
    shutil.copytree(ROOT / "dialogs", dialogs)
    shutil.copytree(ROOT / "locales", locales)
    path = locales / f"{language}.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    section, name = key.split(".")
    start = lines.index(f"{section}:")
    line = next(i for i in range(start, len(lines)) if lines[i].startswith(f"  {name}:"))
    end = line + 1
    while lines[end].startswith("    "):  # the rest of a text written over several lines
        end += 1
    lines[line:end] = [f"  {name}: \"{text}\""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dialogs, locales, line + 1


def checked(dialogs: Path, locales: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", str(dialogs), str(locales)])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(("language", "key", "text", "limit"), [
    ("en", "bot.short_description", "x" * 121, 120),
    ("id", "bot.short_description", "x" * 109 + "{emergency}", 120),  # 121 once filled in
    ("id", "bot.description", "x" * 513, 512),
    ("en", "command.back", "x" * 257, 256),
])
def test_a_text_too_long_for_telegram_is_an_error_at_its_line(tmp_path, capsys, language, key,
                                                              text, limit):
    dialogs, locales, line = content_with(tmp_path, language, key, text)
    code, out = checked(dialogs, locales, capsys)
    assert code == 1, out
    assert re.search(rf"{language}\.yaml:{line}:\d+: error: text '{re.escape(key)}' has "
                     rf"{limit + 1} characters; Telegram allows {limit}\n    hint: ", out), out


def test_a_text_as_long_as_telegram_allows_is_fine(tmp_path, capsys):
    dialogs, locales, _line = content_with(tmp_path, "id", "bot.short_description",
                                           "x" * 108 + "{emergency}")  # 120 once filled in
    code, out = checked(dialogs, locales, capsys)
    assert "short_description" not in out and code == 0, out


@pytest.mark.parametrize(("language", "text", "named", "own"), [
    ("en", "Type /kembali to go back.", "/kembali", "/back"),
    ("id", "Ketik /start untuk mulai.", "/start", "/mulai"),
])
def test_a_text_naming_another_languages_command_is_an_error(tmp_path, capsys, language, text,
                                                             named, own):
    dialogs, locales, line = content_with(tmp_path, language, "tg.edited", text)
    code, out = checked(dialogs, locales, capsys)
    assert code == 1, out
    assert re.search(rf"{language}\.yaml:{line}:\d+: error: text 'tg.edited' names {named},"
                     rf".*\n    hint: .*{own}\b", out), out
