"""What other features show of a student's meetings (the case file and the progress report).

`meetings_for_student` is the one entry point: the meetings that start in a period, with
their outcome and whether a session record exists. The record's words (topics, agreed
actions, next step) are the mentor's confidential writing: they are filled in only for a
`reader` who is one of the student's mentors, and that read is audited like `/meet record`.
Without a reader (or for anyone else) the view says only that a record exists.

`CASEFILE_STATUS` maps a meeting's status onto the case file's four words (scheduled, held,
missed, cancelled), so wiring it into `bot.services.casefile.MeetingSource` is one mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.audit import audit
from bot.people import is_mentor_of
from bot.services.meetings.records import split_actions
from storage.enums import MeetingStatus
from storage.tables import Meeting, Person, SessionRecord

CASEFILE_STATUS: dict[str, str] = {
    MeetingStatus.PROPOSED: "scheduled",
    MeetingStatus.BOOKED: "scheduled",
    MeetingStatus.HELD: "held",
    MeetingStatus.NO_SHOW: "missed",
    MeetingStatus.RESCHEDULED: "cancelled",
    MeetingStatus.DECLINED: "cancelled",
    MeetingStatus.EXPIRED: "cancelled",
    MeetingStatus.CANCELLED: "cancelled",
}


@dataclass(frozen=True)
class MeetingView:
    """One meeting as the case file shows it."""

    id: int
    starts_at: datetime
    duration_minutes: int
    mentor_name: str
    # MeetingStatus: proposed, booked, held, no_show, rescheduled, declined, expired, cancelled.
    status: str
    has_record: bool
    change_reason_given: bool
    # The session record's words: only for a reader who is one of the student's mentors.
    topics: str = ""
    agreed_actions: tuple[str, ...] = ()
    next_step: str = ""

    @property
    def casefile_status(self) -> str:
        """The case file's word for the outcome: scheduled, held, missed or cancelled."""
        return CASEFILE_STATUS.get(self.status, "cancelled")


def meetings_for_student(
    session: Session,
    student_id: int,
    since: datetime,
    until: datetime,
    *,
    reader: Person | None = None,
    now: datetime | None = None,
) -> list[MeetingView]:
    """The student's meetings starting in `[since, until)`, oldest first.

    With a `reader` who mentors the student, each record's words are included and the read
    is audited once (`meeting_record.read`, dated `now`).
    """
    rows = session.exec(
        select(Meeting, Person, SessionRecord)
        .join(Person, col(Person.id) == Meeting.mentor_id)
        .join(SessionRecord, col(SessionRecord.meeting_id) == Meeting.id, isouter=True)
        .where(
            Meeting.student_id == student_id,
            col(Meeting.starts_at) >= since,
            col(Meeting.starts_at) < until,
        )
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all()
    readable = (
        reader is not None
        and reader.id is not None
        and is_mentor_of(session, reader.id, student_id)
    )
    views = [
        MeetingView(
            id=meeting.id or 0,
            starts_at=meeting.starts_at,
            duration_minutes=meeting.duration_minutes,
            mentor_name=mentor.name,
            status=meeting.status,
            has_record=record is not None,
            change_reason_given=bool(meeting.change_reason),
            topics=record.topics if readable and record is not None else "",
            agreed_actions=(
                tuple(split_actions(record.actions)) if readable and record is not None else ()
            ),
            next_step=record.next_step if readable and record is not None else "",
        )
        for meeting, mentor, record in rows
    ]
    if readable and reader is not None and any(v.has_record for v in views):
        audit(
            session,
            now or until,
            reader.id,
            "meeting_record.read",
            student_id,
            "case file",
        )
    return views
