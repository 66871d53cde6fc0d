"""The alert lifecycle: open -> acknowledged -> following up -> resolved.

Every transition is checked (the actor must be the student's mentor, backup mentor or an
admin; a resolved alert stays resolved), recorded as an `AlertEvent`, and returns what the
adapters need to bring every delivered copy of the alert in step (`Reply.also_update`).

* Acknowledging stops re-escalation. The first acknowledgement of an alert raised by what a
  student wrote tells the student, once and gently, that a person has seen it
  (`CoreSettings.tell_student_when_seen`), through the outbox.
* "I'll follow up" arms a reminder to that mentor `follow_up_reminder_hours` later, repeated
  every as many hours until the alert is resolved (`send_due_follow_up_reminders`, run by the
  minute tick; outbox keys name the alert and the reminder number, so a reminder is never
  sent twice).
* Resolving needs an outcome (`Outcome`) and a note, which is sealed at rest like a mentor's
  note; it ends re-escalation and reminders.

Folding repeated crisis and concern messages into an unresolved alert lives next to
`raise_alert` (bot/services/alerts.py: `fold_into`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import N_, _
from bot.model import Message, PostedCopy
from bot.outbox import Push, push_rows
from bot.services.alerts import (
    UNRESOLVED,
    Outcome,
    _alert_for_actor,
    acknowledge,
    first_responder,
    kind_label,
    outcome_label,
    posted_copies,
    record_event,
    render_acted,
    render_alert,
)
from bot.services.language import speaking_to
from bot.services.unrostered import is_unrostered
from storage.enums import AlertKind, AlertSeverity, AlertStatus, OutboxKind
from storage.tables import Alert, Person

# Alerts raised by something the student wrote or asked: they are told a person has seen it.
TOLD_WHEN_SEEN_KINDS = frozenset({AlertKind.CRISIS, AlertKind.CONCERN, AlertKind.HELP})
# A resolution note is for the record, not an essay; MentorNote has no cap, alerts do.
MAX_NOTE = 2000
STUDENT_SEEN_TEXT = N_(
    "A quick note: a person from the mentoring programme has seen your message and will be in "
    "touch. If you feel unsafe before then, please contact one of the crisis lines or "
    "emergency services straight away (type /resources crisis)."
)
UNROSTERED_SEEN_TEXT = N_(
    "A quick note: a person from the mentoring programme has seen your message and will be in "
    "touch. If you feel unsafe before then, please contact one of the crisis lines or "
    "emergency services straight away."
)
# Words a mentor may type for each outcome (`/alerts resolve 12 counselling ...`).
OUTCOME_WORDS: dict[str, Outcome] = {
    "spoke": Outcome.SPOKE,
    "spoken": Outcome.SPOKE,
    "talked": Outcome.SPOKE,
    "counselling": Outcome.COUNSELLING,
    "counseling": Outcome.COUNSELLING,
    "referred": Outcome.COUNSELLING,
    "emergency": Outcome.EMERGENCY,
    "none": Outcome.NO_ACTION,
    "no_action": Outcome.NO_ACTION,
    "no-action": Outcome.NO_ACTION,
    "nothing": Outcome.NO_ACTION,
}
# The words typed stay English (like commands); only the sentences around them are translated.
# The outcome words are typed as they are in every language; only the "or" is translated.
OUTCOME_HELP = N_("spoke, counselling, emergency or none")


@dataclass(frozen=True)
class Transition:
    """The result of acting on an alert: its new state and every delivered copy to update."""

    alert: Alert
    student: Person
    update: Message
    copies: tuple[PostedCopy, ...]


def parse_outcome(raw: str) -> Outcome:
    """The outcome a mentor typed or picked; a clear UserError naming the choices otherwise."""
    word = raw.strip().lower()
    if not word:
        raise UserError(_("Please say how it ended: {choices}.").format(choices=_(OUTCOME_HELP)))
    outcome = OUTCOME_WORDS.get(word)
    if outcome is None:
        raise UserError(
            _("'{raw}' isn't an outcome I know. Use {choices}.").format(
                raw=raw.strip(), choices=_(OUTCOME_HELP)
            )
        )
    return outcome


def _transition(session: Session, alert: Alert, student: Person, actor: Person) -> Transition:
    assert alert.id is not None
    session.flush()
    return Transition(
        alert=alert,
        student=student,
        update=render_acted(alert, student, actor),
        copies=posted_copies(session, alert.id),
    )


def acknowledge_alert(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    actor: Person,
    alert_id: str,
    *,
    follow_up: bool = False,
) -> Transition:
    """Acknowledge an alert, or promise to follow it up (which acknowledges it too)."""
    alert, student = acknowledge(session, now, actor, alert_id, follow_up=follow_up)
    if follow_up and alert.next_follow_up_at is None:
        alert.next_follow_up_at = now + timedelta(hours=settings.follow_up_reminder_hours)
        session.add(alert)
    tell_student_once(session, settings, now, alert, student)
    return _transition(session, alert, student, actor)


def check_can_resolve(session: Session, now: datetime, actor: Person, alert_id: str) -> Alert:
    """The alert, if the actor may resolve it now (before a form is shown); else a UserError."""
    alert, _student = _alert_for_actor(session, actor, alert_id, now)
    _require_unresolved(alert)
    return alert


def _require_unresolved(alert: Alert) -> None:
    if alert.status == AlertStatus.RESOLVED:
        raise UserError(
            _("Alert #{id} is already resolved, so there's nothing left to do.").format(id=alert.id)
        )
    if alert.status not in UNRESOLVED:
        raise UserError(_("I can't find that alert any more."))


def resolve_alert(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    actor: Person,
    alert_id: str,
    outcome_raw: str,
    note: str,
) -> Transition:
    """Resolve an alert with an outcome and a note; refused, changing nothing, otherwise.

    Checks run before anything is written: the alert, the actor's right to it, that it is
    not resolved already, the outcome, and a note.
    """
    alert, student = _alert_for_actor(session, actor, alert_id, now)
    _require_unresolved(alert)
    outcome = parse_outcome(outcome_raw)
    text = note.strip()
    if not text:
        raise UserError(
            _(
                "Please add a short note on what happened, e.g. "
                "/alerts resolve {id} {outcome} Called Sam, feeling safer, GP on Friday"
            ).format(id=alert.id, outcome=outcome.value)
        )
    if len(text) > MAX_NOTE:
        raise UserError(
            _("Please keep the note under {limit} characters.").format(limit=f"{MAX_NOTE:,}")
        )
    if alert.acknowledged_at is None:
        # Resolving is the strongest acknowledgement: the record says who and when.
        alert.acknowledged_at = now
        alert.acknowledged_by = actor.id
        record_event(session, alert, now, "acknowledged", actor.id)
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = now
    alert.resolved_by = actor.id
    alert.outcome = outcome.value
    alert.resolution_note = text
    alert.next_escalation_at = None
    alert.next_follow_up_at = None
    session.add(alert)
    # The outcome only: the note is sealed in the alert, event details are plain text.
    record_event(session, alert, now, "resolved", actor.id, detail=outcome.value)
    tell_student_once(session, settings, now, alert, student)
    return _transition(session, alert, student, actor)


def tell_student_once(
    session: Session, settings: CoreSettings, now: datetime, alert: Alert, student: Person
) -> bool:
    """Tell the student that a person has seen their message, once per alert; True if queued.

    Only for alerts raised by what the student wrote or asked, when the setting is on. The
    claim is a conditional update, so two mentors acknowledging at once tell them once.
    """
    if not settings.tell_student_when_seen or alert.kind not in TOLD_WHEN_SEEN_KINDS:
        return False
    if alert.student_told_at is not None or not student.active or student.deleted_at:
        return False
    claimed = session.execute(
        update(Alert)
        .where(col(Alert.id) == alert.id, col(Alert.student_told_at).is_(None))
        .values(student_told_at=now)
        .returning(col(Alert.id))
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return False
    set_committed_value(alert, "student_told_at", now)
    # Told in the student's language, whoever acted.
    with speaking_to(student, settings):
        # Someone not on the roster can't use /resources: the lines are in their crisis card.
        seen = Message(
            text=_(UNROSTERED_SEEN_TEXT if is_unrostered(student) else STUDENT_SEEN_TEXT)
        )
    push_rows(
        session,
        [
            Push(
                dedupe_key=f"alert:{alert.id}:seen",
                message=seen,
                person=student,
                kind=OutboxKind.ALERT_SEEN,
                # Urgent for a crisis: a student waiting in the night should not wait for 08:00.
                urgent=alert.severity == AlertSeverity.URGENT,
            )
        ],
        now,
        settings.default_timezone,
    )
    record_event(session, alert, now, "student_told", student.id)
    return True


def send_due_follow_up_reminders(session: Session, settings: CoreSettings, now: datetime) -> int:
    """Remind each mentor who said "I'll follow up" on an alert still unresolved; a count.

    Each reminder is claimed by moving `next_follow_up_at` on with a conditional update, so
    two schedulers never send the same one; its outbox key names the alert and the number.
    """
    due = session.exec(
        select(Alert)
        .where(
            col(Alert.status).in_(UNRESOLVED),
            col(Alert.next_follow_up_at).is_not(None),
            col(Alert.next_follow_up_at) <= now,
        )
        .order_by(col(Alert.id))
    ).all()
    interval = timedelta(hours=settings.follow_up_reminder_hours)
    sent = 0
    for alert in due:
        number = alert.follow_up_reminders + 1
        claimed = session.execute(
            update(Alert)
            .where(
                col(Alert.id) == alert.id,
                col(Alert.follow_up_reminders) == alert.follow_up_reminders,
            )
            .values(follow_up_reminders=number, next_follow_up_at=now + interval)
            .returning(col(Alert.id))
            .execution_options(synchronize_session=False)
        ).first()
        if claimed is None:
            continue
        mentor = session.get(Person, alert.follow_up_by) if alert.follow_up_by else None
        student = session.get(Person, alert.student_id) if alert.student_id else None
        if student is None:
            continue
        if mentor is None or not mentor.active or mentor.deleted_at is not None:
            # The mentor who promised is gone: remind whoever is told first now.
            assert student.id is not None
            mentor = first_responder(session, student.id)
            if mentor is None:
                continue
        with speaking_to(mentor, settings):
            reminder = render_follow_up_reminder(alert, student, mentor)
        push_rows(
            session,
            [
                Push(
                    dedupe_key=f"alert:{alert.id}:followup:{number}",
                    message=reminder,
                    person=mentor,
                    kind=OutboxKind.ALERT_REMINDER,
                    urgent=alert.severity == AlertSeverity.URGENT,
                    alert_id=alert.id,
                )
            ],
            now,
            settings.default_timezone,
        )
        record_event(
            session, alert, now, "follow_up_reminder", mentor.id, detail=f"reminder {number}"
        )
        sent += 1
    return sent


def render_follow_up_reminder(alert: Alert, student: Person, mentor: Person) -> Message:
    """The reminder: which alert, since when, and the buttons to resolve it.

    In the language being spoken (the job speaks the mentor's: `speaking_to`).
    """
    alert_message = render_alert(alert, student, mentor)
    return Message(
        title=_("Follow-up reminder"),
        text=_(
            "You said you'd follow up on alert #{id} ({label}: {name}). "
            "Once you have, resolve it with how it went and a short note, or type "
            "/alerts resolve {id} OUTCOME NOTE ({choices})."
        ).format(
            id=alert.id, label=kind_label(alert.kind), name=student.name, choices=_(OUTCOME_HELP)
        ),
        fields=alert_message.fields,
        choices=alert_message.choices,
        urgent=alert.severity == AlertSeverity.URGENT,
    )


def outcome_choices() -> tuple[tuple[str, str], ...]:
    """(value, label) of each outcome, in the order forms list them."""
    return tuple((outcome.value, outcome_label(outcome)) for outcome in Outcome)
