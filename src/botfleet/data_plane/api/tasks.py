"""Scheduler routes for the control plane: `GET /tasks` (pending jobs), `POST /run-task` (run a
task now), `POST /tasks/{job_id}/run` (run a pending job now, with its own data) and
`DELETE /tasks/{job_id}` (cancel a pending job).

All are internal: `Authorization: Bearer <DP_INTERNAL_TOKEN>`. `GET /tasks` follows `/usage`:
with no token configured (development) it answers loopback clients only. The others act on
contacts (they send messages, or stop them), so they always need the token: 401 without one,
403 with a wrong one or when the data plane has none configured.

A run's answer carries its turn's diagnostics as `warnings` (`warnings_of`): a reminder run with
data its templates do not find says so in the answer, not only in the log.

A strict run (`"strict": true` in `POST /run-task`'s body, `?strict=true` on
`POST /tasks/{job_id}/run`) renders the task's turn with strict templates: at the first value
a template lacks the run is refused, 422 with the `warnings` and `status: refused`, and nothing
is sent, committed or scheduled; a pending job so refused stays pending.

A standing job runs one at a time: `POST /tasks/{job_id}/run` while a run of it is under way
(fired by its schedule, or asked for by another request, and waiting for the contact's turn or
running) is 409 naming the job, and nothing more is sent; the schedule firing it meanwhile
skips that run (`task_still_running`). A one-off job needs no such guard: the first run takes
it out of the job file (a second request is 404), and the runtime runs its run id once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from botfleet.contact_hash import hash_contact
from botfleet.data_plane.api.internal_auth import check_actor, check_reader
from botfleet.data_plane.runtime.bare_ids import misfiled_bare_id
from botfleet.data_plane.runtime.contact_log import ContactLog
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.runtime.task_outcome import TaskOutcome, TaskStatus
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.flows.effects import Diagnostic
from botfleet.flows.schema import FlowSpec
from botfleet.flows.suggestions import closest
from botfleet.http_guards import MAX_BODY_BYTES
from botfleet.ports.scheduling import (
    JobRun,
    JobStillRunning,
    RunsJobsNow,
    ScheduledJob,
    TaskScheduler,
    run_id,
)
from botfleet.web import Operation, json_body, query_of, read_body

log = structlog.get_logger("botfleet.runtime")

MAX_TASKS = 1000
#: The longest job id the routes take: `once:` and an idempotency key the flow renders.
MAX_JOB_ID = 1000
#: Warnings one run's answer lists at most (a template in a loop may miss a value each time).
MAX_WARNINGS = 50


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


_STRICT = (
    "Render the task's turn with strict templates: a value a template lacks refuses the run "
    "(422, `status: refused`, with the `warnings`) and nothing is sent, stored or scheduled; a "
    "pending job so refused stays pending"
)
#: The 422's `detail` for a strict run refused.
NOTHING_SENT = (
    "strict run refused: a template lacks a value (see `warnings`); nothing was sent, stored "
    "or scheduled"
)


class RunTaskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=191)
    contact_id: str = Field(min_length=1, max_length=191)
    data: dict[str, Any] = Field(default_factory=dict)
    strict: bool = Field(default=False, description=_STRICT)


class RunJobQuery(BaseModel):
    """`POST /tasks/{job_id}/run` options."""

    strict: bool = Field(default=False, description=_STRICT)


class TaskWarning(BaseModel):
    """Something the run's turn reported (a diagnostic of its flow, as its log lines give it)."""

    code: str = Field(
        description="The diagnostic, as the data plane's log line names it: "
        "`template_missing_value`, `bad_option_id`, `template_failed`, `template_error`..."
    )
    message: str = Field(
        description="What happened, in the flow's own words (names of values, paths); never "
        "a value the flow rendered or a contact's data: the log line has those. A missing "
        "value is named only when its name is written in the flow at `where`"
    )
    where: str = Field(description="Where in the flow, e.g. `tasks.reminder[0].text`")


