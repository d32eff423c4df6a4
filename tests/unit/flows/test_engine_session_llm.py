"""The first message after a `session_timeout` is answered like a new contact's first message:
the initial state's fallback (the menu), never the LLM, even where `llm_fallback` is on."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from botfleet.flows.effects import AskLLM
from botfleet.testing.engine import Conversation, flow_from_yaml, output_texts

FLOW = flow_from_yaml(
    """
    id: session_llm
    initial_state: MENU
    settings:
      session_timeout: 2h
    states:
      MENU:
        llm_fallback: true
        on_enter:
          - action: send_interactive_buttons
            body: "Menu"
            buttons: [{id: book, title: Book}]
        transitions:
          - {on_payload: book, target: DAY}
        fallback: MENU
      DAY:
        llm_fallback: true
        on_enter: [{action: send_text, text: "Which day?"}]
        fallback: DAY
    """
)


def _at_day() -> Conversation:
    chat = Conversation(FLOW, llm_available=True)
    chat.send("hi")
    chat.press("book")
    chat.state = replace(chat.state, version=chat.state.version + 1)  # saved, not new
    assert chat.state.node == "DAY"
    return chat


def test_the_first_message_after_the_timeout_gets_the_menu_not_the_llm() -> None:
    chat = _at_day()
    chat.clock.advance(timedelta(hours=3))
    exchange = chat.send("10:00")
    assert not any(isinstance(e, AskLLM) for e in exchange.effects)
    assert output_texts(exchange.outputs) == ["Menu"]
    assert exchange.state.node == "MENU"


def test_within_the_session_a_question_still_reaches_the_llm() -> None:
    chat = _at_day()
    chat.clock.advance(timedelta(hours=1))
    exchange = chat.send("do you take insurance?")
    assert [type(e) for e in exchange.effects] == [AskLLM]
    assert exchange.state.node == "DAY"
