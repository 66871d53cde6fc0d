"""The watchdog: urgent alerts that are stuck, and the loud alarm about them.

An urgent alert is stuck when it was not delivered to anyone who can act (a mentor, an admin
or the staff channel, in a chat) within `urgent_delivery_deadline_seconds`, or when nobody
acknowledged it within the re-escalation interval (`crisis_ack_minutes`) after it was
re-escalated (the first interval is the chain's: the backup mentor and the staff channel).
`stuck_urgent_alerts` is the one query for it: `mentorbot alerts list`, `mentorbot check`,
the health endpoint and metrics all ask it.

`sound_alarms` sends a stuck alert out on every channel that works: every admin on every
running chat platform, the staff channel, email and the webhook (an unacknowledged one
skips the staff channel: re-escalation re-posts it there every interval).
"""

from __future__ import annotations

import logging
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.i18n import DEFAULT_LANGUAGE, _, speaking
from bot.model import Field, Message, Recipient
from bot.outbox import CHAT_PLATFORMS, Push, push_rows, running_platforms
from bot.people import admins
from bot.services.alerts import record_event
from bot.services.language import speaking_in_group, speaking_to
from bot.services.routing import EMAIL, WEBHOOK, describe_kind, email_push, label_of
from storage.enums import AlertSeverity, AlertStatus, OutboxKind
from storage.tables import Alert, Identity, Person

log = logging.getLogger(__name__)

UNDELIVERED, UNACKNOWLEDGED = "undelivered", "unacknowledged"


@dataclass(frozen=True)
class StuckAlert:
    """An urgent alert nobody has acted on in time, and why it counts as stuck."""

    alert_id: int
    kind: str
    age: timedelta
    # Why, in the language spoken when it was found (`why_in_words` says it in another).
    why: str
    # UNDELIVERED (nobody who can act has it) or UNACKNOWLEDGED (delivered, not acknowledged).
    reason: str
    created_at: datetime


