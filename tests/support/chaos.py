"""The chaos test's machinery: many runners, a `kebas run` killed again and again, a faulty API.

Runners walk the shipped dialog through the fake Bot API (`fakebotapi.py`, with `faults.py`)
against the real `kebas run` process, which is SIGKILLed at random moments and restarted. They
act like people: read the newest question, answer it (the same way every time, from the seed),
and when nothing happens for a while they tap or type again. At the end `check` reads the
SQLite file and the fake's log: every acknowledged answer stored once, nothing applied twice,
nothing in another runner's session, everyone finished. `bench/chaos.py` runs it at full size,
`tests/telegram/test_chaos.py` small. What `check` finds is in chaoscheck.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

from bot.content.loader import Bundle, load_bundle
from bot.core import engine, inputs
from bot.core.i18n import Locale
from bot.core.model import Dialog, MultiQuestion, NumberQuestion, options_of

from support.botapirecords import StoredMessage
from support.chaoscheck import Report, Walk, check, update_chats
from support.fakebotapi import FakeBotAPI
from support.faults import Chaos
from support.harness import Runner, is_question, shown
from support.process import start_kebas

ROOT = Path(__file__).resolve().parents[2]
# Per call. Low enough that a run finishes: each 429 pauses every chat for `retry_after`.
DEFAULT_RATES = {"server_error": 0.004, "flood": 0.001, "slow": 0.004, "dropped": 0.004}
# Screening answers that raise no red flag: runners mostly give them, so that many walk the
# whole dialog instead of stopping at the first emergency.
CLEAR_ANSWERS = ("none", "no", "gone")
FIRST_CHAT = 700_000
PATIENCE = 2.5       # seconds without any reply before a runner taps or types again, at least
MOST_PATIENCE = 30.0
STRIKES = 3          # unanswered tries, with the bot up throughout, before a runner types /start


# --- what each runner answers ------------------------------------------------------------


def answer_for(dialog: Dialog, node: Any, seed: int, chat_id: int) -> Any:
    """The runner's answer to this question: random, but the same every time it is asked."""
    pick = random.Random(f"{seed}:{chat_id}:{node.id}")
    if isinstance(node, NumberQuestion):
        return pick.randint(int(node.min), int(node.max))
    options = [option.id for option in options_of(node)]
    clear = next((option for option in options if option in CLEAR_ANSWERS), None)
    if node.id in dialog.screening and clear and pick.random() < 0.85:
        return [clear] if isinstance(node, MultiQuestion) else clear
    if not isinstance(node, MultiQuestion):
        return pick.choice(options)
    exclusive = [o.id for o in options_of(node) if o.exclusive]
    others = [option for option in options if option not in exclusive]
    if exclusive and pick.random() < 0.3:
        return exclusive[:1]
    chosen = set(pick.sample(others, pick.randint(1, min(3, len(others)))))
    return [option for option in options if option in chosen]


def planned_answers(dialog: Dialog, seed: int, chat_id: int) -> list[tuple[str, Any]]:
    """The walk the pure engine makes with this runner's answers: how long it should be."""
    step = engine.start(dialog)
    walked: list[tuple[str, Any]] = []
    while step.prompt is not None:
        node = dialog.node(step.prompt.node_id)
        value = answer_for(dialog, node, seed, chat_id)
        given: inputs.Input = (inputs.ChooseMany(tuple(value)) if isinstance(value, list)
                               else inputs.Typed(str(value)) if isinstance(node, NumberQuestion)
                               else inputs.Choose(value))
        step = engine.step(dialog, step.state, given)
        assert step.answer is not None, f"{node.id}: {value!r} is not an answer"
        walked.append((node.id, step.answer.value))
    return walked


# --- the bot as a process that dies ------------------------------------------------------


