"""Routing alerts to someone who can act, whatever runs and whatever fails.

An alert's chain is its primary mentor, the backup mentor, the admins, then the on-call staff
channel. A copy that cannot go where it was addressed (nobody of theirs runs here, or a send
failed) goes *sideways* at once to the next step of the chain that is reachable over another
route, and the alert's history records who it was queued for; "delivered" events (written by
the delivery loop) say who it actually reached. Urgent alerts also go out on the side
channels that do not depend on chat: email to the mentor, backup and admins, and a signed
webhook for a paging system, both through the outbox like every other push.

Also here: moving rows stranded on a platform that does not run (a configuration change, a
process that addressed them without knowing), and reporting a platform that cannot send at
all (a revoked token) on the admins' other routes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.i18n import DEFAULT_LANGUAGE, N_, _, speaking
from bot.model import Field, Message, Recipient
from bot.outbox import (
    CHAT_PLATFORMS,
    COPY_KINDS,
    KNOWN_PLATFORMS,
    UNROUTED,
    Push,
    choose_address,
    push_rows,
    running_platforms,
)
from bot.people import admins, mentors_of
from bot.services.alerts import KIND_LABELS, record_event, render_alert, staff_channel_push
from bot.services.language import speaking_in_group, speaking_to
from storage.enums import AlertKind, AlertSeverity, OutboxKind, OutboxStatus
from storage.tables import Alert, Identity, Outbox, Person

log = logging.getLogger(__name__)

EMAIL, WEBHOOK = "email", "webhook"

# What a kind of message is, for people reading a failure notice or `delivery status`
# (marked here, translated where shown: `describe_kind`).
KIND_NAMES: dict[str, str] = {
    OutboxKind.ALERT: N_("an alert"),
    OutboxKind.ALERT_EMAIL: N_("an alert email"),
    OutboxKind.ALERT_WEBHOOK: N_("an alert webhook"),
    OutboxKind.ALARM: N_("an alarm about a stuck alert"),
    OutboxKind.CHECKIN: N_("a check-in"),
    OutboxKind.REMINDER: N_("a check-in reminder"),
    OutboxKind.NUDGE: N_("a goal nudge"),
    OutboxKind.DELIVERY_NOTICE: N_("a delivery-failure notice"),
    OutboxKind.PLATFORM_NOTICE: N_("a platform-failure report"),
    OutboxKind.MESSAGE: N_("a message"),
}


# An alert's kind as a whole phrase, so a translation can agree article, adjective and noun.
ALERT_PHRASES: dict[str, str] = {
    AlertKind.CRISIS: N_("a crisis alert"),
    AlertKind.LOW_MOOD: N_("a low-mood alert"),
    AlertKind.DROP: N_("a mood-drop alert"),
    AlertKind.MISSED: N_("a missed-check-ins alert"),
    AlertKind.HELP: N_("a help-request alert"),
    AlertKind.CONCERN: N_("a worrying-message alert"),
    AlertKind.STUCK: N_("a stuck-goal alert"),
}
URGENT_ALERT_PHRASES: dict[str, str] = {
    AlertKind.CRISIS: N_("an urgent crisis alert"),
    AlertKind.LOW_MOOD: N_("an urgent low-mood alert"),
    AlertKind.DROP: N_("an urgent mood-drop alert"),
    AlertKind.MISSED: N_("an urgent missed-check-ins alert"),
    AlertKind.HELP: N_("an urgent help-request alert"),
    AlertKind.CONCERN: N_("an urgent worrying-message alert"),
    AlertKind.STUCK: N_("an urgent stuck-goal alert"),
}


def email_push(
    dedupe_key: str, message: Message, person: Person, kind: str, alert_id: int | None = None
) -> Push:
    """An urgent email to a person's roster address (email never waits for quiet hours)."""
    return Push(
        dedupe_key=dedupe_key,
        message=message,
        person=person,
        address=Recipient(EMAIL, person.email, None),
        kind=kind,
        urgent=True,
        alert_id=alert_id,
    )


def describe_kind(kind: str, alert: Alert | None = None) -> str:
    """What a message of this kind is, in words ("an urgent crisis alert", "a check-in")."""
    if alert is not None and kind in (
        OutboxKind.ALERT,
        OutboxKind.ALERT_EMAIL,
        OutboxKind.ALERT_WEBHOOK,
    ):
        urgent = alert.severity == AlertSeverity.URGENT
        phrases = URGENT_ALERT_PHRASES if urgent else ALERT_PHRASES
        if alert.kind in phrases:
            return _(phrases[alert.kind])
        noun = alert.kind.replace("_", " ")
        if urgent:
            return _("an urgent {kind} alert").format(kind=noun)
        if noun[0] in "aeiou":
            return _("an {kind} alert").format(kind=noun)
        return _("a {kind} alert").format(kind=noun)
    if kind in KIND_NAMES:
        return _(KIND_NAMES[kind])
    return _("a {kind} message").format(kind=kind.replace("_", " "))


