"""A flow task run now for a contact, and the pending jobs, through the control plane: the
tenant's data plane does it (`data_plane_tasks`), reached as for a contact's data
(`tenant_data_plane`), so the business's team answers a contact through the bot (the hand-off's
``team_reply``) with its API key alone, not the data plane's shell and token.

The admin key, or the tenant's own keys (another tenant's get 404, as everywhere). A disabled
tenant's keys may list the jobs but not run a task: a run sends messages as the business, and
disabling a tenant stops its keys from acting for it until an admin enables it again.

A run that failed on the data plane (its turn raised, nothing was committed) is answered 200
with ``status: failed``, as the data plane's own answer says it: the control plane did its part,
and its 5xx stay for what it could not do (reach the data plane, have an answer in time). A
strict run the data plane refused (a template lacks a value: nothing sent) is a view too, with
``status: refused``: the route answers it 422, as the data plane does.

Each run is audited as ``task.run`` with the task, its status, its run id and the counts of
messages, and the contact's hash when the data plane's answer gives one.
No release gives one yet, so none is recorded: never the contact's id (a phone number), and the
control plane cannot compute the data plane's keyed hash (`services/contacts.py`). The run id
names the run in the data plane's log lines (`task_failed`), which name the contact by that hash.

A pending job run now by its id (`run_job`) is audited as ``task.run`` too, with the job's id;
a job cancelled (`cancel_job`) as ``task.cancel`` with the job's id, task, kind and due time.
A one-off job's id holds the flow's key, which holds the contact id when the flow's default
key (`<task>:<contact id>`) or one built from ``contact.id`` is used: the audit records ids
as the data plane's log lines write them, that contact id replaced by ``<contact <hash>>``
and any other run of digits a phone number may be (a key built from ``data.phone``) by
``<number>`` (`as_logged`), never the contact's id itself. Other personal data a flow puts in
its keys (a name) is recorded as written: keys should hold ids only (docs/scheduler.md).

Every entry has an ``outcome``: ``done`` (the data plane answered what it did: a run's
``status`` says what became of it), ``refused`` (the data plane answered that it did not do it:
no such task or pending job, a standing job not cancelled, a standing job whose run is under
way, a run refused as busy), ``unknown: no answer`` (no answer in time: 504), ``unknown: answer
lost`` (the connection broke once the request was sent, before the answer was read: 502),
``unknown: unreadable answer`` (an answer came, but not one to take: not JSON, over the relay's
bound, or not shaped as the data plane's: 502) or, for a cancel, ``unknown: data plane busy``
(503: the job may have been removed). The unknown ones may have been carried out (a run's
messages sent): the audit shows the attempt either way, with the control plane's
``http_status`` and null for what only the answer would tell. A call that never reached the
data plane (unreachable, its ``/health`` not naming the tenant, its token refused) did nothing
and is not audited; nor is a request the data plane refused before running anything (a
contact id of a channel it lacks: 422) or answered with a server error other than a failed
run's (relayed as a 502 saying so).

Listing the jobs is not audited, as the list of conversations is not (`conversations`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from botfleet.contact_hash import MIN_SCRUBBED_LENGTH, scrub_numbers
from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.data_plane_relay import AnswerLost, DataPlaneError
from botfleet.control_plane.services.data_plane_tasks import DataPlaneTasks
from botfleet.control_plane.services.tenant_data_plane import (
    TenantDataPlane,
    reach_data_plane,
    read_answer,
)
from botfleet.control_plane.task_models import (
    CancelledTaskView,
    RunJobView,
    RunTaskBody,
    RunTaskView,
    TaskListView,
)

ModelT = TypeVar("ModelT", bound=BaseModel)

#: A run or cancel the data plane answered (its own `status` says what became of a run).
DONE = "done"
#: The data plane answered that it did not do it (404, 409, 503).
REFUSED = "refused"
#: No answer in time (504): it may have been carried out.
NO_ANSWER = "unknown: no answer"
#: The connection broke once the request was sent, before the answer was read (502): it may
#: have been carried out.
LOST = "unknown: answer lost"
#: An answer, but not one to take (502): not JSON, over the relay's bound, or not shaped as a
#: data plane's answer.
UNREADABLE = "unknown: unreadable answer"
#: A busy data plane's 503 to a cancel: the job may have been removed before the store gave up
#: (`data_plane_tasks._CANCEL_AGAIN`); a run answered 503 ran nothing.
BUSY = "unknown: data plane busy"
_REFUSALS = frozenset({404, 409, 503})


async def _audited(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    action: str,
    tenant_id: str,
    unknown: dict[str, Any],
    act: Callable[[], Awaitable[tuple[Any, dict[str, Any]]]],
    *,
    busy_is_unknown: bool = False,
) -> Any:
    """`act()`'s view, audited as `action` with its details and ``outcome: done``; when it
    raises a `DataPlaneError` after the data plane was asked, the attempt is audited with
    `unknown` (what is known without an answer), its outcome and ``http_status``, and the
    error raised as it was. Should the audit's write fail (503), what was done stays done."""
    try:
        view, details = await act()
    except AnswerLost as exc:
        outcome = UNREADABLE if exc.answered else LOST
        error: DataPlaneError = exc
    except DataPlaneError as exc:
        if exc.status_code == 504:
            outcome = NO_ANSWER
        elif exc.status_code == 503 and busy_is_unknown:
            outcome = BUSY
        elif exc.status_code in _REFUSALS:
            outcome = REFUSED
        else:
            # Not reached, refused before anything was done, or a server error's answer (a
            # data plane's 500 other than a failed run's): an answer lost or unreadable after
            # the request was sent is an `AnswerLost`, audited above.
            raise
        error = exc
    else:
        audit.record(
            uow, principal, action, tenant_id=tenant_id, details={**details, "outcome": DONE}
        )
        await uow.commit()
        return view
    details = {**unknown, "outcome": outcome, "http_status": error.status_code}
    audit.record(uow, principal, action, tenant_id=tenant_id, details=details)
    await uow.commit()
    raise error


