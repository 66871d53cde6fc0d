"""Authorization in one place: who may see or act on whose data.

Students see only their own data; mentors their assigned students; admins everything.
Every permitted read of someone else's data is written to the audit log here, so no caller
can forget it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.audit import audit
from bot.errors import NotAllowed
from bot.people import ADMIN, MENTOR, STUDENT, is_mentor_of
from storage.tables import Person


def require_role(actor: Person, *roles: str) -> None:
    """Raise NotAllowed unless the actor has one of `roles`."""
    if actor.role not in roles:
        raise NotAllowed(_role_message(roles))


def _role_message(roles: tuple[str, ...]) -> str:
    if roles == (STUDENT,):
        return "That command is for students."
    if set(roles) <= {MENTOR, ADMIN}:
        return "That command is for mentors and programme staff."
    if roles == (ADMIN,):
        return "That command is for programme staff."
    return "Sorry, that isn't something you can do."


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
        raise NotAllowed("You can only see the students you mentor.")
    if actor.id != subject.id:
        audit(session, now, actor.id, action, subject.id)
