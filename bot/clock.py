"""Time, injected: services ask a clock, so tests move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


def as_utc(when: datetime) -> datetime:
    """`when` as an aware UTC datetime; a naive value is taken to be UTC already."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class Clock(Protocol):
    """Tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current time in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to; for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)

    def now(self) -> datetime:
        """The time the clock was set to."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when` (aware, or naive meaning UTC)."""
        self._now = as_utc(when)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by `delta` or by timedelta keyword arguments."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now
