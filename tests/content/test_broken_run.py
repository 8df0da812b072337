"""The broken-dialog catalogue, seen by a maintainer and an operator: `kebas check` names
every broken sample at its FILE:LINE with a hint, and `kebas run` refuses it.

tests/broken/ holds one sample per kind of mistake (tests/content/test_checks.py proves
`kebas check` reports each at its FILE:LINE). Here each sample with an error is handed to
`kebas run` as KEBAS_DIALOGS / KEBAS_LOCALES: it must print the same FILE:LINE with a hint,
say it is not starting, exit 1, and touch neither Telegram nor the database. Samples with only
warnings must not stop the bot; that is checked too, so the catalogue cannot drift.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.core.problems import Severity

from support.broken import CASES, case_paths, expectations
from support.fakebotapi import TOKEN

ERROR_CASES = [case for case in CASES
               if any(entry[2] is Severity.ERROR for entry in expectations(case))]
WARNING_CASES = [case for case in CASES if case not in ERROR_CASES]


def test_the_catalogue_has_at_least_fifteen_kinds_of_refused_content():
    assert len(ERROR_CASES) >= 15, [case.name for case in ERROR_CASES]


def content_folders(case: Path, target: Path) -> tuple[Path, Path]:
    """The sample as the two folders an operator would point Kebas at."""
    dialogs, locales = target / "dialogs", target / "locales"
    dialogs.mkdir(parents=True)
    locales.mkdir()
    for path in case_paths(case):
        folder = locales if path.parent.name == "locales" else dialogs
        shutil.copy(path, folder / path.name)
    return dialogs, locales


@pytest.fixture
def operator_env(monkeypatch, tmp_path):
    """Settings for `kebas run` whose Bot API address would refuse any connection."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")
    monkeypatch.setenv("KEBAS_DB", str(tmp_path / "kebas.sqlite3"))
    return monkeypatch


def assert_named_with_hints(case: Path, err: str) -> None:
    """Every error of the sample at its FILE:LINE, and a hint under each error."""
    for file, line, severity, message, _hint in expectations(case):
        if severity is Severity.ERROR:
            name = Path(file).name
            gist = re.split(r" (?:tests|docs)/", message)[0]   # the files live elsewhere here
            assert re.search(rf"{re.escape(name)}:{line}:\d+: error: .*{re.escape(gist)}",
                             err), f"{name}:{line} not named in:\n{err}"
    errors = [block for block in re.split(r"\n(?=\S)", err) if ": error: " in block]
    assert errors and all("\n    hint: " in block for block in errors), \
        "every error tells the maintainer what to do:\n" + err


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda path: path.name)
def test_kebas_check_names_a_broken_sample_with_a_hint(case, tmp_path, capsys):
    dialogs, locales = content_folders(case, tmp_path / "content")
    assert main(["check", str(dialogs), str(locales)]) == 1
    assert_named_with_hints(case, capsys.readouterr().out)


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda path: path.name)
def test_kebas_run_refuses_a_broken_sample_and_says_where(case, operator_env, tmp_path, capsys):
    dialogs, locales = content_folders(case, tmp_path / "content")
    operator_env.setenv("KEBAS_DIALOGS", str(dialogs))
    operator_env.setenv("KEBAS_LOCALES", str(locales))
    assert main(["run", "--env-file", os.devnull]) == 1
    err = capsys.readouterr().err
    assert "not starting the bot" in err and "Traceback" not in err
    assert_named_with_hints(case, err)
    assert not (tmp_path / "kebas.sqlite3").exists(), "no database is created for a broken bot"


@pytest.mark.parametrize("case", WARNING_CASES, ids=lambda path: path.name)
def test_a_sample_with_only_warnings_does_not_stop_the_bot(case, tmp_path):
    from bot.cli.main import load_usable
    dialogs, locales = content_folders(case, tmp_path / "content")
    assert load_usable([dialogs, locales]) is not None
