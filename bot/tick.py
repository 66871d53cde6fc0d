"""All scheduled work due up to `now`, in one call: the scheduler's minute tick and its catch-up.

The work belongs to the features: each declares its jobs (`bot.registry.Job`) and the
composition root passes them here in registry order (check-ins open, close and remind; goals
nudge and flag stuck goals; alerts re-escalate and remind promised follow-ups; workshops,
prompts and pairing run their steps). Each job runs on its own: one that fails is logged
and the rest still run, and the failure is raised afterwards (`TickFailed`).
Everything a job writes is keyed, so calling it twice, after a crash, or from two processes
at once changes nothing the second time. The watermark only moves forward once every
window job succeeded up to it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import update
from sqlmodel import Session, col

from bot.config import CoreSettings
from bot.registry import Job, JobOutcome, Window
from storage.db import Database
from storage.insert import insert_ignore
from storage.tables import SchedulerState

log = logging.getLogger(__name__)

WATERMARK = "checkins"
T = TypeVar("T")


@dataclass
class TickReport:
    """What one call of `run_due_work` did (the start log prints it after a catch-up)."""

    window_start: datetime
    window_end: datetime
    # Each job's outcome by job name, in the order they ran.
    outcomes: dict[str, JobOutcome] = field(default_factory=dict)
    # Jobs that raised: name -> the error's type (the error itself went to the log).
    failed: dict[str, str] = field(default_factory=dict)
    lookback_capped_from: datetime | None = None

    def outcome(self, name: str, kind: type[T]) -> T:
        """One job's outcome, typed (KeyError when that job did not run)."""
        value = self.outcomes[name]
        if not isinstance(value, kind):
            raise TypeError(f"job {name} returned {type(value).__name__}, not {kind.__name__}")
        return value

    @property
    def opened(self) -> int:
        """Check-ins opened and queued (0 when no job opens check-ins)."""
        return sum(int(getattr(o, "opened", 0)) for o in self.outcomes.values())

    @property
    def not_sent(self) -> int:
        """Check-ins recorded as not sent (too late to send)."""
        return sum(int(getattr(o, "not_sent", 0)) for o in self.outcomes.values())

    @property
    def queued(self) -> bool:
        """True when anything went to the outbox (the delivery loop should look now)."""
        return any(outcome.queued for outcome in self.outcomes.values())

    def lines(self) -> list[str]:
        """Human-readable lines for the log."""
        lines: list[str] = []
        for outcome in self.outcomes.values():
            lines += outcome.lines()
        if self.lookback_capped_from is not None:
            lines.append(
                f"occurrences between {self.lookback_capped_from:%Y-%m-%d %H:%M} UTC and "
                f"{self.window_start:%Y-%m-%d %H:%M} UTC were not looked at (beyond the "
                "catch-up limit)"
            )
        lines += [
            f"job {name} failed ({error}); the next tick retries it"
            for name, error in self.failed.items()
        ]
        return lines


class TickFailed(Exception):
    """One or more jobs failed; the others ran and the report says what they did."""

    def __init__(self, report: TickReport) -> None:
        super().__init__(", ".join(report.failed))
        self.report = report


def read_watermark(session: Session) -> datetime | None:
    """Until when occurrences have been handled, or None before the first run."""
    state = session.get(SchedulerState, WATERMARK)
    return state.processed_until if state is not None else None


def advance_watermark(session: Session, until: datetime) -> None:
    """Move the watermark forward to `until` (never backwards: processes may race)."""
    values = {"name": WATERMARK, "processed_until": until}
    insert_ignore(session, SchedulerState, values)
    session.execute(
        update(SchedulerState)
        .where(col(SchedulerState.name) == WATERMARK, col(SchedulerState.processed_until) < until)
        .values(processed_until=until)
        .execution_options(synchronize_session=False)
    )


def run_due_work(
    db: Database, settings: CoreSettings, now: datetime, jobs: Sequence[Job]
) -> TickReport:
    """Run every feature's job for the time up to `now`; see the module docstring.

    Each job runs on its own: one that fails is logged and the others still run (a broken
    workshop step must not hold back an alert's re-escalation). The watermark moves only
    when every window job succeeded, so their missed occurrences are retried; the failure
    is raised after the rest ran (`TickFailed`, with the report).
    """
    with db.session() as session:
        watermark = read_watermark(session)
    # First run ever: look back one grace window, so a freshly started bot behaves as if it
    # had been running (a schedule's own creation time still limits what it catches up).
    start = watermark or now - timedelta(minutes=settings.scheduling.catchup_grace_minutes)
    report = TickReport(window_start=start, window_end=now)
    floor = now - timedelta(days=settings.scheduling.catchup_max_days)
    if start < floor:
        report.lookback_capped_from, start = start, floor
        report.window_start = start
    window = Window(start, now)
    for job in jobs:
        if job.window and not window.new:
            continue
        try:
            report.outcomes[job.name] = job.run(db, settings, window)
        except Exception as exc:
            log.exception("scheduled job %s failed", job.name)
            report.failed[job.name] = type(exc).__name__
    if not any(job.window for job in jobs if job.name in report.failed):
        with db.session() as session:
            advance_watermark(session, now)
    if report.failed:
        raise TickFailed(report)
    return report
