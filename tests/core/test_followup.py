"""Quiet hours: no check-in is sent between 21:00 and 07:00 in the runners' time zone (WIB,
UTC+7 all year), and one due then waits for 07:00 there."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from bot.core.followup import QuietHours, due_time, quiet_hours

WIB = timezone(timedelta(hours=7))
NIGHT = quiet_hours("21:00-07:00", "Asia/Jakarta")


def wib(hour: int, minute: int, day: int = 12) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=WIB)


@pytest.mark.parametrize(("hour", "minute", "quiet"), [
    (20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (6, 59, True), (7, 0, False),
    (12, 0, False)])
def test_quiet_from_21_00_up_to_07_00_wib(hour, minute, quiet):
    assert NIGHT.contains(wib(hour, minute)) is quiet


def test_the_zone_is_asia_jakarta_whatever_zone_the_moment_comes_in():
    # 14:00 UTC is 21:00 WIB; 23:59 UTC is 06:59 WIB; 00:00 UTC is 07:00 WIB
    assert not NIGHT.contains(datetime(2026, 5, 12, 13, 59, tzinfo=UTC))
    assert NIGHT.contains(datetime(2026, 5, 12, 14, 0, tzinfo=UTC))
    assert NIGHT.contains(datetime(2026, 5, 12, 23, 59, tzinfo=UTC))
    assert not NIGHT.contains(datetime(2026, 5, 13, 0, 0, tzinfo=UTC))
    papua = quiet_hours("21:00-07:00", "Asia/Jayapura")  # WIT, UTC+9
    assert papua.contains(datetime(2026, 5, 12, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(("moment", "opens"), [
    (wib(20, 59), wib(20, 59)),            # open: itself
    (wib(21, 0), wib(7, 0, day=13)),       # evening: next morning
    (wib(23, 30), wib(7, 0, day=13)),
    (wib(0, 10, day=13), wib(7, 0, day=13)),  # after midnight: the same morning
    (wib(6, 59, day=13), wib(7, 0, day=13)),
    (wib(7, 0, day=13), wib(7, 0, day=13)),
])
def test_next_open_is_07_00_wib_after_a_quiet_moment(moment, opens):
    assert NIGHT.next_open(moment) == opens
    assert NIGHT.next_open(moment.astimezone(UTC)) == opens


def test_a_check_in_due_in_the_night_is_due_at_07_00_and_one_by_day_on_time():
    assert due_time(wib(22, 0), 3, NIGHT) == wib(7, 0, day=16)
    assert due_time(wib(14, 5), 3, NIGHT) == wib(14, 5, day=15)


def test_without_quiet_hours_every_moment_is_open():
    none = quiet_hours("", "Asia/Jakarta")
    assert not none.contains(wib(23, 0))
    assert none.next_open(wib(23, 0)) == wib(23, 0)


def test_quiet_hours_within_one_day():
    lunch = quiet_hours("12:00-13:30", "Asia/Jakarta")
    assert lunch.contains(wib(12, 0)) and lunch.contains(wib(13, 29))
    assert not lunch.contains(wib(13, 30)) and not lunch.contains(wib(11, 59))
    assert lunch.next_open(wib(12, 15)) == wib(13, 30)
    assert lunch == QuietHours(lunch.zone, time(12), time(13, 30))


@pytest.mark.parametrize(("hours", "zone", "says"), [
    ("21-07", "Asia/Jakarta", "HH:MM-HH:MM"),
    ("24:00-07:00", "Asia/Jakarta", "HH:MM-HH:MM"),
    ("07:00-07:00", "Asia/Jakarta", "same time"),
    ("21:00-07:00", "Asia/Bandung", "no IANA time zone"),
    ("21:00-07:00", "../etc", "no IANA time zone"),
])
def test_unreadable_quiet_hours_or_zones_say_what_to_write(hours, zone, says):
    with pytest.raises(ValueError, match=says):
        quiet_hours(hours, zone)


@pytest.mark.parametrize(("name", "value", "says"), [
    ("KEBAS_QUIET_HOURS", "9pm-7am", "KEBAS_QUIET_HOURS is not valid: '9pm-7am' is not HH:MM"),
    ("KEBAS_TIMEZONE", "WIB", "KEBAS_TIMEZONE is not valid: 'WIB' is no IANA time zone"),
    ("KEBAS_FOLLOWUP_POLL_SECONDS", "0", "KEBAS_FOLLOWUP_POLL_SECONDS is not valid"),
])
def test_the_operator_is_told_which_setting_is_wrong_and_what_to_write(monkeypatch, name,
                                                                       value, says):
    from bot.settings import SettingsProblem, read_settings
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsProblem, match=says):
        read_settings(None)


def test_by_default_quiet_hours_are_21_to_7_in_jakarta_and_empty_means_none(monkeypatch):
    from bot.settings import read_settings
    assert read_settings(None).quiet_hours() == NIGHT
    assert read_settings(None).kebas_followup_poll_seconds == 60
    monkeypatch.setenv("KEBAS_QUIET_HOURS", "")
    assert not read_settings(None).quiet_hours().contains(wib(23, 0))
