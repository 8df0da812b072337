"""What `kebas run` and `kebas webhook` say as they start (issue 17, an outside review).

A token Telegram rejects, or a webhook address it refuses, is a mistake in the settings:
restarting cannot mend it, so it exits 2, which the systemd unit does not restart on
(RestartPreventExitStatus=2 3). A network that fails stays exit 1: a restart may help.
"""

from __future__ import annotations

import asyncio
import logging
import os

from bot.cli.main import main

from support.fakebotapi import TOKEN
from support.harness import running_bot
from support.process import start_kebas
from support.webhook import PUBLIC_URL, SECRET

REJECTED = (401, "Unauthorized", None)


async def test_a_token_telegram_rejects_at_start_exits_2(fake, tmp_path):
    fake.fail_next["getMe"] = [REJECTED]
    log = tmp_path / "bot.log"
    process = await start_kebas(fake, tmp_path / "kebas.sqlite3", log=log)
    assert await asyncio.wait_for(process.wait(), 60) == 2
    text = log.read_text()
    assert "kebas: the Bot API rejected TELEGRAM_BOT_TOKEN" in text and "@BotFather" in text
    assert "Traceback" not in text and TOKEN not in text
    assert [call.method for call in fake.calls] == ["getMe"], "nothing after the refusal"


def webhook(fake, monkeypatch, *argv: str) -> int:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake.base_url)
    monkeypatch.setenv("KEBAS_WEBHOOK_SECRET", SECRET)
    return main(["webhook", *argv, "--env-file", os.devnull])


async def test_kebas_webhook_set_refused_by_telegram_exits_2(fake, monkeypatch, capsys):
    fake.fail_next["setWebhook"] = [(400, "Bad Request: bad webhook: Failed to resolve host",
                                     None)]
    status = await asyncio.to_thread(webhook, fake, monkeypatch, "set", "--url", PUBLIC_URL)
    assert status == 2
    err = capsys.readouterr().err
    assert "kebas: Telegram refused: Bad webhook: failed to resolve host" in err
    assert fake.webhook == {}, "nothing was registered"


async def test_kebas_webhook_with_a_rejected_token_exits_2(fake, monkeypatch, capsys):
    fake.fail_next["getWebhookInfo"] = [REJECTED]
    assert await asyncio.to_thread(webhook, fake, monkeypatch, "info") == 2
    assert "the Bot API rejected TELEGRAM_BOT_TOKEN" in capsys.readouterr().err


async def test_the_menu_for_every_client_is_logged_as_the_default(fake, shipped, tmp_path,
                                                                  caplog):
    with caplog.at_level(logging.INFO, logger="kebas.telegram"):
        async with running_bot(fake, shipped, tmp_path / "kebas.sqlite3"):
            pass
    said = [record.getMessage() for record in caplog.records
            if record.getMessage().startswith("set the bot's")]
    assert "set the bot's command menu (default: id)" in said, said
    assert "set the bot's command menu (language en)" in said, said
    assert not any("(language id)" in line for line in said), said
