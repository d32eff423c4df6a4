"""ContactSequencer: one job at a time per contact, in submission order; contacts in parallel."""

from __future__ import annotations

import asyncio

import pytest

from botfleet.data_plane.runtime.sequencer import ContactSequencer, JobCancelled


async def test_jobs_of_one_key_run_in_order_never_overlapping() -> None:
    sequencer = ContactSequencer()
    running: list[int] = []
    seen: list[int] = []

    async def job(i: int) -> int:
        running.append(i)
        assert len(running) == 1, f"job {i} overlapped {running}"
        await asyncio.sleep(0)
        seen.append(i)
        running.remove(i)
        return i * 10

    futures = [sequencer.submit("c1", lambda i=i: job(i)) for i in range(20)]
    assert await asyncio.gather(*futures) == [i * 10 for i in range(20)]
    assert seen == list(range(20))
    assert sequencer.busy_keys == 0


async def test_different_keys_run_concurrently() -> None:
    sequencer = ContactSequencer()
    both_started = asyncio.Event()
    started: set[str] = set()

    async def job(key: str) -> str:
        started.add(key)
        if len(started) == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), timeout=1)  # deadlocks if run one by one
        return key

    results = await asyncio.gather(
        sequencer.submit("a", lambda: job("a")), sequencer.submit("b", lambda: job("b"))
    )
    assert results == ["a", "b"]


async def test_a_failing_job_reports_to_its_caller_and_the_key_carries_on() -> None:
    sequencer = ContactSequencer()

    async def boom() -> None:
        raise ValueError("bad message")

    async def fine() -> str:
        return "ok"

    failed = sequencer.submit("c1", boom)
    after = sequencer.submit("c1", fine)
    with pytest.raises(ValueError, match="bad message"):
        await failed
    assert await after == "ok"


async def test_a_caller_that_gives_up_does_not_stop_the_job() -> None:
    sequencer = ContactSequencer()
    done = asyncio.Event()

    async def slow() -> None:
        await asyncio.sleep(0.01)
        done.set()

    future = sequencer.submit("c1", slow)
    future.cancel()
    await sequencer.drain()
    assert done.is_set()


async def test_drain_waits_for_work_submitted_while_draining() -> None:
    sequencer = ContactSequencer()
    order: list[str] = []

    async def first() -> None:
        await asyncio.sleep(0)
        sequencer.submit("other", second)
        order.append("first")

    async def second() -> None:
        await asyncio.sleep(0)
        order.append("second")

    sequencer.submit("c1", first)
    await sequencer.drain()
    assert order == ["first", "second"]
    assert sequencer.busy_keys == 0


async def test_cancel_stops_stuck_jobs_so_drain_returns() -> None:
    sequencer = ContactSequencer()

    async def stuck() -> None:
        await asyncio.Event().wait()

    running = sequencer.submit("c1", stuck)
    queued = sequencer.submit("c1", stuck)
    await asyncio.sleep(0)
    sequencer.cancel()
    await asyncio.wait_for(sequencer.drain(), timeout=1)
    assert sequencer.busy_keys == 0
    assert running.cancelled()
    assert queued.cancelled()


async def test_queued_lists_the_jobs_waiting_behind_the_running_one() -> None:
    sequencer = ContactSequencer()
    release = asyncio.Event()
    seen: list[list[object]] = []

    async def first() -> None:
        await release.wait()

    async def later() -> None:
        return None

    jobs = [first, later, later]
    futures = [sequencer.submit("c1", job) for job in jobs]
    await asyncio.sleep(0)  # the worker starts `first`
    seen.append(sequencer.queued("c1"))
    release.set()
    await asyncio.gather(*futures)
    assert seen == [[later, later]]
    assert sequencer.queued("c1") == []
    assert sequencer.queued("nobody") == []


async def test_a_job_cancelled_from_within_does_not_take_the_queue_with_it() -> None:
    """A job that raises `CancelledError` of its own (it awaited something another task
    cancelled) fails alone: the worker was not cancelled, so the jobs behind it still run."""
    sequencer = ContactSequencer()

    async def cancelled_inside() -> None:
        raise asyncio.CancelledError

    async def fine() -> str:
        return "ok"

    failed = sequencer.submit("c1", cancelled_inside)
    after = sequencer.submit("c1", fine)
    assert await asyncio.wait_for(after, timeout=1) == "ok"
    with pytest.raises(JobCancelled):  # an error for its caller, who was not cancelled
        await failed
    await sequencer.drain()
    assert sequencer.busy_keys == 0


async def test_drain_wakes_jobs_that_wait_for_it() -> None:
    """`draining` is set while `drain` waits (a retry's pause ends early), and cleared after."""
    sequencer = ContactSequencer()
    woke = asyncio.Event()

    async def pausing() -> None:
        await asyncio.wait_for(sequencer.draining.wait(), timeout=60)
        woke.set()

    sequencer.submit("c1", pausing)
    await asyncio.sleep(0)
    await asyncio.wait_for(sequencer.drain(), timeout=1)
    assert woke.is_set()
    assert not sequencer.draining.is_set()


async def test_a_running_job_is_woken_by_its_key_s_next_submission_only() -> None:
    sequencer = ContactSequencer()
    loop = asyncio.get_running_loop()
    waited: list[float] = []

    async def waiting_job() -> None:
        started = loop.time()
        await sequencer.next_submission("c1", 5.0)
        waited.append(loop.time() - started)
        started = loop.time()
        await sequencer.next_submission("c1", 0.05)  # nothing more comes: the timeout
        waited.append(loop.time() - started)

    async def nothing() -> None:
        return None

    running = sequencer.submit("c1", waiting_job)
    await asyncio.sleep(0.05)
    sequencer.submit("c2", nothing)  # another key's job does not wake it
    await asyncio.sleep(0.05)
    assert not waited
    sequencer.submit("c1", nothing)
    await running
    assert waited[0] < 1.0 and 0.04 <= waited[1] < 1.0
