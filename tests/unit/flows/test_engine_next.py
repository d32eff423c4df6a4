"""`next` (plain and conditional) and the bound on automatic chains: never a loop, never a raise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from botfleet.domain.errors import FlowValidationError
from botfleet.domain.outputs import Text
from botfleet.flows.actions import MAX_CHAIN
from botfleet.flows.schema import FlowSpec
from botfleet.flows.turn import DEFAULT_ERROR_TEXT
from botfleet.testing.engine import (
    Conversation,
    answer_with,
    button,
    flow_from_file,
    flow_from_yaml,
)
from botfleet.testing.engine import text as text_message

FLOW = flow_from_file(Path(__file__).parents[2] / "fixtures/flows/engine/menus.yaml")


def test_plain_next_moves_on_right_after_on_enter() -> None:
    exchange = Conversation(FLOW).send(button("menu_book"))
    assert exchange.entered == ("BOOKED", "PLAIN")
    assert exchange.fired == ("states.MENU.transitions[0]", "states.BOOKED.next")
    assert exchange.texts == ["@BOOKED", "No options here. Say anything."]
    assert exchange.state.node == "PLAIN"


@pytest.mark.parametrize(
    ("row", "entered", "fired"),
    [
        ("a", ("PICKED", "MENU"), "states.PICKED.next[0]"),
        ("b", ("PICKED", "LISTS"), "states.PICKED.next[1]"),
        ("c", ("PICKED", "PLAIN"), "states.PICKED.next[2]"),  # the unconditional last branch
    ],
)
def test_conditional_next_takes_the_first_branch_that_holds(
    row: str, entered: tuple[str, ...], fired: str
) -> None:
    chat = Conversation(FLOW).at("LISTS")
    exchange = chat.send(button(f"row_{row}"))
    assert exchange.entered == entered
    assert exchange.fired[-1] == fired
    assert exchange.state.node == entered[-1]


def test_conditional_next_with_no_branch_holding_stays_put() -> None:
    chat = Conversation(FLOW).at("PLAIN")
    exchange = chat.send("go somewhere")
    assert exchange.entered == ("ECHO",)
    assert exchange.state.node == "ECHO"


def test_next_conditions_see_the_message() -> None:
    chat = Conversation(FLOW).at("PLAIN")
    assert chat.send("stay").entered == ("ECHO", "PLAIN")


def chain_flow(length: int) -> FlowSpec:
    """START --go--> S1 -> S2 -> ... -> S<length> (each says its name)."""
    states: dict[str, Any] = {
        "START": {"transitions": [{"on_payload": "go", "target": "S1"}]},
    }
    for i in range(1, length + 1):
        state: dict[str, Any] = {"on_enter": [{"action": "send_text", "text": f"S{i}"}]}
        if i < length:
            state["next"] = f"S{i + 1}"
        states[f"S{i}"] = state
    return FlowSpec.model_validate({"id": "chain", "initial_state": "START", "states": states})


def test_a_chain_of_max_chain_states_runs_to_its_end() -> None:
    exchange = Conversation(chain_flow(MAX_CHAIN)).send(button("go"))
    assert exchange.state.node == f"S{MAX_CHAIN}"
    assert exchange.texts == [f"S{i}" for i in range(1, MAX_CHAIN + 1)]
    assert exchange.diagnostics == ()


def test_a_chain_longer_than_max_chain_stops_with_the_error_text_and_a_diagnostic() -> None:
    exchange = Conversation(chain_flow(MAX_CHAIN + 5)).send(button("go"))
    assert exchange.texts[:MAX_CHAIN] == [f"S{i}" for i in range(1, MAX_CHAIN + 1)]
    assert exchange.texts[MAX_CHAIN:] == [DEFAULT_ERROR_TEXT]
    assert exchange.state.node == f"S{MAX_CHAIN}"
    [diagnostic] = exchange.diagnostics
    assert diagnostic.level == "error"
    assert diagnostic.event == "step_limit_exceeded"
    assert f"S{MAX_CHAIN + 1}" in diagnostic.where
    assert "S1 -> S2" in diagnostic.detail


CYCLE = """
id: cycle
initial_state: START
settings:
  error_text: "We hit a loop, sorry."
