"""A mentor's availability: weekly hours in the mentor's own zone, days off, a video link.

Slots are wall-clock times in the mentor's zone: `mon 14:00-16:00 30` means 14:00, 14:30,
15:00 and 15:30 local every Monday, whatever the UTC offset that day. Each slot's instant
is computed for its own date, so a booking made before a daylight-saving change and held
after it still starts at 14:00 for the mentor (and the student sees their own right time).
A local time that does not exist that day (inside a spring-forward gap) is not offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlparse

from babel.dates import get_day_names
from sqlmodel import Session, col, select

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
from bot.localtime import parse_hhmm, to_local, zone
from storage.enums import LIVE_MEETING
from storage.tables import Meeting, MeetingHours, MeetingOff, MeetingProfile, Person

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far ahead a student is offered slots, how many at once, and the least notice.
HORIZON_DAYS = 21
SLOTS_SHOWN = 6
MIN_NOTICE = timedelta(hours=1)
MIN_SLOT, MAX_SLOT = 10, 240
HOURS_USAGE = N_(
    "Use /meet hours DAYS HH:MM-HH:MM MINUTES, for example: /meet hours mon,wed 14:00-16:00 30"
)


def day_name(weekday: int) -> str:
    """A weekday, short, in the reader's language: `Mon`, `lun`, `周一` (Monday 0)."""
    language = current_language()
    if language in (DEFAULT_LANGUAGE, PSEUDO_LANGUAGE):
        return DAYS[weekday].title()
    return str(get_day_names("abbreviated", locale=babel_locale(language))[weekday])


@dataclass(frozen=True)
class Slot:
    """A bookable start: the UTC instant, its length and the mentor it is with."""

    mentor_id: int
    starts_at: datetime
    minutes: int

    @property
    def ends_at(self) -> datetime:
        """When the slot ends."""
        return self.starts_at + timedelta(minutes=self.minutes)


def parse_days(raw: str) -> list[int]:
    """`mon,wed` or `mon-fri` as weekday numbers (Monday 0); a UserError for anything else."""
    days: set[int] = set()
    for part in raw.lower().split(","):
        part = part.strip()
        first, _dash, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise UserError(
                _("'{day}' isn't a day. {usage}.").format(day=part, usage=_(HOURS_USAGE))
            )
        start = DAYS.index(first)
        end = DAYS.index(last) if last else start
        if end < start:
            raise UserError(
                _("'{days}' runs backwards. {usage}.").format(days=part, usage=_(HOURS_USAGE))
            )
        days.update(range(start, end + 1))
    return sorted(days)


def parse_span(raw: str) -> tuple[time, time]:
    """`14:00-16:00` as two times, the first before the second."""
    first, sep, last = raw.partition("-")
    if not sep:
        raise UserError(
            _("'{span}' isn't a span of hours. {usage}.").format(span=raw, usage=_(HOURS_USAGE))
        )
    start, end = parse_hhmm(first), parse_hhmm(last)
    if end <= start:
        raise UserError(
            _("The hours {span} end before they start. {usage}.").format(
                span=raw, usage=_(HOURS_USAGE)
            )
        )
    return start, end


