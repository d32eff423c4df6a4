"""`target: $current` in a global transition: the transition's `set_data` runs, then the state
the contact is in is entered again (its `on_enter` included), whichever state that is."""

from __future__ import annotations

from dataclasses import replace

from botfleet.flows.effects import CallConnector
from botfleet.testing.engine import Conversation, flow_from_yaml

FLOW = flow_from_yaml(
    """
    id: t
    initial_state: START
    settings:
      session_timeout: 30m
      session_keeps: [lang]
    global_transitions:
      - condition: "message.type == 'text' and 'castellano' in (message.text | lower)"
        set_data: {lang: es}
        target: $current
    states:
      START:
        on_enter:
          - action: send_text
            text: "{{ 'Bienvenida' if data.lang == 'es' else 'Welcome' }}"
        transitions:
          - {target: MENU}
        next: MENU
      MENU:
        on_enter:
          - action: send_interactive_buttons
            body: "{{ 'Menú' if data.lang == 'es' else 'Menu' }}"
            buttons: [{id: book, title: "{{ 'Cita' if data.lang == 'es' else 'Book' }}"}]
        transitions:
          - {on_payload: book, set_data: {service: cut}, target: DAY}
        fallback: MENU
      DAY:
        on_enter:
          - action: send_interactive_buttons
            body: "{{ '¿Qué día?' if data.lang == 'es' else 'Which day?' }}"
            buttons: [{id: day_mon, title: "{{ 'Lunes' if data.lang == 'es' else 'Monday' }}"}]
        transitions:
          - {on_payload_prefix: day_, extract_suffix_as: day, target: CHECK}
        fallback: DAY
      CHECK:
        on_enter:
          - action: invoke_connector
            connector: calendar
            operation: get_available_days
            params: {service_key: "{{ data.service }}"}
            result_key: days
          - action: send_text
            text: checked
        fallback: CHECK
    """
)


def in_menu() -> Conversation:
    chat = Conversation(FLOW)
    chat.send("hello")
    return chat


def test_a_language_typed_mid_booking_asks_the_same_question_again_in_it() -> None:
    chat = in_menu()
    assert chat.press("book").texts == ["Which day?"]
    exchange = chat.send("prefiero en castellano")
    assert exchange.fired == ("global_transitions[0]",)
    assert exchange.entered == ("DAY",)
    assert exchange.texts == ["¿Qué día?"]
    assert exchange.option_ids == ["day_mon"]
    assert exchange.state.node == "DAY"
    assert exchange.state.data["lang"] == "es"
    assert exchange.state.data["service"] == "cut"  # what was chosen before is kept
    # The question's options are those of the new message: its Spanish title picks it.
    assert chat.send("lunes").state.data["day"] == "mon"


def test_a_language_typed_in_the_menu_stays_in_the_menu() -> None:
    chat = in_menu()
    exchange = chat.send("castellano, por favor")
    assert exchange.entered == ("MENU",)
    assert exchange.texts == ["Menú"]
    assert exchange.state.node == "MENU"


def test_a_new_contacts_first_message_enters_the_initial_state() -> None:
    # Placed in START without its on_enter: `$current` runs it now, and its `next`.
    exchange = Conversation(FLOW).send("castellano")
    assert exchange.entered == ("START", "MENU")
    assert exchange.texts == ["Bienvenida", "Menú"]
    assert exchange.state.node == "MENU"


def test_a_contact_whose_session_ended_enters_the_initial_state() -> None:
    chat = in_menu()
    chat.press("book")
    chat.state = replace(chat.state, version=1)  # saved: a session that can time out
    chat.clock.advance(minutes=31)
    exchange = chat.send("castellano")
    assert exchange.entered == ("START", "MENU")
    assert exchange.state.data["lang"] == "es"
    assert "service" not in exchange.state.data  # the session's booking is gone


def test_a_contact_whose_state_is_gone_enters_the_initial_state() -> None:
    chat = in_menu()
    chat.state = replace(chat.state, node="REMOVED")  # a new version dropped their state
    exchange = chat.send("castellano")
    assert exchange.entered == ("START", "MENU")
    assert exchange.texts == ["Bienvenida", "Menú"]


def test_a_turn_waiting_for_a_connector_is_abandoned_and_its_state_entered_again() -> None:
    # As for any message then: the call's turn is dropped and the state's on_enter runs
    # from its start, the call included, in the new language.
    chat = in_menu()
    chat.press("book")
    waiting = chat.press("day_mon")
    assert waiting.state.awaiting is not None
    exchange = chat.send("castellano")
    assert exchange.entered == ("CHECK",)
    [call] = [e for e in exchange.effects if isinstance(e, CallConnector)]
    assert call.operation == "get_available_days"
    assert exchange.state.awaiting is not None
    assert exchange.state.awaiting.request_id != waiting.state.awaiting.request_id
    assert exchange.state.data["lang"] == "es"