@dataclass(frozen=True)
class Route:
    """Where one copy of an alert was queued: a person on a platform, or a channel."""

    address: Recipient
    person: Person | None

    @property
    def label(self) -> str:
        """Who and where, for the alert's history."""
        if self.person is None:
            return f"the staff channel on {self.address.platform}"
        return f"{self.person.name} on {self.address.platform}"


def _identities(session: Session, person_id: int | None) -> Sequence[Identity]:
    return session.exec(select(Identity).where(Identity.person_id == person_id)).all()


def reachable(
    session: Session,
    person: Person,
    running: AbstractSet[str] | None,
    avoid: AbstractSet[str] = frozenset(),
) -> Recipient | None:
    """The person's chat address on a running platform outside `avoid`, or None."""
    if not person.active or person.deleted_at is not None:
        return None
    running_chat = None if running is None else frozenset(running) & frozenset(CHAT_PLATFORMS)
    address = choose_address(person, _identities(session, person.id), running_chat, avoid=avoid)
    return None if address.platform == UNROUTED else address


def alert_chain(session: Session, alert: Alert) -> list[list[Person]]:
    """The people an alert turns to, step by step: primary, backup, then all the admins."""
    steps: list[list[Person]] = []
    seen: set[int | None] = set()
    primary = session.get(Person, alert.mentor_id) if alert.mentor_id is not None else None
    mentors = mentors_of(session, alert.student_id) if alert.student_id is not None else {}
    for person in (primary, mentors.get("backup")):
        if person is not None and person.id not in seen:
            steps.append([person])
            seen.add(person.id)
    staff = [a for a in admins(session) if a.id not in seen and a.deleted_at is None]
    if staff:
        steps.append(staff)
    return steps


def _staff_address(settings: CoreSettings) -> Recipient | None:
    if not settings.staff_channel:
        return None
    platform, _sep, channel = settings.staff_channel.partition(":")
    return Recipient(platform=platform, user_id="", channel_id=channel)


def go_sideways(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    alert: Alert,
    *,
    failed_person_id: int | None,
    failed_platform: str,
    why: str,
    platform_wide: bool,
    running: AbstractSet[str] | None = None,
) -> list[Route]:
    """Queue the alert for the next step of its chain reachable over another route.

    After a person: their other running platforms first when the platform itself failed,
    then the next people of the chain (the first step with anyone reachable), then the staff
    channel. After the staff channel: the admins. Each target is queued at most once per
    alert (keyed), so every further failure moves one step down the chain. Records what it
    did as a `rerouted` event; logs an error when nobody is left.
    """
    assert alert.id is not None
    if running is None:
        running = running_platforms(session)
    avoid = frozenset({failed_platform}) if platform_wide else frozenset()
    student = session.get(Person, alert.student_id) if alert.student_id is not None else None
    steps = alert_chain(session, alert)
    after_staff = failed_person_id is None
    candidates: list[list[Person]] = []
    if after_staff:
        candidates = [steps[-1]] if steps else []
    else:
        index = next(
            (i for i, step in enumerate(steps) if any(p.id == failed_person_id for p in step)),
            -1,
        )
        if platform_wide and index >= 0:
            candidates.append([p for p in steps[index] if p.id == failed_person_id])
        candidates += steps[index + 1 :]
    routes: list[Route] = []
    if student is not None:
        # Whoever holds a live copy already (another failure's sideways step, the original)
        # is skipped: each failure reaches the *next* person, never a duplicate.
        copies = session.exec(
            select(Outbox.person_id, Outbox.platform).where(
                Outbox.alert_id == alert.id,
                Outbox.kind == OutboxKind.ALERT,
                col(Outbox.status).in_(
                    (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT)
                ),
            )
        ).all()
        holders = {person_id for person_id, _platform in copies if person_id is not None}
        held = set(copies)
        for step in candidates:
            pushes: list[Push] = []
            step_routes: list[Route] = []
            for person in step:
                if person.id == failed_person_id:
                    # The same person, only over a platform they have no copy on yet.
                    tried = {platform for pid, platform in held if pid == person.id}
                    skip = avoid | {failed_platform} | tried
                elif person.id in holders:
                    continue
                else:
                    skip = avoid
                address = reachable(session, person, running, skip)
                if address is None:
                    continue
                with speaking_to(person, settings):
                    message = render_alert(alert, student, person)
                pushes.append(
                    Push(
                        dedupe_key=f"alert:{alert.id}:to:{person.id}:{address.platform}",
                        message=message,
                        person=person,
                        address=address,
                        kind=OutboxKind.ALERT,
                        urgent=alert.severity == AlertSeverity.URGENT,
                        alert_id=alert.id,
                    )
                )
                step_routes.append(Route(address, person))
            if pushes and push_rows(session, pushes, now, settings.default_timezone):
                routes = step_routes
                break
        staff = _staff_address(settings)
        if (
            not routes
            and not after_staff
            and staff is not None
            and (running is None or staff.platform in running)
            and staff.platform not in avoid
            and push_rows(
                session,
                [_staff_copy(settings, alert, student)],
                now,
                settings.default_timezone,
            )
        ):
            routes = [Route(staff, None)]
    if routes:
        detail = f"{why}; queued for " + ", ".join(r.label for r in routes)
    else:
        detail = f"{why}; nobody further can be reached over another route"
        log.error("alert %s (%s) could not be routed any further: %s", alert.id, alert.kind, why)
    record_event(session, alert, now, "rerouted", failed_person_id, detail)
    return routes


