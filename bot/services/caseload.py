"""A mentor's caseload: each student's last check-in, mood trend, open alerts and goals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from bot.audit import audit
from bot.i18n import _, ngettext
from bot.i18n.dates import DAY_TIME, local_format
from bot.localtime import to_local
from bot.model import Field, Message
from bot.people import ADMIN
from bot.services.checkins import last_answered
from bot.services.meetings.cadence import overdue_student_ids
from bot.services.mood import trend_with_words
from storage.enums import AlertStatus, GoalStatus
from storage.tables import Alert, Goal, MentorAssignment, MentorNote, MoodEntry, Person


@dataclass(frozen=True)
class CaseloadLine:
    """One student as their mentor sees them."""

    student: Person
    last_checkin: datetime | None
    last_mood: int | None
    sparkline: str
    # The same 14 days in words ("mostly 3, lowest 2 on Tuesday"), for screen readers.
    trend_words: str
    open_alerts: int
    open_goals: int
    # Overdue for a follow-up meeting under the mentor's cadence (`/meet every`).
    meeting_overdue: bool = False


def caseload(
    session: Session, mentor: Person, now: datetime, default_tz: str
) -> list[CaseloadLine]:
    """The mentor's students (all students for an admin), struggling first; audited."""
    if mentor.role == ADMIN:
        students = session.exec(
            select(Person).where(Person.role == "student", col(Person.active).is_(True))
        ).all()
    else:
        students = session.exec(
            select(Person)
            .join(MentorAssignment, col(MentorAssignment.student_id) == Person.id)
            .where(MentorAssignment.mentor_id == mentor.id, Person.active == True)  # noqa: E712
            .distinct()
        ).all()
    lines: list[CaseloadLine] = []
    overdue = overdue_student_ids(session, mentor, now)
    for student in students:
        assert student.id is not None
        last = last_answered(session, student.id)
        # The latest mood however it was given (a check-in or /mood), not the check-in's.
        latest_mood = session.exec(
            select(MoodEntry.score)
            .where(MoodEntry.person_id == student.id)
            .order_by(col(MoodEntry.recorded_at).desc(), col(MoodEntry.id).desc())
            .limit(1)
        ).first()
        alerts = session.exec(
            select(func.count())
            .select_from(Alert)
            .where(Alert.student_id == student.id, Alert.status == AlertStatus.OPEN)
        ).one()
        goals = session.exec(
            select(func.count())
            .select_from(Goal)
            .where(Goal.person_id == student.id, Goal.status == GoalStatus.OPEN)
        ).one()
        student_trend = trend_with_words(session, student, now, student.timezone or default_tz)
        lines.append(
            CaseloadLine(
                student=student,
                last_checkin=last.answered_at if last else None,
                last_mood=latest_mood,
                sparkline=student_trend.spark,
                trend_words=student_trend.words,
                open_alerts=int(alerts),
                open_goals=int(goals),
                meeting_overdue=student.id in overdue,
            )
        )
        audit(session, now, mentor.id, "view.caseload", student.id)
    lines.sort(
        key=lambda ln: (
            -ln.open_alerts,
            ln.last_mood if ln.last_mood is not None else 9,
            ln.student.name,
        )
    )
    return lines


def render_caseload(lines: list[CaseloadLine], tz: str) -> Message:
    """The caseload as a message: struggling students first."""
    if not lines:
        return Message(text=_("You have no students assigned yet."))
    fields = []
    for line in lines:
        last = (
            local_format(to_local(line.last_checkin, tz), DAY_TIME)
            if line.last_checkin
            else _("never")
        )
        mood = f"{line.last_mood}/5" if line.last_mood is not None else "–"
        flag = "🔴 " if line.open_alerts else ""
        names = {
            "last": last,
            "mood": mood,
            "trend": line.sparkline,
            "alerts": line.open_alerts,
            "goals": line.open_goals,
        }
        value = (
            _(
                "last check-in {last}, mood {mood}, 14 days {trend}, alerts {alerts}, "
                "goals {goals}, meeting overdue"
            ).format(**names)
            if line.meeting_overdue
            else _(
                "last check-in {last}, mood {mood}, 14 days {trend}, alerts {alerts}, goals {goals}"
            ).format(**names)
        )
        # The trend's text twin, so the bar characters never carry the meaning alone.
        fields.append(Field(f"{flag}{line.student.name}", f"{value} ({line.trend_words})"))
    count = ngettext("{n} student(s):", "{n} student(s):", len(lines)).format(n=len(lines))
    return Message(title=_("Your mentees"), text=count, fields=tuple(fields))


def recent_notes(
    session: Session, student_id: int, limit: int
) -> Sequence[tuple[MentorNote, Person]]:
    """The newest notes about a student with their authors (decrypted); callers check access."""
    return session.exec(
        select(MentorNote, Person)
        .join(Person, col(Person.id) == MentorNote.author_id)
        .where(MentorNote.student_id == student_id)
        .order_by(col(MentorNote.created_at).desc(), col(MentorNote.id).desc())
        .limit(limit)
    ).all()
