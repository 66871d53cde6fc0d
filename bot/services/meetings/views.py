"""What other features show of a student's meetings (the case file and the progress report).

`meetings_for_student` is the one entry point: meetings that happened, were missed or were
cancelled in a period, with whether a session record exists. It reads no record's text, so
calling it audits nothing; the caller audits the case-file read as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.tables import Meeting, Person, SessionRecord


@dataclass(frozen=True)
class MeetingView:
    """One meeting as the case file shows it."""

    id: int
    starts_at: datetime
    duration_minutes: int
    mentor_name: str
    # MeetingStatus: proposed, booked, held, no_show, rescheduled, declined, cancelled.
    status: str
    has_record: bool
    change_reason_given: bool


def meetings_for_student(
    session: Session, student_id: int, since: datetime, until: datetime
) -> list[MeetingView]:
    """The student's meetings starting in `[since, until)`, oldest first."""
    rows = session.exec(
        select(Meeting, Person, SessionRecord.id)
        .join(Person, col(Person.id) == Meeting.mentor_id)
        .join(
            SessionRecord,
            col(SessionRecord.meeting_id) == Meeting.id,
            isouter=True,
        )
        .where(
            Meeting.student_id == student_id,
            col(Meeting.starts_at) >= since,
            col(Meeting.starts_at) < until,
        )
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all()
    return [
        MeetingView(
            id=meeting.id or 0,
            starts_at=meeting.starts_at,
            duration_minutes=meeting.duration_minutes,
            mentor_name=mentor.name,
            status=meeting.status,
            has_record=record_id is not None,
            change_reason_given=bool(meeting.change_reason),
        )
        for meeting, mentor, record_id in rows
    ]
