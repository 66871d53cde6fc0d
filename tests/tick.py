"""The tick as the running bot does it: every feature's jobs, in registry order."""

from __future__ import annotations

from datetime import datetime

from bot.config import CoreSettings
from bot.features import build_registry
from bot.personal_data import PersonalData
from bot.registry import Job, Registry
from bot.tick import TickReport
from bot.tick import run_due_work as run_jobs
from storage.db import Database

REGISTRY: Registry = build_registry()
JOBS: tuple[Job, ...] = tuple(REGISTRY.jobs)
# The features' tables holding personal data (export, erasure and retention read them).
PERSONAL_DATA: tuple[PersonalData, ...] = tuple(REGISTRY.personal_data)


def run_due_work(db: Database, settings: CoreSettings, now: datetime) -> TickReport:
    """`bot.tick.run_due_work` with all the features' jobs."""
    return run_jobs(db, settings, now, JOBS)
