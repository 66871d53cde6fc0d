"""Goal nudges and the "stuck" signal.

Every open goal gets a nudge every `goal_nudge_days` (a week), at the student's check-in time
(the local time of the earliest schedule that applies to them), plus one "due soon" nudge
`goal_due_soon_days` before its due date. `Goal.next_nudge_at` holds the next weekly nudge;
when it comes due at some other time of day (goals.py sets it a week after the goal was
created), it is first moved to the next check-in time. A goal without progress for
`goal_stuck_weeks` raises a "stuck" alert for the mentor, once until progress is made again.
Paused students and programme breaks get no nudges and raise no stuck alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import _, ngettext
from bot.localtime import to_local, zone
from bot.model import Message
from bot.outbox import Push, push_rows
from bot.people import STUDENT
from bot.services.alerts import first_responder, raise_alert
from bot.services.breaks import away_reason, breaks_around
from bot.services.language import speaking_to
from bot.services.occurrences import identities_of, local_instant
from bot.services.schedules import active_schedules, applies_to, parse_local_time
from bot.services.settings import window_of
from storage.enums import AlertKind, GoalStatus, OutboxKind
from storage.tables import (
    CheckinSchedule,
    Goal,
    Group,
    GroupMember,
    Person,
    ProgrammeBreak,
    StudentSettings,
)


@dataclass
class NudgeOutcome:
    """What one nudge pass did."""

    weekly: int = 0
    due_soon: int = 0
    skipped_away: int = 0
    rescheduled: int = 0

    @property
    def queued(self) -> bool:
        """True when nudges went to the outbox."""
        return self.weekly + self.due_soon > 0

    def lines(self) -> list[str]:
        """Log lines for the counts that are not zero."""
        return [f"goal nudges: {self.weekly + self.due_soon}"] if self.queued else []


def next_at_local_time(after: datetime, tz: str, at: time) -> datetime:
    """The first instant at or after `after` whose local wall time is `at` (DST-safe)."""
    local_date = to_local(after, tz).date()
    candidate = local_instant(local_date, at, zone(tz))
    if candidate < after:
        candidate = local_instant(local_date + timedelta(days=1), at, zone(tz))
    return candidate


def nudge_times(
    session: Session, settings: CoreSettings, people: Sequence[Person]
) -> dict[int, time]:
    """Each student's check-in time: the earliest local time of the schedules that apply.

    A schedule whose window holds the student's own time (`/settings checkin`) counts at
    that time, as the check-in itself does: a nudge lands beside the check-in it goes with.
    """
    default = parse_local_time(settings.scheduling.default_nudge_time)
    schedules: Sequence[CheckinSchedule] = active_schedules(session)
    ids = [p.id for p in people if p.id is not None]
    groups: dict[int, list[str]] = defaultdict(list)
    if ids and any(s.target == "group" for s in schedules):
        for person_id, name in session.exec(
            select(GroupMember.person_id, Group.name)
            .join(Group, col(Group.id) == GroupMember.group_id)
            .where(col(GroupMember.person_id).in_(ids))
        ).all():
            groups[person_id].append(name)
    own: dict[int, time] = {}
    if ids:
        for person_id, chosen in session.exec(
            select(StudentSettings.person_id, StudentSettings.checkin_time).where(
                col(StudentSettings.person_id).in_(ids),
                col(StudentSettings.checkin_time).is_not(None),
            )
        ).all():
            if chosen is not None:
                own[person_id] = parse_local_time(chosen)
    times: dict[int, time] = {}
    for person in people:
        assert person.id is not None
        applicable = [
            _time_for(s, settings, own.get(person.id))
            for s in schedules
            if applies_to(s, person, groups.get(person.id, ()))
        ]
        times[person.id] = min(applicable) if applicable else default
    return times


def _time_for(schedule: CheckinSchedule, settings: CoreSettings, own: time | None) -> time:
    """The schedule's local time, or the student's own time when its window holds it."""
    if own is not None:
        window = window_of(schedule, settings)
        if window is not None and window.holds(own.strftime("%H:%M")):
            return own
    return parse_local_time(schedule.local_time)


def _zone_of(person: Person, default_tz: str) -> str:
    name = person.timezone or default_tz
    try:
        zone(name)
    except UserError:
        return default_tz
    return name


def send_goal_nudges(session: Session, settings: CoreSettings, now: datetime) -> NudgeOutcome:
    """Queue the weekly and due-soon nudges that are due, and plan each goal's next one."""
    rules = settings.scheduling
    outcome = NudgeOutcome()
    utc_today = now.date()
    # Coarse in SQL (any zone on earth), exact per student below.
    due_soon_horizon = utc_today + timedelta(days=rules.goal_due_soon_days + 1)
    rows = session.exec(
        select(Goal, Person)
        .join(Person, col(Person.id) == Goal.person_id)
        .where(
            col(Goal.status) == GoalStatus.OPEN,
            col(Person.role) == STUDENT,
            col(Person.active) == True,  # noqa: E712
            col(Person.deleted_at).is_(None),
            or_(
                and_(col(Goal.next_nudge_at).is_not(None), col(Goal.next_nudge_at) <= now),
                and_(
                    col(Goal.due_date).is_not(None),
                    col(Goal.due_nudged_at).is_(None),
                    col(Goal.due_date) <= due_soon_horizon,
                    col(Goal.due_date) >= utc_today - timedelta(days=1),
                ),
            ),
        )
        .order_by(col(Goal.id))
    ).all()
    if not rows:
        return outcome
    people = list({p.id: p for _goal, p in rows}.values())
    times = nudge_times(session, settings, people)
    breaks = breaks_around(session, utc_today - timedelta(days=1), utc_today + timedelta(days=1))
    pushes: list[Push] = []
    for goal, person in rows:
        assert goal.id is not None and person.id is not None
        push = _plan_goal(settings, now, goal, person, times[person.id], breaks, outcome)
        if push is not None:
            pushes.append(push)
        session.add(goal)
    if pushes:
        identities = identities_of(session, [p.id for p in people if p.id is not None])
        push_rows(session, pushes, now, settings.default_timezone, identities)  # type: ignore[arg-type]
    return outcome


