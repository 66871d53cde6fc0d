"""Alerts: created by escalation rules or the safety screen, delivered to mentors via the outbox."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.args import parse_record_id
from bot.auth import can_view, require_role, require_view
from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import N_, _, current_language, ngettext, normalise_language, speaking
from bot.model import Choice, Field, Message, PostedCopy, Recipient
from bot.outbox import Push, push_rows
from bot.people import ADMIN, MENTOR, admins, mentors_of
from bot.safety.taxonomy import Category, render_reason, with_category
from bot.services.language import language_of, speaking_to
from bot.services.unrostered import contact_line, is_unrostered
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

# Marked for translation; shown with `kind_label` (or `_(KIND_LABELS[kind])`).
KIND_LABELS: dict[str, str] = {
    AlertKind.LOW_MOOD: N_("Low mood"),
    AlertKind.DROP: N_("Sharp mood drop"),
    AlertKind.MISSED: N_("Missed check-ins"),
    AlertKind.HELP: N_("Asked for help"),
    AlertKind.CONCERN: N_("Worrying message"),
    AlertKind.CRISIS: N_("CRISIS: needs contact now"),
    AlertKind.STUCK: N_("Goal stuck"),
}


def kind_label(kind: str) -> str:
    """An alert kind in the language being spoken (an unknown kind as stored)."""
    label = KIND_LABELS.get(kind)
    return _(label) if label is not None else kind


# The reasons the escalation rules store on an alert (English: the alert's record, stored
# once for every reader), read back in the reader's language by `reason_text`.
LOW_MOOD_REASON = N_("Mood {score}/5 (alert threshold {threshold})")
DROP_REASON = N_("Mood {score}/5, down {drop} from a {days}-day average of {average}")
# Not N_: read back with ngettext below (one catalog entry, with its plural forms).
MISSED_REASON = "{n} check-ins missed in a row"
# Stored by bot/services/meetings/records.py when a student misses meetings in a row.
MISSED_MEETINGS_REASON = "{n} meetings missed in a row"
HELP_REASON = N_("Asked to talk to their mentor")
_REASON_PATTERNS = tuple(
    (
        template,
        re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[0-9.]+)", re.escape(template))),
    )
    for template in (
        LOW_MOOD_REASON,
        DROP_REASON,
        MISSED_REASON,
        MISSED_MEETINGS_REASON,
        HELP_REASON,
    )
)


def reason_text(reason: str) -> str:
    """A stored alert reason in the language being spoken.

    The escalation rules' reasons are re-read from their stored English; safety codes go
    through `render_reason`; anything else is shown as stored.
    """
    for template, pattern in _REASON_PATTERNS:
        found = pattern.fullmatch(reason.strip())
        if found is None:
            continue
        values = found.groupdict()
        if template == MISSED_REASON:
            n = int(values["n"])
            return ngettext(
                "{n} check-ins missed in a row", "{n} check-ins missed in a row", n
            ).format(n=n)
        if template == MISSED_MEETINGS_REASON:
            n = int(values["n"])
            return ngettext(
                "{n} meetings missed in a row", "{n} meetings missed in a row", n
            ).format(n=n)
        return _(template).format(**values)
    return render_reason(reason)


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
    return _("your mentor") if first_responder(session, student.id) else _("the programme staff")


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
    pushes: list[Push] = []
    for recipient in recipients:
        # Each mentor (or admin) reads the alert in their own language.
        with speaking_to(recipient, settings):
            message = render_alert(alert, student, recipient, settings)
        pushes.append(
            Push(
                dedupe_key=f"alert:{alert.id}:{recipient.id}:{tag}",
                message=message,
                person=recipient,
                kind=OutboxKind.ALERT,
                urgent=alert.severity == AlertSeverity.URGENT,
                alert_id=alert.id,
            )
        )
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
        # The copy's reader's language (the staff channel's: the programme's default).
        with speaking_to(recipient, settings):
            message = render_alert(alert, student, recipient, settings)
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
    platform, _sep, channel = settings.staff_channel.partition(":")
    # The staff channel has no person: it reads the programme's default language.
    with speaking_to(None, settings):
        message = render_alert(alert, student, None, settings)
    return Push(
        dedupe_key=f"alert:{alert.id}:staff:{level}",
        message=message,
        address=Recipient(platform=platform, user_id="", channel_id=channel),
        kind=OutboxKind.ALERT,
        urgent=alert.severity == AlertSeverity.URGENT,
        alert_id=alert.id,
    )


def _reader_language(recipient: Person | None, settings: CoreSettings | None) -> str:
    """The language an alert's reader reads it in: theirs when known, else the one spoken."""
    if settings is not None and recipient is not None:
        return language_of(recipient, settings)
    if recipient is not None:
        for tag in (recipient.language, recipient.platform_language):
            chosen = normalise_language(tag)
            if chosen is not None:
                return chosen
    return current_language()


def _student_language(student: Person, settings: CoreSettings | None) -> str | None:
    """The language the student writes to us in, when it can be told (None: unknown)."""
    if settings is not None:
        return language_of(student, settings)
    return normalise_language(student.language) or normalise_language(student.platform_language)


def render_alert(
    alert: Alert,
    student: Person,
    recipient: Person | None,
    settings: CoreSettings | None = None,
) -> Message:
    """The alert as a mentor sees it, with the one-click actions its state allows.

    In the reader's language (`recipient`'s own, else the language being spoken: callers
    build it inside `speaking_to(recipient, settings)`). What the student wrote is quoted as
    they wrote it, never translated; when their language is not the reader's, its label says
    so ("They wrote (not translated)").
    """
    with speaking(_reader_language(recipient, settings)) as reader:
        student_language = _student_language(student, settings)
        untranslated = student_language is not None and student_language != reader
        return _render_alert(alert, student, untranslated=untranslated)


