"""After a meeting: did it happen, the confidential session record, and its goals.

A session record is the mentor's words about a student: sealed at rest like notes, read
only by the student's own mentors (not the student, not other mentors, not admins), and
every read and write is in the audit log. Meetings the student didn't come to count toward
escalation like missed check-ins: `EscalationRules.missed_meetings` in a row raise a
"missed" alert for the mentor.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, col, select

from bot.audit import audit
from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from bot.i18n import DEFAULT_LANGUAGE, N_, _, current_language
from bot.i18n.dates import DATE, local_format, local_time
from bot.localtime import to_local
from bot.model import Choice, Field, Message
from bot.outbox import Push, push_rows
from bot.people import is_mentor_of
from bot.services import goals as goal_service
from bot.services.alerts import raise_alert
from bot.services.language import speaking_to
from bot.services.meetings.booking import not_found, people_of, status_word, when_text, zone_of
from bot.services.meetings.steps import OUTCOMES
from storage.enums import AlertKind, MeetingStatus, OutboxKind
from storage.tables import Alert, Meeting, Person, SessionRecord

RECORD_ACTION = "meeting.record"
RECORD_FORM = "meeting.record"
GOALS_ACTION = "meeting.goals"
MAX_FIELD = 2000
ONLY_MENTORS = N_("Only this student's mentors can read their session records.")
CLOSED = (MeetingStatus.HELD, MeetingStatus.NO_SHOW, MeetingStatus.RESCHEDULED)


def _mentors_meeting(session: Session, mentor: Person, raw_id: int) -> Meeting:
    meeting = session.get(Meeting, raw_id)
    if meeting is None or meeting.mentor_id != mentor.id:
        raise not_found(raw_id)
    return meeting


def record_outcome(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    mentor: Person,
    raw_id: int,
    outcome: str,
) -> tuple[Meeting, Alert | None]:
    """The mentor's answer to "Did it happen?"; a run of no-shows may raise an alert."""
    if outcome not in {value for value, _label in OUTCOMES}:
        raise UserError(_("Answer with one of the buttons: it happened, didn't come, rescheduled."))
    meeting = _mentors_meeting(session, mentor, raw_id)
    if meeting.status in CLOSED:
        raise UserError(
            _("Meeting #{id} is already recorded as {status}.").format(
                id=meeting.id, status=_shown(meeting.status)
            )
        )
    if meeting.status != MeetingStatus.BOOKED:
        raise UserError(
            _("Meeting #{id} was {status}.").format(id=meeting.id, status=_shown(meeting.status))
        )
    if now < meeting.starts_at:
        raise UserError(_("Meeting #{id} hasn't started yet.").format(id=meeting.id))
    meeting.status = MeetingStatus(outcome)
    meeting.outcome_at = now
    meeting.updated_at = now
    session.add(meeting)
    session.flush()
    alert = None
    if meeting.status == MeetingStatus.NO_SHOW:
        _mentor, student = people_of(session, meeting)
        misses = consecutive_no_shows(session, meeting.student_id)
        if misses >= settings.escalation.missed_meetings:
            alert = raise_alert(
                session,
                settings,
                now,
                student,
                AlertKind.MISSED,
                f"{misses} meetings missed in a row",
            )
    return meeting, alert


def _shown(status: str) -> str:
    if status == MeetingStatus.NO_SHOW:
        return _("a no-show")
    return status_word(status)


def consecutive_no_shows(session: Session, student_id: int) -> int:
    """How many of the student's latest answered meetings in a row they didn't come to."""
    statuses = session.exec(
        select(Meeting.status)
        .where(
            Meeting.student_id == student_id,
            col(Meeting.status).in_((MeetingStatus.HELD, MeetingStatus.NO_SHOW)),
        )
        .order_by(col(Meeting.starts_at).desc())
        .limit(50)
    ).all()
    count = 0
    for status in statuses:
        if status != MeetingStatus.NO_SHOW:
            break
        count += 1
    return count


# Each part of a record: the answer when it's missing (only topics are required) and when
# it's too long, as whole sentences so a translator can give each noun its own grammar.
_TOO_LONG = {
    "topics": N_("Please keep the topics under {limit} characters."),
    "agreed actions": N_("Please keep the agreed actions under {limit} characters."),
    "next step": N_("Please keep the next step under {limit} characters."),
}


def _clean(raw: str, what: str, *, required: bool) -> str:
    text = raw.strip()
    if required and not text:
        raise UserError(_("Please write the topics."))
    if len(text) > MAX_FIELD:
        raise UserError(_(_TOO_LONG[what]).format(limit=MAX_FIELD))
    return text