def _about(view: RunTaskView, data_plane: TenantDataPlane, run: RunTaskBody) -> RunTaskView:
    if (view.task, view.contact_id) != (run.task, run.contact_id):
        # Whatever ran, it is not what was asked: never report it as that.
        raise AnswerLost(
            502, f"{data_plane.where} answered about another task or contact than the one "
            "asked; check its data_plane_url", answered=True,
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

    Audited once the data plane answers, or fails to: should the audit's write fail (503), the
    task has run all the same (running it again sends its messages again)."""
    data_plane = await reach_data_plane(uow, principal, box, tenant_id, acting="run its tasks")

    async def act() -> tuple[RunTaskView, dict[str, Any]]:
        answer = await data_planes.run_task(
            data_plane.url, data_plane.token, tenant_id=tenant_id, run=run.model_dump(mode="json")
        )
        view = _about(_read(RunTaskView, answer, data_plane), data_plane, run)
        details = view.model_dump(include={"task", "status", "sent", "failed"})
        details["run_id"] = as_logged(view.run_id, view.contact_id, view.contact_hash)
        details["contact_hash"] = view.contact_hash
        return view, details

    unknown = {
        "task": run.task, "status": None, "run_id": None, "sent": None, "failed": None,
        "contact_hash": None,
    }  # fmt: skip
    view: RunTaskView = await _audited(uow, principal, "task.run", tenant_id, unknown, act)
    return view


def _read(model: type[ModelT], answer: Any, data_plane: TenantDataPlane) -> ModelT:
    """`read_answer`, its 502 marked as an answer that was given (`AnswerLost`)."""
    try:
        return read_answer(model, answer, data_plane)
    except DataPlaneError as exc:
        raise AnswerLost(exc.status_code, str(exc), answered=True) from None


def as_logged(text: str, contact_id: str | None, contact_hash: str | None) -> str:
    """`text` (a job or run id) with the contact's id in it replaced by ``<contact <hash>>``, as
    the data plane's log lines write it (`botfleet.contact_hash.scrub_contact`, which the
    control plane cannot call: the hash's key is the data plane's; the answer gives the hash),
    and any other run of digits a phone number may be by ``<number>`` (`scrub_numbers`): a key
    built from ``data.phone`` (``+34 600 111 222``) holds the contact's number in another form,
    or another person's. A name in a key is left as it is: keys should hold ids only."""
    if contact_id and contact_hash and len(contact_id) >= MIN_SCRUBBED_LENGTH:
        text = text.replace(contact_id, f"<contact {contact_hash}>")
    return scrub_numbers(text)


