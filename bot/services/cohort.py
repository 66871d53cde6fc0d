"""Cohort mood: group-level averages that never reveal a small group's individual moods.

A mood figure is shown only when at least `MIN_STUDENTS` different students contributed to
it; below that, an average of three people's moods says too much about each of them (and
with one, it *is* that person's mood). Every group report uses `cohort_mood_summary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Subquery
from sqlmodel import Session, col, func, select

from bot.i18n import _, ngettext
from bot.model import Field, Message
from bot.people import STUDENT
from storage.tables import Group, GroupMember, MoodEntry, Person

# Not a setting on purpose: lowering it would defeat its purpose.
MIN_STUDENTS = 5


def suppressed_text() -> str:
    """Why a small group shows no figure, in the language being spoken."""
    return _("fewer than {n} students logged a mood, so no figure is shown").format(n=MIN_STUDENTS)


@dataclass(frozen=True)
class CohortMood:
    """The mood of a group (or the whole programme) over a period, suppressed when small."""

    name: str
    students: int
    # How many students logged at least one mood; only compared with MIN_STUDENTS, never shown.
    reporting: int
    # The mean of each reporting student's own mean (a frequent logger counts once); None
    # when suppressed.
    average: float | None

    @property
    def suppressed(self) -> bool:
        """True when too few students contributed for a figure to be shown."""
        return self.average is None


def _active_students(group_id: int | None) -> Subquery:
    """Ids of the active students in scope (a group's, or everyone's)."""
    query = select(Person.id).where(
        Person.role == STUDENT,
        col(Person.active).is_(True),
        col(Person.deleted_at).is_(None),
    )
    if group_id is not None:
        query = query.join(GroupMember, col(GroupMember.person_id) == Person.id).where(
            GroupMember.group_id == group_id
        )
    return query.subquery()


def cohort_mood_summary(session: Session, group_id: int | None, since: datetime) -> CohortMood:
    """The average mood since `since` of a group's students (None: every student).

    The average is None unless at least MIN_STUDENTS students logged a mood.
    """
    name = _("All students")
    if group_id is not None:
        group = session.get(Group, group_id)
        name = group.name if group is not None else _("group {id}").format(id=group_id)
    students = _active_students(group_id)
    per_student = session.exec(
        select(MoodEntry.person_id, func.avg(MoodEntry.score))
        .where(
            col(MoodEntry.person_id).in_(select(students.c.id)),
            col(MoodEntry.recorded_at) >= since,
        )
        .group_by(col(MoodEntry.person_id))
    ).all()
    total = int(session.exec(select(func.count()).select_from(students)).one())
    reporting = len(per_student)
    average: float | None = None
    if reporting >= MIN_STUDENTS:
        average = sum(float(mean) for _person, mean in per_student) / reporting
    return CohortMood(name=name, students=total, reporting=reporting, average=average)


def render_cohort(summaries: Sequence[CohortMood], days: int) -> Message:
    """Cohort summaries as a message: one row per group, figures only where allowed."""
    fields = []
    for summary in summaries:
        n = summary.students
        if summary.average is None:
            value = ngettext(
                "{n} student(s); {suppressed}", "{n} student(s); {suppressed}", n
            ).format(n=n, suppressed=suppressed_text())
        else:
            value = ngettext(
                "{n} student(s); average mood {average}/5",
                "{n} student(s); average mood {average}/5",
                n,
            ).format(n=n, average=f"{summary.average:.1f}")
        fields.append(Field(summary.name, value))
    return Message(
        title=_("Cohort mood"),
        text=_(
            "Average mood over the last {days} days. Groups where fewer than "
            "{n} students logged a mood show no figure, to protect their privacy."
        ).format(days=days, n=MIN_STUDENTS),
        fields=tuple(fields),
    )