def set_hours(
    session: Session,
    mentor: Person,
    days: Sequence[int],
    start: time,
    end: time,
    minutes: int,
    tz: str,
    now: datetime,
) -> list[MeetingHours]:
    """Publish (or replace) the mentor's hours on those weekdays, in zone `tz`."""
    if not MIN_SLOT <= minutes <= MAX_SLOT:
        raise UserError(
            _("A meeting lasts {low} to {high} minutes. {usage}.").format(
                low=MIN_SLOT, high=MAX_SLOT, usage=_(HOURS_USAGE)
            )
        )
    span = (datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds // 60
    if minutes > span:
        raise UserError(
            _("A {minutes}-minute meeting doesn't fit in those hours.").format(minutes=minutes)
        )
    zone(tz)
    assert mentor.id is not None
    rows: list[MeetingHours] = []
    for day in days:
        row = session.exec(
            select(MeetingHours).where(
                MeetingHours.mentor_id == mentor.id, MeetingHours.weekday == day
            )
        ).first() or MeetingHours(
            mentor_id=mentor.id,
            weekday=day,
            start_time="",
            end_time="",
            slot_minutes=minutes,
            timezone=tz,
            updated_at=now,
        )
        row.start_time, row.end_time = start.strftime("%H:%M"), end.strftime("%H:%M")
        row.slot_minutes, row.timezone, row.updated_at = minutes, tz, now
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def clear_hours(session: Session, mentor: Person, days: Sequence[int]) -> int:
    """Take those weekdays out of the mentor's hours; how many were there."""
    rows = session.exec(
        select(MeetingHours).where(
            MeetingHours.mentor_id == mentor.id, col(MeetingHours.weekday).in_(days)
        )
    ).all()
    for row in rows:
        session.delete(row)
    return len(rows)


def hours_of(session: Session, mentor_id: int) -> list[MeetingHours]:
    """The mentor's weekly hours, Monday first."""
    return list(
        session.exec(
            select(MeetingHours)
            .where(MeetingHours.mentor_id == mentor_id)
            .order_by(col(MeetingHours.weekday))
        ).all()
    )


def describe_hours(rows: Sequence[MeetingHours]) -> str:
    """`Mon 14:00-16:00, Wed 14:00-16:00 (Europe/London), 30-minute meetings`."""
    if not rows:
        return _("no hours published")
    spans = ", ".join(f"{day_name(r.weekday)} {r.start_time}-{r.end_time}" for r in rows)
    minutes = sorted({r.slot_minutes for r in rows})
    zones = sorted({r.timezone for r in rows})
    # "-minute" in English whatever the number, as always; other languages their plurals.
    return ngettext(
        "{spans} ({zones}), {minutes}-minute meetings",
        "{spans} ({zones}), {minutes}-minute meetings",
        minutes[-1],
    ).format(spans=spans, zones=", ".join(zones), minutes="/".join(map(str, minutes)))


def add_day_off(session: Session, mentor: Person, day: date, today: date) -> bool:
    """Mark a day off; False when it was already off. A past day is refused."""
    if day < today:
        raise UserError(_("That day has already passed. Pick a day from today on."))
    exists = session.exec(
        select(MeetingOff.id).where(MeetingOff.mentor_id == mentor.id, MeetingOff.day == day)
    ).first()
    if exists is not None:
        return False
    assert mentor.id is not None
    session.add(MeetingOff(mentor_id=mentor.id, day=day))
    return True


def check_link(raw: str) -> str:
    """A video link, https only, or a clear UserError (nothing is stored)."""
    url = raw.strip()
    parsed = urlparse(url)
    if parsed.scheme.lower() != "https" or not parsed.netloc or any(c.isspace() for c in url):
        raise UserError(
            _(
                "The meeting link must be a secure https:// address, for example: "
                "/meet link https://meet.example.edu/maya"
            )
        )
    if len(url) > 500:
        raise UserError(_("That link is too long (500 characters at most)."))
    return url


def set_link(session: Session, mentor: Person, raw: str, now: datetime) -> str:
    """Store the mentor's video link (checked first)."""
    url = check_link(raw)
    assert mentor.id is not None
    profile = session.get(MeetingProfile, mentor.id) or MeetingProfile(
        mentor_id=mentor.id, updated_at=now
    )
    profile.video_link, profile.updated_at = url, now
    session.add(profile)
    return url


def video_link(session: Session, mentor_id: int) -> str | None:
    """The mentor's video link, if they set one."""
    profile = session.get(MeetingProfile, mentor_id)
    return profile.video_link if profile is not None else None


def local_instant(day: date, at: time, tz: str) -> datetime | None:
    """`day at` on the wall clock of `tz` as a UTC instant; None when it doesn't exist."""
    local = datetime.combine(day, at, tzinfo=zone(tz))
    instant = local.astimezone(UTC)
    back = instant.astimezone(zone(tz))
    # In a spring-forward gap the wall time shifts on the way back: that time never happens.
    if (back.date(), back.time()) != (day, at):
        return None
    return instant


def published_slots(
    session: Session, mentor_id: int, now: datetime, days: int = HORIZON_DAYS
) -> list[Slot]:
    """Every slot of the mentor's hours from now (plus notice) over `days`, taken or not."""
    rows = hours_of(session, mentor_id)
    if not rows:
        return []
    off = {
        row.day for row in session.exec(select(MeetingOff).where(MeetingOff.mentor_id == mentor_id))
    }
    earliest = now + MIN_NOTICE
    slots: list[Slot] = []
    by_day = {row.weekday: row for row in rows}
    for row in rows:
        first_day = to_local(now, row.timezone).date()
        for offset in range(days + 1):
            day = first_day + timedelta(days=offset)
            if day.weekday() != row.weekday or day in off or by_day.get(day.weekday()) is not row:
                continue
            start, end = parse_hhmm(row.start_time), parse_hhmm(row.end_time)
            cursor = datetime.combine(day, start)
            while cursor + timedelta(minutes=row.slot_minutes) <= datetime.combine(day, end):
                instant = local_instant(day, cursor.time(), row.timezone)
                if instant is not None and instant >= earliest:
                    slots.append(Slot(mentor_id, instant, row.slot_minutes))
                cursor += timedelta(minutes=row.slot_minutes)
    return sorted(slots, key=lambda s: s.starts_at)


def busy(session: Session, mentor_id: int, start: datetime, end: datetime) -> list[Meeting]:
    """The mentor's live meetings overlapping `[start, end)`."""
    # A meeting lasts at most MAX_SLOT minutes: only those starting that long before can overlap.
    rows = session.exec(
        select(Meeting).where(
            Meeting.mentor_id == mentor_id,
            col(Meeting.status).in_(LIVE_MEETING),
            col(Meeting.starts_at) < end,
            col(Meeting.starts_at) > start - timedelta(minutes=MAX_SLOT),
        )
    ).all()
    return [m for m in rows if m.starts_at + timedelta(minutes=m.duration_minutes) > start]


def free_slots(
    session: Session, mentor_ids: Sequence[int], now: datetime, limit: int = SLOTS_SHOWN
) -> list[Slot]:
    """The next free slots of these mentors, soonest first."""
    found: list[Slot] = []
    for mentor_id in mentor_ids:
        slots = published_slots(session, mentor_id, now)
        if not slots:
            continue
        taken = busy(session, mentor_id, slots[0].starts_at, slots[-1].ends_at)
        for slot in slots:
            if not any(
                m.starts_at < slot.ends_at
                and m.starts_at + timedelta(minutes=m.duration_minutes) > slot.starts_at
                for m in taken
            ):
                found.append(slot)
    found.sort(key=lambda s: (s.starts_at, s.mentor_id))
    return found[:limit]
