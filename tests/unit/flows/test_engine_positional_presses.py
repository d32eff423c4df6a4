"""Options a channel sent by position (`#opt<position>.<fingerprint>`, their ids too long): a
press counts as that option only if its menu is still the last one shown.

Channels deliver such a press as the typed answer "<position>" with the fingerprint of the menu
it belongs to in `extra[OPTION_MENU]` (`adapters/channels/option_ids.py`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from botfleet.domain.messages import OPTION_MENU, STALE_MENU, MessageType
from botfleet.domain.outputs import Option, options_fingerprint
from botfleet.flows.matching import as_option_choice
from botfleet.testing.engine import Conversation, flow_from_yaml, text

#: Slot ids as a calendar gives them: well over Telegram's 64 bytes of `callback_data`.
SLOT = "slot_2026-12-0{day}T{hour}:00:00+01:00_corte_maria_con_lavado_y_secado_incluidos"

FLOW = flow_from_yaml(
    """
    id: positional_v1
    initial_state: SLOTS
    states:
      SLOTS:
        on_enter:
          - action: send_dynamic_options
            source_key: slots
            text: "Pick a time"
            button_label: "Times"
        transitions:
          - on_payload_prefix: "slot_"
            extract_suffix_as: slot
            target: BOOKED
          - on_payload: "refresh"
            target: SLOTS
        fallback: SLOTS
      BOOKED:
        on_enter:
          - {action: send_text, text: "Booked {{ data.slot }}"}
          - action: send_interactive_buttons
            body: "Anything else?"
            buttons:
              - {id: "again", title: "Book another"}
        transitions:
          - {on_payload: "again", target: SLOTS}
        fallback: BOOKED
      PEOPLE:
        on_enter:
          - {action: send_text, text: "How many people?"}
        transitions:
          - on_type: text
            set_data: {people: "{{ message.text }}"}
            target: BOOKED
        fallback: PEOPLE
    """
)


def slots(day: int) -> list[dict[str, Any]]:
    return [{"id": SLOT.format(day=day, hour=hour), "title": f"{hour}:00"} for hour in (10, 11, 12)]


def options(day: int) -> tuple[Option, ...]:
    return tuple(Option(s["id"], s["title"]) for s in slots(day))


def pressed(position: int, menu: tuple[Option, ...]) -> Any:
    """What a channel delivers for `#opt<position>.<fingerprint of menu>`."""
    return text(str(position), extra={OPTION_MENU: options_fingerprint(menu)})


def shown(day: int) -> Conversation:
    """A contact who was shown day `day`'s slots."""
    chat = Conversation(FLOW).with_data(slots=slots(day))
    chat.send("hi")
    assert chat.state.last_options == options(day)
    return chat


def test_a_press_of_the_menu_last_shown_is_that_option() -> None:
    chat = shown(5)
    exchange = chat.send(pressed(2, options(5)))
    assert exchange.state.node == "BOOKED"
    assert exchange.state.data["slot"] == SLOT.format(day=5, hour=11).removeprefix("slot_")


def test_a_press_of_an_older_menu_picks_no_option_of_the_new_one() -> None:
    chat = shown(5)
    chat.state = chat.state.with_data(slots=slots(6))  # the calendar moved on
    assert chat.send("refresh").state.last_options == options(6)
    exchange = chat.send(pressed(2, options(5)))  # yesterday's 11:00, scrolled up to
    assert exchange.state.node == "SLOTS"  # not booked: neither day 5's nor day 6's 11:00
    assert "slot" not in exchange.state.data
    assert exchange.fired == ("states.SLOTS.fallback",)
    assert exchange.texts == ["Pick a time"]  # the current menu again
    assert exchange.option_ids == [o.id for o in options(6)]


def test_a_press_of_a_menu_from_another_state_matches_no_transition() -> None:
    chat = shown(5)
    booked = chat.send(pressed(1, options(5)))
    assert booked.state.node == "BOOKED"
    # The slot list is gone (the buttons of BOOKED were shown): its third row is not "again".
    exchange = chat.send(pressed(1, options(5)))
    assert exchange.state.node == "BOOKED"
    assert exchange.fired == ("states.BOOKED.fallback",)


def test_a_stale_press_is_not_taken_as_a_typed_answer() -> None:
    chat = shown(5)
    # entered without a menu, as a transition from SLOTS would leave it
    chat.state = replace(chat.state, node="PEOPLE", last_options=())
    exchange = chat.send(pressed(2, options(5)))
    # "How many people?" would take the text "2": an old slot's button is no answer to it.
    assert "people" not in exchange.state.data
    assert exchange.fired == ("states.PEOPLE.fallback",)
    assert chat.send("2").state.data["people"] == "2"  # typing it still is


def test_a_press_without_a_fingerprint_is_the_typed_number_as_before() -> None:
    chat = shown(5)
    exchange = chat.send(text("3"))  # `#opt3` from before fingerprints, or a typed "3"
    assert exchange.state.node == "BOOKED"
    assert exchange.state.data["slot"] == SLOT.format(day=5, hour=12).removeprefix("slot_")


def test_a_press_after_the_session_forgot_the_menu_is_stale() -> None:
    chat = Conversation(FLOW).with_data(slots=slots(5))
    exchange = chat.send(pressed(1, options(5)))  # no menu shown yet
    assert exchange.state.node == "SLOTS"
    assert exchange.fired == ("states.SLOTS.fallback",)


def test_the_mapping_itself() -> None:
    menu = options(5)
    current = as_option_choice(pressed(3, menu), menu, from_list=True)
    assert (current.type, current.payload) == (MessageType.LIST_REPLY, menu[2].id)
    stale = as_option_choice(pressed(3, options(6)), menu, from_list=True)
    assert (stale.type, stale.payload, stale.text) == (MessageType.TEXT, "", "3")
    assert stale.extra[STALE_MENU] is True
    out_of_range = as_option_choice(pressed(4, menu), menu)
    assert out_of_range.extra[STALE_MENU] is True
    odd = as_option_choice(text("3", extra={OPTION_MENU: 42}), menu)
    assert odd.extra[STALE_MENU] is True
    # texts merged by `debounce_ms` (the press last) are read as any text
    merged = text("hello\n3", extra={OPTION_MENU: options_fingerprint(menu)})
    assert as_option_choice(merged, menu) is merged


def test_fingerprints_depend_on_the_ids_and_their_order_only() -> None:
    a, b = Option("a", "A"), Option("b", "B")
    assert options_fingerprint((a, b)) == options_fingerprint((Option("a", "x"), Option("b", "")))
    assert options_fingerprint((a, b)) != options_fingerprint((b, a))
    assert options_fingerprint((Option("ab", ""), Option("c", ""))) != options_fingerprint(
        (Option("a", ""), Option("bc", ""))
    )
    assert len(options_fingerprint((a,))) == 10
