"""Connector ports: each category is a set of named operations the flow can invoke."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class Connector(Protocol):
    """One connector instance (e.g. the tenant's calendar). Operations take and return JSON."""

    category: str

    def operations(self) -> frozenset[str]:
        """Names of the operations this connector supports."""
        ...

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        """Run one operation. Raises a `ConnectorError` subclass on failure."""
        ...


@runtime_checkable
class FindsCreated(Protocol):
    """A connector that can tell whether a create happened after all (optional).

    A create whose attempts all timed out (or lost the back end mid-request) may still have
    happened: the back end can finish an insert its caller stopped waiting for. The resilience
    layer then asks once, before reporting the failure, so the flow does not tell the contact
    "nothing was booked" about a booking that exists.
    """

    async def find_created(
        self, operation: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> Any | None:
        """What `call(operation, params, idempotency_key=...)` answers when the thing it creates
        exists already (found by `idempotency_key`), else None (not found, or not a create this
        connector can look up). Raises a `ConnectorError` when the back end cannot tell."""
        ...


class ConnectorCaller(Protocol):
    """What the shell uses: resolves a category to the tenant's connector and calls it."""

    async def call(
        self, category: str, operation: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> Any:
        """Call `operation` on the category's connector (with the resilience policy applied)."""
        ...


@dataclass(frozen=True, slots=True)
class LLMUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    in_scope: bool
    usage: LLMUsage = field(default_factory=LLMUsage)


@dataclass(frozen=True, slots=True)
class LLMContext:
    state: str
    history: tuple[tuple[str, str], ...]  # (role, text)
    tenant_name: str
    language: str
    #: The language the contact chose (`AskLLM.language`), which the answer must be in; ""
    #: when the answer follows the question's. Not in the cached rules: in the user turn.
    reply_language: str = ""
    #: The language of the turn's platform words (`StepResult.language`: the flow's choice,
    #: else the contact's); "" when unknown. The fallback's own sentences follow it.
    turn_language: str = ""


class LLMConnector(Protocol):
    async def answer(self, question: str, knowledge: str, context: LLMContext) -> Answer:
        """Answer from the knowledge document; `in_scope=False` when it does not say."""
        ...


@dataclass(frozen=True, slots=True)
class LLMReply:
    """What the LLM fallback made of one question: the text to send, and how it went."""

    #: The document's answer, or the safe fallback text (the built-in "ask in a few words" for
    #: a question too long to ask).
    text: str
    #: The question's `llm_question` outcome (docs/llm.md, "What the logs say"): `answered`
    #: only when `text` is the document's answer. A flow's `llm_unanswered` moves on it.
    outcome: str = "answered"


class LLMFallback(Protocol):
    """The shell's LLM hook: a question in, the text to send out (answer or safe fallback)."""

    async def reply(
        self, question: str, context: LLMContext, fallback_text: str
    ) -> LLMReply | None:
        """The text to send and the outcome, or None when the LLM is disabled."""
        ...
