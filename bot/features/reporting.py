"""The reporting feature: `/report` in chat for staff, and the weekly digest job.

`/report [FROM TO] [group NAME | mentor EMAIL]`: admins may ask for any scope, a mentor only
for their own students (a group narrows their caseload; another mentor's is refused). The
figures, charts and privacy rules live in bot/services/reporting/.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlmodel import Session

from bot.args import parse_day, parse_email
from bot.audit import audit
from bot.auth import STAFF, allow
from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import N_, _
from bot.localtime import to_local
from bot.model import Reply
from bot.people import MENTOR
from bot.registry import Arg, ArgKind, Command, Context, Feature, session_job
from bot.services.reporting.digest import report_messages, send_weekly_digests
from bot.services.reporting.figures import ReportBuilder, default_range
from bot.services.reporting.suppression import ALL_STUDENTS, ScopeTooSmall, resolve_scope

USAGE = N_(
    "Use /report [FROM TO] [group NAME | mentor EMAIL], for example: "
    "/report 2026-09-07 2026-11-29 group Study skills"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_report_words(text: str, today: date) -> tuple[date, date, str | None, str | None]:
    """(from, to, group name, mentor email) from the words of `/report`, or a UserError."""
    words = text.split()
    dates: list[date] = []
    while words and _DATE.fullmatch(words[0]) and len(dates) < 2:
        dates.append(parse_day(words.pop(0)))
    if len(dates) == 1:
        raise UserError(_("Please give both dates: {usage}").format(usage=_(USAGE)))
    start, end = (dates[0], dates[1]) if dates else default_range(today)
    group = mentor = None
    if words:
        kind, rest = words[0].lower(), " ".join(words[1:]).strip().strip("\"'“”")
        if kind == "group" and rest:
            group = rest
        elif kind == "mentor" and rest:
            mentor = parse_email(rest)
        else:
            raise UserError(_(USAGE))
    return start, end, group, mentor


@allow(*STAFF)
def cmd_report(ctx: Context) -> Reply:
    """`/report`: the programme report for a scope and dates, with charts (audited)."""
    today = to_local(ctx.now, ctx.timezone).date()
    start, end, group, mentor = parse_report_words(ctx.args.text("details"), today)
    scope = resolve_scope(ctx.session, ctx.person, group, mentor)
    builder = ReportBuilder(ctx.session, ctx.settings, ctx.now)
    mine = ctx.person.role == MENTOR
    try:
        report = builder.build(scope, start, end, names=mine, per_group=scope.label == ALL_STUDENTS)
    except ScopeTooSmall as small:
        # Not a mistake of the asker: a plain answer that no figure can be shown.
        return Reply.say(small.message)
    audit(
        ctx.session,
        ctx.now,
        ctx.person.id,
        "report.read",
        detail=f"{scope.label}: {report.start} to {report.end}",
    )
    for student_id in report.attention_ids:
        audit(ctx.session, ctx.now, ctx.person.id, "report.attention", student_id)
    return Reply(messages=tuple(report_messages(report)))


def digest_job(session: Session, settings: CoreSettings, now: datetime) -> int:
    """The tick's digest step: how many digests (staff and mentors) it queued."""
    outcome = send_weekly_digests(session, settings, now)
    return outcome.staff + outcome.mentors


FEATURE = Feature(
    name="reporting",
    summary=N_("Programme reports and the weekly digest"),
    commands=(
        Command(
            "report",
            N_("programme figures and charts (mentors: your own students)"),
            cmd_report,
            args=(
                Arg(
                    "details",
                    ArgKind.TEXT,
                    N_("FROM TO dates, then group NAME or mentor EMAIL (all optional)"),
                    optional=True,
                    shown="[FROM TO] [group NAME|mentor EMAIL]",
                ),
            ),
            example="/report 2026-09-07 2026-11-29 group Study skills",
        ),
    ),
    jobs=(session_job("send_weekly_digests", "weekly digests queued", digest_job),),
)
