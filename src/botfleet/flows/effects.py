"""Effects: requests the engine makes of the outside world. The shell carries them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botfleet.domain.messages import InboundMessage


@dataclass(frozen=True, slots=True)
class CallConnector:
    """Call `operation` on the connector of `connector` category; answer comes back as an event."""

    request_id: str
    connector: str
    operation: str
    params: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class ScheduleTask:
    task: str
    run_at: datetime
    idempotency_key: str
    contact_id: str
    data: dict[str, Any] = field(default_factory=dict)
    #: How late the job may still run (the flow's `run_late_within`); None: the scheduler's
    #: misfire grace window.
    run_late_within: timedelta | None = None


@dataclass(frozen=True, slots=True)
class CancelTask:
    idempotency_key: str
    contact_id: str


@dataclass(frozen=True, slots=True)
class AskLLM:
    """Free text matched nothing in an `llm_fallback` state: the shell asks the LLM.

    The answer (or the safe fallback text) is sent as-is; the model never changes state or
    data. With `report` (the state has `llm_unanswered`), the shell then steps the engine with
    `LLMReplied`, and the flow may move the contact on a question left unanswered.
    """

    question: str
    state: str
    fallback_text: str
    #: The language the contact chose (`TurnBuilder.chosen_language`), the answer's; "" when
    #: the flow leaves it to the question's.
    language: str = ""
    #: Step the engine again with the outcome (`LLMReplied`) once the reply is sent.
    report: bool = False
    #: The message asked about, handed back in `LLMReplied` (with `report` only).
    message: InboundMessage | None = None


Effect = CallConnector | ScheduleTask | CancelTask | AskLLM


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """Something worth a log line (missing template value, bad run_at...), named by place."""

    level: str
    event: str
    where: str
    detail: str
