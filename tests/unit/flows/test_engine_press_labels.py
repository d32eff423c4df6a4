"""A press's `message.text` is the label of the option pressed, also when the channel could not
say it (Telegram, the keyboard's message gone) or sent the option by position."""

from __future__ import annotations

from botfleet.domain.messages import OPTION_MENU
from botfleet.domain.outputs import Option, options_fingerprint
from botfleet.testing.engine import Conversation, button, flow_from_yaml, message, output_texts

FLOW = flow_from_yaml(
    """
    id: labels
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
          - {on_type: button, target: BOOKED}
        fallback: MENU
      BOOKED:
        on_enter:
          - {action: send_text, text: "Booked, {{ message.text }}!"}
        fallback: MENU
    """
)
MENU = (Option("corte", "Haircut"), Option("tinte", "Colour"))


def _at_menu() -> Conversation:
    chat = Conversation(FLOW)
    chat.send("hi")
    assert chat.state.node == "MENU"
    return chat


def _press(chat: Conversation, payload: str, label: str = "") -> list[str]:
    pressed = button(payload, text=label, contact_id=chat.contact_id, at=chat.clock.now())
    return output_texts(chat.send(pressed).outputs)


def test_a_press_without_its_label_reads_the_options_title() -> None:
    assert _press(_at_menu(), "tinte") == ["Booked, Colour!"]


def test_a_press_with_its_label_keeps_it() -> None:
    assert _press(_at_menu(), "tinte", label="Colour ✨") == ["Booked, Colour ✨!"]


def test_a_press_of_no_option_shown_keeps_its_empty_label() -> None:
    assert _press(_at_menu(), "unknown_id") == ["Booked, !"]


def test_a_press_sent_by_position_reads_the_options_title_not_its_position() -> None:
    chat = _at_menu()
    pressed = message(
        "text",
        text="2",
        contact_id=chat.contact_id,
        at=chat.clock.now(),
        extra={OPTION_MENU: options_fingerprint(MENU)},
    )
    exchange = chat.send(pressed)
    assert exchange.state.node == "BOOKED"
    assert output_texts(exchange.outputs) == ["Booked, Colour!"]


def test_a_typed_number_keeps_what_the_contact_typed() -> None:
    chat = _at_menu()
    assert output_texts(chat.send("2").outputs) == ["Booked, 2!"]
