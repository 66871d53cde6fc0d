"""A student's own settings: time zone, quiet hours, check-in time and preferred platform.

Quiet hours and the preferred platform are columns of `Person`, which every push already
reads (`bot.outbox.push_rows` holds non-urgent pushes until quiet hours end and
`choose_address` prefers the preferred platform), so setting them here is all it takes.
`StudentSettings` keeps what the person row can't say: that the student chose their zone
(a platform profile only fills a zone nobody set, `bot.people`), and their own check-in time.

A check-in time moves the student's scheduled check-in within the schedule's window: the
schedule's local time +- `CHECKIN_WINDOW_HOURS`, on the same local day, so the occurrence
(and its key, `schedule:date`) stays the same and a change of time never opens two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.localtime import in_quiet_hours, parse_hhmm
from bot.people import group_ids_of
from bot.services.schedules import active_schedules, applies_to, parse_local_time
from storage.tables import CheckinSchedule, Group, Identity, Person, StudentSettings

# Where a person's zone came from when they set it themselves.
ZONE_FROM_STUDENT = "student"
# The platforms a student can prefer for their DMs.
DM_PLATFORMS = ("slack", "discord")
# Quiet hours that start and end at the same minute are off (`bot.localtime.in_quiet_hours`).
QUIET_OFF = ("00:00", "00:00")
OFF_WORDS = ("off", "none", "clear", "reset", "default")


def hhmm(value: time) -> str:
    """A time of day as HH:MM (how times are stored and compared in SQL)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def parse_clock(raw: str) -> time:
    """A typed HH:MM (24-hour clock), refused with a friendly message when impossible."""
    text = raw.strip()
    hours, sep, minutes = text.partition(":")
    if (
        not sep
        or not hours.isascii()
        or not minutes.isascii()
        or not hours.isdigit()
        or not minutes.isdigit()
        or len(minutes) != 2
        or len(hours) > 2
    ):
        raise UserError(f"'{text}' isn't a time of day. Use HH:MM on a 24-hour clock, e.g. 18:30.")
    if int(hours) > 23 or int(minutes) > 59:
        raise UserError(f"'{text}' isn't a time of day. Use HH:MM between 00:00 and 23:59.")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class CheckinWindow:
    """The local times a student may move a schedule's check-in to (inclusive, HH:MM)."""

    earliest: str
    latest: str

    def holds(self, value: str) -> bool:
        """True when the HH:MM `value` lies within the window."""
        return self.earliest <= value <= self.latest


