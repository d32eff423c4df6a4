"""A standing job runs one at a time, against APScheduler (SQLite file) and the fake: `run_now`
while a run of it is under way (handed to the runner, not returned: it waits for the contact's
turn) raises `JobStillRunning` naming the job, whoever started that run; the schedule firing it
while a `run_now`'s run is under way skips that run (counted `skipped`), as APScheduler skips
one meeting its own. Nothing is handed to the runner twice; once the run is over, the job runs
again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from test_scheduler import Harness, _until

from botfleet.ports.scheduling import JobStillRunning, StandingJob

#: Never due during a test: only `run_now` runs it.
HOURLY = StandingJob("hourly", "digest", interval=timedelta(hours=1), contact_id="ops")
#: Due 0.4 s after it is registered, then every 0.4 s.
TICK = StandingJob("tick", "ping", interval=timedelta(seconds=0.4), contact_id="owner")


@pytest.fixture(params=["apscheduler", "manual"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(request.param, tmp_path)
    h.gate = asyncio.Event()
    yield h
    h.gate.set()
    await h.scheduler.stop()


async def _refused(harness: Harness, job_id: str) -> JobStillRunning:
    """What `run_now(job_id)` raised, while a run of it is held at the gate; a second run
    handed to the runner instead fails the test (and opens the gate: nothing hangs)."""
    asked = asyncio.create_task(harness.scheduler.run_now(job_id))
    await _until(lambda: asked.done() or len(harness.calls) > 1)
    if not asked.done():
        assert harness.gate is not None
        harness.gate.set()
        await asked
        pytest.fail(f"{job_id} was handed to the runner twice at once")
    error = asked.exception()
    assert isinstance(error, JobStillRunning), error
    return error


async def test_a_second_run_now_while_one_is_under_way_is_refused(harness: Harness) -> None:
    await harness.start([HOURLY])
    assert harness.gate is not None
    first = asyncio.create_task(harness.scheduler.run_now("standing:hourly"))
    await _until(lambda: harness.calls)

    refused = await _refused(harness, "standing:hourly")

    assert refused.job_id == "standing:hourly"
    assert str(refused).startswith("'standing:hourly' is running already")
    assert len(harness.calls) == 1
    harness.gate.set()
    assert await first is not None
    assert await harness.scheduler.run_now("standing:hourly") is not None  # over: it runs
    assert len(harness.calls) == 2


async def test_the_schedule_skips_a_firing_while_a_run_now_is_under_way(
    harness: Harness,
) -> None:
    await harness.start([TICK])
    assert harness.gate is not None
    first = asyncio.create_task(harness.scheduler.run_now("standing:tick"))
    await _until(lambda: harness.calls)

    elapsing = asyncio.create_task(harness.elapse(0.5))  # it falls due on the way
    await _until(lambda: harness.scheduler.stats.counts["skipped"] == 1 or len(harness.calls) > 1)

    assert len(harness.calls) == 1  # (a second one would wait at the gate: opened at teardown)
    await elapsing
    harness.gate.set()
    assert await first is not None
    await harness.elapse(0.5)  # the next firing finds no run under way
    await _until(lambda: len(harness.calls) >= 2)
    assert harness.calls[1].run_id != harness.calls[0].run_id


async def test_a_run_now_while_the_schedules_run_is_under_way_is_refused(
    harness: Harness,
) -> None:
    await harness.start([TICK])
    assert harness.gate is not None
    elapsing = asyncio.create_task(harness.elapse(0.5))
    await _until(lambda: harness.calls)  # fired, and waiting for the contact

    await _refused(harness, "standing:tick")

    assert len(harness.calls) == 1
    harness.gate.set()
    await elapsing


@pytest.mark.parametrize("kind", ["apscheduler", "manual"])
async def test_a_run_now_whose_caller_is_cancelled_holds_the_job_until_its_run_ends(
    kind: str, tmp_path: Path
) -> None:
    """The runtime's runner waits for the contact's queue, whose worker runs the turn: a caller
    cancelled meanwhile stops waiting, but the run goes on and sends. The job stays taken
    until it has ended, so a second `run_now` then is refused and nothing is sent twice."""
    from botfleet.data_plane.runtime.sequencer import ContactSequencer

    h = Harness(kind, tmp_path)
    gate, queue, sent = asyncio.Event(), ContactSequencer(), []

    async def work(rid: str) -> str:
        await gate.wait()
        sent.append(rid)  # the messages go out
        return "ok"

    async def runner(contact_id: str, task: str, data: object, rid: str, **_: object) -> str:
        h.calls.append(rid)
        return await queue.submit(contact_id, lambda: work(rid))

    h.scheduler = h.build()
    h.scheduler.bind(runner)
    await h.scheduler.start([HOURLY])
    try:
        first = asyncio.create_task(h.scheduler.run_now("standing:hourly"))
        await _until(lambda: bool(h.calls))
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        with pytest.raises(JobStillRunning):  # not a second run held at the gate (a timeout)
            await asyncio.wait_for(h.scheduler.run_now("standing:hourly"), 3)
        gate.set()
        await _until(lambda: bool(sent))
        await asyncio.sleep(0.01)
        # Ended: the job runs again.
        assert await h.scheduler.run_now("standing:hourly") is not None
        assert len(sent) == 2
    finally:
        gate.set()
        await h.scheduler.stop()
