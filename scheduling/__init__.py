"""Scheduling: turns the schedules stored in the database into timed calls of core services."""

from scheduling.scheduler import CheckinScheduler, start_scheduler

__all__ = ["CheckinScheduler", "start_scheduler"]