def checkin_window(schedule_time: time, hours: int) -> CheckinWindow:
    """The schedule's time +- `hours`, kept within its local day (never past midnight)."""
    minutes = schedule_time.hour * 60 + schedule_time.minute
    low = max(0, minutes - hours * 60)
    high = min(23 * 60 + 59, minutes + hours * 60)
    return CheckinWindow(hhmm(time(low // 60, low % 60)), hhmm(time(high // 60, high % 60)))


def window_of(schedule: CheckinSchedule, settings: CoreSettings) -> CheckinWindow | None:
    """The schedule's check-in window, or None when its stored time is unreadable."""
    try:
        local = parse_local_time(schedule.local_time)
    except UserError:
        return None
    return checkin_window(local, settings.scheduling.checkin_window_hours)


def settings_row(session: Session, person_id: int) -> StudentSettings | None:
    """The student's settings row, if they ever changed a setting that lives there."""
    return session.get(StudentSettings, person_id)


def _row_for_update(session: Session, person: Person, now: datetime) -> StudentSettings:
    assert person.id is not None
    row = settings_row(session, person.id)
    if row is None:
        row = StudentSettings(person_id=person.id, updated_at=now)
    row.updated_at = now
    session.add(row)
    return row


def schedules_of(session: Session, person: Person) -> list[CheckinSchedule]:
    """The active check-in schedules that apply to this student."""
    assert person.id is not None
    group_ids = group_ids_of(session, person.id)
    names = (
        session.exec(select(Group.name).where(col(Group.id).in_(group_ids))).all()
        if group_ids
        else []
    )
    return [s for s in active_schedules(session) if applies_to(s, person, names)]


def platforms_of(session: Session, person: Person) -> list[str]:
    """The chat platforms the person has an account on (by first link)."""
    assert person.id is not None
    found = session.exec(
        select(Identity.platform).where(Identity.person_id == person.id).order_by(col(Identity.id))
    ).all()
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------------- changes


def set_zone(session: Session, person: Person, zone: str, now: datetime) -> None:
    """Store a validated IANA zone as the student's own (a platform profile won't replace it)."""
    person.timezone = zone
    session.add(person)
    _row_for_update(session, person, now).zone_source = ZONE_FROM_STUDENT


def parse_quiet(raw: str) -> tuple[str, str]:
    """`22:00-07:00` (or `off`) as (start, end) HH:MM; a friendly refusal otherwise."""
    text = raw.strip()
    if text.lower() in OFF_WORDS:
        return QUIET_OFF
    start, sep, end = text.replace("–", "-").partition("-")
    if not sep:
        raise UserError(
            f"'{text}' isn't a range of hours. Use /settings quiet 22:00-07:00, or "
            "/settings quiet off."
        )
    begin, finish = parse_clock(start), parse_clock(end)
    if begin == finish:
        raise UserError(
            "Quiet hours need a start and an end that differ, e.g. 22:00-07:00 "
            "(or /settings quiet off)."
        )
    return hhmm(begin), hhmm(finish)


def set_quiet(session: Session, person: Person, start: str, end: str) -> None:
    """Set the person's quiet hours (equal start and end turn them off)."""
    person.quiet_start, person.quiet_end = start, end
    session.add(person)


def set_checkin_time(
    session: Session, settings: CoreSettings, person: Person, raw: str, now: datetime
) -> tuple[str | None, list[CheckinSchedule]]:
    """Set (or with `off` clear) the student's check-in time; returns it and what it moves.

    The time must lie within the window of at least one of their schedules; it moves the
    check-ins of every schedule whose window holds it, and leaves the others on time.
    """
    text = raw.strip()
    if text.lower() in OFF_WORDS:
        row = settings_row(session, person.id or 0)
        if row is not None:
            row.checkin_time = None
            row.updated_at = now
            session.add(row)
        return None, []
    value = hhmm(parse_clock(text))
    schedules = schedules_of(session, person)
    if not schedules:
        raise UserError(
            "You have no check-in schedule yet, so there's no check-in to move. "
            "Your mentor or the programme team sets schedules."
        )
    moved = [s for s in schedules if (w := window_of(s, settings)) is not None and w.holds(value)]
    if not moved:
        windows = "; ".join(_describe_window(s, settings) for s in schedules)
        raise UserError(f"{value} is outside your check-in window ({windows}). Pick a time in it.")
    _row_for_update(session, person, now).checkin_time = value
    return value, moved


def _describe_window(schedule: CheckinSchedule, settings: CoreSettings) -> str:
    window = window_of(schedule, settings)
    if window is None:
        return f"'{schedule.name}' can't be moved"
    return f"'{schedule.name}' at {schedule.local_time}: {window.earliest}-{window.latest}"


def set_platform(session: Session, person: Person, platform: str) -> None:
    """Prefer this platform for DMs; refused when the student has no account there."""
    choice = platform.strip().lower()
    if choice not in DM_PLATFORMS:
        raise UserError(f"Pick one of: {', '.join(DM_PLATFORMS)}.")
    if choice not in platforms_of(session, person):
        raise UserError(
            f"You don't have a {choice.capitalize()} account linked here yet, so I can't "
            f"message you there. Write to me from {choice.capitalize()} once, then try again."
        )
    person.preferred_platform = choice
    session.add(person)


# ---------------------------------------------------------------------- showing


def quiet_text(person: Person) -> str:
    """The person's quiet hours as read back to them."""
    try:
        in_quiet_hours(datetime(2000, 1, 1), person.quiet_start, person.quiet_end)
    except UserError:
        return "unreadable (set them again)"
    if parse_hhmm(person.quiet_start) == parse_hhmm(person.quiet_end):
        return "off"
    return f"{person.quiet_start}-{person.quiet_end}"


def render(
    session: Session, settings: CoreSettings, person: Person, schedules: Sequence[CheckinSchedule]
) -> str:
    """The student's settings, each with how to change it."""
    assert person.id is not None
    row = settings_row(session, person.id)
    if person.timezone:
        source = " (you set it)" if row and row.zone_source == ZONE_FROM_STUDENT else ""
        zone_line = f"{person.timezone}{source}"
    else:
        zone_line = f"not set (using the programme's {settings.default_timezone})"
    own = row.checkin_time if row is not None else None
    if schedules:
        times = ", ".join(f"{s.local_time} ('{s.name}')" for s in schedules)
        checkin = f"{own} (yours; schedules at {times})" if own else f"as scheduled: {times}"
    else:
        checkin = f"{own} (yours; no schedule applies yet)" if own else "no schedule applies yet"
    linked = platforms_of(session, person)
    preferred = person.preferred_platform or (
        f"none (the one you last wrote from: {person.last_platform})"
        if person.last_platform
        else "none"
    )
    return "\n".join(
        [
            "Your settings:",
            f"• Time zone: {zone_line} - change with /settings zone Europe/Berlin",
            f"• Quiet hours: {quiet_text(person)} - change with /settings quiet 22:00-07:00 "
            "or /settings quiet off (urgent safety messages still come through)",
            f"• Check-in time: {checkin} - change with /settings checkin 18:30 "
            f"(within {settings.scheduling.checkin_window_hours} h of the schedule's time) "
            "or /settings checkin off",
            f"• Preferred platform: {preferred} (linked: {', '.join(linked) or 'none'}) - "
            "change with /settings platform slack|discord",
        ]
    )
