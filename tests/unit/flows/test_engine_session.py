"""`settings.session_timeout` (and `session_keeps`), and JSON-safe YAML values in services and
set_data."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from botfleet.domain.errors import FlowValidationError
from botfleet.domain.outputs import Option
from botfleet.flows.load import load_flow_text
from botfleet.testing.engine import Conversation, flow_from_yaml

FLOW = flow_from_yaml(
    """
id: session_v1
initial_state: MENU
settings:
  session_timeout: 30m
services:
  cut: {name: Cut, since: 2024-01-01, price: 18}
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: go, title: Go}]
    transitions:
      - on_payload: go
        target: PICK
    fallback: MENU
  PICK:
    on_enter:
      - action: send_text
        text: "Pick a service"
    transitions:
      - on_payload_prefix: "service_"
        extract_suffix_as: chosen
        set_data: {opened: 2024-02-03}
        target: DONE
      - on_payload: rate_good
        target: THANKS
    fallback: PICK
  THANKS:
    on_enter:
      - action: send_text
        text: "Thanks!"
    fallback: MENU
  DONE:
    on_enter:
      - action: send_text
        text: "{{data.service_name}} since {{data.service_since}}"
    fallback: MENU
tasks:
  nudge:
    - action: send_text
      text: "Still there?"
  survey:
    - action: send_interactive_buttons
      body: "How was your cut?"
      buttons: [{id: rate_good, title: Good}, {id: rate_bad, title: Bad}]
  quiet:
    - action: set_data
      values: {checked: true}
  reminder:
    - action: set_data
      values: {reminded: yes}
    - action: send_template
      name: appointment_reminder
      language: es
      params: ["mañana 10:00"]
      button_payloads: [rate_good, rate_bad]
      button_titles: [Cancelar, Cambiar]
      fallback_text: "Recordatorio: mañana 10:00"
"""
)


def stored(chat: Conversation) -> Conversation:
    """What the store does on save: a conversation that was saved has a version."""
    chat.state = replace(chat.state, version=chat.state.version + 1)
    return chat


def test_a_contact_silent_longer_than_the_session_timeout_starts_over() -> None:
    chat = Conversation(FLOW)
    chat.send("hola")
    chat.press("go")
    stored(chat).clock.advance(minutes=31)
    exchange = chat.send("hello again")
    assert exchange.state.node == "MENU"
    assert exchange.texts == ["Menu"]
    assert "chosen" not in exchange.state.data


def test_within_the_session_timeout_the_conversation_goes_on() -> None:
    chat = Conversation(FLOW)
    chat.send("hola")
    chat.press("go")
    stored(chat).clock.advance(minutes=29)
    exchange = chat.send("hello again")
    assert exchange.state.node == "PICK"
    assert exchange.texts == ["Pick a service"]


def test_a_task_run_during_the_silence_does_not_keep_the_session_alive() -> None:
    chat = Conversation(FLOW)
    chat.send("hola")
    chat.press("go")
    stored(chat).clock.advance(minutes=20)
    assert chat.fire_task("nudge").texts == ["Still there?"]
    assert chat.state.updated_at == chat.clock.now()  # the task did write the state
    stored(chat).clock.advance(minutes=11)  # 31 minutes after the contact's last message
    exchange = chat.send("hello again")
    assert exchange.state.node == "MENU"
    assert exchange.texts == ["Menu"]


@pytest.mark.parametrize("answer", ["1", "Good", "good"])
def test_an_answer_to_a_tasks_question_after_the_silence_is_in_session(answer: str) -> None:
    """A survey a task sends days later opens a session: "1" typed within the timeout picks
    its first option, as flow-dsl.md promises, instead of the menu wiping the options."""
    chat = Conversation(FLOW)
    chat.send("hola")
    chat.press("go")
    stored(chat).clock.advance(days=3)
    assert chat.fire_task("survey").texts == ["How was your cut?"]
    stored(chat).clock.advance(minutes=10)
    exchange = chat.send(answer)
    # Read against the survey's options where it found the contact: no restart.
    assert (exchange.state.node, exchange.texts) == ("THANKS", ["Thanks!"])


def test_a_task_that_sends_nothing_does_not_keep_an_old_menu_alive() -> None:
    """The menu the contact left days ago ("Yes, cancel it" first, say) is not answered by a
    "1" because a silent task ran lately: the session ended with the contact's silence."""
    chat = Conversation(FLOW)
    chat.send("hola")  # the menu: its first option is "go"
    stored(chat).clock.advance(days=3)
    assert chat.fire_task("quiet").texts == []
    stored(chat).clock.advance(minutes=10)
    exchange = chat.send("1")
    assert (exchange.state.node, exchange.texts) == ("MENU", ["Menu"])


def test_the_answer_to_a_tasks_question_times_out_from_the_question() -> None:
    chat = Conversation(FLOW)
    chat.send("hola")
    chat.press("go")
    stored(chat).clock.advance(days=3)
    chat.fire_task("survey")
    stored(chat).clock.advance(minutes=31)
    exchange = chat.send("1")
    assert exchange.state.node == "MENU"
    assert exchange.texts == ["Menu"]


