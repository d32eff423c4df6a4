"""A contact's stored state meets a newer (or older) flow version: a state that is gone restarts
the contact at `initial_state` as a new contact's first message is answered, keeping `data`
and the history; a state both versions have carries on; the flow's `id` is only a name."""

from __future__ import annotations

from botfleet.flows.effects import AskLLM
from botfleet.testing.engine import Conversation, flow_from_yaml

V1 = """\
id: salon_v1
initial_state: MENU
states:
  MENU:
    llm_fallback: true
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: book, title: Book}, {id: hours, title: Hours}]
    transitions:
      - {on_payload: book, target: ASK_NAME, set_data: {service: haircut}}
      - {on_payload: hours, target: HOURS}
    fallback: MENU
  ASK_NAME:
    on_enter: [{action: send_text, text: "Your name?"}]
    transitions:
      - {on_type: text, target: THANKS, set_data: {name: "{{ message.text }}"}}
  THANKS:
    on_enter: [{action: send_text, text: "Thanks {{ data.name }}"}]
    next: MENU
  HOURS:
    llm_fallback: true
    on_enter: [{action: send_text, text: "We open at 9"}]
    fallback: MENU
"""
#: v2 renames the name question and calls itself something else.
V2 = V1.replace("ASK_NAME", "ASK_FULL_NAME").replace("salon_v1", "salon_v2")
FLOW_V1, FLOW_V2 = flow_from_yaml(V1), flow_from_yaml(V2)


def asked_for_a_name(*, llm_available: bool = False) -> Conversation:
    """A contact on v1 who pressed "Book" and was asked for their name, then v2 went live."""
    chat = Conversation(FLOW_V1, llm_available=llm_available)
    chat.send("hola")
    assert chat.press("book").texts == ["Your name?"]
    chat.flow = FLOW_V2
    return chat


def test_an_answer_to_a_question_the_new_version_removed_gets_the_menu_not_the_llm() -> None:
    chat = asked_for_a_name(llm_available=True)
    exchange = chat.send("Maria Lopez")
    assert not [e for e in exchange.effects if isinstance(e, AskLLM)]
    assert exchange.fired == ("states.MENU.fallback",)
    assert exchange.texts == ["Menu"]
    assert exchange.option_ids == ["book", "hours"]
    assert exchange.diagnostic_events() == ["state_reset"]


def test_the_llm_still_answers_once_the_restarted_contact_is_in_the_new_version() -> None:
    chat = asked_for_a_name(llm_available=True)
    chat.send("Maria Lopez")
    exchange = chat.send("Do you cut curly hair?")
    assert [e.question for e in exchange.effects if isinstance(e, AskLLM)] == [
        "Do you cut curly hair?"
    ]


def test_a_contact_in_a_state_both_versions_have_gets_the_llm_as_before() -> None:
    chat = Conversation(FLOW_V1, llm_available=True)
    chat.send("hola")
    chat.press("hours")
    chat.flow = FLOW_V2
    exchange = chat.send("And on Sundays?")
    assert exchange.diagnostic_events() == []
    assert [type(e) for e in exchange.effects] == [AskLLM]


def test_a_restart_keeps_data_and_history_and_stores_nothing_from_the_lost_answer() -> None:
    chat = asked_for_a_name()
    history = chat.state.history
    exchange = chat.send("Maria Lopez")
    assert exchange.state.node == "MENU"
    assert exchange.state.data["service"] == "haircut"
    assert "name" not in exchange.state.data
    assert exchange.state.history[: len(history)] == history
    [reset] = exchange.diagnostics
    assert (reset.level, reset.where) == ("warning", "states.ASK_NAME")
    assert "restarting at 'MENU'" in reset.detail


def test_a_press_the_initial_state_knows_goes_through_after_a_restart() -> None:
    chat = asked_for_a_name()
    exchange = chat.press("book")
    assert exchange.entered == ("ASK_FULL_NAME",)
    assert exchange.texts == ["Your name?"]


def test_a_reminder_that_falls_due_in_a_removed_state_moves_the_contact_to_the_menu() -> None:
    flow = flow_from_yaml(V2 + "tasks:\n  nudge: [{action: send_text, text: 'Still there?'}]\n")
    chat = asked_for_a_name()
    chat.flow = flow
    exchange = chat.fire_task("nudge")
    assert exchange.texts == ["Still there?"]
    assert exchange.state.node == "MENU"
    assert exchange.diagnostic_events() == ["state_reset"]


def test_a_new_flow_id_alone_restarts_nobody() -> None:
    chat = Conversation(FLOW_V1)
    chat.send("hola")
    chat.press("book")
    renamed = flow_from_yaml(V1.replace("salon_v1", "salon_v2"))
    chat.flow = renamed
    exchange = chat.send("Maria")
    assert exchange.diagnostic_events() == []
    assert exchange.texts[0] == "Thanks Maria"
    assert exchange.state.flow_id == "salon_v2"  # the stored state names the flow it ran
