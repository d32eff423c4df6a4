"""Events the engine reacts to (a closed union)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botfleet.domain.messages import InboundMessage


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message: InboundMessage


@dataclass(frozen=True, slots=True)
class ConnectorReplied:
    request_id: str
    result: Any


@dataclass(frozen=True, slots=True)
class ConnectorFailed:
    request_id: str
    error_kind: str
    detail: str = ""
    #: The HTTP status of a refusal (`ConnectorRejected.status`), None when there was none.
    status: int | None = None


@dataclass(frozen=True, slots=True)
class TaskFired:
    """A scheduled task is due for this contact: run its actions in the conversation."""

    task: str
    data: dict[str, Any] = field(default_factory=dict)
    job_id: str = ""


Event = MessageReceived | ConnectorReplied | ConnectorFailed | TaskFired
