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
class LLMReplied:
    """How the LLM fallback's question went (`AskLLM` with `report`): the shell has sent its
    answer, or the safe text, already; the engine decides whether the contact moves
    (`llm_unanswered`). The pair of `CallConnector` -> `ConnectorReplied`/`ConnectorFailed`."""

    #: The state the question was asked in (`AskLLM.state`).
    state: str
    #: The question's `llm_question` outcome (docs/llm.md, "What the logs say": `answered`,
    #: `out_of_scope`, `timeout`...); `disabled` when no LLM fallback answered at all.
    outcome: str
    #: The message asked about (`AskLLM.message`): the states entered see it as `message`.
    message: InboundMessage


@dataclass(frozen=True, slots=True)
class TaskFired:
    """A scheduled task is due for this contact: run its actions in the conversation."""

    task: str
    data: dict[str, Any] = field(default_factory=dict)
    job_id: str = ""


Event = MessageReceived | ConnectorReplied | ConnectorFailed | LLMReplied | TaskFired
