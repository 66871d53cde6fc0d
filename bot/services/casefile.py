"""The student's case file and progress report (issue 17, parts 5-6).

One place where a mentor sees one student: profile and time zone, the mood over the term
with the check-in response rate, goals with milestones, meetings and session records, the
mentors' notes and alerts with their outcomes. The progress report covers a chosen period:
check-ins, the mood trend, goals, meetings held or missed and the actions agreed in them.

Who may read it: the student's mentors (primary or backup) and programme staff (admins).
Anyone else, and anyone naming an email that is not an active student, gets the same
refusal (`not_found`), so a refusal never tells whether a student exists. Every read is
written to the audit log (`bot.audit`), from the bot and from the command line alike.

Meetings come from another feature (issue 17, parts 1-4). This module only knows their
shape (`MeetingView`) and takes a `MeetingSource`; until that feature is merged the source
is `no_meetings` unless given (`bot.features.casefile.meetings_source` wires the meetings
feature in, deciding per reader whether the session records' words are shown).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from sqlmodel import Session, col, or_, select

from bot.audit import audit
from bot.auth import can_view
from bot.charts import (
    Chart,
    Series,
    day_month,
    decimal,
    describe_series,
    drawn_words,
    line_chart,
)
from bot.errors import NotAllowed, UserError
from bot.i18n import DEFAULT_LANGUAGE, N_, _, current_language, ngettext
from bot.i18n.dates import DATE, TIME, local_format
from bot.localtime import to_local, zone
from bot.model import Choice, Field, Message
from bot.people import ADMIN, MENTOR, STUDENT, mentors_of, person_by_email
from bot.services.alerts import KIND_LABELS, OUTCOME_LABELS
from bot.services.caseload import recent_notes
from storage.enums import AlertStatus, CheckinStatus, GoalStatus
from storage.tables import (
    Alert,
    Checkin,
    Goal,
    Group,
    GroupMember,
    Milestone,
    MoodEntry,
    Person,
    StudentSettings,
)

# "Over the term": the case file looks back this far (a school term is about 12 weeks).
TERM_WEEKS = 12
# Periods up to this many days are charted per day; longer ones per week.
DAILY_UP_TO_DAYS = 31
# The longest report: two school years. Longer ones would chart hundreds of points.
MAX_REPORT_DAYS = 2 * 366
MAX_NOTES = 10
MAX_ALERTS = 10
# Check-ins that were due and are closed count towards the response rate; open ones are
# still waiting, and excused or unsent ones were never asked of the student.
COUNTED = (CheckinStatus.ANSWERED, CheckinStatus.SKIPPED, CheckinStatus.MISSED)


def not_found(email: str) -> NotAllowed:
    """The one refusal for an unknown email, a non-student and someone else's student."""
    return NotAllowed(
        _(
            "I can't find a student '{email}' among the students you can see. "
            "Check the email, or ask programme staff."
        ).format(email=email)
    )


# ---------------------------------------------------------------- meetings (wired at merge)


class MeetingStatus(StrEnum):
    """What became of a meeting, as the case file shows it."""

    SCHEDULED = "scheduled"
    HELD = "held"
    MISSED = "missed"  # the student didn't come
    CANCELLED = "cancelled"


# The words shown for a status (translated where shown); the values stay the keys.
MEETING_STATUS_WORDS: dict[str, str] = {
    MeetingStatus.SCHEDULED: N_("scheduled"),
    MeetingStatus.HELD: N_("held"),
    MeetingStatus.MISSED: N_("missed"),
    MeetingStatus.CANCELLED: N_("cancelled"),
}
GOAL_STATUS_WORDS: dict[str, str] = {
    GoalStatus.OPEN: N_("open"),
    GoalStatus.DONE: N_("done"),
    GoalStatus.DROPPED: N_("dropped"),
}
ALERT_STATUS_WORDS: dict[str, str] = {
    AlertStatus.OPEN: N_("open"),
    AlertStatus.ACKNOWLEDGED: N_("acknowledged"),
    AlertStatus.FOLLOWING_UP: N_("following"),
    AlertStatus.RESOLVED: N_("resolved"),
}


def shown_status(words: dict[str, str], status: str) -> str:
    """A status in the reader's language (an unknown one as it is)."""
    return _(words[status]) if status in words else status


