"""The report's figures, computed in the database: GROUP BY per week, never every row.

Each source (check-ins, moods, alerts, workshop RSVPs and feedback, goals, pairing answers)
is read by one aggregate query per scope: rows, distinct students and a sum per (key, week),
where the week is a CASE over the report's week boundaries (the same SQL on SQLite and
PostgreSQL). Python then keeps only the cells `suppression.release` allows and sums them.
The percentiles of time to acknowledge are read from a sorted stream (kind, minutes), so
only the count per kind and two neighbouring values are ever held.

No free text is read: only scores, statuses, kinds, outcomes and times.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy import ColumnElement, Select, and_, case, literal, union
from sqlalchemy import func as sa_func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, func, select

from bot.charts import day_month
from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    PSEUDO_LANGUAGE,
    _,
    babel_locale,
    current_language,
    ngettext,
)
from bot.services.alerts import KIND_LABELS, OUTCOME_LABELS, UNRESOLVED
from bot.services.reporting.suppression import (
    Scope,
    check_scope,
    left_out_is_safe,
    release,
    scope_size,
)
from storage.enums import AlertStatus, CheckinStatus, GoalStatus, MeetingStatus, RsvpStatus
from storage.tables import (
    Alert,
    Checkin,
    Goal,
    Group,
    GroupMember,
    Meeting,
    MoodEntry,
    PairingMember,
    Person,
    Rsvp,
    WorkshopFeedback,
    WorkshopSession,
)

MAX_WEEKS = 53
# Check-ins that were put to the student and closed: the response rate's denominator.
CLOSED = (CheckinStatus.ANSWERED, CheckinStatus.SKIPPED, CheckinStatus.MISSED)
ATTENTION_DAYS = 14
WITHHELD = N_("withheld")


@dataclass(frozen=True)
class Week:
    """One ISO week of a report (Monday 00:00 UTC to the next Monday)."""

    index: int
    start: date

    @property
    def label(self) -> str:
        """`wk 07 Dec`: the Monday it starts on, in the language being spoken."""
        return _("wk {day}").format(day=day_month(self.start))

    @property
    def begins(self) -> datetime:
        """The week's first instant, UTC."""
        return datetime.combine(self.start, time(0), tzinfo=UTC)


def weeks_covering(start: date, end: date) -> tuple[Week, ...]:
    """Whole weeks from the Monday of `start`'s week to the Sunday of `end`'s week.

    Reports always cover whole weeks, so two date ranges differ by whole weekly cells.
    """
    if end < start:
        raise UserError(
            _(
                "The report would end ({end}) before it starts ({start}). "
                "Please give the earlier date first."
            ).format(end=end.isoformat(), start=start.isoformat())
        )
    first = start - timedelta(days=start.weekday())
    count = (end - first).days // 7 + 1
    if count > MAX_WEEKS:
        raise UserError(
            _("A report covers at most {weeks} weeks; please ask for a shorter one.").format(
                weeks=MAX_WEEKS
            )
        )
    return tuple(Week(i, first + timedelta(weeks=i)) for i in range(count))


@dataclass(frozen=True)
class Cell:
    """One (key, week) aggregate: how many rows, how many different students, their sum."""

    rows: int
    students: int
    total: float


Cells = dict[tuple[Any, Any, int], Cell]


def _week_case(column: Any, weeks: Sequence[Week]) -> ColumnElement[int]:
    """The index of the last week starting at or before `column` (-1 before the first).

    A binary search over the boundaries (about log2(weeks) comparisons a row) rather than one
    comparison per week: the check-ins of a term are ~600,000 rows, each bucketed once.
    """

    def search(low: int, high: int) -> Any:
        # The answer is among weeks low-1 .. high-1 (-1: before the first week).
        if low == high:
            return literal(weeks[low - 1].index if low else -1)
        middle = (low + high) // 2
        return case(
            (column >= weeks[middle].begins, search(middle + 1, high)),
            else_=search(low, middle),
        )

    result: ColumnElement[int] = search(0, len(weeks))
    return result


