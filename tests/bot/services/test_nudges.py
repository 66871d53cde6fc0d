"""Goal nudges at the student's check-in time, the due-soon nudge, and the stuck signal."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.model import Message
from storage.db import Database
from storage.tables import Goal, Person, StudentSettings
from tests.scheduling.world import (
    add_person,
    alerts,
    assign_mentors,
    outbox,
    schedule,
    set_watermark,
    tick,
    utc,
)


def add_goal(
    db: Database, person_id: int, created: datetime, due: date | None = None, title: str = "Essay"
) -> int:
    """A goal as goals.add_goal stores it: first nudge a week after creation."""
    with db.session() as session:
        goal = Goal(
            person_id=person_id,
            title=title,
            due_date=due,
            created_at=created,
            updated_at=created,
            next_nudge_at=created + timedelta(days=7),
        )
        session.add(goal)
        session.flush()
        assert goal.id is not None
        return goal.id


def goal(db: Database, goal_id: int) -> Goal:
    with db.session() as session:
        found = session.get(Goal, goal_id)
        assert found is not None
        return found


def hourly(db: Database, start: datetime, end: datetime) -> None:
    at = start
    while at <= end:
        tick(db, at)
        at += timedelta(hours=1)


def test_weekly_nudge_comes_at_the_students_checkin_time(db) -> None:
    """A goal made Monday 14:00 is nudged the next Tuesday at 09:00 Honolulu (check-in time)."""
    schedule(db, days="mon-fri", local_time="09:00")
    student = add_person(db, "hnl@example.edu", "Pacific/Honolulu")
    gid = add_goal(db, student, utc(2026, 11, 23, 14, 0))
    set_watermark(db, utc(2026, 11, 30, 0, 0))
    hourly(db, utc(2026, 11, 30, 0, 0), utc(2026, 12, 2, 0, 0))
    [nudge] = outbox(db, "nudge")
    assert nudge.dedupe_key == f"goal-nudge:{gid}:2026-11-30"
    assert nudge.next_attempt_at == utc(2026, 11, 30, 19, 0)  # 09:00 HST on Monday the 30th
    assert "Essay" in Message.from_json(nudge.payload).text
    assert goal(db, gid).next_nudge_at == utc(2026, 12, 7, 19, 0)


def test_nudge_follows_the_students_own_checkin_time(db) -> None:
    """A student who moved their check-in to 10:30 with /settings is nudged at 10:30, not 09:00."""
    schedule(db, days="mon-fri", local_time="09:00")
    student = add_person(db, "own@example.edu", "Europe/London")
    with db.session() as session:
        session.add(
            StudentSettings(
                person_id=student, checkin_time="10:30", updated_at=utc(2026, 11, 20, 9, 0)
            )
        )
    add_goal(db, student, utc(2026, 11, 23, 14, 0))
    set_watermark(db, utc(2026, 11, 30, 0, 0))
    at = utc(2026, 11, 30, 0, 0)
    while at <= utc(2026, 12, 2, 0, 0):  # every half hour: 10:30 is a tick
        tick(db, at)
        at += timedelta(minutes=30)
    [nudge] = outbox(db, "nudge")
    # Due Monday 14:00, after that day's 10:30: the next 10:30 (London is on UTC in winter).
    assert nudge.next_attempt_at == utc(2026, 12, 1, 10, 30)


def test_students_without_a_schedule_are_nudged_at_the_default_time(db) -> None:
    """No schedule applies: the nudge goes at GOAL_NUDGE_TIME (09:00) local."""
    student = add_person(db, "lon@example.edu", "Europe/London")
    add_goal(db, student, utc(2026, 11, 23, 15, 0))
    set_watermark(db, utc(2026, 11, 30, 0, 0))
    hourly(db, utc(2026, 11, 30, 0, 0), utc(2026, 12, 1, 12, 0))
    [nudge] = outbox(db, "nudge")
    assert nudge.next_attempt_at == utc(2026, 12, 1, 9, 0)


def test_an_extra_nudge_as_the_due_date_approaches(db) -> None:
    """A goal due Friday gets a due-soon nudge on Wednesday at check-in time, once."""
    schedule(db, days="*", local_time="08:30")
    student = add_person(db, "lon@example.edu", "Europe/London")
    gid = add_goal(db, student, utc(2026, 11, 23, 12, 0), due=date(2026, 11, 27))
    set_watermark(db, utc(2026, 11, 23, 12, 0))
    hourly(db, utc(2026, 11, 23, 12, 0), utc(2026, 11, 28, 0, 0))
    [nudge] = outbox(db, "nudge")
    assert nudge.dedupe_key == f"goal-due:{gid}:2026-11-27"
    assert nudge.next_attempt_at == utc(2026, 11, 25, 9, 0)  # first tick after 08:30
    assert "due in 2 days" in Message.from_json(nudge.payload).text


def test_paused_students_get_no_nudges(db) -> None:
    """A paused student's weekly nudge is skipped (and planned for the week after)."""
    student = add_person(db, "kim@example.edu", "UTC", paused_until=date(2026, 12, 31))
    gid = add_goal(db, student, utc(2026, 11, 23, 9, 0))
    set_watermark(db, utc(2026, 11, 30, 0, 0))
    hourly(db, utc(2026, 11, 30, 0, 0), utc(2026, 11, 30, 12, 0))
    assert outbox(db, "nudge") == []
    assert goal(db, gid).next_nudge_at == utc(2026, 12, 7, 9, 0)


def test_stuck_goal_alerts_the_mentor_once(db) -> None:
    """Three weeks without progress raise one "stuck" alert for the mentor."""
    student = add_person(db, "kim@example.edu", "UTC")
    mentor = add_person(db, "mentor@example.edu", "UTC", role="mentor")
    assign_mentors(db, student, mentor)
    gid = add_goal(db, student, utc(2026, 11, 1, 9, 0))
    set_watermark(db, utc(2026, 11, 22, 0, 0))
    tick(db, utc(2026, 11, 22, 8, 0))
    assert alerts(db) == []
    tick(db, utc(2026, 11, 22, 9, 0))
    tick(db, utc(2026, 11, 22, 10, 0))
    [alert] = alerts(db)
    assert (alert.kind, alert.student_id, alert.mentor_id) == ("stuck", student, mentor)
    assert "Essay" in alert.reason
    assert goal(db, gid).stuck_alerted_at == utc(2026, 11, 22, 9, 0)
    assert [r.person_id for r in outbox(db, "alert")] == [mentor]


def test_progress_rearms_the_stuck_signal(db) -> None:
    """After progress, a goal can be flagged stuck again three weeks later."""
    from bot.services.goals import set_progress

    student = add_person(db, "kim@example.edu", "UTC")
    gid = add_goal(db, student, utc(2026, 11, 1, 9, 0))
    set_watermark(db, utc(2026, 11, 22, 8, 0))
    tick(db, utc(2026, 11, 22, 9, 0))
    with db.session() as session:
        person = session.get(Person, student)
        assert person is not None
        set_progress(session, person, str(gid), "40", utc(2026, 11, 23, 9, 0))
    assert goal(db, gid).stuck_alerted_at is None
    tick(db, utc(2026, 12, 14, 8, 59))
    assert len(alerts(db)) == 1  # not yet three weeks since the progress
    tick(db, utc(2026, 12, 14, 9, 0))
    assert [a.created_at for a in alerts(db)] == [utc(2026, 11, 22, 9, 0), utc(2026, 12, 14, 9, 0)]
    assert "since 2026-11-23" in alerts(db)[1].reason
