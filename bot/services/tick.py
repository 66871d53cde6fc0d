"""All scheduled work due up to `now`, in one call: the scheduler's minute tick and its catch-up.

`run_due_work` opens the check-ins of every occurrence since the stored watermark (sending
those within the grace window, recording older ones as not sent), closes check-ins past their
cut-off, queues due reminders and goal nudges, flags stuck goals, re-escalates alerts nobody
acknowledged, reminds mentors of the alerts they promised to follow up and runs the workshop
steps (reminders, start posts, feedback prompts), posts
due group prompts and opens due peer-pairing rounds and their check-backs.
Everything it writes is keyed, so calling it twice, after a crash, or from two processes at
once changes nothing the second time. The watermark only moves forward once the
work up to it is committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from bot.config import CoreSettings
from bot.errors import UserError
from bot.localtime import to_local
from bot.services.alert_lifecycle import send_due_follow_up_reminders
from bot.services.nudges import NudgeOutcome, flag_stuck_goals, send_goal_nudges
from bot.services.occurrences import (
    OccurrenceOutcome,
    occurrences_between,
    open_due_checkins,
    target_zones,
)
from bot.services.pairing import PairingTickOutcome, run_due_pairing
from bot.services.prompts import PromptTickOutcome, post_due_prompts
from bot.services.reescalation import reescalate_due_alerts
from bot.services.reminders import (
    CloseOutcome,
    ReminderOutcome,
    close_expired_checkins,
    send_due_reminders,
)
from bot.services.schedules import ScheduleRule, active_schedules
from bot.services.workshop_tick import WorkshopTickOutcome, run_workshop_steps
from storage.db import Database
from storage.insert import insert_ignore
from storage.tables import SchedulerState

log = logging.getLogger(__name__)

WATERMARK = "checkins"


@dataclass
class TickReport:
    """What one call of `run_due_work` did (the start log prints it after a catch-up)."""

    window_start: datetime
    window_end: datetime
    occurrences: list[OccurrenceOutcome] = field(default_factory=list)
    closed: CloseOutcome = field(default_factory=CloseOutcome)
    reminders: ReminderOutcome = field(default_factory=ReminderOutcome)
    nudges: NudgeOutcome = field(default_factory=NudgeOutcome)
    stuck_alerts: int = 0
    escalations: int = 0
    follow_up_reminders: int = 0
    workshops: WorkshopTickOutcome = field(default_factory=WorkshopTickOutcome)
    prompts: PromptTickOutcome = field(default_factory=PromptTickOutcome)
    pairing: PairingTickOutcome = field(default_factory=PairingTickOutcome)
    lookback_capped_from: datetime | None = None

    @property
    def opened(self) -> int:
        """Check-ins opened and queued."""
        return sum(o.created for o in self.occurrences if o.sent)

    @property
    def not_sent(self) -> int:
        """Check-ins recorded as not sent (too late to send)."""
        return sum(o.created for o in self.occurrences if not o.sent)

    @property
    def queued(self) -> bool:
        """True when anything went to the outbox (the delivery loop should look now)."""
        return bool(
            self.opened
            or self.reminders.sent
            or self.nudges.weekly
            or self.nudges.due_soon
            or self.stuck_alerts
            or self.escalations
            or self.follow_up_reminders
            or self.workshops.queued
            or self.prompts.queued
            or self.pairing.queued
        )

    def lines(self) -> list[str]:
        """Human-readable lines for the log."""
        lines = [o.describe() for o in self.occurrences]
        if self.lookback_capped_from is not None:
            lines.append(
                f"occurrences between {self.lookback_capped_from:%Y-%m-%d %H:%M} UTC and "
                f"{self.window_start:%Y-%m-%d %H:%M} UTC were not looked at (beyond the "
                "catch-up limit)"
            )
        counts = {
            "reminders sent": self.reminders.sent,
            "reminders skipped (paused or on a break)": self.reminders.skipped_away,
            "check-ins closed as missed": self.closed.missed,
            "check-ins excused": self.closed.excused,
            "goal nudges": self.nudges.weekly + self.nudges.due_soon,
            "stuck-goal alerts": self.stuck_alerts,
            "alert re-escalations": self.escalations,
            "follow-up reminders": self.follow_up_reminders,
        }
        lines += [f"{what}: {n}" for what, n in counts.items() if n]
        lines += self.workshops.lines()
        lines += self.prompts.lines()
        lines += self.pairing.lines()
        return lines


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


def run_due_work(db: Database, settings: CoreSettings, now: datetime) -> TickReport:
    """Do everything due up to `now`; see the module docstring."""
    rules = settings.scheduling
    with db.session() as session:
        watermark = read_watermark(session)
    # First run ever: look back one grace window, so a freshly started bot behaves as if it
    # had been running (a schedule's own creation time still limits what it catches up).
    start = watermark or now - timedelta(minutes=rules.catchup_grace_minutes)
    report = TickReport(window_start=start, window_end=now)
    floor = now - timedelta(days=rules.catchup_max_days)
    if start < floor:
        report.lookback_capped_from, start = start, floor
        report.window_start = start
    if start < now:
        report.occurrences = open_occurrences(db, settings, start, now)
    with db.session() as session:
        report.closed = close_expired_checkins(session, settings, now)
    with db.session() as session:
        report.reminders = send_due_reminders(session, settings, now)
    with db.session() as session:
        report.nudges = send_goal_nudges(session, settings, now)
    with db.session() as session:
        report.stuck_alerts = flag_stuck_goals(session, settings, now)
    with db.session() as session:
        report.escalations = reescalate_due_alerts(session, settings, now)
    with db.session() as session:
        # "I'll follow up" on an alert still unresolved: remind that mentor (alert_lifecycle).
        report.follow_up_reminders = send_due_follow_up_reminders(session, settings, now)
    with db.session() as session:
        # Workshop reminders, start posts and feedback prompts (bot.services.workshop_tick).
        report.workshops = run_workshop_steps(session, settings, now)
    if start < now:
        with db.session() as session:
            # Group prompts fire on the same occurrence window as check-ins.
            report.prompts = post_due_prompts(session, settings, start, now)
    with db.session() as session:
        report.pairing = run_due_pairing(session, settings, now)
    with db.session() as session:
        advance_watermark(session, now)
    return report


def open_occurrences(
    db: Database, settings: CoreSettings, start: datetime, now: datetime
) -> list[OccurrenceOutcome]:
    """Open (or record as not sent) every occurrence in `(start, now]`, one transaction each."""
    grace = timedelta(minutes=settings.scheduling.catchup_grace_minutes)
    with db.session() as session:
        schedules = list(active_schedules(session))
        zones = {s.id: target_zones(session, s, settings.default_timezone) for s in schedules}
    outcomes: list[OccurrenceOutcome] = []
    for schedule in schedules:
        try:
            rule = ScheduleRule.of(schedule)
        except UserError as exc:  # a row edited by hand into nonsense must not stop the rest
            log.error("schedule #%s is invalid and was skipped: %s", schedule.id, exc.message)
            continue
        # A schedule added while the bot was down must not catch up what predates it.
        since = max(start, schedule.created_at)
        for zone_name, raw_zones in zones[schedule.id].items():
            for occurrence in occurrences_between(rule, zone_name, since, now):
                late = now - occurrence.at
                reason = None
                if late > grace:
                    local = to_local(occurrence.at, zone_name)
                    reason = (
                        f"not sent: due {local:%Y-%m-%d %H:%M} {zone_name} while the bot was "
                        f"down; {int(late.total_seconds() // 60)} min late is beyond the "
                        f"{int(grace.total_seconds() // 60)}-minute grace window"
                    )
                with db.session() as session:
                    outcomes.append(
                        open_due_checkins(
                            session,
                            settings,
                            schedule,
                            zone_name,
                            occurrence,
                            now,
                            raw_zones=raw_zones,
                            late_reason=reason,
                        )
                    )
    return outcomes