def _plan_goal(
    settings: CoreSettings,
    now: datetime,
    goal: Goal,
    person: Person,
    at: time,
    breaks: Sequence[ProgrammeBreak],
    outcome: NudgeOutcome,
) -> Push | None:
    """Decide one goal's nudge now (if any) and set its next weekly nudge."""
    rules = settings.scheduling
    tz = _zone_of(person, settings.default_timezone)
    local_today = to_local(now, tz).date()
    away = away_reason(person, local_today, breaks) is not None
    push: Push | None = None
    if goal.due_date is not None and goal.due_nudged_at is None:
        soon_day = goal.due_date - timedelta(days=rules.goal_due_soon_days)
        soon_at = local_instant(soon_day, at, zone(tz))
        if soon_at <= now:
            if soon_at < goal.created_at or local_today > goal.due_date or away:
                # Created inside the window, already overdue, or away: no due-soon nudge.
                goal.due_nudged_at = now
            else:
                goal.due_nudged_at = now
                outcome.due_soon += 1
                push = _nudge_push(settings, goal, person, local_today, due_soon=True)
    if goal.next_nudge_at is not None and goal.next_nudge_at <= now:
        aligned = next_at_local_time(goal.next_nudge_at, tz, at)
        if aligned > now:
            # Due at another time of day: wait for the student's check-in time.
            goal.next_nudge_at = aligned
            outcome.rescheduled += 1
        else:
            goal.next_nudge_at = local_instant(
                local_today + timedelta(days=rules.goal_nudge_days), at, zone(tz)
            )
            if away:
                outcome.skipped_away += 1
            elif push is None:
                outcome.weekly += 1
                push = _nudge_push(settings, goal, person, local_today, due_soon=False)
    return push


def _nudge_push(
    settings: CoreSettings, goal: Goal, person: Person, local_today: date, *, due_soon: bool
) -> Push:
    """A goal nudge for the student, in the student's language."""
    with speaking_to(person, settings):
        return _nudge_push_here(goal, person, local_today, due_soon=due_soon)


