"""Refusals that are the operator's to fix: the binding's settings point at nothing.

A calendar that does not exist (a wrong `calendar_id`, a calendar deleted or no longer shared)
is neither the user's fault nor an outage: the call is refused (never retried, never counted
by the breaker), the flow's `on_error` runs, and the operator needs one log line saying which
binding and which setting to check. The adapter cannot write that line well: it may run in a
worker thread or in a task of its own (a write that outlives a caller's timeout), where the
turn's `tenant` and `contact` are not known, and it does not know the name it is bound under.
So it raises a `MisconfiguredBinding` carrying the line's fields, and the resilience layer
(`botfleet.data_plane.resilience.connector`), which wraps every call in the caller's task,
writes `log_event` at level error with them, the binding (`connector`), the operation and the
turn's fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from botfleet.domain.errors import ConnectorRejected


class MisconfiguredBinding(ConnectorRejected):
    """A refusal caused by the binding's own settings. `log_fields` (None: nothing to log,
    the message says enough) never hold a secret; the message holds no address."""

    #: The event of the log line the resilience layer writes.
    log_event: ClassVar[str] = "connector_misconfigured"

    def __init__(self, message: str, *, log_fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.log_fields: dict[str, Any] | None = None if log_fields is None else dict(log_fields)
