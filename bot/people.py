"""Finding people: identity resolution, roles, mentor relationships."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.model import Actor, Recipient
from bot.outbox import move_waiting_rows
from storage.tables import GroupMember, Identity, MentorAssignment, Person

STUDENT, MENTOR, ADMIN = "student", "mentor", "admin"
ROLES = (STUDENT, MENTOR, ADMIN)
# Not a roster role: someone not on the roster who wrote a crisis gets a provisional row, so
# their alert reaches on-call staff like any other (bot/services/unrostered.py). They can do
# nothing a student can; a roster import of their email or platform id makes them a student.
UNROSTERED = "unrostered"


def known_person(session: Session, actor: Actor) -> Person | None:
    """The enrolled person behind a platform actor already linked to them; reads only.

    For words an adapter says before the core handles the event (a form it opens at once, a
    stale button): nothing is linked or written here.
    """
    person = session.exec(
        select(Person)
        .join(Identity, col(Identity.person_id) == Person.id)
        .where(Identity.platform == actor.platform, Identity.user_id == actor.user_id)
    ).first()
    if person is None or not person.active or person.deleted_at is not None:
        return None
    return person


def resolve_actor(session: Session, actor: Actor) -> Person | None:
    """The enrolled person behind a platform actor, linking by email on first contact.

    Returns None for someone not on the roster; nothing is stored about them.
    """
    # One statement for the common case, a known identity (every answer in a 09:00 burst).
    row = session.exec(
        select(Person, Identity.dms_closed_at)
        .join(Identity, col(Identity.person_id) == Person.id)
        .where(Identity.platform == actor.platform, Identity.user_id == actor.user_id)
    ).first()
    if row is not None:
        known, dms_closed_at = row
        if dms_closed_at is not None:
            # They wrote to the bot: their DMs are open again (issue 16), so pushes resume.
            session.execute(
                update(Identity)
                .where(
                    col(Identity.platform) == actor.platform,
                    col(Identity.user_id) == actor.user_id,
                )
                .values(dms_closed_at=None)
            )
        if not known.active or known.deleted_at is not None:
            return None
        _fill_timezone(known, actor)
        if known.last_platform != actor.platform:
            known.last_platform = actor.platform  # written once per change, not per event
        return known
    if _has_identity(session, actor):
        return None  # linked to a person who is gone: not linked again by email
    email = actor.email or (actor.user_id if actor.platform == "console" else None)
    if not email:
        return None
    person = person_by_email(session, email)
    if person is None or not person.active or person.deleted_at is not None:
        return None
    session.add(
        Identity(
            person_id=_id(person),
            platform=actor.platform,
            workspace=actor.workspace,
            user_id=actor.user_id,
        )
    )
    _fill_timezone(person, actor)
    person.last_platform = actor.platform
    # What waited for them (no platform of theirs ran) goes to the one they just linked.
    move_waiting_rows(session, _id(person), Recipient(actor.platform, actor.user_id, None))
    return person


def closed_dm_users(session: Session, platform: str) -> set[str]:
    """User ids on `platform` whose identity is marked "DMs closed" (a Messenger's start)."""
    return set(
        session.exec(
            select(Identity.user_id).where(
                Identity.platform == platform, col(Identity.dms_closed_at).is_not(None)
            )
        ).all()
    )


def _has_identity(session: Session, actor: Actor) -> bool:
    return (
        session.exec(
            select(Identity.id).where(
                Identity.platform == actor.platform, Identity.user_id == actor.user_id
            )
        ).first()
        is not None
    )


def _fill_timezone(person: Person, actor: Actor) -> None:
    # The platform profile only fills a gap; the roster's choice wins.
    if person.timezone is None and actor.timezone:
        from bot.localtime import is_valid_zone

        if is_valid_zone(actor.timezone):
            person.timezone = actor.timezone


def person_by_email(session: Session, email: str) -> Person | None:
    """The person with this email (case-insensitive), if any."""
    return session.exec(select(Person).where(Person.email == email.strip().lower())).first()


def _id(person: Person) -> int:
    assert person.id is not None, "person must be flushed before use"
    return person.id


def person_id(person: Person) -> int:
    """The id of a stored person."""
    return _id(person)


def mentors_of(session: Session, student_id: int) -> dict[str, Person]:
    """The student's mentors by kind ('primary', 'backup')."""
    rows = session.exec(
        select(MentorAssignment, Person)
        .join(Person, col(Person.id) == MentorAssignment.mentor_id)
        .where(MentorAssignment.student_id == student_id)
    ).all()
    return {assignment.kind: mentor for assignment, mentor in rows}


def mentee_ids(session: Session, mentor_id: int) -> set[int]:
    """Ids of students this mentor is assigned to, as primary or backup."""
    return set(
        session.exec(
            select(MentorAssignment.student_id).where(MentorAssignment.mentor_id == mentor_id)
        ).all()
    )


def is_mentor_of(session: Session, mentor_id: int, student_id: int) -> bool:
    """True when the mentor is assigned to the student."""
    return (
        session.exec(
            select(MentorAssignment.id).where(
                MentorAssignment.mentor_id == mentor_id, MentorAssignment.student_id == student_id
            )
        ).first()
        is not None
    )


def admins(session: Session) -> Sequence[Person]:
    """Active admins, who catch what has no mentor."""
    return session.exec(
        select(Person).where(Person.role == ADMIN, Person.active == True)  # noqa: E712
    ).all()


def group_ids_of(session: Session, person_id_: int) -> set[int]:
    """Groups the person belongs to."""
    return set(
        session.exec(select(GroupMember.group_id).where(GroupMember.person_id == person_id_)).all()
    )


def effective_timezone(person: Person, default: str) -> str:
    """The person's time zone, or the programme default when unknown."""
    return person.timezone or default
