"""Alerts: created by escalation rules or the safety screen, delivered to mentors via the outbox."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.args import parse_record_id
from bot.auth import can_view, require_role, require_view
from bot.config import CoreSettings
from bot.errors import UserError
from bot.model import Choice, Field, Message, PostedCopy, Recipient
from bot.outbox import Push, push_rows
from bot.people import ADMIN, MENTOR, admins, mentors_of
from bot.safety.taxonomy import Category, render_reason, with_category
from storage.enums import AlertKind, AlertSeverity, AlertStatus, OutboxKind, OutboxStatus
from storage.tables import Alert, AlertEvent, Outbox, Person

log = logging.getLogger(__name__)


# Alerts somebody still has to deal with (an erased student's alert is "erased": not these).
UNRESOLVED: tuple[str, ...] = (
    AlertStatus.OPEN,
    AlertStatus.ACKNOWLEDGED,
    AlertStatus.FOLLOWING_UP,
)
# Kinds raised by what a student wrote: a repeat folds into the open alert, the more severe
# kind winning (a concern alert becomes a crisis alert, never the other way round).
FOLDING_RANK: dict[str, int] = {AlertKind.CONCERN: 1, AlertKind.CRISIS: 2}

KIND_LABELS: dict[str, str] = {
    AlertKind.LOW_MOOD: "Low mood",
    AlertKind.DROP: "Sharp mood drop",
    AlertKind.MISSED: "Missed check-ins",
    AlertKind.HELP: "Asked for help",
    AlertKind.CONCERN: "Worrying message",
    AlertKind.CRISIS: "CRISIS: needs contact now",
    AlertKind.STUCK: "Goal stuck",
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
            Alert.status == AlertStatus.OPEN,
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
    severity: str = AlertSeverity.NORMAL,
) -> Alert | None:
    """Create an alert for the student's mentor and queue its delivery.

    A crisis or concern message while an alert raised by such a message is unresolved folds
    into that alert (returned; see `fold_into`): severity is raised, never lost. Otherwise a
    repeat of an open non-urgent alert of the same kind within the repeat window is dropped
    (returns None). With no active mentor assigned, the admins get the alert.
    """
    assert student.id is not None
    if kind in FOLDING_RANK:
        folded_into = unresolved_message_alert(session, student.id)
        if folded_into is not None:
            fold_into(session, settings, now, folded_into, student, kind, reason, excerpt, severity)
            return folded_into
    if severity != AlertSeverity.URGENT:
        window = now - timedelta(hours=settings.escalation.repeat_window_hours)
        if recent_open_alert(session, student.id, kind, window) is not None:
            return None
    primary = first_responder(session, student.id)
    ack_minutes = (
        settings.crisis_ack_minutes
        if severity == AlertSeverity.URGENT
        else settings.alert_ack_minutes
    )
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
    queue_alert_copies(session, settings, now, alert, student, "0")
    return alert


def queue_alert_copies(
    session: Session, settings: CoreSettings, now: datetime, alert: Alert, student: Person, tag: str
) -> None:
    """Queue a round of an alert's copies; those nobody can receive here go sideways at once.

    Urgent alerts also get their side channels (email, webhook) in the same transaction.
    """
    push_rows(
        session,
        alert_pushes(session, settings, alert, student, tag),
        now,
        settings.default_timezone,
    )
    from bot.services.routing import alert_rows_written  # routing builds on this module

    alert_rows_written(session, settings, now, alert)


def first_responder(session: Session, student_id: int) -> Person | None:
    """Who is told first about a student's alert: the primary mentor, else the backup.

    Only an active, not erased mentor counts: None means the admins are told instead.
    """
    mentors = mentors_of(session, student_id)
    for kind in ("primary", "backup"):
        mentor = mentors.get(kind)
        if mentor is not None and mentor.active and mentor.deleted_at is None:
            return mentor
    return None


def who_is_told(session: Session, student: Person) -> str:
    """Who a student's alert reaches, in words for the student: never a mentor they lack."""
    assert student.id is not None
    return "your mentor" if first_responder(session, student.id) else "the programme staff"


