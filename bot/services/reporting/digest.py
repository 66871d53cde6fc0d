"""Reports as chat messages, and the weekly digest sent through the outbox.

A report in chat is a summary message (every table as fields) followed by one message per
chart: the PNG as an attachment carrying its alt text, and the same words as the message's
text, so a screen reader, the console and a notification all get the chart in words.

The weekly digest goes out once a week at `digest_day` `digest_time` (the programme's time
zone): to the staff channel (or, without one, to each admin by DM) for all students with
each group's mood, and to each mentor for their own students with the names of those
needing attention. It covers the 8 complete weeks before the digest's week. Every row's
dedupe key names the week (`digest:2026-W49:...`): a second tick, a second process or a
restart sends nothing twice, and the job first looks for those keys so a week already sent
costs one query.

Languages: a mentor's digest is in the mentor's language (`speaking_to`); the staff channel's
in the programme's `DEFAULT_LANGUAGE` (it is no group's channel); admins without a staff
channel each get it in their own, rendered once per language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from bot.audit import audit
from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import _, ngettext, speaking
from bot.i18n.dates import DATE, local_format
from bot.localtime import to_local
from bot.model import Field, Message, Recipient
from bot.outbox import Push, push_rows
from bot.people import ADMIN, MENTOR, admins
from bot.services.language import language_of
from bot.services.reporting.charts import report_charts
from bot.services.reporting.figures import (
    WEEKLY_TABLES,
    WITHHELD,
    Report,
    ReportBuilder,
    default_range,
)
from bot.services.reporting.suppression import Scope
from storage.tables import MentorAssignment, Outbox, Person

log = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIGEST_WEEKS = 8
MAX_FIELD = 900  # Slack and Discord field limits are ~1,000 characters
# Mentors' digests built per tick: the rest follow on the next minute's ticks (their keys say
# who had one), so a tick stays short however many mentors there are.
MENTORS_PER_TICK = 10
MENTOR_CHARTS = ("mood-trend",)


def report_messages(
    report: Report, *, charts: tuple[str, ...] | None = None, digest: bool = False
) -> list[Message]:
    """A report as chat messages: the figures, then each chart (all, or `charts`) in words.

    In the language being spoken; a `digest` is titled as the weekly digest.
    """
    fields: list[Field] = []
    for table in report.tables():
        if not table.rows:
            fields.append(Field(table.title, table.note))
            continue
        lines = [" · ".join(row) for row in table.rows]
        if table.name in WEEKLY_TABLES:
            # The latest weeks say most; the whole series is in the chart and the exports.
            lines = lines[-4:]
        value = "\n".join(lines)
        fields.append(Field(table.title, value[:MAX_FIELD]))
    title = _("Weekly digest: {scope}") if digest else _("Programme report: {scope}")
    messages = [
        Message(
            title=title.format(scope=report.scope.shown),
            text=ngettext(
                "{start} to {end}, {students} students. "
                "Figures about fewer than {minimum} students show as '{withheld}'.",
                "{start} to {end}, {students} students. "
                "Figures about fewer than {minimum} students show as '{withheld}'.",
                report.students,
            ).format(
                start=local_format(report.start, DATE),
                end=local_format(report.end, DATE),
                students=report.students,
                minimum=report.minimum,
                withheld=_(WITHHELD),
            ),
            fields=tuple(fields),
        )
    ]
    stamp = f"{report.end:%Y-%m-%d}"
    for stem, chart in report_charts(report, ("png",), charts):
        messages.append(
            Message(
                # The chart's title and words, in the reader's language whatever was drawn.
                text=_("📊 {title}. {words}").format(title=chart.title, words=chart.alt_text),
                attachment=chart.as_attachment(f"{stem}-{stamp}.png"),
            )
        )
    return messages


def withheld_message(scope: Scope, reason: str, names: tuple[str, ...]) -> Message:
    """A mentor's digest when their figures can't be shown: the reason, and the names."""
    fields = (
        (Field(_("Students needing attention"), "\n".join(names) or _("None")),) if names else ()
    )
    return Message(
        title=_("Weekly digest: {scope}").format(scope=scope.shown), text=reason, fields=fields
    )


@dataclass(frozen=True)
class DigestOutcome:
    """What one run of the digest job did."""

    staff: int = 0
    mentors: int = 0

    @property
    def queued(self) -> bool:
        """True when any digest went to the outbox."""
        return bool(self.staff or self.mentors)

    def lines(self) -> list[str]:
        """One line when it sent anything."""
        if not self.queued:
            return []
        return [f"weekly digests queued: staff {self.staff}, mentors {self.mentors}"]


def digest_due(settings: CoreSettings, now: datetime) -> tuple[str, date] | None:
    """(week key, local date of the digest) once this week's digest time has passed."""
    if settings.digest_day not in DAYS:
        return None  # "off"
    local = to_local(now, settings.default_timezone)
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=DAYS.index(settings.digest_day))
    if (local.date(), local.strftime("%H:%M")) < (day, settings.digest_time):
        return None
    year, week, _weekday = day.isocalendar()
    return f"digest:{year}-W{week:02d}", day


