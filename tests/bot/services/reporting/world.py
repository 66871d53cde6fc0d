"""Small programmes for the reporting tests: students, groups, mentors, moods, check-ins."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from bot.people import person_by_email
from storage.db import Database
from storage.enums import AlertStatus, CheckinStatus
from storage.tables import Alert, Checkin, Group, GroupMember, MentorAssignment, MoodEntry, Person

# A student's words that must never reach a report.
SECRET_NOTE = "my secret words about home"


def monday(day: date) -> datetime:
    """09:00 UTC on the Monday of `day`'s week."""
    start = day - timedelta(days=day.weekday())
    return datetime(start.year, start.month, start.day, 9, tzinfo=UTC)


def add_person(session: Session, email: str, role: str, now: datetime) -> Person:
    """An active person."""
    person = Person(email=email, name=email.split("@")[0].title(), role=role, created_at=now)
    session.add(person)
    session.flush()
    return person


def add_group(session: Session, name: str, members: list[Person], now: datetime) -> Group:
    """A group with these members."""
    group = Group(name=name, created_at=now)
    session.add(group)
    session.flush()
    assert group.id is not None
    for person in members:
        assert person.id is not None
        session.add(GroupMember(group_id=group.id, person_id=person.id))
    return group


def assign(session: Session, mentor: Person, students: list[Person]) -> None:
    """`mentor` is the primary mentor of `students`."""
    for student in students:
        assert student.id is not None and mentor.id is not None
        session.add(MentorAssignment(student_id=student.id, mentor_id=mentor.id, kind="primary"))


def students(session: Session, prefix: str, count: int, now: datetime) -> list[Person]:
    """`count` students `prefix0@example.edu`..."""
    return [add_person(session, f"{prefix}{i}@example.edu", "student", now) for i in range(count)]


def log_week(
    session: Session, people: list[Person], week_of: datetime, score: int, answered: bool = True
) -> None:
    """One answered (or missed) check-in and one mood (with a sealed note) each, that week."""
    for person in people:
        assert person.id is not None
        checkin = Checkin(
            person_id=person.id,
            occurrence_key=f"t:{week_of:%Y%m%d}:{person.id}",
            status=CheckinStatus.ANSWERED if answered else CheckinStatus.MISSED,
            opened_at=week_of,
            mood=score if answered else None,
            note=SECRET_NOTE if answered else None,
        )
        session.add(checkin)
        if answered:
            session.add(
                MoodEntry(person_id=person.id, score=score, note=SECRET_NOTE, recorded_at=week_of)
            )


def add_alert(
    session: Session, student: Person, kind: str, created: datetime, ack_minutes: float | None
) -> None:
    """An alert about `student`, acknowledged after `ack_minutes` (None: not yet)."""
    assert student.id is not None
    session.add(
        Alert(
            student_id=student.id,
            kind=kind,
            reason="test",
            excerpt=SECRET_NOTE,
            status=AlertStatus.ACKNOWLEDGED if ack_minutes is not None else AlertStatus.OPEN,
            created_at=created,
            acknowledged_at=(
                created + timedelta(minutes=ack_minutes) if ack_minutes is not None else None
            ),
        )
    )


def demo_students_log(db: Database, now: datetime, weeks: int = 3) -> None:
    """Sam and Alex (the demo's students) check in and log a mood in each of the last weeks."""
    with db.session() as session:
        people = [
            p
            for p in (person_by_email(session, e) for e in ("sam@example.edu", "alex@example.edu"))
            if p is not None
        ]
        for back in range(1, weeks + 1):
            log_week(session, people, monday(now.date()) - timedelta(weeks=back), 2 + back % 3)


def person_named(session: Session, email: str) -> Person:
    """A person by email (must exist)."""
    person = session.exec(select(Person).where(Person.email == email)).one()
    return person
