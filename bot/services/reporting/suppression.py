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
from bot.i18n import N_, _
from bot.people import ADMIN, MENTOR, STUDENT, person_by_email
from storage.tables import Group, GroupMember, MentorAssignment, Person


class ScopeTooSmall(UserError):
    """The scope (or what it leaves out of a wider one) is below the minimum: nothing shown."""


NOT_YOUR_STUDENTS = N_("You can only see reports about the students you mentor.")
FOR_STAFF_ONLY = N_("Reports are only for mentors and programme staff.")
# The English labels of the scopes every report knows (the label is also the audit's word).
ALL_STUDENTS = N_("All students")
YOUR_STUDENTS = N_("Your students")
_PARENT_WORDS = {"group": N_("group"), "caseload": N_("caseload")}


@dataclass(frozen=True)
class Scope:
    """The students a report is about (active students only).

    `label` is the scope in English, for the audit log and the code; `shown` says it in the
    language being spoken (with the group's and the mentor's names, which are data).
    """

    label: str
    group_id: int | None = None
    mentor_id: int | None = None
    group_name: str = ""
    mentor_name: str = ""  # empty with a mentor_id: the reader's own ("Your students")

    @property
    def shown(self) -> str:
        """The scope as the reader says it: "All students", "Your students in Year 9"."""
        if self.label == ALL_STUDENTS:
            return _(ALL_STUDENTS)
        if self.label in _PARENT_WORDS:
            return _(_PARENT_WORDS[self.label])
        students = ""
        if self.mentor_id is not None:
            students = (
                _("{name}'s students").format(name=self.mentor_name)
                if self.mentor_name
                else _(YOUR_STUDENTS)
            )
        if self.group_name and students:
            return _("{students} in {group}").format(students=students, group=self.group_name)
        return self.group_name or students or self.label

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
        if scope.label.startswith("Your"):
            about = (
                _("your students in {group}").format(group=scope.group_name)
                if scope.group_name
                else _("your students")
            )
        else:
            about = scope.shown
        raise ScopeTooSmall(
            _(
                "The report on {scope} would cover fewer than {minimum} students, so its "
                "figures are withheld: they would point at individuals. Each student's own "
                "picture is in /student EMAIL."
            ).format(scope=about, minimum=minimum)
        )
    for parent in scope.parents():
        if not left_out_is_safe(scope_size(session, parent) - size, minimum):
            raise ScopeTooSmall(
                _(
                    "That filter leaves out fewer than {minimum} students of {scope}, so "
                    "comparing the two reports would reveal them. Please ask for the wider report."
                ).format(minimum=minimum, scope=parent.shown)
            )
    return size


def resolve_scope(
    session: Session, actor: Person | None, group_name: str | None, mentor_email: str | None
) -> Scope:
    """The scope an actor asks for, or a friendly refusal (nothing is read or written).

    `actor` None is the operator at the command line: it may ask for any scope.
    """
    if actor is not None and actor.role not in (MENTOR, ADMIN):
        raise NotAllowed(_(FOR_STAFF_ONLY))
    group: Group | None = None
    if group_name:
        group = session.exec(
            select(Group).where(func.lower(Group.name) == group_name.strip().lower())
        ).first()
        if group is None:
            raise UserError(_("I can't find a group '{group}'.").format(group=group_name.strip()))
    mentor_id: int | None = None
    mentor_label = mentor_name = ""
    if mentor_email:
        mentor = person_by_email(session, mentor_email.strip())
        if mentor is None or mentor.role not in (MENTOR, ADMIN):
            # The same words whether the person is missing or not a mentor.
            if actor is not None and actor.role == MENTOR:
                raise NotAllowed(_(NOT_YOUR_STUDENTS))
            raise UserError(
                _("I can't find a mentor '{email}'.").format(email=mentor_email.strip())
            )
        if actor is not None and actor.role == MENTOR and mentor.id != actor.id:
            raise NotAllowed(_(NOT_YOUR_STUDENTS))
        mentor_id, mentor_label = mentor.id, f"{mentor.name}'s students"
        mentor_name = mentor.name
    if actor is not None and actor.role == MENTOR:
        mentor_id, mentor_label, mentor_name = actor.id, YOUR_STUDENTS, ""
    if group is not None and mentor_id is not None:
        return Scope(
            f"{mentor_label} in {group.name}",
            group_id=group.id,
            mentor_id=mentor_id,
            group_name=group.name,
            mentor_name=mentor_name,
        )
    if group is not None:
        return Scope(group.name, group_id=group.id, group_name=group.name)
    if mentor_id is not None:
        return Scope(mentor_label, mentor_id=mentor_id, mentor_name=mentor_name)
    return Scope(ALL_STUDENTS)
