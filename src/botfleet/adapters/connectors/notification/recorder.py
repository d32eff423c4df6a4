"""The `notification` connector of `botfleet chat` and `botfleet test`: records, sends nothing.

The sandbox (`testing/sandbox.py`) puts it in place of a `webhook` binding. Each `send` runs
what the webhook runs before its request (`payload.prepare`: the params checked, the id, the
body in the binding's `format`), so a call the webhook would refuse (no `event`, an event name
with spaces, a `contact_id` that is a mapping...) fails here with the same `ConnectorRejected`
and the flow's `on_error` runs; any other call is kept in `sent` and answered as a webhook that
took it: ``{delivered: true, status: 200, id, response: null}``, the id the webhook would have
sent, and no answer from the business (a test that needs one scripts `send` instead: docs/
connectors.md, "Answers the flow can use").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botfleet.adapters.connectors.notification import payload
from botfleet.adapters.connectors.notification.webhook import OPERATIONS
from botfleet.domain.errors import UnknownOperation
from botfleet.ports.clock import Clock

#: The status a recorded notification is answered with (a webhook that took it).
DELIVERED_STATUS = 200


@dataclass(frozen=True, slots=True)
class SentNotification:
    """One notification a flow sent: the params as the webhook reads them, its id, and the body
    the webhook would have POSTed."""

    category: str
    id: str
    event: str
    contact_id: str | None
    text: str | None
    data: dict[str, Any]
    body: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, category: str, ready: payload.Prepared) -> SentNotification:
        """The notification `ready` is (the webhook's own reading of the params)."""
        notification = ready.notification
        return cls(
            category=category,
            id=ready.id,
            event=notification.event,
            contact_id=notification.contact_id,
            text=notification.text,
            data=dict(notification.data),
            body=ready.body,
        )

    def describe(self) -> str:
        """``handoff_requested {"contact_id": "+34600111222", "reason": "..."}``: the event,
        then the other params (`contact_id`, the data, `text`) as compact JSON."""
        shown: dict[str, Any] = {}
        if self.contact_id is not None:
            shown["contact_id"] = self.contact_id
        shown.update(self.data)
        if self.text is not None:
            shown["text"] = self.text
        if not shown:
            return self.event
        return f"{self.event} {json.dumps(shown, ensure_ascii=False, default=str)}"


class NotificationRecorder:
    """Records `send` calls instead of delivering them. Satisfies `Connector`.

    Args:
        clock: the sandbox's clock (the body's `sent_at`).
        category: the key under `connectors:`.
        format: the binding's `format` (`json` or `slack`): the body is built as the webhook
            would build it, so a param it cannot encode is refused here too.
        sent: the list calls are appended to (shared by the sandbox's recorders, in order).
    """

    #: As the webhook's: sending is creating (retried only with an idempotency key).
    creating_operations = OPERATIONS

    def __init__(
        self,
        *,
        clock: Clock,
        category: str = "notification",
        format: str = "json",
        sent: list[SentNotification] | None = None,
    ) -> None:
        self.category = category
        self.format = format
        self.sent: list[SentNotification] = [] if sent is None else sent
        self._clock = clock

    def __repr__(self) -> str:
        return f"NotificationRecorder(category={self.category!r}, sent={len(self.sent)})"

    def operations(self) -> frozenset[str]:
        return OPERATIONS

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        if operation not in OPERATIONS:
            raise UnknownOperation(self.category, operation, OPERATIONS)
        ready = payload.prepare(
            params,
            idempotency_key=idempotency_key,
            format=self.format,
            sent_at=self._clock.now(),
        )
        self.sent.append(SentNotification.of(self.category, ready))
        # The webhook's shape, so `{{ data.x.response... }}` renders the same (empty) here.
        return {"delivered": True, "status": DELIVERED_STATUS, "id": ready.id, "response": None}