def _nudge_push_here(goal: Goal, person: Person, local_today: date, *, due_soon: bool) -> Push:
    assert goal.id is not None
    if due_soon and goal.due_date is not None:
        days = (goal.due_date - local_today).days
        values = {
            "title": goal.title,
            "date": goal.due_date.isoformat(),
            "progress": goal.progress,
            "id": goal.id,
            "days": days,
        }
        if days == 0:
            template = _(
                'Your goal "{title}" is due today ({date}) and is at {progress}%. '
                "Update it with /goal progress {id} N, or /goal done {id}."
            )
        elif days == 1:
            template = _(
                'Your goal "{title}" is due tomorrow ({date}) and is at {progress}%. '
                "Update it with /goal progress {id} N, or /goal done {id}."
            )
        else:
            template = ngettext(
                'Your goal "{title}" is due in {days} day ({date}) and is at {progress}%. '
                "Update it with /goal progress {id} N, or /goal done {id}.",
                'Your goal "{title}" is due in {days} days ({date}) and is at {progress}%. '
                "Update it with /goal progress {id} N, or /goal done {id}.",
                days,
            )
        text = template.format(**values)
        key = f"goal-due:{goal.id}:{goal.due_date.isoformat()}"
    else:
        text = _(
            'How is your goal "{title}" going? It\'s at {progress}%. '
            "Update it with /goal progress {id} N (0-100), or /goal done {id}."
        ).format(title=goal.title, progress=goal.progress, id=goal.id)
        key = f"goal-nudge:{goal.id}:{local_today.isoformat()}"
    return Push(
        dedupe_key=key,
        message=Message(title=_("Goal nudge"), text=text),
        person=person,
        kind=OutboxKind.NUDGE,
    )


def flag_stuck_goals(session: Session, settings: CoreSettings, now: datetime) -> int:
    """Raise a "stuck" alert for each goal without progress for the configured weeks.

    Returns how many alerts were raised (repeats for the same student fold into one).
    """
    weeks = settings.scheduling.goal_stuck_weeks
    threshold = now - timedelta(weeks=weeks)
    rows = session.exec(
        select(Goal, Person)
        .join(Person, col(Person.id) == Goal.person_id)
        .where(
            col(Goal.status) == GoalStatus.OPEN,
            col(Goal.stuck_alerted_at).is_(None),
            func.coalesce(col(Goal.last_progress_at), col(Goal.created_at)) <= threshold,
            col(Person.role) == STUDENT,
            col(Person.active) == True,  # noqa: E712
            col(Person.deleted_at).is_(None),
        )
        .order_by(col(Goal.id))
    ).all()
    if not rows:
        return 0
    breaks = breaks_around(session, now.date() - timedelta(days=1), now.date() + timedelta(days=1))
    raised = 0
    for goal, person in rows:
        local_today = to_local(now, _zone_of(person, settings.default_timezone)).date()
        if away_reason(person, local_today, breaks) is not None:
            continue  # asked again once they are back
        # Claim the goal first, so two schedulers racing on PostgreSQL raise one alert.
        claimed = session.execute(
            update(Goal)
            .where(col(Goal.id) == goal.id, col(Goal.stuck_alerted_at).is_(None))
            .values(stuck_alerted_at=now)
            .returning(col(Goal.id))
            .execution_options(synchronize_session=False)
        ).first()
        if claimed is None:
            continue
        since = (goal.last_progress_at or goal.created_at).date().isoformat()
        # The reason is stored as written and shown to the mentor: in the mentor's language
        # (the programme's default when the admins are told instead).
        assert person.id is not None
        with speaking_to(first_responder(session, person.id), settings):
            # English keeps "(1+ weeks)": both English forms are the same words.
            reason = ngettext(
                'No progress on the goal "{title}" since {since} ({weeks}+ weeks); '
                "it is at {progress}%",
                'No progress on the goal "{title}" since {since} ({weeks}+ weeks); '
                "it is at {progress}%",
                weeks,
            ).format(title=goal.title, since=since, weeks=weeks, progress=goal.progress)
        alert = raise_alert(session, settings, now, person, AlertKind.STUCK, reason)
        raised += alert is not None
    return raised
