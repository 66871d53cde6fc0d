"""Helpers for scheduling tests: students in chosen zones, schedules, and what got stored."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from bot.config import CoreSettings
from bot.services.schedules import ScheduleSpec, add_schedule
from bot.tick import TickReport
from storage.db import Database
from storage.tables import (
    Alert,
    Checkin,
    CheckinSchedule,
    Group,
    GroupMember,
    Identity,
    MentorAssignment,
    Outbox,
    Person,
    SchedulerState,
)
from tests.tick import run_due_work

# Long before any test's "now": schedules created then have no creation-time limit in play.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def add_person(
    db: Database,
    email: str,
    tz: str | None = "Europe/London",
    *,
    role: str = "student",
    quiet: tuple[str, str] = ("21:00", "08:00"),
    paused_until: date | None = None,
    slack_id: str | None = None,
) -> int:
    """Store one person (with a Slack identity when given); returns the id."""
    with db.session() as session:
        person = Person(
            email=email,
            name=email.split("@")[0].title(),
            role=role,
            timezone=tz,
            quiet_start=quiet[0],
            quiet_end=quiet[1],
            paused_until=paused_until,
            created_at=EPOCH,
        )
        session.add(person)
        session.flush()
        assert person.id is not None
        if slack_id:
            session.add(
                Identity(
                    person_id=person.id,
                    platform="slack",
                    workspace="T1",
                    user_id=slack_id,
                    dm_channel_id=f"D{slack_id}",
                )
            )
        return person.id


def add_students(db: Database, count: int, tz: str = "UTC", prefix: str = "s") -> list[int]:
    """Many students at once (bulk insert), each with a Slack identity."""
    with db.session() as session:
        session.execute(
            insert(Person),
            [
                dict(
                    email=f"{prefix}{i}@example.edu",
                    name=f"Student {i}",
                    role="student",
                    timezone=tz,
                    quiet_start="21:00",
                    quiet_end="08:00",
                    active=True,
                    created_at=EPOCH,
                )
                for i in range(count)
            ],
        )
        ids = list(
            session.exec(
                select(Person.id).where(col(Person.email).like(f"{prefix}%@example.edu"))
            ).all()
        )
        session.execute(
            insert(Identity),
            [
                dict(
                    person_id=i,
                    platform="slack",
                    workspace="T1",
                    user_id=f"U{i:07d}",
                    dm_channel_id=f"D{i:07d}",
                )
                for i in ids
            ],
        )
        return [int(i) for i in ids if i is not None]


def assign_mentors(db: Database, student_id: int, primary: int, backup: int | None = None) -> None:
    """Primary (and backup) mentor of a student."""
    with db.session() as session:
        session.add(MentorAssignment(student_id=student_id, mentor_id=primary, kind="primary"))
        if backup is not None:
            session.add(MentorAssignment(student_id=student_id, mentor_id=backup, kind="backup"))


def add_group(db: Database, name: str, member_ids: list[int]) -> None:
    """A group with these members."""
    with db.session() as session:
        group = Group(name=name, created_at=EPOCH)
        session.add(group)
        session.flush()
        assert group.id is not None
        for person_id in member_ids:
            session.add(GroupMember(group_id=group.id, person_id=person_id))


def schedule(db: Database, *, created_at: datetime = EPOCH, **spec: Any) -> int:
    """Add a schedule through the service (validated); returns its id."""
    spec.setdefault("name", "Check-in")
    with db.session() as session:
        stored = add_schedule(session, ScheduleSpec(**spec), created_at, created_at.date())
        assert stored.id is not None
        return stored.id


def tick(db: Database, at: datetime, settings: CoreSettings | None = None) -> TickReport:
    """Run the scheduler's work as of `at`."""
    return run_due_work(db, settings or CoreSettings(), at)


def set_watermark(db: Database, at: datetime) -> None:
    """Pretend the scheduler last ran at `at` (the bot went down then), even going back."""
    from bot.tick import WATERMARK, advance_watermark

    with db.session() as session:
        state = session.get(SchedulerState, WATERMARK)
        if state is None:
            advance_watermark(session, at)
        else:
            state.processed_until = at
            session.add(state)


def checkins(db: Database, person_id: int | None = None) -> list[Checkin]:
    """Check-ins (of one person), oldest first."""
    with db.session() as session:
        query = select(Checkin).order_by(col(Checkin.id))
        if person_id is not None:
            query = query.where(Checkin.person_id == person_id)
        return list(session.exec(query).all())


def outbox(db: Database, kind: str | None = None, person_id: int | None = None) -> list[Outbox]:
    """Outbox rows, oldest first, optionally of one kind / one person."""
    with db.session() as session:
        query = select(Outbox).order_by(col(Outbox.id))
        if kind is not None:
            query = query.where(Outbox.kind == kind)
        if person_id is not None:
            query = query.where(Outbox.person_id == person_id)
        return list(session.exec(query).all())


def alerts(db: Database) -> list[Alert]:
    """All alerts, oldest first."""
    with db.session() as session:
        return list(session.exec(select(Alert).order_by(col(Alert.id))).all())


def schedules(db: Database) -> list[CheckinSchedule]:
    """All schedules."""
    with db.session() as session:
        return list(session.exec(select(CheckinSchedule)).all())


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)