def _in_range(column: Any, weeks: Sequence[Week]) -> ColumnElement[bool]:
    return and_(column >= weeks[0].begins, column < weeks[-1].begins + timedelta(weeks=1))


def _aggregate(session: Session, inner: Select[Any]) -> Cells:
    """GROUP BY (k1, k2, week) over an inner select labelled k1, k2, wk, pid, v."""
    sub = inner.subquery()
    rows = session.execute(
        core_select(
            sub.c.k1,
            sub.c.k2,
            sub.c.wk,
            func.count(),
            func.count(sub.c.pid.distinct()),
            func.coalesce(func.sum(sub.c.v), 0),
        ).group_by(sub.c.k1, sub.c.k2, sub.c.wk)
    ).all()
    return {
        (k1, k2, int(wk)): Cell(int(n), int(students), float(total))
        for k1, k2, wk, n, students, total in rows
    }


def _collapse(cells: Cells) -> dict[int, Cell]:
    """Cells of a query with constant keys, by week."""
    return {week: cell for (_unused, _unused, week), cell in cells.items()}


@dataclass(frozen=True)
class Source:
    """A table read per week: its time, its student and the value summed."""

    name: str
    time: Any
    person: Any
    value: Any
    where: tuple[Any, ...] = ()
    joins: tuple[tuple[Any, Any], ...] = ()

    def select(
        self,
        population: Select[Any],
        weeks: Sequence[Week],
        k1: Any = None,
        k2: Any = None,
        extra: tuple[tuple[Any, Any], ...] = (),
        where: tuple[Any, ...] = (),
    ) -> Select[Any]:
        """The inner select labelled k1, k2, wk, pid, v, for `_aggregate`."""
        query = core_select(
            (k1 if k1 is not None else literal(0)).label("k1"),
            (k2 if k2 is not None else literal(0)).label("k2"),
            _week_case(self.time, weeks).label("wk"),
            self.person.label("pid"),
            self.value.label("v"),
        )
        for table, on in (*self.joins, *extra):
            query = query.join(table, on)
        return query.where(
            self.person.in_(population), _in_range(self.time, weeks), *self.where, *where
        )


def _answered() -> Any:
    return case((col(Checkin.status) == CheckinStatus.ANSWERED, 1), else_=0)


CHECKINS = Source(
    "checkins",
    col(Checkin.opened_at),
    col(Checkin.person_id),
    _answered(),
    where=(col(Checkin.status).in_(CLOSED),),
)
MOODS = Source("moods", col(MoodEntry.recorded_at), col(MoodEntry.person_id), col(MoodEntry.score))
ALERTS = Source(
    "alerts",
    col(Alert.created_at),
    col(Alert.student_id),
    literal(1),
    where=(col(Alert.status) != AlertStatus.ERASED,),
)
ATTENDANCE = Source(
    "attendance",
    col(WorkshopSession.starts_at),
    col(Rsvp.person_id),
    case((col(Rsvp.attended).is_(True), 1), else_=0),
    where=(col(Rsvp.status) == RsvpStatus.GOING,),
    joins=((WorkshopSession, col(WorkshopSession.id) == col(Rsvp.session_id)),),
)
FEEDBACK = Source(
    "feedback",
    col(WorkshopFeedback.created_at),
    col(WorkshopFeedback.person_id),
    col(WorkshopFeedback.rating),
)
GOALS = Source(
    "goals",
    col(Goal.updated_at),
    col(Goal.person_id),
    literal(1),
    where=(col(Goal.status) == GoalStatus.DONE,),
)
PAIRING = Source(
    "pairing",
    col(PairingMember.answered_at),
    col(PairingMember.person_id),
    case((col(PairingMember.met).is_(True), 1), else_=0),
    where=(col(PairingMember.answered_at).is_not(None),),
)
MEETINGS = Source(
    "meetings",
    col(Meeting.starts_at),
    col(Meeting.student_id),
    case((col(Meeting.status) == MeetingStatus.HELD, 1), else_=0),
    # Only meetings whose outcome is known: held, or the student didn't come.
    where=(col(Meeting.status).in_((MeetingStatus.HELD, MeetingStatus.NO_SHOW)),),
)


