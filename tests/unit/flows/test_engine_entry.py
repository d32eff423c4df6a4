"""New contacts, numbered and titled answers, a stored state the flow no longer has."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from botfleet.domain.outputs import Buttons, Option
from botfleet.testing.engine import Conversation, button, flow_from_file

FIXTURES = Path(__file__).parents[2] / "fixtures/flows"
FLOW = flow_from_file(FIXTURES / "engine/menus.yaml")
DEMO = flow_from_file(Path(__file__).parents[3] / "flows/peluqueria_flow.yaml")
MENU_IDS = ["menu_book", "menu_info", "menu_lists"]


def at_menu() -> Conversation:
    """A contact who said hello and was shown the main menu's buttons."""
    chat = Conversation(FLOW)
    chat.send("hola")
    return chat


# ---------------------------------------------------------------- new contacts


def test_a_new_contact_starts_in_the_initial_state_without_its_on_enter() -> None:
    chat = Conversation(FLOW)
    assert chat.state.node == "MENU"
    assert chat.state.data == {}
    assert chat.state.last_options == ()
    assert chat.state.history == ()


def test_hola_from_a_new_contact_reaches_the_fallback_which_shows_the_menu() -> None:
    exchange = Conversation(FLOW).send("hola")
    assert exchange.fired == ("states.MENU.fallback",)
    assert exchange.entered == ("MENU",)
    assert exchange.texts == ["Main menu"]
    assert exchange.option_ids == MENU_IDS
    assert [o.id for o in exchange.state.last_options] == MENU_IDS


def test_a_first_message_that_is_a_valid_payload_transitions_at_once() -> None:
    for first in (button("menu_book"), "menu_book"):
        exchange = Conversation(FLOW).send(first)
        assert exchange.entered == ("BOOKED", "PLAIN")
        assert exchange.texts == ["@BOOKED", "No options here. Say anything."]  # no menu


def test_the_demo_flow_greets_a_new_contact_with_its_menu() -> None:
    exchange = Conversation(DEMO).send("hola")
    assert exchange.state.node == "MENU"
    assert exchange.texts == ["Hi! Welcome to Test Salon. What would you like to do?"]
    assert exchange.option_ids == ["menu_book", "menu_view", "menu_cancel"]
    assert exchange.effects == ()  # the LLM is not available: fallback, not AskLLM


def test_the_demo_flow_takes_a_first_payload_straight_to_booking() -> None:
    exchange = Conversation(DEMO).send(button("menu_book"))
    assert exchange.state.node == "BOOK_SERVICE"
    assert exchange.texts == ["Which service would you like?"]


# ---------------------------------------------------------------- numbered and titled answers


@pytest.mark.parametrize(
    ("answer", "target"),
    [
        ("1", "BOOKED"),
        ("2", "INFO"),
        (" 2 ", "INFO"),
        ("2.", "INFO"),
        ("2)", "INFO"),
        ("٢", "INFO"),  # an Arabic-Indic two is still a two
        ("book appointment", "BOOKED"),
        ("BOOK APPOINTMENT", "BOOKED"),
        ("  Book Appointment  ", "BOOKED"),
        ("información", "INFO"),
        ("INFORMACION", "INFO"),
        ("informacion", "INFO"),
        ("3", "LISTS"),
        ("book", "BOOKED"),  # the first word of one title only
    ],
)
def test_a_number_or_title_after_buttons_presses_that_button(answer: str, target: str) -> None:
    exchange = at_menu().send(answer)
    assert exchange.entered[0] == target
    index = ["BOOKED", "INFO", "LISTS"].index(target)
    assert exchange.fired[0] == f"states.MENU.transitions[{index}]"


@pytest.mark.parametrize("answer", ["0", "4", "12", "-1", "²", "1" * 5000, "boo", "2 please"])
def test_answers_that_name_no_option_stay_text(answer: str) -> None:
    exchange = at_menu().send(answer)
    assert exchange.fired == ("states.MENU.fallback",)


def test_a_number_out_of_range_can_still_match_a_text_transition() -> None:
    assert at_menu().send("7").entered[0] == "SEVEN"


@pytest.mark.parametrize(
    ("answer", "row"),
    [
        ("1", "a"),
        ("2", "b"),
        ("3", "c"),
        ("alpha", "a"),
        ("BETA", "b"),
        ("ca va", "c"),
        ("ÇA VA", "c"),
    ],
)
def test_a_number_or_title_after_a_list_picks_that_row(answer: str, row: str) -> None:
    chat = at_menu()
    chat.press("menu_lists")
    exchange = chat.send(answer)
    assert exchange.entered[0] == "PICKED"
    assert exchange.state.data["row"] == row
    assert exchange.texts[0] == f"@PICKED {row}"


def test_numbers_are_not_choices_when_no_options_were_shown() -> None:
    chat = at_menu()
    chat.press("menu_book")  # BOOKED -> PLAIN: plain text, options forgotten
    assert chat.state.last_options == ()
    exchange = chat.send("1")
    assert exchange.entered == ("ECHO",)
    assert exchange.texts == ["@ECHO 1"]


def test_a_new_contact_typing_a_number_gets_the_fallback() -> None:
    assert Conversation(FLOW).send("1").fired == ("states.MENU.fallback",)


def test_options_shown_in_the_same_state_stay_answerable_after_a_miss() -> None:
    chat = at_menu()
    chat.send("no idea")  # fallback re-shows the menu
    assert chat.send("2").entered[0] == "INFO"


def test_a_real_button_press_is_not_reinterpreted() -> None:
    # A payload that happens to be "2" stays a payload: only text answers are mapped.
    chat = at_menu()
    assert chat.send(button("2")).fired == ("states.MENU.fallback",)


# ---------------------------------------------------------------- stored state unknown to the flow


def test_a_stored_state_the_flow_no_longer_has_restarts_at_the_initial_state() -> None:
    chat = Conversation(FLOW)
    chat.state = replace(
        chat.state, node="REMOVED_STATE", last_options=(Option("old", "Old option"),)
    )
    exchange = chat.send("1")  # old options are gone with the old state
    assert exchange.fired == ("states.MENU.fallback",)
    assert exchange.state.node == "MENU"
    assert isinstance(exchange.outputs[0], Buttons)
    assert "state_reset" in exchange.diagnostic_events()


def test_a_stored_state_the_flow_no_longer_has_still_matches_the_message() -> None:
    chat = Conversation(FLOW).at("REMOVED_STATE")
    assert chat.press("menu_info").entered == ("INFO", "PLAIN")
