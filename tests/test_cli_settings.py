"""What an operator meets first (issue 17, an outside review of a wheel install run as a service
user): a settings file that cannot be read, a working folder Kebas may not read, which database
a maintenance command used, and messages and help that match the flags.

A file or folder that cannot be read is one line on standard error and exit 2 (a mistake in the
settings: systemd does not restart on it), never a traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main

from support.fakebotapi import TOKEN
from support.stranger import WAYS, Stranger

ROOT = Path(__file__).resolve().parent.parent
CONTENT = [str(ROOT / "dialogs"), str(ROOT / "locales")]
EVERY_COMMAND = ["check", "chat", "run", "webhook", "migrate", "scenarios", "graph", "book",
                 "signoff", "diff", "stats", "purge", "export", "schema"]
# each command that reads a settings file, as it can be run without other arguments
WITH_SETTINGS = {"run": ["run"], "webhook": ["webhook", "info"], "migrate": ["migrate"],
                 "purge": ["purge"], "export": ["export", "--anonymised"], "stats": ["stats"]}


@pytest.fixture
def here(tmp_path, monkeypatch):
    """An empty working folder, and no Kebas or Telegram setting in the environment."""
    for name in list(os.environ):
        if name.startswith(("KEBAS_", "TELEGRAM_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=WAYS)
def stranger(request, monkeypatch, capsys):
    """Runs kebas as a user who may not read what a test forbids (support.stranger)."""
    with Stranger(request.param, monkeypatch, capsys) as someone:
        yield someone


def help_of(command: str, capsys) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse's line breaks undone


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


# --- 1. a settings file that cannot be read ---------------------------------------------------


def test_every_command_that_reads_settings_takes_env_file(capsys):
    taking = {command for command in EVERY_COMMAND if "--env-file" in help_of(command, capsys)}
    assert taking == set(WITH_SETTINGS)


@pytest.mark.parametrize("command", WITH_SETTINGS)
def test_a_named_settings_file_that_is_not_there_is_refused(command, here, capsys):
    assert main([*WITH_SETTINGS[command], "--env-file", "missing.env"]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"kebas: cannot read the settings file {here / 'missing.env'}: "
                           f"No such file or directory; "), line
    assert "check the path given to --env-file" in line
    assert list(here.iterdir()) == [], "no database is made with settings it could not read"


def test_kebas_migrate_with_a_missing_settings_file_migrates_nothing(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "migrate", "--env-file",
                           str(tmp_path / "missing.env")], cwd=tmp_path, capture_output=True,
                          text=True, env={"PATH": os.environ["PATH"]}, timeout=120)
    assert done.returncode == 2, done.stderr
    assert one_line(done.stderr).startswith("kebas: cannot read the settings file ")
    assert not (tmp_path / "kebas.sqlite3").exists()


def test_the_default_settings_file_may_be_absent_but_not_unreadable(here, capsys):
    assert main(["migrate"]) == 0, "no .env: the environment alone"
    assert (here / "kebas.sqlite3").exists()
    capsys.readouterr()
    (here / ".env").mkdir()
    for argv in (["migrate"], ["check"], ["stats"]):
        assert main(argv) == 2, argv
        line = one_line(capsys.readouterr().err)
        assert line.startswith(f"kebas: cannot read the settings file {here / '.env'}: "
                               f"Is a directory; "), line


def test_a_settings_file_not_in_utf8_is_refused(here, capsys):
    (here / "kebas.env").write_bytes("KEBAS_DB=caf\xe9.sqlite3\n".encode("latin-1"))
    assert main(["migrate", "--env-file", "kebas.env"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "cannot read the settings file" in line and "UTF-8" in line


def test_a_settings_file_from_a_pipe_is_read_once_and_whole(here, capsys):
    """`--env-file <(...)`: the check that it can be read must not use it up."""
    reading, writing = os.pipe()
    os.write(writing, f"KEBAS_DB={here / 'piped.sqlite3'}\n".encode())
    os.close(writing)
    try:
        assert main(["migrate", "--env-file", f"/dev/fd/{reading}"]) == 0
    finally:
        os.close(reading)
    assert (here / "piped.sqlite3").exists() and not (here / "kebas.sqlite3").exists()


# --- 3. permissions: a folder or a file another user may not read ----------------------------


def test_a_settings_file_the_user_may_not_read_is_named_with_whom(stranger: Stranger):
    folder = stranger.folder(readable=True)
    (folder / ".env").write_text("KEBAS_DB=kebas.sqlite3\n")
    stranger.forbid(folder / ".env")
    for argv in (["check"], ["migrate", "--db", str(stranger.scratch / "k.sqlite3")]):
        status, err = stranger.run(argv, cwd=folder)
        assert status == 2, err
        line = one_line(err)
        assert line.startswith(f"kebas: cannot read the settings file {folder / '.env'}: "
                               f"Permission denied; "), line
        assert f"the user {stranger.name}" in line


@pytest.mark.parametrize("argv", [["check"], ["stats", "--db", "/nonexistent/k.sqlite3"],
                                  ["graph"], ["diff", str(ROOT)]],
                         ids=["check", "stats", "graph", "diff"])
def test_a_working_folder_the_user_may_not_read_is_explained(stranger: Stranger, argv):
    folder = stranger.folder(readable=False)
    status, err = stranger.run(argv, cwd=folder)
    assert status == 2, err
    line = one_line(err)
    assert line.startswith(f"kebas: cannot read the settings file {folder / '.env'}: "
                           f"Permission denied; "), line
    assert "run kebas from another folder" in line


def test_content_in_a_folder_the_user_may_not_read_is_explained(stranger: Stranger):
    """The settings named, so ./dialogs is where the content is looked for next."""
    folder = stranger.folder(readable=False)
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
           "KEBAS_DB": str(stranger.scratch / "k.sqlite3")}
    for argv in (["run", "--env-file", os.devnull], ["check", "dialogs"]):
        status, err = stranger.run(argv, cwd=folder, env=env)
        assert status == 2, err
        line = one_line(err)
        assert line.startswith(f"kebas: cannot read {folder / 'dialogs'}: Permission denied; "
                               f"let the user {stranger.name} read it"), line


def test_content_named_in_the_settings_is_used_even_from_an_unreadable_folder(
        stranger: Stranger):
    folder = stranger.folder(readable=False)
    env = {"KEBAS_DIALOGS": CONTENT[0], "KEBAS_LOCALES": CONTENT[1]}
    status, err = stranger.run(["stats", "--env-file", os.devnull, "--db",
                                str(stranger.scratch / "missing.sqlite3")], cwd=folder, env=env)
    assert status == 1 and "there is no database" in err and "Traceback" not in err, err


# --- 2. which database: stats takes --env-file; each maintenance command names its database ---


def test_kebas_stats_reads_the_database_its_settings_file_names(here, capsys):
    db = here / "data" / "usage.sqlite3"
    db.parent.mkdir()
    assert main(["migrate", "--db", str(db)]) == 0
    (here / "kebas.env").write_text(f"KEBAS_DB={db}\n")
    capsys.readouterr()
    assert main(["stats", "--env-file", "kebas.env", *CONTENT]) == 0
    assert f"kebas: database: {db}\n" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["migrate"], ["purge"], ["export", "--anonymised", "-o", "-"],
                                  ["stats", *CONTENT]], ids=lambda argv: argv[0])
def test_each_maintenance_command_says_which_database_it_used(argv, here, capsys):
    (here / "data").mkdir()
    assert main(["migrate", "--db", "data/kebas.sqlite3"]) == 0
    (here / "kebas.env").write_text("KEBAS_DB=data/kebas.sqlite3\n")
    capsys.readouterr()
    assert main([*argv, "--env-file", "kebas.env"]) == 0
    said = capsys.readouterr()
    assert str(here / "data" / "kebas.sqlite3") in said.out + said.err, said


@pytest.mark.parametrize("command", [["stats", *CONTENT], ["export", "--anonymised", "-o", "-"]],
                         ids=lambda argv: argv[0])
def test_a_database_address_is_named_without_its_password(command, here, capsys):
    dsn = "postgresql://kebas:hunter2-secret@127.0.0.1:9/kebas"
    assert main([*command, "--db", dsn]) == 1
    err = capsys.readouterr().err
    assert "kebas: database: postgresql://kebas:***@127.0.0.1:9/kebas\n" in err
    assert "hunter2" not in err and "Traceback" not in err


# --- 6. words that match the flags ------------------------------------------------------------


def test_webhook_set_without_an_address_names_its_own_flag(here, monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("KEBAS_WEBHOOK_SECRET", "s" * 32)
    assert main(["webhook", "set", "--env-file", os.devnull]) == 2
    line = one_line(capsys.readouterr().err)
    assert "KEBAS_WEBHOOK_URL (or --url) must be" in line and "--webhook" not in line


def test_a_log_level_that_is_no_level_is_echoed(here, monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("KEBAS_LOG_LEVEL", "LOUD")
    assert main(["run", "--env-file", os.devnull]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("kebas: KEBAS_LOG_LEVEL is not valid: ") and "got 'LOUD'" in line


@pytest.mark.parametrize("command", ["chat", "check", "stats", "scenarios", "graph", "book"])
def test_help_describes_the_default_content_as_the_lookup_order(command, capsys):
    text = help_of(command, capsys)
    assert "KEBAS_DIALOGS" in text and "else the shipped copy" in text, text
    assert not re.search(r"default: dialogs/(?: and locales/)?\)", text), text