def _sent_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of `keys` are in the outbox: exact lookups on its unique index, in chunks."""
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found |= set(
            session.exec(select(Outbox.dedupe_key).where(col(Outbox.dedupe_key).in_(chunk)))
        )
    return found


def _mentors(session: Session) -> list[Person]:
    """Active mentors (and admins) with at least one student assigned, by id."""
    return list(
        session.exec(
            select(Person)
            .where(
                col(Person.role).in_((MENTOR, ADMIN)),
                col(Person.active).is_(True),
                col(Person.id).in_(select(MentorAssignment.mentor_id)),
            )
            .order_by(col(Person.id))
        ).all()
    )


def _pushes(key: str, messages: list[Message], **target: object) -> list[Push]:
    return [
        Push(dedupe_key=f"{key}:{i}", message=m, **target)  # type: ignore[arg-type]
        for i, m in enumerate(messages)
    ]


def send_weekly_digests(session: Session, settings: CoreSettings, now: datetime) -> DigestOutcome:
    """Queue this week's digests not queued yet (nothing before the digest time)."""
    due = digest_due(settings, now)
    if due is None:
        return DigestOutcome()
    prefix, day = due
    mentors = _mentors(session)
    staff_keys = (
        [f"{prefix}:staff:0"]
        if settings.staff_channel
        else [f"{prefix}:admin:{a.id}:0" for a in admins(session)]
    )
    # The first row of each digest marks it sent: a week already done costs these lookups.
    sent = _sent_keys(session, staff_keys + [f"{prefix}:mentor:{m.id}:0" for m in mentors])
    start, end = default_range(day, DIGEST_WEEKS)
    builder = ReportBuilder(session, settings, now)
    staff = 0
    if not sent & set(staff_keys):
        staff = _queue_staff(session, settings, now, builder, prefix, start, end)
    queued = _queue_mentors(session, settings, now, builder, prefix, start, end, mentors, sent)
    return DigestOutcome(staff, queued)


def _queue_staff(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    builder: ReportBuilder,
    prefix: str,
    start: date,
    end: date,
) -> int:
    scope = Scope("All students")
    rendered: dict[str, list[Message]] = {}

    def in_language(language: str) -> list[Message]:
        """The staff digest in one language, built once however many admins read it."""
        if language not in rendered:
            with speaking(language):
                try:
                    report = builder.build(scope, start, end, per_group=True)
                    rendered[language] = report_messages(report, digest=True)
                except UserError as refused:
                    rendered[language] = [withheld_message(scope, refused.message, ())]
        return rendered[language]

    audit(session, now, None, "report.digest", detail=f"staff: {scope.label}")
    pushes: list[Push] = []
    if settings.staff_channel:
        platform, _sep, channel = settings.staff_channel.partition(":")
        address = Recipient(platform=platform, user_id="", channel_id=channel)
        # A channel no group owns speaks the programme's language.
        messages = in_language(language_of(None, settings))
        pushes = _pushes(f"{prefix}:staff", messages, address=address)
    else:
        for admin in admins(session):
            messages = in_language(language_of(admin, settings))
            pushes += _pushes(f"{prefix}:admin:{admin.id}", messages, person=admin)
    return 1 if push_rows(session, pushes, now, settings.default_timezone) else 0


def _queue_mentors(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    builder: ReportBuilder,
    prefix: str,
    start: date,
    end: date,
    mentors: list[Person],
    sent: set[str],
) -> int:
    queued = 0
    for mentor in mentors:
        key = f"{prefix}:mentor:{mentor.id}"
        if f"{key}:0" in sent:
            continue
        if queued >= MENTORS_PER_TICK:
            break
        scope = Scope("Your students", mentor_id=mentor.id)
        # In the mentor's own language, refusal included.
        with speaking(language_of(mentor, settings)):
            try:
                report = builder.build(scope, start, end, names=True)
                # One chart a mentor: hundreds of mentors' charts are drawn in one digest run.
                messages = report_messages(report, charts=MENTOR_CHARTS, digest=True)
                names = report.attention_names or ()
                ids = report.attention_ids
            except UserError as refused:
                names, ids = builder.attention_of(scope, end)
                messages = [withheld_message(scope, refused.message, names)]
        audit(session, now, None, "report.digest", detail=f"mentor {mentor.id}: {scope.label}")
        for student_id in ids:
            audit(session, now, mentor.id, "report.attention", student_id)
        if push_rows(
            session, _pushes(key, messages, person=mentor), now, settings.default_timezone
        ):
            queued += 1
    return queued
