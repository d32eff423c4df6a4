"""Requests and answers of the task routes (`api/tasks.py`): a flow task run now for a contact,
and the pending scheduled jobs, on the tenant's data plane. They mirror the data plane's own
(`data_plane/api/tasks.py`: `RunTaskRequest`, `RunTaskResult`, `TaskQuery`, `TaskList`), which
the control plane relays; it does not import the data plane's modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The longest contact id the data plane's routes take (`contact_models` names it too; it is
#: here because the contact export reuses this module's `TaskView`).
MAX_CONTACT_ID = 191
#: The longest task name the data plane's routes take.
MAX_TASK_NAME = 191
#: Most jobs one list holds, as on the data plane.
MAX_TASKS = 1000
DEFAULT_TASKS = 200
#: The longest job id the data plane's routes take (`once:` and the flow's key).
MAX_JOB_ID = 1000

TaskStatus = Literal["done", "skipped", "failed", "refused"]

STRICT = (
    "Render the task's turn with strict templates: when a template lacks a value the run is "
    "refused (422, `status: refused`, with the `warnings`) and nothing is sent, stored or "
    "scheduled; a pending job so refused stays pending. Data planes of earlier releases "
    "refuse it in a run's body (502); on a job run they would ignore it"
)


class RunTaskBody(BaseModel):
    """Run the flow's task `task` now for `contact_id`, with `data` as the task's ``data``."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(
        min_length=1,
        max_length=MAX_TASK_NAME,
        description="A task of the tenant's flow (its `tasks:`)",
        examples=["team_reply"],
    )
    contact_id: str = Field(
        min_length=1,
        max_length=MAX_CONTACT_ID,
        description="As the channel names the contact: the WhatsApp number as Meta sends it "
        "(digits, no +), the Telegram chat id, the web chat's id",
        examples=["34600111222"],
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="The task's `data` (`{{ data.text }}` in its actions); values are data, "
        "never templates",
        examples=[{"text": "Hi Ana, this is Marta."}],
    )
    strict: bool = Field(default=False, description=STRICT)


class TaskWarningView(BaseModel):
    """Something the run's turn reported, as the data plane's log line names it."""

    code: str = Field(
        description="The diagnostic: `template_missing_value`, `bad_option_id`, "
        "`template_failed`, `template_error`..."
    )
    message: str = Field(
        description="What happened, in the flow's own words; never a value the flow rendered "
        "or the contact's data (a missing value is named only when the flow writes its name)"
    )
    where: str = Field(description="Where in the flow, e.g. `tasks.reminder[0].text`")


class RunTaskView(BaseModel):
    """What became of the run, as the tenant's data plane answered it."""

    status: TaskStatus = Field(
        description="`done`: the task ran and its turn is committed, whatever became of its "
        "messages. `skipped`: it did not run (a run with the same id ran before). `failed`: it "
        "raised and nothing was committed (the data plane logs `task_failed` with the reason). "
        "`refused`: a strict run whose templates lack a value (422): nothing was sent, "
        "committed or scheduled"
    )
    task: str
    contact_id: str
    run_id: str = Field(description="Names this run in the data plane's log lines")
    sent: int | None = Field(
        default=None,
        description="The task's messages delivered (accepted by the provider, or stored for "
        "the web chat); null when unknown or the task failed",
    )
    failed: int | None = Field(
        default=None,
        description="The task's messages not delivered; null as for `sent`",
    )
    contact_hash: str | None = Field(
        default=None,
        description="The contact as the data plane's log lines name it (a keyed hash; null "
        "from data planes of earlier releases)",
    )
    warnings: list[TaskWarningView] = Field(
        default_factory=list,
        description="What the task's turn reported (a value its templates did not find, an "
        "option left out...); a `done` run with warnings ran, but its messages may read "
        "wrong. Empty when nothing (and from data planes of earlier releases)",
    )


class RunJobView(RunTaskView):
    """A pending job run now, as the tenant's data plane answered it."""

    job_id: str = Field(description="The job run, as `GET .../tasks` listed it")
    kind: str = Field(
        description="`one_off` (it is no longer pending and does not fire again) or "
        "`standing` (it keeps its schedule)"
    )
    contact_id: str | None = Field(  # type: ignore[assignment]
        description="The job's contact; null for a standing job without one (`skipped`)"
    )


class RefusedRunView(RunTaskView):
    """A strict run refused (422): a template of the task lacks a value; nothing was sent."""

    detail: str = Field(description="Says that nothing was sent, and why")


class RefusedJobView(RunJobView):
    """A strict run of a pending job refused (422): nothing was sent; the job stays pending."""

    detail: str = Field(description="Says that nothing was sent, and why")


class CancelledTaskView(BaseModel):
    """A pending job cancelled: what it was."""

    job_id: str
    kind: str = Field(description="`one_off`: only those can be cancelled")
    task: str
    contact_id: str | None
    contact_hash: str | None = Field(
        default=None, description="The contact as the data plane's log lines name it"
    )
    key: str = Field(description="The flow's idempotency key")
    next_run_at: datetime | None = Field(description="When it would have run")


class TaskView(BaseModel):
    """One pending job: a one-off task or a standing schedule."""

    job_id: str = Field(
        description="The scheduler's id: `once:<key>` for a one-off task, `standing:<name>` "
        "for a standing schedule"
    )
    kind: str = Field(
        description="`one_off` (from `schedule_task`) or `standing` (`standing_schedules`)"
    )
    task: str = Field(description="The flow task it runs")
    contact_id: str | None = Field(description="The contact it runs for; null: none")
    key: str = Field(
        description="The flow's idempotency key (one-off) or the standing schedule's name"
    )
    next_run_at: datetime | None = Field(description="When it runs next; null: not known")
    data: dict[str, Any] = Field(description="The task's `data`, as the flow gave it")


class TaskListView(BaseModel):
    """The tenant's pending jobs, soonest first."""

    tasks: list[TaskView] = Field(max_length=MAX_TASKS)
    count: int = Field(ge=0, description="Jobs in `tasks`")
    truncated: bool = Field(description="More jobs match than `limit`")
