"""The clinical sign-off is bound to the content: `kebas signoff` records the hash of the dialogs
and every text, runners read "reviewed by ..." only while the content is exactly that, and
`kebas check` says what changed since (issue 15)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main as kebas
from bot.content.loader import load_bundle
from bot.content.signoff import SIGNOFF_FILE, SignOff, parse_signoffs, render_signoffs

from support.harness import Runner, running_bot

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 300
REVIEWER, REGISTRATION = "dr. Siti Rahma, Sp.N", "STR 3171234567"
REVIEWED_ID = f"ditinjau oleh {REVIEWER} ({REGISTRATION}) pada 2026-12-01"
DRAFT_ID = "belum ditinjau dokter (draf)"


def git(folder: Path, *words: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *words], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def content(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the shipped content in a git repository of its own, as a maintainer has it."""
    shutil.copytree(ROOT / "dialogs", tmp_path / "dialogs")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    (tmp_path / "dialogs" / SIGNOFF_FILE).unlink(missing_ok=True)
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "v1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def paths(content: Path) -> list[Path]:
    return [content / "dialogs", content / "locales"]


def sign(content: Path) -> int:
    return kebas(["signoff", "--reviewer", REVIEWER, "--registration", REGISTRATION,
                  "--date", "2026-12-01"])


def edit_text(content: Path) -> None:
    file = content / "locales" / "id.yaml"
    text = file.read_text(encoding="utf-8")
    assert '  delete_no: "Jangan hapus"' in text
    file.write_text(text.replace('  delete_no: "Jangan hapus"', '  delete_no: "Jangan dihapus"'),
                    encoding="utf-8")


