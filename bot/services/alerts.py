"""Alerts: created by escalation rules or the safety screen, delivered to mentors via the outbox."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.auth import can_view, require_role, require_view
from bot.config import CoreSettings
from bot.errors import UserError
from bot.model import Choice, Field, Message, PostedCopy
from bot.outbox import Address, Push, push_rows
from bot.people import ADMIN, MENTOR, admins, mentors_of
from storage.tables import Alert, AlertEvent, Outbox, Person

log = logging.getLogger(__name__)

URGENT, NORMAL = "urgent", "normal"

KIND_LABELS = {
    "low_mood": "Low mood",
    "drop": "Sharp mood drop",
    "missed": "Missed check-ins",
    "help": "Asked for help",
    "concern": "Worrying message",
    "crisis": "CRISIS: needs contact now",
    "stuck": "Goal stuck",
}


def record_event(
    session: Session,
    alert: Alert,
    now: datetime,
    event: str,
    person_id: int | None = None,
    detail: str = "",
) -> None:
    """Timestamp one step of an alert's life."""
    assert alert.id is not None
    session.add(
        AlertEvent(alert_id=alert.id, at=now, event=event, person_id=person_id, detail=detail[:500])
    )


def recent_open_alert(
    session: Session, student_id: int, kind: str, since: datetime
) -> Alert | None:
    """An unacknowledged alert of this kind for the student raised since `since`."""
    return session.exec(
        select(Alert).where(
            Alert.student_id == student_id,
            Alert.kind == kind,
            Alert.status == "open",
            col(Alert.created_at) >= since,
        )
    ).first()


def raise_alert(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    kind: str,
    reason: str,
    *,
    excerpt: str | None = None,
    severity: str = NORMAL,
) -> Alert | None:
    """Create an alert for the student's mentor and queue its delivery.

    A repeat of an open non-urgent alert of the same kind within the repeat window is folded
    into the first (returns None). Crisis alerts are never folded.
    """
    assert student.id is not None
    if severity != URGENT:
        window = now - timedelta(hours=settings.escalation.repeat_window_hours)
        if recent_open_alert(session, student.id, kind, window) is not None:
            return None
    mentors = mentors_of(session, student.id)
    primary = mentors.get("primary") or mentors.get("backup")
    ack_minutes = settings.crisis_ack_minutes if severity == URGENT else settings.alert_ack_minutes
    alert = Alert(
        student_id=student.id,
        mentor_id=primary.id if primary else None,
        kind=kind,
        severity=severity,
        reason=reason[:500],
        excerpt=excerpt[:1000] if excerpt else None,
        created_at=now,
        next_escalation_at=now + timedelta(minutes=ack_minutes),
    )
    session.add(alert)
    session.flush()
    record_event(session, alert, now, "created", detail=reason)
    recipients: list[Person] = [primary] if primary else list(admins(session))
    # Ids and severity only: the kind and reason are health information (mentorbot alerts
    # list shows them to staff); a log file is not the place for them.
    log.info(
        "alert %s raised (%s) for %d recipient(s)%s",
        alert.id,
        severity,
        len(recipients),
        "" if primary else ": the student has no mentor, so the admins get it",
    )
    pushes = [
        Push(
            dedupe_key=f"alert:{alert.id}:{recipient.id}:0",
            message=render_alert(alert, student, recipient),
            person=recipient,
            kind="alert",
            urgent=severity == URGENT,
            alert_id=alert.id,
        )
        for recipient in recipients
    ]
    if severity == URGENT and settings.staff_channel:
        pushes.append(staff_channel_push(settings, alert, student, level=0))
    push_rows(session, pushes, now, settings.default_timezone)
    return alert


def staff_channel_push(settings: CoreSettings, alert: Alert, student: Person, level: int) -> Push:
    """The on-call staff channel's copy of an alert."""
    assert settings.staff_channel is not None
    platform, _, channel = settings.staff_channel.partition(":")
    return Push(
        dedupe_key=f"alert:{alert.id}:staff:{level}",
        message=render_alert(alert, student, None),
        address=Address(platform=platform, user_id="", channel_id=channel),
        kind="alert",
        urgent=alert.severity == URGENT,
        alert_id=alert.id,
    )