def _about_job(view: ModelT, data_plane: TenantDataPlane, job_id: str) -> ModelT:
    if getattr(view, "job_id", None) != job_id:
        raise AnswerLost(
            502, f"{data_plane.where} answered about another job than the one asked; check "
            "its data_plane_url", answered=True,
        )  # fmt: skip
    return view


async def run_job(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    data_planes: DataPlaneTasks,
    tenant_id: str,
    job_id: str,
    *,
    strict: bool = False,
) -> RunJobView:
    """Run the pending job `job_id` now on the tenant's data plane, with its own task, contact
    and data; what became of it. Audited as `run_task` is (``task.run``, with the job's id).
    `strict`: refused (``status: refused``, the job left pending) when a template lacks a
    value."""
    data_plane = await reach_data_plane(uow, principal, box, tenant_id, acting="run its tasks")

    async def act() -> tuple[RunJobView, dict[str, Any]]:
        answer = await data_planes.run_job(
            data_plane.url, data_plane.token, tenant_id=tenant_id, job_id=job_id, strict=strict
        )
        view = _about_job(_read(RunJobView, answer, data_plane), data_plane, job_id)
        contact, hashed = view.contact_id, view.contact_hash
        details = view.model_dump(include={"task", "status", "sent", "failed"})
        details["run_id"] = as_logged(view.run_id, contact, hashed)
        details["job_id"] = as_logged(view.job_id, contact, hashed)
        details["contact_hash"] = hashed
        return view, details

    unknown = {
        "task": None, "status": None, "run_id": None, "sent": None, "failed": None,
        "job_id": as_logged(job_id, None, None), "contact_hash": None,
    }  # fmt: skip
    view: RunJobView = await _audited(uow, principal, "task.run", tenant_id, unknown, act)
    return view


async def cancel_job(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    data_planes: DataPlaneTasks,
    tenant_id: str,
    job_id: str,
) -> CancelledTaskView:
    """Cancel the pending one-off job `job_id` on the tenant's data plane; what it was.
    Audited as ``task.cancel`` once the data plane answers, or fails to (the job is gone either
    way: a cancel whose answer was lost may have been done)."""
    data_plane = await reach_data_plane(uow, principal, box, tenant_id, acting="cancel its tasks")

    async def act() -> tuple[CancelledTaskView, dict[str, Any]]:
        answer = await data_planes.cancel_job(
            data_plane.url, data_plane.token, tenant_id=tenant_id, job_id=job_id
        )
        view = _about_job(_read(CancelledTaskView, answer, data_plane), data_plane, job_id)
        contact, hashed = view.contact_id, view.contact_hash
        details = {
            "job_id": as_logged(view.job_id, contact, hashed),
            "task": view.task,
            "kind": view.kind,
            "next_run_at": None if view.next_run_at is None else view.next_run_at.isoformat(),
            "contact_hash": hashed,
        }
        return view, details

    unknown = {
        "job_id": as_logged(job_id, None, None), "task": None, "kind": None,
        "next_run_at": None, "contact_hash": None,
    }  # fmt: skip
    view: CancelledTaskView = await _audited(
        uow, principal, "task.cancel", tenant_id, unknown, act, busy_is_unknown=True
    )
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
