"""`mock`: a scripted connector for resilience tests and demos.

Each operation has a script: canned results, failures for the first N calls (or always) with a
chosen `ConnectorError` kind, and a delay. Every call is recorded in `.calls`. Tenant config::

    connectors:
      mock:           # called as `connector: mock`; or a notification: `notification.crm`
        type: mock
        operations:
          ping: {result: pong, fail_times: 2, error: timeout, delay_ms: 10}
          lookup: {results: [{found: false}, {found: true}]}   # one per call, the last repeats
        fixtures: {version: "1.0"}    # shorthand for operations: {version: {result: "1.0"}}

An operation with no script is unknown (`UnknownOperation`), so a typo fails loudly.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
    UnknownOperation,
)

ErrorKind = Literal["timeout", "unavailable", "rejected"]

_ERRORS: dict[str, type[ConnectorError]] = {
    "timeout": ConnectorTimeout,
    "unavailable": ConnectorUnavailable,
    "rejected": ConnectorRejected,
}


class OperationScript(BaseModel):
    """What one operation does. `results` (one per successful call) wins over `result`."""

    model_config = ConfigDict(extra="forbid")

    result: Any = None
    results: list[Any] | None = Field(None, min_length=1)
    fail_times: NonNegativeInt = 0
    fail_always: bool = False
    error: ErrorKind = "unavailable"
    error_message: str = ""
    #: With `error: rejected`, the HTTP status the refusal carries (`{status: 409}` in a
    #: flow's `result_key`), as a webhook's 4xx does.
    status: int | None = Field(None, ge=400, le=499)
    delay_ms: NonNegativeInt = 0

    @model_validator(mode="after")
    def _status_of_a_refusal(self) -> OperationScript:
        if self.status is not None and self.error != "rejected":
            raise ValueError("status is the HTTP status of a refusal: give error: rejected too")
        return self


class ScriptedSettings(BaseModel):
    """Tenant settings of a `mock` connector."""

    model_config = ConfigDict(extra="forbid")

    type: str = "mock"
    category: str | None = Field(None, description="defaults to the key under `connectors:`")
    operations: dict[str, OperationScript] = Field(default_factory=dict)
    fixtures: dict[str, Any] = Field(
        default_factory=dict, description="shorthand: operation -> canned result"
    )

    @model_validator(mode="after")
    def _named_operations(self) -> ScriptedSettings:
        if any(not name.strip() for name in [*self.operations, *self.fixtures]):
            raise ValueError("operations: an operation name is empty")
        both = sorted(set(self.operations) & set(self.fixtures))
        if both:
            raise ValueError(f"{', '.join(both)}: scripted in both operations and fixtures")
        return self

    def scripts(self) -> dict[str, OperationScript]:
        """Every operation's script, fixtures included."""
        canned = {name: OperationScript(result=value) for name, value in self.fixtures.items()}
        return {**canned, **self.operations}


@dataclass(frozen=True, slots=True)
class RecordedCall:
    operation: str
    params: dict[str, Any]
    idempotency_key: str


class ScriptedConnector:
    """A connector whose answers are scripted per operation. Satisfies `Connector`."""

    def __init__(
        self, scripts: Mapping[str, OperationScript] | None = None, *, category: str = "mock"
    ) -> None:
        self.category = category
        self.calls: list[RecordedCall] = []
        self._scripts: dict[str, OperationScript] = dict(scripts or {})
        self._attempts: dict[str, int] = {}
        self._successes: dict[str, int] = {}

    def operations(self) -> frozenset[str]:
        return frozenset(self._scripts)

    def script(self, operation: str, **fields: Any) -> None:
        """Set (or replace) an operation's script and restart its counters.

        Example: ``connector.script("ping", result="pong", fail_times=2, error="timeout")``.
        """
        self._scripts[operation] = OperationScript(**fields)
        self._attempts.pop(operation, None)
        self._successes.pop(operation, None)

    def calls_to(self, operation: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.operation == operation]

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        """Record the call, wait the delay, then fail or answer as scripted."""
        self.calls.append(RecordedCall(operation, dict(params), idempotency_key))
        script = self._scripts.get(operation)
        if script is None:
            raise UnknownOperation(self.category, operation, self._scripts)
        attempt = self._attempts.get(operation, 0) + 1
        self._attempts[operation] = attempt
        if script.delay_ms:
            await asyncio.sleep(script.delay_ms / 1000)
        if script.fail_always or attempt <= script.fail_times:
            error = _ERRORS[script.error]
            detail = script.error_message or f"scripted {script.error} (attempt {attempt})"
            message = f"{self.category}.{operation}: {detail}"
            if error is ConnectorRejected:
                raise ConnectorRejected(message, status=script.status)
            raise error(message)
        served = self._successes.get(operation, 0)
        self._successes[operation] = served + 1
        if script.results is not None:
            answer = script.results[min(served, len(script.results) - 1)]
        else:
            answer = script.result
        # A copy, so a caller that mutates its result cannot change the script.
        return copy.deepcopy(answer)


def build(
    settings: Mapping[str, Any], *, category: str | None = None, **_shared: Any
) -> ScriptedConnector:
    """The `mock` connector from raw tenant settings.

    Args:
        settings: the raw `connectors.<category>` mapping.
        category: the key under `connectors:`; a `category` in the settings wins over it.
        _shared: time zone, clock... accepted and ignored, so every connector factory can be
            called the same way.

    Raises:
        pydantic.ValidationError: the settings are invalid (the caller reports a config error).
    """
    parsed = ScriptedSettings.model_validate({"type": "mock", **settings})
    return ScriptedConnector(parsed.scripts(), category=parsed.category or category or "mock")