def alert_pushes(
    session: Session, settings: CoreSettings, alert: Alert, student: Person, tag: str
) -> list[Push]:
    """Fresh copies of an alert for its first responder (or the admins), and the staff channel.

    The staff channel gets urgent alerts only; `tag` makes this round's dedupe keys unique.
    """
    assert student.id is not None
    primary = first_responder(session, student.id)
    recipients: list[Person] = [primary] if primary else list(admins(session))
    # Ids and severity only: the kind and reason are health information (mentorbot alerts
    # list shows them to staff); a log file is not the place for them.
    log.info(
        "alert %s queued (%s, round %s) for %d recipient(s)%s",
        alert.id,
        alert.severity,
        tag,
        len(recipients),
        "" if primary else ": the student has no mentor, so the admins get it",
    )
    pushes = [
        Push(
            dedupe_key=f"alert:{alert.id}:{recipient.id}:{tag}",
            message=render_alert(alert, student, recipient),
            person=recipient,
            kind=OutboxKind.ALERT,
            urgent=alert.severity == AlertSeverity.URGENT,
            alert_id=alert.id,
        )
        for recipient in recipients
    ]
    if alert.severity == AlertSeverity.URGENT and settings.staff_channel:
        pushes.append(staff_channel_push(settings, alert, student, level=tag))
    return pushes


def unresolved_message_alert(session: Session, student_id: int) -> Alert | None:
    """The student's newest unresolved alert raised by what they wrote (crisis, concern)."""
    return session.exec(
        select(Alert)
        .where(
            Alert.student_id == student_id,
            col(Alert.kind).in_(tuple(FOLDING_RANK)),
            col(Alert.status).in_(UNRESOLVED),
        )
        .order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
    ).first()


def fold_into(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    alert: Alert,
    student: Person,
    kind: str,
    reason: str,
    excerpt: str | None,
    severity: str,
) -> None:
    """Fold another crisis or concern message into an unresolved alert.

    The fold is an event; a more severe message upgrades the alert (a concern becomes a
    crisis, urgent). A crisis message needs somebody to acknowledge it: if the alert was
    acknowledged already (or was only a concern), it opens again, re-escalation restarts and
    fresh urgent copies go out. Copies already delivered are edited to say how many messages
    came since.
    """
    assert alert.id is not None
    alert.folded_count += 1
    alert.last_folded_at = now
    if excerpt:
        alert.latest_excerpt = excerpt[:1000]
    # The event names the kind only: the student's words stay sealed in the alert.
    record_event(session, alert, now, "folded", detail=f"{kind} message folded in")
    upgraded = FOLDING_RANK[kind] > FOLDING_RANK.get(alert.kind, 0)
    if upgraded:
        record_event(session, alert, now, "upgraded", detail=f"{alert.kind} -> {kind}")
        alert.kind, alert.reason = kind, reason[:500]
    if severity == AlertSeverity.URGENT and alert.severity != AlertSeverity.URGENT:
        alert.severity = AlertSeverity.URGENT
    needs_ack = severity == AlertSeverity.URGENT and (upgraded or alert.status != AlertStatus.OPEN)
    if needs_ack:
        if alert.status != AlertStatus.OPEN:
            record_event(session, alert, now, "reopened", detail=f"was {alert.status}")
        alert.status = AlertStatus.OPEN
        alert.acknowledged_at = None
        alert.acknowledged_by = None
        alert.next_escalation_at = now + timedelta(minutes=settings.crisis_ack_minutes)
    session.add(alert)
    session.flush()
    queue_copy_updates(session, settings, now, alert, student, f"fold{alert.folded_count}")
    if needs_ack:
        queue_alert_copies(session, settings, now, alert, student, f"fold{alert.folded_count}")


def fold_signal(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    alert: Alert,
    student: Person,
    kind: str,
    category: Category,
) -> None:
    """Fold a signal that is not a message (a low mood score) into an unresolved message alert.

    The mentor reads one alert, not two: the alert's reason gains the signal's category
    ("Wish to be dead; Very low mood"), an event records the fold, and copies are brought up
    to date. The alert keeps its kind, severity and state (it already asks for a person), and
    `folded_count` still counts messages only.
    """
    assert alert.id is not None
    alert.reason = with_category(alert.reason, category)[:500]
    record_event(session, alert, now, "folded", detail=f"{kind} signal folded in")
    session.add(alert)
    session.flush()
    queue_copy_updates(session, settings, now, alert, student, f"{kind}:{now.isoformat()}")