@dataclass(frozen=True)
class MeetingView:
    """One meeting as the case file and the report show it (the meetings feature fills it).

    The session record (topics, agreed actions, next step) is the mentor's confidential
    writing: the meetings feature decrypts it and hands it over only for readers it allows.
    """

    starts_at: datetime
    status: MeetingStatus
    mentor_name: str
    topics: str = ""
    agreed_actions: tuple[str, ...] = ()
    next_step: str = ""


class MeetingSource(Protocol):
    """Meetings of one student that start in `[start, end)`, oldest first."""

    def __call__(
        self, session: Session, student_id: int, start: datetime, end: datetime
    ) -> Sequence[MeetingView]:
        """The student's meetings in the period."""
        ...


def no_meetings(
    session: Session, student_id: int, start: datetime, end: datetime
) -> Sequence[MeetingView]:
    """The source until the meetings feature is merged: none yet."""
    return ()


# ---------------------------------------------------------------- the records


@dataclass(frozen=True)
class Period:
    """A stretch of local days `first..last` (inclusive) in one time zone."""

    first: date
    last: date
    tz: str

    @property
    def start(self) -> datetime:
        """The first day's local midnight, in UTC."""
        return datetime.combine(self.first, time(0), zone(self.tz)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The local midnight after the last day, in UTC (exclusive)."""
        after = self.last + timedelta(days=1)
        return datetime.combine(after, time(0), zone(self.tz)).astimezone(UTC)

    @property
    def days(self) -> int:
        """How many days it covers."""
        return (self.last - self.first).days + 1

    def label(self) -> str:
        """The period as readers say it: first and last day."""
        return _("{first} – {last}").format(
            first=local_format(self.first, DATE), last=local_format(self.last, DATE)
        )


def term_period(now: datetime, tz: str) -> Period:
    """The case file's period: the last TERM_WEEKS weeks up to today, local days."""
    today = to_local(now, tz).date()
    # From a Monday, so the chart has TERM_WEEKS whole weeks (the last one up to today).
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(weeks=TERM_WEEKS - 1), today, tz)


def report_period(first: date, last: date, tz: str) -> Period:
    """A period a reader asked for; reversed or over-long periods are refused."""
    if last < first:
        raise UserError(
            _(
                "The report would end ({last}) before it starts ({first}). "
                "Put the earlier date first."
            ).format(last=last.isoformat(), first=first.isoformat())
        )
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise UserError(_("A report covers at most two years. Please choose a shorter period."))
    return Period(first, last, tz)


@dataclass(frozen=True)
class Profile:
    """Who the student is and how to reach them."""

    name: str
    email: str
    timezone: str
    zone_chosen_by_student: bool
    checkin_time: str | None
    mentors: tuple[str, ...]
    groups: tuple[str, ...]
    paused_until: date | None
    enrolled: date


@dataclass(frozen=True)
class MoodTrend:
    """Average mood per day or week of the period; `None` where nothing was recorded."""

    keys: tuple[date, ...]  # each day, or each week's Monday
    values: tuple[float | None, ...]
    per: str  # "day" | "week"
    entries: int
    average: float | None

    @property
    def labels(self) -> tuple[str, ...]:
        """Each point's label in the language being spoken: `07 Dec`, or `wk 07 Dec`."""
        if self.per == "day":
            return tuple(day_month(k) for k in self.keys)
        return tuple(_("wk {day}").format(day=day_month(k)) for k in self.keys)


@dataclass(frozen=True)
class CheckinCounts:
    """How the student answered the check-ins due in the period."""

    answered: int
    skipped: int
    missed: int

    @property
    def due(self) -> int:
        """Check-ins that were due and closed."""
        return self.answered + self.skipped + self.missed

    @property
    def rate(self) -> int | None:
        """Per cent responded to (answered or skipped), or None when none were due."""
        if not self.due:
            return None
        return round(100 * (self.answered + self.skipped) / self.due)

    def sentence(self) -> str:
        """The counts in one sentence: responded to N of M (rate), then each kind."""
        if not self.due:
            return _("No check-ins were due in this period.")
        return ngettext(
            "Responded to {responded} of {due} check-in ({rate}%): {answered} answered, "
            "{skipped} skipped, {missed} missed.",
            "Responded to {responded} of {due} check-ins ({rate}%): {answered} answered, "
            "{skipped} skipped, {missed} missed.",
            self.due,
        ).format(
            responded=self.answered + self.skipped,
            due=self.due,
            rate=self.rate,
            answered=self.answered,
            skipped=self.skipped,
            missed=self.missed,
        )


