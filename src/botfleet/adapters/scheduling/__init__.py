"""Scheduler adapters: APScheduler 3 with a SQLite job file (the fake lives in botfleet.testing).

Both implement `botfleet.ports.scheduling.SchedulerService`; `tests/contract/test_scheduler.py`
runs one suite against each.
"""

from __future__ import annotations

from botfleet.adapters.scheduling.apscheduler import APSchedulerTaskScheduler, jobs_db_beside
from botfleet.adapters.scheduling.dispatch import fire_job
from botfleet.adapters.scheduling.lifecycle import start_scheduler
from botfleet.adapters.scheduling.standing import StandingJobs, standing_jobs_of
from botfleet.adapters.scheduling.stats import SchedulerStats
from botfleet.adapters.scheduling.triggers import TenantCronTrigger, build_trigger

__all__ = [
    "APSchedulerTaskScheduler",
    "SchedulerStats",
    "StandingJobs",
    "TenantCronTrigger",
    "build_trigger",
    "fire_job",
    "jobs_db_beside",
    "standing_jobs_of",
    "start_scheduler",
]
