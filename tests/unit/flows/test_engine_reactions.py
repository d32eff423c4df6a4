"""A reaction no transition asks for is not an answer: no fallback, no error text, nothing lost."""

from __future__ import annotations

from botfleet.testing.engine import Conversation, flow_from_yaml, message

FLOW = """
id: reactions
initial_state: MENU
settings:
  error_text: "Sorry, I did not understand."
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "What would you like?"
        buttons:
          - {id: book, title: Book}
          - {id: hours, title: Hours}
    transitions:
      - {on_payload: book, target: BOOK}
      - {on_payload: hours, target: HOURS}
  BOOK:
    on_enter:
      - {action: send_text, text: "Booking..."}
    fallback: MENU
  HOURS:
    on_enter:
      - {action: send_text, text: "We open at nine."}
    transitions:
      - {on_type: reaction, target: THANKED}
  THANKED:
    on_enter:
      - {action: send_text, text: "Glad to help!"}
"""


def test_an_unmatched_reaction_gets_no_error_text_and_keeps_the_menu() -> None:
    chat = Conversation(flow_from_yaml(FLOW))
    chat.send("hi")  # MENU: error text, the menu was shown on entry
    before = chat.state
    exchange = chat.send(
        message("reaction", text="👍", contact_id=chat.contact_id, at=chat.clock.now())
    )
    assert exchange.outputs == ()
    assert exchange.fired == ()
    assert exchange.state.node == "MENU"
    assert exchange.state.last_options == before.last_options
    # The menu still answers the button pressed after the reaction.
    assert chat.press("hours").state.node == "HOURS"


def test_an_unmatched_reaction_does_not_take_the_fallback() -> None:
    chat = Conversation(flow_from_yaml(FLOW))
    chat.press("book")
    assert chat.state.node == "BOOK"
    exchange = chat.send(message("reaction", text="", contact_id=chat.contact_id))  # taken back
    assert exchange.state.node == "BOOK"
    assert exchange.outputs == ()
    # A text is still sent to the fallback as before.
    assert chat.send("what?").state.node == "MENU"


def test_a_reaction_a_flow_asks_for_still_fires() -> None:
    chat = Conversation(flow_from_yaml(FLOW))
    chat.press("hours")
    exchange = chat.send(message("reaction", text="❤️", contact_id=chat.contact_id))
    assert exchange.state.node == "THANKED"
    assert exchange.fired == ("states.HOURS.transitions[0]",)