@dataclass(frozen=True)
class MilestoneView:
    """One step of a goal."""

    title: str
    done: bool


@dataclass(frozen=True)
class GoalView:
    """A goal with its progress and milestones."""

    goal_id: int
    title: str
    status: str
    progress: int
    due: date | None
    milestones: tuple[MilestoneView, ...]

    def line(self) -> str:
        """Progress, status and due date in a few words."""
        status = shown_status(GOAL_STATUS_WORDS, self.status)
        if self.due:
            return _("{progress}%, {status}, due {date}").format(
                progress=self.progress, status=status, date=self.due.isoformat()
            )
        return _("{progress}%, {status}").format(progress=self.progress, status=status)


@dataclass(frozen=True)
class NoteView:
    """A mentor's confidential note (decrypted for this reader)."""

    written: datetime
    author: str
    text: str


@dataclass(frozen=True)
class AlertView:
    """An alert and how it ended."""

    raised: datetime
    kind: str
    status: str
    outcome: str
    resolution_note: str


@dataclass(frozen=True)
class CaseFile:
    """Everything the case file shows about one student."""

    student_id: int
    profile: Profile
    period: Period
    mood: MoodTrend
    checkins: CheckinCounts
    goals: tuple[GoalView, ...]
    meetings: tuple[MeetingView, ...]
    notes: tuple[NoteView, ...]
    alerts: tuple[AlertView, ...]


@dataclass(frozen=True)
class ProgressReport:
    """The progress report over a chosen period (no notes, no alerts: it may be shared)."""

    student_id: int
    name: str
    timezone: str
    period: Period
    mood: MoodTrend
    checkins: CheckinCounts
    goals: tuple[GoalView, ...]
    meetings: tuple[MeetingView, ...]
    made_at: datetime

    @property
    def held(self) -> int:
        """Meetings held."""
        return sum(1 for m in self.meetings if m.status is MeetingStatus.HELD)

    @property
    def missed(self) -> int:
        """Meetings the student didn't come to."""
        return sum(1 for m in self.meetings if m.status is MeetingStatus.MISSED)

    @property
    def agreed_actions(self) -> tuple[tuple[date, str], ...]:
        """Every action agreed in a held meeting, with the meeting's local date."""
        return tuple(
            (to_local(m.starts_at, self.timezone).date(), action)
            for m in self.meetings
            if m.status is MeetingStatus.HELD
            for action in m.agreed_actions
        )


# ---------------------------------------------------------------- who may read


def student_for_reader(session: Session, reader: Person | None, email: str) -> Person:
    """The active student `email` if `reader` may read their file (None: the command line).

    Unknown, inactive, not a student, or not this reader's: the same refusal.
    """
    student = person_by_email(session, email)
    if student is None or student.role != STUDENT or not student.active:
        raise not_found(email)
    if reader is not None:
        require_reader(session, reader, student, email)
    return student


def may_read(session: Session, reader: Person, student: Person) -> bool:
    """True when the reader is one of the student's mentors or an admin."""
    # A student can see their own data elsewhere (/mydata); the case file is staff's view.
    return reader.role in (MENTOR, ADMIN) and can_view(session, reader, student)


def require_reader(session: Session, reader: Person, student: Person, shown: str) -> None:
    """Refuse, as if the student didn't exist, unless the reader may read their file."""
    if not may_read(session, reader, student):
        raise not_found(shown)


# ---------------------------------------------------------------- gathering


def profile_of(session: Session, student: Person, default_tz: str) -> Profile:
    """The student's profile: zone and where it came from, mentors, groups."""
    assert student.id is not None
    settings = session.get(StudentSettings, student.id)
    mentors = mentors_of(session, student.id)
    groups = session.exec(
        select(Group.name)
        .join(GroupMember, col(GroupMember.group_id) == Group.id)
        .where(GroupMember.person_id == student.id)
        .order_by(col(Group.name))
    ).all()
    kinds = {"primary": N_("primary"), "backup": N_("backup")}
    named = tuple(
        _("{name} ({kind})").format(name=mentors[kind].name, kind=_(kinds[kind]))
        for kind in ("primary", "backup")
        if kind in mentors
    )
    return Profile(
        name=student.name,
        email=student.email,
        timezone=student.timezone or default_tz,
        zone_chosen_by_student=settings is not None and settings.zone_source == "student",
        checkin_time=settings.checkin_time if settings is not None else None,
        mentors=named,
        groups=tuple(groups),
        paused_until=student.paused_until,
        enrolled=to_local(student.created_at, student.timezone or default_tz).date(),
    )


