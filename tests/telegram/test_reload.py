"""Gated hot reload: an admin's /muatulang or SIGHUP swaps in edited content only when it
passes check, proofs and scenarios; running sessions finish on the version they began with."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from bot.content.loader import load_bundle

from support.harness import Runner, rows, running_bot

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 300


@pytest.fixture
def content(tmp_path):
    shutil.copytree(ROOT / "dialogs", tmp_path / "dialogs")
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    return tmp_path


@pytest.fixture
async def bot(fake, content, tmp_path):
    bundle = load_bundle([content / "dialogs", content / "locales"])
    async with running_bot(fake, bundle, tmp_path / "kebas.sqlite3",
                           kebas_dialogs=content / "dialogs", kebas_locales=content / "locales",
                           kebas_admin_ids=[ADMIN]) as app:
        yield app


def edit(content: Path, old: str, new: str, file: str = "dialogs/kaki_kebas.yaml") -> None:
    path = content / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def version_3(content: Path) -> None:
    """A new version whose welcome text differs, so runners can tell the versions apart."""
    edit(content, "version: 2", "version: 3")
    edit(content, "    text: msg.intro\n", "    text: msg.intro_v2\n")
    for language, words in (("id", "Selamat datang di versi baru."), ("en", "Welcome, new.")):
        edit(content, "msg:\n", f"msg:\n  intro_v2: \"{words}\"\n", f"locales/{language}.yaml")


async def test_a_reload_serves_new_sessions_while_a_running_one_finishes_on_its_own(
        fake, bot, content, tmp_path):
    before = Runner(fake, 301)
    await before.agree()
    version_3(content)
    admin = Runner(fake, ADMIN)
    await admin.agree()
    await admin.type("/muatulang", expect="sudah dimuat")
    assert "kaki_kebas versi 3" in admin.sent[-1].text
    await before.choose_many("chest")          # continues on version 2 and finishes there
    after = Runner(fake, 302)
    await after.agree()
    assert any("Selamat datang di versi baru." in m.text for m in after.sent)
    assert not any("Selamat datang di versi baru." in m.text for m in before.sent)
    db = tmp_path / "kebas.sqlite3"
    assert rows(db, "SELECT dialog_version, status FROM sessions WHERE chat_key = 'tg:301'") == [
        (2, "finished")]
    assert rows(db, "SELECT dialog_version FROM sessions WHERE chat_key = 'tg:302'") == [(3,)]


async def test_a_broken_edit_is_refused_with_its_line_and_the_bot_keeps_answering(
        fake, bot, content):
    edit(content, "    next: a3_saddle\n", "    next: a3_sadle\n")
    line = next(number for number, text in enumerate(
        (content / "dialogs/kaki_kebas.yaml").read_text().splitlines(), 1)
        if text == "    next: a3_sadle")
    admin = Runner(fake, ADMIN)
    await admin.agree()
    await admin.type("/muatulang", expect="tidak dimuat ulang")
    message = admin.sent[-1].text
    assert f"kaki_kebas.yaml:{line}:" in message and "'a3_sadle' is not a node" in message
    runner = Runner(fake, 303)
    await runner.agree()
    await runner.choose_many("none")
    assert runner.node() == "a3_saddle", "the old version keeps serving"


async def test_an_edit_that_breaks_a_scenario_is_refused(fake, bot, content):
    for file in ("dialogs/kaki_kebas.yaml", "dialogs/kaki_kebas_checkin.yaml"):  # and its copy
        edit(content, "  - id: rf_chest_pain\n    when: {a12_alarm: chest}",
             "  - id: rf_chest_pain\n    when: {a12_alarm: stroke}", file)
    admin = Runner(fake, ADMIN)
    await admin.agree()
    await admin.type("/muatulang", expect="tidak dimuat ulang")
    assert "scenario" in admin.sent[-1].text and "fails" in admin.sent[-1].text


async def test_only_admins_can_reload(fake, bot, content):
    version_3(content)
    runner = Runner(fake, 304)
    await runner.agree()
    await runner.type("/muatulang", expect="Perintah itu tidak saya kenal")
    await runner.type("/ulang", expect="mulai lagi")
    assert not any("Selamat datang di versi baru." in m.text for m in runner.sent)


async def test_sighup_reloads_and_tells_the_admins(fake, bot, content):
    admin = Runner(fake, ADMIN)
    await admin.agree()
    version_3(content)
    os.kill(os.getpid(), signal.SIGHUP)
    await fake.wait_for(lambda: any("sudah dimuat" in m.text for m in admin.sent), timeout=20)
    assert bot.bot_data["kebas"].dialog.version == 3


async def test_a_refused_sighup_reload_tells_the_admins_where(fake, bot, content):
    admin = Runner(fake, ADMIN)
    await admin.agree()
    edit(content, "    next: a3_saddle\n", "    next: a3_sadle\n")
    os.kill(os.getpid(), signal.SIGHUP)
    await fake.wait_for(lambda: any("tidak dimuat ulang" in m.text for m in admin.sent),
                        timeout=20)
    told = next(m.text for m in admin.sent if "tidak dimuat ulang" in m.text)
    assert "kaki_kebas.yaml:" in told and "'a3_sadle' is not a node" in told
    assert bot.bot_data["kebas"].dialog.version == 2
