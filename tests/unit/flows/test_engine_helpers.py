"""The engine's test helpers (botfleet.testing.engine and .clock) do what they promise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from botfleet.domain.errors import ConnectorRejected, FlowValidationError
from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Buttons, Option, TemplateMessage, Text
from botfleet.flows.effects import CallConnector
from botfleet.flows.events import ConnectorFailed, ConnectorReplied
from botfleet.testing.clock import DEFAULT_START, FrozenClock
from botfleet.testing.engine import (
    Conversation,
    answer_with,
    button,
    connector_answer,
    flow_from_yaml,
    list_reply,
    message,
    output_texts,
    text,
)

FLOW_TEXT = """
    id: helpers
    initial_state: A
    states:
      A:
        on_enter:
          - {action: invoke_connector, connector: mock, operation: get, result_key: r}
          - {action: send_text, text: "r={{ data.r }}"}
        fallback: A
"""
CALL = CallConnector("req-1", "mock", "get", {}, "key-1")


def test_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock()
    assert clock.now() == DEFAULT_START == clock.now()
    assert clock.advance(minutes=90) == DEFAULT_START + timedelta(minutes=90)
    assert clock.advance(timedelta(days=1), hours=1) == DEFAULT_START + timedelta(days=1, hours=2.5)
    earlier = datetime(2020, 1, 1, tzinfo=UTC)
    assert clock.set(earlier) == clock.now() == earlier


def test_frozen_clock_refuses_naive_times_and_going_backwards() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FrozenClock(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="negative"):
        FrozenClock().advance(seconds=-1)


def test_message_builders() -> None:
    assert text("hi").type is MessageType.TEXT and text("hi").text == "hi"
    assert (button("p").type, button("p").payload) == (MessageType.BUTTON_REPLY, "p")
    assert list_reply("p").type is MessageType.LIST_REPLY
    assert message("list").type is MessageType.LIST_REPLY  # DSL aliases accepted
    assert text("a").message_id != text("a").message_id
    assert text("a", message_id="fixed").message_id == "fixed"


def test_flow_from_yaml_validates_unless_told_not_to() -> None:
    broken = FLOW_TEXT.replace("fallback: A", "fallback: MISSING")
    with pytest.raises(FlowValidationError, match="unknown state 'MISSING'"):
        flow_from_yaml(broken)
    assert flow_from_yaml(broken, validate=False).states["A"].fallback == "MISSING"


def test_answer_with_a_table_a_function_or_errors() -> None:
    assert answer_with({"get": [1]})(CALL) == ConnectorReplied("req-1", [1])
    assert answer_with({})(CALL) == ConnectorFailed("req-1", "unknown_operation", "get")
    assert answer_with(lambda call: call.idempotency_key)(CALL) == ConnectorReplied(
        "req-1", "key-1"
    )

    def refuse(call: CallConnector) -> object:
        raise ConnectorRejected("no")

    assert answer_with(refuse)(CALL) == ConnectorFailed("req-1", "rejected", "no")


def test_connector_answer_without_that_category_fails_as_unavailable() -> None:
    failed = connector_answer({})(CALL)
    assert isinstance(failed, ConnectorFailed)
    assert failed.error_kind == "unavailable"


def test_a_conversation_without_answer_stops_at_the_call_and_resumes_by_hand() -> None:
    chat = Conversation(flow_from_yaml(FLOW_TEXT))
    first = chat.send("hi")
    assert first.state.awaiting is not None
    [call] = first.calls
    second = chat.resume(ConnectorReplied(call.request_id, 5))
    assert second.texts == ["r=5"]
    assert chat.state is second.state


def test_a_conversation_with_answer_plays_the_calls_and_gathers_every_step() -> None:
    chat = Conversation(flow_from_yaml(FLOW_TEXT), answer=answer_with({"get": 7}))
    exchange = chat.send("hi")
    assert len(exchange.steps) == 2
    assert exchange.texts == ["r=7"]
    assert exchange.entered == ("A",)
    assert exchange.state.awaiting is None


def test_output_texts_reads_every_kind_of_output() -> None:
    outputs = [
        Text("t"),
        Buttons("b", (Option("1", "One"),)),
        TemplateMessage("tpl", "en", (), "fallback"),
        TemplateMessage("bare", "en"),
    ]
    assert output_texts(outputs) == ["t", "b", "fallback", "bare"]
