"""What the review book says about a check-in dialog beyond its cards.

A check-in (`follows:`) is sent a few days after some results of the dialog it follows, when
the runner asks for it. The reviewer needs to know after which results and how many days (the
followed dialog's `followup:`), which of its questions and red flags are copies that
`kebas check` keeps equal to the originals (bot/content/followup_checks.py), and which red
flags are its own. Pure: dialogs in, plain data out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.model import Dialog, TriageLevel
from bot.tools.book_cards import Level


@dataclass(frozen=True)
class Offer:
    """One result level: after how many days the check-in is sent (None: never offered)."""

    level: Level
    days: int | None


def offers(followed: Dialog, checkin: Dialog, levels: dict[TriageLevel, Level],
           order: Sequence[TriageLevel]) -> tuple[Offer, ...]:
    """Every level in `order`, with the days the followed dialog's `followup:` gives it."""
    followup = followed.followup
    days: dict[str, int] = {}
    if followup is not None and followup.dialog == checkin.id:
        days = {str(level): count for level, count in followup.days.items()}
    return tuple(Offer(levels[level], days.get(level.value)) for level in order)


def copies(checkin: Dialog, followed: Dialog) -> frozenset[str]:
    """Ids of the check-in's nodes and red flags that are copies of the followed dialog's (the
    same id: `kebas check` holds them equal)."""
    originals = set(followed.node_by_id) | {flag.id for flag in followed.red_flags}
    return frozenset(item.id for item in [*checkin.nodes, *checkin.red_flags]
                     if item.id in originals)


def same_words(checkin: Dialog, followed: Dialog) -> dict[str, str]:
    """For each of the check-in's own red flags: the followed dialog's red flag with the same
    title and advice, if there is one (the flag it takes the screening part of)."""
    by_words = {(flag.title, flag.advice): flag.id for flag in reversed(followed.red_flags)}
    copied = copies(checkin, followed)
    own = [flag for flag in checkin.red_flags if flag.id not in copied]
    return {flag.id: by_words[(flag.title, flag.advice)] for flag in own
            if (flag.title, flag.advice) in by_words}
