"""Schedules: parsing what admins type, validation, storage, and the /schedule chat command."""

from __future__ import annotations

from datetime import date, time

import pytest

from bot.errors import UserError
from bot.services.schedules import (
    ScheduleRule,
    ScheduleSpec,
    add_schedule,
    describe,
    format_days,
    parse_days,
    parse_local_time,
    parse_questions,
)
from tests.conftest import Chat, text_of
from tests.scheduling.world import EPOCH, add_group, add_person, schedules


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("mon,wed,fri", {0, 2, 4}),
        ("*", set(range(7))),
        ("sat-sun", {5, 6}),
        ("fri-mon", {4, 5, 6, 0}),
        ("1-5", {0, 1, 2, 3, 4}),
        ("0,7", {6}),
        ("Monday, Thursday", {0, 3}),
    ],
)
def test_days_parse_like_cron(spec: str, days: set[int]) -> None:
    """Names, ranges (also wrapping), lists, cron numbers and * all parse to weekdays."""
    assert parse_days(spec) == frozenset(days)


@pytest.mark.parametrize("spec", ["funday", "mon-", "8", "mon,,fri", ""])
def test_bad_days_are_a_user_error(spec: str) -> None:
    """Anything that is not a day is refused with a hint."""
    with pytest.raises(UserError):
        parse_days(spec)


def test_days_are_stored_in_canonical_form() -> None:
    """Ranges print as ranges, everything as *, others as lists."""
    assert format_days({0, 1, 2, 3, 4}) == "mon-fri"
    assert format_days(range(7)) == "*"
    assert format_days({0, 2}) == "mon,wed"


@pytest.mark.parametrize("value", ["24:00", "09:60", "9am", "0900", "-1:00", ""])
def test_impossible_times_are_refused(value: str) -> None:
    """A time of day is HH:MM on a 24-hour clock."""
    with pytest.raises(UserError):
        parse_local_time(value)


def test_questions_must_include_mood_and_be_known() -> None:
    """The mood question is required; unknown questions are named in the error."""
    assert parse_questions("goal, mood") == "mood,goal"
    with pytest.raises(UserError, match="mood"):
        parse_questions("note,goal")
    with pytest.raises(UserError, match="weather"):
        parse_questions("mood,weather")


def test_every_n_days_counts_from_the_start_date() -> None:
    """Every 3 days from a Monday: Monday, Thursday, Sunday, ... and never before the start."""
    rule = ScheduleRule(
        days=parse_days("*"), local_time=time(9), every_n_days=3, start_date=date(2026, 11, 23)
    )
    fired = [d for d in range(20, 30) if rule.occurs_on(date(2026, 11, d))]
    assert fired == [23, 26, 29]


def test_end_date_is_the_last_day() -> None:
    """The end date itself still fires; the day after does not."""
    rule = ScheduleRule(days=parse_days("*"), local_time=time(9), end_date=date(2026, 11, 24))
    assert rule.occurs_on(date(2026, 11, 24)) and not rule.occurs_on(date(2026, 11, 25))


def test_add_schedule_stores_a_valid_schedule(db) -> None:
    """A group schedule is stored normalised and described in one line."""
    student = add_person(db, "kim@example.edu")
    add_group(db, "Year 1", [student])
    with db.session() as session:
        stored = add_schedule(
            session,
            ScheduleSpec(
                name="  Weekly  ",
                days="Mon",
                local_time="7:05",
                group="Year 1",
                every_n_days=None,
                reminder_minutes=0,
                questions="mood",
                end="2027-06-30",
            ),
            EPOCH,
            EPOCH.date(),
        )
        line = describe(stored)
    [row] = schedules(db)
    assert (row.name, row.days, row.local_time, row.target, row.target_ref) == (
        "Weekly",
        "mon",
        "07:05",
        "group",
        "Year 1",
    )
    assert "no reminder" in line and "until 2027-06-30" in line and "group Year 1" in line


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ScheduleSpec(name="x", local_time="25:00"), "isn't a time"),
        (ScheduleSpec(name="x", end="2025-12-31"), "in the past"),
        (ScheduleSpec(name="x", end="2026-13-01"), "isn't a date"),
        (ScheduleSpec(name="x", group="Nobody"), "no group"),
        (ScheduleSpec(name="x", person="ghost@example.edu"), "no enrolled student"),
        (ScheduleSpec(name="x", timezone="Mars/Olympus_Mons"), "time zone"),
        (ScheduleSpec(name="x", reminder_minutes=5000), "reminder"),
        (ScheduleSpec(name="x", every_n_days=0), "every-n-days"),
        (ScheduleSpec(name=" "), "needs a name"),
        (ScheduleSpec(name="x", start="2027-02-01", end="2027-01-01"), "before the start"),
    ],
)
def test_bad_schedules_store_nothing(db, spec: ScheduleSpec, message: str) -> None:
    """Each kind of bad input is a clear UserError and leaves no schedule behind."""
    with pytest.raises(UserError, match=message), db.session() as session:
        add_schedule(session, spec, EPOCH, EPOCH.date())
    assert schedules(db) == []


def test_every_n_days_without_start_counts_from_today(db) -> None:
    """--every-n-days with no start date starts today."""
    with db.session() as session:
        stored = add_schedule(session, ScheduleSpec(name="x", every_n_days=2), EPOCH, EPOCH.date())
        assert stored.start_date == EPOCH.date()


def test_admin_manages_schedules_in_chat(avery: Chat) -> None:
    """/schedule add, list and remove work for an admin; each change is described."""
    added = text_of(avery.send("/schedule add mon,wed 08:30 group Study skills"))
    assert "Added #2" in added and "mon,wed at 08:30" in added and "group Study skills" in added
    listing = text_of(avery.send("/schedule list"))
    assert "#1 Weekday check-in" in listing and "#2" in listing
    assert "Removed schedule #2" in text_of(avery.send("/schedule remove 2"))
    assert "#2" not in text_of(avery.send("/schedule list"))


def test_chat_schedule_errors_store_nothing(avery: Chat) -> None:
    """An impossible time or an unknown group is explained; nothing is added."""
    assert "isn't a time" in text_of(avery.send("/schedule add mon-fri 9:75"))
    assert "no group" in text_of(avery.send("/schedule add mon-fri 09:00 group Chess"))
    assert "in the past" in text_of(avery.send("/schedule add mon-fri 09:00 until 2020-01-01"))
    assert [s.id for s in schedules(avery.core.db)] == [1]


@pytest.mark.parametrize("who", ["sam@example.edu", "maya@example.edu"])
def test_only_admins_may_change_schedules(core, who: str) -> None:
    """Students and mentors are refused /schedule."""
    reply = Chat(core, who).send("/schedule add * 09:00")
    assert "programme staff" in text_of(reply)
    assert len(schedules(core.db)) == 1
