"""Alerts nobody acknowledged: to the backup mentor and staff channel; crisis repeats."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from bot.config import CoreSettings
from bot.services.alerts import acknowledge, raise_alert
from bot.services.reescalation import reescalate_due_alerts
from storage.db import Database
from storage.enums import AlertSeverity
from storage.tables import Alert, AlertEvent, Person
from tests.scheduling.world import add_person, alerts, assign_mentors, outbox, utc

STAFF = CoreSettings(staff_channel="slack:CSTAFF")


def setup(db: Database) -> tuple[int, int, int]:
    """A London student with a primary and a backup mentor."""
    student = add_person(db, "kim@example.edu", "Europe/London")
    primary = add_person(db, "primary@example.edu", "Europe/London", role="mentor")
    backup = add_person(db, "backup@example.edu", "Europe/London", role="mentor")
    assign_mentors(db, student, primary, backup)
    return student, primary, backup


def alert_for(
    db: Database, settings: CoreSettings, student: int, at: datetime, severity: str = "normal"
) -> int:
    with db.session() as session:
        person = session.get(Person, student)
        assert person is not None
        alert = raise_alert(
            session,
            settings,
            at,
            person,
            "crisis" if severity == AlertSeverity.URGENT else "low_mood",
            "test",
            severity=severity,
        )
        assert alert is not None and alert.id is not None
        return alert.id


def escalate(db: Database, settings: CoreSettings, at: datetime) -> int:
    with db.session() as session:
        return reescalate_due_alerts(session, settings, at)


def events(db: Database, alert_id: int) -> list[AlertEvent]:
    with db.session() as session:
        return list(
            session.exec(
                select(AlertEvent)
                .where(AlertEvent.alert_id == alert_id)
                .order_by(col(AlertEvent.id))
            ).all()
        )


def test_normal_alert_escalates_once_to_the_backup_and_staff(db) -> None:
    """Unacknowledged after ALERT_ACK_MINUTES: backup mentor + staff channel, recorded, once."""
    student, _, backup = setup(db)
    created = utc(2026, 11, 23, 10, 0)
    aid = alert_for(db, STAFF, student, created)
    assert escalate(db, STAFF, created + timedelta(minutes=1439)) == 0
    assert escalate(db, STAFF, created + timedelta(minutes=1440)) == 1
    [alert] = alerts(db)
    assert (alert.escalation_level, alert.next_escalation_at) == (1, None)
    rows = {r.dedupe_key: r for r in outbox(db, "alert")}
    assert f"alert:{aid}:{backup}:1" in rows and f"alert:{aid}:staff:1" in rows
    assert rows[f"alert:{aid}:staff:1"].channel_id == "CSTAFF"
    escalated = [e for e in events(db, aid) if e.event == "escalated"]
    assert len(escalated) == 1 and "backup" in escalated[0].detail.lower()
    assert escalate(db, STAFF, created + timedelta(days=5)) == 0  # normal alerts: once


def test_crisis_repeats_every_interval_until_acknowledged(db) -> None:
    """A crisis alert goes to backup + on-call every 10 minutes until someone acknowledges."""
    student, primary, backup = setup(db)
    created = utc(2026, 11, 23, 23, 0)  # night in London: urgent pushes ignore quiet hours
    aid = alert_for(db, STAFF, student, created, AlertSeverity.URGENT)
    for minutes in (10, 20, 30):
        assert escalate(db, STAFF, created + timedelta(minutes=minutes)) == 1
    [alert] = alerts(db)
    assert alert.escalation_level == 3
    levels = sorted(r.dedupe_key for r in outbox(db, "alert") if r.person_id == backup)
    assert levels == [f"alert:{aid}:{backup}:{n}" for n in (1, 2, 3)]
    assert all(r.next_attempt_at <= created + timedelta(minutes=30) for r in outbox(db, "alert"))
    with db.session() as session:
        mentor = session.get(Person, primary)
        assert mentor is not None
        acknowledge(session, created + timedelta(minutes=35), mentor, str(aid))
    assert escalate(db, STAFF, created + timedelta(minutes=40)) == 0
    assert [e.event for e in events(db, aid)].count("escalated") == 3


def test_escalation_without_backup_goes_to_the_admins(db) -> None:
    """A student without a backup mentor: the admins receive the escalation."""
    student = add_person(db, "kim@example.edu", "UTC")
    primary = add_person(db, "primary@example.edu", "UTC", role="mentor")
    admin = add_person(db, "admin@example.edu", "UTC", role="admin")
    assign_mentors(db, student, primary)
    created = utc(2026, 11, 23, 10, 0)
    aid = alert_for(db, CoreSettings(), student, created)
    escalate(db, CoreSettings(), created + timedelta(days=1))
    assert [r.dedupe_key for r in outbox(db, "alert") if r.person_id == admin] == [
        f"alert:{aid}:{admin}:1"
    ]


def test_two_schedulers_escalate_a_step_once(db) -> None:
    """Two processes escalating the same due alert take the step once."""
    student, _, backup = setup(db)
    created = utc(2026, 11, 23, 10, 0)
    alert_for(db, CoreSettings(), student, created)
    later = created + timedelta(days=1)
    with db.session() as slow:
        stale = slow.exec(select(Alert)).one()  # the slower process read level 0...
    assert escalate(db, CoreSettings(), later) == 1  # ...while the faster one escalated
    from bot.services.reescalation import escalate as escalate_one

    with db.session() as slow:
        assert escalate_one(slow, CoreSettings(), later, stale) is False
    assert [a.escalation_level for a in alerts(db)] == [1]
    assert len([r for r in outbox(db, "alert") if r.person_id == backup]) == 1
