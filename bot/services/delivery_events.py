"""What the services do about what the delivery loop saw (`bot.delivery.DeliveryEvents`).

The delivery loop moves rows to platforms and records their outcome; everything that needs
to know people, alerts or groups happens here: marking an alert delivered, sending an urgent
alert sideways while a route fails, telling someone who can act that a message was given up
on, reporting a platform that can't send, re-routing stranded rows and the urgent-alert
watchdog. The composition root hands an instance to `OutboxDelivery`.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import datetime

from sqlmodel import Session, select

from bot.config import CoreSettings
from bot.delivery import Claimed
from bot.i18n import N_, _, ngettext
from bot.model import Message
from bot.outbox import COPY_KINDS, Push, push_rows
from bot.people import STUDENT, admins, mentors_of
from bot.services.alerts import mark_delivered, record_event
from bot.services.groups import channel_mentors
from bot.services.language import speaking_to
from bot.services.routing import (
    describe_kind,
    go_sideways,
    report_platform_down,
    reroute_stranded,
)
from bot.services.watchdog import sound_alarms
from storage.enums import AlertStatus, OutboxKind
from storage.tables import Alert, Identity, Person

DMS_CLOSED_ADVICE = N_(
    "They have closed direct messages from the bot on {platform} (or blocked it), so check-ins "
    "and messages can't reach them there. Please ask them to allow direct messages from "
    "server members (the server's Privacy Settings) or simply to write to the bot once: I "
    "try again as soon as they do. Until then I won't retry, and won't tell you again."
)


class ServiceDeliveryEvents:
    """The services' answers to the delivery loop's news (see `bot.delivery.DeliveryEvents`)."""

    def __init__(self, settings: CoreSettings) -> None:
        self.settings = settings

    def reroute(self, session: Session, now: datetime, running: AbstractSet[str]) -> None:
        """Re-address pending rows stranded on platforms that do not run here."""
        reroute_stranded(session, self.settings, now, running)

    def watch(self, session: Session, now: datetime, running: AbstractSet[str]) -> None:
        """Sound the alarm for urgent alerts nobody received in time."""
        sound_alarms(session, self.settings, now, running)

    def delivered(self, session: Session, row: Claimed, at: datetime) -> None:
        """An alert's chat copy delivers the alert; its email is an event of the alert."""
        if row.alert_id is None:
            return
        if row.kind == OutboxKind.ALERT:
            # Only a chat copy reaches someone who can act on it (email says where).
            mark_delivered(session, row.alert_id, at, row.person_id)
        elif row.kind == OutboxKind.ALERT_EMAIL:
            alert = session.get(Alert, row.alert_id)
            if alert is not None:
                record_event(session, alert, at, "emailed", row.person_id)

    def holds_urgent_alert(self, session: Session, row: Claimed) -> bool:
        """True when the row is an urgent alert's chat copy still waiting for someone."""
        return self._urgent_alert(session, row) is not None

    def urgent_retry(
        self,
        session: Session,
        row: Claimed,
        error: str,
        now: datetime,
        *,
        platform_wide: bool,
        running: AbstractSet[str],
    ) -> None:
        """Move the alert one step sideways while nobody who can act on it has it."""
        # Locked by `holds_urgent_alert` in this transaction: no second SELECT .. FOR UPDATE.
        alert = self._urgent_alert(session, row, lock=False)
        if alert is None or not (alert.delivered_at is None or row.attempts == 1):
            return
        # Every failure moves the alert one step sideways while nobody who can act has it:
        # another platform of the same person, the next person, the staff channel (each
        # target once per alert).
        person = session.get(Person, row.person_id) if row.person_id else None
        who = person.name if person is not None else f"the {row.platform} channel"
        go_sideways(
            session,
            self.settings,
            now,
            alert,
            failed_person_id=row.person_id,
            failed_platform=row.platform,
            why=f"{row.platform} failed for {who}: {error[:200]}",
            platform_wide=platform_wide,
            running=running,
        )

    def platform_down(
        self,
        session: Session,
        now: datetime,
        platform: str,
        error: str,
        running: AbstractSet[str],
    ) -> None:
        """Tell the admins on every other route that the platform can't send."""
        report_platform_down(session, self.settings, now, platform, error, running)

    def delivery_failed(self, session: Session, row: Claimed, error: str, now: datetime) -> None:
        """Tell whoever can act on it that a row was given up on.

        A student's mentors hear of a message to the student, a group's mentors of a refused
        group conversation or channel post, the admins of everything else (and of a copy of
        an erased person's words left on a platform). Nobody hears of a failed notice: that
        could loop.
        """
        if row.kind == OutboxKind.DELIVERY_NOTICE:
            return
        if row.kind in COPY_KINDS:
            self._notify_copy_left(session, row, error, now)
            return
        person = session.get(Person, row.person_id) if row.person_id else None
        shape = "person" if person is not None else "address"
        targets: list[Person] = []
        if person is not None and person.id is not None and person.role == STUDENT:
            targets = [m for m in mentors_of(session, person.id).values()]
        elif person is None and row.member_ids:
            # A group conversation (a peer pairing): a Slack group DM, or a private thread
            # in a group's Discord channel, whose mentors hear of it (else the admins).
            shape = "group"
            if row.channel_id:
                targets = channel_mentors(session, row.platform, row.channel_id)
        elif person is None and row.channel_id:
            # A channel post (a workshop announcement, the staff channel): the bot may not
            # be in the channel. The mentors of a group bound to it can invite the bot or
            # rebind the group; for any other channel the admins hear of it below.
            targets = channel_mentors(session, row.platform, row.channel_id)
            shape = "bound channel" if targets else "channel"
        # What failed and, for an alert, whom it is about: every target here (the
        # student's mentors, a group's mentors, the admins) may know that.
        alert = session.get(Alert, row.alert_id) if row.alert_id is not None else None
        subject = (
            session.get(Person, alert.student_id)
            if alert is not None and alert.student_id is not None
            else None
        )
        if not targets:
            targets = list(admins(session))
        pushes: list[Push] = []
        for target in targets:
            if target.id == row.person_id:
                continue
            # Each mentor or admin reads the notice in their own language.
            with speaking_to(target, self.settings):
                notice = _failed_notice(row, error, shape, person, alert, subject)
            pushes.append(
                Push(
                    dedupe_key=f"failed:{row.id}:{target.id}",
                    message=notice,
                    person=target,
                    kind=OutboxKind.DELIVERY_NOTICE,
                    urgent=row.kind == OutboxKind.ALERT,
                )
            )
        push_rows(session, pushes, now, self.settings.default_timezone)

    def dms_closed(self, session: Session, row: Claimed, error: str, now: datetime) -> None:
        """Mark the identity "DMs closed" once and tell the student's mentors once, with what to do.

        Later refusals (the Messenger knows the mark and sends nothing) change nothing and tell
        no one; the mark goes when the person writes to the bot again (`resolve_actor`).
        """
        identity = session.exec(
            select(Identity).where(
                Identity.platform == row.platform, Identity.user_id == (row.user_id or "")
            )
        ).first()
        if identity is None:
            self.delivery_failed(session, row, error, now)
            return
        if identity.dms_closed_at is not None:
            return
        identity.dms_closed_at = now
        session.add(identity)
        person = session.get(Person, identity.person_id)
        if person is None or person.id is None:
            return
        targets: list[Person] = []
        if person.role == STUDENT:
            targets = list(mentors_of(session, person.id).values())
        if not targets:
            targets = list(admins(session))
        stamp = now.strftime("%Y%m%d%H%M%S")
        pushes: list[Push] = []
        for target in targets:
            if target.id == person.id:
                continue
            with speaking_to(target, self.settings):
                notice = Message(
                    title=_("Direct messages closed"),
                    text=_("I couldn't deliver {what} to {name} ({email}) on {platform}.").format(
                        what=describe_kind(row.kind, None),
                        name=person.name,
                        email=person.email,
                        platform=row.platform,
                    )
                    + " "
                    + _(DMS_CLOSED_ADVICE).format(platform=row.platform),
                )
            pushes.append(
                Push(
                    dedupe_key=f"dms-closed:{identity.id}:{stamp}:{target.id}",
                    message=notice,
                    person=target,
                    kind=OutboxKind.DELIVERY_NOTICE,
                )
            )
        push_rows(session, pushes, now, self.settings.default_timezone)

    def _urgent_alert(self, session: Session, row: Claimed, *, lock: bool = True) -> Alert | None:
        """The row's alert when it is an urgent chat copy still waiting for someone."""
        if not row.urgent or row.alert_id is None or row.kind != OutboxKind.ALERT:
            return None
        # Locked first: two copies of one alert failing at once go sideways one after the
        # other (inserting the same keys in opposite orders deadlocked on PostgreSQL).
        alert = session.get(Alert, row.alert_id, with_for_update=True if lock else None)
        if alert is None or alert.acknowledged_at is not None or alert.status != AlertStatus.OPEN:
            return None
        return alert

    def _notify_copy_left(self, session: Session, row: Claimed, error: str, now: datetime) -> None:
        """Tell the admins that a copy of an erased person's words is still on a platform.

        Nobody else can act on it: the person is erased, and the copy's reader (a mentor) may
        be who should not keep it. The notice names the message, never its content.
        """
        pushes: list[Push] = []
        for admin in admins(session):
            with speaking_to(admin, self.settings):
                notice = _copy_left_notice(row, error)
            pushes.append(
                Push(
                    dedupe_key=f"failed:{row.id}:{admin.id}",
                    message=notice,
                    person=admin,
                    kind=OutboxKind.DELIVERY_NOTICE,
                )
            )
        push_rows(session, pushes, now, self.settings.default_timezone)


