"""Jobs live in the tenant's job file: they survive a killed process and fire once, and standing
schedules are registered at boot without ever being duplicated."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.runtime import make_settings, make_tenant_config, running_app

# Schedules a reminder, then dies without closing anything (like a SIGKILL).
CHILD = dedent(
    """
    import asyncio, os, sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from botfleet.adapters.scheduling import APSchedulerTaskScheduler
    from botfleet.flows.effects import ScheduleTask

    async def main() -> None:
        scheduler = APSchedulerTaskScheduler(tenant_id="restart", jobs_db=Path(sys.argv[1]))
        async def must_not_run(*args):
            os._exit(3)
        scheduler.bind(must_not_run)
        await scheduler.start()
        due = datetime.now(UTC) + timedelta(seconds=0.3)
        await scheduler.schedule(ScheduleTask("reminder", due, "reminder:evt1", "c1", {"t": 1}))
        os._exit(0)

    asyncio.run(main())
    """
)


async def test_a_job_scheduled_by_a_killed_process_fires_once_after_restart(
    tmp_path: Path,
) -> None:
    jobs_db = tmp_path / "state.jobs.db"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(jobs_db), stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode == 0, stderr.decode()
    calls: list[tuple[Any, ...]] = []

    async def runner(*args: Any) -> None:
        calls.append(args)

    for _ in range(2):  # a second restart must not fire it again
        scheduler = APSchedulerTaskScheduler(tenant_id="restart", jobs_db=jobs_db)
        scheduler.bind(runner)
        await scheduler.start()
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        remaining = await scheduler.jobs()
        await scheduler.stop()
        assert remaining == []
    assert [c[:3] for c in calls] == [("c1", "reminder", {"t": 1})]


FLOW: dict[str, Any] = {
    "id": "standing",
    "initial_state": "IDLE",
    "tasks": {"digest": [{"action": "send_text", "text": "digest"}]},
    "states": {"IDLE": {"fallback": "IDLE"}},
}


def flow_with(schedules: dict[str, Any]) -> dict[str, Any]:
    return {**FLOW, "standing_schedules": schedules}


async def standing_jobs(state_db: Path, schedules: dict[str, Any]) -> list[tuple[str, str]]:
    config = make_tenant_config(flow_with(schedules))
    async with running_app(config, settings=make_settings(state_db)) as chat:
        scheduler = chat.runtime.scheduler
        assert isinstance(scheduler, APSchedulerTaskScheduler)
        jobs = await scheduler.jobs()
        return [(j.key, str(j.next_run_at)) for j in jobs if j.kind == "standing"]


async def test_standing_schedules_are_registered_once_over_restarts(tmp_path: Path) -> None:
    state_db = tmp_path / "state.db"
    rules = {
        "morning": {"task": "digest", "cron": "0 9 * * 1-5", "contact_id": "owner"},
        "hourly": {"task": "digest", "interval": "1h", "contact_id": "owner"},
    }
    first = await standing_jobs(state_db, rules)
    assert sorted(k for k, _ in first) == ["hourly", "morning"]
    assert (tmp_path / "state.jobs.db").exists()
    # the interval's next run is kept, not restarted from each boot
    assert await standing_jobs(state_db, rules) == first
    assert await standing_jobs(state_db, rules) == first

    changed = {"morning": {"task": "digest", "cron": "30 9 * * 1-5", "contact_id": "owner"}}
    [(key, next_run)] = await standing_jobs(state_db, changed)
    assert key == "morning"
    assert datetime.fromisoformat(next_run).astimezone(UTC).minute == 30
    assert await standing_jobs(state_db, {}) == []


async def test_a_pending_reminder_is_listed_after_an_app_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "state.db")
    config = make_tenant_config(flow_with({}))
    due = datetime.now(UTC) + timedelta(days=1)
    async with running_app(config, settings=settings) as chat:
        assert chat.runtime.scheduler is not None
        await chat.runtime.scheduler.schedule(ScheduleTask("digest", due, "k1", "c1"))
    async with running_app(config, settings=settings) as chat:
        response = await chat.http.get("/tasks")
    [job] = response.json()["tasks"]
    assert (job["key"], job["contact_id"]) == ("k1", "c1")
    assert datetime.fromisoformat(job["next_run_at"]) == due


def _scheduler(jobs_db: Path, **options: Any) -> APSchedulerTaskScheduler:
    return APSchedulerTaskScheduler(
        tenant_id="restart", jobs_db=jobs_db, grace=timedelta(seconds=1), **options
    )


async def test_cancel_and_replace_by_key_work_after_a_restart(tmp_path: Path) -> None:
    calls: list[tuple[Any, ...]] = []

    async def runner(*args: Any) -> None:
        calls.append(args)

    jobs_db, later = tmp_path / "state.jobs.db", datetime.now(UTC) + timedelta(minutes=5)
    scheduler = _scheduler(jobs_db)
    scheduler.bind(runner)
    await scheduler.start()
    await scheduler.schedule(ScheduleTask("reminder", later, "reminder:evt1", "c1", {}))
    await scheduler.schedule(ScheduleTask("reminder", later, "reminder:evt2", "c1", {"v": 1}))
    await scheduler.stop()

    scheduler = _scheduler(jobs_db)
    scheduler.bind(runner)
    await scheduler.start()
    try:
        assert await scheduler.cancel("reminder:evt1")
        soon = datetime.now(UTC) + timedelta(seconds=0.2)
        await scheduler.schedule(ScheduleTask("reminder", soon, "reminder:evt2", "c1", {"v": 2}))
        [job] = await scheduler.jobs()
        assert (job.key, job.data) == ("reminder:evt2", {"v": 2})
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert [(c[1], c[2]) for c in calls] == [("reminder", {"v": 2})]
    finally:
        await scheduler.stop()


async def test_a_reminder_still_running_at_stop_is_not_run_again_after_restart(
    tmp_path: Path,
) -> None:
    # At most once: the job left the file when it was handed over, so a stop that gives up
    # waiting for it (or a crash) loses it rather than sending it twice.
    calls: list[tuple[Any, ...]] = []
    release = asyncio.Event()

    async def slow(*args: Any) -> None:
        calls.append(args)
        await release.wait()

    jobs_db = tmp_path / "state.jobs.db"
    scheduler = _scheduler(jobs_db, stop_timeout_s=0.1)
    scheduler.bind(slow)
    await scheduler.start()
    due = datetime.now(UTC) + timedelta(seconds=0.1)
    await scheduler.schedule(ScheduleTask("reminder", due, "reminder:evt1", "c1", {}))
    for _ in range(100):
        if calls:
            break
        await asyncio.sleep(0.02)
    await scheduler.stop()  # the run is still going

    again = _scheduler(jobs_db)
    again.bind(slow)
    await again.start()
    try:
        await asyncio.sleep(0.3)
        assert len(calls) == 1
        assert await again.jobs() == []
    finally:
        release.set()
        await again.stop()
