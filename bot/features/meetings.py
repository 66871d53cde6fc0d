"""The meetings feature: 1:1 follow-up meetings between a mentor and a student.

A mentor publishes weekly hours (`/meet hours mon,wed 14:00-16:00 30`, in their own zone),
days off and a video link; a student's `/meet` offers the next free slots as buttons in the
student's own zone; a mentor can propose a time the student accepts or declines. Either
side can move or cancel with a reason. Invites (ICS) and reminders go through the outbox;
after the meeting the mentor answers "Did it happen?" and writes a confidential session
record whose agreed actions can become the student's goals. `/meet every` sets a
follow-up cadence; an overdue student earns their mentor one nudge.
"""

from __future__ import annotations

from datetime import date, datetime, time

from bot.auth import EVERYONE, STAFF, allow, require_role
from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import N_, _, ngettext
from bot.localtime import to_local
from bot.model import Message, Reply
from bot.people import ADMIN, MENTOR, STUDENT
from bot.personal_data import PersonalData
from bot.registry import Arg, ArgKind, Command, Context, Feature, Job, JobOutcome, Window
from bot.services.meetings import availability, booking, cadence, records, steps
from bot.services.meetings.availability import day_name
from storage.db import Database
from storage.tables import (
    Meeting,
    MeetingCadence,
    MeetingHours,
    MeetingNudge,
    MeetingOff,
    MeetingProfile,
    Person,
    SessionRecord,
)

MEETING_ID = Arg(
    "meeting",
    ArgKind.ID,
    N_("The meeting's number (see /meet list)"),
    invalid=N_("I can't find meeting #{raw}. Your meetings are listed by /meet list."),
    shown="ID",
)
STUDENT_EMAIL = Arg("email", ArgKind.EMAIL, N_("The student's email"))
DAY = Arg("day", ArgKind.DATE, N_("The date, YYYY-MM-DD"))
AT = Arg("at", ArgKind.TIME, N_("The time, HH:MM in your own time zone"))
REASON = Arg("reason", ArgKind.TEXT, N_("Why, in a few words (the other person sees it)"))


def _meeting_id(ctx: Context) -> int:
    return ctx.args.need("meeting", int)


def _button_id(ctx: Context) -> int:
    raw = ctx.button("meeting")
    if not raw.isdigit():
        raise UserError(_("That button is out of date. See your meetings with /meet list."))
    return int(raw)


def _reply_slots(ctx: Context, intro: str = "") -> Reply:
    offer = booking.offer_slots(ctx.session, ctx.settings, ctx.now, ctx.person, intro)
    return Reply(messages=(offer.message,))


@allow(*EVERYONE)
def cmd_meet(ctx: Context) -> Reply:
    """`/meet`: a student sees the next free times to book; staff see their meetings."""
    if ctx.person.role == STUDENT:
        return _reply_slots(ctx)
    return cmd_meet_list(ctx)


@allow(*EVERYONE)
def cmd_meet_list(ctx: Context) -> Reply:
    """`/meet list`: upcoming meetings, in your own time zone."""
    meetings = booking.upcoming(ctx.session, ctx.person, ctx.now)
    return Reply(messages=(booking.render_list(ctx.session, ctx.settings, ctx.person, meetings),))


@allow(*STAFF)
def cmd_meet_hours(ctx: Context) -> Reply:
    """`/meet hours DAYS HH:MM-HH:MM MINUTES` (or `DAYS off`): weekly hours in your zone."""
    require_role(ctx.person, MENTOR, ADMIN)
    days = availability.parse_days(ctx.args.text("days"))
    span = ctx.args.text("span")
    assert ctx.person.id is not None
    if span.lower() == "off":
        removed = availability.clear_hours(ctx.session, ctx.person, days)
        return Reply.say(
            _("No more meetings on {days} ({removed} removed).").format(
                days=_day_names(days), removed=removed
            )
        )
    minutes = ctx.args.get("minutes", int)
    if minutes is None:
        raise UserError(_("{usage}.").format(usage=_(availability.HOURS_USAGE)))
    start, end = availability.parse_span(span)
    availability.set_hours(
        ctx.session, ctx.person, days, start, end, minutes, ctx.timezone, ctx.now
    )
    rows = availability.hours_of(ctx.session, ctx.person.id)
    return Reply.say(
        _("Your meeting hours: {hours}. Your students can book them with /meet.").format(
            hours=availability.describe_hours(rows)
        )
    )