# ---------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Table:
    """One table of figures: what CSV writes as a file, HTML as a <table>, chat as fields."""

    name: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class Trend:
    """A weekly series (None: no data or withheld) for a chart."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class AlertKindRow:
    """Alerts of one kind in released weeks, with time to acknowledge and outcomes."""

    kind: str
    count: int
    median_minutes: float | None
    p90_minutes: float | None
    outcomes: tuple[tuple[str, int], ...]


@dataclass
class Report:
    """Every figure of one report, already suppressed: safe to show to whoever asked."""

    scope: Scope
    weeks: tuple[Week, ...]
    minimum: int
    generated_at: datetime
    students: int
    response_weekly: tuple[float | None, ...] = ()
    response_total: float | None = None
    mood_weekly: tuple[float | None, ...] = ()
    mood_distribution: tuple[int, ...] | None = None
    group_moods: list[Trend] = field(default_factory=list)
    group_distributions: list[tuple[str, tuple[int, ...] | None]] = field(default_factory=list)
    attention_count: int = 0
    attention_names: tuple[str, ...] | None = None
    # Who the names are (for the audit log), never shown.
    attention_ids: tuple[int, ...] = ()
    alert_kinds: list[AlertKindRow] = field(default_factory=list)
    alert_weeks_withheld: int = 0
    overdue_follow_ups: int = 0
    workshop_going: int = 0
    workshop_attended: int = 0
    workshop_rating: float | None = None
    workshop_raters: int = 0
    goals_weekly: tuple[float | None, ...] = ()
    pairing_answers: int = 0
    pairing_met: int = 0
    meetings_known: int = 0  # held or the student didn't come
    meetings_held: int = 0
    # Week indices withheld per weekly table (too few students); other empty weeks had no data.
    withheld: dict[str, frozenset[int]] = field(default_factory=dict)

    def cell(self, table: str, week: int, value: float | None, shown: str) -> str:
        """A weekly table's cell: the value, WITHHELD, or "–" for a week without data."""
        if week in self.withheld.get(table, frozenset()):
            return _withheld()
        return "–" if value is None else shown

    @property
    def start(self) -> date:
        """The report's first day (a Monday)."""
        return self.weeks[0].start

    @property
    def end(self) -> date:
        """The report's last day (a Sunday)."""
        return self.weeks[-1].start + timedelta(days=6)

    @property
    def week_labels(self) -> tuple[str, ...]:
        """Every week's label, in order."""
        return tuple(w.label for w in self.weeks)

    def tables(self) -> list[Table]:
        """The figures as tables, in reading order (no free text anywhere)."""
        return report_tables(self)


def _withheld() -> str:
    return _(WITHHELD)


def _fixed(value: float, digits: int) -> str:
    """`value` with `digits` decimals, with the reader's decimal sign."""
    language = current_language()
    if language in (DEFAULT_LANGUAGE, PSEUDO_LANGUAGE):
        return f"{value:.{digits}f}"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(round(value, digits), format=pattern, locale=babel_locale(language))


def _pct(value: float | None) -> str:
    return _withheld() if value is None else _("{percent}%").format(percent=_fixed(value, 0))


def _num(value: float | None, digits: int = 1) -> str:
    return _withheld() if value is None else _fixed(value, digits)


