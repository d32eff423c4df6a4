"""Task routes: a flow task run now for a contact (the team answering a contact through the bot,
a reminder sent again), and the pending scheduled jobs, both relayed to the tenant's data
plane (`POST /run-task`, `GET /tasks`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from botfleet.control_plane.api.deps import ContainerDep, PrincipalDep, TenantIdPath, UoWDep
from botfleet.control_plane.api.relayed import DATA_PLANE_ERRORS, NO_STORE, relayed
from botfleet.control_plane.api.responses import AUTH_ERRORS
from botfleet.control_plane.contact_models import MAX_CONTACT_ID
from botfleet.control_plane.models import ErrorBody
from botfleet.control_plane.services import tasks
from botfleet.control_plane.task_models import (
    DEFAULT_TASKS,
    MAX_TASK_NAME,
    MAX_TASKS,
    RunTaskBody,
    RunTaskView,
    TaskListView,
)

router = APIRouter(prefix="/v1/tenants/{tenant_id}", tags=["tasks"], responses=AUTH_ERRORS)

RUN_ERRORS: dict[int | str, dict[str, Any]] = {
    **DATA_PLANE_ERRORS,
    403: {
        "model": ErrorBody,
        "description": "a disabled tenant's own key (they may not run its tasks)",
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
}

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
    answer to that is a 500). Audited as ``task.run`` (task, status, run id, counts), never
    naming the contact."""
    async with uow:
        with relayed():
            view = await tasks.run_task(
                uow, principal, container.box, container.tasks, tenant_id, body
            )
    return JSONResponse(view.model_dump(mode="json"), headers=NO_STORE)


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