def _day_names(days: list[int]) -> str:
    return ", ".join(day_name(d) for d in days)


@allow(*STAFF)
def cmd_meet_off(ctx: Context) -> Reply:
    """`/meet off YYYY-MM-DD`: no meetings that day (booked ones stay: cancel them)."""
    require_role(ctx.person, MENTOR, ADMIN)
    day = ctx.args.need("day", date)
    today = to_local(ctx.now, ctx.timezone).date()
    added = availability.add_day_off(ctx.session, ctx.person, day, today)
    when = booking.day_text(day)
    return Reply.say(
        (
            _("{day} is now a day off: no new bookings then.")
            if added
            else _("{day} is already a day off: no new bookings then.")
        ).format(day=when)
    )


@allow(*STAFF)
def cmd_meet_link(ctx: Context) -> Reply:
    """`/meet link URL`: the video link in every invite (https only)."""
    require_role(ctx.person, MENTOR, ADMIN)
    url = availability.set_link(ctx.session, ctx.person, ctx.args.text("url"), ctx.now)
    return Reply.say(
        _("Your meeting link is {url}. It goes in every invite and reminder.").format(url=url)
    )


@allow(*STAFF)
def cmd_meet_propose(ctx: Context) -> Reply:
    """`/meet propose EMAIL YYYY-MM-DD HH:MM` (your zone): the student accepts or declines."""
    require_role(ctx.person, MENTOR, ADMIN)
    student = _student(ctx, ctx.args.need("email", str))
    meeting = booking.propose(
        ctx.session,
        ctx.settings,
        ctx.now,
        ctx.person,
        student,
        ctx.args.need("day", date),
        ctx.args.need("at", time),
    )
    when = booking.when_text(meeting.starts_at, ctx.timezone, meeting.duration_minutes)
    return Reply(
        messages=(
            Message(
                text=_(
                    "Proposed meeting #{id} to {name}: {when}. I'll tell you when they answer."
                ).format(id=meeting.id, name=student.name, when=when)
            ),
        ),
        pushed=True,
    )


def _student(ctx: Context, email: str) -> Person:
    from bot.people import person_by_email

    student = person_by_email(ctx.session, email)
    if student is None or student.role != STUDENT or not student.active:
        raise UserError(_("I can't find a student '{email}'.").format(email=email))
    return student


@allow(*EVERYONE)
def cmd_meet_move(ctx: Context) -> Reply:
    """`/meet move ID YYYY-MM-DD HH:MM REASON`: a new time (your zone) for both of you."""
    meeting = booking.move(
        ctx.session,
        ctx.settings,
        ctx.now,
        ctx.person,
        _meeting_id(ctx),
        ctx.args.need("day", date),
        ctx.args.need("at", time),
        ctx.args.text("reason"),
    )
    when = booking.when_text(meeting.starts_at, ctx.timezone, meeting.duration_minutes)
    return Reply(
        messages=(
            Message(
                text=_("Meeting #{id} moved to {when}. You both get the updated invite.").format(
                    id=meeting.id, when=when
                )
            ),
        ),
        pushed=True,
    )


@allow(*EVERYONE)
def cmd_meet_cancel(ctx: Context) -> Reply:
    """`/meet cancel ID REASON`: both are told, with the calendar cancellation."""
    meeting = booking.cancel(
        ctx.session, ctx.settings, ctx.now, ctx.person, _meeting_id(ctx), ctx.args.text("reason")
    )
    return Reply(
        messages=(
            Message(
                text=_(
                    "Meeting #{id} is cancelled. You both get the calendar cancellation."
                ).format(id=meeting.id)
            ),
        ),
        pushed=True,
    )


@allow(*STAFF)
def cmd_meet_every(ctx: Context) -> Reply:
    """`/meet every EMAIL|"GROUP" WEEKS`: the follow-up cadence; overdue earns a nudge."""
    require_role(ctx.person, MENTOR, ADMIN)
    weeks = ctx.args.need("weeks", int)
    shown = cadence.set_cadence(ctx.session, ctx.now, ctx.person, ctx.args.text("target"), weeks)
    return Reply.say(
        ngettext(
            "You'll meet {who} every week. I'll nudge you once when someone is overdue, and "
            "/mentees marks them.",
            "You'll meet {who} every {weeks} weeks. I'll nudge you once when someone is "
            "overdue, and /mentees marks them.",
            weeks,
        ).format(who=shown, weeks=weeks)
    )


