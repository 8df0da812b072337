"""Capacity under Telegram's limit: how many runners at once Kebas serves at KEBAS_SEND_RATE.

Telegram lets a bot send about 30 messages a second, and Kebas keeps to that
(`KEBAS_SEND_RATE`, default 30). So the number that matters in production is how many
runners can be in the middle of the questionnaire at the same moment before their replies
start to queue. This benchmark measures it:

- the real `kebas run` process, at the default send rate, against the fake Bot API
  (`tests/support/fakebotapi.py`) on 127.0.0.1, with a fresh database;
- runners at a human pace: each reads the newest prompt, thinks 3 to 8 seconds (seeded), then
  taps or types, and waits for the next thing to act on (the next question, the ticks on a box,
  the result); a runner who reaches a result is followed by a new runner in a new chat;
- the number of runners at once is ramped, 10 to 400 by default, each step held for a while;
- per step: answers a second (every tap or typed reply counts), the rate-limited requests
  (sends and edits: everything with a chat but the answers to button presses) per answer, and
  the reply time from the runner's answer entering the fake until the next prompt is on the
  runner's screen, p50 and p95;
- `--before REF` runs the same ramp first against the code at a git revision (from
  `git archive`, same machine, same environment), so before and after sit in one table.

    .venv/bin/python bench/capacity.py --before 966463b --markdown --plot docs/capacity.png

The largest number of runners served with p95 <= 1.5 s is the headline. Options: --steps,
--step-seconds, --warmup, --think, --seed, --send-rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests", ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from load import RoundFailed, start_bot, stop_bot  # noqa: E402

from bot.content.loader import load_bundle  # noqa: E402

from support.chaos import ChaosRunner  # noqa: E402
from support.fakebotapi import TOKEN, Call, FakeBotAPI  # noqa: E402

STEPS = (10, 25, 50, 75, 100, 125, 150, 175, 200, 300, 400)
TARGET_P95 = 1.5  # seconds
FIRST_CHAT = 900_000
REPLY_TIMEOUT = 120.0  # seconds without a reply before an answer counts as never answered
NOT_LIMITED = frozenset({"answerCallbackQuery", "getUpdates", "getMe", "setMyCommands",
                         "getMyCommands", "deleteMyCommands", "setMyDescription",
                         "getMyDescription", "setMyShortDescription", "getMyShortDescription",
                         "deleteWebhook", "getWebhookInfo", "close", "logOut"})


@dataclass
class Answer:
    """One tap or typed reply and when its reply came (None: never, within the run)."""

    at: float
    replied: float | None = None


@dataclass
class Step:
    """One step of the ramp: how many runners, and what was measured while they ran."""

    runners: int
    start: float = 0.0
    end: float = 0.0
    answers: list[Answer] = field(default_factory=list)
    requests: int = 0  # rate-limited requests made during the measured window
    records: int = 0   # of them, edits of an answered question (or consent) into its record

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def answered(self) -> list[float]:
        return [a.replied - a.at for a in self.answers if a.replied is not None]

    @property
    def unanswered(self) -> int:
        return sum(a.replied is None for a in self.answers)

    @property
    def per_second(self) -> float:
        return len(self.answers) / self.seconds if self.seconds else 0.0

    @property
    def requests_per_answer(self) -> float:
        return self.requests / len(self.answers) if self.answers else 0.0

    @property
    def records_per_answer(self) -> float:
        return self.records / len(self.answers) if self.answers else 0.0

    def reply_time(self, percent: int) -> float:
        """The percentile (nearest rank) of reply times; one never replied to is endless."""
        times = sorted(self.answered) + [float("inf")] * self.unanswered
        if not times:
            return float("nan")
        return times[max(0, math.ceil(percent / 100 * len(times)) - 1)]


class Watcher:
    """Wakes a chat's runner whenever the bot calls about its chat."""

    def __init__(self, fake: FakeBotAPI) -> None:
        self.fake = fake
        self.events: dict[int, asyncio.Event] = {}
        fake.observer = self.saw

    def saw(self, call: Call) -> None:
        chat_id = self.fake.chat_of(call)
        if chat_id is not None and chat_id in self.events:
            self.events[chat_id].set()

    def event(self, chat_id: int) -> asyncio.Event:
        return self.events.setdefault(chat_id, asyncio.Event())


