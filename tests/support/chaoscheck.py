"""What a chaos run did to the database: each runner's walk (`Walk`) compared with what was
stored (`check`), counted and named in a `Report`."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.fakebotapi import FakeBotAPI


@dataclass
class Walk:
    """What one runner did and saw: the evidence `check` compares the database with."""

    chat_id: int
    chosen: dict[str, Any] = field(default_factory=dict)  # node -> answer given, in order
    acknowledged: set[str] = field(default_factory=set)   # nodes the bot confirmed
    presses: list[tuple[str, str]] = field(default_factory=list)  # (callback id, node)
    saw_outcome: bool = False
    saw_disclaimer: bool = False  # the result came whole, up to its disclaimer
    stuck: int = 0    # times the bot left it without a reply and it had to type /start
    where: str = ""   # the last thing it looked at, for the report


@dataclass
class Report:
    """What a run found: the counts of its summary line, and each problem by name."""

    runners: int
    kills: int = 0
    acknowledged: int = 0
    lost: int = 0
    doubled: int = 0
    crossed: int = 0
    finished: int = 0
    stuck: int = 0
    faults: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.finished == self.runners

    def summary(self) -> str:
        return (f"chaos: {self.runners} runners, {self.kills} kills, {self.acknowledged} answers "
                f"acknowledged, {self.lost} lost, {self.doubled} doubled, {self.crossed} crossed,"
                f" {self.finished}/{self.runners} finished, {self.stuck} stuck, faults: "
                f"{self.faults}")


def check(db: Path, walks: list[Walk], update_chats: dict[int, int], report: Report, *,
          before: Callable[[str], bool] = lambda _chat_key: False) -> Report:
    """Compare the database with what runners saw; count and name every discrepancy.

    (a) an acknowledged answer missing from the runner's session is lost; (b) an answer stored
    twice for one question (the dialog never asks one twice), or an update recorded as
    processed twice, is doubled; (d) a stored answer the runner did not give, or an update
    recorded for another chat, is crossed; (c) a runner is finished when its session is and it
    saw the whole result. `update_chats`: update id -> chat id, from the fake's log.
    `before` tells the chats the database held before the run (the benchmark's past
    sessions): theirs are left alone.
    """
    with contextlib.closing(sqlite3.connect(db)) as connection:
        sessions = connection.execute(
            "SELECT chat_key, id, status FROM sessions ORDER BY id").fetchall()
        answers = connection.execute(
            "SELECT session_id, node, value FROM answers WHERE action = 'answer' ORDER BY id"
        ).fetchall()
        processed = connection.execute(
            "SELECT update_id, chat_key FROM processed_updates").fetchall()
        unhandled = connection.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]
    by_chat: dict[str, list[tuple[int, str]]] = {}
    for chat_key, session_id, status in sessions:
        by_chat.setdefault(chat_key, []).append((session_id, status))
    stored: dict[int, list[tuple[str, Any]]] = {}
    for session_id, node, value in answers:
        stored.setdefault(session_id, []).append((node, json.loads(value)))
    problems = report.problems
    for walk in walks:
        key = f"tg:{walk.chat_id}"
        own = by_chat.pop(key, [])
        if len(own) != 1:
            problems.append(f"{key}: {len(own)} sessions, expected 1")
        rows = [row for session_id, _ in own for row in stored.pop(session_id, [])]
        for node, value in walk.chosen.items():
            count = rows.count((node, value))
            if count == 0 and node in walk.acknowledged:
                report.lost += 1
                problems.append(f"{key}: lost {node}={value!r}")
        for node, times in Counter(node for node, _ in rows).items():
            if times > 1:
                report.doubled += times - 1
                problems.append(f"{key}: {node} stored {times} times")
        for node, value in rows:
            if walk.chosen.get(node, object()) != value:
                report.crossed += 1
                problems.append(f"{key}: {node}={value!r} stored, runner gave "
                                f"{walk.chosen.get(node, 'nothing')!r}")
        if walk.saw_outcome and walk.saw_disclaimer and own and own[-1][1] == "finished":
            report.finished += 1
        elif walk.saw_outcome and own and own[-1][1] == "finished":
            problems.append(f"{key}: finished, but the result came without its disclaimer")
        else:
            problems.append(f"{key}: not finished (session {own[-1][1] if own else 'none'}, "
                            f"runner at {walk.where})")
        report.acknowledged += len(walk.acknowledged)
        report.stuck += bool(walk.stuck)
        if walk.stuck:
            problems.append(f"{key}: no reply for a long while, typed /start {walk.stuck}x")
    for key, foreign in by_chat.items():
        if before(key):
            continue
        for session_id, _ in foreign:
            rows = stored.pop(session_id, [])
            report.crossed += len(rows)
            problems.extend(f"{key}: {node}={value!r} in a session of no runner"
                            for node, value in rows)
    for update_id, chat_key in processed:
        if before(chat_key):
            continue
        if f"tg:{update_chats.get(update_id)}" != chat_key:
            report.crossed += 1
            problems.append(f"update {update_id} recorded for {chat_key}, sent by "
                            f"tg:{update_chats.get(update_id)}")
    if unhandled:
        problems.append(f"{unhandled} updates left unhandled in the inbox")
    return report


def update_chats(fake: FakeBotAPI) -> dict[int, int]:
    """Which chat sent each update, from the fake's log."""
    return {update_id: (update.get("message") or update["callback_query"]["message"])
            ["chat"]["id"] for update_id, update in fake.updates_sent().items()}