def _failed_notice(
    row: Claimed,
    error: str,
    shape: str,
    person: Person | None,
    alert: Alert | None,
    subject: Person | None,
) -> Message:
    """A "delivery failed" notice in the language being spoken (see `delivery_failed`)."""
    if shape == "person" and person is not None:
        who = f"{person.name} ({person.email})"
        advice = _("Please reach them another way.")
    elif shape == "group":
        members = len((row.member_ids or "").split(","))
        who = ngettext(
            "a group conversation of {n} people", "a group conversation of {n} people", members
        ).format(n=members)
        advice = _("Please introduce them to each other another way.")
    elif shape in ("channel", "bound channel"):
        who = _("the {platform} channel {channel}").format(
            platform=row.platform, channel=row.channel_id
        )
        advice = (
            _("Please add the bot to that channel, or bind the group to another one (/group bind).")
            if shape == "bound channel"
            else _("Please add the bot to that channel.")
        )
    else:
        who = f"{row.platform}:{row.channel_id}"
        advice = _("Please reach them another way.")
    names = {
        "what": describe_kind(row.kind, alert),
        "who": who,
        "platform": row.platform,
        "error": error,
        "advice": advice,
    }
    if subject is not None:
        text = _(
            "I couldn't deliver {what} about {subject} to {who} on {platform}: {error}. {advice}"
        ).format(subject=f"{subject.name} ({subject.email})", **names)
    else:
        text = _("I couldn't deliver {what} to {who} on {platform}: {error}. {advice}").format(
            **names
        )
    return Message(title=_("Delivery failed"), text=text, urgent=row.kind == OutboxKind.ALERT)


def _copy_left_notice(row: Claimed, error: str) -> Message:
    """An admin's notice that a copy of an erased person's words is left on a platform."""
    names = {
        "platform": row.platform,
        "channel": row.channel_id,
        "message": row.target_message_id,
        "error": error,
    }
    if row.kind == OutboxKind.COPY_DELETE:
        text = _(
            "I couldn't delete a message I sent earlier (in {platform} channel {channel}, "
            "message {message}) that quoted or named someone who asked for their data to be "
            "erased: {error}. Please delete it by hand."
        ).format(**names)
    else:
        text = _(
            "I couldn't edit a message I sent earlier (in {platform} channel {channel}, "
            "message {message}) that quoted or named someone who asked for their data to be "
            "erased: {error}. Please delete it by hand."
        ).format(**names)
    return Message(title=_("Erasure: a copy is left"), text=text)