def queue_copy_updates(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    alert: Alert,
    student: Person,
    tag: str,
) -> int:
    """Bring every copy of the alert up to date through the outbox; returns edits queued.

    A copy not yet sent simply goes out with the new content; a posted one gets an edit row
    (`OutboxKind.ALERT_UPDATE`, `Outbox.edit_of`), which the delivery loop applies in place.
    """
    rows = session.exec(
        select(Outbox)
        .where(Outbox.alert_id == alert.id, Outbox.kind == OutboxKind.ALERT)
        .order_by(col(Outbox.id))
    ).all()
    queued = 0
    for row in rows:
        recipient = session.get(Person, row.person_id) if row.person_id else None
        message = render_alert(alert, student, recipient)
        if row.status == OutboxStatus.PENDING:
            row.payload = message.to_json()
            session.add(row)
            continue
        if row.status not in (OutboxStatus.SENDING, OutboxStatus.SENT):
            continue  # a failed copy: the delivery loop already told someone about it
        key = f"alert:{alert.id}:{tag}:copy:{row.id}"
        address = Recipient(
            platform=row.platform,
            user_id=row.user_id or "",
            channel_id=row.platform_channel_id or row.channel_id,
        )
        queued += push_rows(
            session,
            [
                Push(
                    dedupe_key=key,
                    message=message,
                    person=recipient,
                    address=address,
                    kind=OutboxKind.ALERT_UPDATE,
                    urgent=alert.severity == AlertSeverity.URGENT,
                    alert_id=alert.id,
                )
            ],
            now,
            settings.default_timezone,
        )
        session.execute(
            update(Outbox)
            .where(col(Outbox.dedupe_key) == key)
            .values(edit_of=row.id)
            .execution_options(synchronize_session=False)
        )
    return queued


def staff_channel_push(
    settings: CoreSettings, alert: Alert, student: Person, level: int | str
) -> Push:
    """The on-call staff channel's copy of an alert."""
    assert settings.staff_channel is not None
    platform, _, channel = settings.staff_channel.partition(":")
    return Push(
        dedupe_key=f"alert:{alert.id}:staff:{level}",
        message=render_alert(alert, student, None),
        address=Recipient(platform=platform, user_id="", channel_id=channel),
        kind=OutboxKind.ALERT,
        urgent=alert.severity == AlertSeverity.URGENT,
        alert_id=alert.id,
    )


def render_alert(alert: Alert, student: Person, recipient: Person | None) -> Message:
    """The alert as a mentor sees it, with the one-click actions its state allows."""
    label = KIND_LABELS.get(alert.kind, alert.kind)
    prefix = "🚨 URGENT" if alert.severity == AlertSeverity.URGENT else "⚠️"
    fields = [
        Field("Student", f"{student.name} ({student.email})"),
        Field("Why", render_reason(alert.reason)),
    ]
    if alert.excerpt:
        fields.append(Field("They wrote", alert.excerpt))
    if alert.folded_count:
        more = (
            "1 more message" if alert.folded_count == 1 else f"{alert.folded_count} more messages"
        )
        fields.append(Field("Messages", more + " since"))
        if alert.latest_excerpt:
            fields.append(Field("Latest", alert.latest_excerpt))
    if alert.escalation_level:
        fields.append(Field("Escalation", f"step {alert.escalation_level}: not yet acknowledged"))
    state = ""
    if alert.status == AlertStatus.RESOLVED:
        state = " (resolved)"
    elif alert.status == AlertStatus.FOLLOWING_UP:
        state = " (being followed up)"
    elif alert.acknowledged_at is not None:
        state = " (acknowledged)"
    text = f"{prefix} {label}: {student.name}{state}"
    return Message(
        text=text,
        title=label,
        fields=tuple(fields),
        choices=alert_choices(alert),
        private=True,
        urgent=alert.severity == AlertSeverity.URGENT,
    )


def alert_choices(alert: Alert) -> tuple[Choice, ...]:
    """The buttons of an alert in its current state (none once resolved)."""
    if alert.status not in UNRESOLVED:
        return ()
    args = (("alert", str(alert.id)),)
    choices: list[Choice] = []
    if alert.status == AlertStatus.OPEN:
        choices.append(Choice("Acknowledge", "alert.ack", args, style="primary"))
    if alert.status != AlertStatus.FOLLOWING_UP:
        choices.append(Choice("I'll follow up", "alert.followup", args))
    choices.append(Choice("Resolve", RESOLVE_ACTION, args))
    return tuple(choices)


