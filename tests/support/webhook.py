"""`kebas run --webhook` workers on one database, and posting updates to them as Telegram does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

from bot.channels.telegram.webhook import SECRET_HEADER

from support.fakebotapi import TOKEN, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://kebas.test/telegram"
SECRET = "s3cret-token_for-the-webhook-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Workers:
    """`kebas run --webhook` processes on one database, each on its own local port."""

    def __init__(self, fake: FakeBotAPI, db: Path | str, logs: Path, count: int,
                 send_rate: float = 30) -> None:
        self.fake, self.db, self.logs, self.count = fake, db, logs, count
        self.send_rate = send_rate
        self.processes: list[asyncio.subprocess.Process] = []
        self.backends: list[str] = []

    async def start(self) -> Workers:
        for number in range(self.count):
            await self._spawn(number)
            if number == 0:  # the first creates the schema; the others start together
                await self.healthy(0)
        await asyncio.gather(*(self.healthy(number) for number in range(1, self.count)))
        return self

    async def _spawn(self, number: int) -> None:
        port = free_port()
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_BASE_URL": self.fake.base_url, "KEBAS_DB": str(self.db),
               "NO_PROXY": "127.0.0.1,localhost", "KEBAS_WEBHOOK_SECRET": SECRET,
               "KEBAS_WORKERS": str(self.count), "KEBAS_SEND_RATE": str(self.send_rate)}
        with open(self.logs / f"worker-{number}.log", "ab") as log:
            self.processes.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--env-file", os.devnull,
                "--webhook", PUBLIC_URL, "--listen", f"127.0.0.1:{port}", cwd=ROOT,
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log))
        self.backends.append(f"http://127.0.0.1:{port}")

    async def healthy(self, number: int, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as client:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with client.get(self.backends[number] + "/healthz") as response:
                        if response.status == 200:
                            return await response.json()
                process = self.processes[number]
                if process.returncode is not None or time.monotonic() > deadline:
                    log = (self.logs / f"worker-{number}.log").read_text()
                    raise AssertionError(f"worker {number} did not start "
                                         f"(exit {process.returncode}):\n{log}")
                await asyncio.sleep(0.1)

    # what ChaosRunner asks of the bot it talks to: the workers stay up throughout
    def up_throughout(self, since: float) -> bool:
        return True

    async def restart_if_crashed(self) -> None:
        return None

    async def kill(self, number: int) -> None:
        """SIGKILL: the worker dies at once, whatever it holds."""
        self.processes[number].kill()
        await self.processes[number].wait()

    async def stop(self) -> list[int | None]:
        """SIGTERM to each: requests in flight finish, then each exits."""
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        codes = []
        for process in self.processes:
            try:
                codes.append(await asyncio.wait_for(process.wait(), 30))
            except TimeoutError:
                process.kill()
                codes.append(None)
        return codes


@contextlib.asynccontextmanager
async def workers(tmp_path: Path, count: int = 1, db: Path | str | None = None,
                  send_rate: float = 30):
    fake = await FakeBotAPI().start()
    group = Workers(fake, db or tmp_path / "kebas.sqlite3", tmp_path, count, send_rate)
    try:
        await group.start()
        yield fake, group
    finally:
        await group.stop()
        await fake.stop()


async def post(url: str, update: dict, secret: str | None) -> int:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with aiohttp.ClientSession() as client, client.post(
            url, json=update, headers=headers) as response:
        return response.status


def start_update(fake: FakeBotAPI, chat_id: int) -> dict:
    """An update as Telegram would post it, not queued anywhere."""
    update_id = fake.send_text(chat_id, "/start")
    fake.forget_pending()
    return fake.update(update_id)
