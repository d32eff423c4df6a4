"""A flow task run now for a contact, and the pending jobs, through the control plane: the
tenant's data plane does it (`data_plane_tasks`), reached as for a contact's data
(`tenant_data_plane`), so the business's team answers a contact through the bot (the hand-off's
``team_reply``) with its API key alone, not the data plane's shell and token.

The admin key, or the tenant's own keys (another tenant's get 404, as everywhere). A disabled
tenant's keys may list the jobs but not run a task: a run sends messages as the business, and
disabling a tenant stops its keys from acting for it until an admin enables it again.

A run that failed on the data plane (its turn raised, nothing was committed) is answered 200
with ``status: failed``, as the data plane's own answer says it: the control plane did its part,
and its 5xx stay for what it could not do (reach the data plane, have an answer in time).

Each run the data plane answered is audited as ``task.run`` with the task, its status, its run
id and the counts of messages, and the contact's hash when the data plane's answer gives one.
No release gives one yet, so none is recorded: never the contact's id (a phone number), and the
control plane cannot compute the data plane's keyed hash (`services/contacts.py`). The run id
names the run in the data plane's log lines (`task_failed`), which name the contact by that hash.

Listing the jobs is not audited, as the list of conversations is not (`conversations`).
"""

from __future__ import annotations

from datetime import datetime

from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.data_plane_relay import DataPlaneError
from botfleet.control_plane.services.data_plane_tasks import DataPlaneTasks
from botfleet.control_plane.services.tenant_data_plane import (
    TenantDataPlane,
    reach_data_plane,
    read_answer,
)
from botfleet.control_plane.task_models import RunTaskBody, RunTaskView, TaskListView


def _about(view: RunTaskView, data_plane: TenantDataPlane, run: RunTaskBody) -> RunTaskView:
    if (view.task, view.contact_id) != (run.task, run.contact_id):
        # Whatever ran, it is not what was asked: never report it as that.
        raise DataPlaneError(
            502, f"{data_plane.where} answered about another task or contact than the one "
            "asked; check its data_plane_url",
        )  # fmt: skip
    return view


async def run_task(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    data_planes: DataPlaneTasks,
    tenant_id: str,
    run: RunTaskBody,
) -> RunTaskView:
    """Run `run.task` now for `run.contact_id` on the tenant's data plane; what became of it.

    Audited once the data plane answers: should the audit's write fail (503), the task has run
    all the same (running it again sends its messages again)."""
    data_plane = await reach_data_plane(uow, principal, box, tenant_id, acting="run its tasks")
    answer = await data_planes.run_task(
        data_plane.url, data_plane.token, tenant_id=tenant_id, run=run.model_dump(mode="json")
    )
    view = _about(read_answer(RunTaskView, answer, data_plane), data_plane, run)
    details = view.model_dump(include={"task", "status", "run_id", "sent", "failed"})
    details["contact_hash"] = view.contact_hash
    audit.record(uow, principal, "task.run", tenant_id=tenant_id, details=details)
    await uow.commit()
    return view


async def list_tasks(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    data_planes: DataPlaneTasks,
    tenant_id: str,
    *,
    contact_id: str | None,
    task: str | None,
    due_after: datetime | None,
    due_before: datetime | None,
    limit: int,
) -> TaskListView:
    """The tenant's pending jobs, soonest first, filtered as the data plane filters them; a
    time without a UTC offset is refused (422), as the data plane refuses it."""
    for name, moment in (("due_after", due_after), ("due_before", due_before)):
        if moment is not None and moment.utcoffset() is None:
            raise InvalidInput(
                name, "give a UTC offset, e.g. 2024-05-06T09:00:00+02:00 (or Z for UTC)"
            )
    data_plane = await reach_data_plane(uow, principal, box, tenant_id)
    answer = await data_planes.list_tasks(
        data_plane.url, data_plane.token, tenant_id=tenant_id, contact_id=contact_id,
        task=task, due_after=due_after, due_before=due_before, limit=limit,
    )  # fmt: skip
    return read_answer(TaskListView, answer, data_plane)
