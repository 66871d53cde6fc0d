"""Privacy by construction: who a report is about, who may ask, and what is held back.

Three rules make every report safe to show, whoever asks and however they filter:

1. **A scope must be big enough.** A report is about a *scope*: every active student, a
   group's students, a mentor's own students, or a mentor's students in one group. A scope
   of fewer than `min_group_size` students is refused outright.
2. **No differencing between scopes.** A filter that leaves out fewer than `min_group_size`
   students of the scope it narrows (its *parent*: the programme for a group or a caseload,
   the group and the caseload for their intersection) is refused too: a group of 6 with one
   student filtered out would otherwise reveal that student as "group minus report".
3. **Figures come from weekly cells.** Every figure is summed from per-week cells (ISO
   weeks, UTC), and a cell is used only when at least `min_group_size` different students
   contributed to it *and* the students of the parent scope left out of it are none or at
   least `min_group_size` (`release`). Two reports over different date ranges then differ by
   whole released cells, never by one student's week, and a scope's cell never differs from
   its parent's by a few students.

Who may ask: admins any scope; a mentor only their own students (a group filter narrows
their caseload, another mentor's caseload is refused). Students never.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy import select as core_select
from sqlmodel import Session, col, func, select

from bot.errors import NotAllowed, UserError
from bot.people import ADMIN, MENTOR, STUDENT, person_by_email
from storage.tables import Group, GroupMember, MentorAssignment, Person


class ScopeTooSmall(UserError):
    """The scope (or what it leaves out of a wider one) is below the minimum: nothing shown."""


NOT_YOUR_STUDENTS = "You can only see reports about the students you mentor."
FOR_STAFF_ONLY = "Reports are only for mentors and programme staff."


@dataclass(frozen=True)
class Scope:
    """The students a report is about (active students only)."""

    label: str
    group_id: int | None = None
    mentor_id: int | None = None

    def students(self) -> Select[Any]:
        """`SELECT person.id` of the scope's students, to use as a subquery."""
        query = core_select(col(Person.id)).where(
            col(Person.role) == STUDENT,
            col(Person.active).is_(True),
            col(Person.deleted_at).is_(None),
        )
        if self.group_id is not None:
            query = query.where(
                col(Person.id).in_(
                    select(GroupMember.person_id).where(GroupMember.group_id == self.group_id)
                )
            )
        if self.mentor_id is not None:
            query = query.where(
                col(Person.id).in_(
                    select(MentorAssignment.student_id).where(
                        MentorAssignment.mentor_id == self.mentor_id
                    )
                )
            )
        return query

    def parents(self) -> tuple[Scope, ...]:
        """The wider scopes this one narrows: what a difference could be taken against."""
        if self.group_id is not None and self.mentor_id is not None:
            return (
                Scope("group", group_id=self.group_id),
                Scope("caseload", mentor_id=self.mentor_id),
            )
        if self.group_id is not None or self.mentor_id is not None:
            return (Scope("All students"),)
        return ()


def scope_size(session: Session, scope: Scope) -> int:
    """How many students are in the scope (one COUNT in the database)."""
    inner = scope.students().subquery()
    return int(session.exec(select(func.count()).select_from(inner)).one())


def left_out_is_safe(left_out: int, minimum: int) -> bool:
    """True when the students a narrower figure leaves out are none, or enough not to point."""
    return left_out == 0 or left_out >= minimum


def release(contributors: int, parent_contributors: tuple[int, ...], minimum: int) -> bool:
    """Whether a cell built from `contributors` students may be used (see rule 3).

    `parent_contributors` are the same cell's counts in each parent scope.
    """
    if contributors < minimum:
        return False
    return all(left_out_is_safe(parent - contributors, minimum) for parent in parent_contributors)


def check_scope(session: Session, scope: Scope, minimum: int) -> int:
    """Refuse a scope that is too small or differs from a parent by too few (rules 1, 2).

    Returns the scope's size. The refusal names no student and no count below the minimum.
    """
    size = scope_size(session, scope)
    if size < minimum:
        # "Your students" reads as "the report on your students"; group names keep their case.
        about = (
            scope.label[0].lower() + scope.label[1:]
            if scope.label.startswith("Your")
            else scope.label
        )
        raise ScopeTooSmall(
            f"The report on {about} would cover fewer than {minimum} students, so its "
            "figures are withheld: they would point at individuals. Each student's own "
            "picture is in /student EMAIL."
        )
    for parent in scope.parents():
        if not left_out_is_safe(scope_size(session, parent) - size, minimum):
            raise ScopeTooSmall(
                f"That filter leaves out fewer than {minimum} students of {parent.label}, so "
                "comparing the two reports would reveal them. Please ask for the wider report."
            )
    return size


def resolve_scope(
    session: Session, actor: Person | None, group_name: str | None, mentor_email: str | None
) -> Scope:
    """The scope an actor asks for, or a friendly refusal (nothing is read or written).

    `actor` None is the operator at the command line: it may ask for any scope.
    """
    if actor is not None and actor.role not in (MENTOR, ADMIN):
        raise NotAllowed(FOR_STAFF_ONLY)
    group: Group | None = None
    if group_name:
        group = session.exec(
            select(Group).where(func.lower(Group.name) == group_name.strip().lower())
        ).first()
        if group is None:
            raise UserError(f"I can't find a group '{group_name.strip()}'.")
    mentor_id: int | None = None
    mentor_label = ""
    if mentor_email:
        mentor = person_by_email(session, mentor_email.strip())
        if mentor is None or mentor.role not in (MENTOR, ADMIN):
            # The same words whether the person is missing or not a mentor.
            if actor is not None and actor.role == MENTOR:
                raise NotAllowed(NOT_YOUR_STUDENTS)
            raise UserError(f"I can't find a mentor '{mentor_email.strip()}'.")
        if actor is not None and actor.role == MENTOR and mentor.id != actor.id:
            raise NotAllowed(NOT_YOUR_STUDENTS)
        mentor_id, mentor_label = mentor.id, f"{mentor.name}'s students"
    if actor is not None and actor.role == MENTOR:
        mentor_id, mentor_label = actor.id, "Your students"
    if group is not None and mentor_id is not None:
        return Scope(f"{mentor_label} in {group.name}", group_id=group.id, mentor_id=mentor_id)
    if group is not None:
        return Scope(group.name, group_id=group.id)
    if mentor_id is not None:
        return Scope(mentor_label, mentor_id=mentor_id)
    return Scope("All students")
