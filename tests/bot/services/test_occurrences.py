"""Occurrences in local time: daylight-saving changes, far-apart zones, every-N-days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.occurrences import local_instant, occurrences_between
from bot.services.schedules import ScheduleRule, parse_days

DAILY = parse_days("*")


def rule(at: str, days: str = "*") -> ScheduleRule:
    """A schedule rule at HH:MM on these days."""
    hours, minutes = at.split(":")
    return ScheduleRule(days=parse_days(days), local_time=time(int(hours), int(minutes)))


def fired(at: str, tz: str, first: date, last: date, days: str = "*") -> dict[date, datetime]:
    """Local date -> UTC instant of every occurrence between two local dates."""
    start = datetime.combine(first, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    found = occurrences_between(
        rule(at, days), tz, start - timedelta(microseconds=1), end - timedelta(microseconds=1)
    )
    dates = [o.local_date for o in found]
    assert len(dates) == len(set(dates)), "a local date fired twice"
    return {o.local_date: o.at for o in found}


def test_london_spring_forward_keeps_nine_oclock_local() -> None:
    """Across 29 March 2026 09:00 London is 09:00 UTC, then 08:00 UTC: once each day."""
    got = fired("09:00", "Europe/London", date(2026, 3, 28), date(2026, 3, 30))
    assert got == {
        date(2026, 3, 28): datetime(2026, 3, 28, 9, tzinfo=UTC),
        date(2026, 3, 29): datetime(2026, 3, 29, 8, tzinfo=UTC),
        date(2026, 3, 30): datetime(2026, 3, 30, 8, tzinfo=UTC),
    }


def test_london_fall_back_keeps_nine_oclock_local() -> None:
    """Across 25 October 2026 09:00 London moves from 08:00 UTC to 09:00 UTC, once a day."""
    got = fired("09:00", "Europe/London", date(2026, 10, 24), date(2026, 10, 26))
    assert [at.hour for at in got.values()] == [8, 9, 9]


def test_new_york_0230_on_spring_forward_day_fires_once() -> None:
    """02:30 does not exist in New York on 8 March 2026: it fires once, at 03:30 EDT."""
    got = fired("02:30", "America/New_York", date(2026, 3, 7), date(2026, 3, 9))
    assert got == {
        date(2026, 3, 7): datetime(2026, 3, 7, 7, 30, tzinfo=UTC),  # 02:30 EST
        date(2026, 3, 8): datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # 03:30 EDT
        date(2026, 3, 9): datetime(2026, 3, 9, 6, 30, tzinfo=UTC),  # 02:30 EDT
    }


def test_london_time_in_the_gap_fires_once() -> None:
    """01:30 does not exist in London on 29 March 2026: it fires once, at 02:30 BST."""
    got = fired("01:30", "Europe/London", date(2026, 3, 29), date(2026, 3, 29))
    assert got == {date(2026, 3, 29): datetime(2026, 3, 29, 1, 30, tzinfo=UTC)}


def test_new_york_repeated_hour_on_fall_back_fires_once_at_the_first() -> None:
    """01:30 happens twice in New York on 1 November 2026: it fires at the first (EDT)."""
    got = fired("01:30", "America/New_York", date(2026, 11, 1), date(2026, 11, 1))
    assert got == {date(2026, 11, 1): datetime(2026, 11, 1, 5, 30, tzinfo=UTC)}


def test_london_repeated_hour_fires_once() -> None:
    """01:30 happens twice in London on 25 October 2026: one occurrence, at 01:30 BST."""
    got = fired("01:30", "Europe/London", date(2026, 10, 25), date(2026, 10, 25))
    assert got == {date(2026, 10, 25): datetime(2026, 10, 25, 0, 30, tzinfo=UTC)}


def test_weekdays_are_local_weekdays_in_far_apart_zones() -> None:
    """Mon-fri 09:00 in Auckland (UTC+13) fires on Sunday UTC; Honolulu (UTC-10) on Monday."""
    auckland = fired("09:00", "Pacific/Auckland", date(2026, 11, 21), date(2026, 11, 23), "mon-fri")
    honolulu = fired("09:00", "Pacific/Honolulu", date(2026, 11, 21), date(2026, 11, 23), "mon-fri")
    assert auckland == {date(2026, 11, 23): datetime(2026, 11, 22, 20, tzinfo=UTC)}
    assert honolulu == {date(2026, 11, 23): datetime(2026, 11, 23, 19, tzinfo=UTC)}


def test_window_is_open_at_start_and_closed_at_end() -> None:
    """An occurrence exactly at the window's end is in it; at its start it is not (no repeats)."""
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert occurrences_between(rule("09:00"), "UTC", at - timedelta(minutes=1), at)
    assert not occurrences_between(rule("09:00"), "UTC", at, at + timedelta(minutes=1))


def test_local_instant_in_a_gap_moves_forward_by_the_gap() -> None:
    """The instant of a skipped wall time lies after the transition, never before it."""
    tz = ZoneInfo("America/New_York")
    instant = local_instant(date(2026, 3, 8), time(2, 30), tz)
    assert instant.astimezone(tz).strftime("%H:%M %Z") == "03:30 EDT"


ZONES = [
    "Europe/London",
    "America/New_York",
    "Pacific/Auckland",
    "Pacific/Honolulu",
    "Pacific/Tongatapu",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/St_Johns",
]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    start_day=st.integers(0, 364),
)
def test_a_daily_schedule_fires_exactly_once_every_local_day(
    zone: str, hour: int, minute: int, start_day: int
) -> None:
    """Any 40 days in any zone: once per local date, in order, at the wall time if it exists."""
    first = date(2026, 1, 1) + timedelta(days=start_day)
    last = first + timedelta(days=39)
    at = f"{hour:02d}:{minute:02d}"
    got = fired(at, zone, first, last)
    assert sorted(got) == [first + timedelta(days=i) for i in range(40)]
    instants = list(got.values())
    assert instants == sorted(instants)
    tz = ZoneInfo(zone)
    for local_date, instant in got.items():
        local = instant.astimezone(tz)
        naive = datetime.combine(local_date, time(hour, minute))
        exists = (
            naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive
        )
        if exists:
            assert (local.date(), local.hour, local.minute) == (local_date, hour, minute)
        else:
            assert local.date() == local_date and local.time() > time(hour, minute)
