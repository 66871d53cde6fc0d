"""The nightly privacy purge: scheduled once a day, and purging what has expired."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlmodel import select

from bot.clock import FixedClock
from bot.config import CoreSettings
from scheduling import CheckinScheduler
from scheduling.scheduler import PURGE_HOUR_UTC, PURGE_JOB_ID
from storage.db import Database
from storage.tables import MoodEntry, Person
from tests.scheduling.world import utc
from tests.tick import JOBS, PERSONAL_DATA


async def test_purge_runs_nightly_as_its_own_coalescing_job(db: Database) -> None:
    """The scheduler has a daily purge job at a quiet hour that runs once after downtime."""
    scheduler = CheckinScheduler(
        db,
        CoreSettings(),
        FixedClock(utc(2026, 11, 23, 0, 0)),
        jobs=JOBS,
        personal_data=PERSONAL_DATA,
    )
    scheduler.start()
    try:
        assert scheduler.scheduler is not None
        job = scheduler.scheduler.get_job(PURGE_JOB_ID)
        assert job is not None and isinstance(job.trigger, CronTrigger)
        assert str(job.trigger.fields[5]) == str(PURGE_HOUR_UTC)  # the hour field
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    finally:
        scheduler.shutdown()


async def test_purge_job_removes_expired_notes_and_keeps_scores(db: Database) -> None:
    """Running the job's work nulls notes older than RETENTION_DAYS; newer notes stay."""
    now = utc(2026, 11, 23, 3, 30)
    with db.session() as session:
        person = Person(email="p@example.edu", name="P", role="student", created_at=now)
        session.add(person)
        session.flush()
        assert person.id is not None
        session.add(
            MoodEntry(
                person_id=person.id, score=2, note="old", recorded_at=now - timedelta(days=31)
            )
        )
        session.add(
            MoodEntry(
                person_id=person.id, score=4, note="new", recorded_at=now - timedelta(days=29)
            )
        )
    scheduler = CheckinScheduler(
        db, CoreSettings(retention_days=30), FixedClock(now), jobs=JOBS, personal_data=PERSONAL_DATA
    )
    assert scheduler.purge_now() == 1
    with db.session() as session:
        rows = session.exec(select(MoodEntry).order_by(MoodEntry.recorded_at)).all()
        assert [(m.score, m.note) for m in rows] == [(2, None), (4, "new")]