def _who(student: Person) -> list[Field]:
    """Who the alert is about: a student, or someone not on the roster and how to find them."""
    if not is_unrostered(student):
        return [Field(_("Student"), f"{student.name} ({student.email})")]
    return [
        Field(_("Not on the roster"), contact_line(student)),
        Field(
            _("Who gets this"),
            _(
                "They are not on the roster (perhaps the import missed them), so they have no "
                "mentor: on-call staff get this alert. Adding their email or platform id to "
                "the roster makes them a student and keeps this alert."
            ),
        ),
    ]


def _render_alert(alert: Alert, student: Person, *, untranslated: bool) -> Message:
    label = kind_label(alert.kind)
    prefix = _("🚨 URGENT") if alert.severity == AlertSeverity.URGENT else "⚠️"
    fields = [*_who(student), Field(_("Why"), reason_text(alert.reason))]
    # The student's own words: quoted, never translated, and labelled so when they may be
    # in another language than the rest of the alert.
    if alert.excerpt:
        wrote = _("They wrote (not translated)") if untranslated else _("They wrote")
        fields.append(Field(wrote, alert.excerpt))
    if alert.folded_count:
        more = ngettext(
            "{n} more message since", "{n} more messages since", alert.folded_count
        ).format(n=alert.folded_count)
        fields.append(Field(_("Messages"), more))
        if alert.latest_excerpt:
            latest = _("Latest (not translated)") if untranslated else _("Latest")
            fields.append(Field(latest, alert.latest_excerpt))
    if alert.escalation_level:
        fields.append(
            Field(
                _("Escalation"),
                _("step {level}: not yet acknowledged").format(level=alert.escalation_level),
            )
        )
    names = {"prefix": prefix, "label": label, "name": student.name}
    if alert.status == AlertStatus.RESOLVED:
        text = _("{prefix} {label}: {name} (resolved)").format(**names)
    elif alert.status == AlertStatus.FOLLOWING_UP:
        text = _("{prefix} {label}: {name} (being followed up)").format(**names)
    elif alert.acknowledged_at is not None:
        text = _("{prefix} {label}: {name} (acknowledged)").format(**names)
    else:
        text = "{prefix} {label}: {name}".format(**names)
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
        choices.append(Choice(_("Acknowledge"), "alert.ack", args, style="primary"))
    if alert.status != AlertStatus.FOLLOWING_UP:
        choices.append(Choice(_("I'll follow up"), "alert.followup", args))
    choices.append(Choice(_("Resolve"), RESOLVE_ACTION, args))
    return tuple(choices)


# The Resolve button: adapters answer it with a form (Slack and Discord modals, console
# prompts) that submits `RESOLVE_FORM`; pressed anywhere else, the core explains the command.
RESOLVE_ACTION = "alert.resolve"
RESOLVE_FORM = "alert.resolve"


def parse_alert_id(raw: str) -> int:
    """The alert id in `raw` ("12" or "#12"); a clear UserError for anything else."""
    return parse_record_id(
        raw, _("'{raw}' isn't an alert number. The numbers are in /alerts.").format(raw=raw.strip())
    )


def _alert_for_actor(
    session: Session, actor: Person, alert_id: str, now: datetime
) -> tuple[Alert, Person]:
    """The alert and its student, if the actor may act on it (audited); else a UserError."""
    alert = session.get(Alert, parse_alert_id(alert_id))
    if alert is None or alert.student_id is None:
        raise UserError(_("I can't find that alert any more."))
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
        raise UserError(
            _("Alert #{id} is already resolved, so there's nothing left to do.").format(id=alert.id)
        )
    if alert.status not in UNRESOLVED:
        raise UserError(_("I can't find that alert any more."))
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
    names = {"label": kind_label(alert.kind), "student": student.name, "actor": actor.name}
    if alert.status == AlertStatus.RESOLVED:
        text = _("✅ {label}: {student}: {actor} resolved this.").format(**names)
    elif alert.status == AlertStatus.FOLLOWING_UP:
        text = _("✅ {label}: {student}: {actor} will follow up on this.").format(**names)
    else:
        text = _("✅ {label}: {student}: {actor} acknowledged this.").format(**names)
    fields = [Field(_("Why"), reason_text(alert.reason))]
    if alert.folded_count:
        count = alert.folded_count + 1
        fields.append(
            Field(
                _("Messages"),
                ngettext("{n} in this alert", "{n} in this alert", count).format(n=count),
            )
        )
    if alert.status == AlertStatus.RESOLVED and alert.outcome:
        fields.append(Field(_("Outcome"), outcome_label(alert.outcome)))
    return Message(
        text=text,
        fields=tuple(fields),
        choices=alert_choices(alert),
    )


class Outcome(StrEnum):
    """How a resolved alert ended."""

    SPOKE = "spoke"
    COUNSELLING = "counselling"
    EMERGENCY = "emergency"
    NO_ACTION = "none"


# Marked for translation; shown with `outcome_label` (or `_(OUTCOME_LABELS[outcome])`).
OUTCOME_LABELS: dict[str, str] = {
    Outcome.SPOKE: N_("Spoke to the student"),
    Outcome.COUNSELLING: N_("Referred to counselling"),
    Outcome.EMERGENCY: N_("Referred to emergency services"),
    Outcome.NO_ACTION: N_("No action needed"),
}


def outcome_label(outcome: str) -> str:
    """How a resolved alert ended, in the language being spoken (unknown: as stored)."""
    label = OUTCOME_LABELS.get(outcome)
    return _(label) if label is not None else outcome


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
