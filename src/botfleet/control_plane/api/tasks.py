"""Task routes: a flow task run now for a contact (the team answering a contact through the bot,
a reminder sent again), the pending scheduled jobs, a pending job run now or cancelled, all
relayed to the tenant's data plane (`POST /run-task`, `GET /tasks`, `POST /tasks/{job_id}/run`,
`DELETE /tasks/{job_id}`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from botfleet.control_plane.api.deps import ContainerDep, PrincipalDep, TenantIdPath, UoWDep
from botfleet.control_plane.api.relayed import DATA_PLANE_ERRORS, NO_STORE, relayed
from botfleet.control_plane.api.responses import AUTH_ERRORS, RequestErrorBody
from botfleet.control_plane.contact_models import MAX_CONTACT_ID
from botfleet.control_plane.models import ErrorBody
from botfleet.control_plane.services import tasks
from botfleet.control_plane.task_models import (
    DEFAULT_TASKS,
    MAX_JOB_ID,
    MAX_TASK_NAME,
    MAX_TASKS,
    STRICT,
    CancelledTaskView,
    RefusedJobView,
    RefusedRunView,
    RunJobView,
    RunTaskBody,
    RunTaskView,
    TaskListView,
)

router = APIRouter(prefix="/v1/tenants/{tenant_id}", tags=["tasks"], responses=AUTH_ERRORS)

RUN_ERRORS: dict[int | str, dict[str, Any]] = {
    **DATA_PLANE_ERRORS,
    403: {
        "model": ErrorBody,
        "description": "a viewer key (running a task needs the editor role), or a disabled "
        "tenant's own key (they may not run its tasks)",
    },
    404: {
        "model": ErrorBody,
        "description": "no such tenant (or another tenant's), or the flow the data plane runs "
        "has no task of that name (the answer names it)",
    },
    413: {
        "model": ErrorBody,
        "description": "the run is larger than the data plane takes (1 MiB as JSON)",
    },
    422: {
        "model": RefusedRunView | RequestErrorBody,
        "description": "a strict run refused: a template of the task lacks a value; the answer "
        "is the run's (`status: refused`, its `warnings`) with a `detail`, and nothing was "
        "sent, stored or scheduled. Or the request is invalid: `detail` alone",
    },
}
#: A strict run's refusal, as the control plane words it.
REFUSED = (
    "strict run refused: a template of the task lacks a value (see `warnings`); nothing was "
    "sent, stored or scheduled"
)

JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    **DATA_PLANE_ERRORS,
    403: {
        "model": ErrorBody,
        "description": "a disabled tenant's own key (they may not act on its contacts)",
    },
    404: {
        "model": ErrorBody,
        "description": "no such tenant (or another tenant's), or no pending job of that id "
        "on its data plane (it ran, was cancelled, or never existed)",
    },
}
RUN_JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    **JOB_ERRORS,
    409: {
        "model": ErrorBody,
        "description": "a standing job whose run (fired by its schedule, or asked for now) is "
        "under way: not run again, in the data plane's words; or the control plane cannot "
        "reach the tenant's data plane (no data_plane_url or credentials)",
    },
    422: {
        "model": RefusedJobView | RequestErrorBody,
        "description": "with `strict`, a run refused: a template of the task lacks a value; "
        "the answer is the run's (`status: refused`, its `warnings`) with a `detail`, nothing "
        "was sent and the job stays pending. Or the request is invalid: `detail` alone",
    },
}
CANCEL_ERRORS: dict[int | str, dict[str, Any]] = {
    **JOB_ERRORS,
    409: {
        "model": ErrorBody,
        "description": "a standing schedule (the flow's `standing_schedules`: remove it there), "
        "or the control plane cannot reach the tenant's data plane (no data_plane_url or "
        "credentials)",
    },
}
# `:path`, as on the data plane: a flow's key may hold a slash (sent as %2F).
JobIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_JOB_ID,
        description="As the pending jobs list it: `once:<key>` (a one-off task, e.g. a "
        "reminder) or `standing:<name>`; percent-encoded",
        examples=["once:reminder:34600111222"],
    ),
]

_ISO = "ISO time with its UTC offset (a time without one is refused with 422)"
DueQuery = Annotated[datetime | None, Query(description=_ISO, examples=["2024-05-06T09:00+02:00"])]


@router.post("/tasks/run", response_model=RunTaskView, responses=RUN_ERRORS)
async def run_task(
    tenant_id: TenantIdPath,
    body: RunTaskBody,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
) -> JSONResponse:
    """Run a task of the tenant's flow now for a contact, in the contact's order (never in the
    middle of one of its turns), with `data` as the task's data; answers once it has run.

    200 with the data plane's answer, whatever became of the task: `status` says it (`done`,
    `skipped`, or `failed`: its turn raised and nothing was committed; the data plane's own
    answer to that is a 500). With `strict`, 422 when a template lacks a value (`status:
    refused`, the `warnings` say which): nothing was sent. Audited as ``task.run`` (task,
    status, run id, counts), never naming the contact."""
    async with uow:
        with relayed():
            view = await tasks.run_task(
                uow, principal, container.box, container.tasks, tenant_id, body
            )
    return _run_answer(view)


@router.get("/tasks", response_model=TaskListView, responses=DATA_PLANE_ERRORS)
async def list_tasks(
    tenant_id: TenantIdPath,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
    contact_id: Annotated[
        str | None, Query(max_length=MAX_CONTACT_ID, description="Only this contact's jobs")
    ] = None,
    task: Annotated[
        str | None, Query(max_length=MAX_TASK_NAME, description="Only jobs of this task")
    ] = None,
    due_after: DueQuery = None,
    due_before: DueQuery = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_TASKS,
            description=f"At most this many (1 to {MAX_TASKS}, default {DEFAULT_TASKS}), "
            "the soonest; `truncated` says when more match",
        ),
    ] = DEFAULT_TASKS,
) -> JSONResponse:
    """The tenant's pending scheduled jobs (one-off tasks and standing schedules), soonest
    first, as its data plane lists them; filtered by contact, task and due time. Not
    audited, as the tenant's status (which shows the first of them) is not."""
    async with uow:
        with relayed():
            view = await tasks.list_tasks(
                uow, principal, container.box, container.tasks, tenant_id,
                contact_id=contact_id, task=task, due_after=due_after,
                due_before=due_before, limit=limit,
            )  # fmt: skip
    return JSONResponse(view.model_dump(mode="json"), headers=NO_STORE)