def _staff_copy(settings: CoreSettings, alert: Alert, student: Person) -> Push:
    """The alert's copy for the staff channel, in the programme's default language."""
    with speaking_in_group(None, settings):
        return staff_channel_push(settings, alert, student, level=0)


def queue_side_channels(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    alert: Alert,
    running: AbstractSet[str] | None = None,
) -> int:
    """Email the mentor, backup and admins, and call the webhook, for an urgent alert.

    Only on side channels that run here (a registered email or webhook Messenger). The
    email says that an urgent alert waits and where: no student words, no student name.
    """
    assert alert.id is not None
    if alert.severity != AlertSeverity.URGENT:
        return 0
    if running is None:
        running = running_platforms(session)
    if running is None:
        return 0  # nobody said what runs: no side channel is configured
    pushes: list[Push] = []
    if EMAIL in running:
        for step in alert_chain(session, alert):
            for person in step:
                if person.active and person.deleted_at is None:
                    with speaking_to(person, settings):
                        message = render_alert_email(alert, running)
                    key = f"alert:{alert.id}:email:{person.id}"
                    pushes.append(
                        email_push(key, message, person, OutboxKind.ALERT_EMAIL, alert.id)
                    )
    if WEBHOOK in running:
        pushes.append(
            Push(
                dedupe_key=f"alert:{alert.id}:webhook",
                message=render_alert_webhook(alert),
                address=Recipient(WEBHOOK, "", None),
                kind=OutboxKind.ALERT_WEBHOOK,
                urgent=True,
                alert_id=alert.id,
            )
        )
    return push_rows(session, pushes, now, settings.default_timezone)


def render_alert_email(alert: Alert, running: AbstractSet[str]) -> Message:
    """An alert's email: that an urgent alert waits and where; nothing the student wrote."""
    chats = [p.capitalize() for p in CHAT_PLATFORMS if p in running and p != "console"]
    where = chats[0] if chats else _("the bot")
    for chat in chats[1:]:
        where = _("{first} or {second}").format(first=where, second=chat)
    waiting = (
        _(
            "An urgent crisis alert (#{id}) about one of your students is waiting "
            "for someone to act on it."
        )
        if alert.kind == AlertKind.CRISIS
        else _(
            "An urgent {kind} alert (#{id}) about one of your students is waiting "
            "for someone to act on it."
        )
    )
    text = "\n\n".join(
        (
            waiting.format(id=alert.id, kind=alert.kind.replace("_", " ")),
            _(
                "Open {where} to see it and acknowledge it, or run "
                "`mentorbot alerts list` on the server."
            ).format(where=where),
            _("This email leaves out the student's name and words on purpose."),
        )
    )
    return Message(
        title=_("Urgent mentoring alert #{id} is waiting").format(id=alert.id),
        text=text,
        urgent=True,
    )


def render_alert_webhook(alert: Alert) -> Message:
    """An alert's webhook payload: ids and kind only (the receiver pages someone).

    A machine reads it (a paging system), so it stays in one language, English.
    """
    return Message(
        title="urgent_alert",
        text=f"Urgent alert #{alert.id} ({alert.kind}) is waiting for someone to act.",
        fields=(
            Field("alert_id", str(alert.id)),
            Field("kind", alert.kind),
            Field("created_at", alert.created_at.isoformat()),
        ),
        urgent=True,
    )


