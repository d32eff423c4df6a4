"""Answers to a menu an older flow version sent, read by the newer one: a typed number or title
picks the option the contact was shown (the stored `last_options`), and its id is then matched
against the new version's transitions; an id the new version does not know is unmatched."""

from __future__ import annotations

from botfleet.testing.engine import Conversation, flow_from_yaml

V1 = """\
id: salon
initial_state: MENU
settings: {error_text: "Sorry, I did not get that."}
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: book, title: Book}, {id: hours, title: Hours}, {id: prices, title: Prices}]
    transitions:
      - {on_payload: book, target: BOOK}
      - {on_payload: hours, target: HOURS}
      - {on_payload: prices, target: PRICES}
    fallback: MENU
  BOOK:
    on_enter: [{action: send_text, text: "@BOOK"}]
    fallback: MENU
  HOURS:
    on_enter: [{action: send_text, text: "@HOURS"}]
    fallback: MENU
  PRICES:
    on_enter: [{action: send_text, text: "@PRICES"}]
    fallback: MENU
"""
FLOW_V1 = flow_from_yaml(V1)


def at_v1_menu_then(v2: str) -> Conversation:
    """A contact shown v1's menu (Book, Hours, Prices); then `v2` goes live."""
    chat = Conversation(FLOW_V1)
    assert chat.send("hola").option_ids == ["book", "hours", "prices"]
    chat.flow = flow_from_yaml(v2)
    return chat


def test_a_typed_number_picks_what_the_contact_was_shown_when_v2_reorders_the_menu() -> None:
    reordered = V1.replace(
        "[{id: book, title: Book}, {id: hours, title: Hours}, {id: prices, title: Prices}]",
        "[{id: prices, title: Prices}, {id: book, title: Book}, {id: hours, title: Hours}]",
    )
    chat = at_v1_menu_then(reordered)
    assert chat.send("2").entered[0] == "HOURS"  # v1's second button, not v2's
    chat.send("back")  # the fallback shows v2's menu: numbers now follow it
    assert chat.send("2").entered[0] == "BOOK"


def test_a_typed_title_picks_what_the_contact_was_shown() -> None:
    chat = at_v1_menu_then(V1.replace("title: Prices", "title: Our prices"))
    assert chat.send("prices").entered[0] == "PRICES"


def test_a_number_for_an_option_v2_dropped_shows_v2s_menu() -> None:
    # v2 renames `prices` to `price_list`: v1's third button carries an id v2 never matches.
    chat = at_v1_menu_then(V1.replace("prices", "price_list"))
    exchange = chat.send("3")
    assert exchange.fired == ("states.MENU.fallback",)
    assert exchange.option_ids == ["book", "hours", "price_list"]


def test_a_press_of_a_button_v2_no_longer_knows_goes_to_the_states_fallback() -> None:
    chat = at_v1_menu_then(V1.replace("prices", "price_list"))
    exchange = chat.press("prices")
    assert exchange.fired == ("states.MENU.fallback",)
    assert exchange.option_ids == ["book", "hours", "price_list"]


def test_a_press_v2_does_not_know_in_a_state_without_fallback_gets_the_error_text() -> None:
    no_fallback = V1.replace("prices", "price_list").replace(
        "      - {on_payload: price_list, target: PRICES}\n    fallback: MENU\n",
        "      - {on_payload: price_list, target: PRICES}\n",
    )
    chat = at_v1_menu_then(no_fallback)
    exchange = chat.press("prices")
    assert exchange.texts == ["Sorry, I did not get that."]
    assert exchange.state.node == "MENU"


def test_a_button_id_v2_gave_another_meaning_follows_v2() -> None:
    # The contact pressed "Hours" on v1's menu; v2 sends `hours` to the prices page. A press
    # carries only the id: reuse an id for another meaning and old menus follow the new one.
    chat = at_v1_menu_then(
        V1.replace("{on_payload: hours, target: HOURS}", "{on_payload: hours, target: PRICES}")
    )
    assert chat.press("hours").entered[0] == "PRICES"
