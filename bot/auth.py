"""Authorization in one place: who may do what, and see whose data.

Two layers, both here:

1. Roles, per entry point. Every command, action and form handler declares the roles that
   may call it with `@allow(...)`; the core calls `authorize` before any handler runs and
   refuses a handler that declares nothing (deny by default), so a new command cannot be
   reachable by accident.
2. Relationships, per record. Students act only on their own records (`require_owner`);
   mentors see the students assigned to them and the groups they belong to; admins see
   everything (`require_view`, `require_group`).

Every permitted read of someone else's data is written to the audit log here, so no caller
can forget it. Refusals raise `NotAllowed`, which the core turns into a reply before
anything is stored (the unit of work rolls back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, select

from bot.audit import audit
from bot.errors import NOT_ALLOWED, NotAllowed
from bot.i18n import N_, _
from bot.people import ADMIN, MENTOR, STUDENT, is_mentor_of
from storage.tables import GroupMember, Person

log = logging.getLogger(__name__)

EVERYONE: tuple[str, ...] = (STUDENT, MENTOR, ADMIN)
STAFF: tuple[str, ...] = (MENTOR, ADMIN)

# Refusal messages. They say what is possible, never whether someone else's record exists.
# Marked here, translated where they are raised (the actor's language is known only then).
FOR_STUDENTS = N_("That's only for students.")
FOR_STAFF = N_("That's only for mentors and programme staff.")
FOR_ADMINS = N_("That's only for programme staff.")
NOT_FOR_YOU = NOT_ALLOWED
NOT_YOUR_STUDENT = N_("You can only see the students you mentor.")
NOT_YOUR_GROUP = N_("You can only see the groups you belong to.")
NO_RULE = N_("That isn't available yet.")

_RULE = "__mentorbot_allowed_roles__"
H = TypeVar("H", bound=Callable[..., Any])


def allow(*roles: str) -> Callable[[H], H]:
    """Declare the roles that may call a command, action or form handler."""
    unknown = set(roles) - set(EVERYONE)
    if not roles or unknown:
        raise ValueError(f"allow() needs roles from {EVERYONE}, got {roles}")

    def mark(handler: H) -> H:
        setattr(handler, _RULE, tuple(roles))
        return handler

    return mark


def allowed_roles(handler: Callable[..., Any]) -> tuple[str, ...] | None:
    """The roles a handler declared with `@allow`, or None when it declared nothing."""
    roles = getattr(handler, _RULE, None)
    return tuple(roles) if roles is not None else None


def authorize(actor: Person, handler: Callable[..., Any], entry: str) -> None:
    """Refuse unless the handler declared the actor's role; called by the core for every entry.

    `entry` names the entry point ("command mood") for the log.
    """
    roles = allowed_roles(handler)
    if roles is None:
        # Deny by default: a handler someone forgot to declare is a bug, not an open door.
        log.error("%s has no @allow(...) rule, so it is refused for everyone", entry)
        raise NotAllowed(_(NO_RULE))
    require_role(actor, *roles)


def require_role(actor: Person, *roles: str) -> None:
    """Raise NotAllowed unless the actor has one of `roles`."""
    if actor.role not in roles:
        raise NotAllowed(_(_role_message(roles)))


def _role_message(roles: tuple[str, ...]) -> str:
    """The refusal for someone without one of `roles`, in English (translate it when shown)."""
    if roles == (STUDENT,):
        return FOR_STUDENTS
    if set(roles) == {MENTOR, ADMIN}:
        return FOR_STAFF
    if roles == (ADMIN,):
        return FOR_ADMINS
    return NOT_FOR_YOU


def require_owner(actor: Person, owner_id: int | None, refusal: str) -> None:
    """Only the person a record belongs to may act on it: not their mentor, not an admin.

    `refusal` should read like "not found" so a refusal never confirms that someone else's
    record exists; it is shown as given, so pass it translated.
    """
    if actor.id is None or owner_id is None or actor.id != owner_id:
        raise NotAllowed(refusal)


def can_view(session: Session, actor: Person, subject: Person) -> bool:
    """True when the actor may see the subject's wellbeing data."""
    if actor.id == subject.id or actor.role == ADMIN:
        return True
    if actor.role == MENTOR and actor.id is not None and subject.id is not None:
        return is_mentor_of(session, actor.id, subject.id)
    return False


def require_view(
    session: Session, actor: Person, subject: Person, now: datetime, action: str
) -> None:
    """Allow the read or raise NotAllowed; audit any read of another person's data."""
    if not can_view(session, actor, subject):
        raise NotAllowed(_(NOT_YOUR_STUDENT))
    if actor.id != subject.id:
        audit(session, now, actor.id, action, subject.id)


def audit_reads(
    session: Session, actor: Person, subjects: Iterable[Person], now: datetime, action: str
) -> None:
    """Audit a read of several people's data at once (a list view), once per other person."""
    seen: set[int] = set()
    for subject in subjects:
        if subject.id is not None and subject.id != actor.id and subject.id not in seen:
            seen.add(subject.id)
            audit(session, now, actor.id, action, subject.id)


def group_ids_visible_to(session: Session, actor: Person) -> set[int] | None:
    """The groups whose reports the actor may see: None means all (admins)."""
    if actor.role == ADMIN:
        return None
    if actor.role != MENTOR or actor.id is None:
        return set()
    return set(
        session.exec(select(GroupMember.group_id).where(GroupMember.person_id == actor.id)).all()
    )


def require_group(
    session: Session, actor: Person, group_id: int, now: datetime, action: str
) -> None:
    """Allow a group report for admins and the group's own mentors; audited."""
    visible = group_ids_visible_to(session, actor)
    if visible is not None and group_id not in visible:
        raise NotAllowed(_(NOT_YOUR_GROUP))
    audit(session, now, actor.id, action, None, detail=f"group {group_id}")