def alert_rows_written(
    session: Session, settings: CoreSettings, now: datetime, alert: Alert
) -> list[Route]:
    """After an alert's copies were queued: reroute those nobody can receive here, at once.

    A copy for someone with no identity on a running platform (`UNROUTED`), or for the staff
    channel of a platform that does not run, is marked `rerouted` and goes sideways in the
    same transaction. Urgent alerts also get their side channels (email, webhook).
    """
    assert alert.id is not None
    session.flush()
    running = running_platforms(session)
    routes: list[Route] = []
    stopped = [UNROUTED]
    if running is not None:
        stopped += [p for p in KNOWN_PLATFORMS if p not in running]
    stranded = session.exec(
        select(Outbox).where(
            Outbox.alert_id == alert.id,
            Outbox.kind == OutboxKind.ALERT,
            Outbox.status == OutboxStatus.PENDING,
            col(Outbox.platform).in_(stopped),
        )
    ).all()
    for row in stranded:
        routes += _reroute_alert_row(session, settings, now, alert, row, running)
    queue_side_channels(session, settings, now, alert, running)
    return routes


def alert_is_queued(session: Session, alert: Alert) -> bool:
    """True when a copy of the alert waits for someone, or reached them.

    A person, the staff channel, an email or the webhook; read after stranded copies went
    sideways, so a copy nobody here can receive does not count.
    """
    session.flush()
    row = session.exec(
        select(Outbox.id).where(
            Outbox.alert_id == alert.id,
            col(Outbox.kind).in_(
                (OutboxKind.ALERT, OutboxKind.ALERT_EMAIL, OutboxKind.ALERT_WEBHOOK)
            ),
            col(Outbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT)),
        )
    ).first()
    return row is not None


def _reroute_alert_row(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    alert: Alert,
    row: Outbox,
    running: AbstractSet[str] | None,
) -> list[Route]:
    person = session.get(Person, row.person_id) if row.person_id is not None else None
    if person is not None:
        why = f"{person.name} can't be reached on any platform that runs here"
    else:
        why = f"the staff channel is on {row.platform}, which doesn't run here"
    row.status = OutboxStatus.REROUTED
    row.last_error = why[:500]
    session.add(row)
    return go_sideways(
        session,
        settings,
        now,
        alert,
        failed_person_id=row.person_id,
        failed_platform=row.platform,
        why=why,
        platform_wide=False,
        running=running,
    )


@dataclass
class RerouteReport:
    """What one pass over rows stranded on non-running platforms did."""

    moved: int = 0
    sideways: int = 0
    parked: int = 0
    failed: int = 0


def reroute_stranded(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    running: AbstractSet[str],
    limit: int = 500,
) -> RerouteReport:
    """Re-address pending rows on a platform that does not run here (the delivery loop's job).

    A person's row moves to their address on a running platform; an alert's copy for someone
    with none goes sideways; any other row for someone with none waits on `UNROUTED` until
    they link a platform (logged); a channel post on a platform that does not run fails
    (logged; an alert's staff-channel copy goes sideways). Rows already waiting on
    `UNROUTED` are looked at again only once their person has a running identity.
    """
    report = RerouteReport()
    stopped = [p for p in KNOWN_PLATFORMS if p not in running and p != UNROUTED]
    linked = select(Identity.person_id).where(col(Identity.platform).in_(list(running)))
    conditions = [col(Outbox.platform) == UNROUTED, col(Outbox.person_id).in_(linked)]
    query = select(Outbox).where(
        col(Outbox.status) == OutboxStatus.PENDING,
        or_(col(Outbox.platform).in_(stopped), (conditions[0] & conditions[1])),
    )
    rows = session.exec(query.order_by(col(Outbox.id)).limit(limit)).all()
    for row in rows:
        if row.kind in COPY_KINDS:
            continue  # deletes or edits a message on its own platform: waits for it to run
        person = session.get(Person, row.person_id) if row.person_id is not None else None
        alert = session.get(Alert, row.alert_id) if row.alert_id is not None else None
        address = None
        side_channel = row.platform in (EMAIL, WEBHOOK)  # never moves to a chat
        if person is not None and not row.member_ids and not side_channel:
            address = reachable(session, person, running)
        if address is not None:
            before = row.platform
            row.platform, row.user_id = address.platform, address.user_id
            row.channel_id = address.channel_id
            session.add(row)
            report.moved += 1
            if alert is not None and row.kind == OutboxKind.ALERT:
                record_event(
                    session,
                    alert,
                    now,
                    "rerouted",
                    row.person_id,
                    f"moved from {before} (not running) to {address.platform}",
                )
        elif alert is not None and row.kind == OutboxKind.ALERT:
            _reroute_alert_row(session, settings, now, alert, row, running)
            report.sideways += 1
        elif person is not None and (not person.active or person.deleted_at is not None):
            row.status = OutboxStatus.FAILED  # nobody to wait for: they left the programme
            row.last_error = "the recipient is no longer active"
            session.add(row)
            report.failed += 1
        elif person is not None and not row.member_ids and not side_channel:
            if row.platform == UNROUTED:
                continue  # linked, but not on a platform that runs: it keeps waiting
            row.platform, row.user_id, row.channel_id = UNROUTED, "", None
            session.add(row)
            report.parked += 1
        else:
            row.status = OutboxStatus.FAILED
            row.last_error = f"{row.platform} doesn't run here"[:500]
            session.add(row)
            report.failed += 1
    if report.parked or report.failed:
        log.warning(
            "%d outbox rows now wait for someone to link a running platform; %d failed: "
            "their channel's platform doesn't run here, or the person left (running: %s)",
            report.parked,
            report.failed,
            ", ".join(sorted(running)) or "none",
        )
    return report


