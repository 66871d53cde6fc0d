"""Booking, proposing, accepting, moving and cancelling meetings, with their invites.

Every change queues what the two people must hear (an ICS invite, its update or its
cancellation) in the same transaction as the change, through the outbox. A live meeting
holds its slot through the partial unique index on (mentor, start): when two students press
the same slot at once, the second insert fails inside its own savepoint and that student
is offered the next free slots instead.

Everything a person reads is built in that person's language: the actor's own answer in
theirs (the core speaks it), and what goes to the other person (the invite and its text, a
proposal, a decline, a cancellation) inside `speaking_to(recipient)`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from babel.dates import format_skeleton
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import DEFAULT_LANGUAGE, N_, PSEUDO_LANGUAGE, _, babel_locale, current_language
from bot.i18n.dates import local_time
from bot.i18n.translations import pseudo_translate
from bot.localtime import to_local
from bot.model import Choice, Message
from bot.outbox import Push, push_rows
from bot.people import STUDENT, is_mentor_of, mentors_of
from bot.services.language import speaking_to
from bot.services.meetings.availability import (
    Slot,
    busy,
    free_slots,
    hours_of,
    local_instant,
    published_slots,
    video_link,
)
from bot.services.meetings.invites import invite_attachment, invite_ics
from storage.enums import LIVE_MEETING, MeetingStatus, OutboxKind
from storage.tables import Meeting, Person

BOOK_ACTION = "meeting.book"
ACCEPT_ACTION = "meeting.accept"
DECLINE_ACTION = "meeting.decline"
DEFAULT_MINUTES = 30
MAX_REASON = 500
NOT_FOUND = N_("I can't find meeting #{id}. Your meetings are listed by /meet list.")


def not_found(raw_id: int) -> UserError:
    """The one answer for a meeting that isn't there or isn't the asker's."""
    return UserError(_(NOT_FOUND).format(id=raw_id))


class SlotTaken(UserError):
    """The slot went to someone else a moment ago (or was never free)."""


def stamp(when: datetime) -> str:
    """A UTC instant as a compact button argument: 20270315T1400Z."""
    return when.strftime("%Y%m%dT%H%MZ")


