"""The case file feature: `/student EMAIL` and its progress report button (issue 17, 5-6).

One view of one student for their mentors and programme staff, with the mood chart as a
PNG beside its words; the button sends the progress report over the same period as a PDF.
The command line's `mentorbot report student` (mentorbot/cli_student_report.py) uses the
same services.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from bot.args import parse_day, record_id
from bot.auth import STAFF, allow
from bot.charts import drawing_language, drawn_words
from bot.errors import NotAllowed
from bot.i18n import N_, _, current_language, ngettext
from bot.model import Attachment, Message, Reply
from bot.people import STUDENT
from bot.registry import Arg, ArgKind, Command, Context, Feature
from bot.services.casefile import (
    REPORT_ACTION,
    MeetingSource,
    MeetingStatus,
    MeetingView,
    build_case_file,
    build_report,
    may_read,
    mood_chart,
    mood_words,
    render_case_file,
    student_for_reader,
)
from bot.services.casefile_pdf import render_pdf
from bot.services.meetings.views import meetings_for_student
from storage.tables import Person


def meetings_source(reader: Person | None, now: datetime) -> MeetingSource:
    """The student's meetings as the case file shows them, for this reader.

    The meetings feature decides what the reader may see: a mentor of the student gets the
    session records' words (and that read is audited there); anyone else, and the command
    line (no reader), gets the meetings and their outcomes without the confidential words.
    """

    def source(
        session: Session, student_id: int, start: datetime, end: datetime
    ) -> Sequence[MeetingView]:
        return [
            MeetingView(
                starts_at=view.starts_at,
                status=MeetingStatus(view.casefile_status),
                mentor_name=view.mentor_name,
                topics=view.topics,
                agreed_actions=view.agreed_actions,
                next_step=view.next_step,
            )
            for view in meetings_for_student(
                session, student_id, start, end, reader=reader, now=now
            )
        ]

    return source


BUTTON_REFUSAL = N_("I can't find that student among the students you can see.")


@allow(*STAFF)
def cmd_student(ctx: Context) -> Reply:
    """`/student EMAIL`: the case file of one of the reader's students (audited)."""
    student = student_for_reader(ctx.session, ctx.person, ctx.args.need("email", str))
    case = build_case_file(
        ctx.session,
        ctx.person,
        student,
        ctx.now,
        ctx.settings.default_timezone,
        meetings_source(ctx.person, ctx.now),
    )
    chart = mood_chart(case.profile.name, case.mood, case.checkins, case.period)
    return Reply(messages=render_case_file(case, chart, ctx.timezone))


@allow(*STAFF)
def act_report(ctx: Context) -> Reply:
    """The case file's button: the progress report over its period, as a PDF (audited)."""
    student_id = record_id(ctx.button("student"))
    student = ctx.session.get(Person, student_id) if student_id is not None else None
    if (
        student is None
        or student.role != STUDENT
        or not student.active
        or not may_read(ctx.session, ctx.person, student)
    ):
        raise NotAllowed(_(BUTTON_REFUSAL))
    first, last = parse_day(ctx.button("from")), parse_day(ctx.button("to"))
    report = build_report(
        ctx.session,
        ctx.person,
        student,
        first,
        last,
        ctx.now,
        ctx.settings.default_timezone,
        meetings_source(ctx.person, ctx.now),
    )
    # The PDF draws its own chart: only the words are needed here, not a PNG as well. Every
    # word of a PDF is drawn: in English when the reader's script can't be (bot/charts.py).
    with drawn_words():
        pdf = render_pdf(
            report, mood_words(report.name, report.mood, report.checkins, report.period)
        )
    # "page(s)" in English as it always was; other languages write their plural forms.
    summary = ngettext(
        "Progress report for {name}, {period} ({pages} page(s)): "
        "check-ins, mood trend, goals, meetings and agreed actions.",
        "Progress report for {name}, {period} ({pages} page(s)): "
        "check-ins, mood trend, goals, meetings and agreed actions.",
        pdf.pages,
    ).format(name=report.name, period=report.period.label(), pages=pdf.pages)
    if drawing_language() != current_language():
        summary += " " + _(
            "The PDF is in English: this server has no font to print your language's script."
        )
    return Reply(
        messages=(
            Message(
                text=summary,
                attachment=Attachment(
                    f"progress-report-{report.student_id}.pdf",
                    pdf.data,
                    "application/pdf",
                    alt_text=summary,
                ),
            ),
        )
    )


FEATURE = Feature(
    name="casefile",
    summary=N_("One student's case file and progress report"),
    commands=(
        Command(
            "student",
            N_("a student's case file: profile, mood chart, goals, meetings, notes, alerts"),
            cmd_student,
            args=(Arg("email", ArgKind.EMAIL, N_("The student's email")),),
            example="/student sam@example.edu",
        ),
    ),
    actions={REPORT_ACTION: act_report},
)
