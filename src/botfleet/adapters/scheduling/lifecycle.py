"""Starting a tenant's scheduler in the composition root, and stopping it with the app."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import structlog

from botfleet.adapters.scheduling.standing import standing_jobs_of
from botfleet.flows.schema import FlowSpec
from botfleet.ports.scheduling import StandingSync, TaskRunner

log = structlog.get_logger("botfleet.scheduler")


async def start_scheduler(
    scheduler: Any,
    stack: AsyncExitStack,
    *,
    runner: TaskRunner,
    flow: FlowSpec,
    timezone: str,
) -> StandingSync:
    """Bind `runner`, start `scheduler` with the flow's standing schedules, stop it on `stack`.

    Call it after entering what must outlive the scheduler (the stores) and before pushing the
    runtime's drain: the stack closes in reverse, so the drain runs first (its turns can still
    schedule), then the scheduler stops, waiting for the runs it handed over, then the stores.
    A standing schedule that cannot be used is logged (`standing_schedule_invalid`) and left
    out; the others and the data plane carry on. A scheduler without a lifecycle (a bare
    `TaskScheduler` test double) is used as it is.
    """
    if not hasattr(scheduler, "start"):
        return StandingSync()
    standing = standing_jobs_of(flow, timezone)
    for problem in standing.problems:
        log.error("standing_schedule_invalid", detail=problem)
    scheduler.bind(runner)
    report: StandingSync = await scheduler.start(standing.jobs)
    stack.push_async_callback(scheduler.stop)
    return report
