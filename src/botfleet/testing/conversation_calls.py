"""The calls a sandbox's scripted connectors get, as `botfleet test` and `botfleet chat` show them.

A scripted (`mock`) binding of the notification category stands for a webhook whose answer is
scripted (a business's own back end, docs/connectors.md, "Your own back end"): each `send` it
gets goes among `Sandbox.notifications` as the flow makes it, in order with a recorded webhook's,
so a test's `notified:` checks what was sent and chat prints it. A call for an event the
script's `by_event` does not list is a mistake of the script, not of the flow:
`ScriptedCalls.unscripted_since` names it, and a conversation test fails the step that made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from botfleet.adapters.connectors.notification import payload
from botfleet.adapters.connectors.notification.recorder import SentNotification
from botfleet.adapters.connectors.notification.webhook import OPERATIONS
from botfleet.adapters.connectors.scripted import RecordedCall, ScriptedConnector
from botfleet.data_plane.runtime.connectors import ConnectorRegistry
from botfleet.domain.errors import ConnectorRejected
from botfleet.flows.connector_names import connector_category
from botfleet.testing.sandbox import NOTIFICATION, Sandbox

__all__ = ["ScriptedCalls", "scripted_notification", "watch_scripted_calls"]


@dataclass(frozen=True, slots=True)
class ScriptedCalls:
    """The sandbox's scripted connectors, by binding name."""

    connectors: Mapping[str, ScriptedConnector]

    def mark(self) -> dict[str, int]:
        """Where each connector's refused calls stand now, for `unscripted_since`."""
        return {name: len(c.unscripted) for name, c in self.connectors.items()}

    def unscripted_since(self, mark: Mapping[str, int]) -> list[str]:
        """Why each call since `mark` for an event no `by_event` scripts was refused."""
        return [
            f"unscripted call: {message}"
            for name, connector in self.connectors.items()
            for message in connector.unscripted[mark.get(name, 0) :]
        ]


def watch_scripted_calls(sandbox: Sandbox) -> ScriptedCalls:
    """The sandbox's scripted connectors; from now on each `send` to a scripted notification
    binding is appended to `sandbox.notifications` when the flow makes it, whatever the script
    answers (a refusal was sent too). Call it once per sandbox."""
    registry = sandbox.runtime.connectors
    found: dict[str, ScriptedConnector] = {}
    if isinstance(registry, ConnectorRegistry):
        for name in sorted(registry.categories):
            # A scripted `send` standing in for a webhook with `redeliver_for` is wrapped.
            connector = getattr(registry.get(name), "wrapped_script", registry.get(name))
            if not isinstance(connector, ScriptedConnector):
                continue
            found[name] = connector
            if connector_category(name) == NOTIFICATION:
                connector.observe(partial(_record, sandbox, name))
    return ScriptedCalls(found)


def _record(sandbox: Sandbox, name: str, call: RecordedCall) -> None:
    if call.operation in OPERATIONS:
        sandbox.notifications.append(scripted_notification(name, call, sandbox.clock.now()))


def scripted_notification(name: str, call: RecordedCall, at: datetime) -> SentNotification:
    """A `send` to the scripted binding `name` as the webhook would have sent it (its id and
    JSON body); params the webhook would refuse, which a script answers all the same, are
    listed as the flow gave them."""
    params = call.params
    try:
        ready = payload.prepare(
            params, idempotency_key=call.idempotency_key, format="json", sent_at=at
        )
    except ConnectorRejected:
        event, contact, text = (params.get(k) for k in payload.RESERVED_PARAMS)
        return SentNotification(
            category=name,
            id=payload.notification_id(call.idempotency_key),
            event="" if event is None else str(event),
            contact_id=_text_or_none(contact),
            text=_text_or_none(text),
            data={k: v for k, v in params.items() if k not in payload.RESERVED_PARAMS},
            body={},
        )
    return SentNotification.of(name, ready)


def _text_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