def report_platform_down(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    platform: str,
    reason: str,
    running: AbstractSet[str],
) -> int:
    """Tell the admins on every other route that a platform can't send (once an hour).

    Every admin on each running chat platform but the broken one, by email, the webhook,
    and the staff channel when it is elsewhere. Returns the rows queued.
    """
    others = frozenset(running) - {platform}
    hour = now.strftime("%Y%m%d%H")
    # The webhook's text (a machine reads it) stays English; people read theirs in their
    # own language. The reason is the platform's own error, as it gave it.
    with speaking(DEFAULT_LANGUAGE):
        text = _platform_down_text(platform, reason)
    pushes: list[Push] = []
    for admin in admins(session):
        with speaking_to(admin, settings):
            message = _platform_down_message(platform, reason)
        for identity in _identities(session, admin.id):
            if identity.platform in others and identity.platform in CHAT_PLATFORMS:
                pushes.append(
                    Push(
                        dedupe_key=f"down:{platform}:{hour}:{admin.id}:{identity.platform}",
                        message=message,
                        person=admin,
                        address=Recipient(
                            identity.platform, identity.user_id, identity.dm_channel_id
                        ),
                        kind=OutboxKind.PLATFORM_NOTICE,
                        urgent=True,
                    )
                )
        if EMAIL in others:
            key = f"down:{platform}:{hour}:{admin.id}:email"
            pushes.append(email_push(key, message, admin, OutboxKind.PLATFORM_NOTICE))
    staff = _staff_address(settings)
    if staff is not None and staff.platform in others:
        with speaking_in_group(None, settings):
            message = _platform_down_message(platform, reason)
        pushes.append(
            Push(
                dedupe_key=f"down:{platform}:{hour}:staff",
                message=message,
                address=staff,
                kind=OutboxKind.PLATFORM_NOTICE,
                urgent=True,
            )
        )
    if WEBHOOK in others:
        pushes.append(
            Push(
                dedupe_key=f"down:{platform}:{hour}:webhook",
                message=Message(
                    title="platform_down", text=text, fields=(Field("platform", platform),)
                ),
                address=Recipient(WEBHOOK, "", None),
                kind=OutboxKind.PLATFORM_NOTICE,
                urgent=True,
            )
        )
    queued = push_rows(session, pushes, now, settings.default_timezone)
    log.error(
        "%s can't send: %s; reported to the admins on %s",
        platform,
        reason,
        ", ".join(sorted(others)) or "no other route (nothing else runs)",
    )
    return queued


def _platform_down_text(platform: str, reason: str) -> str:
    return _(
        "{Platform} isn't working: {reason}. Messages for {platform} wait "
        "until it's fixed (check the token in the settings and restart). "
        "`mentorbot delivery status` shows what waits."
    ).format(Platform=platform.capitalize(), platform=platform, reason=reason)


def _platform_down_message(platform: str, reason: str) -> Message:
    """The report that a platform can't send, in the language being spoken."""
    return Message(
        title=_("{Platform} can't send").format(Platform=platform.capitalize()),
        text=_platform_down_text(platform, reason),
        urgent=True,
    )


def label_of(alert: Alert) -> str:
    """The alert's kind as people read it, in the language being spoken."""
    return _(KIND_LABELS.get(alert.kind, alert.kind))