class RunTaskResult(BaseModel):
    status: TaskStatus = Field(
        description="`done`: the task ran, its turn is committed, whatever became of its "
        "messages (200). `skipped`: it did not run (a task run with the same id ran before; "
        "200). `failed`: it raised and nothing was committed, logged as `task_failed` (500). "
        "`refused`: a strict run whose templates lack a value; nothing was sent, committed or "
        "scheduled (422, with `detail`)",
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
    warnings: list[TaskWarning] = Field(
        default_factory=list,
        description="What the task's turn reported (a value its templates did not find, an "
        f"option left out...), at most {MAX_WARNINGS}; empty when nothing. A `done` run with "
        "warnings ran, but its messages may read wrong",
    )


class RunJobResult(RunTaskResult):
    """A pending job run now (`POST /tasks/{job_id}/run`)."""

    job_id: str
    kind: str = Field(description="`one_off` (no longer pending) or `standing` (kept)")
    contact_id: str | None = Field(  # type: ignore[assignment]
        description="The job's contact; null for a standing job without one (`skipped`)"
    )
    contact_hash: str | None = Field(  # type: ignore[assignment]
        description="The contact as the data plane's log lines name it (a keyed hash)"
    )


class CancelledTask(BaseModel):
    """A pending job cancelled (`DELETE /tasks/{job_id}`): what it was."""

    job_id: str
    kind: str
    task: str
    contact_id: str | None
    contact_hash: str | None = Field(
        description="The contact as the data plane's log lines name it (a keyed hash)"
    )
    key: str
    next_run_at: datetime | None = Field(description="When it would have run")


def _runtime(request: Request) -> ConversationRuntime:
    runtime: ConversationRuntime = request.app.state.runtime
    return runtime


def _scheduler(runtime: ConversationRuntime) -> TaskScheduler:
    if runtime.scheduler is None:
        # For good, not for a while: no Retry-After to wait for.
        raise HTTPException(501, "this data plane runs without a scheduler")
    return runtime.scheduler


def _jobs_by_id(runtime: ConversationRuntime) -> RunsJobsNow:
    scheduler = _scheduler(runtime)
    if not isinstance(scheduler, RunsJobsNow):
        raise HTTPException(501, "this data plane's scheduler cannot look jobs up by id")
    return scheduler


async def _run_now(scheduler: RunsJobsNow, job_id: str, strict: bool) -> JobRun:
    """The pending job run now; 404 when there is none, 409 for a standing job whose run is
    under way."""
    try:
        ran = await scheduler.run_now(job_id, strict=strict)
    except JobStillRunning as exc:
        # Refused, not waited for: waiting would run it again once the run under way ends,
        # sending its messages twice (the module's docstring).
        raise HTTPException(409, str(exc)) from None
    if ran is None:
        raise HTTPException(404, no_job(job_id))
    return ran


def _job_id(request: Request) -> str:
    job_id = str(request.path_params["job_id"])
    if not 0 < len(job_id) <= MAX_JOB_ID:
        raise HTTPException(422, f"job_id: 1 to {MAX_JOB_ID} characters")
    return job_id


def no_job(job_id: str) -> str:
    """The 404's detail for a job id that names no pending job."""
    return (
        f"no pending job {job_id[:200]!r}: it ran, was cancelled, or never existed (job ids "
        "are `once:<key>` and `standing:<name>`; GET /tasks lists the pending ones)"
    )


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise HTTPException(422, f"{name}: give a UTC offset, e.g. 2024-05-06T09:00:00+02:00")
    return value


async def _check_channel_prefix(runtime: ConversationRuntime, contact_id: str) -> None:
    """Refused, not sent: the tenant's channel would get the whole id as its recipient. So is
    a bare id that is no conversation of the tenant's channel but, prefixed, one of a more
    channel's (the web chat page's `web-1` is `webchat:web-1` here)."""
    ctx = runtime.ctx
    misplaced = ctx.misplaced(contact_id)
    if misplaced is not None:
        raise HTTPException(422, f"contact_id: {misplaced}")

    async def held(contact: str) -> bool:
        return await runtime.states.load(contact) is not None

    misfiled = await misfiled_bare_id(ctx, contact_id, held)
    if misfiled is not None:
        raise HTTPException(422, f"contact_id: {misfiled}")


def tasks_operations(settings: DataPlaneSettings) -> list[Operation]:
    async def list_tasks(request: Request) -> Response:
        """Pending scheduled jobs (reminders and standing schedules), soonest first."""
        check_reader(request, settings)
        query = query_of(TaskQuery, request)
        runtime = _runtime(request)
        scheduler = _scheduler(runtime)
        jobs = await scheduler.jobs(
            contact_id=query.contact_id,
            task=query.task,
            due_after=_aware("due_after", query.due_after),
            due_before=_aware("due_before", query.due_before),
            limit=query.limit + 1,  # one more than shown: whether the list is cut short
        )
        if not jobs and query.contact_id is not None:
            # An empty list for a more channel's contact asked without its prefix would read
            # as "no reminder pending": refused as `POST /run-task` refuses it, naming the id.
            await _check_channel_prefix(runtime, query.contact_id)
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
        await _check_channel_prefix(runtime, body.contact_id)
        rid = run_id(f"manual:{body.task}", runtime.clock.now())
        outcome = await runtime.run_task(
            body.contact_id, body.task, body.data, rid, strict=body.strict
        )
        done = RunTaskResult(
            task=body.task,
            contact_id=body.contact_id,
            contact_hash=hash_contact(runtime.ctx.tenant.id, body.contact_id),
            run_id=rid,
            **_outcome_fields(outcome, runtime.live.flow),
        )
        return _run_answer(done, outcome)

    async def run_job(request: Request) -> Response:
        """Run a pending job now, as the scheduler runs it when it falls due: its own task,
        contact and data, in the contact's order. A one-off job (a reminder) is no longer
        pending afterwards and does not fire again; a standing job runs once now and keeps its
        schedule. `?strict=true`: its templates render strictly, and a one-off job leaves the
        job file only once its turn rendered, so a refused run leaves it pending (the
        scheduler's `run_now` does both). 404 when no such job is pending; 409 for a standing
        job whose run is under way."""
        check_actor(request, settings)
        job_id = _job_id(request)
        strict = query_of(RunJobQuery, request).strict
        runtime = _runtime(request)
        ran = await _run_now(_jobs_by_id(runtime), job_id, strict)
        outcome = ran.outcome
        if not isinstance(outcome, TaskOutcome):  # the runner is always the runtime's
            raise TypeError(f"the scheduler's runner answered {type(outcome).__name__}")
        job = ran.job
        done = RunJobResult(
            job_id=job.job_id,
            kind=job.kind,
            task=job.task,
            contact_id=job.contact_id,
            contact_hash=hash_contact(runtime.ctx.tenant.id, job.contact_id),
            run_id=ran.run_id,
            **_outcome_fields(outcome, runtime.live.flow),
        )
        return _run_answer(done, outcome, headers={"Cache-Control": "no-store"})

    async def cancel_job(request: Request) -> Response:
        """Cancel a pending one-off job (a reminder), as the flow's `cancel_task` of its key
        does: it never runs, and a run of it waiting for the contact's turn is dropped. A
        standing job is the flow's (`standing_schedules`): 409. 404 when no such job is
        pending."""
        check_actor(request, settings)
        job_id = _job_id(request)
        runtime = _runtime(request)
        scheduler = _jobs_by_id(runtime)
        job = await scheduler.job(job_id)
        if job is None:
            raise HTTPException(404, no_job(job_id))
        if job.kind != "one_off":
            raise HTTPException(
                409,
                f"{job_id[:200]!r} is the flow's standing schedule {job.key!r}: it runs while "
                "the flow's standing_schedules declare it (remove it there and publish the "
                "flow); POST /tasks/{job_id}/run runs it once now",
            )
        if not await _scheduler(runtime).cancel(job.key):
            raise HTTPException(404, no_job(job_id))  # it fell due meanwhile
        tenant = runtime.ctx.tenant.id
        if job.contact_id is not None:
            ContactLog(log, tenant, job.contact_id).info(
                "task_cancelled_by_request", task=job.task, job_id=job.job_id
            )
        view = CancelledTask(
            job_id=job.job_id,
            kind=job.kind,
            task=job.task,
            contact_id=job.contact_id,
            contact_hash=hash_contact(tenant, job.contact_id),
            key=job.key,
            next_run_at=job.next_run_at,
        )
        return JSONResponse(view.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    tags = ("internal",)
    job = (
        {
            "name": "job_id",
            "in": "path",
            "required": True,
            "description": "As `GET /tasks` lists it: `once:<key>` (a one-off task) or "
            "`standing:<name>`; percent-encoded",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_JOB_ID},
        },
    )
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
            responses={422: "a strict run refused: a template lacks a value, nothing was sent"},
        ),
        Operation(
            "POST",
            "/tasks/{job_id:path}/run",
            run_job,
            summary="Run a pending job now",
            tags=tags,
            parameters=job,
            query=RunJobQuery,
            answer=RunJobResult,
            responses={
                404: "no such pending job",
                409: "a standing job whose run (fired, or asked for now) is under way: not run "
                "again",
                422: "a strict run refused: a template lacks a value, nothing was sent and the "
                "job stays pending",
            },
        ),
        Operation(
            "DELETE",
            "/tasks/{job_id:path}",
            cancel_job,
            summary="Cancel a pending job",
            tags=tags,
            parameters=job,
            answer=CancelledTask,
            responses={404: "no such pending job", 409: "a standing schedule (the flow's)"},
        ),
    ]


