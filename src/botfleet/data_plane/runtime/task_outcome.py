"""What became of one run of a scheduled task (`ConversationRuntime.run_task`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from botfleet.flows.effects import Diagnostic
from botfleet.ports.channels import NOTHING_SENT, SendOutcome

#: "done": the task's turn is committed; "skipped": it did not run (cancelled or scheduled again
#: while due, already run, no contact); "failed": it raised, nothing committed (`task_failed`);
#: "refused": a strict manual run met a template without its value: nothing stored, scheduled
#: or sent (`task_refused_strict`; its `diagnostics` say which).
TaskStatus = Literal["done", "skipped", "failed", "refused"]


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    status: TaskStatus
    #: What the channel's send of the task's own turn made of its messages (None: unknown).
    sends: SendOutcome | None = NOTHING_SENT
    #: A failed run: what it raised, as logged with `task_failed`. `botfleet test` and `chat`
    #: report it; the scheduler does not look at it (the run is over either way).
    error: Exception | None = None
    #: The task's turn's diagnostics (a missing template value, a bad option id...), as its
    #: log lines give them: `POST /run-task` answers them as `warnings`.
    diagnostics: tuple[Diagnostic, ...] = ()


SKIPPED = TaskOutcome("skipped")
