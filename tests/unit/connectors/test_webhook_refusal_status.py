"""A webhook's refusal keeps its HTTP status, which a flow reads after `on_error: {continue:
true}`: a 409 "slot taken" from a business's own booking hook is not a 401 "wrong secret"."""

from __future__ import annotations

from typing import Any

import pytest
from webhook_kit import KEY, Answer, Receiver, webhook

from botfleet.domain.errors import ConnectorRejected
from botfleet.flows.effects import CallConnector
from botfleet.testing.engine import Conversation, answer_with, flow_from_yaml, output_texts

EVENT = {"event": "book_slot", "slot": "2024-05-10T10:00"}


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
async def test_a_refusal_carries_its_status(status: int) -> None:
    connector, _ = webhook(Receiver([Answer(status)]))
    with pytest.raises(ConnectorRejected) as refused:
        await connector.call("send", EVENT, idempotency_key=KEY)
    assert refused.value.status == status


async def test_the_hint_of_a_401_names_the_signing_secret_too() -> None:
    connector, _ = webhook(Receiver([Answer(401)]), secret="s" * 32)
    with pytest.raises(ConnectorRejected, match="signing secret"):
        await connector.call("send", EVENT, idempotency_key=KEY)


FLOW = flow_from_yaml(
    """
    id: own_booking
    initial_state: START
    states:
      START:
        fallback: BOOK
      BOOK:
        on_enter:
          - action: invoke_connector
            connector: notification
            operation: send
            params: {event: book_slot}
            result_key: booking
            on_error: {continue: true}
        next:
          - condition: "(data.booking.status | default(0)) == 409"
            target: TAKEN
          - condition: "data.booking.failed is defined"
            target: BROKEN
          - target: BOOKED
      TAKEN:
        on_enter: [{action: send_text, text: "taken ({{ data.booking.status }})"}]
      BROKEN:
        on_enter: [{action: send_text, text: "broken: {{ data.booking.error }}"}]
      BOOKED:
        on_enter: [{action: send_text, text: "booked"}]
    """
)


def _said(error: Exception | dict[str, Any]) -> tuple[list[str], Any]:
    def reply(call: CallConnector) -> Any:
        if isinstance(error, Exception):
            raise error
        return error

    chat = Conversation(FLOW, answer=answer_with(reply))
    exchange = chat.send("hi")
    return output_texts(exchange.outputs), exchange.state.data["booking"]


def test_a_flow_tells_a_409_from_other_refusals_and_failures() -> None:
    assert _said(ConnectorRejected("x", status=409)) == (
        ["taken (409)"],
        {"failed": True, "error": "rejected", "status": 409},
    )
    assert _said(ConnectorRejected("x", status=401))[0] == ["broken: rejected"]
    # No status, no key: a refusal without one (a bad param) and other failures.
    assert _said(ConnectorRejected("bad param"))[1] == {"failed": True, "error": "rejected"}
    assert _said({"delivered": True})[0] == ["booked"]


async def test_a_scripted_refusal_carries_the_status_scripted() -> None:
    from pydantic import ValidationError

    from botfleet.adapters.connectors.scripted import build

    scripted = build(
        {"operations": {"send": {"fail_always": True, "error": "rejected", "status": 409}}}
    )
    with pytest.raises(ConnectorRejected) as refused:
        await scripted.call("send", EVENT, idempotency_key=KEY)
    assert refused.value.status == 409
    with pytest.raises(ValidationError, match="give error: rejected too"):
        build({"operations": {"send": {"fail_always": True, "status": 409}}})


def test_a_handled_409_is_a_warning_and_a_401_stays_an_error() -> None:
    def levels(error: ConnectorRejected) -> list[str]:
        def reply(call: CallConnector) -> Any:
            raise error

        exchange = Conversation(FLOW, answer=answer_with(reply)).send("hi")
        return [d.level for d in exchange.diagnostics if d.event == "connector_failed"]

    assert levels(ConnectorRejected("taken", status=409)) == ["warning"]
    assert levels(ConnectorRejected("bad secret", status=401)) == ["error"]
    assert levels(ConnectorRejected("bad param")) == ["error"]
