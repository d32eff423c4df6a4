"""Answers people type to a menu: the first words of a title ("basic" for "Basic tune-up",
"yes" for "Yes, book it") and a time as they say it ("5pm", "17h", "at 5") for "17:00"."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.matching import as_option_choice
from botfleet.flows.typed_times import time_candidates
from botfleet.testing.engine import text

CONFIRM = (Option("confirm_yes", "Yes, book it"), Option("confirm_no", "No, go back"))
SERVICES = (
    Option("service_basic", "Basic tune-up"),
    Option("service_full", "Full tune-up"),
    Option("back_to_menu", "Back to menu"),
)
ACTIONS = (
    Option("do_move", "Change the time"),
    Option("do_cancel", "Cancel it"),
    Option("back_to_menu", "Back to menu"),
)
#: The calendar's slots of a day: 10:00-13:30 and 17:00-19:30, every half hour.
SLOTS = tuple(
    Option(f"hour_{h:02d}{m:02d}", f"{h:02d}:{m:02d}")
    for h in (10, 11, 12, 13, 17, 18, 19)
    for m in (0, 30)
)


def chosen(said: str, options: tuple[Option, ...]) -> str | None:
    result = as_option_choice(text(said), options)
    return None if result.type is MessageType.TEXT else result.payload


@pytest.mark.parametrize(
    ("said", "options", "payload"),
    [
        ("yes", CONFIRM, "confirm_yes"),
        ("Yes!", CONFIRM, "confirm_yes"),
        ("YES BOOK IT", CONFIRM, "confirm_yes"),  # the comma left out
        ("yes, book", CONFIRM, "confirm_yes"),
        ("no", CONFIRM, "confirm_no"),
        ("basic", SERVICES, "service_basic"),
        ("Full", SERVICES, "service_full"),
        ("back", SERVICES, "back_to_menu"),
        ("cancel", ACTIONS, "do_cancel"),
        ("change", ACTIONS, "do_move"),
    ],
)
def test_the_first_words_of_one_title_pick_it(
    said: str, options: tuple[Option, ...], payload: str
) -> None:
    assert chosen(said, options) == payload


@pytest.mark.parametrize(
    ("said", "options"),
    [
        ("tune-up", SERVICES),  # a word of two titles, and not their first
        ("tune", SERVICES),  # not a whole word
        ("bas", SERVICES),
        ("go back", CONFIRM),  # the last words, not the first
        ("book", CONFIRM),
        ("yes please", CONFIRM),  # more than the title says
        ("no", (Option("a", "No, keep it"), Option("b", "No, move it"))),  # two titles
        ("tarde noche", (Option("x", "Tarde-noche"),)),  # inside a word
    ],
)
def test_other_words_pick_nothing(said: str, options: tuple[Option, ...]) -> None:
    assert chosen(said, options) is None


def test_a_number_is_a_position_or_nothing_never_the_first_word_of_a_title() -> None:
    options = (Option("two", "2 people"), Option("ten", "10 people"))
    assert chosen("2", options) == "ten"  # the second option
    assert chosen("10", options) is None


def test_a_whole_title_still_wins_over_one_it_begins() -> None:
    options = (Option("short", "Cake"), Option("long", "Cake with candles"))
    assert chosen("cake", options) == "short"
    assert chosen("cake with", options) == "long"


@pytest.mark.parametrize(
    ("said", "payload"),
    [
        ("5pm", "hour_1700"),
        ("5 PM", "hour_1700"),
        ("5 p.m.", "hour_1700"),
        ("5:30pm", "hour_1730"),
        ("17h", "hour_1700"),
        ("17h30", "hour_1730"),
        ("17.30", "hour_1730"),
        ("17:00h", "hour_1700"),
        ("at 5", "hour_1700"),  # 05:00 is no option: 17:00 is meant
        ("a las 5", "hour_1700"),
        ("À 17h", "hour_1700"),
        ("um 17 Uhr", "hour_1700"),
        ("10am", "hour_1000"),
        ("at 10", "hour_1000"),  # 22:00 is no option
        ("12:30", "hour_1230"),
        ("12pm", "hour_1200"),
        ("at five", "hour_1700"),  # an hour in words, with a word of a time
    ],
)
def test_a_time_typed_as_people_say_it_picks_that_slot(said: str, payload: str) -> None:
    assert chosen(said, SLOTS) == payload
    as_rows = as_option_choice(text(said), SLOTS, from_list=True)
    assert (as_rows.type, as_rows.payload) == (MessageType.LIST_REPLY, payload)


@pytest.mark.parametrize(
    "said",
    [
        "5",  # a position (the fifth slot), not a time
        "17",  # no position, and a bare number is no time
        "3pm",  # no such slot
        "at 8",  # neither 08:00 nor 20:00 is offered
        "25h",
        "17:75",
        "13pm",
        "five",  # a bare number in words is no time either
    ],
)
def test_other_times_pick_no_slot_by_time(said: str) -> None:
    result = as_option_choice(text(said), SLOTS)
    if said == "5":
        assert result.payload == "hour_1200"
    else:
        assert result.type is MessageType.TEXT


def test_an_hour_without_am_or_pm_that_two_slots_answer_picks_neither() -> None:
    both = (Option("am", "05:00"), Option("pm", "17:00"))
    assert chosen("at 5", both) is None
    assert chosen("5pm", both) == "pm"
    assert chosen("5am", both) == "am"


def test_four_digits_are_a_time_never_a_position_and_a_leading_zero_is_the_morning() -> None:
    """A day's 47 half hours as numbered text: "0030" booked 14:30 (the 30th row), and "0930"
    picked nothing (no 930th row, and 09:30 or 21:30)."""
    day = tuple(
        Option(f"h{hour:02d}{minute:02d}", f"{hour:02d}:{minute:02d}")
        for hour in range(24)
        for minute in (0, 30)
    )[:47]
    assert chosen("0030", day) == "h0030"
    assert chosen("0930", day) == "h0930"
    assert chosen("0005", day) is None  # no such slot: not the fifth either
    assert chosen("2130", day) == "h2130"
    assert chosen("30", day) == "h1430"  # two digits stay a position
    assert chosen("09", day) is None  # not the ninth row (04:00), nor a time: asked again
    assert chosen("030", day) is None  # not the 30th row (14:30)
    assert chosen("9:30", day) is None  # 09:30 or 21:30: the options hold both


def test_two_slots_of_the_same_time_pick_neither() -> None:
    twice = (Option("a", "17:00"), Option("b", "17:00"), Option("c", "18:00"))
    assert chosen("5pm", twice) is None
    assert chosen("6pm", twice) == "c"


@given(hour=st.integers(0, 23), minute=st.sampled_from([0, 15, 30, 45]))
def test_every_time_written_hh_mm_reads_as_itself(hour: int, minute: int) -> None:
    assert (hour, minute) in time_candidates(f"{hour:02d}:{minute:02d}")
    assert (hour, minute) in time_candidates(f"{hour}h{minute:02d}")


def test_a_long_text_is_no_time_and_is_not_searched_for_one() -> None:
    # Two runs of blanks the expression could try every split of: cut short by length.
    assert time_candidates("5" + " " * 20_000 + "x") == frozenset()
    assert time_candidates("at" + " " * 40 + "5pm") == frozenset()


@pytest.mark.parametrize(
    ("said", "picked"),
    [
        ("Verschieben", "t_move"),
        ("verschieben", "t_move"),
        ("Verschieben/Absagen", "t_move"),
        ("Meine Termine", "t_list"),
        ("Absagen", None),  # only a title's first words pick it
    ],
)
def test_a_slash_between_words_parts_a_titles_words(said: str, picked: str | None) -> None:
    menu = (
        Option("t_move", "Verschieben/Absagen"),
        Option("t_list", "Meine Termine"),
        Option("t_day", "10/5 Dienstag"),
    )
    assert chosen(said, menu) == picked