def test_the_silence_counts_from_the_contacts_last_message() -> None:
    chat = Conversation(FLOW)
    chat.send("hola")
    stored(chat).clock.advance(minutes=20)
    chat.press("go")
    assert chat.state.last_inbound_at == chat.clock.now()
    stored(chat).clock.advance(minutes=20)
    chat.fire_task("nudge")
    assert chat.state.last_inbound_at == chat.clock.now() - timedelta(minutes=20)
    stored(chat).clock.advance(minutes=9)  # 29 minutes after "go"
    assert chat.send("hello again").state.node == "PICK"


@pytest.mark.parametrize(("silence", "node"), [(29, "PICK"), (31, "MENU")])
def test_a_state_stored_before_last_inbound_at_was_kept_counts_from_updated_at(
    silence: int, node: str
) -> None:
    chat = Conversation(FLOW)
    chat.send("hola")
    chat.press("go")
    chat.state = replace(chat.state, last_inbound_at=None, version=1)
    chat.clock.advance(minutes=silence)
    assert chat.send("hello again").state.node == node


def test_yaml_dates_in_services_and_set_data_are_stored_as_iso_text() -> None:
    chat = Conversation(FLOW)
    chat.send("hola")
    chat.press("go")
    exchange = chat.send("service_cut")
    assert exchange.state.data["service_since"] == "2024-01-01"
    assert exchange.state.data["opened"] == "2024-02-03"
    assert exchange.state.data["service_price"] == 18
    assert exchange.texts == ["Cut since 2024-01-01"]


KEEPING = flow_from_yaml(
    """
id: session_keeps_v1
initial_state: MENU
settings:
  session_timeout: 30m
  session_keeps: [opted_out, language, patient_name, never_set]
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: go, title: Go}]
    transitions:
      - on_payload: go
        set_data: {opted_out: true, language: es, patient_name: Ana, chosen: cut}
        target: PICK
    fallback: MENU
  PICK:
    on_enter:
      - action: send_text
        text: "{{ data.patient_name }}"
    fallback: PICK
"""
)


def test_a_session_timeout_keeps_the_keys_session_keeps_names_and_empties_the_rest() -> None:
    chat = Conversation(KEEPING)
    chat.send("hola")
    chat.press("go")
    stored(chat).clock.advance(minutes=31)
    exchange = chat.send("hello again")
    assert exchange.state.node == "MENU"
    assert exchange.state.last_options == (Option("go", "Go"),)  # the menu shown again
    kept = {k: v for k, v in exchange.state.data.items() if k != "today"}
    assert kept == {"opted_out": True, "language": "es", "patient_name": "Ana"}


def test_session_keeps_changes_nothing_within_the_timeout() -> None:
    chat = Conversation(KEEPING)
    chat.send("hola")
    chat.press("go")
    stored(chat).clock.advance(minutes=29)
    exchange = chat.send("hello again")
    assert exchange.state.node == "PICK"
    assert exchange.state.data["chosen"] == "cut"


def test_without_session_keeps_a_timeout_empties_all_of_data() -> None:
    chat = Conversation(FLOW)
    chat.send("hola")
    chat.press("go")
    chat.send("service_cut")
    assert chat.state.data["opened"] == "2024-02-03"
    stored(chat).clock.advance(minutes=31)
    data = chat.send("hello again").state.data
    assert set(data) <= {"today"}


@pytest.mark.parametrize(
    ("keeps", "problem"),
    [
        ("opted_out", "expected a list"),
        ("['']", "must not be empty"),
        ("[opted_out, 3]", "expected a string"),
        ("[data.opted_out]", "name the key alone: 'opted_out', not 'data.opted_out'"),
    ],
)
def test_session_keeps_is_a_list_of_key_names(keeps: str, problem: str) -> None:
    text = (
        "id: t\ninitial_state: MENU\nstates:\n  MENU: {fallback: MENU}\n"
        f"settings:\n  session_timeout: 1h\n  session_keeps: {keeps}\n"
    )
    with pytest.raises(FlowValidationError) as raised:
        load_flow_text(text, "t.yaml")
    [issue] = raised.value.issues
    assert issue.path.startswith("settings.session_keeps")
    assert problem in issue.message


@pytest.mark.parametrize("answer", ["1", "Cancelar", "cancelar"])
def test_an_answer_to_a_templates_quick_replies_after_the_silence_is_in_session(
    answer: str,
) -> None:
    """A reminder sent as a template with quick replies a day later opens a session as a
    survey's buttons do: a template wrote no history line, so "cancelar" typed a minute after
    the reminder found the session over and got the menu, the reminder's data wiped."""
    chat = Conversation(FLOW)
    chat.send("hola")
    chat.press("go")
    stored(chat).clock.advance(hours=27)
    assert chat.fire_task("reminder").texts == ["Recordatorio: mañana 10:00"]
    assert chat.state.history[-1].text == "Recordatorio: mañana 10:00"  # the LLM's history too
    stored(chat).clock.advance(minutes=1)
    exchange = chat.send(answer)
    assert (exchange.state.node, exchange.texts) == ("THANKS", ["Thanks!"])
    assert exchange.state.data["reminded"] is True