def write_record(
    session: Session,
    now: datetime,
    mentor: Person,
    raw_id: int,
    topics: str,
    actions: str,
    next_step: str,
) -> SessionRecord:
    """Save (or replace) the session record of a held meeting; audited."""
    topics = _clean(topics, "topics", required=True)
    actions = _clean(actions, "agreed actions", required=False)
    next_step = _clean(next_step, "next step", required=False)
    meeting = _mentors_meeting(session, mentor, raw_id)
    if meeting.status != MeetingStatus.HELD:
        raise UserError(
            _("A session record is for a meeting that happened; #{id} is {status}.").format(
                id=meeting.id, status=_shown(meeting.status)
            )
        )
    assert meeting.id is not None and mentor.id is not None
    record = session.exec(
        select(SessionRecord).where(SessionRecord.meeting_id == meeting.id)
    ).first() or SessionRecord(
        meeting_id=meeting.id,
        student_id=meeting.student_id,
        author_id=mentor.id,
        topics="",
        actions="",
        next_step="",
        created_at=now,
        updated_at=now,
    )
    record.topics, record.actions, record.next_step = topics, actions, next_step
    record.updated_at = now
    session.add(record)
    session.flush()
    audit(
        session, now, mentor.id, "meeting_record.write", meeting.student_id, f"meeting {meeting.id}"
    )
    return record


def _readable(session: Session, reader: Person, raw_id: int) -> tuple[Meeting, SessionRecord]:
    meeting = session.get(Meeting, raw_id)
    if meeting is None:
        raise not_found(raw_id)
    if reader.id is None or not is_mentor_of(session, reader.id, meeting.student_id):
        # The same answer whether or not the meeting exists for someone else.
        raise NotAllowed(_(ONLY_MENTORS))
    record = session.exec(
        select(SessionRecord).where(SessionRecord.meeting_id == meeting.id)
    ).first()
    if record is None:
        raise UserError(_("Meeting #{id} has no session record yet.").format(id=meeting.id))
    return meeting, record


def read_record(
    session: Session, settings: CoreSettings, now: datetime, reader: Person, raw_id: int
) -> Message:
    """The session record for one of the reader's students; every read audited."""
    meeting, record = _readable(session, reader, raw_id)
    audit(
        session, now, reader.id, "meeting_record.read", meeting.student_id, f"meeting {meeting.id}"
    )
    _mentor, student = people_of(session, meeting)
    tz = zone_of(reader, settings)
    choices: tuple[Choice, ...] = ()
    if record.actions and record.goals_made_at is None:
        choices = (Choice(_("Make these goals"), GOALS_ACTION, (("meeting", str(meeting.id)),)),)
    return Message(
        title=_("Session record: {name}").format(name=student.name),
        text=_("Meeting #{id}, {when}. Confidential: only {name}'s mentors can read this.").format(
            id=meeting.id, when=when_text(meeting.starts_at, tz), name=student.name
        ),
        fields=(
            Field(_("Topics"), record.topics),
            Field(_("Agreed actions"), record.actions or "–"),
            Field(_("Next step"), record.next_step or "–"),
            Field(_("Written"), _written(to_local(record.updated_at, tz))),
        ),
        choices=choices,
    )


def _written(local: datetime) -> str:
    """`07 Dec 2026 14:05` in English; the reader's own date and time else."""
    if current_language() == DEFAULT_LANGUAGE:
        return f"{local:%d %b %Y %H:%M}"
    return f"{local_format(local, DATE)} {local_time(local)}"


def split_actions(actions: str) -> list[str]:
    """The agreed actions as separate goal titles (one per line, `;` or bullet)."""
    parts = re.split(r"[\n;]+", actions)
    titles = [" ".join(p.strip().lstrip("-*•0123456789.) ").split()) for p in parts]
    return [t[:200] for t in titles if t]


def make_goals(
    session: Session, settings: CoreSettings, now: datetime, mentor: Person, raw_id: int
) -> list[str]:
    """Turn a record's agreed actions into the student's goals, in one press, once."""
    meeting, record = _readable(session, mentor, raw_id)
    if record.goals_made_at is not None:
        raise UserError(_("These agreed actions are already the student's goals."))
    titles = split_actions(record.actions)
    if not titles:
        raise UserError(_("This record has no agreed actions to turn into goals."))
    _mentor, student = people_of(session, meeting)
    today = to_local(now, zone_of(student, settings)).date()
    made = [goal_service.add_goal(session, student, t, None, now, today).title for t in titles]
    record.goals_made_at = now
    session.add(record)
    audit(session, now, mentor.id, "meeting_record.goals", student.id, f"meeting {meeting.id}")
    listing = "\n".join(f"• {t}" for t in made)
    with speaking_to(student, settings):
        message = Message(
            title=_("New goals from your meeting"),
            text=_(
                "{name} added the actions you agreed as goals:\n{goals}\nSee them with /goal list."
            ).format(name=mentor.name, goals=listing),
        )
    push_rows(
        session,
        [Push(f"meeting:{meeting.id}:goals", message, person=student, kind=OutboxKind.MEETING)],
        now,
        settings.default_timezone,
    )
    return made


def record_prompt(meeting: Meeting) -> Message:
    """After "it happened": the button that opens the session-record form."""
    return Message(
        text=_(
            "Thanks. Meeting #{id} is recorded as held. Write the session record "
            "(topics, agreed actions, next step) now or later with the button, or type "
            "/meet write {id} TOPICS | ACTIONS | NEXT STEP."
        ).format(id=meeting.id),
        choices=(
            Choice(
                _("Write the session record"),
                RECORD_ACTION,
                (("meeting", str(meeting.id)),),
                style="primary",
            ),
        ),
    )
