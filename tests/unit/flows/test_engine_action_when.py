"""An action's `when` (ours): the action runs only when its condition holds."""

from __future__ import annotations

import pytest

from botfleet.domain.errors import FlowValidationError
from botfleet.flows.load import load_flow_text
from botfleet.testing.engine import Conversation, Exchange, flow_from_yaml

FLOW = """
id: when_demo
initial_state: ASK
tasks:
  remind:
    - action: send_text
      when: "data.confirmed"
      text: "See you tomorrow"
    - action: send_text
      when: "not data.confirmed"
      text: "Please confirm"
states:
  ASK:
    transitions:
      - on_payload: "yes"
        set_data: {confirmed: true}
        target: DONE
      - target: DONE
  DONE:
    on_enter:
      - action: send_text
        when: "data.confirmed"
        text: "Confirmed"
      - action: send_text
        when: "message.text == 'maybe'"
        text: "Maybe, then"
      - action: set_data
        when: "data.confirmed"
        values: {status: "booked"}
      - action: send_text
        text: "Status: {{ data.status | default('none') }}"
    fallback: DONE
"""


def texts(exchange: Exchange) -> list[str]:
    return [getattr(o, "text", "") for o in exchange.outputs]


def test_actions_run_only_when_their_condition_holds() -> None:
    chat = Conversation(flow_from_yaml(FLOW))
    assert texts(chat.press("yes")) == ["Confirmed", "Status: booked"]
    other = Conversation(flow_from_yaml(FLOW), contact_id="c2")
    assert texts(other.send("maybe")) == ["Maybe, then", "Status: none"]


def test_a_task_action_with_when() -> None:
    chat = Conversation(flow_from_yaml(FLOW))
    chat.press("yes")
    assert texts(chat.fire_task("remind")) == ["See you tomorrow"]
    other = Conversation(flow_from_yaml(FLOW), contact_id="c2")
    other.send("no")
    assert texts(other.fire_task("remind")) == ["Please confirm"]


def test_a_when_with_a_syntax_error_is_a_validation_error_naming_it() -> None:
    broken = FLOW.replace(
        'when: "data.confirmed"\n        text: "Confirmed"',
        'when: "data.confirmed =="\n        text: "Confirmed"',
    )
    with pytest.raises(FlowValidationError) as raised:
        load_flow_text(broken, "f.yaml")
    [issue] = [i for i in raised.value.issues if i.severity == "error"]
    assert issue.path == "states.DONE.on_enter[0].when"
    assert "condition syntax error" in issue.message


def test_when_is_not_rendered_as_a_template_of_the_action() -> None:
    assert load_flow_text(FLOW, "f.yaml").warnings == ()
