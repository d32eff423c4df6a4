"""`message.option_title`: the title of the option a message picked, however it was picked
(pressed, pressed by position, typed as its number, its title or a typo of it), so a flow can
confirm "Booked: Colour" when `message.text` is the typed "2"; empty when nothing was picked."""

from __future__ import annotations

import pytest

from botfleet.domain.messages import OPTION_MENU
from botfleet.domain.outputs import Option, options_fingerprint
from botfleet.testing.engine import Conversation, button, flow_from_yaml, message, output_texts

FLOW = flow_from_yaml(
    """
    id: picked
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
              - {id: tinte, title: "🎨 Colour"}
        transitions:
          - {on_type: button, target: BOOKED}
          - {condition: "message.type == 'text'", target: NOTED}
        fallback: MENU
      BOOKED:
        on_enter:
          - {action: send_text, text: "Booked: {{ message.option_title }} ({{ message.text }})"}
        fallback: MENU
      NOTED:
        on_enter:
          - {action: send_text, text: "Noted: [{{ message.option_title }}] {{ message.text }}"}
        fallback: MENU
    """
)
MENU = (Option("corte", "Haircut"), Option("tinte", "🎨 Colour"))


def _at_menu() -> Conversation:
    chat = Conversation(FLOW)
    chat.send("hi")
    assert chat.state.node == "MENU"
    return chat


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2", "Booked: 🎨 Colour (2)"),
        ("colour", "Booked: 🎨 Colour (colour)"),
        ("Hiarcut", "Booked: Haircut (Hiarcut)"),  # a typo of a title
    ],
)
def test_a_typed_pick_names_the_option_picked(typed: str, expected: str) -> None:
    assert output_texts(_at_menu().send(typed).outputs) == [expected]


def test_a_press_names_the_option_pressed_with_or_without_its_label() -> None:
    for label, text in (("Colour ✨", "Colour ✨"), ("", "🎨 Colour")):
        chat = _at_menu()
        pressed = button("tinte", text=label, contact_id=chat.contact_id, at=chat.clock.now())
        assert output_texts(chat.send(pressed).outputs) == [f"Booked: 🎨 Colour ({text})"]


def test_a_press_by_position_names_the_option() -> None:
    chat = _at_menu()
    pressed = message(
        "text",
        text="1",
        contact_id=chat.contact_id,
        at=chat.clock.now(),
        extra={OPTION_MENU: options_fingerprint(MENU)},
    )
    assert output_texts(chat.send(pressed).outputs) == ["Booked: Haircut (Haircut)"]


def test_nothing_picked_leaves_it_empty() -> None:
    chat = _at_menu()
    assert output_texts(chat.send("something else").outputs) == ["Noted: [] something else"]
    chat = _at_menu()
    stale = button("gone_id", text="Old", contact_id=chat.contact_id, at=chat.clock.now())
    assert output_texts(chat.send(stale).outputs) == ["Booked:  (Old)"]
