"""Reporting figures: suppression by size and by differencing, percentiles, no free text.

Runs on SQLite and PostgreSQL (the `db` fixture), with the real SQL aggregates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import literal
from sqlalchemy import select as core_select
from sqlmodel import func, select

from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from bot.services.reporting.csv_export import csv_files
from bot.services.reporting.digest import report_messages
from bot.services.reporting.figures import (
    WITHHELD,
    ReportBuilder,
    _week_case,
    weeks_covering,
)
from bot.services.reporting.html import render_html
from bot.services.reporting.suppression import Scope, release, resolve_scope
from storage.db import Database
from storage.tables import AuditLog
from tests.bot.services.reporting.world import (
    SECRET_NOTE,
    add_alert,
    add_group,
    add_person,
    assign,
    log_week,
    monday,
    students,
)

NOW = datetime.fromisoformat("2026-11-30T10:00:00+00:00")
WEEK1 = monday(date(2026, 11, 16))
WEEK2 = monday(date(2026, 11, 23))
START, END = date(2026, 11, 16), date(2026, 11, 29)
SETTINGS = CoreSettings()


def build(db: Database, scope: Scope, **kwargs: bool):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return ReportBuilder(session, SETTINGS, NOW).build(scope, START, END, **kwargs)


def group_of(db: Database, size: int, name: str = "G") -> None:
    with db.session() as session:
        people = students(session, name.lower(), size, NOW)
        add_group(session, name, people, NOW)
        log_week(session, people, WEEK1, 3)
        log_week(session, people, WEEK2, 4)


def test_release_needs_the_minimum_and_a_safe_complement() -> None:
    """A cell of 4 is withheld, 5 and 6 are used; leaving out 1-4 of a parent withholds it."""
    assert not release(4, (), 5)
    assert release(5, (), 5) and release(6, (), 5)
    assert not release(5, (6,), 5)  # the parent's sixth student would be the difference
    assert release(5, (5,), 5) and release(5, (10,), 5)


@pytest.mark.parametrize("size", [4, 5, 6])
def test_a_group_of_4_is_refused_and_groups_of_5_and_6_are_shown(db: Database, size: int) -> None:
    """A group below MIN_GROUP_SIZE gets no report at all; at or above it, its figures show."""
    group_of(db, size)
    with db.session() as session:
        scope = resolve_scope(session, None, "G", None)
    if size < 5:
        with pytest.raises(UserError, match="fewer than 5 students"):
            build(db, scope)
        return
    report = build(db, scope)
    assert report.students == size
    assert report.mood_weekly == (3.0, 4.0)
    assert report.response_weekly == (100.0, 100.0)
    assert report.mood_distribution == (0, 0, size, size, 0)


def test_a_week_with_too_few_students_is_left_out_of_every_total(db: Database) -> None:
    """Week 2 has 4 moods: it is withheld, and the totals are week 1's alone (no differencing)."""
    with db.session() as session:
        people = students(session, "s", 6, NOW)
        log_week(session, people, WEEK1, 3)
        log_week(session, people[:4], WEEK2, 1)
    report = build(db, Scope("All students"))
    assert report.mood_weekly == (3.0, None)
    assert report.mood_distribution == (0, 0, 6, 0, 0)  # the four 1s never show
    assert report.response_total == 100.0
    rows = dict(next(t for t in report.tables() if t.name == "mood_trend").rows)
    assert rows["wk 23 Nov"] == WITHHELD


def test_a_group_of_6_with_one_student_filtered_out_is_refused(db: Database) -> None:
    """Group of 6, Maya mentors 5 of them: 'Maya's students in G' would reveal the sixth."""
    with db.session() as session:
        people = students(session, "g", 6, NOW)
        add_group(session, "G", people, NOW)
        maya = add_person(session, "maya@example.edu", "mentor", NOW)
        other = add_person(session, "omar@example.edu", "mentor", NOW)
        assign(session, maya, people[:5])
        assign(session, other, people[5:])
        log_week(session, people, WEEK1, 3)
    with db.session() as session:
        scope = resolve_scope(session, None, "G", "maya@example.edu")
    with pytest.raises(UserError, match="leaves out fewer than 5"):
        build(db, scope)
    # The whole group is fine, and so is the programme (nothing left out).
    assert build(db, Scope("All students")).mood_weekly[0] == 3.0


