"""Scheduler routes for the control plane: `GET /tasks` (pending jobs), `POST /run-task` (run now).

Both are internal: `Authorization: Bearer <DP_INTERNAL_TOKEN>`. `GET /tasks` follows `/usage`:
with no token configured (development) it answers loopback clients only. `POST /run-task` sends
messages to contacts, so it always needs the token: 401 without one, 403 with a wrong one or
when the data plane has none configured.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from botfleet.contact_hash import hash_contact
from botfleet.data_plane.api.internal_auth import check_actor, check_reader
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.runtime.task_outcome import TaskStatus
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.flows.suggestions import closest
from botfleet.http_guards import MAX_BODY_BYTES
from botfleet.ports.scheduling import ScheduledJob, TaskScheduler, run_id
from botfleet.web import Operation, json_body, query_of, read_body

MAX_TASKS = 1000


class TaskView(BaseModel):
    job_id: str
    kind: str
    task: str
    contact_id: str | None
    key: str
    next_run_at: datetime | None
    data: dict[str, Any]

    @classmethod
    def of(cls, job: ScheduledJob) -> TaskView:
        return cls(
            job_id=job.job_id,
            kind=job.kind,
            task=job.task,
            contact_id=job.contact_id,
            key=job.key,
            next_run_at=job.next_run_at,
            data=job.data,
        )


class TaskList(BaseModel):
    tasks: list[TaskView]
    #: Tasks in this answer (at most `limit`).
    count: int
    #: More jobs match than `limit`: the list stops at the `limit` soonest.
    truncated: bool = False


class TaskQuery(BaseModel):
    """`GET /tasks` filters."""

    contact_id: str | None = Field(default=None, max_length=191)
    task: str | None = Field(default=None, max_length=191)
    due_after: datetime | None = Field(default=None, description="ISO time with offset")
    due_before: datetime | None = Field(default=None, description="ISO time with offset")
    limit: int = Field(default=200, ge=1, le=MAX_TASKS)


class RunTaskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=191)
    contact_id: str = Field(min_length=1, max_length=191)
    data: dict[str, Any] = Field(default_factory=dict)


class RunTaskResult(BaseModel):
    status: TaskStatus = Field(
        description="`done`: the task ran, its turn is committed, whatever became of its "
        "messages (200). `skipped`: it did not run (a task run with the same id ran before; "
        "200). `failed`: it raised and nothing was committed, logged as `task_failed` (500)",
    )
    task: str
    contact_id: str
    contact_hash: str = Field(
        description="The contact as the data plane's log lines name it (a keyed hash)"
    )
    run_id: str
    sent: int | None = Field(
        default=None,
        description="The task's messages delivered: accepted by the provider (WhatsApp, "
        "Telegram), or stored in the outbox the web chat reads. Counted from the task's own "
        "turn, never another turn of the contact; null when unknown (the send raised an error, "
        "logged as `send_failed`) or the task failed",
    )
    failed: int | None = Field(
        default=None,
        description="The task's messages not delivered: refused by the provider, or not tried "
        "after an error that made the contact unreachable (a Telegram chat that blocked the "
        "bot); null as for `sent`",
    )


def _runtime(request: Request) -> ConversationRuntime:
    runtime: ConversationRuntime = request.app.state.runtime
    return runtime


def _scheduler(runtime: ConversationRuntime) -> TaskScheduler:
    if runtime.scheduler is None:
        # For good, not for a while: no Retry-After to wait for.
        raise HTTPException(501, "this data plane runs without a scheduler")
    return runtime.scheduler


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise HTTPException(422, f"{name}: give a UTC offset, e.g. 2024-05-06T09:00:00+02:00")
    return value


def tasks_operations(settings: DataPlaneSettings) -> list[Operation]:
    async def list_tasks(request: Request) -> Response:
        """Pending scheduled jobs (reminders and standing schedules), soonest first."""
        check_reader(request, settings)
        query = query_of(TaskQuery, request)
        scheduler = _scheduler(_runtime(request))
        jobs = await scheduler.jobs(
            contact_id=query.contact_id,
            task=query.task,
            due_after=_aware("due_after", query.due_after),
            due_before=_aware("due_before", query.due_before),
            limit=query.limit + 1,  # one more than shown: whether the list is cut short
        )
        shown = jobs[: query.limit]
        found = TaskList(
            tasks=[TaskView.of(j) for j in shown],
            count=len(shown),
            truncated=len(jobs) > query.limit,
        )
        return JSONResponse(found.model_dump(mode="json"))

    async def run_task(request: Request) -> Response:
        """Run a flow task for a contact now (the control plane's "run now"), in its turn order."""
        check_actor(request, settings)
        body = json_body(RunTaskRequest, await read_body(request, MAX_BODY_BYTES))
        runtime = _runtime(request)
        tasks = runtime.live.flow.tasks
        if body.task not in tasks:
            raise HTTPException(404, unknown_task(body.task, runtime.live.flow.id, list(tasks)))
        rid = run_id(f"manual:{body.task}", runtime.clock.now())
        outcome = await runtime.run_task(body.contact_id, body.task, body.data, rid)
        sends = outcome.sends if outcome.status != "failed" else None
        done = RunTaskResult(
            status=outcome.status,
            task=body.task,
            contact_id=body.contact_id,
            contact_hash=hash_contact(runtime.ctx.tenant.id, body.contact_id),
            run_id=rid,
            sent=None if sends is None else sends.sent,
            failed=None if sends is None else sends.failed,
        )
        code = 500 if outcome.status == "failed" else 200
        return JSONResponse(done.model_dump(mode="json"), status_code=code)

    tags = ("internal",)
    return [
        Operation(
            "GET",
            "/tasks",
            list_tasks,
            summary="List Tasks",
            tags=tags,
            query=TaskQuery,
            answer=TaskList,
        ),
        Operation(
            "POST",
            "/run-task",
            run_task,
            summary="Run Task",
            tags=tags,
            body=RunTaskRequest,
            answer=RunTaskResult,
        ),
    ]


def unknown_task(task: str, flow_id: str, tasks: list[str]) -> str:
    """The 404's detail, as the validator words an unknown task: the likely one, and the rest."""
    text = f"unknown task {task[:100]!r} in flow {flow_id}"
    likely = closest(task, tasks)
    if likely is not None:
        text += f" (did you mean {likely!r}?)"
    return text + (f" (tasks: {', '.join(sorted(tasks))})" if tasks else " (it has no tasks)")
