"""Reminders and closing of scheduled check-ins.

One reminder if unanswered, none after an answer, missed at the cut-off or when the next
check-in opens, excused while paused or on a break.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from bot.core import MentorBot
from bot.model import Message
from bot.services.breaks import add_break
from bot.services.reminders import CloseOutcome, ReminderOutcome
from storage.tables import Person
from tests.conftest import Chat
from tests.scheduling.world import (
    add_person,
    alerts,
    assign_mentors,
    checkins,
    outbox,
    schedule,
    set_watermark,
    tick,
    utc,
)


def person_id(core: MentorBot, email: str) -> int:
    with core.db.session() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        assert person.id is not None
        return person.id


def test_one_reminder_if_unanswered_and_none_after_an_answer(core: MentorBot, sam: Chat) -> None:
    """Sam answers the 09:00 check-in and gets no reminder; Alex doesn't and gets exactly one."""
    db = core.db
    sam_id, alex_id = person_id(core, "sam@example.edu"), person_id(core, "alex@example.edu")
    set_watermark(db, utc(2026, 11, 24, 8, 0))  # Tuesday; the demo schedule is mon-fri 09:00
    tick(db, utc(2026, 11, 24, 9, 0))  # London 09:00: Sam's check-in
    [prompt_row] = outbox(db, "checkin", sam_id)
    prompt = Message.from_json(prompt_row.payload)
    sam.press(next(c for c in prompt.choices if c.label.endswith(" 4")))
    tick(db, utc(2026, 11, 24, 11, 0))  # Sam's reminder time
    tick(db, utc(2026, 11, 24, 14, 0))  # New York 09:00: Alex's check-in
    tick(db, utc(2026, 11, 24, 16, 0))  # Alex's reminder time
    tick(db, utc(2026, 11, 24, 17, 0))  # nothing more
    assert outbox(db, "reminder", sam_id) == []
    [reminder] = outbox(db, "reminder", alex_id)
    assert reminder.dedupe_key == f"reminder:{checkins(db, alex_id)[0].id}"
    assert "gentle reminder" in Message.from_json(reminder.payload).text
    assert checkins(db, alex_id)[0].reminder_sent_at == utc(2026, 11, 24, 16, 0)


def test_no_reminder_when_the_schedule_says_none(db) -> None:
    """--reminder-minutes 0: the check-in opens, no reminder ever follows."""
    schedule(db, days="*", local_time="09:00", reminder_minutes=0)
    student = add_person(db, "kim@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 9, 0))
    tick(db, utc(2026, 11, 23, 20, 0))
    assert checkins(db, student)[0].remind_at is None
    assert outbox(db, "reminder") == []


def test_unanswered_checkin_is_missed_at_the_cut_off(db) -> None:
    """24 hours after it was due an unanswered check-in closes as missed."""
    schedule(db, days="mon", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 9, 0))
    tick(db, utc(2026, 11, 24, 8, 59))
    assert checkins(db, student)[0].status == "open"
    report = tick(db, utc(2026, 11, 24, 9, 0))
    [checkin] = checkins(db, student)
    assert (checkin.status, checkin.closed_reason) == ("missed", "not answered within 24 hours")
    assert report.outcome("close_expired_checkins", CloseOutcome).missed == 1


def test_the_next_checkin_closes_the_previous_one_as_missed(db) -> None:
    """With a 48-hour cut-off, the next day's check-in closes yesterday's as missed."""
    from bot.config import CoreSettings, SchedulingRules

    settings = CoreSettings(scheduling=SchedulingRules(checkin_cutoff_hours=48))
    schedule(db, days="*", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 9, 0), settings)
    tick(db, utc(2026, 11, 24, 9, 0), settings)
    first, second = checkins(db, student)
    assert (first.status, first.closed_reason) == (
        "missed",
        "not answered before the next check-in",
    )
    assert second.status == "open"


def test_a_reminder_still_queued_is_withdrawn_when_its_checkin_closes(db) -> None:
    """A reminder deferred by quiet hours is not delivered for a check-in already missed."""
    schedule(db, days="*", local_time="20:00", reminder_minutes=90)
    student = add_person(db, "kim@example.edu", "UTC")  # quiet 21:00-08:00
    set_watermark(db, utc(2026, 11, 23, 19, 0))
    tick(db, utc(2026, 11, 23, 20, 0))
    tick(db, utc(2026, 11, 23, 21, 30))  # reminder queued for 08:00 tomorrow
    [reminder] = outbox(db, "reminder")
    assert reminder.next_attempt_at == utc(2026, 11, 24, 8, 0)
    with db.session() as session:  # a shorter cut-off, as if the admin changed it
        from storage.tables import Checkin

        row = session.get(Checkin, checkins(db, student)[0].id)
        assert row is not None
        row.closes_at = utc(2026, 11, 24, 7, 0)
        session.add(row)
    tick(db, utc(2026, 11, 24, 7, 0))
    assert [r.status for r in outbox(db, "reminder")] == ["skipped"]


def test_three_misses_in_a_row_alert_the_mentor(db) -> None:
    """Consecutive misses feed the core's missed-check-ins rule: one alert on the third."""
    schedule(db, days="*", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC")
    mentor = add_person(db, "mentor@example.edu", "UTC", role="mentor")
    assign_mentors(db, student, mentor)
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    for day in range(23, 27):
        tick(db, utc(2026, 11, day, 9, 0))
    assert [c.status for c in checkins(db, student)] == ["missed", "missed", "missed", "open"]
    [alert] = alerts(db)
    assert (alert.kind, alert.student_id, alert.mentor_id) == ("missed", student, mentor)
    assert "3 check-ins missed in a row" in alert.reason


def test_pause_during_an_open_checkin_skips_the_reminder_and_excuses_it(db) -> None:
    """Paused after a check-in opened: no reminder, and it closes as excused, not missed."""
    schedule(db, days="mon", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC")
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    tick(db, utc(2026, 11, 23, 9, 0))
    with db.session() as session:
        person = session.get(Person, student)
        assert person is not None
        person.paused_until = date(2026, 12, 1)
        session.add(person)
    report = tick(db, utc(2026, 11, 23, 11, 0))
    assert (
        report.outcome("send_due_reminders", ReminderOutcome).skipped_away == 1
        and outbox(db, "reminder") == []
    )
    tick(db, utc(2026, 11, 24, 9, 0))
    [checkin] = checkins(db, student)
    assert (checkin.status, checkin.closed_reason) == ("excused", "paused until 2026-12-01")


def test_misses_during_a_break_do_not_count(db) -> None:
    """A check-in closing during a break is excused and does not add to the run of misses."""
    schedule(db, days="*", local_time="09:00")
    student = add_person(db, "kim@example.edu", "UTC")
    mentor = add_person(db, "mentor@example.edu", "UTC", role="mentor")
    assign_mentors(db, student, mentor)
    with db.session() as session:
        add_break(
            session, date(2026, 11, 25), date(2026, 11, 26), "Reading week", date(2026, 11, 1)
        )
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    for day in range(23, 29):
        tick(db, utc(2026, 11, day, 9, 0))
    statuses = [(c.occurrence_key.split(":")[1], c.status) for c in checkins(db, student)]
    assert statuses == [
        ("2026-11-23", "missed"),
        ("2026-11-24", "excused"),
        ("2026-11-27", "missed"),
        ("2026-11-28", "open"),
    ]
    assert alerts(db) == []  # only two real misses in a row
