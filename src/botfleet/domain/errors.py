"""Error tree of the platform.

BotPlatformError
├── FlowError
│   ├── FlowValidationError      (a flow file has problems; carries every issue)
│   ├── UnknownState
│   ├── StepLimitExceeded        (a chain of automatic transitions did not settle)
│   └── TemplateError            (strict mode: missing value or broken template)
├── StoreError
│   ├── ConcurrentUpdate         (optimistic concurrency: stale version)
│   ├── StoreUnavailable         (locked, full, I/O error: retry later)
│   └── TaskAlreadyRan           (a one-off task's run was committed before: not again)
├── ConnectorError
│   ├── ConnectorUnavailable     (breaker open, network down; retryable)
│   │   └── ConnectorRateLimited (HTTP 429: the back end is up and asks us to wait)
│   ├── ConnectorTimeout         (retryable)
│   ├── ConnectorRejected        (the back end said no: not retryable)
│   └── UnknownOperation
├── ChannelError
│   ├── InvalidSignature
│   └── UnsupportedPayload
├── ConfigError                  (tenant configuration; names file and key)
└── UnknownAdapterError
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class BotPlatformError(Exception):
    """Root of every error the platform raises on purpose."""


class FlowError(BotPlatformError):
    """A flow is invalid or misbehaved at run time."""


@dataclass(frozen=True, slots=True)
class FlowIssue:
    """One problem found in a flow, located by file, line and path."""

    message: str
    path: str = ""
    line: int | None = None
    source: str = "<flow>"
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        path = f" {self.path}:" if self.path else ":"
        tag = "" if self.severity == "error" else " [warning]"
        return f"{where}{path}{tag} {self.message}"


class FlowValidationError(FlowError):
    """A flow has at least one error; ``issues`` lists all of them (warnings included)."""

    def __init__(self, issues: Sequence[FlowIssue]) -> None:
        self.issues = tuple(issues)
        errors = [i for i in self.issues if i.severity == "error"]
        lines = "\n".join(str(i) for i in errors)
        super().__init__(f"{len(errors)} error(s) in flow:\n{lines}")


class UnknownState(FlowError, LookupError):
    def __init__(self, flow_id: str, state: str) -> None:
        self.flow_id, self.state = flow_id, state
        super().__init__(f"flow {flow_id!r} has no state {state!r}")


class StepLimitExceeded(FlowError):
    def __init__(self, flow_id: str, chain: Iterable[str], limit: int) -> None:
        self.chain = tuple(chain)
        super().__init__(
            f"flow {flow_id!r}: more than {limit} automatic transitions in one turn "
            f"({' -> '.join(self.chain)}); the conversation was stopped to avoid a loop"
        )


class TemplateError(FlowError):
    def __init__(self, where: str, detail: str) -> None:
        self.where, self.detail = where, detail
        super().__init__(f"{where}: {detail}")


class StoreError(BotPlatformError):
    """Persistence failed.

    The message names the file and what was being done, quoting contact ids; `cause` is the
    database's own words ("database is locked"), what a log line outside a contact's turn
    (where ids are not scrubbed) may show.
    """

    def __init__(self, *args: object, cause: str | None = None) -> None:
        super().__init__(*args)
        self.cause = cause


class ConcurrentUpdate(StoreError):
    def __init__(self, key: str, expected: int | None, actual: int | None) -> None:
        super().__init__(f"conversation {key}: expected version {expected}, found {actual}")


class StoreUnavailable(StoreError):
    """The store cannot be used right now (locked by another writer, disk full, I/O error);
    the same call may succeed later."""


class TaskAlreadyRan(StoreError):
    """A task's turn was not committed: the run it records (a one-off job's, by idempotency key
    and due time) was recorded by an earlier turn, so it must not be sent again."""


class Overloaded(BotPlatformError):
    """More messages wait for their turns than the tenant may queue; nothing was stored, and
    the same delivery may succeed later (providers retry a 503)."""


class MessageIdConflict(BotPlatformError):
    """A message id already journaled for another contact: refused, never answered with that
    contact's replies (web chat clients choose their own ids)."""


class ConnectorError(BotPlatformError):
    """A connector call failed. ``retryable`` tells the resilience layer whether to retry."""

    retryable: bool = False
    kind: str = "error"


class ConnectorUnavailable(ConnectorError):
    retryable = True
    kind = "unavailable"


class ConnectorRateLimited(ConnectorUnavailable):
    """The back end answered "too many requests" (HTTP 429), after `retry_after` seconds if it
    said. Retryable, but not a sign of ill health: the resilience layer waits what the back end
    asked (when the call's time budget allows) and does not count it against the breaker."""

    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ConnectorTimeout(ConnectorError):
    retryable = True
    kind = "timeout"


class ConnectorRejected(ConnectorError):
    """The back end refused the call (a 4xx but 408 and 429): retrying would not help.
    `status`: the HTTP status it answered, where there was one, which a flow reads after
    `on_error: {continue: true}` (a 409 "slot taken" is not a 401 "wrong secret")."""

    kind = "rejected"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class UnknownOperation(ConnectorError):
    kind = "unknown_operation"

    def __init__(self, category: str, operation: str, known: Iterable[str]) -> None:
        super().__init__(
            f"connector {category!r} has no operation {operation!r} "
            f"(known: {', '.join(sorted(known))})"
        )


class ChannelError(BotPlatformError):
    """A channel could not accept or parse something."""


class InvalidSignature(ChannelError):
    pass


class UnsupportedPayload(ChannelError):
    pass


class ConfigError(BotPlatformError):
    """Tenant configuration is wrong. The message names the file and key.

    `problems` holds every (key, detail) found at once, the first being `key`/`detail`; the
    message gives one line per problem.
    """

    def __init__(
        self,
        source: str,
        key: str,
        detail: str,
        *,
        more: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.source, self.key, self.detail = source, key, detail
        self.problems: tuple[tuple[str, str], ...] = ((key, detail), *more)
        super().__init__("\n".join(f"{source}: {k}: {d}" for k, d in self.problems))

    @classmethod
    def of(cls, source: str, problems: Sequence[tuple[str, str]]) -> ConfigError:
        """One error for several problems (at least one)."""
        (key, detail), *more = problems
        return cls(source, key, detail, more=more)


class UnknownAdapterError(ConfigError):
    def __init__(self, source: str, key: str, kind: str, known: Iterable[str]) -> None:
        super().__init__(source, key, f"unknown type {kind!r} (known: {', '.join(sorted(known))})")