@allow(*STAFF)
def cmd_meet_record(ctx: Context) -> Reply:
    """`/meet record ID`: read a session record (the student's mentors only; audited)."""
    require_role(ctx.person, MENTOR, ADMIN)
    message = records.read_record(ctx.session, ctx.settings, ctx.now, ctx.person, _meeting_id(ctx))
    return Reply(messages=(message,))


@allow(*STAFF)
def cmd_meet_write(ctx: Context) -> Reply:
    """`/meet write ID TOPICS | ACTIONS | NEXT STEP`: the session record, typed."""
    require_role(ctx.person, MENTOR, ADMIN)
    parts = [p.strip() for p in ctx.args.text("record").split("|")]
    if len(parts) > 3:
        raise UserError(_("Use /meet write ID TOPICS | ACTIONS | NEXT STEP (three parts at most)."))
    topics, actions, next_step = [*parts, "", ""][:3]
    return _saved(ctx, _meeting_id(ctx), topics, actions, next_step)


def _saved(ctx: Context, meeting_id: int, topics: str, actions: str, next_step: str) -> Reply:
    record = records.write_record(
        ctx.session, ctx.now, ctx.person, meeting_id, topics, actions, next_step
    )
    message = records.read_record(ctx.session, ctx.settings, ctx.now, ctx.person, meeting_id)
    return Reply(
        messages=(
            Message(
                text=_(
                    "Session record saved for meeting #{id}. Only the student's mentors can "
                    "read it."
                ).format(id=record.meeting_id),
            ),
            message,
        )
    )


@allow(STUDENT)
def act_book(ctx: Context) -> Reply:
    """A slot button: book it, or, when it was just taken, offer the next free slots."""
    require_role(ctx.person, STUDENT)
    raw_mentor = ctx.button("mentor")
    at = booking.parse_stamp(ctx.button("at"))
    mentor_id = int(raw_mentor) if raw_mentor.isdigit() and len(raw_mentor) < 10 else -1
    try:
        meeting = booking.book(ctx.session, ctx.settings, ctx.now, ctx.person, mentor_id, at)
    except booking.SlotTaken as taken:
        return _reply_slots(
            ctx, _("{problem} Here are the next free times.").format(problem=taken.message)
        )
    when = booking.when_text(meeting.starts_at, ctx.timezone, meeting.duration_minutes)
    return Reply(
        messages=(
            Message(
                text=_(
                    "Booked: meeting #{id}, {when}. The calendar invite is on its way to you both."
                ).format(id=meeting.id, when=when)
            ),
        ),
        pushed=True,
    )


@allow(STUDENT)
def act_accept(ctx: Context) -> Reply:
    """Accept a proposed meeting: booked, and both get the invite."""
    require_role(ctx.person, STUDENT)
    meeting = booking.answer_proposal(
        ctx.session, ctx.settings, ctx.now, ctx.person, _button_id(ctx), accept=True
    )
    when = booking.when_text(meeting.starts_at, ctx.timezone, meeting.duration_minutes)
    return Reply(
        update=Message(
            text=_("Accepted: meeting #{id}, {when}. The invite is on its way.").format(
                id=meeting.id, when=when
            )
        ),
        pushed=True,
    )


@allow(STUDENT)
def act_decline(ctx: Context) -> Reply:
    """Decline a proposed meeting: your mentor is told."""
    require_role(ctx.person, STUDENT)
    meeting = booking.answer_proposal(
        ctx.session, ctx.settings, ctx.now, ctx.person, _button_id(ctx), accept=False
    )
    return Reply(
        update=Message(
            text=_(
                "Declined meeting #{id}. Your mentor is told; you can book another time with /meet."
            ).format(id=meeting.id)
        ),
        pushed=True,
    )


