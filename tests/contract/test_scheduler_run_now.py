"""`RunsJobsNow` contract, against APScheduler (SQLite file) and the fake: a pending job looked
up by id, and run now as it would fire (a one-off under its due time's run id, out of the store
so it does not fire again; a standing job under this moment's, its schedule kept); a cancel of
its key while the run waits for the contact's turn voids it, as for a fired run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import pytest
from test_scheduler import Harness, _until

from botfleet.ports.scheduling import RunsJobsNow, StandingJob, one_off_run_id


@pytest.fixture(params=["apscheduler", "manual"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(request.param, tmp_path)
    await h.start([StandingJob("nightly", "digest", cron="0 3 * * *", contact_id="ops")])
    yield h
    await h.scheduler.stop()


async def test_both_schedulers_run_jobs_by_id(harness: Harness) -> None:
    assert isinstance(harness.scheduler, RunsJobsNow)


async def test_a_job_is_found_by_its_id_as_jobs_lists_it(harness: Harness) -> None:
    request = harness.request("reminder:e1", 60, time="10:00")
    await harness.scheduler.schedule(request)
    listed = {j.job_id: j for j in await harness.scheduler.jobs()}

    for job_id in ("once:reminder:e1", "standing:nightly"):
        assert await harness.scheduler.job(job_id) == listed[job_id]
    assert await harness.scheduler.job("once:nope") is None


async def test_a_one_off_job_runs_now_with_its_data_and_does_not_fire_again(
    harness: Harness,
) -> None:
    request = harness.request("reminder:e1", 0.4, time="10:00")
    await harness.scheduler.schedule(request)

    ran = await harness.scheduler.run_now("once:reminder:e1")

    assert ran is not None
    assert ran.run_id == one_off_run_id("reminder:e1", request.run_at)
    assert (ran.job.task, ran.job.contact_id, ran.job.data) == ("reminder", "c1", {"time": "10:00"})
    assert [(c.contact_id, c.task, c.data, c.run_id) for c in harness.calls] == [
        ("c1", "reminder", {"time": "10:00"}, ran.run_id)
    ]
    assert [j.job_id for j in await harness.scheduler.jobs()] == ["standing:nightly"]
    await harness.elapse(0.8)  # past its due time
    assert len(harness.calls) == 1
    assert await harness.scheduler.run_now("once:reminder:e1") is None


async def test_a_standing_job_runs_now_and_keeps_its_next_run(harness: Harness) -> None:
    before = await harness.scheduler.job("standing:nightly")

    ran = await harness.scheduler.run_now("standing:nightly")

    assert ran is not None
    assert ran.run_id.startswith("standing:nightly@")
    assert ran.job == before
    assert [(c.contact_id, c.task) for c in harness.calls] == [("ops", "digest")]
    after = await harness.scheduler.job("standing:nightly")
    assert after is not None and before is not None
    assert after.next_run_at is not None and before.next_run_at is not None
    assert after.next_run_at.astimezone(UTC) == before.next_run_at.astimezone(UTC)


async def test_a_cancel_while_the_run_waits_for_the_contact_voids_it(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("reminder:e1", 60))
    harness.gate = asyncio.Event()

    running = asyncio.create_task(harness.scheduler.run_now("once:reminder:e1"))
    await _until(lambda: harness.calls)
    waiting = harness.calls[0].run_id
    assert harness.scheduler.wanted(waiting)
    assert await harness.scheduler.cancel("reminder:e1")
    assert not harness.scheduler.wanted(waiting)
    harness.gate.set()
    assert await running is not None


async def test_an_unknown_id_runs_nothing(harness: Harness) -> None:
    assert await harness.scheduler.run_now("once:nope") is None
    assert await harness.scheduler.run_now("standing:nope") is None
    assert harness.calls == []
