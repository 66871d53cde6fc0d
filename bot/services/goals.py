"""Goals: add, list, progress, complete, drop; with milestones and what nudges need."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from bot.args import record_id, small_number
from bot.auth import require_owner
from bot.errors import UserError
from bot.i18n import DEFAULT_LANGUAGE, _, current_language
from bot.i18n.dates import DATE, local_format
from bot.localtime import parse_date
from bot.model import Field, Message
from storage.enums import GoalStatus
from storage.tables import Goal, GoalUpdate, Milestone, Person

NUDGE_INTERVAL = timedelta(days=7)
MAX_OPEN_GOALS = 20


def open_goals(session: Session, person: Person) -> Sequence[Goal]:
    """The person's open goals, oldest first."""
    return session.exec(
        select(Goal)
        .where(Goal.person_id == person.id, Goal.status == GoalStatus.OPEN)
        .order_by(col(Goal.created_at))
    ).all()


def own_goal(session: Session, person: Person, raw_id: str) -> Goal:
    """One of the person's goals by id (as typed), or a friendly UserError."""
    goal_id = record_id(raw_id)
    goal = session.get(Goal, goal_id) if goal_id is not None else None
    missing = _("I can't find your goal '{id}'. See your goals with /goal list.").format(id=raw_id)
    if goal is None:
        raise UserError(missing)
    # Someone else's goal reads as missing too: a refusal must not confirm that it exists.
    require_owner(person, goal.person_id, missing)
    return goal


def add_goal(
    session: Session, person: Person, title: str, due: str | None, now: datetime, today: date
) -> Goal:
    """Create a goal; the first nudge is due a week from now."""
    title = " ".join(title.split())
    if not title:
        raise UserError(
            _("A goal needs a title, for example: /goal add Finish my essay by 2026-12-01")
        )
    if len(title) > 200:
        raise UserError(_("Please keep a goal title under 200 characters."))
    due_date = parse_date(due) if due else None
    if due_date is not None and due_date < today:
        raise UserError(_("That due date has already passed. Pick a date from today on."))
    if len(open_goals(session, person)) >= MAX_OPEN_GOALS:
        raise UserError(
            _("You have {n} open goals already: finish or drop one first.").format(n=MAX_OPEN_GOALS)
        )
    assert person.id is not None
    goal = Goal(
        person_id=person.id,
        title=title,
        due_date=due_date,
        created_at=now,
        updated_at=now,
        next_nudge_at=now + NUDGE_INTERVAL,
    )
    session.add(goal)
    session.flush()
    return goal


def parse_add(text: str) -> tuple[str, str | None]:
    """Split 'Finish essay by 2026-12-01' into title and due date."""
    words = text.strip().split()
    if len(words) >= 2 and words[-2].lower() in ("by", "due") and words[-1][:1].isdigit():
        return " ".join(words[:-2]), words[-1]
    return text.strip(), None


def set_progress(
    session: Session,
    person: Person,
    raw_id: str,
    raw_progress: str,
    now: datetime,
    note: str | None = None,
) -> Goal:
    """Set a goal's progress 0-100; 100 completes it."""
    goal = own_goal(session, person, raw_id)
    if goal.status != GoalStatus.OPEN:
        raise UserError(_already(goal))
    value = raw_progress.strip().rstrip("%")
    progress = small_number(value, 100)
    if progress is None:
        raise UserError(_("Progress is a number from 0 to 100, for example: /goal progress 3 50"))
    goal.progress = progress
    goal.updated_at = now
    goal.last_progress_at = now
    goal.next_nudge_at = now + NUDGE_INTERVAL
    goal.stuck_alerted_at = None
    if goal.progress == 100:
        goal.status = GoalStatus.DONE
        goal.next_nudge_at = None
    assert goal.id is not None
    session.add(GoalUpdate(goal_id=goal.id, progress=goal.progress, note=note, created_at=now))
    session.add(goal)
    return goal


def _already(goal: Goal) -> str:
    """Why a goal that is done or dropped can't change, in the language being spoken."""
    if goal.status == GoalStatus.DONE:
        return _('"{title}" is already done.').format(title=goal.title)
    if goal.status == GoalStatus.DROPPED:
        return _('"{title}" is already dropped.').format(title=goal.title)
    return f'"{goal.title}" is already {goal.status}.'


def complete(session: Session, person: Person, raw_id: str, now: datetime) -> Goal:
    """Mark a goal done."""
    return set_progress(session, person, raw_id, "100", now)


def drop(session: Session, person: Person, raw_id: str, now: datetime) -> Goal:
    """Drop a goal: no more nudges."""
    goal = own_goal(session, person, raw_id)
    if goal.status != GoalStatus.OPEN:
        raise UserError(_already(goal))
    goal.status = GoalStatus.DROPPED
    goal.updated_at = now
    goal.next_nudge_at = None
    session.add(goal)
    return goal


def add_milestone(session: Session, person: Person, raw_id: str, title: str) -> Milestone:
    """Add a step to a goal."""
    goal = own_goal(session, person, raw_id)
    title = " ".join(title.split())
    if not title:
        raise UserError(_("A milestone needs a title: /goal milestone 3 Write the outline"))
    assert goal.id is not None
    milestone = Milestone(goal_id=goal.id, title=title[:200])
    session.add(milestone)
    session.flush()
    return milestone


def milestone_done(
    session: Session, person: Person, raw_id: str, raw_milestone: str, now: datetime
) -> Goal:
    """Tick off a milestone; progress follows the share of milestones done."""
    goal = own_goal(session, person, raw_id)
    milestones = session.exec(select(Milestone).where(Milestone.goal_id == goal.id)).all()
    number = small_number(raw_milestone) or 0
    target = milestones[number - 1] if 1 <= number <= len(milestones) else None
    if target is None:
        raise UserError(_("I can't find that milestone. Numbers are shown by /goal list."))
    target.done_at = target.done_at or now
    session.add(target)
    done = sum(1 for m in milestones if m.done_at is not None)
    return set_progress(session, person, raw_id, str(round(100 * done / len(milestones))), now)


def stale_since(goal: Goal) -> datetime:
    """When the goal last moved (or was created)."""
    return goal.last_progress_at or goal.created_at


def _due_date(day: date) -> str:
    """A due date: as typed in English (2026-12-01), the reader's own way otherwise."""
    if current_language() == DEFAULT_LANGUAGE:
        return day.isoformat()
    return local_format(day, DATE)


def render_goals(session: Session, person: Person) -> Message:
    """The person's open goals with progress bars and milestones."""
    goals = open_goals(session, person)
    if not goals:
        return Message(
            text=_("You have no open goals. Add one with /goal add TITLE [by YYYY-MM-DD]")
        )
    fields = []
    for goal in goals:
        filled = goal.progress // 10
        bar = "█" * filled + "░" * (10 - filled)
        progress = (
            _("{bar} {progress}%, due {date}").format(
                bar=bar, progress=goal.progress, date=_due_date(goal.due_date)
            )
            if goal.due_date
            else f"{bar} {goal.progress}%"
        )
        milestones = session.exec(select(Milestone).where(Milestone.goal_id == goal.id)).all()
        steps = "".join(
            f"\n  {i}. {'☑' if m.done_at else '☐'} {m.title}" for i, m in enumerate(milestones, 1)
        )
        fields.append(Field(f"#{goal.id} {goal.title}", f"{progress}{steps}"))
    return Message(title=_("Your goals"), text=_("Your open goals:"), fields=tuple(fields))