states:
  START:
    transitions:
      - {on_payload: go, target: A}
      - {on_payload: self, target: SELF}
      - {on_payload: hidden, target: HIDDEN_A}
      - {on_payload: calls, target: CALLS}
  A:
    on_enter: [{action: send_text, text: "a"}]
    next: B
  B:
    on_enter: [{action: send_text, text: "b"}]
    next: A
  SELF:
    next: SELF
  HIDDEN_A:
    next: [{condition: "true", target: HIDDEN_B}]
  HIDDEN_B:
    next: [{condition: "data.today", target: HIDDEN_A}]
  CALLS:
    on_enter:
      - {action: invoke_connector, connector: calendar, operation: ping, result_key: pong}
    next: CALLS
"""


def test_the_validator_rejects_an_unconditional_next_cycle() -> None:
    with pytest.raises(FlowValidationError, match="'next' loops forever"):
        flow_from_yaml(CYCLE)


@pytest.mark.parametrize("payload", ["go", "self", "hidden", "calls"])
def test_a_next_cycle_ends_in_the_error_text_never_an_exception(payload: str) -> None:
    flow = flow_from_yaml(CYCLE, validate=False)
    chat = Conversation(flow, answer=answer_with({"ping": "pong"}))
    exchange = chat.send(button(payload))
    assert exchange.outputs[-1] == Text("We hit a loop, sorry.")
    assert exchange.diagnostic_events() == ["step_limit_exceeded"]
    assert len(exchange.entered) == MAX_CHAIN
    assert exchange.state.node in flow.states
    assert exchange.state.awaiting is None
    # The conversation goes on afterwards.
    assert chat.send(text_message("anything")).state.node in flow.states


def test_a_cycle_through_connector_calls_is_bounded_across_replies() -> None:
    flow = flow_from_yaml(CYCLE, validate=False)
    exchange = Conversation(flow, answer=answer_with({"ping": "pong"})).send(button("calls"))
    assert len(exchange.calls) == MAX_CHAIN
    assert exchange.state.data["pong"] == "pong"


# The two shapes of `next` cycle the validator lets through (see test_validate.py): each
# runs as written, and one that does not end meets the chain limit, named in the diagnostic.

CONDITIONAL_CYCLE = """
id: conditional_cycle
initial_state: MENU
settings: {error_text: "We hit a loop, sorry."}
states:
  MENU: {transitions: [{on_payload: go, target: B}], fallback: MENU}
  B:
    on_enter: [{action: send_text, text: b}]
    next: [{condition: "data.more", target: C}]
    transitions: [{on_payload: menu, target: MENU}]
  C: {next: B}
"""

COUNTER_LOOP = """
id: counter_loop
initial_state: MENU
states:
  MENU: {transitions: [{on_payload: go, target: COUNT}], fallback: MENU}
  COUNT:
    on_enter:
      - {action: set_data, values: {n: "{{ (data.n or 0) + 1 }}"}}
    next:
      - {condition: "data.n >= 3", target: DONE}
      - {target: COUNT}
  DONE:
    on_enter: [{action: send_text, text: "counted {{data.n}}"}]
    fallback: MENU
"""


def test_a_conditional_next_cycle_stops_when_its_condition_is_false() -> None:
    chat = Conversation(flow_from_yaml(CONDITIONAL_CYCLE)).with_data(more=False)
    exchange = chat.send(button("go"))
    assert exchange.entered == ("B",)
    assert exchange.texts == ["b"]
    assert exchange.diagnostics == ()
    assert chat.state.node == "B"  # waiting for the user


def test_a_conditional_next_cycle_that_never_ends_meets_the_chain_limit() -> None:
    chat = Conversation(flow_from_yaml(CONDITIONAL_CYCLE)).with_data(more=True)
    exchange = chat.send(button("go"))
    assert exchange.entered == ("B", "C") * (MAX_CHAIN // 2)
    assert exchange.texts == ["b"] * (MAX_CHAIN // 2) + ["We hit a loop, sorry."]
    [diagnostic] = exchange.diagnostics
    assert (diagnostic.level, diagnostic.event) == ("error", "step_limit_exceeded")
    assert diagnostic.where == "states.B"  # the state it did not enter
    assert diagnostic.detail.endswith(": " + " -> ".join(("B", "C") * (MAX_CHAIN // 2) + ("B",)))
    assert chat.state.node == "C"  # the last state entered; its `next` was not followed


def test_a_counter_loop_runs_until_its_exit_branch_holds() -> None:
    chat = Conversation(flow_from_yaml(COUNTER_LOOP))
    exchange = chat.send(button("go"))
    assert exchange.entered == ("COUNT", "COUNT", "COUNT", "DONE")
    assert exchange.texts == ["counted 3"]
    assert exchange.diagnostics == ()
