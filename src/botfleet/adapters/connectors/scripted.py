"""`mock`: a scripted connector for resilience tests and demos.

Each operation has a script: canned results, failures for the first N calls (or always) with a
chosen `ConnectorError` kind, and a delay. Every call is recorded in `.calls`. Tenant config::

    connectors:
      mock:           # called as `connector: mock`; or a notification: `notification.crm`
        type: mock
        operations:
          ping: {result: pong, fail_times: 2, error: timeout, delay_ms: 10}
          lookup: {results: [{found: false}, {found: true}]}   # one per call, the last repeats
          send:       # one script per `event` param: one binding standing for a whole back end
            by_event:
              list_slots: {result: {response: {slots: ["10:00"]}}}
              book_slot: {fail_always: true, error: rejected, status: 409}
        fixtures: {version: "1.0"}    # shorthand for operations: {version: {result: "1.0"}}

An operation with no script is unknown (`UnknownOperation`), so a typo fails loudly. So is an
event `by_event` does not list, unless the operation has a script of its own besides it:
the call is refused naming the event and the events scripted (`ScriptedConnector.unscripted`).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    field_validator,
    model_validator,
)

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
    """What one operation does. `results` (one per successful call) wins over `result`.

    `by_event`: one script per value of the call's `event` param, each counting its calls
    apart (one webhook binding standing for a whole back end answers `list_slots` and
    `book_slot` apart); a call for an event it does not list is answered by the operation's
    other keys when it gives any, else refused."""

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
    by_event: dict[str, OperationScript] | None = Field(None, min_length=1)

    @field_validator("by_event")
    @classmethod
    def _one_level(
        cls, value: dict[str, OperationScript] | None
    ) -> dict[str, OperationScript] | None:
        for event, script in (value or {}).items():
            if not event.strip():
                raise ValueError("an event name is empty")
            if script.by_event is not None:
                # Only the `event` param chooses a script: a second level would choose by it again.
                raise ValueError(f"{event}: an event's script cannot have a by_event of its own")
        return value

    @model_validator(mode="after")
    def _status_of_a_refusal(self) -> OperationScript:
        if self.status is not None and self.error != "rejected":
            raise ValueError("status is the HTTP status of a refusal: give error: rejected too")
        return self

    def answers_other_events(self) -> bool:
        """Whether a call for an event `by_event` does not list is answered by this script: it
        gives a key besides `by_event` (`result: null` counts: written, it is meant)."""
        return bool(self.model_fields_set - {"by_event"})


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


#: Whom a call is counted for: the operation, and the event when `by_event` chose its script.
_Counter = tuple[str, str | None]


class ScriptedConnector:
    """A connector whose answers are scripted per operation. Satisfies `Connector`."""

    def __init__(
        self, scripts: Mapping[str, OperationScript] | None = None, *, category: str = "mock"
    ) -> None:
        self.category = category
        self.calls: list[RecordedCall] = []
        #: Why each call for an event its operation's `by_event` does not script was refused,
        #: in order: a mistake of the script, which a conversation test reports as such.
        self.unscripted: list[str] = []
        self._scripts: dict[str, OperationScript] = dict(scripts or {})
        self._attempts: dict[_Counter, int] = {}
        self._successes: dict[_Counter, int] = {}
        self._observers: list[Callable[[RecordedCall], None]] = []

    def operations(self) -> frozenset[str]:
        return frozenset(self._scripts)

    def script(self, operation: str, **fields: Any) -> None:
        """Set (or replace) an operation's script and restart its counters.

        Example: ``connector.script("ping", result="pong", fail_times=2, error="timeout")``.
        """
        self._scripts[operation] = OperationScript(**fields)
        for counters in (self._attempts, self._successes):
            for counter in [c for c in counters if c[0] == operation]:
                del counters[counter]

    def calls_to(self, operation: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.operation == operation]

    def observe(self, observer: Callable[[RecordedCall], None]) -> None:
        """Call `observer` with each call as it is made, before it is answered or fails (the
        sandbox lists a scripted notification's calls among the notifications sent)."""
        self._observers.append(observer)

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        """Record the call, wait the delay, then fail or answer as scripted."""
        recorded = RecordedCall(operation, dict(params), idempotency_key)
        self.calls.append(recorded)
        for observer in self._observers:
            observer(recorded)
        script = self._scripts.get(operation)
        if script is None:
            raise UnknownOperation(self.category, operation, self._scripts)
        script, counter = self._chosen(operation, script, params)
        attempt = self._attempts.get(counter, 0) + 1
        self._attempts[counter] = attempt
        if script.delay_ms:
            await asyncio.sleep(script.delay_ms / 1000)
        if script.fail_always or attempt <= script.fail_times:
            error = _ERRORS[script.error]
            detail = script.error_message or f"scripted {script.error} (attempt {attempt})"
            message = f"{self.category}.{operation}: {detail}"
            if error is ConnectorRejected:
                raise ConnectorRejected(message, status=script.status)
            raise error(message)
        served = self._successes.get(counter, 0)
        self._successes[counter] = served + 1
        if script.results is not None:
            answer = script.results[min(served, len(script.results) - 1)]
        else:
            answer = script.result
        # A copy, so a caller that mutates its result cannot change the script.
        return copy.deepcopy(answer)

    def _chosen(
        self, operation: str, script: OperationScript, params: Mapping[str, Any]
    ) -> tuple[OperationScript, _Counter]:
        """The script that answers this call, and whom the call is counted for.

        Raises:
            ConnectorRejected: `by_event` does not list the call's event, and the operation
                has no script of its own for the other events.
        """
        if script.by_event is None:
            return script, (operation, None)
        event = params.get("event")
        chosen = script.by_event.get(event) if isinstance(event, str) else None
        if chosen is not None:
            return chosen, (operation, event)
        if script.answers_other_events():
            return script, (operation, None)
        what = "without an event" if event in (None, "") else f"for event {event!r}"
        scripted = ", ".join(sorted(script.by_event))
        message = (
            f"{self.category}.{operation}: no answer scripted {what} (by_event scripts: "
            f"{scripted}): add it under by_event, or give {operation} a script of its own "
            "besides by_event for the other events"
        )
        self.unscripted.append(message)
        raise ConnectorRejected(message)


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
