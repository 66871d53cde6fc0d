"""APScheduler wiring: one minute-tick job that asks the core to do whatever is due.

Why a single tick and not a job per schedule or per student: schedules live in our tables and
are interpreted in each student's zone, so the tick reads them afresh every minute (an admin's
change applies from the next minute, with nothing to rebuild) and the core opens each
occurrence for everyone due in bulk. 10,000 students in 30 zones cost one job. The job store is
APScheduler's in-memory one; what was already done lives in the database (unique keys and the
watermark), so a restart or a second process cannot send anything twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock
from bot.config import CoreSettings
from bot.services.privacy import purge_expired_text
from bot.services.tick import TickReport, run_due_work
from storage.db import Database

log = logging.getLogger(__name__)

TICK_JOB_ID = "scheduled-work"
PURGE_JOB_ID = "privacy-purge"
# A quiet hour in most of the programme's zones.
PURGE_HOUR_UTC = 3


class CheckinScheduler:
    """Runs the core's scheduled work every minute; holds no state of its own."""

    def __init__(
        self,
        db: Database,
        settings: CoreSettings,
        clock: Clock,
        *,
        on_work: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.on_work = on_work
        self.scheduler: AsyncIOScheduler | None = None

    async def _work(self) -> TickReport:
        """Do everything due now (off the event loop), then wake the delivery loop."""
        now = self.clock.now()
        report = await asyncio.to_thread(run_due_work, self.db, self.settings, now)
        if report.queued and self.on_work is not None:
            self.on_work()
        return report

    async def tick(self) -> TickReport:
        """One minute tick: the work due now, logged."""
        report = await self._work()
        for line in report.lines():
            log.info("scheduler: %s", line)
        return report

    async def catch_up(self) -> TickReport:
        """The start-up run: the same work, from the stored watermark.

        Logs what it caught up and what it recorded as not sent, as warnings so operators
        see them.
        """
        report = await self._work()
        lines = report.lines()
        if lines:
            log.warning(
                "scheduler catch-up since %s UTC: %d check-in(s) sent, %d recorded as not sent",
                f"{report.window_start:%Y-%m-%d %H:%M}",
                report.opened,
                report.not_sent,
            )
            for line in lines:
                log.warning("catch-up: %s", line)
        else:
            log.info("scheduler catch-up: nothing was missed")
        return report

    async def _tick_job(self) -> None:
        try:
            await self.tick()
        except Exception:  # a failed tick is retried by the next one: all work is keyed
            log.exception("scheduled work failed; the next tick will retry it")

    def build_jobs(self, scheduler: AsyncIOScheduler) -> None:
        """Add the minute tick to an APScheduler instance (replacing an older one)."""
        scheduler.add_job(
            self._tick_job,
            CronTrigger(second=0, timezone=UTC),
            id=TICK_JOB_ID,
            name="check-ins, reminders, nudges, re-escalation",
            replace_existing=True,
            # A late or piled-up tick runs once, whenever it can: the tick itself works out
            # everything due since the watermark, so nothing is lost by coalescing.
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        # Retention: free text older than RETENTION_DAYS goes every night. Idempotent, so a
        # second process running it too, or a missed night caught up later, is harmless.
        scheduler.add_job(
            self._purge_job,
            CronTrigger(hour=PURGE_HOUR_UTC, minute=30, timezone=UTC),
            id=PURGE_JOB_ID,
            name="privacy: purge expired free text",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    def purge_now(self) -> int:
        """Run the retention purge now; returns how many rows lost their text."""
        with self.db.session() as session:
            return purge_expired_text(session, self.settings, self.clock.now())

    async def _purge_job(self) -> None:
        try:
            count = await asyncio.to_thread(self.purge_now)
            log.info("privacy purge: free text removed from %d row(s)", count)
        except Exception:  # tomorrow's run purges whatever this one could not
            log.exception("privacy purge failed; the next nightly run will retry it")

    def start(self) -> AsyncIOScheduler:
        """Start APScheduler on the running event loop with the in-memory job store."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        self.build_jobs(scheduler)
        scheduler.start()
        self.scheduler = scheduler
        return scheduler

    @property
    def job_count(self) -> int:
        """How many APScheduler jobs exist (one, whatever the number of students)."""
        return len(self.scheduler.get_jobs()) if self.scheduler is not None else 0

    def shutdown(self) -> None:
        """Stop the scheduler without waiting for a running tick (its work is keyed)."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None


async def start_scheduler(
    db: Database,
    settings: CoreSettings,
    clock: Clock,
    *,
    on_work: Callable[[], None] | None = None,
) -> CheckinScheduler:
    """Catch up on what was missed while the bot was down, then tick every minute."""
    scheduler = CheckinScheduler(db, settings, clock, on_work=on_work)
    try:
        await scheduler.catch_up()
    except Exception:
        log.exception("catch-up failed; the minute tick will retry it")
    scheduler.start()
    return scheduler
