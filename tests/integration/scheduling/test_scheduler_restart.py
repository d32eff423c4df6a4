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