class BotProcess:
    """`kebas run` against the fake; SIGKILLed and restarted on demand."""

    def __init__(self, fake: FakeBotAPI, db: Path, log: Path) -> None:
        self.fake, self.db, self.log = fake, db, log
        self.process: asyncio.subprocess.Process | None = None
        self.up_since: float | None = None  # when it last started polling; None while down
        self.kills = 0
        self.crashes = 0  # times it exited without being killed

    async def start(self) -> None:
        """Start it and wait until it polls (it has read its inbox by then)."""
        seen = len(self.fake.calls)
        self.process = await start_kebas(self.fake, self.db, log=self.log)
        deadline = time.monotonic() + 60
        while not any(call.method == "getUpdates" for call in self.fake.calls[seen:]):
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kebas run did not start (exit {self.process.returncode});"
                                   f" see {self.log}")
            await asyncio.sleep(0.05)
        self.up_since = time.monotonic()

    async def kill(self) -> None:
        assert self.process is not None
        self.up_since = None
        self.process.kill()
        await self.process.wait()
        self.kills += 1

    async def restart_if_crashed(self) -> None:
        """As systemd would (Restart=on-failure); the crash is counted, it is a bug."""
        if self.up_since is not None and self.process is not None \
                and self.process.returncode is not None:
            self.crashes += 1
            await self.start()

    async def stop(self) -> int | None:
        """SIGTERM: it handles what it holds and exits; its exit status."""
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.up_since = None
        self.process.terminate()
        try:
            return await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            return None

    def up_throughout(self, since: float) -> bool:
        return self.up_since is not None and self.up_since <= since


# --- a person in a private chat ----------------------------------------------------------


