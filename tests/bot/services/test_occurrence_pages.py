"""Opening an occurrence a page of students at a time gives the same rows as all at once."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from bot.model import Message
from bot.services.checkins import checkin_prompt
from bot.services.occurrences import (
    INSERT_CHUNK,
    OccurrencesOutcome,
    students_by_id,
    students_in_zone,
    students_in_zone_pages,
)
from storage.db import Database
from storage.tables import CheckinSchedule, Person
from tests.scheduling.world import (
    add_students,
    checkins,
    outbox,
    schedule,
    set_watermark,
    tick,
    utc,
)


def test_pages_cover_every_student_once_in_id_order(db: Database) -> None:
    """Keyset pages of any size list exactly the students of the one-page query."""
    sid = schedule(db, days="*", local_time="09:00")
    add_students(db, 23)
    with db.session() as session:
        spec = session.get(CheckinSchedule, sid)
        assert spec is not None
        everyone = students_in_zone(session, spec, ["UTC"])
        for size in (1, 5, 23, 24, 100):
            pages = list(students_in_zone_pages(session, spec, ["UTC"], page_size=size))
            assert [s for page in pages for s in page] == everyone
            assert all(len(page) <= size for page in pages)
    assert [s.id for s in everyone] == sorted(s.id for s in everyone) and len(everyone) == 23


def test_students_by_id_reads_whoever_is_named(db: Database) -> None:
    """Re-reading by id finds the named people, inactive ones too."""
    ids = add_students(db, 4)
    with db.session() as session:
        person = session.exec(select(Person).where(col(Person.id) == ids[0])).one()
        person.active = False
    with db.session() as session:
        found = students_by_id(session, ids[:3])
    assert sorted(found) == ids[:3] and found[ids[0]].name == "Student 0"


def test_an_occurrence_larger_than_a_page_opens_everyone_once(db: Database) -> None:
    """More students than a page: one check-in and one matching prompt each, paused skipped."""
    count = INSERT_CHUNK * 2 + 7
    sid = schedule(db, days="*", local_time="09:00")
    ids = add_students(db, count)
    with db.session() as session:
        for person in session.exec(select(Person).where(col(Person.id).in_(ids[998:1003]))):
            person.paused_until = date(2026, 11, 30)
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    report = tick(db, utc(2026, 11, 23, 9, 0))
    [outcome] = report.outcome("open_due_checkins", OccurrencesOutcome).occurrences
    assert (outcome.created, outcome.paused, outcome.existing) == (count - 5, 5, 0)
    opened = checkins(db)
    assert sorted(c.person_id for c in opened) == sorted(ids[:998] + ids[1003:])
    by_checkin = {row.checkin_id: row for row in outbox(db, "checkin")}
    assert len(by_checkin) == count - 5
    names = {pid: f"Student {i}" for i, pid in enumerate(ids)}
    for checkin in opened[:: INSERT_CHUNK // 4]:
        row = by_checkin[checkin.id]
        assert row.dedupe_key == f"checkin:{sid}:{checkin.person_id}:2026-11-23"
        assert checkin.id is not None
        assert Message.from_json(row.payload) == checkin_prompt(
            checkin.id, names[checkin.person_id]
        )
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    again = tick(db, utc(2026, 11, 23, 9, 0))
    assert (
        again.outcome("open_due_checkins", OccurrencesOutcome).occurrences[0].existing == count - 5
        and again.opened == 0
    )
