"""What stored jobs call when due. Stored jobs name `fire_job` by import path: never rename it.

APScheduler pickles a job's function as a reference and its arguments by value, so the job cannot
hold the runtime itself. It holds the tenant id; the scheduler registers the tenant's runner here
when it starts and removes it when it stops.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from botfleet.adapters.scheduling.rules import ONE_OFF, run_id
from botfleet.contact_hash import hash_contact
from botfleet.ports.scheduling import TaskRunner

log = structlog.get_logger("botfleet.scheduler")

_RUNNERS: dict[str, TaskRunner] = {}


def register_runner(tenant_id: str, runner: TaskRunner) -> None:
    """Route the tenant's due jobs to `runner` (replaces a previous registration)."""
    _RUNNERS[tenant_id] = runner


def unregister_runner(tenant_id: str, runner: TaskRunner) -> None:
    """Forget the tenant's runner, unless another scheduler registered its own since."""
    # `==`, not `is`: a scheduler registers a bound method, and each access to it makes a new
    # object; equal ones are the same method of the same scheduler.
    if _RUNNERS.get(tenant_id) == runner:
        del _RUNNERS[tenant_id]


async def fire_job(
    *,
    tenant_id: str,
    job_id: str,
    kind: str,
    task: str,
    contact_id: str | None,
    data: dict[str, Any],
    key: str = "",
    run_at: datetime | None = None,
    fingerprint: str = "",
    late_within_s: int | None = None,
) -> None:
    """Run one due job through the tenant's runner (the runtime's per-contact order).

    `fingerprint` and `late_within_s` are for the job store (a standing rule's identity, a
    one-off job's own misfire window); APScheduler passes every stored argument here.
    """
    runner = _RUNNERS.get(tenant_id)
    if runner is None:  # a stopped scheduler's job still in flight: nothing may run it now
        log.error("task_without_runner", tenant=tenant_id, task=task, kind=kind)
        return
    moment = run_at if kind == ONE_OFF and run_at is not None else datetime.now(UTC)
    log.info(
        "task_due",
        tenant=tenant_id,
        task=task,
        kind=kind,
        contact=hash_contact(tenant_id, contact_id),
    )
    await runner(contact_id, task, dict(data), run_id(job_id, moment))