@router.post("/tasks/{job_id:path}/run", response_model=RunJobView, responses=RUN_JOB_ERRORS)
async def run_job(
    tenant_id: TenantIdPath,
    job_id: JobIdPath,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
    strict: Annotated[bool, Query(description=STRICT)] = False,
) -> JSONResponse:
    """Run a pending job now (a reminder due later, a standing schedule), with its own task,
    contact and data, as the data plane's scheduler runs it when it falls due; answers once it
    has run. A one-off job is then no longer pending and does not fire again; a standing job
    keeps its schedule.

    200 with the data plane's answer, as for `POST .../tasks/run` (`status`, `sent`,
    `failed`, `warnings`), plus the `job_id` and its `kind`; with `strict`, 422 as there (the
    job stays pending). Audited as ``task.run`` with the job's id, never naming the
    contact."""
    async with uow:
        with relayed():
            view = await tasks.run_job(
                uow, principal, container.box, container.tasks, tenant_id, job_id, strict=strict
            )
    return _run_answer(view)


def _run_answer(view: RunTaskView) -> JSONResponse:
    """200 with the run's view; 422 with a `detail` for a strict run refused."""
    body = view.model_dump(mode="json")
    if view.status != "refused":
        return JSONResponse(body, headers=NO_STORE)
    return JSONResponse({**body, "detail": REFUSED}, status_code=422, headers=NO_STORE)


@router.delete("/tasks/{job_id:path}", response_model=CancelledTaskView, responses=CANCEL_ERRORS)
async def cancel_job(
    tenant_id: TenantIdPath,
    job_id: JobIdPath,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
) -> JSONResponse:
    """Cancel a pending one-off job (a reminder: a customer phoned to cancel), as the flow's
    `cancel_task` of its key does: it never runs, not even a run of it already waiting for the
    contact's turn. Answers what the job was. A standing schedule cannot be cancelled (409: it
    is the flow's). Audited as ``task.cancel`` (job id, task, kind, due time), never naming
    the contact."""
    async with uow:
        with relayed():
            view = await tasks.cancel_job(
                uow, principal, container.box, container.tasks, tenant_id, job_id
            )
    return JSONResponse(view.model_dump(mode="json"), headers=NO_STORE)