def _minutes(seconds: float) -> str:
    if seconds < 180:
        return _("{n} s").format(n=int(seconds))
    return _("{n} min").format(n=int(seconds // 60))


def why_in_words(reason: str, age: timedelta, settings: CoreSettings) -> str:
    """Why a stuck alert is stuck, in the language being spoken."""
    if reason == UNDELIVERED:
        deadline = settings.urgent_delivery_deadline_seconds
        return _("not delivered to anyone who can act within {deadline} (waiting {age})").format(
            deadline=_minutes(deadline), age=_minutes(age.total_seconds())
        )
    return _("not acknowledged within {n} min of its re-escalation (waiting {age})").format(
        n=settings.crisis_ack_minutes, age=_minutes(age.total_seconds())
    )


def stuck_urgent_alerts(
    session: Session, settings: CoreSettings, now: datetime
) -> list[StuckAlert]:
    """Open, unacknowledged urgent alerts past the delivery deadline or the ack interval.

    Oldest first. Undelivered beats unacknowledged as the reason (it is the worse one).
    """
    deadline = timedelta(seconds=settings.urgent_delivery_deadline_seconds)
    ack = timedelta(minutes=settings.crisis_ack_minutes)
    alerts = session.exec(
        select(Alert)
        .where(
            col(Alert.severity) == AlertSeverity.URGENT,
            col(Alert.status) == AlertStatus.OPEN,
            col(Alert.acknowledged_at).is_(None),
            col(Alert.created_at) <= now - min(deadline, ack),
        )
        .order_by(col(Alert.created_at), col(Alert.id))
    ).all()
    stuck: list[StuckAlert] = []
    for alert in alerts:
        assert alert.id is not None
        age = now - alert.created_at
        if alert.delivered_at is None and age >= deadline:
            reason = UNDELIVERED
        elif age >= 2 * ack:
            # The first interval belongs to the chain (re-escalation to the backup, or the
            # admins, and the staff channel); unacknowledged one interval after that, it is
            # stuck.
            reason = UNACKNOWLEDGED
        else:
            continue
        why = why_in_words(reason, age, settings)
        stuck.append(StuckAlert(alert.id, alert.kind, age, why, reason, alert.created_at))
    return stuck


def sound_alarms(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    running: AbstractSet[str] | None = None,
) -> int:
    """Send every stuck urgent alert out on every channel that works; returns rows queued.

    Undelivered: once. Unacknowledged: once per re-escalation interval it stays so. Keyed, so
    several delivery loops sound each alarm once.
    """
    if running is None:
        running = running_platforms(session)
    stuck = stuck_urgent_alerts(session, settings, now)
    if not stuck:
        return 0
    staff_admins = [a for a in admins(session) if a.deleted_at is None]
    identities = session.exec(
        select(Identity).where(col(Identity.person_id).in_([a.id for a in staff_admins]))
    ).all()
    interval = max(60, settings.crisis_ack_minutes * 60)
    queued = 0
    for item in stuck:
        alert = session.get(Alert, item.alert_id)
        assert alert is not None
        student = session.get(Person, alert.student_id) if alert.student_id is not None else None
        # Undelivered: once. Unacknowledged: again at every further interval.
        round_ = 0 if item.reason == UNDELIVERED else int(item.age.total_seconds() // interval)
        key = f"alarm:{alert.id}:{item.reason}:{round_}"
        # Admins and the staff channel are entitled to know whom it is about; the email and
        # the webhook are not told. Each admin reads it in their own language.
        pushes: list[Push] = []
        people = {a.id: a for a in staff_admins}
        for identity in identities:
            if identity.platform not in CHAT_PLATFORMS:
                continue
            if running is not None and identity.platform not in running:
                continue
            with speaking_to(people[identity.person_id], settings):
                chat = _alarm_chat(settings, alert, student, item)
            pushes.append(
                Push(
                    dedupe_key=f"{key}:{identity.person_id}:{identity.platform}",
                    message=chat,
                    person=people[identity.person_id],
                    address=Recipient(identity.platform, identity.user_id, identity.dm_channel_id),
                    kind=OutboxKind.ALARM,
                    urgent=True,
                    alert_id=alert.id,
                )
            )
        # Unacknowledged urgent alerts are re-posted to the staff channel at every interval
        # by re-escalation (bot.services.reescalation); the alarm does not post a second copy.
        if settings.staff_channel and item.reason == UNDELIVERED:
            platform, _sep, channel = settings.staff_channel.partition(":")
            if running is None or platform in running:
                with speaking_in_group(None, settings):
                    chat = _alarm_chat(settings, alert, student, item)
                pushes.append(
                    Push(
                        dedupe_key=f"{key}:staff",
                        message=chat,
                        address=Recipient(platform, "", channel),
                        kind=OutboxKind.ALARM,
                        urgent=True,
                        alert_id=alert.id,
                    )
                )
        if running is not None and EMAIL in running:
            for admin in staff_admins:
                with speaking_to(admin, settings):
                    bare = _alarm_bare(settings, alert, item)
                pushes.append(
                    email_push(f"{key}:{admin.id}:email", bare, admin, OutboxKind.ALARM, alert.id)
                )
        if running is not None and WEBHOOK in running:
            # A machine reads the webhook (a paging system): it stays English.
            with speaking(DEFAULT_LANGUAGE):
                bare = _alarm_bare(settings, alert, item)
            pushes.append(
                Push(
                    dedupe_key=f"{key}:webhook",
                    message=Message(
                        title="urgent_alert_stuck",
                        text=bare.text,
                        fields=(
                            Field("alert_id", str(alert.id)),
                            Field("kind", alert.kind),
                            Field("reason", item.reason),
                        ),
                        urgent=True,
                    ),
                    address=Recipient(WEBHOOK, "", None),
                    kind=OutboxKind.ALARM,
                    urgent=True,
                    alert_id=alert.id,
                )
            )
        new = push_rows(session, pushes, now, settings.default_timezone)
        if new:
            routes = sorted({p.address.platform for p in pushes if p.address is not None})
            record_event(
                session,
                alert,
                now,
                "alarm",
                detail=f"{item.why}; alarm queued on {', '.join(routes)}",
            )
            log.error("ALARM: urgent alert %s is %s", alert.id, item.why)
        elif not pushes:
            log.error("ALARM: urgent alert %s is %s, and no channel works", alert.id, item.why)
        queued += new
    return queued


def _alarm_chat(
    settings: CoreSettings, alert: Alert, student: Person | None, item: StuckAlert
) -> Message:
    """The alarm for admins and the staff channel, in the language being spoken."""
    why = why_in_words(item.reason, item.age, settings)
    text = (
        _(
            "🚨 ALARM: {what} (#{id}) about {name} ({email}) is {why}. "
            "Please act on it now: /alerts, or `mentorbot alerts list`."
        )
        if student is not None
        else _(
            "🚨 ALARM: {what} (#{id}) is {why}. "
            "Please act on it now: /alerts, or `mentorbot alerts list`."
        )
    )
    return Message(
        title=_("ALARM: an urgent alert is stuck"),
        text=text.format(
            what=describe_kind("alert", alert),
            id=alert.id,
            name=student.name if student is not None else "",
            email=student.email if student is not None else "",
            why=why,
        ),
        fields=(Field(_("Alert"), f"#{alert.id} {label_of(alert)}"),),
        urgent=True,
    )


def _alarm_bare(settings: CoreSettings, alert: Alert, item: StuckAlert) -> Message:
    """The alarm for email and the webhook: no student name, in the language being spoken."""
    return Message(
        title=_("ALARM: urgent alert #{id} is stuck").format(id=alert.id),
        text=_(
            "Urgent alert #{id} ({kind}) is {why}. Someone must act "
            "on it now: open the chat, or run `mentorbot alerts list` on the server."
        ).format(id=alert.id, kind=alert.kind, why=why_in_words(item.reason, item.age, settings)),
        urgent=True,
    )