@allow(*STAFF)
def act_outcome(ctx: Context) -> Reply:
    """The answer to "Did it happen?": held (then the record), didn't come, rescheduled."""
    require_role(ctx.person, MENTOR, ADMIN)
    meeting, alert = records.record_outcome(
        ctx.session, ctx.settings, ctx.now, ctx.person, _button_id(ctx), ctx.button("outcome")
    )
    if meeting.status == "held":
        return Reply(update=records.record_prompt(meeting))
    if meeting.status == "no_show":
        text = (
            _(
                "Meeting #{id} is recorded as missed. "
                "That's several in a row, so an alert was raised."
            )
            if alert
            else _("Meeting #{id} is recorded as missed.")
        )
        return Reply(
            update=Message(text=text.format(id=meeting.id)),
            pushed=alert is not None,
        )
    _mentor, student = booking.people_of(ctx.session, meeting)
    return Reply(
        update=Message(
            text=_(
                "Meeting #{id} is recorded as rescheduled. Propose the new time with "
                "/meet propose {email} YYYY-MM-DD HH:MM."
            ).format(id=meeting.id, email=student.email)
        )
    )


@allow(*STAFF)
def act_record(ctx: Context) -> Reply:
    """The "Write the session record" button where no form opens: how to type it.

    Slack and Discord open a form for this button and the console asks line by line; all
    submit `form_record`.
    """
    require_role(ctx.person, MENTOR, ADMIN)
    meeting_id = _button_id(ctx)
    check_can_write(ctx, meeting_id)
    return Reply.say(
        _(
            "Type /meet write {id} TOPICS | AGREED ACTIONS | NEXT STEP "
            "(agreed actions separated by ';')."
        ).format(id=meeting_id)
    )


def check_can_write(ctx: Context, meeting_id: int) -> None:
    """Refuse before a form opens when the actor can't write this meeting's record."""
    meeting = ctx.session.get(Meeting, meeting_id)
    if meeting is None or meeting.mentor_id != ctx.person.id:
        raise booking.not_found(meeting_id)
    if meeting.status != "held":
        raise UserError(_("Meeting #{id} isn't recorded as held.").format(id=meeting_id))


@allow(*STAFF)
def form_record(ctx: Context) -> Reply:
    """The session-record form (Slack and Discord modals, console prompts)."""
    require_role(ctx.person, MENTOR, ADMIN)
    args = ctx.inbound.args
    return _saved(
        ctx,
        _button_id(ctx),
        args.get("topics", ""),
        args.get("actions", ""),
        args.get("next", ""),
    )


@allow(*STAFF)
def act_goals(ctx: Context) -> Reply:
    """The "Make these goals" button: the record's agreed actions become the student's goals."""
    require_role(ctx.person, MENTOR, ADMIN)
    made = records.make_goals(ctx.session, ctx.settings, ctx.now, ctx.person, _button_id(ctx))
    listing = "\n".join(f"• {t}" for t in made)
    return Reply(
        update=Message(
            text=ngettext(
                "Added {n} goal(s) for the student:\n{goals}",
                "Added {n} goal(s) for the student:\n{goals}",
                len(made),
            ).format(n=len(made), goals=listing)
        ),
        pushed=True,
    )


