"""A press's type is what the flow showed, not how the channel drew it: WhatsApp sends buttons
it cannot draw as a list, and Telegram draws a list's rows as buttons."""

from __future__ import annotations

from botfleet.domain.messages import MessageType
from botfleet.testing.engine import Conversation, button, flow_from_yaml, list_reply, output_texts

FLOW = flow_from_yaml(
    """
    id: kinds
    initial_state: START
    states:
      START:
        fallback: MENU
      MENU:
        on_enter:
          - action: send_interactive_buttons
            body: "What would you like?"
            buttons:
              - {id: corte, title: Haircut}
              - {id: tinte, title: Colour}
        transitions:
          - {on_type: button, target: PICKED_BUTTON}
          - {on_type: list, target: PICKED_ROW}
        fallback: MENU
      DAYS:
        on_enter:
          - action: send_interactive_list
            body: "Which day?"
            button_label: Days
            sections:
              - title: Days
                rows:
                  - {id: mon, title: Monday}
                  - {id: tue, title: Tuesday}
        transitions:
          - {on_type: list, target: PICKED_ROW}
          - {on_type: button, target: PICKED_BUTTON}
        fallback: DAYS
      PICKED_BUTTON:
        on_enter:
          - {action: send_text, text: "button {{ message.type }} {{ message.payload }}"}
        transitions:
          - {on_payload: days, target: DAYS}
        fallback: MENU
      PICKED_ROW:
        on_enter:
          - {action: send_text, text: "row {{ message.type }} {{ message.payload }}"}
        transitions:
          - {on_payload: days, target: DAYS}
        fallback: MENU
    """
)


def _at(node: str) -> Conversation:
    chat = Conversation(FLOW)
    chat.send("hi")
    if node == "DAYS":
        chat.send("1")
        chat.send("days")
    assert chat.state.node == node
    return chat


def test_a_button_pressed_as_a_list_row_is_a_button_reply() -> None:
    chat = _at("MENU")
    pressed = list_reply("tinte", text="Colour", contact_id=chat.contact_id, at=chat.clock.now())
    exchange = chat.send(pressed)
    assert exchange.state.node == "PICKED_BUTTON"
    assert output_texts(exchange.outputs) == ["button button_reply tinte"]


def test_a_list_row_pressed_as_a_button_is_a_list_reply() -> None:
    chat = _at("DAYS")
    pressed = button("tue", text="Tuesday", contact_id=chat.contact_id, at=chat.clock.now())
    exchange = chat.send(pressed)
    assert exchange.state.node == "PICKED_ROW"
    assert output_texts(exchange.outputs) == ["row list_reply tue"]


def test_a_press_of_no_option_shown_keeps_the_type_it_came_with() -> None:
    chat = _at("MENU")
    pressed = list_reply("other", text="Other", contact_id=chat.contact_id, at=chat.clock.now())
    exchange = chat.send(pressed)
    assert exchange.state.node == "PICKED_ROW"
    assert MessageType.LIST_REPLY.value in output_texts(exchange.outputs)[0]
