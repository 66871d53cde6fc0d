"""Someone not on the roster who writes a crisis: a provisional person, so a person is told.

Everything that makes an alert reach someone (routing, re-escalation, the watchdog, the
one-click actions, folding, erasure) reads the alert's person. So the first crisis message
from someone the roster does not know (a student the import missed) creates a provisional
`Person` with the role `unrostered`, holding only what their platform told us (display
name, email, time zone, client language) and their platform `Identity`; the alert is raised
for them like for a student without a mentor: the admins and the staff channel get it.

The role lets them do nothing (the core answers "not enrolled" to anything but a crisis, and
no query for students, reports or schedules matches it). Their next crisis message resolves
to the same person and folds into the open alert. A roster import of their email makes the
row a student as it stands; a roster row carrying their platform id (Discord gives no email)
adopts the row, or, when that email is on the roster already, takes over its alerts
(`link_to_roster`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from bot.i18n import _, normalise_language
from bot.localtime import is_valid_zone
from bot.model import Actor
from bot.people import UNROSTERED, person_by_email
from storage.tables import Alert, AlertEvent, Identity, Outbox, Person

# The email column is required and unique: someone whose platform gave no email gets this,
# which no roster email can equal (no "@").
PLACEHOLDER_PREFIX = "unrostered:"


def placeholder_email(actor: Actor) -> str:
    """The stand-in email of someone whose platform gave none (never a real address).

    Lower case, as every email is looked up (`mentorbot privacy erase` finds it).
    """
    return f"{PLACEHOLDER_PREFIX}{actor.platform}:{actor.user_id}".lower()


def actor_email(actor: Actor) -> str | None:
    """The email the platform gave (the console's user id is one), lower case, or None."""
    email = actor.email or (actor.user_id if actor.platform == "console" else None)
    return email.strip().lower() if email and "@" in email else None


def provisional_person(session: Session, actor: Actor, now: datetime) -> Person:
    """The person a crisis from someone not enrolled is raised for; created on first need.

    Found again by their platform identity (so repeated messages fold into one alert), or by
    the email their platform gave when a roster row with it exists but is inactive (their
    mentors, if any, are still the first to hear). Otherwise a new `unrostered` person.
    """
    identity = session.exec(
        select(Identity).where(
            Identity.platform == actor.platform, Identity.user_id == actor.user_id
        )
    ).first()
    if identity is not None:
        linked = session.get(Person, identity.person_id)
        if linked is not None and linked.deleted_at is None:
            return linked
    email = actor_email(actor)
    if email is not None:
        known = person_by_email(session, email)
        if known is not None and known.deleted_at is None:
            return known
    zone = actor.timezone if actor.timezone and is_valid_zone(actor.timezone) else None
    person = Person(
        email=email or placeholder_email(actor),
        name=(actor.display_name or f"{actor.platform} {actor.user_id}")[:200],
        role=UNROSTERED,
        timezone=zone,
        platform_language=normalise_language(actor.locale),
        last_platform=actor.platform,
        created_at=now,
    )
    session.add(person)
    session.flush()
    assert person.id is not None
    if identity is not None:
        # The account was linked to someone erased since: it is this person's now.
        identity.person_id, identity.dm_channel_id = person.id, None
        session.add(identity)
    else:
        session.add(
            Identity(
                person_id=person.id,
                platform=actor.platform,
                workspace=actor.workspace,
                user_id=actor.user_id,
            )
        )
    session.flush()
    return person


def is_unrostered(person: Person) -> bool:
    """True for a provisional person (a crisis from someone not on the roster)."""
    return person.role == UNROSTERED


def contact_line(person: Person) -> str:
    """How staff find a provisional person, in the language being spoken.

    Each platform account ("Slack user U0123"), then the display name and the email when
    their platform gave them. Read through the person's own session (an alert is rendered
    in many places, all inside one); a detached row shows what the row itself holds.
    """
    session = object_session(person)
    accounts: list[str] = []
    placeholders: set[str]
    user_ids: set[str]
    if session is not None and person.id is not None:
        rows = session.execute(
            select(Identity.platform, Identity.user_id)
            .where(Identity.person_id == person.id)
            .order_by(col(Identity.id))
        ).all()
        accounts = [
            _("{platform} user {user_id}").format(platform=p.capitalize(), user_id=u)
            for p, u in rows
        ]
        placeholders = {f"{p} {u}" for p, u in rows}
        user_ids = {u for _p, u in rows}
    else:
        placeholders, user_ids = set(), set()
    parts = [*accounts]
    if person.name not in placeholders:
        parts.append(person.name)  # a display name the platform gave
    if not person.email.startswith(PLACEHOLDER_PREFIX) and person.email not in user_ids:
        parts.append(person.email)  # the console's user id is the email already
    return " · ".join(parts) or person.email


def unrostered_holder(session: Session, platform: str, user_id: str) -> Person | None:
    """The provisional person holding this platform account, if any."""
    return session.exec(
        select(Person)
        .join(Identity, col(Identity.person_id) == Person.id)
        .where(
            Identity.platform == platform,
            Identity.user_id == user_id,
            Person.role == UNROSTERED,
            col(Person.deleted_at).is_(None),
        )
    ).first()


def link_to_roster(
    session: Session, email: str, platform_ids: dict[str, str], now: datetime
) -> None:
    """Before a roster row is applied: bring a provisional person holding its ids under it.

    With no person of that email yet, the provisional row takes the roster's email (the
    import then makes it a student, alerts and all). With one already (a student whose
    Discord account wrote before the roster named it), the provisional person's alerts,
    queued messages and platform accounts move to them, and the provisional row is retired.
    A provisional person with the roster's own email needs nothing: the import finds it.
    """
    for platform, user_id in platform_ids.items():
        provisional = unrostered_holder(session, platform, user_id)
        if provisional is None or provisional.email == email:
            continue
        rostered = person_by_email(session, email)
        if rostered is None:
            provisional.email = email
            session.add(provisional)
            session.flush()
            continue
        _merge(session, provisional, rostered, now)


def _merge(session: Session, provisional: Person, rostered: Person, now: datetime) -> None:
    """Move a provisional person's alerts, pushes and accounts to the roster's person."""
    old, new = provisional.id, rostered.id
    assert old is not None and new is not None
    alert_ids = list(session.exec(select(Alert.id).where(Alert.student_id == old)).all())
    session.execute(
        update(Alert)
        .where(col(Alert.student_id) == old)
        .values(student_id=new)
        .execution_options(synchronize_session=False)
    )
    for alert_id in alert_ids:
        assert alert_id is not None
        session.add(
            AlertEvent(
                alert_id=alert_id,
                at=now,
                event="linked",
                detail=f"not on the roster before: now person {new} of the roster",
            )
        )
    session.execute(
        update(Outbox)
        .where(col(Outbox.person_id) == old)
        .values(person_id=new)
        .execution_options(synchronize_session=False)
    )
    held = set(session.exec(select(Identity.platform).where(Identity.person_id == new)).all())
    for identity in session.exec(select(Identity).where(Identity.person_id == old)).all():
        if identity.platform in held:
            session.delete(identity)  # the roster's own account on that platform wins
        else:
            identity.person_id = new
            session.add(identity)
    provisional.email = f"merged-{old}@invalid"
    provisional.name = f"merged into person {new}"
    provisional.active = False
    provisional.deleted_at = now
    session.add(provisional)
    session.flush()
    session.expire_all()