def render_alert(alert: Alert, student: Person, recipient: Person | None) -> Message:
    """The alert as a mentor sees it, with one-click actions."""
    label = KIND_LABELS.get(alert.kind, alert.kind)
    prefix = "🚨 URGENT" if alert.severity == URGENT else "⚠️"
    fields = [Field("Student", f"{student.name} ({student.email})"), Field("Why", alert.reason)]
    if alert.excerpt:
        fields.append(Field("They wrote", alert.excerpt))
    if alert.escalation_level:
        fields.append(Field("Escalation", f"step {alert.escalation_level}: not yet acknowledged"))
    state = ""
    if alert.acknowledged_at is not None:
        state = " (acknowledged)"
    text = f"{prefix} {label}: {student.name}{state}"
    choices: tuple[Choice, ...] = ()
    if alert.status == "open":
        args = (("alert", str(alert.id)),)
        choices = (
            Choice("Acknowledge", "alert.ack", args, style="primary"),
            Choice("I'll follow up", "alert.followup", args),
        )
    return Message(
        text=text,
        title=label,
        fields=tuple(fields),
        choices=choices,
        private=True,
        urgent=alert.severity == URGENT,
    )


def _alert_for_actor(
    session: Session, actor: Person, alert_id: str, now: datetime
) -> tuple[Alert, Person]:
    try:
        alert = session.get(Alert, int(alert_id))
    except ValueError:
        alert = None
    if alert is None or alert.student_id is None:
        raise UserError("I can't find that alert any more.")
    student = session.get(Person, alert.student_id)
    assert student is not None
    # Staff only (a student never acts on alerts about themselves), then the relationship:
    # the student's own mentors, or an admin; audited like every read of a student's data.
    require_role(actor, MENTOR, ADMIN)
    require_view(session, actor, student, now, "alert.act")
    return alert, student


def acknowledge(
    session: Session, now: datetime, actor: Person, alert_id: str, *, follow_up: bool = False
) -> tuple[Alert, Person]:
    """Record that a mentor acknowledged (or will follow up on) an alert; stops re-escalation."""
    alert, student = _alert_for_actor(session, actor, alert_id, now)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by = actor.id
        record_event(session, alert, now, "acknowledged", actor.id)
    if follow_up and alert.follow_up_at is None:
        alert.follow_up_at = now
        alert.follow_up_by = actor.id
        record_event(session, alert, now, "follow_up", actor.id)
    alert.status = "following" if alert.follow_up_at else "acknowledged"
    alert.next_escalation_at = None
    session.add(alert)
    return alert, student


def render_acted(alert: Alert, student: Person, actor: Person) -> Message:
    """The alert message after someone acted on it (shown in place of the original)."""
    verb = "will follow up on" if alert.follow_up_at else "acknowledged"
    label = KIND_LABELS.get(alert.kind, alert.kind)
    return Message(
        text=f"✅ {label}: {student.name}: {actor.name} {verb} this.",
        fields=(Field("Why", alert.reason),),
    )


def open_alerts_for(session: Session, actor: Person) -> Sequence[tuple[Alert, Person]]:
    """Open alerts the actor may see: their students' (mentor) or all (admin), newest first."""
    query = (
        select(Alert, Person)
        .join(Person, col(Person.id) == Alert.student_id)
        .where(Alert.status == "open")
        .order_by(col(Alert.severity).desc(), col(Alert.created_at).desc())
    )
    if actor.role not in (MENTOR, ADMIN):
        return []
    rows = session.exec(query).all()
    if actor.role == ADMIN:
        return rows
    return [(a, s) for a, s in rows if can_view(session, actor, s)]


def mark_delivered(session: Session, alert_id: int, now: datetime, person_id: int | None) -> None:
    """Record the first delivery of an alert (called by the delivery loop)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return
    if alert.delivered_at is None:
        alert.delivered_at = now
        session.add(alert)
    record_event(session, alert, now, "delivered", person_id)


def posted_copies(session: Session, alert_id: int) -> tuple[PostedCopy, ...]:
    """Every delivered copy of an alert (each mentor's DM, the staff channel), oldest first.

    Acting on one copy updates them all, so nobody acts on an alert already handled.
    """
    rows = session.exec(
        select(Outbox)
        .where(
            Outbox.alert_id == alert_id,
            Outbox.status == "sent",
            col(Outbox.platform_message_id).is_not(None),
            col(Outbox.platform_channel_id).is_not(None),
        )
        .order_by(col(Outbox.id))
    ).all()
    return tuple(
        PostedCopy(row.platform, row.platform_channel_id or "", row.platform_message_id or "")
        for row in rows
    )
