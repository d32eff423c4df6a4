"""A stopped scheduler's runner is forgotten: a job still in flight then has nothing to run it,
rather than running into a runtime whose stores are closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog

from botfleet.adapters.scheduling import APSchedulerTaskScheduler, fire_job

TENANT = "stopped-runner"


async def fire() -> list[dict[str, Any]]:
    with structlog.testing.capture_logs() as logs:
        await fire_job(
            tenant_id=TENANT, job_id="once:k", kind="one_off", task="reminder",
            contact_id="c1", data={},
        )  # fmt: skip
    return logs


async def test_a_job_fired_after_stop_does_not_reach_the_runner(tmp_path: Path) -> None:
    runs: list[str] = []

    async def runner(contact_id: str | None, task: str, data: dict[str, Any], run: str) -> None:
        runs.append(run)

    scheduler = APSchedulerTaskScheduler(tenant_id=TENANT, jobs_db=tmp_path / "state.jobs.db")
    scheduler.bind(runner)
    await scheduler.start()
    await fire()
    assert len(runs) == 1  # while running, due jobs reach the runner
    await scheduler.stop()
    logs = await fire()
    assert len(runs) == 1
    assert [line["event"] for line in logs] == ["task_without_runner"]


async def test_a_newer_schedulers_runner_is_kept_when_the_older_one_stops(tmp_path: Path) -> None:
    runs: list[str] = []

    async def older(*_: Any) -> None:
        runs.append("older")

    async def newer(*_: Any) -> None:
        runs.append("newer")

    first = APSchedulerTaskScheduler(tenant_id=TENANT, jobs_db=None)
    first.bind(older)
    await first.start()
    second = APSchedulerTaskScheduler(tenant_id=TENANT, jobs_db=None)
    second.bind(newer)
    await second.start()
    await first.stop()
    await fire()
    await second.stop()
    assert runs == ["newer"]
