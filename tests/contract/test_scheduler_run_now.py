"""`RunsJobsNow` contract, against APScheduler (SQLite file) and the fake: a pending job looked
up by id, and run now as it would fire (a one-off under its due time's run id, out of the store
so it does not fire again; a standing job under this moment's, its schedule kept); a cancel of
its key while the run waits for the contact's turn voids it, as for a fired run.

A strict run (`strict=True`) hands the runner `strict=True` and a claim: a one-off job leaves
the store only when the run claims it (its turn rendered), so a refused run leaves it pending."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from test_scheduler import Harness, _until

from botfleet.ports.scheduling import Claim, RunsJobsNow, StandingJob, one_off_run_id

#: What `StrictHarness.record` answers: a strict run's refusal (its data has `refuse`), its
#: claim granted or denied, and a run that was not strict.
REFUSED, CLAIMED, UNCLAIMED, RAN = "refused", "claimed", "unclaimed", "ran"


@dataclass
class StrictHarness(Harness):
    """A runner that takes strict runs as the runtime does: a strict run whose data says
    `refuse` is refused before it claims (a template lacked a value); any other claims."""

    strict_runs: list[tuple[str, bool, bool]] = field(default_factory=list)

    async def record(  # type: ignore[override]
        self,
        contact_id: str | None,
        task: str,
        data: dict[str, Any],
        rid: str,
        *,
        strict: bool = False,
        claim: Claim | None = None,
    ) -> str:
        await super().record(contact_id, task, data, rid)
        self.strict_runs.append((rid, strict, claim is not None))
        if not strict:
            return RAN
        if data.get("refuse"):
            return REFUSED
        return UNCLAIMED if claim is not None and not await claim() else CLAIMED


@pytest.fixture(params=["apscheduler", "manual"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StrictHarness]:
    h = StrictHarness(request.param, tmp_path)
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


async def test_a_strict_run_refused_leaves_the_one_off_job_pending_and_it_fires_when_due(
    harness: StrictHarness,
) -> None:
    request = harness.request("reminder:e1", 0.4, refuse=True)
    await harness.scheduler.schedule(request)
    before = await harness.scheduler.job("once:reminder:e1")

    ran = await harness.scheduler.run_now("once:reminder:e1", strict=True)

    assert ran is not None and ran.outcome == REFUSED
    assert ran.run_id == one_off_run_id("reminder:e1", request.run_at)
    assert harness.strict_runs == [(ran.run_id, True, True)]
    assert await harness.scheduler.job("once:reminder:e1") == before
    await harness.elapse(0.8)  # past its due time: it fires as it would have, not strictly
    assert harness.strict_runs == [(ran.run_id, True, True), (ran.run_id, False, False)]
    assert await harness.scheduler.job("once:reminder:e1") is None


async def test_a_strict_run_that_renders_takes_the_one_off_job_and_it_does_not_fire_again(
    harness: StrictHarness,
) -> None:
    request = harness.request("reminder:e1", 0.4, time="10:00")
    await harness.scheduler.schedule(request)

    ran = await harness.scheduler.run_now("once:reminder:e1", strict=True)

    assert ran is not None and ran.outcome == CLAIMED
    assert ran.run_id == one_off_run_id("reminder:e1", request.run_at)
    assert (ran.job.task, ran.job.contact_id, ran.job.data) == ("reminder", "c1", {"time": "10:00"})
    assert [j.job_id for j in await harness.scheduler.jobs()] == ["standing:nightly"]
    await harness.elapse(0.8)
    assert harness.strict_runs == [(ran.run_id, True, True)]
    assert await harness.scheduler.run_now("once:reminder:e1", strict=True) is None


async def test_a_strict_run_of_a_job_scheduled_again_meanwhile_claims_nothing(
    harness: StrictHarness,
) -> None:
    await harness.scheduler.schedule(harness.request("reminder:e1", 60, time="10:00"))
    harness.gate = asyncio.Event()

    running = asyncio.create_task(harness.scheduler.run_now("once:reminder:e1", strict=True))
    await _until(lambda: harness.calls)
    await harness.scheduler.schedule(harness.request("reminder:e1", 60, time="11:00"))
    harness.gate.set()
    ran = await running

    assert ran is not None and ran.outcome == UNCLAIMED
    again = await harness.scheduler.job("once:reminder:e1")
    assert again is not None and again.data == {"time": "11:00"}


async def test_a_strict_run_is_in_flight_so_a_cancel_voids_it(harness: StrictHarness) -> None:
    await harness.scheduler.schedule(harness.request("reminder:e1", 60))
    harness.gate = asyncio.Event()

    running = asyncio.create_task(harness.scheduler.run_now("once:reminder:e1", strict=True))
    await _until(lambda: harness.calls)
    waiting = harness.calls[0].run_id
    assert harness.scheduler.wanted(waiting)
    assert await harness.scheduler.cancel("reminder:e1")
    assert not harness.scheduler.wanted(waiting)
    harness.gate.set()
    ran = await running
    assert ran is not None and ran.outcome == UNCLAIMED  # the job it would claim is gone


async def test_a_strict_run_of_a_standing_job_keeps_its_schedule(harness: StrictHarness) -> None:
    before = await harness.scheduler.job("standing:nightly")

    ran = await harness.scheduler.run_now("standing:nightly", strict=True)

    assert ran is not None and ran.outcome == CLAIMED
    assert ran.run_id.startswith("standing:nightly@")
    assert harness.strict_runs == [(ran.run_id, True, False)]  # strict, nothing to claim
    assert await harness.scheduler.job("standing:nightly") == before


async def test_a_strict_run_of_an_unknown_id_runs_nothing(harness: StrictHarness) -> None:
    assert await harness.scheduler.run_now("once:nope", strict=True) is None
    assert harness.calls == []
