"""`settings.restart_text`: a contact restarted because their state is gone (a new version
dropped it) is told so before the initial state's answer; without the setting, or when the
contact's state still exists, nothing changes."""

from __future__ import annotations

import pytest

from botfleet.domain.errors import FlowValidationError, TemplateError
from botfleet.domain.messages import MessageType
from botfleet.flows.load import load_flow_text
from botfleet.testing.engine import Conversation, flow_from_yaml, message

V1 = """\
id: salon
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: book, title: Book}, {id: hours, title: Hours}]
    transitions:
      - {on_payload: book, target: ASK_DAY, set_data: {service: haircut}}
      - {on_payload: hours, target: HOURS}
    fallback: MENU
  ASK_DAY:
    on_enter: [{action: send_text, text: "Which day?"}]
    transitions:
      - {on_type: text, target: MENU}
  HOURS:
    on_enter: [{action: send_text, text: "We open at 9"}]
    fallback: MENU
tasks:
  nudge: [{action: send_text, text: "Still there?"}]
"""
#: v2 renames the day question: a contact asked "Which day?" by v1 is in a state v2 lacks.
V2 = V1.replace("ASK_DAY", "ASK_DATE")
RESTART = 'settings:\n  restart_text: "We\'ve updated our {{ data.service }} menu."\n'


def asked_for_a_day(new_version: str) -> Conversation:
    chat = Conversation(flow_from_yaml(V1))
    chat.send("hola")
    assert chat.press("book").texts == ["Which day?"]
    chat.flow = flow_from_yaml(new_version)
    return chat


def test_a_restarted_contact_gets_the_restart_text_before_the_menu() -> None:
    exchange = asked_for_a_day(V2 + RESTART).send("Friday")
    assert exchange.texts == ["We've updated our haircut menu.", "Menu"]
    assert exchange.diagnostic_events() == ["state_reset"]
    assert exchange.state.node == "MENU"


def test_the_restart_text_also_precedes_a_transition_the_initial_state_matches() -> None:
    exchange = asked_for_a_day(V2 + RESTART).press("hours")
    assert exchange.texts == ["We've updated our haircut menu.", "We open at 9"]


def test_without_restart_text_a_restart_sends_only_the_answer() -> None:
    exchange = asked_for_a_day(V2).send("Friday")
    assert exchange.texts == ["Menu"]


def test_a_contact_whose_state_still_exists_gets_no_restart_text() -> None:
    chat = asked_for_a_day(V1 + RESTART)
    exchange = chat.send("Friday")
    assert exchange.texts == ["Menu"]
    assert exchange.diagnostic_events() == []


def test_a_restart_text_that_renders_blank_sends_nothing() -> None:
    blank = "settings:\n  restart_text: '{% if data.nope %}Updated{% endif %}'\n"
    exchange = asked_for_a_day(V2 + blank).send("Friday")
    assert exchange.texts == ["Menu"]


def test_a_reaction_that_matches_nothing_gets_no_restart_text() -> None:
    chat = asked_for_a_day(V2 + RESTART)
    exchange = chat.send(message(MessageType.REACTION, text="👍"))
    assert exchange.texts == []


def test_a_task_that_restarts_the_contact_sends_only_its_own_text() -> None:
    # The reminder is not an answer to anything the contact said: "let's start again"
    # before it would read as a non sequitur.
    exchange = asked_for_a_day(V2 + RESTART).fire_task("nudge")
    assert exchange.texts == ["Still there?"]
    assert exchange.state.node == "MENU"


def test_a_missing_value_in_the_restart_text_fails_the_turn_with_strict_templates() -> None:
    strict = "settings:\n  strict_templates: true\n  restart_text: 'Hi {{ data.nickname }}'\n"
    chat = asked_for_a_day(V2 + strict)
    with pytest.raises(TemplateError, match=r"settings\.restart_text"):
        chat.send("Friday")


def test_a_broken_restart_text_is_a_load_error_naming_its_place() -> None:
    broken = 'settings:\n  restart_text: "We changed {{ data.service | uppr }}"\n'
    with pytest.raises(FlowValidationError) as caught:
        load_flow_text(V1 + broken, "salon.yaml")
    assert [(i.path, i.message) for i in caught.value.issues if i.severity == "error"] == [
        (
            "settings.restart_text",
            "template syntax error: unknown filter 'uppr' (did you mean 'upper'?)",
        )
    ]
