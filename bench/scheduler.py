"""Benchmark: N students due in the same minute across 30 time zones; nothing may be missed.

    python -m bench scheduler --students 10000

Set-up: students round-robin over 30 zones (UTC-10 to UTC+13), one group per zone, and one
schedule per zone group whose *local* time is that zone's wall-clock time at the chosen UTC
instant T (09:00 in London, 18:00 in Tokyo, 23:00 the day before in Honolulu, ...). So every
student's check-in falls due at the same UTC minute, through 30 schedules interpreted in 30
zones: a large programme's 09:00 burst, with the zone logic exercised. (A single fixed-zone
schedule would also make everyone due at once, but through one zone only.)

Ours: the real `CheckinScheduler` jobs on a real `AsyncIOScheduler`; its minute tick is moved
to fire now, with an injected clock reading T + 20 s, and runs `run_due_work` once. Reported:
jobs registered, occurrences fired, check-ins opened, missed (must be 0).

Reference: the pattern the architecture rules out, one APScheduler `DateTrigger` job per
student at the same instant with APScheduler's defaults (misfire_grace_time=1 s, the asyncio
executor running plain functions in the loop's default thread pool). Each job does what a
per-student job does: read the student, write one check-in and its outbox row in one
transaction. Reported: jobs, executed, missed (EVENT_JOB_MISSED), errors, never ran; bounded
by `--reference-timeout`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import col

from bench.harness import (
    ZONES,
    add_schedule,
    add_zone_groups,
    emit,
    seed_students,
    table_count,
    temp_database,
)
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.features import build_registry
from bot.localtime import to_local
from bot.outbox import Push, push_rows
from bot.services.checkins import checkin_prompt
from bot.services.schedules import TARGET_GROUP
from scheduling.scheduler import TICK_JOB_ID, CheckinScheduler
from storage.db import Database
from storage.tables import Checkin, Outbox, Person

BENCHMARK = True

# A Monday; the instant everyone is due (09:00 in London in winter).
DUE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(prog="python -m bench scheduler", description=__doc__)
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--zones", type=int, default=len(ZONES), choices=range(1, len(ZONES) + 1))
    parser.add_argument("--timeout", type=float, default=120.0, help="cap for our tick (s)")
    parser.add_argument(
        "--reference-timeout", type=float, default=120.0, help="cap for per-student jobs (s)"
    )
    parser.add_argument(
        "--reference-lead",
        type=float,
        default=None,
        help="seconds from scheduler start to the jobs' instant (default 2 s + 0.1 ms/job)",
    )
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--log-level", default="ERROR")
    return parser.parse_args(argv)


def seed_programme(db: Database, students: int, zones: tuple[str, ...]) -> None:
    """Students over `zones`, a group per zone, and a schedule per group due at `DUE`."""
    created = DUE - timedelta(days=7)
    seed_students(db, students, platform="slack", now=created, zones=zones)
    groups = add_zone_groups(db, zones, created)
    for zone_name, group in groups.items():
        add_schedule(
            db,
            name=f"Check-in {zone_name}",
            local_time=f"{to_local(DUE, zone_name):%H:%M}",
            target=TARGET_GROUP,
            target_ref=group,
            created_at=created,
        )


async def run_ours(args: argparse.Namespace, zones: tuple[str, ...]) -> dict[str, Any]:
    """The minute tick on a real AsyncIOScheduler, fired now with the clock at DUE + 20 s."""
    with temp_database() as db:
        seed_programme(db, args.students, zones)
        settings = CoreSettings()
        clock = FixedClock(DUE + timedelta(seconds=20))
        registry = build_registry()
        checkins = CheckinScheduler(
            db, settings, clock, jobs=registry.jobs, personal_data=registry.personal_data
        )
        scheduler = AsyncIOScheduler(timezone=UTC)
        checkins.build_jobs(scheduler)
        checkins.scheduler = scheduler
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        outcome: dict[str, int] = {"executed": 0, "missed": 0, "errors": 0}

        def listen(event: JobExecutionEvent) -> None:
            if event.job_id != TICK_JOB_ID:
                return
            key = {EVENT_JOB_EXECUTED: "executed", EVENT_JOB_MISSED: "missed"}.get(
                event.code, "errors"
            )
            outcome[key] += 1
            loop.call_soon_threadsafe(done.set)

        scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        scheduler.start()
        try:
            started = time.perf_counter()
            # The tick is a cron job on the real minute; firing it now keeps the run short.
            scheduler.modify_job(TICK_JOB_ID, next_run_time=datetime.now(UTC))
            try:
                await asyncio.wait_for(done.wait(), args.timeout)
            except TimeoutError:
                pass
            seconds = time.perf_counter() - started
            jobs = len(scheduler.get_jobs())
        finally:
            scheduler.shutdown(wait=False)
        with db.session() as session:
            opened = int(
                session.execute(
                    select_columns(func.count()).where(col(Checkin.due_at) == DUE)
                ).scalar_one()
            )
            occurrences = int(
                session.execute(
                    select_columns(func.count(func.distinct(Checkin.schedule_id))).where(
                        col(Checkin.due_at) == DUE
                    )
                ).scalar_one()
            )
        return {
            "jobs": jobs,
            "occurrences": occurrences,
            "checkins_opened": opened,
            "outbox_rows": table_count(db, Outbox),
            "missed": args.students - opened,
            "tick_seconds": round(seconds, 3),
            "tick_events": outcome,
        }


def open_one_checkin(db: Database, person_id: int, due: datetime) -> None:
    """A per-student job's work: read the student, write a check-in and its outbox row."""
    with db.session() as session:
        person = session.get(Person, person_id)
        assert person is not None
        checkin = Checkin(
            person_id=person_id,
            occurrence_key=f"ref:{due:%Y-%m-%d}",
            opened_at=datetime.now(UTC),
            due_at=due,
        )
        session.add(checkin)
        session.flush()
        assert checkin.id is not None
        push_rows(
            session,
            [
                Push(
                    dedupe_key=f"checkin:ref:{person_id}:{due:%Y-%m-%d}",
                    message=checkin_prompt(checkin.id, person.name),
                    person=person,
                    kind="checkin",
                    checkin_id=checkin.id,
                )
            ],
            datetime.now(UTC),
            "UTC",
        )


