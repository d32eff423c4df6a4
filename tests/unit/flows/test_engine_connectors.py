"""invoke_connector: the call effect, replies that resume the program, failures and on_error."""

from __future__ import annotations

from pathlib import Path

import pytest

from botfleet.domain.errors import ConnectorTimeout
from botfleet.domain.outputs import Buttons, Option, Text
from botfleet.flows.effects import CallConnector
from botfleet.flows.events import ConnectorFailed, ConnectorReplied
from botfleet.flows.schema import FlowSettings, FlowSpec
from botfleet.flows.state import Resume
from botfleet.flows.turn import DEFAULT_ERROR_TEXT
from botfleet.testing.engine import (
    Conversation,
    Exchange,
    answer_with,
    button,
    flow_from_file,
    flow_from_yaml,
)

FLOW = flow_from_file(Path(__file__).parents[2] / "fixtures/flows/engine/connectors.yaml")
DAYS = [{"id": "day_2024-01-09", "title": "Tue 9 Jan"}, {"id": "day_2024-01-10", "title": "Wed"}]
MENU_OPTIONS = (
    Option("lookup", "Look up"),
    Option("no_route", "No route"),
    Option("text_only", "Text only"),
)


def at_menu(flow: FlowSpec = FLOW) -> Conversation:
    chat = Conversation(flow).with_data(duration=30)
    chat.send("hi")
    return chat


def pending(payload: str, flow: FlowSpec = FLOW) -> tuple[Conversation, CallConnector]:
    """A contact who pressed `payload`; the state's connector call is waiting for its answer."""
    chat = at_menu(flow)
    exchange = chat.press(payload)
    [call] = exchange.calls
    return chat, call


def fail(payload: str, flow: FlowSpec = FLOW) -> Exchange:
    chat, call = pending(payload, flow)
    return chat.resume(ConnectorFailed(call.request_id, "timeout", "no answer in 10 s"))


# ---------------------------------------------------------------- the call


def test_a_connector_call_stops_the_program_with_awaiting_set() -> None:
    chat = at_menu()
    exchange = chat.press("lookup")
    assert exchange.texts == ["Looking..."]  # actions before the call already ran
    [call] = exchange.effects
    assert isinstance(call, CallConnector)
    assert (call.connector, call.operation) == ("calendar", "get_available_days")
    assert exchange.state.node == "LOOKUP"
    awaiting = exchange.state.awaiting
    assert isinstance(awaiting, Resume)
    assert (awaiting.kind, awaiting.name, awaiting.index) == ("state", "LOOKUP", 2)
    assert awaiting.request_id == call.request_id
    assert awaiting.origin == "MENU"


def test_params_are_rendered_keeping_the_type_of_lone_expressions() -> None:
    _, call = pending("lookup")
    assert call.params == {
        "from_date": "2024-01-08",
        "service_duration_min": 30,
        "label": "30 min",
        "nested": {"who": "contact-1", "list": [30, 2]},
        "lookahead_days": 14,
    }


def test_the_idempotency_key_is_the_same_when_the_same_message_is_replayed() -> None:
    keys = []
    for message_id in ("wamid.1", "wamid.1", "wamid.2"):
        exchange = at_menu().send(button("lookup", message_id=message_id))
        keys.append(exchange.calls[0].idempotency_key)
    assert keys[0] == keys[1] != keys[2]
    assert keys[0].startswith("tenant-1:contact-1:wamid.1/")


# ---------------------------------------------------------------- replies


def test_a_reply_lands_under_result_key_and_the_program_continues() -> None:
    chat, call = pending("lookup")
    exchange = chat.resume(ConnectorReplied(call.request_id, DAYS))
    assert exchange.state.data["days"] == DAYS
    assert exchange.state.awaiting is None
    assert exchange.state.node == "LOOKUP"
    [menu] = exchange.outputs
    assert isinstance(menu, Buttons)
    assert [b.id for b in menu.buttons] == ["day_2024-01-09", "day_2024-01-10"]


def test_templates_after_a_reply_still_see_the_message_that_started_the_turn() -> None:
    chat, call = pending("lookup")
    exchange = chat.resume(ConnectorReplied(call.request_id, DAYS))
    assert exchange.texts == ["2 days for lookup"]
    assert exchange.diagnostics == ()


