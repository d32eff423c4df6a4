"""A data plane down across a DST change: its standing jobs, read back from the SQLite job file,
run at most once for the time they missed, and carry on at the right wall time.

APScheduler reads the system clock, so the restart is played with its own pieces at a chosen
moment: the job file (`IndexedJobStore`), the stored `Job` and its unpickled trigger, and the
job's `_get_run_times` and the coalescing and grace rules `BaseScheduler._process_jobs` applies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler

from botfleet.adapters.scheduling.dispatch import fire_job
from botfleet.adapters.scheduling.jobstore import IndexedJobStore, open_job_db
from botfleet.adapters.scheduling.triggers import build_trigger
from botfleet.ports.scheduling import StandingJob

MADRID = ZoneInfo("Europe/Madrid")
GRACE_S = 300


def store_job(jobs_db: Path, cron: str, next_run: datetime) -> None:
    """What the data plane left in its job file when it went down."""
    scheduler = BackgroundScheduler(timezone=UTC)
    store = IndexedJobStore(open_job_db(jobs_db), misfire_grace_s=GRACE_S)
    store.start(scheduler, "default")
    trigger = build_trigger(StandingJob("nightly", "digest", cron=cron, timezone="Europe/Madrid"))
    job = Job(
        scheduler,
        id="standing:nightly",
        func=fire_job,
        trigger=trigger,
        executor="default",
        args=(),
        kwargs={
            "tenant_id": "t",
            "job_id": "standing:nightly",
            "kind": "standing",
            "task": "digest",
            "contact_id": "owner",
            "data": {},
        },
        name="digest",
        misfire_grace_time=GRACE_S,
        coalesce=True,
        max_instances=1,
        next_run_time=next_run,
    )
    store.add_job(job)
    store.shutdown()


def restart_at(jobs_db: Path, now: datetime) -> tuple[list[datetime], datetime | None]:
    """The runs a restart at `now` hands over (coalesced, inside the grace window) and the job's
    next run time afterwards."""
    scheduler = BackgroundScheduler(timezone=UTC)
    store = IndexedJobStore(open_job_db(jobs_db), misfire_grace_s=GRACE_S)
    store.start(scheduler, "default")
    try:
        (job,) = store.get_due_jobs(now) or store.get_all_jobs()
        run_times = job._get_run_times(now)[-1:]  # coalesce: the latest missed run only
        ran = [t for t in run_times if (now - t).total_seconds() <= GRACE_S]
        following = job.trigger.get_next_fire_time(run_times[-1], now) if run_times else None
        return ran, following if run_times else job.next_run_time
    finally:
        store.shutdown()


def local(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(MADRID).strftime("%m-%d %H:%M %Z")


@pytest.mark.parametrize(
    ("down_until", "ran"),
    [
        # 02:32 winter time: 62 minutes after the summer-time 02:30 it missed: beyond the grace
        # window, so nothing runs, and the winter-time 02:30 is not a second run of that night.
        (datetime(2024, 10, 27, 1, 32, tzinfo=UTC), []),
        # 02:33 summer time, 3 minutes late: it runs once, late.
        (datetime(2024, 10, 27, 0, 33, tzinfo=UTC), ["10-27 02:30 CEST"]),
    ],
)
def test_a_nightly_job_runs_at_most_once_on_the_night_the_clocks_go_back(
    tmp_path: Path, down_until: datetime, ran: list[str]
) -> None:
    jobs_db = tmp_path / "state.jobs.db"
    store_job(jobs_db, "30 2 * * *", datetime(2024, 10, 27, 0, 30, tzinfo=UTC))
    runs, following = restart_at(jobs_db, down_until)
    assert [local(t) for t in runs] == ran
    assert local(following) == "10-28 02:30 CET"


def test_a_nightly_job_at_a_time_the_spring_change_skips_runs_once(tmp_path: Path) -> None:
    jobs_db = tmp_path / "state.jobs.db"
    # Stored before the change: 02:30 does not exist on 31 March; it runs at 03:30 summer time.
    store_job(jobs_db, "30 2 * * *", datetime(2024, 3, 30, 1, 30, tzinfo=UTC))
    runs, following = restart_at(jobs_db, datetime(2024, 3, 30, 1, 31, tzinfo=UTC))
    assert [local(t) for t in runs] == ["03-30 02:30 CET"]
    assert local(following) == "03-31 03:30 CEST"
    # Down again across the change, back 2 minutes after that run was due.
    assert following is not None
    store_job(tmp_path / "again.jobs.db", "30 2 * * *", following)
    back = datetime(2024, 3, 31, 1, 32, tzinfo=UTC)
    runs, following = restart_at(tmp_path / "again.jobs.db", back)
    assert [local(t) for t in runs] == ["03-31 03:30 CEST"]
    assert local(following) == "04-01 02:30 CEST"


def test_an_hourly_job_runs_in_both_passes_of_the_repeated_hour_after_a_restart(
    tmp_path: Path,
) -> None:
    jobs_db = tmp_path / "state.jobs.db"
    store_job(jobs_db, "0 * * * *", datetime(2024, 10, 27, 0, 0, tzinfo=UTC))  # 02:00 CEST
    runs, following = restart_at(jobs_db, datetime(2024, 10, 27, 0, 1, tzinfo=UTC))
    assert [local(t) for t in runs] == ["10-27 02:00 CEST"]
    assert local(following) == "10-27 02:00 CET"
