"""The caseload feature.

Caseload and notes: a mentor's students at a glance, confidential notes about one student,
and the cohort's average mood.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, func, select

from bot.auth import STAFF, allow, group_ids_visible_to, require_group, require_role, require_view
from bot.errors import UserError
from bot.i18n import N_, _
from bot.i18n.dates import DATE, local_format, local_time
from bot.localtime import to_local
from bot.model import Field, Message, Reply
from bot.people import ADMIN, MENTOR, STUDENT, person_by_email
from bot.personal_data import PersonalData
from bot.registry import Arg, ArgKind, Command, Context, Feature
from bot.services.caseload import caseload, recent_notes, render_caseload
from bot.services.cohort import cohort_mood_summary, render_cohort
from storage.tables import Group, MentorNote, Person

# A cohort report covers the same two weeks as a student's own mood trend.
COHORT_DAYS = 14
MAX_NOTES_SHOWN = 20
STUDENT_EMAIL = Arg("email", ArgKind.EMAIL, N_("The student's email"))


def student_by_email(ctx: Context, email: str) -> Person:
    """An active student by email; the same answer whether or not someone else exists."""
    student = person_by_email(ctx.session, email)
    if student is None or student.role != STUDENT or not student.active:
        raise UserError(_("I can't find a student '{email}'.").format(email=email))
    return student


@allow(*STAFF)
def cmd_mentees(ctx: Context) -> Reply:
    """A mentor's caseload."""
    require_role(ctx.person, MENTOR, ADMIN)
    lines = caseload(ctx.session, ctx.person, ctx.now, ctx.settings.default_timezone)
    return Reply(messages=(render_caseload(lines, ctx.timezone),))


@allow(*STAFF)
def cmd_note(ctx: Context) -> Reply:
    """A confidential note about a student, readable only by that student's mentors."""
    require_role(ctx.person, MENTOR, ADMIN)
    student = student_by_email(ctx, ctx.args.need("email", str))
    require_view(ctx.session, ctx.person, student, ctx.now, "note.add")
    assert student.id is not None and ctx.person.id is not None
    ctx.session.add(
        MentorNote(
            student_id=student.id,
            author_id=ctx.person.id,
            text=" ".join(ctx.args.text("text").split()),
            created_at=ctx.now,
        )
    )
    return Reply.say(
        _("Note saved for {name}. Only their mentors can read it.").format(name=student.name)
    )


@allow(*STAFF)
def cmd_notes(ctx: Context) -> Reply:
    """`/notes EMAIL`: the notes about a student, for their mentors and admins (audited)."""
    student = student_by_email(ctx, ctx.args.need("email", str))
    require_view(ctx.session, ctx.person, student, ctx.now, "notes.read")
    assert student.id is not None
    notes = recent_notes(ctx.session, student.id, MAX_NOTES_SHOWN)
    if not notes:
        return Reply.say(
            _("No notes about {name} yet. Add one with /note EMAIL TEXT.").format(name=student.name)
        )
    return Reply(
        messages=(
            Message(
                title=_("Notes about {name}").format(name=student.name),
                text=_(
                    "Confidential: only this student's mentors and programme staff can read "
                    "these. Newest first."
                ),
                fields=tuple(
                    Field(f"{_written(note.created_at, ctx.timezone)} · {author.name}", note.text)
                    for note, author in notes
                ),
            ),
        )
    )


def _written(when: datetime, tz: str) -> str:
    """When a note was written, in the reader's words ("07 Dec 2026 14:05" in English)."""
    local = to_local(when, tz)
    return f"{local_format(local, DATE)} {local_time(local)}"


@allow(*STAFF)
def cmd_cohort(ctx: Context) -> Reply:
    """`/cohort [GROUP]`: average mood per group over 14 days, hidden below 5 students."""
    name = ctx.args.text("group")
    since = ctx.now - timedelta(days=COHORT_DAYS)
    visible = group_ids_visible_to(ctx.session, ctx.person)
    if name:
        group = ctx.session.exec(
            select(Group).where(func.lower(Group.name) == name.lower())
        ).first()
        if group is None or group.id is None:
            raise UserError(_("I can't find a group '{name}'.").format(name=name))
        require_group(ctx.session, ctx.person, group.id, ctx.now, "view.cohort")
        summaries = [cohort_mood_summary(ctx.session, group.id, since)]
    else:
        query = select(Group).order_by(col(Group.name))
        if visible is not None:
            query = query.where(col(Group.id).in_(visible))
        groups = ctx.session.exec(query).all()
        summaries = [cohort_mood_summary(ctx.session, None, since)] if visible is None else []
        for group in groups:
            assert group.id is not None
            require_group(ctx.session, ctx.person, group.id, ctx.now, "view.cohort")
            summaries.append(cohort_mood_summary(ctx.session, group.id, since))
        if not summaries:
            return Reply.say(_("You aren't in any group yet."))
    return Reply(messages=(render_cohort(summaries, COHORT_DAYS),))


FEATURE = Feature(
    name="caseload",
    summary=N_("A mentor's students, confidential notes and the cohort's mood"),
    commands=(
        Command(
            "mentees", N_("your students: last check-in, mood trend, alerts, goals"), cmd_mentees
        ),
        Command(
            "note",
            N_("a confidential note only the student's mentors can read"),
            cmd_note,
            args=(STUDENT_EMAIL, Arg("text", ArgKind.TEXT, N_("The note"))),
            example="/note sam@example.edu talked about exams",
        ),
        Command(
            "notes",
            N_("read the notes about one of your students"),
            cmd_notes,
            args=(STUDENT_EMAIL,),
            example="/notes sam@example.edu",
        ),
        Command(
            "cohort",
            N_("average mood of your groups (hidden below 5 students)"),
            cmd_cohort,
            args=(Arg("group", ArgKind.TEXT, N_("A group's name (optional)"), optional=True),),
        ),
    ),
    personal_data=(
        # Notes about a student: in the staff export only (a safeguarding review comes first).
        PersonalData(
            "mentor notes",
            MentorNote,
            "student_id",
            self_export=False,
            free_text=("text",),
            dated_by="created_at",
            export_as="mentor_notes",
        ),
    ),
)