async def run_reference(args: argparse.Namespace, zones: tuple[str, ...]) -> dict[str, Any]:
    """One DateTrigger job per student at one instant, APScheduler defaults throughout."""
    with temp_database() as db:
        seed_students(db, args.students, platform="slack", now=DUE, zones=zones)
        with db.session() as session:
            person_ids = [int(i) for i in session.execute(select_columns(col(Person.id))).scalars()]
        scheduler = AsyncIOScheduler(timezone=UTC)  # job defaults: misfire_grace_time=1
        lock = threading.Lock()
        counts = {"executed": 0, "missed": 0, "errors": 0}
        loop = asyncio.get_running_loop()
        all_seen = asyncio.Event()

        def listen(event: JobExecutionEvent) -> None:
            key = {EVENT_JOB_EXECUTED: "executed", EVENT_JOB_MISSED: "missed"}.get(
                event.code, "errors"
            )
            with lock:
                counts[key] += 1
                if sum(counts.values()) >= len(person_ids):
                    loop.call_soon_threadsafe(all_seen.set)

        scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        lead = (
            args.reference_lead
            if args.reference_lead is not None
            else 2.0 + 0.0001 * len(person_ids)
        )
        run_at = datetime.now(UTC) + timedelta(seconds=lead)
        for pid in person_ids:
            # What a per-student bot does: a job per student, all at the same local time.
            scheduler.add_job(
                open_one_checkin,
                DateTrigger(run_date=run_at, timezone=UTC),
                args=(db, pid, DUE),
                id=f"checkin-{pid}",
            )
        scheduler.start()
        jobs = len(scheduler.get_jobs())
        late_start = (datetime.now(UTC) - run_at).total_seconds()
        try:
            started = time.perf_counter()
            wait = max(0.0, (run_at - datetime.now(UTC)).total_seconds()) + args.reference_timeout
            try:
                await asyncio.wait_for(all_seen.wait(), wait)
            except TimeoutError:
                pass
            seconds = time.perf_counter() - started
        finally:
            scheduler.shutdown(wait=False)
        # Let worker threads that are mid-transaction finish before counting and disposing.
        await asyncio.sleep(0.5)
        with lock:
            seen = dict(counts)
        opened = table_count(db, Checkin)
        return {
            "jobs": jobs,
            "executed": seen["executed"],
            "missed": seen["missed"],
            "errors": seen["errors"],
            "never_ran": len(person_ids) - sum(seen.values()),
            "checkins_opened": opened,
            "not_opened": len(person_ids) - opened,
            "seconds": round(seconds, 3),
            "started_late_by_seconds": round(max(0.0, late_start), 3),
        }


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Ours, then the per-student reference."""
    zones = ZONES[: args.zones]
    result: dict[str, Any] = {
        "benchmark": "scheduler",
        "students": args.students,
        "zones": len(zones),
        "due_utc": DUE.isoformat(),
    }
    result.update(await run_ours(args, zones))
    if not args.no_reference:
        result["per_student_jobs"] = await run_reference(args, zones)
    return result


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; prints its JSON as the last line and returns it."""
    args = parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.ERROR))
    # APScheduler logs one warning per missed job; the counts say it better.
    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)
    return emit(asyncio.run(run_bench(args)))


if __name__ == "__main__":
    main()
