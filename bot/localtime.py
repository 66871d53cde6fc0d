"""Local time for people: time zones, parsing, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UserError
from bot.i18n import _


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; raises UserError for an unknown zone."""
    try:
        if not name or name != name.strip() or name.startswith("/") or len(name) > 64:
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a long or odd name fails as a file path before it fails as a zone.
        shown = name if len(name) <= 64 else name[:61] + "..."
        raise UserError(
            _(
                "I don't know the time zone '{zone}'. Use a name like Europe/London or "
                "America/New_York."
            ).format(zone=shown)
        ) from exc


# The longest IANA name is about 30 characters; a longer one is not looked up on disk (a
# 4,000-character "zone" made the file lookup fail with "File name too long").
MAX_ZONE_NAME = 64


def is_valid_zone(name: str) -> bool:
    """True when `name` is a known IANA time zone."""
    if not name or len(name) > MAX_ZONE_NAME:
        return False
    try:
        zone(name)
    except (UserError, OSError, ValueError):
        return False
    return True


def to_local(when: datetime, tz: str) -> datetime:
    """A UTC datetime (naive values are taken as UTC) as an aware local datetime."""
    aware = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    return aware.astimezone(zone(tz))


def to_utc(local: datetime) -> datetime:
    """An aware datetime in UTC."""
    return local.astimezone(UTC)


def parse_hhmm(value: str) -> time:
    """Parse '09:00' into a time; raises UserError for impossible times."""
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError) as exc:
        raise UserError(
            _("'{value}' isn't a time of day. Use HH:MM, e.g. 09:00.").format(value=value)
        ) from exc


def parse_date(value: str) -> date:
    """Parse an ISO date (YYYY-MM-DD); raises UserError otherwise."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UserError(
            _("'{value}' isn't a date. Use YYYY-MM-DD, e.g. 2026-12-01.").format(value=value)
        ) from exc


def in_quiet_hours(local: datetime, start: str, end: str) -> bool:
    """True when local time falls inside quiet hours (which may wrap past midnight)."""
    begin, finish = parse_hhmm(start), parse_hhmm(end)
    now = local.time()
    if begin == finish:
        return False
    if begin < finish:
        return begin <= now < finish
    return now >= begin or now < finish


def quiet_hours_end(when: datetime, tz: str, start: str, end: str) -> datetime | None:
    """If `when` is in the person's quiet hours, when they end (UTC); else None."""
    local = to_local(when, tz)
    if not in_quiet_hours(local, start, end):
        return None
    finish = parse_hhmm(end)
    candidate = datetime.combine(local.date(), finish, tzinfo=local.tzinfo)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), finish, tzinfo=local.tzinfo)
    return to_utc(candidate)
