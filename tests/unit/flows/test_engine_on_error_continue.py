"""`on_error: {continue: true}` (ours): a failed call lets the program go on, its `result_key`
saying it failed, so later actions (with `when`) decide what to do."""

from __future__ import annotations

import pytest

from botfleet.domain.errors import FlowValidationError
from botfleet.flows.events import ConnectorFailed, ConnectorReplied
from botfleet.flows.load import load_flow_text
from botfleet.testing.engine import Conversation, flow_from_yaml

FLOW = """
id: continue_demo
initial_state: START
tasks:
  remind:
    - action: invoke_connector
      connector: calendar
      operation: list_appointments
      params: {contact_id: "{{ contact.id }}"}
      result_key: appointments
      on_error: {continue: true}
    - action: send_text
      when: "data.appointments.failed is defined"
      text: "Reminder as booked ({{ data.appointments.error }})"
    - action: send_text
      when: "data.appointments.failed is not defined"
      text: "Reminder with {{ data.appointments | length }} appointment(s)"
states:
  START:
    transitions:
      - target: LOOKUP
  LOOKUP:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: list_appointments
        params: {contact_id: "{{ contact.id }}"}
        result_key: appointments
        on_error: {text: "The calendar is down; going on.", continue: true}
      - action: send_text
        text: "Done looking"
    next: MENU
  MENU:
    on_enter:
      - action: send_text
        text: "Menu"
    fallback: MENU
"""


def test_a_task_goes_on_after_a_failure_and_sees_it() -> None:
    chat = Conversation(flow_from_yaml(FLOW)).at("MENU")
    exchange = chat.fire_task("remind")
    [call] = exchange.calls
    done = chat.resume(ConnectorFailed(call.request_id, "unavailable", "HTTP 503 from cal.example"))
    assert done.texts == ["Reminder as booked (unavailable)"]
    assert done.state.data["appointments"] == {"failed": True, "error": "unavailable"}
    assert "cal.example" not in str(done.state.data)  # the detail is the operator's, not data


def test_a_reply_runs_the_other_branch() -> None:
    chat = Conversation(flow_from_yaml(FLOW)).at("MENU")
    [call] = chat.fire_task("remind").calls
    done = chat.resume(ConnectorReplied(call.request_id, [{"event_id": "e1"}]))
    assert done.texts == ["Reminder with 1 appointment(s)"]


def test_a_state_sends_the_text_then_goes_on_and_follows_next() -> None:
    chat = Conversation(flow_from_yaml(FLOW))
    [call] = chat.send("hi").calls
    done = chat.resume(ConnectorFailed(call.request_id, "timeout"))
    assert done.texts == ["The calendar is down; going on.", "Done looking", "Menu"]
    assert done.state.node == "MENU"


def test_continue_with_a_target_is_an_error_naming_the_place() -> None:
    broken = FLOW.replace(
        'on_error: {text: "The calendar is down; going on.", continue: true}',
        "on_error: {continue: true, target: MENU}",
    )
    with pytest.raises(FlowValidationError) as raised:
        load_flow_text(broken, "f.yaml")
    [issue] = [i for i in raised.value.issues if i.severity == "error"]
    assert issue.path == "states.LOOKUP.on_enter[0].on_error"
    assert "continue and target together" in issue.message


def test_the_schema_names_the_key_as_written() -> None:
    from botfleet.flows.schema import flow_json_schema

    route = flow_json_schema()["$defs"]["ErrorRoute"]["properties"]
    assert "continue" in route
    assert "continue_" not in route