# The Resolve button: adapters answer it with a form (Slack and Discord modals, console
# prompts) that submits `RESOLVE_FORM`; pressed anywhere else, the core explains the command.
RESOLVE_ACTION = "alert.resolve"
RESOLVE_FORM = "alert.resolve"


def parse_alert_id(raw: str) -> int:
    """The alert id in `raw` ("12" or "#12"); a clear UserError for anything else."""
    return parse_record_id(
        raw, f"'{raw.strip()}' isn't an alert number. The numbers are in /alerts."
    )


def _alert_for_actor(
    session: Session, actor: Person, alert_id: str, now: datetime
) -> tuple[Alert, Person]:
    """The alert and its student, if the actor may act on it (audited); else a UserError."""
    alert = session.get(Alert, parse_alert_id(alert_id))
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
    """Record that a mentor acknowledged (or will follow up on) an alert; stops re-escalation.

    Pressing again is harmless; a resolved alert is refused (nothing is changed).
    """
    alert, student = _alert_for_actor(session, actor, alert_id, now)
    if alert.status == AlertStatus.RESOLVED:
        raise UserError(f"Alert #{alert.id} is already resolved, so there's nothing left to do.")
    if alert.status not in UNRESOLVED:
        raise UserError("I can't find that alert any more.")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by = actor.id
        record_event(session, alert, now, "acknowledged", actor.id)
    if follow_up and alert.status != AlertStatus.FOLLOWING_UP:
        alert.follow_up_at = now
        alert.follow_up_by = actor.id
        record_event(session, alert, now, "follow_up", actor.id)
    alert.status = (
        AlertStatus.FOLLOWING_UP
        if alert.follow_up_at and (follow_up or alert.status == AlertStatus.FOLLOWING_UP)
        else AlertStatus.ACKNOWLEDGED
    )
    alert.next_escalation_at = None
    session.add(alert)
    return alert, student


def render_acted(alert: Alert, student: Person, actor: Person) -> Message:
    """The alert message after someone acted on it (shown in place of the original).

    Until it is resolved it keeps the buttons that are left (follow up, resolve).
    """
    verb = "acknowledged"
    if alert.status == AlertStatus.RESOLVED:
        verb = "resolved"
    elif alert.status == AlertStatus.FOLLOWING_UP:
        verb = "will follow up on"
    label = KIND_LABELS.get(alert.kind, alert.kind)
    fields = [Field("Why", render_reason(alert.reason))]
    if alert.folded_count:
        fields.append(Field("Messages", f"{alert.folded_count + 1} in this alert"))
    if alert.status == AlertStatus.RESOLVED and alert.outcome:
        fields.append(Field("Outcome", OUTCOME_LABELS.get(alert.outcome, alert.outcome)))
    return Message(
        text=f"✅ {label}: {student.name}: {actor.name} {verb} this.",
        fields=tuple(fields),
        choices=alert_choices(alert),
    )


class Outcome(StrEnum):
    """How a resolved alert ended."""

    SPOKE = "spoke"
    COUNSELLING = "counselling"
    EMERGENCY = "emergency"
    NO_ACTION = "none"


OUTCOME_LABELS: dict[str, str] = {
    Outcome.SPOKE: "Spoke to the student",
    Outcome.COUNSELLING: "Referred to counselling",
    Outcome.EMERGENCY: "Referred to emergency services",
    Outcome.NO_ACTION: "No action needed",
}


def open_alerts_for(session: Session, actor: Person) -> Sequence[tuple[Alert, Person]]:
    """Unresolved alerts the actor may see: their students' (mentor) or all (admin).

    Urgent first, then newest first; acknowledged and followed-up alerts stay listed until
    someone resolves them.
    """
    query = (
        select(Alert, Person)
        .join(Person, col(Person.id) == Alert.student_id)
        .where(col(Alert.status).in_(UNRESOLVED))
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
            Outbox.kind == OutboxKind.ALERT,
            Outbox.status == OutboxStatus.SENT,
            col(Outbox.platform_message_id).is_not(None),
            col(Outbox.platform_channel_id).is_not(None),
        )
        .order_by(col(Outbox.id))
    ).all()
    return tuple(
        PostedCopy(row.platform, row.platform_channel_id or "", row.platform_message_id or "")
        for row in rows
    )