def mood_trend(session: Session, student_id: int, period: Period) -> MoodTrend:
    """Average mood per local day (short periods) or week (from Monday) of the period."""
    entries = session.exec(
        select(MoodEntry.score, MoodEntry.recorded_at).where(
            MoodEntry.person_id == student_id,
            col(MoodEntry.recorded_at) >= period.start,
            col(MoodEntry.recorded_at) < period.end,
        )
    ).all()
    daily = period.days <= DAILY_UP_TO_DAYS
    buckets: dict[date, list[int]] = defaultdict(list)
    for score, at in entries:
        day = to_local(at, period.tz).date()
        key = day if daily else day - timedelta(days=day.weekday())
        buckets[key].append(score)
    keys: list[date] = []
    cursor = period.first if daily else period.first - timedelta(days=period.first.weekday())
    step = timedelta(days=1 if daily else 7)
    while cursor <= period.last:
        keys.append(cursor)
        cursor += step
    values = tuple(
        round(sum(buckets[k]) / len(buckets[k]), 2) if buckets.get(k) else None for k in keys
    )
    scores = [score for score, _at in entries]
    return MoodTrend(
        keys=tuple(keys),
        values=values,
        per="day" if daily else "week",
        entries=len(scores),
        average=round(sum(scores) / len(scores), 1) if scores else None,
    )


def checkin_counts(session: Session, student_id: int, period: Period) -> CheckinCounts:
    """Check-ins opened in the period that were answered, skipped or missed."""
    statuses = session.exec(
        select(Checkin.status).where(
            Checkin.person_id == student_id,
            col(Checkin.opened_at) >= period.start,
            col(Checkin.opened_at) < period.end,
            col(Checkin.status).in_(COUNTED),
        )
    ).all()
    return CheckinCounts(
        answered=statuses.count(CheckinStatus.ANSWERED),
        skipped=statuses.count(CheckinStatus.SKIPPED),
        missed=statuses.count(CheckinStatus.MISSED),
    )


def goals_of(session: Session, student_id: int, period: Period | None) -> tuple[GoalView, ...]:
    """Open goals, and goals finished or dropped in the period (all of them without one)."""
    query = select(Goal).where(Goal.person_id == student_id)
    if period is not None:
        query = query.where(
            col(Goal.created_at) < period.end,
            or_(col(Goal.status) == GoalStatus.OPEN, col(Goal.updated_at) >= period.start),
        )
    goals = session.exec(query.order_by(col(Goal.created_at), col(Goal.id))).all()
    ids = [g.id for g in goals if g.id is not None]
    steps: dict[int, list[MilestoneView]] = defaultdict(list)
    if ids:
        for milestone in session.exec(
            select(Milestone).where(col(Milestone.goal_id).in_(ids)).order_by(col(Milestone.id))
        ).all():
            steps[milestone.goal_id].append(
                MilestoneView(milestone.title, milestone.done_at is not None)
            )
    return tuple(
        GoalView(
            goal_id=goal.id,
            title=goal.title,
            status=goal.status,
            progress=goal.progress,
            due=goal.due_date,
            milestones=tuple(steps[goal.id]),
        )
        for goal in goals
        if goal.id is not None
    )


def alerts_of(session: Session, student_id: int, limit: int = MAX_ALERTS) -> tuple[AlertView, ...]:
    """The student's latest alerts with their outcomes, newest first."""
    alerts = session.exec(
        select(Alert)
        .where(Alert.student_id == student_id, Alert.status != AlertStatus.ERASED)
        .order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
        .limit(limit)
    ).all()
    return tuple(
        AlertView(
            raised=alert.created_at,
            kind=_(KIND_LABELS[alert.kind]) if alert.kind in KIND_LABELS else alert.kind,
            status=shown_status(ALERT_STATUS_WORDS, alert.status),
            outcome=(
                _(OUTCOME_LABELS[alert.outcome])
                if alert.outcome in OUTCOME_LABELS
                else alert.outcome or ""
            ),
            resolution_note=alert.resolution_note or "",
        )
        for alert in alerts
    )