def _minutes(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 120:
        return _("{minutes} min").format(minutes=_fixed(value, 0))
    return _("{hours} h").format(hours=_fixed(value / 60, 1))


# The tables whose rows are weeks (chat shows only their latest weeks).
WEEKLY_TABLES = frozenset({"response_rate", "mood_trend", "goals"})


def report_tables(report: Report) -> list[Table]:
    """See `Report.tables`: in the language being spoken (names and figures are data)."""
    labels = report.week_labels
    withheld = _("'{withheld}': fewer than {minimum} students behind the figure.").format(
        withheld=_withheld(), minimum=report.minimum
    )
    week, figure, value_head = _("Week"), _("Figure"), _("Value")
    everyone = _("All students in the report")
    tables = [
        Table(
            "response_rate",
            _("Check-in response rate"),
            (week, _("Answered")),
            (
                *(
                    (label, report.cell("response", i, value, _pct(value)))
                    for i, (label, value) in enumerate(
                        zip(labels, report.response_weekly, strict=True)
                    )
                ),
                (_("All weeks shown"), _pct(report.response_total)),
            ),
            withheld,
        ),
        Table(
            "mood_trend",
            _("Average mood (1-5) per week"),
            (week, everyone, *(t.name for t in report.group_moods)),
            tuple(
                (
                    label,
                    report.cell("mood", i, report.mood_weekly[i], _num(report.mood_weekly[i])),
                    *(
                        report.cell(f"mood:{t.name}", i, t.values[i], _num(t.values[i]))
                        for t in report.group_moods
                    ),
                )
                for i, label in enumerate(labels)
            ),
            withheld,
        ),
        Table(
            "mood_distribution",
            _("Moods logged, by score"),
            (_("Who"), "1", "2", "3", "4", "5"),
            tuple(
                (name, *(tuple(str(n) for n in dist) if dist is not None else (_withheld(),) * 5))
                for name, dist in [
                    (everyone, report.mood_distribution),
                    *report.group_distributions,
                ]
            ),
            withheld,
        ),
        Table(
            "attention",
            _("Students needing attention now"),
            (figure, value_head),
            (
                (_("Students"), str(report.attention_count)),
                *((_("Student"), name) for name in report.attention_names or ()),
            ),
            _(
                "An unresolved alert, an average mood at or below the alert threshold, or "
                "several missed check-ins in the last {days} days."
            ).format(days=ATTENTION_DAYS),
        ),
        Table(
            "alerts",
            _("Alerts by kind"),
            (
                _("Kind"),
                _("Alerts"),
                _("Median time to acknowledge"),
                _("90th percentile"),
                _("Outcomes"),
            ),
            tuple(
                (
                    _(row.kind),
                    str(row.count),
                    _minutes(row.median_minutes),
                    _minutes(row.p90_minutes),
                    "; ".join(f"{_(name)} {n}" for name, n in row.outcomes),
                )
                for row in report.alert_kinds
            ),
            ngettext(
                "Weeks with alerts about fewer than {minimum} students are left out "
                "({weeks} week(s)); times need {minimum} acknowledged alerts of a kind.",
                "Weeks with alerts about fewer than {minimum} students are left out "
                "({weeks} week(s)); times need {minimum} acknowledged alerts of a kind.",
                report.alert_weeks_withheld,
            ).format(minimum=report.minimum, weeks=report.alert_weeks_withheld),
        ),
        Table(
            "follow_ups",
            _("Overdue follow-ups"),
            (figure, value_head),
            ((_("Promised follow-ups past their reminder"), str(report.overdue_follow_ups)),),
        ),
        Table(
            "workshops",
            _("Workshops"),
            (figure, value_head),
            (
                (_("Places taken"), str(report.workshop_going)),
                (_("Attended"), str(report.workshop_attended)),
                (
                    _("Attendance"),
                    _pct(100 * report.workshop_attended / report.workshop_going)
                    if report.workshop_going
                    else "–",
                ),
                (_("Feedback ratings"), str(report.workshop_raters)),
                (
                    _("Average rating (1-5)"),
                    _num(report.workshop_rating) if report.workshop_raters else "–",
                ),
            ),
            withheld,
        ),
        Table(
            "goals",
            _("Goals completed"),
            (week, _("Completed")),
            tuple(
                (label, report.cell("goals", i, value, _fixed(value or 0, 0)))
                for i, (label, value) in enumerate(zip(labels, report.goals_weekly, strict=True))
            ),
            withheld,
        ),
        Table(
            "pairing",
            _("Peer-pairing meetups"),
            (figure, value_head),
            (
                (_("Answers to 'Did you meet?'"), str(report.pairing_answers)),
                (_("Said they met"), str(report.pairing_met)),
            ),
            withheld,
        ),
        Table(
            "meetings",
            _("Mentor meetings"),
            (figure, value_head),
            (
                (_("Meetings with a known outcome"), str(report.meetings_known)),
                (_("Held"), str(report.meetings_held)),
                (_("Student didn't come"), str(report.meetings_known - report.meetings_held)),
            ),
            withheld,
        ),
    ]
    return tables


class ReportBuilder:
    """Builds reports; parent scopes' cells are cached, so many mentors' digests share them."""

    def __init__(self, session: Session, settings: CoreSettings, now: datetime) -> None:
        """A builder reading through `session` with the programme's settings."""
        self.session = session
        self.settings = settings
        self.now = now
        self.minimum = settings.min_group_size
        self._cache: dict[tuple[str, Scope, tuple[Week, ...]], dict[int, Cell]] = {}

    # ------------------------------------------------------------------ cells

    def cells(self, source: Source, scope: Scope, weeks: tuple[Week, ...]) -> dict[int, Cell]:
        """A source's weekly cells for a scope (cached)."""
        key = (source.name, scope, weeks)
        if key not in self._cache:
            self._cache[key] = _collapse(
                _aggregate(self.session, source.select(scope.students(), weeks))
            )
        return self._cache[key]

    def released(self, source: Source, scope: Scope, weeks: tuple[Week, ...]) -> set[int]:
        """The weeks whose cell of `source` may be used for this scope."""
        own = self.cells(source, scope, weeks)
        parents = [self.cells(source, parent, weeks) for parent in scope.parents()]
        empty = Cell(0, 0, 0.0)
        return {
            week
            for week, cell in own.items()
            if release(
                cell.students,
                tuple(p.get(week, empty).students for p in parents),
                self.minimum,
            )
        }

    def weekly(
        self, source: Source, scope: Scope, weeks: tuple[Week, ...], ratio: bool
    ) -> tuple[tuple[float | None, ...], float | None, int, frozenset[int]]:
        """(per-week value, overall value, rows used, withheld weeks) of a released source.

        `ratio`: the value is sum/rows (a rate or a mean), else the sum.
        """
        own = self.cells(source, scope, weeks)
        ok = self.released(source, scope, weeks)
        values: list[float | None] = []
        rows = 0
        total = 0.0
        for week in weeks:
            cell = own.get(week.index)
            if week.index in ok and cell is not None:
                values.append(cell.total / cell.rows if ratio else cell.total)
                rows += cell.rows
                total += cell.total
            else:
                values.append(None if cell is not None or ratio else 0.0)
        overall = (total / rows if rows else None) if ratio else total
        withheld = frozenset(w for w in own if w not in ok and w >= 0)
        return tuple(values), overall, rows, withheld

    # ------------------------------------------------------------------ the report

    def build(
        self,
        scope: Scope,
        start: date,
        end: date,
        *,
        names: bool = False,
        per_group: bool = False,
    ) -> Report:
        """The report for a scope over whole weeks covering start..end (refused if unsafe).

        `names`: list the students needing attention by name (a mentor's own students).
        `per_group`: add each group's mood (the programme-wide staff report).
        """
        weeks = weeks_covering(start, end)
        size = check_scope(self.session, scope, self.minimum)
        report = Report(scope, weeks, self.minimum, self.now, size)
        rate, rate_total, _rows, w1 = self.weekly(CHECKINS, scope, weeks, ratio=True)
        report.response_weekly = tuple(None if v is None else 100 * v for v in rate)
        report.response_total = None if rate_total is None else 100 * rate_total
        report.mood_weekly, _overall, _rows, w2 = self.weekly(MOODS, scope, weeks, ratio=True)
        report.withheld.update(response=w1, mood=w2)
        report.mood_distribution = self.distribution(scope, weeks)
        if per_group:
            self.add_groups(report)
        self.add_attention(report, names)
        self.add_alerts(report)
        self.add_activities(report)
        return report

    def distribution(self, scope: Scope, weeks: tuple[Week, ...]) -> tuple[int, ...] | None:
        """Moods per score 1-5, summed over released weeks (None when none is released)."""
        ok = self.released(MOODS, scope, weeks)
        if not ok:
            return None
        cells = _aggregate(
            self.session, MOODS.select(scope.students(), weeks, k1=col(MoodEntry.score))
        )
        counts = [0] * 5
        for (score, _unused, week), cell in cells.items():
            if week in ok and 1 <= int(score) <= 5:
                counts[int(score) - 1] += cell.rows
        return tuple(counts)

    def add_groups(self, report: Report) -> None:
        """Each group's weekly mood and distribution, under the same release rules.

        Four queries for all groups at once (GROUP BY group), not four per group: the sizes,
        the (group, week) cells, the (group, score, week) counts and the programme's cells.
        """
        weeks = report.weeks
        everyone = Scope("All students")
        total = scope_size(self.session, everyone)
        students = everyone.students().subquery()
        sizes = dict(
            self.session.execute(
                core_select(col(GroupMember.group_id), func.count())
                .where(col(GroupMember.person_id).in_(core_select(students.c.id)))
                .group_by(col(GroupMember.group_id))
            ).all()
        )
        member = (GroupMember, col(GroupMember.person_id) == col(MoodEntry.person_id))
        population = everyone.students()
        cells = _aggregate(
            self.session,
            MOODS.select(population, weeks, k1=col(GroupMember.group_id), extra=(member,)),
        )
        scores = _aggregate(
            self.session,
            MOODS.select(
                population,
                weeks,
                k1=col(GroupMember.group_id),
                k2=col(MoodEntry.score),
                extra=(member,),
            ),
        )
        parent = self.cells(MOODS, everyone, weeks)
        empty = Cell(0, 0, 0.0)
        # Each group's cells and score counts, indexed once: scanning every group's cells for
        # each group cost O(groups x cells) in Python (seconds at 200 groups).
        by_group: dict[Any, dict[int, Cell]] = {}
        for (g, _unused, wk), cell in cells.items():
            by_group.setdefault(g, {})[wk] = cell
        scores_by_group: dict[Any, list[tuple[Any, int, Cell]]] = {}
        for (g, score, wk), cell in scores.items():
            scores_by_group.setdefault(g, []).append((score, wk, cell))
        groups = self.session.exec(select(Group.id, Group.name).order_by(col(Group.name))).all()
        for group_id, name in groups:
            size = int(sizes.get(group_id, 0))
            if size < self.minimum or not left_out_is_safe(total - size, self.minimum):
                report.withheld[f"mood:{name}"] = frozenset(w.index for w in weeks)
                report.group_moods.append(Trend(name, (None,) * len(weeks)))
                report.group_distributions.append((name, None))
                continue
            own = by_group.get(group_id, {})
            ok = {
                wk
                for wk, cell in own.items()
                if release(cell.students, (parent.get(wk, empty).students,), self.minimum)
            }
            values = tuple(
                own[w.index].total / own[w.index].rows if w.index in ok else None for w in weeks
            )
            report.withheld[f"mood:{name}"] = frozenset(w for w in own if w not in ok and w >= 0)
            report.group_moods.append(Trend(name, values))
            dist: tuple[int, ...] | None = None
            if ok:
                counts = [0] * 5
                for score, wk, cell in scores_by_group.get(group_id, ()):
                    if wk in ok and 1 <= int(score) <= 5:
                        counts[int(score) - 1] += cell.rows
                dist = tuple(counts)
            report.group_distributions.append((name, dist))

    def add_attention(self, report: Report, names: bool) -> None:
        """Students needing attention at the report's end (or now, if earlier)."""
        end = report.weeks[-1].begins + timedelta(weeks=1)
        report.attention_count = self.attention_count(report.scope, end)
        if names:
            report.attention_names, report.attention_ids = self.attention_of(report.scope, end)

    def _flagged(self, scope: Scope, end: datetime | date) -> Any:
        """Ids (`pid`) of the scope's students needing attention at `end` (or now)."""
        if not isinstance(end, datetime):
            end = datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC)
        at = min(self.now, end)
        since = at - timedelta(days=ATTENTION_DAYS)
        population = scope.students()
        rules = self.settings.escalation
        return union(
            select(col(Alert.student_id).label("pid")).where(
                col(Alert.student_id).in_(population), col(Alert.status).in_(UNRESOLVED)
            ),
            select(col(MoodEntry.person_id).label("pid"))
            .where(
                col(MoodEntry.person_id).in_(population),
                col(MoodEntry.recorded_at) >= since,
                col(MoodEntry.recorded_at) < at,
            )
            .group_by(col(MoodEntry.person_id))
            .having(sa_func.avg(MoodEntry.score) <= rules.low_mood_threshold),
            select(col(Checkin.person_id).label("pid"))
            .where(
                col(Checkin.person_id).in_(population),
                col(Checkin.status) == CheckinStatus.MISSED,
                col(Checkin.opened_at) >= since,
                col(Checkin.opened_at) < at,
            )
            .group_by(col(Checkin.person_id))
            .having(sa_func.count() >= rules.missed_checkins),
        ).subquery()

    def attention_count(self, scope: Scope, end: datetime | date) -> int:
        """How many of the scope's students need attention (a count: staff see only this)."""
        flagged = self._flagged(scope, end)
        return int(self.session.exec(select(func.count()).select_from(flagged)).one())

    def attention_of(
        self, scope: Scope, end: datetime | date
    ) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Names and ids of the scope's students needing attention (a mentor's own only)."""
        flagged = self._flagged(scope, end)
        rows = self.session.exec(
            select(Person.name, Person.id)
            .where(col(Person.id).in_(select(flagged.c.pid)))
            .order_by(col(Person.name))
        ).all()
        return tuple(name for name, _unused in rows), tuple(int(pid or 0) for _unused, pid in rows)

    def add_alerts(self, report: Report) -> None:
        """Alerts by kind in released weeks, with median and p90 time to acknowledge."""
        scope, weeks = report.scope, report.weeks
        ok = self.released(ALERTS, scope, weeks)
        own = self.cells(ALERTS, scope, weeks)
        report.alert_weeks_withheld = sum(1 for w in own if w not in ok and w >= 0)
        report.overdue_follow_ups = int(
            self.session.exec(
                select(func.count()).where(
                    col(Alert.student_id).in_(scope.students()),
                    col(Alert.status) == AlertStatus.FOLLOWING_UP,
                    col(Alert.follow_up_at)
                    <= self.now - timedelta(hours=self.settings.follow_up_reminder_hours),
                )
            ).one()
        )
        if not ok:
            return
        week = _week_case(col(Alert.created_at), weeks)
        outcome = func.coalesce(col(Alert.outcome), "open")
        by_kind = _aggregate(
            self.session,
            ALERTS.select(
                scope.students(),
                weeks,
                k1=col(Alert.kind),
                k2=outcome,
                where=(week.in_(sorted(ok)),),
            ),
        )
        counts: dict[str, int] = {}
        outcomes: dict[str, dict[str, int]] = {}
        for (kind, result, _unused), cell in by_kind.items():
            counts[kind] = counts.get(kind, 0) + cell.rows
            per = outcomes.setdefault(kind, {})
            per[result] = per.get(result, 0) + cell.rows
        times = dict(self._ack_percentiles(scope, weeks, ok))
        for kind in sorted(counts, key=lambda k: -counts[k]):
            median, p90 = times.get(kind, (None, None))
            report.alert_kinds.append(
                AlertKindRow(
                    KIND_LABELS.get(kind, kind),
                    counts[kind],
                    median,
                    p90,
                    tuple(
                        (OUTCOME_LABELS.get(name, name), n)
                        for name, n in sorted(outcomes[kind].items())
                    ),
                )
            )

    def _minutes_to_ack(self) -> Any:
        acked, created = col(Alert.acknowledged_at), col(Alert.created_at)
        if self.session.get_bind().dialect.name == "postgresql":
            return sa_func.extract("epoch", acked - created) / 60
        # SQLite keeps UTC text; julianday reads it as days.
        return (sa_func.julianday(acked) - sa_func.julianday(created)) * 1440

    def _ack_percentiles(
        self, scope: Scope, weeks: tuple[Week, ...], ok: set[int]
    ) -> Iterator[tuple[str, tuple[float | None, float | None]]]:
        """Per kind: median and p90 (linear interpolation, as percentile_cont) of minutes.

        Counts come first (GROUP BY kind); then one sorted stream picks the needed ranks.
        """
        week = _week_case(col(Alert.created_at), weeks)
        where = (
            col(Alert.student_id).in_(scope.students()),
            col(Alert.acknowledged_at).is_not(None),
            col(Alert.status) != AlertStatus.ERASED,
            _in_range(col(Alert.created_at), weeks),
            week.in_(sorted(ok)),
        )
        counts = dict(
            self.session.execute(
                select(col(Alert.kind), func.count()).where(*where).group_by(col(Alert.kind))
            ).all()
        )
        minutes = self._minutes_to_ack()
        stream = self.session.execute(
            select(col(Alert.kind), minutes).where(*where).order_by(col(Alert.kind), minutes),
            execution_options={"yield_per": 500},
        )
        wanted: dict[str, dict[int, float]] = {}
        ranks: dict[str, set[int]] = {}
        for kind, n in counts.items():
            ranks[kind] = set()
            for p in (0.5, 0.9):
                pos = p * (n - 1)
                ranks[kind] |= {int(pos), min(int(pos) + 1, n - 1)}
        position: dict[str, int] = {}
        for kind, value in stream:
            i = position.get(kind, 0)
            position[kind] = i + 1
            if i in ranks[kind]:
                wanted.setdefault(kind, {})[i] = float(value)
        for kind, n in counts.items():
            if n < self.minimum:
                yield kind, (None, None)
                continue
            got = wanted[kind]

            def at(p: float, got: dict[int, float] = got, n: int = int(n)) -> float:
                pos = p * (n - 1)
                low = int(pos)
                high = min(low + 1, n - 1)
                return got[low] + (got[high] - got[low]) * (pos - low)

            yield kind, (at(0.5), at(0.9))

    def add_activities(self, report: Report) -> None:
        """Workshops, goals and pairing, each from its own released weekly cells."""
        scope, weeks = report.scope, report.weeks
        _series, _overall, going, _held = self.weekly(ATTENDANCE, scope, weeks, ratio=True)
        _series, attended, _rows, _held = self.weekly(ATTENDANCE, scope, weeks, ratio=False)
        report.workshop_going, report.workshop_attended = going, int(attended or 0)
        _series, rating, raters, _held = self.weekly(FEEDBACK, scope, weeks, ratio=True)
        report.workshop_rating, report.workshop_raters = rating, raters
        report.goals_weekly, _overall, _rows, held = self.weekly(GOALS, scope, weeks, ratio=False)
        report.withheld["goals"] = held
        _series, met, answers, _held = self.weekly(PAIRING, scope, weeks, ratio=False)
        report.pairing_answers, report.pairing_met = answers, int(met or 0)
        _series, held_meetings, known, _held = self.weekly(MEETINGS, scope, weeks, ratio=False)
        report.meetings_known, report.meetings_held = known, int(held_meetings or 0)


def default_range(today: date, weeks: int = 8) -> tuple[date, date]:
    """The last `weeks` complete weeks before `today`'s week."""
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(weeks=weeks), this_monday - timedelta(days=1)