def test_the_next_message_answers_the_options_shown_after_the_reply() -> None:
    chat, call = pending("lookup")
    chat.resume(ConnectorReplied(call.request_id, DAYS))
    exchange = chat.send("2")
    assert exchange.state.data["day"] == "2024-01-10"
    assert exchange.entered == ("MENU",)


def test_a_reply_without_result_key_stores_nothing_and_continues() -> None:
    chat, call = pending("no_key")
    exchange = chat.resume(ConnectorReplied(call.request_id, {"ignored": True}))
    assert exchange.texts == ["done"]
    assert "ignored" not in str(exchange.state.data)


def test_several_calls_in_one_program_run_in_order_each_seeing_the_last_result() -> None:
    answer = answer_with(
        lambda call: {"id": "A1"} if call.operation == "first" else f"got {call.params['previous']}"
    )
    exchange = Conversation(FLOW, answer=answer).press("two_calls")
    assert [c.operation for c in exchange.calls] == ["first", "second"]
    assert exchange.calls[1].params == {"previous": "A1"}
    assert exchange.texts == ["A1 then got A1"]
    assert len({c.request_id for c in exchange.calls}) == 2


def test_a_reply_to_another_request_is_ignored_and_the_call_stays_pending() -> None:
    chat, call = pending("lookup")
    before = chat.state
    exchange = chat.resume(ConnectorReplied("someone-else/state:X/0", DAYS))
    assert exchange.outputs == ()
    assert exchange.diagnostic_events() == ["stale_connector_reply"]
    assert exchange.state.awaiting == before.awaiting
    assert "days" not in exchange.state.data
    # ... and the real reply still resumes the program.
    assert chat.resume(ConnectorReplied(call.request_id, DAYS)).state.data["days"] == DAYS


def test_a_reply_when_nothing_is_pending_is_ignored() -> None:
    chat = at_menu()
    exchange = chat.resume(ConnectorReplied("late/state:LOOKUP/1", DAYS))
    assert exchange.outputs == ()
    assert exchange.diagnostic_events() == ["stale_connector_reply"]
    assert exchange.state.node == "MENU"


def test_a_message_while_a_call_is_pending_abandons_the_call() -> None:
    chat, call = pending("lookup")
    exchange = chat.send("anything")  # LOOKUP's fallback: back to the menu
    assert exchange.state.node == "MENU"
    assert exchange.state.awaiting is None
    late = chat.resume(ConnectorReplied(call.request_id, DAYS))
    assert late.diagnostic_events() == ["stale_connector_reply"]
    assert "days" not in late.state.data


def test_a_reply_after_the_flow_changed_under_the_call_is_dropped() -> None:
    chat, call = pending("lookup")
    changed = FLOW.model_copy(update={"states": {**FLOW.states, "LOOKUP": FLOW.states["FAILED"]}})
    chat.flow = changed
    exchange = chat.resume(ConnectorReplied(call.request_id, DAYS))
    assert exchange.diagnostic_events() == ["stale_connector_reply"]
    assert exchange.state.awaiting is None
    assert exchange.outputs == ()


# ---------------------------------------------------------------- failures


def test_on_error_as_a_state_enters_it() -> None:
    exchange = fail("state_route")
    assert exchange.state.node == "FAILED"
    assert exchange.texts == ["@FAILED"]  # the rest of the program does not run
    assert exchange.state.awaiting is None
    [diagnostic] = exchange.diagnostics
    assert (diagnostic.level, diagnostic.event) == ("error", "connector_failed")
    assert diagnostic.where == "states.STATE_ROUTE.on_enter[0]"
    assert diagnostic.detail == "mock.ping: timeout no answer in 10 s"


def test_on_error_with_text_and_target_says_the_text_then_enters_the_target() -> None:
    exchange = fail("text_target")
    assert exchange.texts == ["Calendar down for contact-1", "@FAILED"]
    assert exchange.state.node == "FAILED"


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        ("text_only", "Calendar down, try later"),
        ("no_route", "The flow's own apology."),
    ],
)
def test_without_a_target_the_user_is_back_where_they_were_before_the_message(
    payload: str, text: str
) -> None:
    exchange = fail(payload)
    assert exchange.outputs == (Text(text),)
    assert exchange.state.node == "MENU"
    assert exchange.state.awaiting is None
    assert exchange.state.last_options == MENU_OPTIONS  # the menu they saw still answers "2"


