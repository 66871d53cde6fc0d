"""Re-escalation of alerts nobody acknowledged in time.

`raise_alert` sets `Alert.next_escalation_at` (crisis: `crisis_ack_minutes`, others:
`alert_ack_minutes`); acknowledging clears it. When it passes, the alert goes to the student's
backup mentor (the admins when there is none) and, when configured, to the on-call staff
channel; the step is recorded as an `escalated` event and `escalation_level` grows by one.
Urgent (crisis) alerts repeat at every interval until someone acknowledges; normal alerts
escalate once. Outbox keys carry the level, so a second scheduler cannot send a step twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.outbox import Push, push_rows
from bot.people import admins, mentors_of
from bot.services.alerts import record_event, render_alert, staff_channel_push
from bot.services.language import speaking_in_group, speaking_to
from bot.services.routing import alert_rows_written
from storage.enums import AlertSeverity, AlertStatus, OutboxKind
from storage.tables import Alert, Person


def reescalate_due_alerts(session: Session, settings: CoreSettings, now: datetime) -> int:
    """Escalate every open, unacknowledged alert whose acknowledgement time has passed."""
    due = session.exec(
        select(Alert)
        .where(
            col(Alert.status) == AlertStatus.OPEN,
            col(Alert.acknowledged_at).is_(None),
            col(Alert.next_escalation_at).is_not(None),
            col(Alert.next_escalation_at) <= now,
        )
        .order_by(col(Alert.id))
    ).all()
    return sum(1 for alert in due if escalate(session, settings, now, alert))


def escalate(session: Session, settings: CoreSettings, now: datetime, alert: Alert) -> bool:
    """Take one escalation step for the alert; False when another process took it first."""
    assert alert.id is not None
    level = alert.escalation_level + 1
    urgent = alert.severity == AlertSeverity.URGENT
    next_at = now + timedelta(minutes=settings.crisis_ack_minutes) if urgent else None
    # Claim the step with a conditional update: of two racing schedulers only one matches.
    claimed = session.execute(
        update(Alert)
        .where(
            col(Alert.id) == alert.id,
            col(Alert.escalation_level) == alert.escalation_level,
            col(Alert.status) == AlertStatus.OPEN,
            col(Alert.acknowledged_at).is_(None),
        )
        .values(escalation_level=level, next_escalation_at=next_at)
        .returning(col(Alert.id))
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return False
    set_committed_value(alert, "escalation_level", level)
    set_committed_value(alert, "next_escalation_at", next_at)
    student = session.get(Person, alert.student_id) if alert.student_id is not None else None
    recipients = _recipients(session, alert, student)
    pushes: list[Push] = []
    if student is not None:
        for recipient in recipients:
            # Each mentor or admin reads the alert in their own language.
            with speaking_to(recipient, settings):
                message = render_alert(alert, student, recipient)
            pushes.append(
                Push(
                    dedupe_key=f"alert:{alert.id}:{recipient.id}:{level}",
                    message=message,
                    person=recipient,
                    kind=OutboxKind.ALERT,
                    urgent=urgent,
                    alert_id=alert.id,
                )
            )
        if settings.staff_channel:
            # The staff channel belongs to no group: the programme's default language.
            with speaking_in_group(None, settings):
                pushes.append(staff_channel_push(settings, alert, student, level=level))
    push_rows(session, pushes, now, settings.default_timezone)
    # "queued for": who it reached is recorded by the delivery loop ("delivered" events), and
    # a copy nobody can receive here goes sideways below (a "rerouted" event says where).
    names = ", ".join(r.name for r in recipients) or "nobody"
    staff = " and the staff channel" if settings.staff_channel and student is not None else ""
    record_event(
        session,
        alert,
        now,
        "escalated",
        detail=f"step {level}: not acknowledged in time; queued for {names}{staff}",
    )
    alert_rows_written(session, settings, now, alert)
    return True


def _recipients(session: Session, alert: Alert, student: Person | None) -> list[Person]:
    """The backup mentor, or the admins when there is no other backup to turn to."""
    if student is None or student.id is None:
        return list(admins(session))
    backup = mentors_of(session, student.id).get("backup")
    if backup is not None and backup.id != alert.mentor_id and backup.active:
        return [backup]
    return [a for a in admins(session) if a.id != alert.mentor_id] or list(admins(session))
