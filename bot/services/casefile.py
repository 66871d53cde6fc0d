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
from bot.charts import Chart, Series, describe_series, line_chart
from bot.errors import NotAllowed, UserError
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
        f"I can't find a student '{email}' among the students you can see. "
        "Check the email, or ask programme staff."
    )


# ---------------------------------------------------------------- meetings (wired at merge)


class MeetingStatus(StrEnum):
    """What became of a meeting, as the case file shows it."""

    SCHEDULED = "scheduled"
    HELD = "held"
    MISSED = "missed"  # the student didn't come
    CANCELLED = "cancelled"


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
        return f"{self.first:%d %b %Y} – {self.last:%d %b %Y}"


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
            f"The report would end ({last.isoformat()}) before it starts "
            f"({first.isoformat()}). Put the earlier date first."
        )
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise UserError("A report covers at most two years. Please choose a shorter period.")
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

    labels: tuple[str, ...]
    values: tuple[float | None, ...]
    per: str  # "day" | "week"
    entries: int
    average: float | None


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
            return "No check-ins were due in this period."
        return (
            f"Responded to {self.answered + self.skipped} of {self.due} check-ins "
            f"({self.rate}%): {self.answered} answered, {self.skipped} skipped, "
            f"{self.missed} missed."
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
        due = f", due {self.due.isoformat()}" if self.due else ""
        return f"{self.progress}%, {self.status}{due}"


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
    named = tuple(
        f"{mentors[kind].name} ({kind})" for kind in ("primary", "backup") if kind in mentors
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
    labels = tuple(k.strftime("%d %b") if daily else f"wk {k:%d %b}" for k in keys)
    scores = [score for score, _ in entries]
    return MoodTrend(
        labels=labels,
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
            kind=KIND_LABELS.get(alert.kind, alert.kind),
            status=alert.status,
            outcome=OUTCOME_LABELS.get(alert.outcome, alert.outcome) if alert.outcome else "",
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
        trend = f"No mood was recorded between {period.label()}."
    else:
        per = "daily" if mood.per == "day" else "weekly"
        trend = (
            f"{name}'s {per} average mood (1 awful to 5 great), {period.label()}: "
            f"{mood.entries} entries averaging {mood.average}. "
            + describe_series("Average mood", mood.labels, mood.values)
            + _direction(mood.values)
        )
    return f"{trend} {checkins.sentence()}"


def _direction(values: Sequence[float | None]) -> str:
    """Rising, falling or steady, from the first and last third of the points."""
    points = [v for v in values if v is not None]
    if len(points) < 2:
        return ""
    third = max(1, len(points) // 3)
    early = sum(points[:third]) / third
    late = sum(points[-third:]) / third
    if late - early >= 0.5:
        return " Overall rising."
    if early - late >= 0.5:
        return " Overall falling."
    return " Overall steady."


def mood_chart(name: str, mood: MoodTrend, checkins: CheckinCounts, period: Period) -> Chart:
    """The mood line over the period (PNG and SVG) with its description in words."""
    per = "Day" if mood.per == "day" else "Week starting"
    return line_chart(
        f"Mood, {period.label()}",
        mood.labels,
        [Series("Average mood", mood.values)],
        x_label=per,
        y_label="Mood (1 awful – 5 great)",
        alt_text=mood_words(name, mood, checkins, period),
        y_range=(0.8, 5.2),
    )


# ---------------------------------------------------------------- the case file as messages

REPORT_ACTION = "casefile.report"


def _when(at: datetime, tz: str) -> str:
    return to_local(at, tz).strftime("%d %b %Y %H:%M")


def _bar(progress: int) -> str:
    filled = max(0, min(10, progress // 10))
    return "█" * filled + "░" * (10 - filled)


def goal_field(goal: GoalView) -> Field:
    """A goal as a label/value row: progress bar, status, due date, milestones ticked."""
    steps = "".join(f"\n{'☑' if m.done else '☐'} {m.title}" for m in goal.milestones)
    return Field(f"Goal: {goal.title}", f"{_bar(goal.progress)} {goal.line()}{steps}")


def meeting_field(meeting: MeetingView, tz: str) -> Field:
    """A meeting as a label/value row, with its session record when there is one."""
    parts = [f"with {meeting.mentor_name}"]
    if meeting.topics:
        parts.append(f"Topics: {meeting.topics}")
    if meeting.agreed_actions:
        parts.append("Agreed: " + "; ".join(meeting.agreed_actions))
    if meeting.next_step:
        parts.append(f"Next: {meeting.next_step}")
    return Field(f"Meeting {_when(meeting.starts_at, tz)} · {meeting.status}", "\n".join(parts))


def render_case_file(case: CaseFile, chart: Chart, reader_tz: str) -> tuple[Message, ...]:
    """The case file as three messages: overview with the chart, goals and meetings, records.

    The chart's words are the first message's text, so the console, screen readers and
    notifications read the same summary the picture shows.
    """
    profile = case.profile
    zone_note = " (chosen by the student)" if profile.zone_chosen_by_student else ""
    overview = [
        Field("Email", profile.email),
        Field("Time zone", f"{profile.timezone}{zone_note}"),
        Field("Mentors", ", ".join(profile.mentors) or "none assigned"),
        Field("Groups", ", ".join(profile.groups) or "none"),
        Field("Check-ins", case.checkins.sentence()),
    ]
    if profile.checkin_time:
        overview.append(Field("Own check-in time", profile.checkin_time))
    if profile.paused_until:
        overview.append(Field("Paused until", profile.paused_until.isoformat()))
    report = Choice(
        "Progress report (PDF)",
        REPORT_ACTION,
        args=(
            ("student", str(case.student_id)),
            ("from", case.period.first.isoformat()),
            ("to", case.period.last.isoformat()),
        ),
    )
    first = Message(
        title=f"Case file: {profile.name}",
        text=chart.alt_text,
        fields=tuple(overview),
        attachment=chart.as_attachment(f"case-file-{case.student_id}-mood.png"),
        choices=(report,),
    )
    goals = [goal_field(goal) for goal in case.goals]
    # Meetings — wired at merge: the meetings feature's views arrive through `MeetingSource`.
    meetings = [meeting_field(m, profile.timezone) for m in case.meetings]
    second = Message(
        title="Goals and meetings",
        text=(
            f"{len(case.goals)} goal(s); {len(case.meetings)} meeting(s) since "
            f"{case.period.first:%d %b %Y}."
        ),
        fields=tuple(goals or [Field("Goals", "No goals yet.")])
        + tuple(meetings or [Field("Meetings", "No meetings recorded in this period.")]),
    )
    notes = [
        Field(f"Note {_when(note.written, reader_tz)} · {note.author}", note.text)
        for note in case.notes
    ]
    alerts = [
        Field(
            f"Alert {_when(alert.raised, reader_tz)} · {alert.kind}",
            f"{alert.status}"
            + (f": {alert.outcome}" if alert.outcome else "")
            + (f"\n{alert.resolution_note}" if alert.resolution_note else ""),
        )
        for alert in case.alerts
    ]
    third = Message(
        title="Notes and alerts (confidential)",
        text="Only this student's mentors and programme staff can read these. Newest first.",
        fields=tuple(notes or [Field("Notes", "No notes yet.")])
        + tuple(alerts or [Field("Alerts", "No alerts.")]),
    )
    return first, second, third


# ---------------------------------------------------------------- the report as Markdown

_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>#|"})


def md(text: str) -> str:
    """Words written by people, safe inside Markdown (no accidental links or headings)."""
    return " ".join(text.split()).translate(_MD_SPECIAL)


def render_markdown(report: ProgressReport, chart: Chart, chart_file: str | None) -> str:
    """The progress report as Markdown; the chart as an image link when it was saved beside."""
    tz = report.timezone
    lines = [
        f"# Progress report: {md(report.name)}",
        "",
        f"Period: {report.period.label()} · Time zone: {tz} · Prepared {_when(report.made_at, tz)}",
        "",
        "## Check-ins",
        "",
        report.checkins.sentence(),
        "",
        "## Mood trend",
        "",
    ]
    if chart_file:
        lines += [f"![{md(chart.alt_text)}]({chart_file})", ""]
    lines += [md(chart.alt_text), ""]
    if report.mood.entries:
        head = "Day" if report.mood.per == "day" else "Week starting"
        lines += [f"| {head} | Average mood |", "| --- | --- |"]
        lines += [
            f"| {label} | {'–' if value is None else value} |"
            for label, value in zip(report.mood.labels, report.mood.values, strict=True)
        ]
        lines.append("")
    lines += ["## Goals", ""]
    if not report.goals:
        lines.append("No goals in this period.")
    for goal in report.goals:
        lines.append(f"- **{md(goal.title)}**: {goal.line()}")
        lines += [f"  - [{'x' if m.done else ' '}] {md(m.title)}" for m in goal.milestones]
    lines += [
        "",
        "## Meetings",
        "",
        f"{report.held} held, {report.missed} missed, {len(report.meetings)} in all.",
        "",
    ]
    for meeting in report.meetings:
        lines.append(
            f"- {_when(meeting.starts_at, tz)}: {meeting.status} (with {md(meeting.mentor_name)})"
        )
    lines += ["", "## Agreed actions", ""]
    actions = report.agreed_actions
    if not actions:
        lines.append("No actions were agreed in meetings in this period.")
    lines += [f"- {day:%d %b %Y}: {md(action)}" for day, action in actions]
    return "\n".join(lines).rstrip() + "\n"
