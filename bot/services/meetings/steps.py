"""The timed steps of a meeting, run by the meetings feature's job in every tick.

For every live booked meeting, once each per start time:

1. 24 hours before: a reminder to both people (`meeting:{id}:remind-day:{person}:{start}`),
   deferred past their quiet hours like any push, and not sent when quiet hours would hold
   it until the meeting has started;
2. 1 hour before: another, sent even in quiet hours (urgent): it is the one that matters;
3. at the end: "Did it happen?" to the mentor, with three buttons.

Each step is marked on the meeting by a conditional UPDATE, so of two schedulers only one
does it, and a moved meeting (marks cleared, new start) gets fresh reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import N_, _
from bot.localtime import quiet_hours_end
from bot.model import Choice, Message
from bot.outbox import Push, push_rows
from bot.outcome_lines import nonzero_counts
from bot.services.language import speaking_to
from bot.services.meetings.availability import video_link
from bot.services.meetings.booking import people_of, stamp, when_text, zone_of
from storage.enums import MeetingStatus, OutboxKind
from storage.tables import Meeting, Person

DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)
# "Did it happen?" is asked up to a week after the end (after downtime); later is pointless.
ASK_WITHIN = timedelta(days=7)
OUTCOME_ACTION = "meeting.outcome"
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("held", N_("It happened")),
    ("no_show", N_("Student didn't come")),
    ("rescheduled", N_("We rescheduled")),
)


@dataclass
class MeetingStepsOutcome:
    """What one pass over the meeting steps queued."""

    day_reminders: int = 0
    hour_reminders: int = 0
    skipped_quiet: int = 0
    questions: int = 0
    expired: int = 0
    nudges: int = 0
    too_late: int = 0

    @property
    def queued(self) -> bool:
        """True when anything went to the outbox."""
        return bool(self.day_reminders + self.hour_reminders + self.questions + self.nudges)

    def lines(self) -> list[str]:
        """Log lines for the counts that are not zero."""
        counts = {
            "meeting reminders (day before)": self.day_reminders,
            "meeting reminders (hour before)": self.hour_reminders,
            "meeting reminders not sent (quiet hours until the start)": self.skipped_quiet,
            "meeting outcome questions": self.questions,
            "meeting proposals expired unanswered": self.expired,
            "meeting cadence nudges": self.nudges,
            "meeting steps skipped (too late after downtime)": self.too_late,
        }
        return nonzero_counts(counts)


def _claim(session: Session, meeting: Meeting, mark: str, now: datetime) -> bool:
    column: Any = getattr(Meeting, mark)
    result = session.execute(
        update(Meeting)
        .where(
            col(Meeting.id) == meeting.id,
            col(Meeting.starts_at) == meeting.starts_at,
            col(Meeting.status) == MeetingStatus.BOOKED,
            column.is_(None),
        )
        .values({mark: now})
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _take(session: Session, meeting: Meeting, mark: str, due: datetime, now: datetime) -> bool:
    return getattr(meeting, mark) is None and now >= due and _claim(session, meeting, mark, now)


def due_meetings(session: Session, now: datetime) -> list[Meeting]:
    """Booked meetings with a step due: from 24 hours before the start until asked."""
    return list(
        session.exec(
            select(Meeting)
            .where(
                Meeting.status == MeetingStatus.BOOKED,
                col(Meeting.outcome_asked_at).is_(None),
                col(Meeting.starts_at) <= now + DAY_BEFORE,
            )
            .order_by(col(Meeting.starts_at), col(Meeting.id))
        ).all()
    )


def run_meeting_steps(
    session: Session, settings: CoreSettings, now: datetime
) -> MeetingStepsOutcome:
    """Do every meeting step due at `now` (see the module docstring)."""
    outcome = MeetingStepsOutcome()
    outcome.expired = expire_proposals(session, now)
    for meeting in due_meetings(session, now):
        start = meeting.starts_at
        end = start + timedelta(minutes=meeting.duration_minutes)
        if _take(session, meeting, "day_reminder_at", start - DAY_BEFORE, now):
            if now < start - HOUR_BEFORE:
                _remind(session, settings, now, meeting, outcome, hour=False)
            else:
                outcome.too_late += 1  # the hour-before reminder covers it
        if _take(session, meeting, "hour_reminder_at", start - HOUR_BEFORE, now):
            if now < start:
                _remind(session, settings, now, meeting, outcome, hour=True)
            else:
                outcome.too_late += 1
        if _take(session, meeting, "outcome_asked_at", end, now):
            if now < end + ASK_WITHIN:
                outcome.questions += _ask_outcome(session, settings, now, meeting)
            else:
                outcome.too_late += 1
    return outcome


def expire_proposals(session: Session, now: datetime) -> int:
    """Proposals whose time came without an answer are closed (their buttons then refuse)."""
    result = session.execute(
        update(Meeting)
        .where(col(Meeting.status) == MeetingStatus.PROPOSED, col(Meeting.starts_at) <= now)
        .values(status=MeetingStatus.EXPIRED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _delivered_at(person: Person, settings: CoreSettings, now: datetime) -> datetime:
    try:
        return (
            quiet_hours_end(now, zone_of(person, settings), person.quiet_start, person.quiet_end)
            or now
        )
    except UserError:
        return now


def _remind(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    meeting: Meeting,
    outcome: MeetingStepsOutcome,
    *,
    hour: bool,
) -> None:
    mentor, student = people_of(session, meeting)
    link = video_link(session, mentor.id) if mentor.id is not None else None
    kind = "remind-hour" if hour else "remind-day"
    pushes: list[Push] = []
    for person, other in ((mentor, student), (student, mentor)):
        # The hour-before reminder goes even in quiet hours; the day-before one waits, and is
        # dropped when waiting would make it arrive after the start.
        if not hour and _delivered_at(person, settings, now) >= meeting.starts_at:
            outcome.skipped_quiet += 1
            continue
        with speaking_to(person, settings):
            when = when_text(meeting.starts_at, zone_of(person, settings), meeting.duration_minutes)
            text = (
                _("Reminder: your meeting with {name} is in an hour, {when}.")
                if hour
                else _("Reminder: your meeting with {name} is tomorrow, {when}.")
            ).format(name=other.name, when=when)
            if link:
                text += "\n" + _("Join: {link}").format(link=link)
            message = Message(title=_("Meeting reminder"), text=text)
        pushes.append(
            Push(
                f"meeting:{meeting.id}:{kind}:{person.id}:{stamp(meeting.starts_at)}",
                message,
                person=person,
                kind=OutboxKind.MEETING_REMINDER,
                urgent=hour,
            )
        )
    sent = push_rows(session, pushes, now, settings.default_timezone)
    if hour:
        outcome.hour_reminders += sent
    else:
        outcome.day_reminders += sent


def outcome_choices(meeting_id: int | None) -> tuple[Choice, ...]:
    """The three answers to "Did it happen?", in the language being spoken."""
    return tuple(
        Choice(
            _(label),
            OUTCOME_ACTION,
            (("meeting", str(meeting_id)), ("outcome", value)),
            style="primary" if value == "held" else "default",
        )
        for value, label in OUTCOMES
    )


def _ask_outcome(session: Session, settings: CoreSettings, now: datetime, meeting: Meeting) -> int:
    mentor, student = people_of(session, meeting)
    with speaking_to(mentor, settings):
        when = when_text(meeting.starts_at, zone_of(mentor, settings), meeting.duration_minutes)
        message = Message(
            title=_("Did it happen?"),
            text=_("Your meeting #{id} with {name}, {when}: did it happen?").format(
                id=meeting.id, name=student.name, when=when
            ),
            choices=outcome_choices(meeting.id),
        )
    push = Push(f"meeting:{meeting.id}:ask", message, person=mentor, kind=OutboxKind.MEETING)
    return push_rows(session, [push], now, settings.default_timezone)