class ChaosRunner(Runner):
    """A runner who reads the newest prompt, answers it, and taps again when nothing happens."""

    def __init__(self, fake: FakeBotAPI, chat_id: int, language: str, dialog: Dialog,
                 locale: Locale, seed: int, bot: BotProcess, usual_wait: float) -> None:
        super().__init__(fake, chat_id, language)
        self.dialog, self.locale, self.seed, self.bot = dialog, locale, seed, bot
        self.walk = Walk(chat_id)
        self.habits = random.Random(f"{seed}:{chat_id}:habits")
        self.usual_wait = usual_wait  # how long the bot's replies take (seconds, smoothed)
        self.number_prompts = {shown(locale, node.text): node
                               for node in dialog.nodes if isinstance(node, NumberQuestion)}
        self.answered_mark = "\n\n" + shown(locale, "tg.answered", answer="")
        self.the_end = shown(locale, "tg.after_outcome")
        self.disclaimer = shown(locale, dialog.texts.disclaimer)
        self.recorded_toasts = {"", locale.text("tg.already_recorded")}

    # --- looking ----------------------------------------------------------------------

    def prompt(self) -> tuple[str, StoredMessage | None, Any]:
        """What the newest message asks of the runner: (kind, message, node).

        Only the newest counts, as for a person reading the end of the chat: while the bot is
        still replying (an answer recorded, the next question not yet sent) there is nothing
        to do but wait.
        """
        message = self.sent[-1] if self.sent else None
        if message is None:
            return "none", None, None
        data = [button.get("callback_data", "") for button in message.buttons]
        if message.text == self.the_end:
            return "outcome", message, None
        if any(d.startswith("k:agree") for d in data):
            return "consent", message, None
        if any(d.startswith("s:continue:") for d in data):
            return "continue", message, None
        if is_question(message):
            return "question", message, self.dialog.node(data[0].split(":")[3])
        node = self.number_prompts.get(message.text.split("\n")[0])
        if node is not None and self.answered_mark not in message.text:
            return "number", message, node
        return "none", None, None

    def looks(self) -> tuple[Any, ...]:
        """Everything a person would notice changing: a new message, new ticks, a toast."""
        last = self.sent[-1] if self.sent else None
        toasts = sum(len(self.fake.answered.get(press, ())) for press, _ in self.walk.presses)
        return (last.message_id if last else 0, json.dumps(last.reply_markup) if last else "",
                last.text if last else "", toasts)

    # --- doing ------------------------------------------------------------------------

    async def run(self, think: tuple[float, float], deadline: float) -> Walk:
        """Answer each new prompt once; when nothing happens for a while, do it again.

        Patience grows with how slow the bot has been and doubles with each try that got no
        reply, as a person's would. A try that got none while the bot was up the whole time
        is a strike; after `STRIKES` the runner types /start, as a person left without a reply
        would, and the walk counts it as stuck.
        """
        acted_on: tuple[Any, ...] | None = None
        tries = strikes = 0
        while time.monotonic() < deadline:
            kind, message, node = self.prompt()
            self.walk.where = kind if node is None else f"{kind} {node.id}"
            if kind == "outcome":
                return self.finished()
            seen = self.looks()
            if kind != "none" and seen[:2] != acted_on:  # a new prompt, or new ticks on it
                tries = strikes = 0
                await asyncio.sleep(self.habits.uniform(*think))
                if self.looks()[:2] == seen[:2]:
                    await self.act(kind, message, node)
                    acted_on = seen[:2]
                continue
            if not self.sent and acted_on is None:  # the very beginning
                await self.act("none", None, None)
                acted_on = seen[:2]
                continue
            waited_from = time.monotonic()
            if await self.reply_after(seen, self.patience(tries), deadline):
                tries = strikes = 0
                continue
            tries += 1
            strikes += self.bot.up_throughout(waited_from)
            if strikes >= STRIKES:
                self.walk.stuck += 1
                strikes = 0
                await self.act("none", None, None)
            elif kind != "none" or not self.walk.chosen:  # tap (or type, or /start) again
                await self.act(kind, message, node)
        return self.walk

    def finished(self) -> Walk:
        """The result has come: what the walk saw of it."""
        self.walk.saw_outcome = True
        self.walk.saw_disclaimer = any(m.text == self.disclaimer for m in self.sent)
        self.walk.acknowledged.update(self.walk.chosen)
        return self.walk

    def patience(self, tries: int) -> float:
        usual = max(PATIENCE, 2 * self.usual_wait)
        return min(MOST_PATIENCE, usual * (1 + self.habits.random()) * 2 ** tries)

    async def reply_after(self, before: tuple[Any, ...], patience: float, deadline: float
                          ) -> bool:
        """Wait until something changes in the chat; False if nothing did for `patience` s."""
        started = time.monotonic()
        until = min(started + patience, deadline)
        while time.monotonic() < until:
            await asyncio.sleep(0.1)
            if self.looks() != before:
                self.usual_wait = 0.8 * self.usual_wait + 0.2 * (time.monotonic() - started)
                return True
        return False

    async def act(self, kind: str, message: StoredMessage | None, node: Any) -> None:
        if kind == "none":
            self.fake.send_text(self.chat_id, "/start", language=self.language)
        elif kind in ("consent", "continue"):
            wanted = "k:agree" if kind == "consent" else "s:continue:"
            assert message is not None
            data = next(b["callback_data"] for b in message.buttons
                        if b["callback_data"].startswith(wanted))
            self.fake.press(self.chat_id, message.message_id, data, self.language)
        elif kind == "number":
            value = self._answer(node)
            unit = "tahun" if self.language == "id" else "years"
            self.fake.send_text(self.chat_id, self.habits.choice((f"{value}", f"{value} {unit}")),
                                language=self.language)
        else:
            assert message is not None
            await self._tap_answer(message, node)

    def _answer(self, node: Any) -> Any:
        """Decide the answer to `node`; a new question means the earlier ones were taken."""
        if node.id not in self.walk.chosen:
            self.walk.acknowledged.update(self.walk.chosen)
            self.walk.chosen[node.id] = answer_for(self.dialog, node, self.seed, self.chat_id)
        return self.walk.chosen[node.id]

    def button_to_tap(self, message: StoredMessage, node: Any) -> tuple[str, bool]:
        """The button that gets this question answered, and whether it answers it (False for
        a tick that is still to be set or cleared on a multiple choice)."""
        wanted = self._answer(node)
        by_option = {b["callback_data"].split(":")[-1]: b for b in message.buttons
                     if b["callback_data"][:2] in ("c:", "t:")}
        if isinstance(wanted, list):
            wrong = [option for option, button in by_option.items()
                     if button["text"].startswith("✓ ") != (option in wanted)]
            if wrong:
                return by_option[wrong[0]]["callback_data"], False
            return next(b["callback_data"] for b in message.buttons
                        if b["callback_data"].startswith("d:")), True
        return by_option[wanted]["callback_data"], True

    async def _tap_answer(self, message: StoredMessage, node: Any) -> None:
        """Tap the option, or for a multiple choice make the ticks right and then tap Done."""
        data, answers = self.button_to_tap(message, node)
        if not answers:
            self.fake.press(self.chat_id, message.message_id, data, self.language)
            return
        for _tap in range(2 if self.habits.random() < 0.05 else 1):  # now and then, a double tap
            update_id = self.fake.press(self.chat_id, message.message_id, data, self.language)
            self.walk.presses.append((self.fake.callback_id(update_id), node.id))
            await asyncio.sleep(self.habits.uniform(0.02, 0.2))

    def confirmed_by_toast(self) -> None:
        """An answer is acknowledged when its press was answered without a complaint."""
        for press, node in self.walk.presses:
            if any(text in self.recorded_toasts for text in self.fake.answered.get(press, ())):
                self.walk.acknowledged.add(node)