def _run_answer(
    done: RunTaskResult, outcome: TaskOutcome, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A run's answer: 500 for a failed run, 422 with a `detail` for a strict one refused."""
    body = done.model_dump(mode="json")
    code = 200
    if outcome.status == "failed":
        code = 500
    elif outcome.status == "refused":
        code = 422
        body["detail"] = NOTHING_SENT
    return JSONResponse(body, status_code=code, headers=headers)


def unknown_task(task: str, flow_id: str, tasks: list[str]) -> str:
    """The 404's detail, as the validator words an unknown task: the likely one, and the rest."""
    text = f"unknown task {task[:100]!r} in flow {flow_id}"
    likely = closest(task, tasks)
    if likely is not None:
        text += f" (did you mean {likely!r}?)"
    return text + (f" (tasks: {', '.join(sorted(tasks))})" if tasks else " (it has no tasks)")


def _outcome_fields(outcome: TaskOutcome, flow: FlowSpec) -> dict[str, Any]:
    """A run's answer fields that come from what became of it; `flow`: the tenant's flow, whose
    text tells a missing value's name from a value looked up by content (`warnings_of`)."""
    sends = outcome.sends if outcome.status != "failed" else None
    return {
        "status": outcome.status,
        "sent": None if sends is None else sends.sent,
        "failed": None if sends is None else sends.failed,
        "warnings": warnings_of(outcome.diagnostics, flow, refused=outcome.status == "refused"),
    }


#: Diagnostics whose detail is made of the flow's own words only (names of its states and data
#: keys, checked when it is validated), never of a value it rendered: answered as they are.
_OWN_WORDS = frozenset(
    {
        "unknown_state",
        "step_limit_exceeded",
        "state_reset",
        "bad_option_item",
        "bad_option_source",
    }
)
#: The others quote values (a rendered option id, an exception's text, a connector's error,
#: which may name a person): a fixed message stands for them, and the log line has the rest.
_MESSAGES = {
    "bad_option_id": "an option id or quick-reply payload rendered empty, or the same as an "
    "earlier one's: that option (or button) was left out",
    "template_failed": "a template failed to render and was left empty",
    "template_error": "strict_templates: a template failed, so that step sent nothing",
    "schedule_task_invalid": "a schedule_task's delay or run_at could not be read or is out of "
    "range: nothing was scheduled",
    "connector_failed": "a connector call failed: the flow's failure path ran",
    "stale_connector_reply": "a connector's answer came for a call no longer pending: ignored",
    # Its detail names the run, whose id holds the flow-rendered key (maybe a phone number).
    "unknown_task": "the flow has no such task (a job an earlier version of the flow "
    "scheduled?): the run sent nothing",
}
#: A missing value whose name is not written in the flow (`_named_in_flow`).
UNNAMED_MISSING_VALUE = (
    "a template asks for a value this run's data does not have; the data plane's log names it"
)
_UNNAMED_STRICT = (
    "strict_templates: a template asks for a value this run's data does not have, so that step "
    "sent nothing (the data plane's log names the value)"
)
#: A missing value's detail (`Renderer._report`): the name, as Python quotes a string.
_MISSING_VALUE = re.compile(r"missing value '(?P<name>[^'\n]{0,200})'")
#: What `render._printed` adds to the name of a method printed instead of a value.
_NOT_A_VALUE = " (a method or function, not a value)"
_NAME_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
#: A `where`'s steps: a key (`tasks`, `reminder`, `text`) or an index (`[0]`).
_WHERE_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


class _FlowText:
    """The flow's text, as its author wrote it, read once per answer and only when needed."""

    def __init__(self, flow: FlowSpec | None) -> None:
        self._flow = flow
        self._tree: Any = None

    def at(self, where: str) -> list[str]:
        """The texts at `where` (`tasks.reminder[0].buttons[0].id`): the strings of the deepest
        part of the flow it reaches, the whole flow's when it reaches none."""
        if self._flow is None:
            return []
        if self._tree is None:
            self._tree = self._flow.model_dump(mode="json", by_alias=True)
        node = self._tree
        for index, key in _WHERE_STEP.findall(where):
            if isinstance(node, list) and index and int(index) < len(node):
                node = node[int(index)]
            elif isinstance(node, dict) and key in node:
                node = node[key]
            else:
                break  # a part of a rendered value (`params.x.y`): its template is above
        return list(_strings(node))


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _missing_value(detail: str, where: str, flow: _FlowText) -> str | None:
    """`detail` (`missing value 'time'`) when it is a missing value whose name the flow's author
    wrote at `where`; `UNNAMED_MISSING_VALUE` for another missing value; None for no missing
    value. A value looked up by content (`data[data.name]`, `data[contact.id]`) is named by what
    it looked up: a contact's name or phone number, which an editor may not read (it is in the
    owner's export only). Such a value is never in the flow's text unless its author wrote it."""
    found = _MISSING_VALUE.fullmatch(detail)
    if found is None:
        return None
    name = found["name"].removesuffix(_NOT_A_VALUE)
    if _NAME_PATH.fullmatch(name) is None:
        return UNNAMED_MISSING_VALUE
    written = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    if any(written.search(text) for text in flow.at(where)):
        return detail
    return UNNAMED_MISSING_VALUE


def warnings_of(
    diagnostics: Iterable[Diagnostic], flow: FlowSpec | None = None, *, refused: bool = False
) -> list[TaskWarning]:
    """A run's diagnostics as its answer's `warnings`, without personal data the caller did not
    send: a detail the flow's words make up is given as it is (`missing value 'time'`, when
    `flow`, the flow that ran, has `time` at that place; without a flow, no name is given), any
    other as a fixed message (see the code's log line for the rest). Each (code, where,
    message) once, at most `MAX_WARNINGS`.

    `refused`: a strict run's, whose `template_error` is the template that refused it, not the
    flow's `strict_templates`: said as the missing value (or failed template) it is."""
    found: list[TaskWarning] = []
    seen: set[tuple[str, str, str]] = set()
    text = _FlowText(flow)
    for d in diagnostics:
        if refused and d.event == "template_error":
            lacks = _MISSING_VALUE.fullmatch(d.detail) is not None
            event = "template_missing_value" if lacks else "template_failed"
            d = Diagnostic(d.level, event, d.where, d.detail)
        if d.event in _OWN_WORDS:
            message = d.detail
        elif d.event == "template_missing_value":
            message = _missing_value(d.detail, d.where, text) or UNNAMED_MISSING_VALUE
        elif d.event == "template_error" and (missing := _missing_value(d.detail, d.where, text)):
            message = (
                f"strict_templates: {missing}, so that step sent nothing"
                if missing != UNNAMED_MISSING_VALUE
                else _UNNAMED_STRICT
            )
        else:
            message = _MESSAGES.get(d.event, f"see the data plane's {d.event} log line")
        if (d.event, d.where, message) in seen:
            continue
        seen.add((d.event, d.where, message))
        found.append(TaskWarning(code=d.event, message=message, where=d.where))
        if len(found) == MAX_WARNINGS:
            break
    return found
