"""The APScheduler wiring.

One minute-tick job, catch-up at start, and safety when the same occurrence fires twice or
from two scheduler instances against one database.
"""

from __future__ import annotations

import asyncio
import logging

from apscheduler.triggers.cron import CronTrigger

from bot.clock import FixedClock
from bot.config import CoreSettings
from scheduling import CheckinScheduler, start_scheduler
from scheduling.scheduler import TICK_JOB_ID
from storage.db import Database
from storage.migrate import upgrade
from tests.scheduling.world import (
    add_students,
    checkins,
    outbox,
    schedule,
    set_watermark,
    utc,
)
from tests.tick import JOBS, PERSONAL_DATA


async def test_one_job_whatever_the_number_of_students_and_zones(db) -> None:
    """Students in 30 zones still cost one tick job (plus the nightly privacy purge)."""
    zones = [
        "UTC",
        "Europe/London",
        "America/New_York",
        "Pacific/Auckland",
        "Pacific/Honolulu",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Australia/Sydney",
        "America/Los_Angeles",
        "Europe/Berlin",
        "Africa/Lagos",
        "America/Sao_Paulo",
        "Asia/Dubai",
        "Pacific/Tongatapu",
        "America/Chicago",
        "Europe/Madrid",
        "Asia/Singapore",
        "America/Denver",
        "Europe/Helsinki",
        "Asia/Kathmandu",
        "America/St_Johns",
        "Pacific/Chatham",
        "Asia/Tehran",
        "Africa/Nairobi",
        "America/Anchorage",
        "Europe/Moscow",
        "Asia/Manila",
        "America/Bogota",
        "Atlantic/Azores",
        "Australia/Adelaide",
    ]
    for index, zone in enumerate(zones):
        add_students(db, 3, zone, prefix=f"z{index}-")
    schedule(db, days="mon-fri", local_time="09:00")
    scheduler = CheckinScheduler(
        db,
        CoreSettings(),
        FixedClock(utc(2026, 11, 23, 0, 0)),
        jobs=JOBS,
        personal_data=PERSONAL_DATA,
    )
    scheduler.start()
    try:
        assert scheduler.job_count == 2  # the minute tick and the nightly privacy purge
        assert scheduler.scheduler is not None
        job = scheduler.scheduler.get_job(TICK_JOB_ID)
        assert job is not None and isinstance(job.trigger, CronTrigger)
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    finally:
        scheduler.shutdown()


async def test_tick_uses_the_injected_clock_and_wakes_delivery(db) -> None:
    """A tick works as of the clock's time and wakes the delivery loop when it queued pushes."""
    schedule(db, days="*", local_time="09:00")
    add_students(db, 3)
    clock = FixedClock(utc(2026, 11, 23, 8, 30))
    woken: list[bool] = []
    scheduler = CheckinScheduler(
        db,
        CoreSettings(),
        clock,
        jobs=JOBS,
        on_work=lambda: woken.append(True),
        personal_data=PERSONAL_DATA,
    )
    await scheduler.tick()
    assert checkins(db) == [] and woken == []
    clock.set(utc(2026, 11, 23, 9, 0))
    report = await scheduler.tick()
    assert report.opened == 3 and woken == [True]


async def test_start_logs_what_was_caught_up_and_what_was_skipped(db, caplog) -> None:
    """Down Saturday noon to Monday 10:30: Monday is sent, Sunday not, the start log says so."""
    schedule(db, name="Daily", days="*", local_time="09:00")
    add_students(db, 2)
    set_watermark(db, utc(2026, 11, 21, 12, 0))
    clock = FixedClock(utc(2026, 11, 23, 10, 30))
    with caplog.at_level(logging.INFO, logger="scheduling"):
        scheduler = await start_scheduler(
            db, CoreSettings(), clock, jobs=JOBS, personal_data=PERSONAL_DATA
        )
        await scheduler.wait_caught_up()
        scheduler.shutdown()
    log = caplog.text
    assert "2 check-in(s) sent, 2 recorded as not sent" in log
    assert "'Daily' 2026-11-22 09:00 UTC: 2 check-in(s) recorded as not sent" in log
    assert "beyond the 120-minute grace window" in log
    assert "'Daily' 2026-11-23 09:00 UTC: 2 check-in(s) opened" in log
    assert sorted(c.status for c in checkins(db)) == ["not_sent"] * 2 + ["open"] * 2