def run_steps(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Reminders, "Did it happen?" and the cadence nudges due at the window's end."""
    now: datetime = window.end
    with db.session() as session:
        outcome = steps.run_meeting_steps(session, settings, now)
        outcome.nudges += cadence.nudge_overdue(session, settings, now)
    return outcome


FEATURE = Feature(
    name="meetings",
    summary=N_("1:1 meetings: hours, booking, invites, reminders, session records, cadence"),
    commands=(
        Command(
            "meet",
            N_("book a meeting with your mentor (staff: your meetings)"),
            cmd_meet,
            default=True,
            sub="book",
            other_names=("meeting", "meetings"),
        ),
        Command("meet", N_("your upcoming meetings"), cmd_meet_list, sub="list"),
        Command(
            "meet",
            N_("publish your weekly meeting hours, in your time zone"),
            cmd_meet_hours,
            sub="hours",
            args=(
                Arg("days", ArgKind.WORD, N_("Days, like mon,wed or mon-fri"), shown="DAYS"),
                Arg(
                    "span",
                    ArgKind.WORD,
                    N_("Hours, like 14:00-16:00 (or off)"),
                    shown="HH:MM-HH:MM",
                ),
                Arg(
                    "minutes",
                    ArgKind.INT,
                    N_("Minutes per meeting"),
                    optional=True,
                    low=availability.MIN_SLOT,
                    high=availability.MAX_SLOT,
                    shown="MINUTES",
                    # Literal for the catalog: availability.MIN_SLOT and MAX_SLOT.
                    invalid=N_("A meeting lasts 10 to 240 minutes."),
                ),
            ),
            example="/meet hours mon,wed 14:00-16:00 30",
        ),
        Command(
            "meet",
            N_("a day with no meetings"),
            cmd_meet_off,
            sub="off",
            args=(DAY,),
            example="/meet off 2026-12-24",
        ),
        Command(
            "meet",
            N_("the video link for your meetings (https only)"),
            cmd_meet_link,
            sub="link",
            args=(Arg("url", ArgKind.WORD, N_("An https:// address"), shown="URL"),),
            example="/meet link https://meet.example.edu/maya",
        ),
        Command(
            "meet",
            N_("propose a meeting time to a student"),
            cmd_meet_propose,
            sub="propose",
            args=(STUDENT_EMAIL, DAY, AT),
            example="/meet propose sam@example.edu 2026-12-02 15:00",
        ),
        Command(
            "meet",
            N_("move a meeting to another time, with a reason"),
            cmd_meet_move,
            sub="move",
            args=(MEETING_ID, DAY, AT, REASON),
            aliases=("reschedule",),
            example="/meet move 4 2026-12-03 14:30 clash with a lecture",
        ),
        Command(
            "meet",
            N_("cancel a meeting, with a reason"),
            cmd_meet_cancel,
            sub="cancel",
            args=(MEETING_ID, REASON),
            example="/meet cancel 4 feeling unwell",
        ),
        Command(
            "meet",
            N_("meet a student or group every N weeks (nudges when overdue)"),
            cmd_meet_every,
            sub="every",
            args=(
                Arg(
                    "target",
                    ArgKind.WORD,
                    N_('A student\'s email or a "Group name"'),
                    shown='EMAIL|"GROUP"',
                ),
                Arg(
                    "weeks",
                    ArgKind.INT,
                    N_("Weeks between meetings"),
                    low=1,
                    high=cadence.MAX_WEEKS,
                    invalid=N_("Weeks is a number from 1 to 52."),
                ),
            ),
            example="/meet every sam@example.edu 2",
        ),
        Command(
            "meet",
            N_("read a meeting's session record"),
            cmd_meet_record,
            sub="record",
            args=(MEETING_ID,),
            example="/meet record 4",
        ),
        Command(
            "meet",
            N_("write a meeting's session record"),
            cmd_meet_write,
            sub="write",
            args=(
                MEETING_ID,
                Arg(
                    "record",
                    ArgKind.TEXT,
                    N_("TOPICS | ACTIONS | NEXT STEP"),
                    shown="TOPICS | ACTIONS | NEXT",
                ),
            ),
            example="/meet write 4 exam plan | revise chapter 3; book a room | meet in 2 weeks",
        ),
    ),
    actions={
        booking.BOOK_ACTION: act_book,
        booking.ACCEPT_ACTION: act_accept,
        booking.DECLINE_ACTION: act_decline,
        steps.OUTCOME_ACTION: act_outcome,
        records.RECORD_ACTION: act_record,
        records.GOALS_ACTION: act_goals,
    },
    forms={records.RECORD_FORM: form_record},
    jobs=(Job("run_meeting_steps", run_steps),),
    personal_data=(
        PersonalData("meeting hours", MeetingHours, "mentor_id", export_as="meeting_hours"),
        PersonalData("meeting days off", MeetingOff, "mentor_id", export_as="meeting_days_off"),
        PersonalData("meeting link", MeetingProfile, "mentor_id", export_as="meeting_link"),
        # A meeting is the student's (and goes when its mentor is erased too); the reason for
        # a move or cancellation is someone's words: purged after the retention period.
        PersonalData(
            "meetings",
            Meeting,
            "student_id",
            also_erase=("mentor_id",),
            free_text=("change_reason",),
            dated_by="updated_at",
            export_as="meetings",
        ),
        # The mentor's confidential record: in the staff export only, like mentor notes.
        PersonalData(
            "session records",
            SessionRecord,
            "student_id",
            self_export=False,
            also_erase=("author_id",),
            free_text=("topics", "actions", "next_step"),
            dated_by="created_at",
            export_as="session_records",
        ),
        PersonalData(
            "meeting cadences",
            MeetingCadence,
            "mentor_id",
            also_erase=("student_id",),
            export_as="meeting_cadences",
        ),
        PersonalData("meeting nudges", MeetingNudge, "mentor_id", also_erase=("student_id",)),
    ),
)
