"""One round of the benchmark: U runners at once against one bot process, timed at the fake.

A round starts a fresh fake Bot API (`tests/support/fakebotapi.py`) and one bot process, waits until
it polls, lets every runner walk at once, and measures from the outside: each reply's latency
(from the runner's update entering the fake until the bot's last call of that step), updates
per second over the whole walk, and the bot process's CPU time and peak RSS (psutil, /proc).

Kebas's runners walk the shipped dialog as the chaos test's runners do (`ChaosRunner`: the
newest prompt, the same seeded answers), but without pauses or double taps. Each step's Bot
API calls are recorded, and the floor bot's runners replay them: the same updates, asking for
the same calls (`bench/floor_bot.py`). After a Kebas round the database is checked as the chaos
test checks it: every answer the runners saw acknowledged is stored once, in its own session.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bot.content.loader import load_bundle  # noqa: E402

from support.chaos import ChaosRunner  # noqa: E402
from support.chaoscheck import Report, Walk, check  # noqa: E402
from support.fakebotapi import TOKEN, Call, FakeBotAPI  # noqa: E402

FIRST_CHAT = 800_000
# The chats of the past sessions a round may start with (`past_sessions.py`).
PAST_CHAT = "tg:past"
FIRST_PAST_CHAT = 1_000_000_000
REPLY_TIMEOUT = 60.0  # seconds a runner waits for a reply before the round is called broken
START_TIMEOUT = 60.0
# The Bot API calls a step may make, in the order both bots make them.
METHODS = ("answerCallbackQuery", "editMessageText", "editMessageReplyMarkup", "sendMessage")


def is_past(chat_key: str) -> bool:
    number = chat_key.removeprefix("tg:")
    return chat_key == PAST_CHAT or (number.isdigit() and int(number) > FIRST_PAST_CHAT)


class RoundFailed(Exception):
    """The round could not be measured: a bot did not start, or a runner got no reply."""


@dataclass
class Step:
    """One update a runner sent and the bot's calls about that chat until the next one."""

    kind: str  # "text" or "press"
    pushed: float
    calls: Counter[str] = field(default_factory=Counter)
    last_call: float = 0.0


Recipe = list[tuple[str, Counter[str]]]  # per runner: each step's kind and its Bot API calls


class Stopwatch:
    """Per chat: the steps so far, and an event set whenever the bot calls about the chat."""

    def __init__(self, fake: FakeBotAPI) -> None:
        self.fake = fake
        self.steps: dict[int, list[Step]] = {}
        self.changed: dict[int, asyncio.Event] = {}
        fake.observer = self.saw

    def begin(self, chat_id: int, kind: str) -> Step:
        """Call just before the runner's update enters the fake."""
        step = Step(kind, time.monotonic())
        self.steps.setdefault(chat_id, []).append(step)
        return step

    def saw(self, call: Call) -> None:
        chat_id = self.fake.chat_of(call)
        steps = self.steps.get(chat_id) if chat_id is not None else None
        if not steps:
            return
        steps[-1].calls[call.method] += 1
        steps[-1].last_call = time.monotonic()
        self.changed[chat_id].set()

    def event(self, chat_id: int) -> asyncio.Event:
        return self.changed.setdefault(chat_id, asyncio.Event())

    async def next_change(self, chat_id: int) -> None:
        try:
            await asyncio.wait_for(self.event(chat_id).wait(), REPLY_TIMEOUT)
        except TimeoutError:
            raise RoundFailed(f"chat {chat_id} got no reply for {REPLY_TIMEOUT:.0f} s") from None

    def recipes(self) -> dict[int, Recipe]:
        return {chat_id: [(step.kind, Counter({m: step.calls[m] for m in METHODS}))
                          for step in steps] for chat_id, steps in self.steps.items()}

    def latencies(self) -> list[float]:
        return [step.last_call - step.pushed for steps in self.steps.values() for step in steps]


class KebasRunner(ChaosRunner):
    """The chaos test's runner at full speed: acts on each new prompt at once, taps once."""

    def __init__(self, fake: FakeBotAPI, stopwatch: Stopwatch, chat_id: int, dialog: Any,
                 locale: Any, seed: int) -> None:
        super().__init__(fake, chat_id, "id", dialog, locale, seed, bot=None,  # type: ignore
                         usual_wait=0.0)
        self.stopwatch = stopwatch

    async def walk_whole(self) -> Walk:
        event = self.stopwatch.event(self.chat_id)
        acted_on: tuple[Any, ...] | None = None
        await self.step("none", None, None)
        while True:
            event.clear()
            kind, message, node = self.prompt()
            seen = self.looks()[:2]
            if kind == "outcome":
                return self.finished()
            if kind != "none" and seen != acted_on:
                await self.step(kind, message, node)
                acted_on = seen
                continue
            await self.stopwatch.next_change(self.chat_id)

    async def step(self, kind: str, message: Any, node: Any) -> None:
        self.stopwatch.begin(self.chat_id, "text" if kind in ("none", "number") else "press")
        await self.act(kind, message, node)

    async def _tap_answer(self, message: Any, node: Any) -> None:
        data, answers = self.button_to_tap(message, node)
        update_id = self.fake.press(self.chat_id, message.message_id, data, self.language)
        if answers:
            self.walk.presses.append((self.fake.callback_id(update_id), node.id))


