"""The follow-up check-ins in `kebas stats`: how many runners asked to be asked again, what
became of those asks, and how the runners said they were when asked.

Counts only: a `FollowupRow` carries no chat, and nothing here names a runner or shows what
one typed; the answers are the check-in's own option ids and texts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.core.i18n import Locale
from bot.core.model import ChoiceQuestion, Dialog, TriageLevel
from bot.storage import CANCELLED, PENDING, SENT, FollowupRow
from bot.tools.stats import Count, Usage, percent, since_moment

DEFINITIONS = (
    "follow-ups: check-ins runners asked for under a result, counted by when they asked "
    "(on or after --since)",
    "uptake = follow-ups asked for / finished sessions at a level the dialog follows up",
    "pending: not sent yet; sent: the check-in was put to the runner; cancelled, by reason: "
    "cancel (/batal), erased (/hapus), blocked (the bot was blocked), consent (consent "
    "withdrawn or out of date), retention, superseded (a new questionnaire since), "
    "no_checkin (the check-in dialog was not served)",
    "check-in outcomes: answered check-ins by the runner's first answer; escalated = the "
    "check-in's triage is above the level of the result it followed up",
)


@dataclass(frozen=True)
class Outcome:
    """The answered check-ins whose first answer was `answer`."""

    answer: str
    label: str          # the option's text, as the runner read it (its id without one)
    checkins: int
    escalated: int


@dataclass(frozen=True)
class FollowupStats:
    levels: tuple[str, ...]       # the levels the dialog follows up
    eligible: int                 # finished sessions in the window at one of them
    asked: int
    pending: int
    sent: int
    cancelled: tuple[Count, ...]  # by reason, most first
    outcomes: tuple[Outcome, ...]

    definitions = DEFINITIONS

    @property
    def uptake(self) -> float | None:
        return self.asked / self.eligible if self.eligible else None

    @property
    def answered(self) -> int:
        return sum(outcome.checkins for outcome in self.outcomes)

    @property
    def escalated(self) -> int:
        return sum(outcome.escalated for outcome in self.outcomes)

    def summary(self) -> list[tuple[str, str]]:
        """(name, value) rows for the terminal's and the page's table."""
        return [
            (f"finished at {' or '.join(self.levels)}", str(self.eligible)),
            ("follow-ups asked for", str(self.asked)),
            ("uptake", percent(self.uptake)),
            ("pending", str(self.pending)),
            ("sent", str(self.sent)),
            *((f"cancelled ({count.id})", str(count.count)) for count in self.cancelled),
            ("check-ins answered", str(self.answered)),
            ("escalated above the followed level", str(self.escalated)),
        ]


def followup_stats(rows: Iterable[FollowupRow], numbers: Usage, dialog: Dialog,
                   checkin: Dialog | None, locale: Locale | None = None
                   ) -> FollowupStats | None:
    """The numbers for follow-ups asked for on or after `numbers.since`, beside the finished
    sessions `numbers` counted; None when `dialog` follows nothing up. The check-in dialog
    (and the locale) order and name the answers."""
    if dialog.followup is None:
        return None
    levels = tuple(dialog.followup.days)
    if numbers.since is not None:
        rows = [row for row in rows if row.created_at >= since_moment(numbers.since)]
    rows = list(rows)
    status = Counter(row.status for row in rows)
    answered = [row for row in rows if row.checkin_answer is not None]
    given = Counter(str(row.checkin_answer) for row in answered)
    raised = Counter(str(row.checkin_answer) for row in answered if _escalated(row))
    labels = _answer_labels(checkin, locale)
    order = list(labels) + sorted(set(given) - set(labels), key=lambda answer: -given[answer])
    reasons = Counter(row.cancelled or "unknown" for row in rows if row.status == CANCELLED)
    return FollowupStats(
        levels=levels,
        eligible=sum(count.count for count in numbers.triage if count.id in levels),
        asked=len(rows), pending=status[PENDING], sent=status[SENT],
        cancelled=tuple(Count(reason, reason, number) for reason, number
                        in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        outcomes=tuple(Outcome(answer, labels.get(answer, answer), given[answer],
                               raised[answer]) for answer in order))


def _escalated(row: FollowupRow) -> bool:
    """Whether the check-in ended more urgent than the result it followed up."""
    try:
        return row.checkin_triage is not None and \
            TriageLevel(row.checkin_triage).rank > TriageLevel(row.level).rank
    except ValueError:  # a level this Kebas does not know
        return False


def _answer_labels(checkin: Dialog | None, locale: Locale | None) -> dict[str, str]:
    """The check-in's first question's options, in its order: id -> text."""
    first = next((node for node in checkin.nodes if isinstance(node, ChoiceQuestion)),
                 None) if checkin is not None else None
    if first is None:
        return {}
    return {option.id: locale.text(option.text) if locale is not None else option.id
            for option in first.options}


# --- terminal ---------------------------------------------------------------------------


def followup_tables(numbers: FollowupStats) -> list[Any]:
    """The follow-ups as rich tables and their definitions, for `kebas stats` to print."""
    from rich.markup import escape
    from rich.table import Table

    summary = Table(title="Follow-up check-ins", show_header=False, title_justify="left")
    summary.add_column("what")
    summary.add_column("number", justify="right")
    for name, value in numbers.summary():
        summary.add_row(escape(name), escape(value))
    shown: list[Any] = [summary]
    if numbers.outcomes:
        outcomes = Table(title="Check-in outcomes (by the first answer)", title_justify="left")
        outcomes.add_column("answer", no_wrap=True)
        outcomes.add_column("text", overflow="ellipsis", no_wrap=True, max_width=32)
        outcomes.add_column("check-ins", justify="right")
        outcomes.add_column("escalated", justify="right")
        for outcome in numbers.outcomes:
            outcomes.add_row(escape(outcome.answer), escape(outcome.label),
                             str(outcome.checkins), str(outcome.escalated))
        shown.append(outcomes)
    shown.append("\n".join(f"[dim]{escape(line)}[/dim]" for line in DEFINITIONS))
    return shown
