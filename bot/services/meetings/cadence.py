"""Follow-up cadence: "meet every N weeks" per student or per group, and the overdue nudge.

A student is overdue when N weeks have passed since their last held meeting with the mentor
(or since the cadence was set, before any) and nothing is booked or proposed. The mentor is
nudged once per overdue spell (`MeetingNudge` is keyed by when it became due), and the
caseload marks the student meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import N_, _
from bot.model import Message
from bot.outbox import Push, push_rows
from bot.people import STUDENT, group_ids_of, is_mentor_of, mentee_ids, person_by_email
from bot.services.language import speaking_to
from storage.enums import LIVE_MEETING, MeetingStatus, OutboxKind
from storage.insert import insert_ignore
from storage.tables import Group, GroupMember, Meeting, MeetingCadence, MeetingNudge, Person

MAX_WEEKS = 52
EVERY_USAGE = N_('Use /meet every EMAIL|"GROUP" WEEKS, for example: /meet every sam@example.edu 2')


def set_cadence(session: Session, now: datetime, mentor: Person, target: str, weeks: int) -> str:
    """A student's email or a group's name, every `weeks`: store it; returns who it covers."""
    target = target.strip()
    if not target or not 1 <= weeks <= MAX_WEEKS:
        raise UserError(
            _("{usage} (1 to {weeks} weeks).").format(usage=_(EVERY_USAGE), weeks=MAX_WEEKS)
        )
    assert mentor.id is not None
    student_id: int | None = None
    group_id: int | None = None
    if "@" in target:
        student = person_by_email(session, target)
        if (
            student is None
            or student.role != STUDENT
            or not student.active
            or student.id is None
            or not is_mentor_of(session, mentor.id, student.id)
        ):
            raise UserError(_("I can't find a student of yours '{email}'.").format(email=target))
        student_id, shown = student.id, student.name
    else:
        group = session.exec(select(Group).where(func.lower(Group.name) == target.lower())).first()
        if group is None or group.id is None or group.id not in group_ids_of(session, mentor.id):
            raise UserError(_("I can't find a group of yours '{group}'.").format(group=target))
        group_id, shown = group.id, _("your students in {group}").format(group=group.name)
    row = session.exec(
        select(MeetingCadence).where(
            MeetingCadence.mentor_id == mentor.id,
            MeetingCadence.student_id == student_id,
            MeetingCadence.group_id == group_id,
        )
    ).first() or MeetingCadence(
        mentor_id=mentor.id, student_id=student_id, group_id=group_id, weeks=weeks, created_at=now
    )
    row.weeks = weeks
    session.add(row)
    return shown


def cadences(session: Session, mentor_id: int) -> dict[int, tuple[int, datetime]]:
    """Each of the mentor's students with a cadence: (weeks, since when it applies).

    A student's own cadence wins over their group's; of several groups, the shortest.
    """
    mine = mentee_ids(session, mentor_id)
    found: dict[int, tuple[int, datetime]] = {}
    own: set[int] = set()
    for row in session.exec(select(MeetingCadence).where(MeetingCadence.mentor_id == mentor_id)):
        if row.student_id is not None:
            if row.student_id in mine:
                found[row.student_id] = (row.weeks, row.created_at)
                own.add(row.student_id)
            continue
        members = session.exec(
            select(GroupMember.person_id).where(GroupMember.group_id == row.group_id)
        ).all()
        for student_id in members:
            if student_id in mine and student_id not in own:
                current = found.get(student_id)
                if current is None or row.weeks < current[0]:
                    found[student_id] = (row.weeks, row.created_at)
    return found


def overdue(session: Session, mentor_id: int, now: datetime) -> dict[int, datetime]:
    """The mentor's students overdue for a meeting, with when each became due."""
    result: dict[int, datetime] = {}
    for student_id, (weeks, since) in cadences(session, mentor_id).items():
        live = session.exec(
            select(Meeting.id).where(
                Meeting.mentor_id == mentor_id,
                Meeting.student_id == student_id,
                col(Meeting.status).in_(LIVE_MEETING),
            )
        ).first()
        if live is not None:
            continue
        last = session.exec(
            select(func.max(Meeting.starts_at)).where(
                Meeting.mentor_id == mentor_id,
                Meeting.student_id == student_id,
                Meeting.status == MeetingStatus.HELD,
            )
        ).one()
        basis = max(since, last) if last is not None else since
        due = basis + timedelta(weeks=weeks)
        if now >= due:
            result[student_id] = due
    return result


def overdue_student_ids(session: Session, mentor: Person, now: datetime) -> set[int]:
    """Students the caseload marks as overdue for a meeting with this mentor."""
    return set(overdue(session, mentor.id, now)) if mentor.id is not None else set()


def nudge_overdue(session: Session, settings: CoreSettings, now: datetime) -> int:
    """Nudge each mentor once about each student who became overdue, in the mentor's language.

    Returns how many.
    """
    mentor_ids = session.exec(select(MeetingCadence.mentor_id).distinct()).all()
    pushes: list[Push] = []
    for mentor_id in mentor_ids:
        mentor = session.get(Person, mentor_id)
        if mentor is None or not mentor.active:
            continue
        for student_id, since in overdue(session, mentor_id, now).items():
            fresh = insert_ignore(
                session,
                MeetingNudge,
                {"mentor_id": mentor_id, "student_id": student_id, "since": since, "sent_at": now},
                index_elements=["mentor_id", "student_id", "since"],
                returning=["id"],
            )
            student = session.get(Person, student_id)
            if not fresh or student is None:
                continue
            with speaking_to(mentor, settings):
                message = Message(
                    title=_("Time for a follow-up meeting"),
                    text=_(
                        "It's time to meet {name} again. Propose a time with "
                        "/meet propose {email} YYYY-MM-DD HH:MM."
                    ).format(name=student.name, email=student.email),
                )
            pushes.append(
                Push(
                    f"meeting:nudge:{mentor_id}:{student_id}:{since:%Y%m%dT%H%M}",
                    message,
                    person=mentor,
                    kind=OutboxKind.MEETING_REMINDER,
                )
            )
    return push_rows(session, pushes, now, settings.default_timezone)