def test_without_on_error_or_error_text_the_user_gets_the_default_apology() -> None:
    flow = FLOW.model_copy(update={"settings": FlowSettings()})
    exchange = fail("no_route", flow)
    assert exchange.outputs == (Text(DEFAULT_ERROR_TEXT),)
    assert exchange.state.node == "MENU"


def test_the_menu_still_answers_numbers_after_a_failed_call() -> None:
    chat, call = pending("no_route")
    chat.resume(ConnectorFailed(call.request_id, "unavailable"))
    assert chat.send("1").entered == ("LOOKUP",)


LIST_MENU = flow_from_yaml(
    """
    id: list_after_failure
    initial_state: MENU
    states:
      MENU:
        on_enter:
          - action: send_interactive_list
            body: "Pick"
            sections: [{rows: [{id: check, title: Check}, {id: other, title: Other}]}]
        transitions:
          - {on_payload: check, on_type: list, target: CHECK}
          - {on_payload: other, on_type: list, target: OTHER}
        fallback: MENU
      CHECK:
        on_enter:
          - action: send_interactive_buttons
            body: "Checking"
            buttons: [{id: wait, title: Wait}]
          - {action: invoke_connector, connector: mock, operation: ping}
        fallback: MENU
      OTHER: {fallback: MENU}
    """
)


def test_a_list_restored_after_a_failed_call_still_answers_as_a_list() -> None:
    chat = Conversation(LIST_MENU)
    chat.send("hi")
    [call] = chat.choose("check").calls
    chat.resume(ConnectorFailed(call.request_id, "unavailable"))
    assert chat.state.node == "MENU"
    assert chat.send("2").entered == ("OTHER",)


def test_answer_with_turns_connector_errors_into_failures() -> None:
    chat = Conversation(FLOW, answer=answer_with({"ping": ConnectorTimeout("slow")}))
    exchange = chat.press("state_route")
    assert exchange.state.node == "FAILED"
    assert exchange.diagnostics[0].detail == "mock.ping: timeout slow"


EDGE_ROUTES = """
id: edge_routes
initial_state: MENU
settings: {error_text: "Apology."}
states:
  MENU:
    transitions:
      - {on_payload: empty, target: EMPTY}
      - {on_payload: blank, target: BLANK}
    fallback: MENU
  EMPTY:
    on_enter:
      - {action: invoke_connector, connector: mock, operation: ping, on_error: {}}
  BLANK:
    on_enter:
      - action: invoke_connector
        connector: mock
        operation: ping
        on_error: {text: "{{ data.not_there }}"}
"""


@pytest.mark.parametrize("payload", ["empty", "blank"])
def test_an_on_error_that_would_say_nothing_still_sends_the_error_text(payload: str) -> None:
    flow = flow_from_yaml(EDGE_ROUTES, validate=False)
    chat = Conversation(flow, answer=answer_with({}))
    exchange = chat.press(payload)
    assert exchange.outputs == (Text("Apology."),)
    assert exchange.state.node == "MENU"


def test_a_missing_value_in_on_error_text_names_the_action() -> None:
    flow = flow_from_yaml(EDGE_ROUTES, validate=False)
    exchange = Conversation(flow, answer=answer_with({})).press("blank")
    missing = [d for d in exchange.diagnostics if d.event == "template_missing_value"]
    assert [d.where for d in missing] == ["states.BLANK.on_enter[0].on_error.text"]


def test_the_user_message_is_remembered_once_across_connector_round_trips() -> None:
    chat = Conversation(FLOW, answer=answer_with({"first": {"id": "A"}, "second": "B"}))
    exchange = chat.press("two_calls")
    assert [(t.role, t.text) for t in exchange.state.history] == [
        ("user", "two_calls"),
        ("bot", "A then B"),
    ]


def test_a_connector_reply_is_not_the_contact_writing() -> None:
    chat, call = pending("lookup")
    pressed_at = chat.clock.now()
    chat.clock.advance(seconds=8)
    exchange = chat.resume(ConnectorReplied(call.request_id, DAYS))
    assert exchange.state.updated_at == chat.clock.now()
    assert exchange.state.last_inbound_at == pressed_at  # the session timeout counts from here
