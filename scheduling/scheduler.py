"""APScheduler wiring: one minute-tick job that asks the core to do whatever is due.

At start the tick's first run, at once and in the background, is the catch-up since the stored
watermark (`start_scheduler`), so start-up does not wait for a large occurrence due at start.

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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock
from bot.config import CoreSettings
from bot.personal_data import PersonalData
from bot.registry import Job
from bot.services.privacy import purge_expired_text
from bot.tick import TickFailed, TickReport, run_due_work
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
        jobs: Sequence[Job],
        personal_data: Sequence[PersonalData],
        on_work: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        # The features' jobs, in registry order (the composition root passes them).
        self.jobs = tuple(jobs)
        # The features' tables holding personal data: the nightly purge's free text.
        self.personal_data = tuple(personal_data)
        self.on_work = on_work
        self.scheduler: AsyncIOScheduler | None = None
        # Set by `start(catch_up=True)`: the tick job's first run is the start-up catch-up.
        self._catch_up_pending = False
        self._caught_up = asyncio.Event()
        self.catch_up_report: TickReport | None = None

    async def _work(self) -> TickReport:
        """Do everything due now (off the event loop), then wake the delivery loop."""
        now = self.clock.now()
        try:
            report = await asyncio.to_thread(run_due_work, self.db, self.settings, now, self.jobs)
        except TickFailed as failed:
            # The jobs that ran may have queued messages: they go out now, not next minute.
            if failed.report.queued and self.on_work is not None:
                self.on_work()
            raise
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
        if self._catch_up_pending:
            await self._catch_up_job()
            return
        try:
            await self.tick()
        except Exception:  # a failed tick is retried by the next one: all work is keyed
            log.exception("scheduled work failed; the next tick will retry it")

    async def _catch_up_job(self) -> None:
        """The tick job's first run after `start(catch_up=True)`: the catch-up, once."""
        self._catch_up_pending = False
        try:
            self.catch_up_report = await self.catch_up()
        except Exception:  # the next tick works from the same watermark
            log.exception("catch-up failed; the minute tick will retry it")
        finally:
            self._caught_up.set()

    async def wait_caught_up(self) -> TickReport | None:
        """Wait until the start-up catch-up has run; its report (None if it failed).

        Only meaningful after `start(catch_up=True)` (or `start_scheduler`).
        """
        await self._caught_up.wait()
        return self.catch_up_report

    def build_jobs(self, scheduler: AsyncIOScheduler, *, first_run: datetime | None = None) -> None:
        """Add the minute tick to an APScheduler instance (replacing an older one).

        `first_run` runs the tick once at that time before it follows the minute.
        """
        # APScheduler reads an explicit next_run_time=None as "paused": pass it only when set.
        first = {"next_run_time": first_run} if first_run is not None else {}
        scheduler.add_job(
            self._tick_job,
            CronTrigger(second=0, timezone=UTC),
            id=TICK_JOB_ID,
            name="check-ins, reminders, nudges, re-escalation",
            replace_existing=True,
            # A late or piled-up tick runs once, whenever it can: the tick itself works out
            # everything due since the watermark, so nothing is lost by coalescing.
            coalesce=True,
            # Also keeps the minute tick from running beside a long start-up catch-up.
            max_instances=1,
            misfire_grace_time=None,
            **first,
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
            return purge_expired_text(
                session, self.settings, self.clock.now(), tables=self.personal_data
            )

    async def _purge_job(self) -> None:
        try:
            count = await asyncio.to_thread(self.purge_now)
            log.info("privacy purge: free text removed from %d row(s)", count)
        except Exception:  # tomorrow's run purges whatever this one could not
            log.exception("privacy purge failed; the next nightly run will retry it")

    def start(self, *, catch_up: bool = False) -> AsyncIOScheduler:
        """Start APScheduler on the running event loop with the in-memory job store.

        With `catch_up`, the tick job runs at once, as the start-up catch-up (`catch_up`),
        in the background: the caller goes on at once and `wait_caught_up` waits for it.
        Being the tick job's own first run, it never overlaps a minute tick.
        """
        scheduler = AsyncIOScheduler(timezone=UTC)
        self._catch_up_pending = catch_up
        self.build_jobs(scheduler, first_run=datetime.now(UTC) if catch_up else None)
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
    jobs: Sequence[Job],
    personal_data: Sequence[PersonalData],
    on_work: Callable[[], None] | None = None,
) -> CheckinScheduler:
    """Start the minute tick; its first run, at once, catches up on what was missed.

    Returns without waiting for the catch-up (a 10,000-student occurrence due at start takes
    seconds): start-up is not held up by it, the adapters and the delivery loop are already
    serving, and `wait_caught_up` waits for it.
    """
    scheduler = CheckinScheduler(
        db, settings, clock, jobs=jobs, personal_data=personal_data, on_work=on_work
    )
    scheduler.start(catch_up=True)
    return scheduler