def build_case_file(
    session: Session,
    reader: Person,
    student: Person,
    now: datetime,
    default_tz: str,
    meetings: MeetingSource = no_meetings,
) -> CaseFile:
    """Gather the case file of a student the reader may see, and audit the read."""
    assert student.id is not None
    require_reader(session, reader, student, student.email)
    profile = profile_of(session, student, default_tz)
    period = term_period(now, profile.timezone)
    notes = tuple(
        NoteView(note.created_at, author.name, note.text)
        for note, author in recent_notes(session, student.id, MAX_NOTES)
    )
    audit(session, now, reader.id, "casefile.read", student.id)
    return CaseFile(
        student_id=student.id,
        profile=profile,
        period=period,
        mood=mood_trend(session, student.id, period),
        checkins=checkin_counts(session, student.id, period),
        goals=goals_of(session, student.id, None),
        meetings=tuple(meetings(session, student.id, period.start, period.end)),
        notes=notes,
        alerts=alerts_of(session, student.id),
    )


def build_report(
    session: Session,
    reader: Person | None,
    student: Person,
    first: date,
    last: date,
    now: datetime,
    default_tz: str,
    meetings: MeetingSource = no_meetings,
) -> ProgressReport:
    """Gather a progress report over local days `first..last` and audit the read.

    `reader` None is the command line, run by whoever runs the server (audited as such).
    """
    assert student.id is not None
    if reader is not None:
        require_reader(session, reader, student, student.email)
    tz = student.timezone or default_tz
    period = report_period(first, last, tz)
    audit(
        session,
        now,
        reader.id if reader is not None else None,
        "report.student" if reader is not None else "report.student.cli",
        student.id,
        detail=f"{first.isoformat()}..{last.isoformat()}",
    )
    return ProgressReport(
        student_id=student.id,
        name=student.name,
        timezone=tz,
        period=period,
        mood=mood_trend(session, student.id, period),
        checkins=checkin_counts(session, student.id, period),
        goals=goals_of(session, student.id, period),
        meetings=tuple(meetings(session, student.id, period.start, period.end)),
        made_at=now,
    )


# ---------------------------------------------------------------- the chart and its words


def mood_words(name: str, mood: MoodTrend, checkins: CheckinCounts, period: Period) -> str:
    """The chart in words, for screen readers and the console."""
    if mood.entries == 0:
        trend = _("No mood was recorded between {period}.").format(period=period.label())
    else:
        if mood.per == "day":
            head = ngettext(
                "{name}'s daily average mood (1 awful to 5 great), {period}: "
                "{entries} entry averaging {average}.",
                "{name}'s daily average mood (1 awful to 5 great), {period}: "
                "{entries} entries averaging {average}.",
                mood.entries,
            )
        else:
            head = ngettext(
                "{name}'s weekly average mood (1 awful to 5 great), {period}: "
                "{entries} entry averaging {average}.",
                "{name}'s weekly average mood (1 awful to 5 great), {period}: "
                "{entries} entries averaging {average}.",
                mood.entries,
            )
        trend = (
            head.format(
                name=name,
                period=period.label(),
                entries=mood.entries,
                average=decimal(mood.average) if mood.average is not None else "",
            )
            + " "
            + describe_series(_("Average mood"), mood.labels, mood.values)
            + _direction(mood.values)
        )
    return _("{trend} {checkins}").format(trend=trend, checkins=checkins.sentence())