def test_a_group_differing_from_the_programme_by_one_student_is_withheld(db: Database) -> None:
    """Programme of 6, group of 5: the group's figures would reveal the sixth by subtraction."""
    with db.session() as session:
        people = students(session, "p", 6, NOW)
        add_group(session, "G", people[:5], NOW)
        log_week(session, people, WEEK1, 3)
    with db.session() as session:
        scope = resolve_scope(session, None, "G", None)
    with pytest.raises(UserError, match="leaves out fewer than 5"):
        build(db, scope)
    report = build(db, Scope("All students"), per_group=True)
    [trend] = report.group_moods
    assert trend.values == (None, None)  # the group line is withheld in the staff report
    assert report.group_distributions == [("G", None)]


def test_a_group_cell_is_withheld_when_its_week_leaves_out_a_few_others(db: Database) -> None:
    """Programme 11 and group 6 are both fine, but in week 2 only one outsider logged: withheld."""
    with db.session() as session:
        people = students(session, "q", 11, NOW)
        add_group(session, "G", people[:6], NOW)
        log_week(session, people, WEEK1, 3)
        log_week(session, people[:7], WEEK2, 4)  # the group, plus one student outside it
    report = build(db, Scope("All students"), per_group=True)
    [trend] = report.group_moods
    assert trend.values == (3.0, None)
    assert report.mood_weekly == (3.0, 4.0)


def test_mentors_see_their_own_students_only(db: Database) -> None:
    """A mentor's report names their students needing attention; another caseload is refused."""
    with db.session() as session:
        people = students(session, "m", 5, NOW)
        maya = add_person(session, "maya@example.edu", "mentor", NOW)
        add_person(session, "omar@example.edu", "mentor", NOW)
        admin = add_person(session, "avery@example.edu", "admin", NOW)
        assign(session, maya, people)
        log_week(session, people, WEEK2, 1)
        session.flush()
        with pytest.raises(NotAllowed, match="students you mentor"):
            resolve_scope(session, maya, None, "omar@example.edu")
        mine = resolve_scope(session, maya, None, None)
        assert mine.mentor_id == maya.id
        everyone = resolve_scope(session, admin, None, None)
        report = ReportBuilder(session, SETTINGS, NOW).build(mine, START, END, names=True)
        staff = ReportBuilder(session, SETTINGS, NOW).build(everyone, START, END)
    assert report.attention_names == ("M0", "M1", "M2", "M3", "M4")
    assert staff.attention_count == 5 and staff.attention_names is None
    assert "M0" not in render_html(staff)


def test_ack_percentiles_match_percentile_cont(db: Database) -> None:
    """Median and p90 of minutes to acknowledge interpolate like percentile_cont, per kind."""
    minutes = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000]
    with db.session() as session:
        people = students(session, "a", 10, NOW)
        for person, ack in zip(people, minutes, strict=True):
            add_alert(session, person, "low_mood", WEEK1, ack)
        add_alert(session, people[0], "help", WEEK1, None)
    report = build(db, Scope("All students"))
    [low, help_] = report.alert_kinds
    assert (low.kind, low.count) == ("Low mood", 10)
    assert low.median_minutes == pytest.approx(55.0, abs=0.01)
    assert low.p90_minutes == pytest.approx(90 + 0.1 * 910, abs=0.01)
    assert help_.count == 1 and help_.median_minutes is None  # too few to time


def test_reversed_dates_and_unknown_groups_are_refused(db: Database) -> None:
    """A report ending before it starts, or about a group that doesn't exist, is refused."""
    with pytest.raises(UserError, match="before it starts"):
        weeks_covering(date(2026, 11, 30), date(2026, 11, 1))
    with db.session() as session, pytest.raises(UserError, match="can't find a group 'Nope'"):
        resolve_scope(session, None, "Nope", None)


