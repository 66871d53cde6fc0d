"""Check-in schedules: what admins type, validated, and the rule each stored schedule means.

A schedule says who (everyone, a group, one person), which days (cron-style day-of-week and/or
every N days from its start date), the local time of day, the questions, the reminder delay and
an optional end date. Times are wall-clock times in each student's own zone (or in the zone the
schedule is pinned to); `bot.services.occurrences` turns them into instants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import Session, col, select

from bot.args import record_id, small_number
from bot.errors import UserError
from bot.i18n import DEFAULT_LANGUAGE, N_, _, speaking
from bot.localtime import parse_hhmm, zone
from bot.people import STUDENT, person_by_email
from storage.tables import CheckinSchedule, Group, Person

TARGET_ALL, TARGET_GROUP, TARGET_PERSON = "all", "group", "person"
QUESTIONS = ("mood", "note", "goal")
# Index = date.weekday(): Monday is 0, as in Python (cron numbers are converted below).
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_REMINDER_MINUTES = 24 * 60
MAX_EVERY_N_DAYS = 366
EVERY_DAY = frozenset(range(7))

_FULL_NAMES = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
_HHMM = re.compile(r"^\d{1,2}:\d{2}$")


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token in DAY_NAMES:
        return DAY_NAMES.index(token)
    if token in _FULL_NAMES:
        return _FULL_NAMES[token]
    number = small_number(token, 7)
    if number is not None:
        # Cron numbering: 0 and 7 are Sunday, 1 is Monday.
        return (number - 1) % 7
    raise UserError(
        _(
            "'{token}' isn't a day. Use mon, tue, wed, thu, fri, sat, sun, ranges like mon-fri, "
            "lists like mon,wed,fri, or * for every day."
        ).format(token=token)
    )


def parse_days(spec: str) -> frozenset[int]:
    """A cron-style day-of-week field as weekday numbers (Monday = 0).

    Accepts names (mon..sun), ranges (mon-fri; fri-mon wraps over the weekend), lists
    (mon,wed,fri), cron numbers (1 = Monday, 0 or 7 = Sunday) and `*` / `daily` for every day.
    """
    text = spec.strip().lower().replace(" ", "")
    if text in ("*", "daily", "everyday", "all"):
        return EVERY_DAY
    if text in ("weekdays",):
        return frozenset(range(5))
    if text in ("weekends",):
        return frozenset((5, 6))
    days: set[int] = set()
    for part in text.split(","):
        if not part:
            raise UserError(
                _("'{days}' has an empty day in it. Use e.g. mon,wed,fri.").format(days=spec)
            )
        if "-" in part:
            first_raw, _sep, last_raw = part.partition("-")
            first, last = _day_number(first_raw), _day_number(last_raw)
            span = (last - first) % 7
            days.update((first + i) % 7 for i in range(span + 1))
        else:
            days.add(_day_number(part))
    return frozenset(days)


def format_days(days: Iterable[int]) -> str:
    """The canonical text of a day set: `*`, a single range like `mon-fri`, or a list."""
    ordered = sorted(set(days))
    if len(ordered) == 7:
        return "*"
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_NAMES[ordered[0]]}-{DAY_NAMES[ordered[-1]]}"
    return ",".join(DAY_NAMES[d] for d in ordered)


def parse_local_time(value: str) -> time:
    """A local time of day HH:MM; impossible times (24:00, 09:60, 9am) are a UserError."""
    text = value.strip()
    if not _HHMM.match(text):
        raise UserError(
            _("'{value}' isn't a time of day. Use HH:MM on a 24-hour clock, e.g. 09:00.").format(
                value=value
            )
        )
    return parse_hhmm(text)


def parse_questions(value: str) -> str:
    """Validate a comma-separated question list; the mood question always comes first."""
    wanted = [q.strip().lower() for q in value.split(",") if q.strip()]
    unknown = [q for q in wanted if q not in QUESTIONS]
    if unknown:
        raise UserError(
            _("Unknown question(s): {unknown}. Choose from {questions}.").format(
                unknown=", ".join(unknown), questions=", ".join(QUESTIONS)
            )
        )
    if "mood" not in wanted:
        # The check-in conversation starts with the mood buttons; without them it cannot open.
        raise UserError(_("A check-in always asks the mood question: include 'mood'."))
    return ",".join(q for q in QUESTIONS if q in wanted)


@dataclass(frozen=True)
class ScheduleRule:
    """The date rule of a schedule, parsed once: on which local dates, at which local time."""

    days: frozenset[int]
    local_time: time
    every_n_days: int | None = None
    start_date: date | None = None
    end_date: date | None = None

    @classmethod
    def of(cls, schedule: CheckinSchedule) -> ScheduleRule:
        """The rule of a stored schedule."""
        return cls(
            days=parse_days(schedule.days),
            local_time=parse_local_time(schedule.local_time),
            every_n_days=schedule.every_n_days,
            start_date=schedule.start_date,
            end_date=schedule.end_date,
        )

    def occurs_on(self, local_date: date) -> bool:
        """True when the schedule fires on this local date."""
        if self.start_date is not None and local_date < self.start_date:
            return False
        if self.end_date is not None and local_date > self.end_date:
            return False
        if local_date.weekday() not in self.days:
            return False
        if self.every_n_days and self.every_n_days > 1:
            # Counted from the start date (always set when every_n_days is, see add_schedule).
            anchor = self.start_date or local_date
            return (local_date - anchor).days % self.every_n_days == 0
        return True


@dataclass(frozen=True)
class ScheduleSpec:
    """What an admin asked for, before validation."""

    name: str
    days: str = "mon-fri"
    local_time: str = "09:00"
    group: str | None = None
    person: str | None = None
    every_n_days: int | None = None
    reminder_minutes: int = 120
    questions: str = "mood,note,goal"
    start: str | None = None
    end: str | None = None
    timezone: str | None = None


_NOT_A_DATE = {
    "start date": N_("The start date '{value}' isn't a date. Use YYYY-MM-DD, e.g. 2027-06-30."),
    "end date": N_("The end date '{value}' isn't a date. Use YYYY-MM-DD, e.g. 2027-06-30."),
}


def _parse_iso_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UserError(_(_NOT_A_DATE[what]).format(value=value)) from exc


def add_schedule(
    session: Session, spec: ScheduleSpec, now: datetime, today: date
) -> CheckinSchedule:
    """Validate `spec` completely and store it; on any problem raise UserError, store nothing.

    `today` is the programme's local date, against which end dates are checked.
    """
    name = " ".join(spec.name.split())
    if not name:
        raise UserError(_('A schedule needs a name, e.g. --name "Weekday check-in".'))
    if len(name) > 100:
        raise UserError(_("Please keep a schedule name under 100 characters."))
    days = parse_days(spec.days)
    local_time = parse_local_time(spec.local_time)
    questions = parse_questions(spec.questions)
    if not 0 <= spec.reminder_minutes <= MAX_REMINDER_MINUTES:
        raise UserError(
            _("The reminder delay is in minutes from 0 (no reminder) to {max}.").format(
                max=MAX_REMINDER_MINUTES
            )
        )
    every = spec.every_n_days
    if every is not None and not 1 <= every <= MAX_EVERY_N_DAYS:
        raise UserError(
            _("--every-n-days must be between 1 and {max}.").format(max=MAX_EVERY_N_DAYS)
        )
    pinned_zone: str | None = None
    if spec.timezone:
        zone(spec.timezone)  # raises a UserError naming the unknown zone
        pinned_zone = spec.timezone
    start = _parse_iso_date(spec.start, "start date") if spec.start else None
    end = _parse_iso_date(spec.end, "end date") if spec.end else None
    if end is not None and end < today:
        raise UserError(
            _("The end date {date} is in the past. Pick a date from today on.").format(
                date=end.isoformat()
            )
        )
    if start is not None and end is not None and end < start:
        raise UserError(_("The end date is before the start date."))
    if every is not None and every > 1 and start is None:
        # "Every N days" needs a first day to count from; today is what admins expect.
        start = today
    target, target_ref = _target(session, spec)
    schedule = CheckinSchedule(
        name=name,
        target=target,
        target_ref=target_ref,
        days=format_days(days),
        every_n_days=every,
        local_time=local_time.strftime("%H:%M"),
        questions=questions,
        reminder_delay_minutes=spec.reminder_minutes,
        start_date=start,
        end_date=end,
        timezone=pinned_zone,
        active=True,
        created_at=now,
    )
    session.add(schedule)
    session.flush()
    return schedule


def _target(session: Session, spec: ScheduleSpec) -> tuple[str, str | None]:
    if spec.group and spec.person:
        raise UserError(_("A schedule is for everyone, one group or one person: not both."))
    if spec.group:
        group = session.exec(select(Group).where(Group.name == spec.group.strip())).first()
        if group is None:
            raise UserError(_("There is no group called '{name}'.").format(name=spec.group.strip()))
        return TARGET_GROUP, group.name
    if spec.person:
        person = person_by_email(session, spec.person)
        if person is None or person.role != STUDENT:
            raise UserError(
                _("There is no enrolled student with the email '{email}'.").format(
                    email=spec.person.strip()
                )
            )
        return TARGET_PERSON, person.email
    return TARGET_ALL, None


def list_schedules(
    session: Session, *, include_inactive: bool = False
) -> Sequence[CheckinSchedule]:
    """Stored schedules in creation order (active ones only unless asked)."""
    query = select(CheckinSchedule).order_by(col(CheckinSchedule.id))
    if not include_inactive:
        query = query.where(CheckinSchedule.active == True)  # noqa: E712
    return session.exec(query).all()


def active_schedules(session: Session) -> Sequence[CheckinSchedule]:
    """The schedules the scheduler works on."""
    return list_schedules(session)


def remove_schedule(session: Session, raw_id: str | int) -> CheckinSchedule:
    """Switch a schedule off (kept, because past check-ins refer to it)."""
    schedule_id = record_id(raw_id)
    schedule = session.get(CheckinSchedule, schedule_id) if schedule_id is not None else None
    if schedule is None or not schedule.active:
        raise UserError(
            _("There is no active schedule #{id}.").format(id=str(raw_id).strip().lstrip("#"))
        )
    schedule.active = False
    session.add(schedule)
    return schedule


def describe(schedule: CheckinSchedule) -> str:
    """One line an admin can read."""
    who = {
        TARGET_ALL: _("everyone"),
        TARGET_GROUP: _("group {name}").format(name=schedule.target_ref),
        TARGET_PERSON: f"{schedule.target_ref}",
    }.get(schedule.target, schedule.target)
    # The days as the admin typed them (mon-fri): the words the command takes.
    days = _("every day") if schedule.days == "*" else schedule.days
    if schedule.every_n_days and schedule.every_n_days > 1:
        start = schedule.start_date.isoformat() if schedule.start_date else _("the start")
        days = _("every {n} days from {start} ({days})").format(
            n=schedule.every_n_days, start=start, days=days
        )
    where = (
        _("{zone} time").format(zone=schedule.timezone)
        if schedule.timezone
        else _("each student's local time")
    )
    parts = [
        _("#{id} {name}: {days} at {time} {where}, for {who}").format(
            id=schedule.id,
            name=schedule.name,
            days=days,
            time=schedule.local_time,
            where=where,
            who=who,
        ),
        _("questions {questions}").format(questions=schedule.questions),
        _("reminder after {n} min").format(n=schedule.reminder_delay_minutes)
        if schedule.reminder_delay_minutes
        else _("no reminder"),
    ]
    if schedule.start_date and not schedule.every_n_days:
        parts.append(_("from {date}").format(date=schedule.start_date.isoformat()))
    if schedule.end_date:
        parts.append(_("until {date}").format(date=schedule.end_date.isoformat()))
    if not schedule.active:
        parts.append(_("(removed)"))
    return ", ".join(parts)


def applies_to(schedule: CheckinSchedule, person: Person, group_names: Iterable[str]) -> bool:
    """True when the schedule targets this student (given the names of their groups)."""
    if schedule.target == TARGET_ALL:
        return True
    if schedule.target == TARGET_GROUP:
        return schedule.target_ref in set(group_names)
    if schedule.target == TARGET_PERSON:
        return schedule.target_ref == person.email
    return False


def parse_chat_add(words: Sequence[str]) -> ScheduleSpec:
    """`/schedule add DAYS HH:MM [group NAME | person EMAIL] [until YYYY-MM-DD]` as a spec."""
    if len(words) < 2:
        raise UserError(
            _(
                "Use /schedule add DAYS HH:MM [group NAME | person EMAIL] [until YYYY-MM-DD], "
                "e.g. /schedule add mon-fri 09:00 group Study skills"
            )
        )
    days, at = words[0], words[1]
    rest = list(words[2:])
    group: str | None = None
    person: str | None = None
    end: str | None = None
    if len(rest) >= 2 and rest[-2].lower() == "until":
        end = rest[-1]
        rest = rest[:-2]
    if rest:
        keyword = rest[0].lower()
        value = " ".join(rest[1:]).strip()
        if keyword == "group" and value:
            group = value
        elif keyword == "person" and value:
            person = value
        else:
            raise UserError(_("After the time, write 'group NAME' or 'person EMAIL' (or nothing)."))
    target = f" ({group or person})" if group or person else ""
    return ScheduleSpec(
        name=f"Check-in {days} {at}{target}"[:100],
        days=days,
        local_time=at,
        group=group,
        person=person,
        end=end,
    )


CHAT_USAGE = N_(
    "Use /schedule list, /schedule add DAYS HH:MM [group NAME | person EMAIL] "
    "[until YYYY-MM-DD] (e.g. /schedule add mon-fri 09:00 group Study skills), "
    "or /schedule remove ID."
)


def run_chat_command(
    session: Session, words: Sequence[str], now: datetime, today: date, actor_id: int | None
) -> str:
    """The admin chat command `/schedule ...`; returns the answer text (audited changes)."""
    from bot.audit import audit

    sub = words[0].lower() if words else "list"
    if sub == "list":
        rows = list_schedules(session)
        if not rows:
            return _("There are no check-in schedules. Add one with /schedule add mon-fri 09:00")
        return _("Check-in schedules:") + "\n" + "\n".join(describe(s) for s in rows)
    if sub == "add":
        schedule = add_schedule(session, parse_chat_add(words[1:]), now, today)
        audit(session, now, actor_id, "schedule.add", detail=_audit_detail(schedule))
        return _("Added {schedule}. It fires from the next matching time.").format(
            schedule=describe(schedule)
        )
    if sub in ("remove", "delete", "rm"):
        if len(words) != 2:
            raise UserError(_("Use /schedule remove ID; the ids are in /schedule list."))
        schedule = remove_schedule(session, words[1])
        audit(session, now, actor_id, "schedule.remove", detail=_audit_detail(schedule))
        return _('Removed schedule #{id} "{name}". No more check-ins from it.').format(
            id=schedule.id, name=schedule.name
        )
    raise UserError(_(CHAT_USAGE))


def _audit_detail(schedule: CheckinSchedule) -> str:
    """The audit log keeps one language (English), whoever made the change."""
    with speaking(DEFAULT_LANGUAGE):
        return describe(schedule)
