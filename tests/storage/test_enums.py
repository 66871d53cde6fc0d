"""Statuses and kinds as StrEnums store exactly the strings stored before, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import select

from storage.db import Database
from storage.enums import (
    AlertKind,
    AlertSeverity,
    AlertStatus,
    CheckinStatus,
    CheckinStep,
    GoalStatus,
    OutboxKind,
    OutboxStatus,
    RsvpStatus,
    WorkshopStatus,
)
from storage.tables import Alert, Checkin, Goal, Outbox, Person

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# The strings stored before the enums existed (from the tables' old comments and the code).
STORED_BEFORE = {
    CheckinStatus: {"open", "answered", "skipped", "missed", "not_sent", "excused"},
    CheckinStep: {"mood", "note", "goal", "done"},
    GoalStatus: {"open", "done", "dropped"},
    AlertKind: {"low_mood", "drop", "missed", "help", "concern", "crisis", "stuck"},
    AlertSeverity: {"normal", "urgent"},
    AlertStatus: {"open", "acknowledged", "following", "resolved", "erased"},
    OutboxStatus: {"pending", "sending", "sent", "failed", "rerouted", "skipped"},
    RsvpStatus: {"going", "not_going", "waitlist"},
    WorkshopStatus: {"scheduled", "cancelled"},
}


def test_every_enum_keeps_the_old_strings() -> None:
    """Each enum's values are exactly the strings the columns held: no migration needed."""
    for enum, before in STORED_BEFORE.items():
        assert {member.value for member in enum} == before, enum.__name__
        assert all(member == member.value and str(member) == member.value for member in enum)


def test_outbox_kinds_fit_their_column() -> None:
    """Every outbox kind fits `outbox.kind` (24 characters), every status `outbox.status` (8)."""
    assert max(len(kind) for kind in OutboxKind) <= 24
    assert max(len(status) for status in OutboxStatus) <= 8


def test_members_are_stored_as_their_values(db: Database) -> None:
    """Written as enum members, the database holds the plain strings; read back they compare."""
    with db.session() as session:
        person = Person(email="e@example.edu", name="E", role="student", created_at=NOW)
        session.add(person)
        session.flush()
        assert person.id is not None
        session.add(Checkin(person_id=person.id, occurrence_key="k", opened_at=NOW))
        session.add(
            Goal(
                person_id=person.id,
                title="t",
                status=GoalStatus.DROPPED,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        session.add(
            Alert(
                student_id=person.id,
                kind=AlertKind.LOW_MOOD,
                severity=AlertSeverity.URGENT,
                reason="r",
                status=AlertStatus.FOLLOWING_UP,
                created_at=NOW,
            )
        )
        session.add(
            Outbox(
                dedupe_key="d",
                platform="console",
                payload="{}",
                kind=OutboxKind.ALERT_UPDATE,
                status=OutboxStatus.REROUTED,
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
    with db.engine.connect() as conn:
        raw = {
            "checkin": conn.execute(text("SELECT status, step FROM checkin")).one(),
            "goal": conn.execute(text("SELECT status FROM goal")).one(),
            "alert": conn.execute(text("SELECT kind, severity, status FROM alert")).one(),
            "outbox": conn.execute(text("SELECT kind, status FROM outbox")).one(),
        }
    # The defaults too: a new check-in is open at its first step.
    assert tuple(raw["checkin"]) == ("open", "mood")
    assert tuple(raw["goal"]) == ("dropped",)
    assert tuple(raw["alert"]) == ("low_mood", "urgent", "following")
    assert tuple(raw["outbox"]) == ("alert_update", "rerouted")
    with db.session() as session:
        alert = session.exec(select(Alert).where(Alert.status == AlertStatus.FOLLOWING_UP)).one()
        assert alert.kind == AlertKind.LOW_MOOD and alert.severity == AlertSeverity.URGENT
        checkin = session.exec(select(Checkin)).one()
        assert checkin.status == CheckinStatus.OPEN and checkin.step == CheckinStep.MOOD


def test_bulk_inserts_bind_members_as_plain_strings(db: Database) -> None:
    """The bulk path stores enum members (given or defaulted) exactly as the plain statement."""
    from storage.bulk import _plain, insert_ignoring_conflicts

    assert type(_plain(OutboxStatus.SENT)) is str and _plain("x") == "x" and _plain(3) == 3
    row = {
        "dedupe_key": "bulk",
        "platform": "console",
        "payload": "{}",
        "kind": OutboxKind.CHECKIN,
        "next_attempt_at": NOW,
        "created_at": NOW,
    }
    with db.session() as session:
        inserted = insert_ignoring_conflicts(
            session,
            Outbox.__table__,  # type: ignore[attr-defined]
            [row, {**row, "dedupe_key": "bulk2", "kind": "message"}],
            conflict=["dedupe_key"],
            returning=["id"],
        )
    assert len(inserted) == 2
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT kind, status FROM outbox ORDER BY id")).all()
    assert [tuple(r) for r in stored] == [("checkin", "pending"), ("message", "pending")]
