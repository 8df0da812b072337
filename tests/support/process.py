"""`kebas run` as a real process against the fake Bot API: start it, wait until it polls."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from support.fakebotapi import TOKEN, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]


async def start_kebas(fake: FakeBotAPI, db: Path, *extra: str, token: str = TOKEN,
                      log: Path | None = None) -> asyncio.subprocess.Process:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE_URL": fake.base_url,
           "KEBAS_DB": str(db), "NO_PROXY": "127.0.0.1,localhost"}
    stderr = open(log, "ab") if log else asyncio.subprocess.PIPE  # noqa: SIM115
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--env-file", os.devnull, *extra, cwd=ROOT,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr)


async def ready(fake: FakeBotAPI, polls_before: int) -> None:
    """The new process is polling once it asks for updates."""
    await fake.wait_for(lambda: len(fake.calls_of("getUpdates")) > polls_before, timeout=30)


class HoldingFake(FakeBotAPI):
    """A Bot API whose sendMessage can hang, as a slow network does, until released."""

    hold = False

    async def _api_sendMessage(self, params):
        while self.hold:
            await asyncio.sleep(0.05)
        return await super()._api_sendMessage(params)