# --- the whole run -----------------------------------------------------------------------


async def kill_at_random(bot: BotProcess, kills: int, progress: Any, seed: int,
                         done: asyncio.Event) -> None:
    """SIGKILL the bot `kills` times, at random points of the runners' progress (0-1)."""
    chance = random.Random(f"{seed}:kills")
    thresholds = sorted(chance.uniform(0.02, 0.9) for _ in range(kills))
    while not done.is_set():
        await asyncio.sleep(chance.uniform(0.2, 1.0))  # some time up after the last start
        while thresholds and progress() < thresholds[0] and not done.is_set():
            await asyncio.sleep(0.05)
            await bot.restart_if_crashed()
        if done.is_set() or not thresholds:
            await bot.restart_if_crashed()
            continue
        thresholds.pop(0)
        await bot.kill()
        await asyncio.sleep(chance.uniform(0.0, 0.5))  # down for a while: taps pile up
        await bot.start()


async def run_chaos(runners: int = 200, kills: int = 10, seed: int = 0, *, workdir: Path,
                    rates: dict[str, float] | None = None, think: tuple[float, float] = (0.05, 0.4),
                    arrivals: float | None = None, limit: float | None = None,
                    bundle: Bundle | None = None) -> Report:
    """Run the chaos test. Runners arrive over `arrivals` seconds and think `think` seconds
    before each answer; `limit` bounds the whole run (both grow with the runners by default).
    """
    started = time.monotonic()
    # A killed bot leaves requests half-sent; aiohttp would print each one's traceback.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    bundle = bundle or load_bundle([ROOT / "dialogs", ROOT / "locales"])
    dialog = bundle.dialog()
    chaos = Chaos(seed=seed, **(rates if rates is not None else DEFAULT_RATES))
    fake = await FakeBotAPI(chaos=chaos).start()
    bot = BotProcess(fake, workdir / "kebas.sqlite3", workdir / "bot.log")
    # The bot sends about 30 messages a second in all (Telegram's limit, kept by PTB), so a
    # crowd waits for its replies; people soon learn how long, and the runners start knowing.
    usual_wait = 2 * runners / 30
    crowd = [ChaosRunner(fake, FIRST_CHAT + number, "en" if number % 5 == 4 else "id", dialog,
                         bundle.locales["en" if number % 5 == 4 else "id"], seed, bot,
                         usual_wait) for number in range(runners)]
    planned = sum(len(planned_answers(dialog, seed, r.chat_id)) for r in crowd) or 1
    deadline = started + (limit or 300 + 3 * runners)
    arrivals = max(3.0, 0.25 * runners) if arrivals is None else arrivals
    done = asyncio.Event()

    async def arrive_and_walk(runner: ChaosRunner) -> Walk:
        await asyncio.sleep(runner.habits.uniform(0, arrivals))
        return await runner.run(think, deadline)

    await bot.start()
    killing = asyncio.create_task(kill_at_random(
        bot, kills, lambda: sum(len(r.walk.acknowledged) for r in crowd) / planned, seed, done))
    walking = asyncio.ensure_future(asyncio.gather(*(arrive_and_walk(r) for r in crowd)))
    try:
        await asyncio.wait([walking, killing], return_when=asyncio.FIRST_COMPLETED)
        if killing.done():  # it ends early only when the bot would not start again
            walking.cancel()
            killing.result()
        walks = walking.result()
        done.set()
        await killing
        stopped = await bot.stop()
    finally:
        done.set()
        killing.cancel()
        await bot.stop()
        await fake.stop()
    for runner in crowd:
        runner.confirmed_by_toast()
    report = Report(runners, kills=bot.kills, faults=chaos.summary())
    if bot.kills < kills:
        report.problems.append(f"only {bot.kills} of {kills} kills came before runners finished")
    if bot.crashes or stopped != 0:
        report.problems.append(f"kebas run exited by itself {bot.crashes}x, and with {stopped} "
                               f"on SIGTERM; see {bot.log}")
    check(bot.db, walks, update_chats(fake), report)
    report.seconds = time.monotonic() - started
    return report