class FloorRunner:
    """Replays a Kebas runner's steps against the floor bot: same updates, same calls asked."""

    def __init__(self, fake: FakeBotAPI, stopwatch: Stopwatch, chat_id: int,
                 recipe: Recipe) -> None:
        self.fake, self.stopwatch, self.chat_id, self.recipe = fake, stopwatch, chat_id, recipe

    async def walk_whole(self) -> None:
        event = self.stopwatch.event(self.chat_id)
        for kind, calls in self.recipe:
            sent = self.fake.sent(self.chat_id)
            newest = sent[-1].message_id if sent else 0
            ask = f"f:{','.join(str(calls[method]) for method in METHODS)}:{newest}"
            step = self.stopwatch.begin(self.chat_id, kind)
            if kind == "press":
                self.fake.press(self.chat_id, newest, ask)
            else:
                self.fake.send_text(self.chat_id, ask)
            while step.calls.total() < calls.total():
                event.clear()
                await self.stopwatch.next_change(self.chat_id)


@dataclass
class Measured:
    """What one round measured of one bot."""

    bot: str
    runners: int
    updates: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float
    peak_rss: int  # bytes
    api_calls: Counter[str]

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    def latency(self, percent: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1]

    @property
    def cpu_per_update(self) -> float:
        return self.cpu_seconds / self.updates


@dataclass
class KebasRound:
    measured: Measured
    recipes: dict[int, Recipe]
    durability: Report


def bot_environment(fake: FakeBotAPI, send_rate: float, **more: str) -> dict[str, str]:
    return {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url,
            "NO_PROXY": "127.0.0.1,localhost", "KEBAS_SEND_RATE": str(send_rate), **more}


async def start_bot(fake: FakeBotAPI, argv: list[str], env: dict[str, str], log: Path,
                    cwd: Path = ROOT) -> asyncio.subprocess.Process:
    """Start a bot process and wait until it long-polls."""
    with open(log, "ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + START_TIMEOUT
    while not fake.calls_of("getUpdates"):
        if process.returncode is not None or time.monotonic() > deadline:
            if process.returncode is None:
                process.kill()
            raise RoundFailed(f"{argv[-1]} did not start (exit {process.returncode}); "
                              f"see {log}")
        await asyncio.sleep(0.05)
    return process


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


def peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM) in bytes; psutil only has the current one."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return psutil.Process(pid).memory_info().rss


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def measure(name: str, process: asyncio.subprocess.Process, fake: FakeBotAPI,
                  stopwatch: Stopwatch, walks: list[Any]) -> Measured:
    """Let every runner walk at once; measure from the first update to the last reply."""
    watched = psutil.Process(process.pid)
    cpu_before = cpu_seconds(watched)
    started = time.monotonic()
    await asyncio.gather(*walks)
    seconds = time.monotonic() - started
    cpu = cpu_seconds(watched) - cpu_before
    rss = peak_rss(process.pid)
    updates = sum(len(steps) for steps in stopwatch.steps.values())
    calls = Counter(call.method for call in fake.calls if call.method in METHODS)
    return Measured(name, len(walks), updates, seconds, stopwatch.latencies(), cpu, rss, calls)


async def kebas_round(runners: int, db: Path, log: Path, send_rate: float, seed: int = 0,
                      profile: Path | None = None) -> KebasRound:
    """`profile`: run the bot under pyinstrument and write its HTML report there."""
    bundle = load_bundle([ROOT / "dialogs", ROOT / "locales"])
    dialog, locale = bundle.dialog(), bundle.locales["id"]
    fake = await FakeBotAPI().start()
    try:
        stopwatch = Stopwatch(fake)
        env = bot_environment(fake, send_rate, KEBAS_DB=str(db))
        profiler = ["-m", "pyinstrument", "--renderer", "html", "--outfile", str(profile)] \
            if profile else []
        process = await start_bot(fake, [sys.executable, *profiler, "-m", "bot", "run",
                                         "--env-file", os.devnull], env, log)
        try:
            people = [KebasRunner(fake, stopwatch, FIRST_CHAT + number, dialog, locale, seed)
                      for number in range(runners)]
            measured = await measure("kebas", process, fake, stopwatch,
                                     [person.walk_whole() for person in people])
        finally:
            await stop_bot(process)
        update_chats = {update_id: int(next(iter(update.values()))["from"]["id"])
                        for update_id, update in fake.updates_sent().items()}
        durability = check(db, [person.walk for person in people], update_chats,
                           Report(runners), before=is_past)
        return KebasRound(measured, stopwatch.recipes(), durability)
    finally:
        await fake.stop()


async def floor_round(recipes: dict[int, Recipe], log: Path, send_rate: float,
                      connections: int) -> Measured:
    fake = await FakeBotAPI().start()
    try:
        stopwatch = Stopwatch(fake)
        process = await start_bot(fake, [sys.executable, str(ROOT / "bench" / "floor_bot.py"),
                                         "--connections", str(connections)],
                                  bot_environment(fake, send_rate), log)
        try:
            return await measure("floor", process, fake, stopwatch, [
                FloorRunner(fake, stopwatch, chat_id, recipe).walk_whole()
                for chat_id, recipe in recipes.items()])
        finally:
            await stop_bot(process)
    finally:
        await fake.stop()