async def test_same_occurrence_from_two_scheduler_instances_is_sent_once(db) -> None:
    """Two schedulers firing one occurrence, twice: one check-in and one outbox row each."""
    schedule(db, days="*", local_time="09:00")
    students = add_students(db, 50)
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    clock = FixedClock(utc(2026, 11, 23, 9, 0))
    first = CheckinScheduler(db, CoreSettings(), clock, jobs=JOBS, personal_data=PERSONAL_DATA)
    second = CheckinScheduler(db, CoreSettings(), clock, jobs=JOBS, personal_data=PERSONAL_DATA)
    reports = await asyncio.gather(first.tick(), second.tick())
    assert sum(r.opened for r in reports) == 50
    set_watermark(db, utc(2026, 11, 23, 8, 0))  # a restart that lost its watermark
    clock.set(utc(2026, 11, 23, 9, 1))
    again = await asyncio.gather(first.tick(), second.tick())
    assert sum(r.opened for r in again) == 0
    per_student = {s: 0 for s in students}
    for checkin in checkins(db):
        per_student[checkin.person_id] += 1
    assert set(per_student.values()) == {1}
    rows = outbox(db, "checkin")
    assert sorted(r.person_id for r in rows) == sorted(students)


async def test_start_returns_before_the_catch_up_which_then_runs_once(db, caplog) -> None:
    """Start-up does not wait for the catch-up; it runs next, in the background, exactly once."""
    schedule(db, name="Daily", days="*", local_time="09:00")
    add_students(db, 3)
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    clock = FixedClock(utc(2026, 11, 23, 9, 30))
    woken: list[bool] = []
    with caplog.at_level(logging.INFO, logger="scheduling"):
        scheduler = await start_scheduler(
            db,
            CoreSettings(),
            clock,
            jobs=JOBS,
            on_work=lambda: woken.append(True),
            personal_data=PERSONAL_DATA,
        )
        try:
            assert checkins(db) == []  # nothing done on the start path
            assert scheduler.job_count == 2
            report = await scheduler.wait_caught_up()
            assert report is not None and report.opened == 3 and woken == [True]
            assert len(checkins(db)) == 3 and len(outbox(db, "checkin")) == 3
            # The catch-up was the tick job's first run: the job now follows the minute.
            assert scheduler.scheduler is not None
            job = scheduler.scheduler.get_job(TICK_JOB_ID)
            assert job is not None and job.next_run_time.second == 0
            assert await scheduler.wait_caught_up() is report
            later = await scheduler.tick()  # the next minute finds the occurrence done
            assert later.opened == 0
        finally:
            scheduler.shutdown()
    assert caplog.text.count("scheduler catch-up since") == 1
    assert len(checkins(db)) == 3


async def test_catch_up_beyond_the_grace_window_is_recorded_not_sent_in_the_background(
    db,
) -> None:
    """Run as the first tick, the catch-up still respects the grace window."""
    schedule(db, name="Daily", days="*", local_time="09:00")
    add_students(db, 2)
    set_watermark(db, utc(2026, 11, 23, 8, 0))
    clock = FixedClock(utc(2026, 11, 23, 11, 30))  # 150 min late: beyond the 120-minute grace
    scheduler = await start_scheduler(
        db, CoreSettings(), clock, jobs=JOBS, personal_data=PERSONAL_DATA
    )
    try:
        report = await scheduler.wait_caught_up()
    finally:
        scheduler.shutdown()
    assert report is not None and (report.opened, report.not_sent) == (0, 2)
    assert [c.status for c in checkins(db)] == ["not_sent"] * 2
    assert outbox(db, "checkin") == []


async def test_a_failed_catch_up_is_logged_and_left_to_the_next_tick(tmp_path, caplog) -> None:
    """A catch-up that fails is logged and releases its waiters; the next tick does the work."""
    db = Database(f"sqlite:///{tmp_path}/not-yet-migrated.db")
    clock = FixedClock(utc(2026, 11, 23, 9, 30))
    scheduler = CheckinScheduler(db, CoreSettings(), clock, jobs=JOBS, personal_data=PERSONAL_DATA)
    try:
        with caplog.at_level(logging.INFO, logger="scheduling"):
            scheduler.start(catch_up=True)
            assert await scheduler.wait_caught_up() is None  # no tables: the catch-up fails
            upgrade(db.engine)
            schedule(db, name="Daily", days="*", local_time="09:00")
            add_students(db, 2)
            set_watermark(db, utc(2026, 11, 23, 8, 0))
            report = await scheduler.tick()
    finally:
        scheduler.shutdown()
        db.dispose()
    assert "catch-up failed; the minute tick will retry it" in caplog.text
    assert report.opened == 2