def parse_stamp(raw: str) -> datetime:
    """The instant a button carries; a friendly error for a forged or broken one."""
    try:
        return datetime.strptime(raw, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise UserError(_("That button is out of date. Type /meet to see the free times.")) from exc


def day_text(local: date) -> str:
    """`Mon 15 Mar 2027` in English; the reader's language's own order and names else."""
    language = current_language()
    english = f"{local:%a} {local.day} {local:%b %Y}"
    if language == DEFAULT_LANGUAGE:
        return english
    if language == PSEUDO_LANGUAGE:
        return pseudo_translate(english)
    return format_skeleton("yMMMEd", local, fuzzy=True, locale=babel_locale(language))


def when_text(when: datetime, tz: str, minutes: int | None = None) -> str:
    """`Mon 15 Mar 2027, 10:00-10:30 (America/New_York)` in the reader's own zone and language."""
    local = to_local(when, tz)
    text = f"{day_text(local)}, {local_time(local)}"
    if minutes is not None:
        text += f"-{local_time(to_local(when + timedelta(minutes=minutes), tz))}"
    return f"{text} ({tz})"


def zone_of(person: Person, settings: CoreSettings) -> str:
    """The person's zone, or the programme's."""
    return person.timezone or settings.default_timezone


def my_mentors(session: Session, student: Person) -> list[Person]:
    """The student's active mentors (primary first, then backup)."""
    assert student.id is not None
    found = mentors_of(session, student.id)
    ordered = [found[k] for k in ("primary", "backup") if k in found]
    return [m for m in ordered if m.active and m.role != STUDENT]


@dataclass(frozen=True)
class SlotOffer:
    """The free slots offered to a student, as a message with one button each."""

    message: Message
    slots: tuple[Slot, ...]


def offer_slots(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    intro: str = "",
) -> SlotOffer:
    """The next free slots with the student's mentors, in the student's own zone."""
    mentors = my_mentors(session, student)
    if not mentors:
        return SlotOffer(
            Message(text=_("You don't have a mentor yet, so there's nothing to book.")), ()
        )
    names = {m.id: m.name for m in mentors}
    slots = free_slots(session, [m.id for m in mentors if m.id is not None], now)
    tz = zone_of(student, settings)
    if not slots:
        text = (intro + "\n" if intro else "") + (
            _("No free meeting times in the next three weeks. Your mentor can also propose one.")
        )
        return SlotOffer(Message(text=text.strip()), ())
    choices = tuple(
        Choice(
            f"{when_text(s.starts_at, tz).rsplit(' (', 1)[0]} · {names[s.mentor_id]}",
            BOOK_ACTION,
            (("mentor", str(s.mentor_id)), ("at", stamp(s.starts_at))),
        )
        for s in slots
    )
    text = (intro + "\n" if intro else "") + _("Free meeting times (your time, {zone}):").format(
        zone=tz
    )
    return SlotOffer(
        Message(title=_("Book a meeting"), text=text.strip(), choices=choices), tuple(slots)
    )


def _new_meeting(
    mentor: Person,
    student: Person,
    starts_at: datetime,
    minutes: int,
    tz: str,
    status: str,
    actor: Person,
    now: datetime,
) -> Meeting:
    assert mentor.id is not None and student.id is not None
    return Meeting(
        uid=f"{uuid.uuid4().hex}@mentorbot",
        mentor_id=mentor.id,
        student_id=student.id,
        starts_at=starts_at,
        duration_minutes=minutes,
        mentor_timezone=tz,
        status=status,
        created_by=actor.id,
        created_at=now,
        updated_at=now,
    )


def _hold(session: Session, meeting: Meeting) -> None:
    """Insert or move a live meeting in a savepoint; SlotTaken when the slot is held already."""
    try:
        with session.begin_nested():
            session.add(meeting)
            session.flush()
    except IntegrityError as exc:
        raise SlotTaken(_("Sorry, someone else just took that time.")) from exc


def book(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    mentor_id: int,
    at: datetime,
) -> Meeting:
    """Book the slot at `at` with one of the student's own mentors; invites both."""
    mentor = session.get(Person, mentor_id)
    if (
        mentor is None
        or student.id is None
        or not mentor.active
        or not is_mentor_of(session, mentor_id, student.id)
    ):
        raise UserError(_("You can only book meetings with your own mentor."))
    if at <= now:
        raise SlotTaken(_("That time has already passed."))
    slot = next((s for s in published_slots(session, mentor_id, now) if s.starts_at == at), None)
    if slot is None:
        raise SlotTaken(_("That time isn't free any more."))
    if busy(session, mentor_id, slot.starts_at, slot.ends_at):
        raise SlotTaken(_("Sorry, someone else just took that time."))
    tz = next(
        h.timezone
        for h in hours_of(session, mentor_id)
        if h.weekday == to_local(at, h.timezone).weekday()
    )
    meeting = _new_meeting(
        mentor, student, at, slot.minutes, tz, MeetingStatus.BOOKED, student, now
    )
    _hold(session, meeting)
    send_invites(
        session,
        settings,
        now,
        meeting,
        mentor,
        student,
        note=lambda: _("{name} booked it.").format(name=student.name),
    )
    return meeting


def propose(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    mentor: Person,
    student: Person,
    day: date,
    at: time,
) -> Meeting:
    """A mentor proposes `day at` (their own zone) to one of their students, who answers."""
    assert mentor.id is not None and student.id is not None
    if not is_mentor_of(session, mentor.id, student.id):
        raise UserError(_("You can only propose meetings to the students you mentor."))
    tz = zone_of(mentor, settings)
    starts_at = local_instant(day, at, tz)
    if starts_at is None:
        raise UserError(_no_such_time(at, day, tz))
    if starts_at <= now:
        raise UserError(_("That time has already passed."))
    rows = hours_of(session, mentor.id)
    minutes = rows[0].slot_minutes if rows else DEFAULT_MINUTES
    if busy(session, mentor.id, starts_at, starts_at + timedelta(minutes=minutes)):
        raise SlotTaken(_("You already have a meeting then."))
    meeting = _new_meeting(
        mentor, student, starts_at, minutes, tz, MeetingStatus.PROPOSED, mentor, now
    )
    _hold(session, meeting)
    stz = zone_of(student, settings)
    ref = (("meeting", str(meeting.id)),)
    with speaking_to(student, settings):
        message = Message(
            title=_("Meeting proposed"),
            text=_("{mentor} proposes a meeting on {when}. Does it suit you?").format(
                mentor=mentor.name, when=when_text(starts_at, stz, minutes)
            ),
            choices=(
                Choice(_("Accept"), ACCEPT_ACTION, ref, style="primary"),
                Choice(_("Decline"), DECLINE_ACTION, ref),
            ),
        )
    push_rows(
        session,
        [
            Push(
                f"meeting:{meeting.id}:proposed:{meeting.sequence}",
                message,
                person=student,
                kind=OutboxKind.MEETING,
            )
        ],
        now,
        settings.default_timezone,
    )
    return meeting


def _no_such_time(at: time, day: date, tz: str) -> str:
    return _("{time} doesn't exist on {day} in {zone} (the clocks go forward).").format(
        time=at.strftime("%H:%M"), day=day.isoformat(), zone=tz
    )


def meeting_for(session: Session, actor: Person, raw_id: int) -> Meeting:
    """A meeting the actor is part of (as student or mentor); else reads as not found."""
    meeting = session.get(Meeting, raw_id)
    if meeting is None or actor.id not in (meeting.student_id, meeting.mentor_id):
        raise not_found(raw_id)
    return meeting


def people_of(session: Session, meeting: Meeting) -> tuple[Person, Person]:
    """The meeting's mentor and student."""
    mentor = session.get(Person, meeting.mentor_id)
    student = session.get(Person, meeting.student_id)
    assert mentor is not None and student is not None
    return mentor, student


def answer_proposal(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    raw_id: int,
    *,
    accept: bool,
) -> Meeting:
    """The student accepts (invites both) or declines (the mentor is told) a proposal."""
    meeting = meeting_for(session, student, raw_id)
    if meeting.student_id != student.id:
        raise not_found(raw_id)
    if meeting.status != MeetingStatus.PROPOSED:
        raise UserError(
            _("Meeting #{id} is already {status}.").format(
                id=meeting.id, status=status_word(meeting.status)
            )
        )
    if meeting.starts_at <= now:
        raise UserError(_("That proposed time has already passed. Ask your mentor for a new one."))
    mentor, _student = people_of(session, meeting)
    meeting.updated_at = now
    if accept:
        meeting.status = MeetingStatus.BOOKED
        session.add(meeting)
        send_invites(
            session,
            settings,
            now,
            meeting,
            mentor,
            student,
            note=lambda: _("{name} accepted.").format(name=student.name),
        )
    else:
        meeting.status = MeetingStatus.DECLINED
        session.add(meeting)
        with speaking_to(mentor, settings):
            text = _("{name} declined the meeting you proposed for {when}.").format(
                name=student.name, when=when_text(meeting.starts_at, zone_of(mentor, settings))
            )
        push_rows(
            session,
            [
                Push(
                    f"meeting:{meeting.id}:declined",
                    Message(text=text),
                    person=mentor,
                    kind=OutboxKind.MEETING,
                )
            ],
            now,
            settings.default_timezone,
        )
    return meeting


def _reason(raw: str, missing: str) -> str:
    """The reason, one line; `missing` is the answer when there is none (already translated)."""
    reason = " ".join(raw.split())
    if not reason:
        raise UserError(missing)
    if len(reason) > MAX_REASON:
        raise UserError(
            _("Please keep the reason under {limit} characters.").format(limit=MAX_REASON)
        )
    return reason


def move(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    actor: Person,
    raw_id: int,
    day: date,
    at: time,
    raw_reason: str,
) -> Meeting:
    """Move a booked meeting to `day at` in the actor's own zone, with a reason.

    A student may only move it to a free slot of the mentor's hours; a mentor to any free
    time. The invite goes out again with the same UID and the next SEQUENCE.
    """
    meeting = meeting_for(session, actor, raw_id)
    reason = _reason(
        raw_reason, _("Please give a short reason, so the other person knows why it moved.")
    )
    if meeting.status != MeetingStatus.BOOKED or meeting.starts_at <= now:
        raise UserError(_("Meeting #{id} can't be moved any more.").format(id=meeting.id))
    tz = zone_of(actor, settings)
    starts_at = local_instant(day, at, tz)
    if starts_at is None:
        raise UserError(_no_such_time(at, day, tz))
    if starts_at <= now:
        raise UserError(_("That time has already passed."))
    minutes = meeting.duration_minutes
    if actor.id == meeting.student_id:
        slots = published_slots(session, meeting.mentor_id, now)
        if not any(s.starts_at == starts_at for s in slots):
            raise SlotTaken(_("That time isn't one of your mentor's free times."))
    clash = [
        m
        for m in busy(session, meeting.mentor_id, starts_at, starts_at + timedelta(minutes=minutes))
        if m.id != meeting.id
    ]
    if clash:
        raise SlotTaken(_("That time is already taken."))
    meeting.starts_at = starts_at
    meeting.sequence += 1
    meeting.updated_at = now
    meeting.change_reason, meeting.changed_by = reason, actor.id
    # A new start time gets its own reminders.
    meeting.day_reminder_at = meeting.hour_reminder_at = None
    _hold(session, meeting)
    mentor, student = people_of(session, meeting)
    send_invites(
        session,
        settings,
        now,
        meeting,
        mentor,
        student,
        note=lambda: _("Moved by {name}: {reason}").format(name=actor.name, reason=reason),
        moved=True,
    )
    return meeting


def cancel(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    actor: Person,
    raw_id: int,
    raw_reason: str,
) -> Meeting:
    """Cancel a live meeting with a reason: both get the calendar cancellation."""
    meeting = meeting_for(session, actor, raw_id)
    reason = _reason(
        raw_reason,
        _("Please give a short reason, so the other person knows why it was cancelled."),
    )
    if meeting.status not in LIVE_MEETING or meeting.starts_at <= now:
        raise UserError(_("Meeting #{id} can't be cancelled any more.").format(id=meeting.id))
    was_booked = meeting.status == MeetingStatus.BOOKED
    meeting.status = MeetingStatus.CANCELLED
    meeting.sequence += 1
    meeting.updated_at = now
    meeting.change_reason, meeting.changed_by = reason, actor.id
    session.add(meeting)
    mentor, student = people_of(session, meeting)
    link = video_link(session, mentor.id) if mentor.id is not None else None
    pushes = []
    for person in (mentor, student):
        # Each in their own language, the calendar's cancellation included.
        with speaking_to(person, settings):
            text = _("Meeting cancelled: {when}. Cancelled by {name}: {reason}").format(
                when=when_text(meeting.starts_at, zone_of(person, settings)),
                name=actor.name,
                reason=reason,
            )
            ics = invite_ics(meeting, mentor, student, now, link, cancel=True)
            message = Message(
                title=_("Meeting cancelled"),
                text=text,
                attachment=invite_attachment(ics) if was_booked else None,
            )
        pushes.append(
            Push(
                f"meeting:{meeting.id}:cancel:{person.id}",
                message,
                person=person,
                kind=OutboxKind.MEETING,
            )
        )
    push_rows(session, pushes, now, settings.default_timezone)
    return meeting


def send_invites(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    meeting: Meeting,
    mentor: Person,
    student: Person,
    *,
    note: Callable[[], str],
    moved: bool = False,
) -> int:
    """Queue the invite (or its update) for both people, each in their own zone and language.

    `note` says who did what ("Sam booked it."); it is called once per recipient, in the
    recipient's language.
    """
    assert mentor.id is not None
    link = video_link(session, mentor.id)
    pushes: list[Push] = []
    for person, other in ((mentor, student), (student, mentor)):
        with speaking_to(person, settings):
            when = when_text(meeting.starts_at, zone_of(person, settings), meeting.duration_minutes)
            head = (
                _("Meeting moved with {name}: {when}.")
                if moved
                else _("Meeting booked with {name}: {when}.")
            )
            lines = [head.format(name=other.name, when=when), note()]
            if link:
                lines.append(_("Join: {link}").format(link=link))
            lines.append(_("Meeting #{id}. The calendar invite is attached.").format(id=meeting.id))
            message = Message(
                title=_("Meeting moved") if moved else _("Meeting booked"),
                text="\n".join(lines),
                attachment=invite_attachment(invite_ics(meeting, mentor, student, now, link)),
            )
        pushes.append(
            Push(
                f"meeting:{meeting.id}:invite:{meeting.sequence}:{person.id}",
                message,
                person=person,
                kind=OutboxKind.MEETING,
            )
        )
    return push_rows(session, pushes, now, settings.default_timezone)


def upcoming(session: Session, person: Person, now: datetime) -> list[Meeting]:
    """The person's live meetings from now on, as mentor or student, soonest first."""
    column = Meeting.mentor_id if person.role != STUDENT else Meeting.student_id
    return list(
        session.exec(
            select(Meeting)
            .where(
                column == person.id,
                col(Meeting.status).in_(LIVE_MEETING),
                col(Meeting.starts_at) >= now - timedelta(hours=1),
            )
            .order_by(col(Meeting.starts_at), col(Meeting.id))
            .limit(25)
        ).all()
    )


def render_list(
    session: Session, settings: CoreSettings, person: Person, meetings: Sequence[Meeting]
) -> Message:
    """A person's upcoming meetings in their own zone, with the ids commands take."""
    if not meetings:
        return Message(
            text=_("No upcoming meetings. Type /meet to book one.")
            if person.role == STUDENT
            else _(
                "No upcoming meetings. Publish your hours with /meet hours, "
                "or propose one with /meet propose."
            )
        )
    tz = zone_of(person, settings)
    lines = []
    for m in meetings:
        mentor, student = people_of(session, m)
        other = mentor if person.id == m.student_id else student
        line = (
            _("#{id} {when} with {name} (proposed, waiting for an answer)")
            if m.status == MeetingStatus.PROPOSED
            else _("#{id} {when} with {name}")
        )
        lines.append(
            line.format(
                id=m.id, when=when_text(m.starts_at, tz, m.duration_minutes), name=other.name
            )
        )
    return Message(
        title=_("Your meetings"),
        text="\n".join(lines)
        + "\n"
        + _(
            "Move one with /meet move ID YYYY-MM-DD HH:MM REASON, or cancel it with "
            "/meet cancel ID REASON."
        ),
    )


# A meeting's status as words (translated where shown).
STATUS_WORDS: dict[str, str] = {
    MeetingStatus.PROPOSED: N_("proposed"),
    MeetingStatus.BOOKED: N_("booked"),
    MeetingStatus.HELD: N_("held"),
    MeetingStatus.NO_SHOW: N_("no show"),
    MeetingStatus.RESCHEDULED: N_("rescheduled"),
    MeetingStatus.DECLINED: N_("declined"),
    MeetingStatus.EXPIRED: N_("expired"),
    MeetingStatus.CANCELLED: N_("cancelled"),
}


def status_word(status: str) -> str:
    """A meeting status as the reader says it (`no show`, `cancelled`)."""
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status.replace("_", " ")