def test_no_free_text_reaches_any_output_and_reads_are_audited(db: Database) -> None:
    """Notes and excerpts never appear in chat, HTML or CSV; a digest build leaves an audit row."""
    group_of(db, 6)
    with db.session() as session:
        people = students(session, "x", 5, NOW)
        for person in people:
            add_alert(session, person, "concern", WEEK1, 5)
    report = build(db, Scope("All students"), per_group=True)
    outputs = [render_html(report), *csv_files(report).values()]
    outputs += [m.to_json() for m in report_messages(report, charts=())]
    assert not any(SECRET_NOTE in text for text in outputs)
    with db.session() as session:
        from bot.features.reporting import digest_job

        before = session.exec(select(func.count()).select_from(AuditLog)).one()
        settings = CoreSettings(staff_channel="slack:C0STAFF01", digest_day="mon")
        assert digest_job(session, settings, NOW + timedelta(days=7)) >= 1
        after = session.exec(select(func.count()).select_from(AuditLog)).one()
    assert after > before


def test_overdue_follow_ups_are_counted(db: Database) -> None:
    """A promised follow-up older than the reminder period counts as overdue; a fresh one not."""
    from storage.enums import AlertStatus
    from storage.tables import Alert

    with db.session() as session:
        people = students(session, "f", 5, NOW)
        for person, hours in zip(people[:2], (30, 2), strict=True):
            assert person.id is not None
            session.add(
                Alert(
                    student_id=person.id,
                    kind="help",
                    reason="test",
                    status=AlertStatus.FOLLOWING_UP,
                    created_at=NOW - timedelta(hours=hours + 1),
                    follow_up_at=NOW - timedelta(hours=hours),
                )
            )
    assert build(db, Scope("All students")).overdue_follow_ups == 1


def _meeting(session, mentor_id: int, student_id: int, at: datetime, status: str):  # type: ignore[no-untyped-def]
    from storage.tables import Meeting

    session.add(
        Meeting(
            uid=f"report-{student_id}-{at.isoformat()}@mentorbot",
            mentor_id=mentor_id,
            student_id=student_id,
            starts_at=at,
            duration_minutes=30,
            mentor_timezone="UTC",
            status=status,
            created_at=at - timedelta(days=3),
            updated_at=at,
        )
    )


def test_meetings_held_and_missed_are_counted_and_small_weeks_withheld(db: Database) -> None:
    """Six students' meetings in week 1 count (4 held, 2 no-shows); week 2's three are withheld."""
    with db.session() as session:
        mentor = add_person(session, "meet-mentor@example.edu", "mentor", NOW)
        people = students(session, "m", 6, NOW)
        log_week(session, people, WEEK1, 3)
        log_week(session, people, WEEK2, 3)
        assert mentor.id is not None
        for index, person in enumerate(people):
            assert person.id is not None
            status = "held" if index < 4 else "no_show"
            _meeting(session, mentor.id, person.id, WEEK1 + timedelta(days=1, hours=index), status)
        for person in people[:3]:  # too few students behind week 2's figure
            assert person.id is not None
            _meeting(session, mentor.id, person.id, WEEK2 + timedelta(days=2), "held")
        # Not concluded: neither held nor missed.
        assert people[0].id is not None
        _meeting(session, mentor.id, people[0].id, WEEK2 + timedelta(days=3), "booked")
    report = build(db, Scope("All students"))
    assert (report.meetings_known, report.meetings_held) == (6, 4)
    files = csv_files(report)
    [name] = [n for n in files if n.startswith("meetings")]
    assert "Held,4" in files[name] and "Student didn't come,2" in files[name]


@pytest.mark.parametrize("count", [1, 2, 3, 8, 13])
def test_week_bucket_is_the_last_week_starting_at_or_before(db: Database, count: int) -> None:
    """The SQL week bucket names the last week begun by a time, -1 before the first or NULL."""
    weeks = weeks_covering(date(2026, 9, 7), date(2026, 9, 7) + timedelta(weeks=count - 1))
    first = weeks[0].begins
    times = [
        first + timedelta(days=d, seconds=s) for d in range(-8, 7 * count + 8, 3) for s in (0, -1)
    ]
    times += [w.begins for w in weeks] + [w.begins - timedelta(microseconds=1) for w in weeks]
    with db.session() as session:
        for at in times:
            got = session.execute(core_select(_week_case(literal(at), weeks))).scalar_one()
            expected = max((w.index for w in weeks if w.begins <= at), default=-1)
            assert got == expected, at
        none = session.execute(core_select(_week_case(literal(None), weeks))).scalar_one()
        assert none == -1
