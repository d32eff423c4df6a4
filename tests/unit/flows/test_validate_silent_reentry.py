"""A transition that enters again a state sending nothing on entry (`target: $current`, or a
state's own transition naming it) leaves the contact with no answer at all: a warning, never
an error, and none for the ways of re-entering that do answer."""

from __future__ import annotations

from textwrap import dedent

import pytest

from botfleet.domain.errors import FlowIssue
from botfleet.flows.load import load_flow_text
from botfleet.testing.engine import Conversation, flow_from_yaml

SWITCH = (
    "global_transitions:\n"
    "  - {condition: \"message.text == 'fr'\", set_data: {lang: fr}, target: $current}\n"
)
ASKS = "{action: send_text, text: 'Votre nom ?'}"


def issues_of(text: str) -> list[FlowIssue]:
    return list(load_flow_text(dedent(text), "shop.yaml").warnings)


def reentry_warnings(text: str) -> list[FlowIssue]:
    return [i for i in issues_of(text) if "sends nothing" in i.message]


def flow(states: str, top: str = SWITCH) -> str:
    body = "".join(f"  {line}\n" for line in dedent(states).strip().splitlines())
    return f"id: t\ninitial_state: START\n{top}states:\n{body}"


def test_current_into_a_state_with_no_on_enter_is_a_warning_with_file_line_and_path() -> None:
    text = flow(f"""
        START:
          transitions: [{{on_payload: go, target: ASK}}]
          fallback: ASK
        ASK:
          on_enter: [{ASKS}]
          transitions: [{{on_type: text, target: WAIT}}]
          fallback: ASK
        WAIT:
          transitions: [{{target: ASK}}]
    """)
    [found] = reentry_warnings(text)
    assert (found.severity, found.source, found.line, found.path) == (
        "warning",
        "shop.yaml",
        4,
        "global_transitions[0].target",
    )
    assert found.message == (
        "$current enters again the state the contact is in, and entering states 'START', "
        "'WAIT' sends nothing (no on_enter that sends a message, no next): a contact there "
        "gets no answer at all (a new contact's first message is matched in 'START', the "
        "initial state); give each an on_enter that asks again, or a next to a state that does"
    )


def test_what_the_warning_is_about_the_contact_gets_nothing() -> None:
    spec = flow_from_yaml(
        flow(f"""
            START:
              transitions: [{{target: ASK}}]
            ASK:
              on_enter: [{ASKS}]
              transitions: [{{on_type: text, target: WAIT}}]
              fallback: ASK
            WAIT:
              transitions: [{{target: ASK}}]
        """)
    )
    chat = Conversation(spec)
    assert chat.send("fr").texts == []  # a new contact, matched in START
    chat = Conversation(spec)
    chat.send("hi")
    chat.send("Ana")
    assert chat.state.node == "WAIT"
    assert chat.send("fr").texts == []


def test_a_state_that_only_sets_data_on_entry_says_nothing_either() -> None:
    text = flow("""
        START:
          on_enter: [{action: set_data, values: {seen: true}}]
          transitions: [{on_payload: again, target: START}]
          fallback: START
    """)
    found = reentry_warnings(text)
    assert [(i.path, i.line) for i in found] == [
        ("global_transitions[0].target", 4),
        ("states.START.transitions[0].target", 8),
    ]
    assert found[1].message == (
        "this transition enters 'START' again, which sends nothing (no on_enter that sends a "
        "message, no next): the contact gets no answer at all, not even settings.error_text; "
        "give 'START' an on_enter that asks again, or target a state that says something"
    )


def test_a_states_own_transition_back_to_it_is_a_warning_without_current() -> None:
    text = flow(
        """
        START:
          transitions:
            - {on_payload: help, target: START}
            - {target: DONE}
        DONE: {on_enter: [{action: send_text, text: Bye}], fallback: START}
        """,
        top="",
    )
    [found] = reentry_warnings(text)
    assert (found.severity, found.path, found.line) == (
        "warning",
        "states.START.transitions[0].target",
        6,
    )


def test_many_silent_states_are_named_in_one_warning() -> None:
    quiet = "\n".join(f"Q{n}: {{transitions: [{{target: START}}]}}" for n in range(7))
    text = flow(
        f"START: {{on_enter: [{ASKS}], fallback: START, transitions: [{{target: Q0}}]}}\n{quiet}"
    )
    [found] = reentry_warnings(text)
    assert "states 'Q0', 'Q1', 'Q2', 'Q3', 'Q4' and 2 more sends nothing" in found.message
    assert "a new contact's first message" not in found.message  # START says something


@pytest.mark.parametrize(
    "states",
    [
        # Every state asks something on entry: `$current` asks it again.
        f"START: {{on_enter: [{ASKS}], fallback: START}}",
        # No on_enter, but a next: entering moves on to a state that speaks.
        f"START: {{next: ASK}}\nASK: {{on_enter: [{ASKS}], fallback: ASK}}",
        # A conditional next counts too (it may lead somewhere that speaks).
        f"START: {{next: [{{condition: data.lang, target: ASK}}], fallback: ASK}}\n"
        f"ASK: {{on_enter: [{ASKS}], fallback: ASK}}",
        # A message under a `when`, a connector call (its on_error may speak): not surely silent.
        "START: {on_enter: [{action: send_text, text: Hi, when: data.lang}], fallback: START}",
        "START:\n  on_enter:\n    - {action: invoke_connector, connector: notification,"
        " operation: send, params: {event: x}, on_error: {text: down}}\n  fallback: START",
    ],
)
def test_states_that_answer_when_entered_again_are_no_warning(states: str) -> None:
    assert reentry_warnings(flow(states)) == []


def test_a_quiet_state_left_by_its_fallback_or_by_named_targets_is_no_warning() -> None:
    """`fallback: WITH_TEAM` in a state that sends nothing is how a flow stays quiet on
    purpose (the bakery's contact talking with the team); a global transition to a named
    state and transitions to other states are not re-entries."""
    text = flow(
        f"""
        START:
          on_enter: [{ASKS}]
          transitions: [{{on_payload: team, target: WITH_TEAM}}]
          fallback: START
        WITH_TEAM:
          transitions:
            - {{condition: "not data.with_team", target: START}}
          fallback: WITH_TEAM
        """,
        top="global_transitions:\n  - {on_payload: quiet, target: WITH_TEAM}\n",
    )
    assert reentry_warnings(text) == []
    assert [i.severity for i in issues_of(text)] == []
