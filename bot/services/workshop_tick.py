"""The timed steps of a workshop session, run by the workshops feature's job in the tick.

For every scheduled session, once each and in order:

1. 24 hours before: a reminder DM to everyone going (`workshop:{id}:remind-day:{person}:{start}`);
2. 1 hour before: another (`workshop:{id}:remind-hour:{person}:{start}`);
3. at the start: a post in the group's channel with the link and an "I'm here" button
   (`workshop:{id}:start:{start}`; a group without a channel gets it by DM instead);
4. at the end: a feedback prompt DM to everyone who went (`workshop:{id}:feedback:{person}`).

Reminders respect quiet hours (`push_rows` defers them to the end of the person's quiet
hours). A reminder that quiet hours would hold back until the session has started is useless,
so it is not sent at all: typically the hour-before reminder of an early-morning session for
someone in a zone where it is still night (it is counted in `skipped_quiet`).

Each step is marked on the session when done (or found too late: after downtime, a reminder
is only sent while it is still ahead of the start, the start post while the session runs,
the feedback prompt for a week after). The mark is set by a conditional UPDATE, so of two
schedulers only one does a step, and every push is keyed by (session, person, kind, start
time): a repeated tick sends nothing twice, and a moved session (new start, marks cleared)
gets fresh reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.localtime import quiet_hours_end
from bot.model import Message
from bot.outbox import Push, push_rows
from bot.outcome_lines import nonzero_counts
from bot.services import workshop_messages as msgs
from bot.services.groups import channel_address
from bot.services.language import speaking_in_group, speaking_to
from bot.services.workshops import (
    FEEDBACK_OPEN_DAYS,
    people_with_status,
    stamp,
    timezone_of,
    went_to,
)
from storage.enums import OutboxKind, RsvpStatus, WorkshopStatus
from storage.tables import Group, Person, WorkshopSession

DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)


@dataclass
class WorkshopTickOutcome:
    """What one pass over the workshop steps queued."""

    day_reminders: int = 0
    hour_reminders: int = 0
    # Reminders not sent because quiet hours would have held them until after the start.
    skipped_quiet: int = 0
    start_posts: int = 0
    feedback_prompts: int = 0
    # Steps skipped because the bot was down until they were no longer useful.
    too_late: int = 0

    @property
    def queued(self) -> bool:
        """True when anything went to the outbox."""
        return bool(
            self.day_reminders + self.hour_reminders + self.start_posts + self.feedback_prompts
        )

    def lines(self) -> list[str]:
        """Log lines for the counts that are not zero."""
        counts = {
            "workshop reminders (day before)": self.day_reminders,
            "workshop reminders (hour before)": self.hour_reminders,
            "workshop reminders not sent (quiet hours until the start)": self.skipped_quiet,
            "workshop start posts": self.start_posts,
            "workshop feedback prompts": self.feedback_prompts,
            "workshop steps skipped (too late after downtime)": self.too_late,
        }
        return nonzero_counts(counts)


def _claim(session: Session, workshop: WorkshopSession, mark: str, now: datetime) -> bool:
    """Set one step's mark if still unset; False when another scheduler took the step."""
    column: Any = getattr(WorkshopSession, mark)
    result = session.execute(
        update(WorkshopSession)
        .where(
            col(WorkshopSession.id) == workshop.id,
            col(WorkshopSession.starts_at) == workshop.starts_at,
            column.is_(None),
        )
        .values({mark: now})
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _take(
    session: Session, workshop: WorkshopSession, mark: str, due_at: datetime, now: datetime
) -> bool:
    """True when a step is due and this scheduler claimed it (its mark is now set)."""
    return (
        getattr(workshop, mark) is None and now >= due_at and _claim(session, workshop, mark, now)
    )


def due_workshops(session: Session, now: datetime) -> list[WorkshopSession]:
    """Scheduled sessions with a step due: from 24 hours before the start until feedback."""
    return list(
        session.exec(
            select(WorkshopSession)
            .where(
                WorkshopSession.status == WorkshopStatus.SCHEDULED,
                col(WorkshopSession.feedback_asked_at).is_(None),
                col(WorkshopSession.starts_at) <= now + DAY_BEFORE,
            )
            .order_by(col(WorkshopSession.starts_at), col(WorkshopSession.id))
        ).all()
    )


def run_workshop_steps(
    session: Session, settings: CoreSettings, now: datetime
) -> WorkshopTickOutcome:
    """Do every workshop step due at `now` (see the module docstring)."""
    outcome = WorkshopTickOutcome()
    for workshop in due_workshops(session, now):
        group = session.get(Group, workshop.group_id)
        assert group is not None
        start, end = workshop.starts_at, msgs.ends_at(workshop)
        if _take(session, workshop, "day_reminder_at", start - DAY_BEFORE, now):
            if now < start - HOUR_BEFORE:
                _remind(session, settings, now, workshop, outcome, hour=False)
            else:
                outcome.too_late += 1  # the hour-before reminder covers it
        if _take(session, workshop, "hour_reminder_at", start - HOUR_BEFORE, now):
            if now < start:
                _remind(session, settings, now, workshop, outcome, hour=True)
            else:
                outcome.too_late += 1
        if _take(session, workshop, "start_posted_at", start, now):
            if now < end:
                outcome.start_posts += _post_start(session, settings, now, workshop, group)
            else:
                outcome.too_late += 1
        if _take(session, workshop, "feedback_asked_at", end, now):
            if now < end + timedelta(days=FEEDBACK_OPEN_DAYS):
                outcome.feedback_prompts += _ask_feedback(session, settings, now, workshop)
            else:
                outcome.too_late += 1
    return outcome


def _delivered_at(person: Person, settings: CoreSettings, now: datetime) -> datetime:
    """When a push queued now would really go out: after the person's quiet hours."""
    try:
        return (
            quiet_hours_end(
                now, timezone_of(person, settings), person.quiet_start, person.quiet_end
            )
            or now
        )
    except UserError:
        return now  # broken quiet hours must not block a reminder (push_rows agrees)


def _going(session: Session, workshop: WorkshopSession) -> list[Person]:
    assert workshop.id is not None
    return [p for _row, p in people_with_status(session, workshop.id, (RsvpStatus.GOING,))]


def _remind(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    workshop: WorkshopSession,
    outcome: WorkshopTickOutcome,
    *,
    hour: bool,
) -> None:
    kind = "remind-hour" if hour else "remind-day"
    pushes: list[Push] = []
    for person in _going(session, workshop):
        if _delivered_at(person, settings, now) >= workshop.starts_at:
            outcome.skipped_quiet += 1
            continue
        with speaking_to(person, settings):
            message = msgs.reminder(workshop, timezone_of(person, settings), hour=hour)
        pushes.append(
            Push(
                dedupe_key=f"workshop:{workshop.id}:{kind}:{person.id}:{stamp(workshop.starts_at)}",
                message=message,
                person=person,
                kind=OutboxKind.WORKSHOP_REMINDER,
            )
        )
    sent = push_rows(session, pushes, now, settings.default_timezone)
    if hour:
        outcome.hour_reminders += sent
    else:
        outcome.day_reminders += sent


def _post_start(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    workshop: WorkshopSession,
    group: Group,
) -> int:
    address = channel_address(group)
    key = f"workshop:{workshop.id}:start"
    if address is not None:
        with speaking_in_group(group, settings):
            message = msgs.start_post(workshop, channel=True)
        push = Push(
            dedupe_key=f"{key}:{stamp(workshop.starts_at)}",
            message=message,
            address=address,
            kind=OutboxKind.WORKSHOP_REMINDER,
        )
        return push_rows(session, [push], now, settings.default_timezone)
    # No channel (or the console): those going get the start post as a DM, unless quiet
    # hours would hold it until the session is over. Each in their own language.
    pushes: list[Push] = []
    for person in _going(session, workshop):
        if _delivered_at(person, settings, now) >= msgs.ends_at(workshop):
            continue
        with speaking_to(person, settings):
            dm: Message = msgs.start_post(workshop, channel=False)
        pushes.append(
            Push(
                dedupe_key=f"{key}:{person.id}:{stamp(workshop.starts_at)}",
                message=dm,
                person=person,
                kind=OutboxKind.WORKSHOP_REMINDER,
            )
        )
    return push_rows(session, pushes, now, settings.default_timezone)


def _ask_feedback(
    session: Session, settings: CoreSettings, now: datetime, workshop: WorkshopSession
) -> int:
    assert workshop.id is not None
    rows = people_with_status(session, workshop.id, (RsvpStatus.GOING,))
    # Walk-ins marked present by the mentor are recorded as going, so they are asked too;
    # anyone marked absent is not.
    attendees = [person for row, person in rows if went_to(row)]
    pushes: list[Push] = []
    for person in attendees:
        # A DM: in the attendee's language, like the thanks that answers their rating.
        with speaking_to(person, settings):
            prompt = msgs.feedback_prompt(workshop)
        pushes.append(
            Push(
                dedupe_key=f"workshop:{workshop.id}:feedback:{person.id}",
                message=prompt,
                person=person,
                kind=OutboxKind.WORKSHOP_FEEDBACK,
            )
        )
    return push_rows(session, pushes, now, settings.default_timezone)
