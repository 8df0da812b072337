"""When a follow-up check-in may be sent: a number of days after the result, never in the
night hours of the runner's time zone (Kebas serves Indonesia: Asia/Jakarta by default).

Pure: the moments come in, the moments go out, all aware (UTC or any zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.i18n import Locale
from bot.core.model import Dialog

QUIET_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")

# A claim's life: far longer than a send, even one held by flood waits; a claim that runs
# out (its process died) is taken again, so the check-in is sent late, never lost.
CLAIM_SECONDS = 600
DATE_FORMAT = "%Y-%m-%d %H:%M %Z"  # 2026-05-12 14:05 WIB: for runners and doctors alike


@dataclass(frozen=True)
class QuietHours:
    """The hours, in `zone`, during which no check-in is sent (from `start` up to, not
    including, `end`; across midnight when `end` comes before `start`). Without `start`
    there are none."""

    zone: ZoneInfo
    start: time | None = None
    end: time | None = None

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` (aware) falls in the quiet hours."""
        if self.start is None or self.end is None:
            return False
        local = moment.astimezone(self.zone).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself outside the quiet hours, else when they end (in `zone`)."""
        if not self.contains(moment) or self.end is None:
            return moment
        local = moment.astimezone(self.zone)
        opens = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if opens <= local:
            opens = datetime.combine(local.date() + timedelta(days=1), self.end,
                                     tzinfo=self.zone)
        return opens.astimezone(moment.tzinfo)


def quiet_hours(text: str, zone: str) -> QuietHours:
    """Quiet hours written as HH:MM-HH:MM (empty: none) in the IANA zone `zone`.
    ValueError says what is wrong (ZoneInfoNotFoundError is a KeyError: reraised as one)."""
    try:
        where = ZoneInfo(zone)
    except (KeyError, ValueError):
        raise ValueError(f"{zone!r} is no IANA time zone (e.g. Asia/Jakarta, "
                         f"Asia/Makassar, Asia/Jayapura)") from None
    if not text.strip():
        return QuietHours(where)
    found = QUIET_PATTERN.match(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM (e.g. 21:00-07:00; empty for none)")
    start = time(int(found[1]), int(found[2]))
    end = time(int(found[3]), int(found[4]))
    if start == end:
        raise ValueError(f"{text!r} starts and ends at the same time; leave it empty for "
                         f"no quiet hours")
    return QuietHours(where, start, end)


def due_time(now: datetime, days: int, quiet: QuietHours) -> datetime:
    """When a check-in asked for at `now`, `days` later, is due: then, or when the quiet
    hours that moment falls in end."""
    return quiet.next_open(now + timedelta(days=days))


def told_date(moment: datetime, zone: ZoneInfo) -> str:
    """A date and time as a runner is told it: in the runners' zone, named by it
    (2026-05-15 07:00 WIB)."""
    return moment.astimezone(zone).strftime(DATE_FORMAT)


def offer_days(dialog: Dialog, level: str) -> int | None:
    """After how many days `dialog` offers to ask again after a result at `level` (None:
    it offers none then)."""
    if dialog.followup is None:
        return None
    return next((days for at, days in dialog.followup.days.items() if at == level), None)


def followed_text(locale: Locale, level: str) -> str:
    """The line before a check-in that names the result it follows up, in the runner's words
    (the check-in dialog itself cannot know which result that was)."""
    return locale.text("checkin.followed", level=locale.text(f"triage.{level}.title"))