class HumanRunner(ChaosRunner):
    """A runner at a human pace: think, act once, wait for the next thing to act on."""

    def __init__(self, fake: FakeBotAPI, watcher: Watcher, chat_id: int, dialog: Any,
                 locale: Any, seed: int, think: tuple[float, float]) -> None:
        super().__init__(fake, chat_id, "id", dialog, locale, seed, bot=None,  # type: ignore
                         usual_wait=0.0)
        self.watcher, self.think = watcher, think
        self.pace = random.Random(f"{seed}:{chat_id}:pace")
        self.answers: list[Answer] = []

    async def live(self, stop: asyncio.Event) -> bool:
        """Walk to a result (True), or until `stop` (False)."""
        event = self.watcher.event(self.chat_id)
        acted_on: tuple[Any, ...] | None = None
        while not stop.is_set():
            kind, message, node = self.prompt()
            if kind == "outcome":
                return True
            seen = self.looks()[:2]
            if not self.sent and acted_on is None:
                kind = "none"  # the very beginning: /start
            elif kind == "none" or seen == acted_on:
                await self.wait(event, stop)
                continue
            await self.pause(self.pace.uniform(*self.think), stop)
            if stop.is_set():
                return False
            answer = Answer(time.monotonic())
            self.answers.append(answer)
            event.clear()
            await self.act(kind, message, node)
            acted_on = seen
            await self.until_next_prompt(answer, seen, event, stop)
        return False

    async def until_next_prompt(self, answer: Answer, seen: tuple[Any, ...],
                                event: asyncio.Event, stop: asyncio.Event) -> None:
        """Wait until there is something new to act on (or a result): the reply."""
        deadline = answer.at + REPLY_TIMEOUT
        while not stop.is_set() and time.monotonic() < deadline:
            kind, _, _ = self.prompt()
            if kind == "outcome" or (kind != "none" and self.looks()[:2] != seen):
                answer.replied = time.monotonic()
                return
            await self.wait(event, stop, deadline - time.monotonic())

    @staticmethod
    async def wait(event: asyncio.Event, stop: asyncio.Event, most: float = 5.0) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        changed = asyncio.ensure_future(event.wait())
        await asyncio.wait({stopping, changed}, timeout=max(0.01, most),
                           return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        changed.cancel()
        event.clear()

    @staticmethod
    async def pause(seconds: float, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


class Crowd:
    """Keeps `size` runners walking: one who reaches a result is followed by a new one."""

    def __init__(self, fake: FakeBotAPI, dialog: Any, locale: Any, seed: int,
                 think: tuple[float, float]) -> None:
        self.fake, self.dialog, self.locale, self.seed, self.think = \
            fake, dialog, locale, seed, think
        self.watcher = Watcher(fake)
        self.stop = asyncio.Event()
        self.runners: list[HumanRunner] = []
        self.seats: list[asyncio.Task[None]] = []
        self.next_chat = FIRST_CHAT

    def grow(self, size: int) -> None:
        while len(self.seats) < size:
            self.seats.append(asyncio.create_task(self.seat(len(self.seats))))

    async def seat(self, number: int) -> None:
        """One place in the crowd: runner after runner, the first one staggered in."""
        stagger = random.Random(f"{self.seed}:seat:{number}").uniform(0, self.think[1])
        await HumanRunner.pause(stagger, self.stop)
        while not self.stop.is_set():
            runner = HumanRunner(self.fake, self.watcher, self.next_chat, self.dialog,
                                 self.locale, self.seed, self.think)
            self.next_chat += 1
            self.runners.append(runner)
            await runner.live(self.stop)

    async def close(self) -> None:
        """Stop every runner; a runner that broke breaks the run."""
        self.stop.set()
        for outcome in await asyncio.gather(*self.seats, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome

    def answers_between(self, start: float, end: float) -> list[Answer]:
        return [a for runner in self.runners for a in runner.answers if start <= a.at < end]


def requests_between(fake: FakeBotAPI, start: float, end: float) -> list[Call]:
    """The rate-limited requests Telegram took in the window."""
    return [call for call in fake.calls if start <= call.at < end and call.status == 200
            and call.method not in NOT_LIMITED and "chat_id" in call.params]


def is_record(call: Call) -> bool:
    """An edit of an answered question (or of the consent) into the record of its answer."""
    return call.method == "editMessageText" and "\n\n✅ " in str(call.params.get("text"))


@dataclass
class Ramp:
    """One code version's whole ramp."""

    name: str
    steps: list[Step]

    def served(self) -> int:
        """The most runners at once with reply p95 within the target (0: none)."""
        return max((step.runners for step in self.steps
                    if step.reply_time(95) <= TARGET_P95), default=0)


async def ramp(name: str, source: Path, options: argparse.Namespace, workdir: Path,
               say: Any) -> Ramp:
    """Start the bot from `source` (a checkout) and ramp the crowd up step by step."""
    bundle = load_bundle([ROOT / "dialogs", ROOT / "locales"])
    dialog, locale = bundle.dialog(), bundle.locales["id"]
    fake = await FakeBotAPI().start()
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url,
           "NO_PROXY": "127.0.0.1,localhost", "KEBAS_DB": str(workdir / f"{name}.sqlite3"),
           "PYTHONPATH": str(source), "KEBAS_DIALOGS": str(source / "dialogs"),
           "KEBAS_LOCALES": str(source / "locales")}
    if options.send_rate:
        env["KEBAS_SEND_RATE"] = str(options.send_rate)
    else:
        env.pop("KEBAS_SEND_RATE", None)
    process = await start_bot(fake, [sys.executable, "-m", "bot", "run", "--env-file",
                                     os.devnull], env, workdir / f"{name}.log", cwd=source)
    crowd = Crowd(fake, dialog, locale, options.seed, options.think)
    steps: list[Step] = []
    try:
        for size in options.steps:
            crowd.grow(size)
            step = Step(size)
            await asyncio.sleep(options.warmup)
            step.start = time.monotonic()
            await asyncio.sleep(options.step_seconds)
            step.end = time.monotonic()
            steps.append(step)
            say(f"  {name}: {size} runners ...")
        # the last step's answers get their replies before the crowd goes home
        grace = time.monotonic() + REPLY_TIMEOUT
        while time.monotonic() < grace and any(
                a.replied is None for a in crowd.answers_between(steps[-1].start,
                                                                 steps[-1].end)):
            await asyncio.sleep(0.2)
        await crowd.close()
        # answers still waiting when the crowd stopped are measured as they were
        for step in steps:
            step.answers = crowd.answers_between(step.start, step.end)
            requests = requests_between(fake, step.start, step.end)
            step.requests, step.records = len(requests), sum(map(is_record, requests))
        if process.returncode is not None:
            raise RoundFailed(f"{name}: the bot exited ({process.returncode}); see "
                              f"{workdir / f'{name}.log'}")
    finally:
        await crowd.close()
        await stop_bot(process)
        await fake.stop()
    return Ramp(name, steps)


def checkout(revision: str, into: Path) -> Path:
    """The code at a git revision, as files (no work tree of git's)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def seconds(value: float) -> str:
    return "∞" if value == float("inf") else f"{value:.2f}"


def table(ramps: list[Ramp]) -> list[str]:
    lines = ["| code | runners at once | answers/s | rate-limited requests per answer | "
             "of them records of an answer | reply p50 (s) | reply p95 (s) | never replied "
             "| p95 ≤ 1.5 s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for measured in ramps:
        for step in measured.steps:
            p95 = step.reply_time(95)
            lines.append(f"| {measured.name} | {step.runners} | {step.per_second:.1f} | "
                         f"{step.requests_per_answer:.2f} | {step.records_per_answer:.2f} | "
                         f"{seconds(step.reply_time(50))} | "
                         f"{seconds(p95)} | {step.unanswered} | "
                         f"{'✓' if p95 <= TARGET_P95 else '✗'} |")
    return lines


def headline(ramps: list[Ramp]) -> list[str]:
    lines = [f"{r.name}: at most {r.served()} runners at once with reply p95 ≤ {TARGET_P95} s"
             for r in ramps]
    if len(ramps) == 2 and ramps[0].served():
        lines.append(f"after/before: {ramps[1].served() / ramps[0].served():.1f}×")
    return lines


def plot(ramps: list[Ramp], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    for measured, colour in zip(ramps, ("#b0413e", "#2a6f97")):
        runners = [step.runners for step in measured.steps]
        p95 = [min(step.reply_time(95), 60.0) for step in measured.steps]
        p50 = [min(step.reply_time(50), 60.0) for step in measured.steps]
        left.plot(runners, p95, "o-", color=colour, label=f"{measured.name}: p95")
        left.plot(runners, p50, "o--", color=colour, alpha=0.6, label=f"{measured.name}: p50")
        right.plot(runners, [step.requests_per_answer for step in measured.steps], "o-",
                   color=colour, label=measured.name)
    left.axhline(TARGET_P95, color="grey", linestyle=":", label=f"{TARGET_P95} s")
    left.set_yscale("log")
    left.set_xlabel("runners at once (a tap every 3–8 s)")
    left.set_ylabel("reply time (s)")
    left.set_title("Reply time at KEBAS_SEND_RATE=30")
    left.legend(fontsize=8)
    right.set_xlabel("runners at once")
    right.set_ylabel("rate-limited requests per answer")
    right.set_ylim(0, 2.5)
    right.set_title("Telegram's budget spent per answer")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


async def measure(options: argparse.Namespace, say: Any) -> list[Ramp]:
    ramps = []
    with tempfile.TemporaryDirectory(prefix="kebas-capacity-") as temporary:
        workdir = Path(temporary)
        if options.before:
            source = checkout(options.before, workdir / "before")
            say(f"before: {options.before}")
            ramps.append(await ramp("before", source, options, workdir, say))
        say("after: this checkout")
        ramps.append(await ramp("after" if options.before else "kebas", ROOT, options,
                                workdir, say))
    return ramps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="a git revision to ramp first, for comparison")
    parser.add_argument("--steps", type=lambda s: [int(n) for n in s.split(",")],
                        default=list(STEPS), help="runners at once, step by step")
    parser.add_argument("--step-seconds", type=float, default=40.0)
    parser.add_argument("--warmup", type=float, default=8.0,
                        help="seconds after each step's new runners join, not measured")
    parser.add_argument("--think", type=lambda s: tuple(float(n) for n in s.split(",")),
                        default=(3.0, 8.0), help="a runner's pause before each answer, s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--send-rate", type=float, default=None,
                        help="KEBAS_SEND_RATE (default: the bot's own default, 30)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--plot", type=Path)
    options = parser.parse_args(argv)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    ramps = asyncio.run(measure(options, say))
    print("\n".join(table(ramps)))
    print()
    print("\n".join(headline(ramps)))
    if options.plot:
        plot(ramps, options.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