def _direction(values: Sequence[float | None]) -> str:
    """Rising, falling or steady, from the first and last third of the points."""
    points = [v for v in values if v is not None]
    if len(points) < 2:
        return ""
    third = max(1, len(points) // 3)
    early = sum(points[:third]) / third
    late = sum(points[-third:]) / third
    if late - early >= 0.5:
        return " " + _("Overall rising.")
    if early - late >= 0.5:
        return " " + _("Overall falling.")
    return " " + _("Overall steady.")


def mood_chart(name: str, mood: MoodTrend, checkins: CheckinCounts, period: Period) -> Chart:
    """The mood line over the period (PNG and SVG) with its description in words.

    The words are the reader's; the picture's are too when its script can be drawn (else
    English: see `bot.charts.drawing_language`).
    """
    alt_text = mood_words(name, mood, checkins, period)
    with drawn_words():
        return line_chart(
            _("Mood, {period}").format(period=period.label()),
            mood.labels,
            [Series(_("Average mood"), mood.values)],
            x_label=_("Day") if mood.per == "day" else _("Week starting"),
            y_label=_("Mood (1 awful – 5 great)"),
            alt_text=alt_text,
            y_range=(0.8, 5.2),
        )


# ---------------------------------------------------------------- the case file as messages

REPORT_ACTION = "casefile.report"


def _when(at: datetime, tz: str) -> str:
    local = to_local(at, tz)
    # English keeps its year ("07 Dec 2026 14:05"); other languages CLDR's day and time.
    if current_language() == DEFAULT_LANGUAGE:
        return local.strftime("%d %b %Y %H:%M")
    return f"{local_format(local, DATE)} {local_format(local, TIME)}"


def _bar(progress: int) -> str:
    filled = max(0, min(10, progress // 10))
    return "█" * filled + "░" * (10 - filled)


def goal_field(goal: GoalView) -> Field:
    """A goal as a label/value row: progress bar, status, due date, milestones ticked."""
    # The boxes and the bar are decoration: the words say done or not, and the percentage.
    steps = "".join(
        "\n"
        + (_("☑ {milestone} (done)") if m.done else _("☐ {milestone}")).format(milestone=m.title)
        for m in goal.milestones
    )
    return Field(
        _("Goal: {title}").format(title=goal.title),
        f"{_bar(goal.progress)} {goal.line()}{steps}",
    )


def meeting_field(meeting: MeetingView, tz: str) -> Field:
    """A meeting as a label/value row, with its session record when there is one."""
    parts = [_("with {mentor}").format(mentor=meeting.mentor_name)]
    if meeting.topics:
        parts.append(_("Topics: {topics}").format(topics=meeting.topics))
    if meeting.agreed_actions:
        parts.append(_("Agreed: {actions}").format(actions="; ".join(meeting.agreed_actions)))
    if meeting.next_step:
        parts.append(_("Next: {step}").format(step=meeting.next_step))
    return Field(
        _("Meeting {when} · {status}").format(
            when=_when(meeting.starts_at, tz),
            status=shown_status(MEETING_STATUS_WORDS, meeting.status),
        ),
        "\n".join(parts),
    )


def render_case_file(case: CaseFile, chart: Chart, reader_tz: str) -> tuple[Message, ...]:
    """The case file as three messages: overview with the chart, goals and meetings, records.

    The chart's words are the first message's text, so the console, screen readers and
    notifications read the same summary the picture shows.
    """
    profile = case.profile
    zone = (
        _("{zone} (chosen by the student)").format(zone=profile.timezone)
        if profile.zone_chosen_by_student
        else profile.timezone
    )
    overview = [
        Field(_("Email"), profile.email),
        Field(_("Time zone"), zone),
        Field(_("Mentors"), ", ".join(profile.mentors) or _("none assigned")),
        Field(_("Groups"), ", ".join(profile.groups) or _("none")),
        Field(_("Check-ins"), case.checkins.sentence()),
    ]
    if profile.checkin_time:
        overview.append(Field(_("Own check-in time"), profile.checkin_time))
    if profile.paused_until:
        overview.append(Field(_("Paused until"), profile.paused_until.isoformat()))
    report = Choice(
        _("Progress report (PDF)"),
        REPORT_ACTION,
        args=(
            ("student", str(case.student_id)),
            ("from", case.period.first.isoformat()),
            ("to", case.period.last.isoformat()),
        ),
    )
    first = Message(
        title=_("Case file: {name}").format(name=profile.name),
        text=chart.alt_text,
        fields=tuple(overview),
        attachment=chart.as_attachment(f"case-file-{case.student_id}-mood.png"),
        choices=(report,),
    )
    goals = [goal_field(goal) for goal in case.goals]
    # Meetings — wired at merge: the meetings feature's views arrive through `MeetingSource`.
    meetings = [meeting_field(m, profile.timezone) for m in case.meetings]
    second = Message(
        title=_("Goals and meetings"),
        text=_("{goals}; {meetings} since {date}.").format(
            goals=ngettext("{n} goal(s)", "{n} goal(s)", len(case.goals)).format(n=len(case.goals)),
            meetings=ngettext("{n} meeting(s)", "{n} meeting(s)", len(case.meetings)).format(
                n=len(case.meetings)
            ),
            date=local_format(case.period.first, DATE),
        ),
        fields=tuple(goals or [Field(_("Goals"), _("No goals yet."))])
        + tuple(meetings or [Field(_("Meetings"), _("No meetings recorded in this period."))]),
    )
    notes = [
        Field(
            _("Note {when} · {author}").format(
                when=_when(note.written, reader_tz), author=note.author
            ),
            note.text,
        )
        for note in case.notes
    ]
    alerts = [
        Field(
            _("Alert {when} · {kind}").format(when=_when(alert.raised, reader_tz), kind=alert.kind),
            f"{alert.status}"
            + (f": {alert.outcome}" if alert.outcome else "")
            + (f"\n{alert.resolution_note}" if alert.resolution_note else ""),
        )
        for alert in case.alerts
    ]
    third = Message(
        title=_("Notes and alerts (confidential)"),
        text=_("Only this student's mentors and programme staff can read these. Newest first."),
        fields=tuple(notes or [Field(_("Notes"), _("No notes yet."))])
        + tuple(alerts or [Field(_("Alerts"), _("No alerts."))]),
    )
    return first, second, third


# ---------------------------------------------------------------- the report as Markdown


def meeting_counts(report: ProgressReport) -> str:
    """The meetings of a report counted: held, missed and in all."""
    return ngettext(
        "{held} held, {missed} missed, {total} in all.",
        "{held} held, {missed} missed, {total} in all.",
        len(report.meetings),
    ).format(held=report.held, missed=report.missed, total=len(report.meetings))


def meeting_line(meeting: MeetingView, tz: str, mentor: str) -> str:
    """`07 Dec 2026 14:00: held (with Maya)`: one meeting of a report."""
    return _("{when}: {status} (with {mentor})").format(
        when=_when(meeting.starts_at, tz),
        status=shown_status(MEETING_STATUS_WORDS, meeting.status),
        mentor=mentor,
    )


_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>#|"})


def md(text: str) -> str:
    """Words written by people, safe inside Markdown (no accidental links or headings)."""
    return " ".join(text.split()).translate(_MD_SPECIAL)


def render_markdown(report: ProgressReport, chart: Chart, chart_file: str | None) -> str:
    """The progress report as Markdown; the chart as an image link when it was saved beside."""
    tz = report.timezone
    lines = [
        "# " + _("Progress report: {name}").format(name=md(report.name)),
        "",
        _("Period: {period} · Time zone: {zone} · Prepared {when}").format(
            period=report.period.label(), zone=tz, when=_when(report.made_at, tz)
        ),
        "",
        "## " + _("Check-ins"),
        "",
        report.checkins.sentence(),
        "",
        "## " + _("Mood trend"),
        "",
    ]
    if chart_file:
        lines += [f"![{md(chart.alt_text)}]({chart_file})", ""]
    lines += [md(chart.alt_text), ""]
    if report.mood.entries:
        head = _("Day") if report.mood.per == "day" else _("Week starting")
        average = _("Average mood")
        lines += [f"| {head} | {average} |", "| --- | --- |"]
        lines += [
            f"| {label} | {'–' if value is None else decimal(value)} |"
            for label, value in zip(report.mood.labels, report.mood.values, strict=True)
        ]
        lines.append("")
    lines += ["## " + _("Goals"), ""]
    if not report.goals:
        lines.append(_("No goals in this period."))
    for goal in report.goals:
        lines.append(f"- **{md(goal.title)}**: {goal.line()}")
        lines += [f"  - [{'x' if m.done else ' '}] {md(m.title)}" for m in goal.milestones]
    lines += [
        "",
        "## " + _("Meetings"),
        "",
        meeting_counts(report),
        "",
    ]
    for meeting in report.meetings:
        lines.append("- " + meeting_line(meeting, tz, md(meeting.mentor_name)))
    lines += ["", "## " + _("Agreed actions"), ""]
    actions = report.agreed_actions
    if not actions:
        lines.append(_("No actions were agreed in meetings in this period."))
    lines += [f"- {local_format(day, DATE)}: {md(action)}" for day, action in actions]
    return "\n".join(lines).rstrip() + "\n"
