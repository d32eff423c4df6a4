"""Scheduling port: tasks the flow schedules for a contact (reminders) and standing schedules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from botfleet.flows.effects import ScheduleTask


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A pending job as the scheduler reports it (`GET /tasks`)."""

    job_id: str
    task: str
    contact_id: str | None
    next_run_at: datetime | None
    data: dict[str, Any] = field(default_factory=dict)
    kind: str = "one_off"  # "one_off" | "standing"


#: What the scheduler calls when a job is due: (contact_id, task, data, job_id).
TaskRunner = Callable[[str | None, str, dict[str, Any], str], Awaitable[None]]


class TaskScheduler(Protocol):
    async def schedule(self, request: ScheduleTask) -> None:
        """Schedule (or replace, by idempotency key) a one-off task for a contact."""
        ...

    async def cancel(self, idempotency_key: str) -> bool:
        """Cancel a pending task by idempotency key; False if there was none."""
        ...

    async def jobs(self) -> list[ScheduledJob]:
        """Pending jobs with their next run time."""
        ...