def chat_to_an_ending(content: Path) -> str:
    """`kebas chat` in the content's folder, answering "chest pain" (an emergency ending)."""
    done = subprocess.run([sys.executable, "-m", "bot", "chat", "--db", "chat.sqlite3"],
                          input="1\n", capture_output=True, text=True, cwd=content, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_signoff_records_the_hash_of_all_the_content_the_reviewer_and_the_revision(
        content, capsys):
    assert sign(content) == 0
    said = capsys.readouterr().out
    signoffs, problems = parse_signoffs((content / "dialogs" / SIGNOFF_FILE).read_text(), "f")
    assert problems == []
    bundle = load_bundle(paths(content))
    assert signoffs == [SignOff(bundle.content_hash, "kaki_kebas v2, kaki_kebas_checkin v1",
                                REVIEWER, REGISTRATION, "2026-12-01",
                                git(content, "rev-parse", "HEAD"))]
    assert bundle.signed_off == signoffs[0]
    assert f'runners now read: "{REVIEWED_ID}"' in said


def test_runners_read_reviewed_only_while_the_content_is_exactly_the_signed_one(content):
    assert f"Tinjauan medis: {DRAFT_ID}." in chat_to_an_ending(content), "before the sign-off"
    assert sign(content) == 0
    assert f"Tinjauan medis: {REVIEWED_ID}." in chat_to_an_ending(content)
    edit_text(content)
    shown = chat_to_an_ending(content)
    assert f"Tinjauan medis: {DRAFT_ID}." in shown and REVIEWER not in shown, \
        "one edited text makes it a draft again, by itself"


def test_check_warns_with_the_changed_texts_and_paths_but_does_not_fail(content, capsys):
    assert sign(content) == 0
    capsys.readouterr()
    assert kebas(["check"]) == 0
    assert "warning:" not in capsys.readouterr().out, "unchanged content: nothing to say"
    edit_text(content)
    dialog = content / "dialogs" / "kaki_kebas.yaml"
    text = dialog.read_text(encoding="utf-8")
    lowered = text.replace("    when: {a12_alarm: calves_both}\n    level: urgent",
                           "    when: {a12_alarm: calves_both}\n    level: soon")
    assert lowered != text
    dialog.write_text(lowered, encoding="utf-8")
    assert kebas(["check"]) == 0, "a warning, not an error"
    out = capsys.readouterr().out
    summary, flag = [line for line in out.splitlines() if "warning:" in line]
    assert summary.startswith(f"{content / 'dialogs' / SIGNOFF_FILE}: warning: the content "
                              f"changed since {REVIEWER} signed it off on 2026-12-01")
    assert "draft" in summary and "tg.delete_no" in summary
    assert f"kebas diff {git(content, 'rev-parse', 'HEAD')[:12]} ." in summary
    line = next(number for number, text in enumerate(lowered.splitlines(), 1)
                if "id: rf_calves_swollen" in text)
    assert flag.startswith(f"dialogs/kaki_kebas.yaml:{line}:5: warning: red flag "
                           f"rf_calves_swollen changed since the sign-off by {REVIEWER}: "
                           f"level urgent -> soon (LESS urgent)")


def test_a_hand_written_review_status_is_an_error(content, capsys):
    file = content / "locales" / "en.yaml"
    text = file.read_text(encoding="utf-8")
    file.write_text(text.replace("vars:\n", 'vars:\n  reviewed: "reviewed by me"\n', 1),
                    encoding="utf-8")
    assert kebas(["check"]) == 1
    out = capsys.readouterr().out
    assert "error: 'vars.reviewed' is written by kebas signoff, not by hand" in out


def test_signoff_refuses_bad_input_and_broken_content(content, capsys):
    assert kebas(["signoff", "--reviewer", " ", "--registration", "STR 1"]) == 2
    assert kebas(["signoff", "--reviewer", "dr. A", "--registration", "STR 1",
                  "--date", "1 Desember"]) == 2
    assert "is not a date like 2026-12-07" in capsys.readouterr().err
    dialog = content / "dialogs" / "kaki_kebas.yaml"
    dialog.write_text(dialog.read_text().replace("next: a3_saddle", "next: nowhere", 1))
    assert kebas(["signoff", "--reviewer", "dr. A", "--registration", "STR 1"]) == 1
    assert "a sign-off is for content that passes 'kebas check'" in capsys.readouterr().err
    assert not (content / "dialogs" / SIGNOFF_FILE).exists()


def test_uncommitted_content_is_refused_and_content_outside_git_said_unverifiable(
        content, capsys):
    edit_text(content)
    assert sign(content) == 1
    assert "not committed to git; commit them first" in capsys.readouterr().err
    assert not (content / "dialogs" / SIGNOFF_FILE).exists()
    shutil.rmtree(content / ".git")
    assert sign(content) == 0
    assert "not in a git repository" in capsys.readouterr().err
    signoffs, _ = parse_signoffs((content / "dialogs" / SIGNOFF_FILE).read_text(), "f")
    assert signoffs[0].revision is None
    assert kebas(["check"]) == 0
    assert "names no git revision, so it cannot be verified" in capsys.readouterr().out


def test_a_hash_copied_into_the_file_by_hand_is_an_error(content, capsys):
    assert sign(content) == 0
    edit_text(content)
    git(content, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam", "v2")
    file = content / "dialogs" / SIGNOFF_FILE
    signed = parse_signoffs(file.read_text(), "f")[0][0]
    forged = load_bundle(paths(content)).content_hash
    file.write_text(file.read_text().replace(signed.hash, forged))
    capsys.readouterr()
    assert kebas(["check"]) == 1
    assert (f"names content {forged}, but its revision {signed.revision[:12]} holds "
            f"{signed.hash}") in capsys.readouterr().out


def test_signoff_refuses_failing_scenarios_and_a_future_date(content, capsys):
    assert kebas(["signoff", "--reviewer", "dr. A", "--registration", "STR 1",
                  "--date", "2999-01-01"]) == 2
    assert "is in the future" in capsys.readouterr().err
    dialog = content / "dialogs" / "kaki_kebas.yaml"
    text = dialog.read_text(encoding="utf-8")
    dialog.write_text(text.replace("    when: {a12_alarm: calves_both}\n    level: urgent",
                                   "    when: {a12_alarm: calves_both}\n    level: soon"),
                      encoding="utf-8")
    git(content, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam", "x")
    assert kebas(["check"]) == 0, "the proofs hold: the flag's own level is lower"
    assert sign(content) == 1
    err = capsys.readouterr().err
    assert "fails: " in err and "every scenario" in err
    assert not (content / "dialogs" / SIGNOFF_FILE).exists()


def test_the_file_round_trips_and_a_damaged_one_is_located():
    entry = SignOff("abc", "kaki_kebas v1", "dr. Ä: 'x'", "SIP 1/2", "2026-12-01", None)
    assert parse_signoffs(render_signoffs([entry, entry]), "f")[0] == [entry, entry]
    _, problems = parse_signoffs("signoffs:\n- hash: abc\n  reviewer: x\n", "s.yaml")
    assert [str(p.position) for p in problems] == ["s.yaml:2:3"]


async def test_the_bot_says_draft_again_after_an_edited_text_is_reloaded(content, fake,
                                                                        tmp_path):
    assert sign(content) == 0
    bundle = load_bundle(paths(content))
    async with running_bot(fake, bundle, tmp_path / "kebas.sqlite3",
                           kebas_dialogs=content / "dialogs", kebas_locales=content / "locales",
                           kebas_admin_ids=[ADMIN]):
        before = Runner(fake, 401)
        await before.agree()
        await before.choose_many("chest")
        assert any(REVIEWED_ID in text for text in before.texts_after(0))
        edit_text(content)
        admin = Runner(fake, ADMIN)
        await admin.agree()
        await admin.type("/muatulang", expect="sudah dimuat")
        after = Runner(fake, 402)
        await after.agree()
        await after.choose_many("chest")
        shown = after.texts_after(0)
        assert any(DRAFT_ID in text for text in shown)
        assert not any(REVIEWER in text for text in shown)
