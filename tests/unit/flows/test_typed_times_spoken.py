"""Times typed as people say them in each of the platform's languages ("a las 9 y media",
"halb 10", "9 de la noche", "2130"), read against a restaurant's list of times."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.matching import _fold, as_option_choice
from botfleet.flows.typed_times import time_candidates
from botfleet.testing.engine import text

#: A dinner service: 20:00 to 23:00, every half hour (the walk-through's list).
DINNER = tuple(
    Option(f"hour_{h:02d}{m:02d}", f"{h:02d}:{m:02d}")
    for h in (20, 21, 22, 23)
    for m in (0, 30)
    if (h, m) != (23, 30)
)


def read(said: str) -> set[str]:
    """The times a typed text can be, as "HH:MM", folded as `matching` folds it."""
    return {f"{h:02d}:{m:02d}" for h, m in time_candidates(_fold(said))}


@pytest.mark.parametrize(
    ("said", "times"),
    [
        # es
        ("a las 9 y media", {"09:30", "21:30"}),
        ("9 y media", {"09:30", "21:30"}),
        ("a las 9 y cuarto", {"09:15", "21:15"}),
        ("a las 10 menos cuarto", {"09:45", "21:45"}),
        ("la una menos cuarto", {"00:45", "12:45"}),
        ("a las nueve", {"09:00", "21:00"}),
        ("nueve y media", {"09:30", "21:30"}),
        ("las 21", {"21:00"}),
        ("la 1", {"01:00", "13:00"}),
        ("a la una y media", {"01:30", "13:30"}),
        # pt
        ("às 9 e meia", {"09:30", "21:30"}),
        ("às nove e um quarto", {"09:15", "21:15"}),
        ("às 9 e quinze", {"09:15", "21:15"}),
        ("às 10 menos um quarto", {"09:45", "21:45"}),
        ("às duas", {"02:00", "14:00"}),
        # fr
        ("à 9h", {"09:00", "21:00"}),
        ("à 9h et demie", {"09:30", "21:30"}),
        ("9h et quart", {"09:15", "21:15"}),
        ("10h moins le quart", {"09:45", "21:45"}),
        ("dix heures moins quart", {"09:45", "21:45"}),
        ("à neuf heures", {"09:00", "21:00"}),
        # en
        ("half past 9", {"09:30", "21:30"}),
        ("a quarter past 9", {"09:15", "21:15"}),
        ("at a quarter to 10", {"09:45", "21:45"}),
        ("quarter to 1", {"00:45", "12:45"}),
        ("9 and a half", {"09:30", "21:30"}),
        ("nine pm", {"21:00"}),
        # it
        ("alle 9 e mezza", {"09:30", "21:30"}),
        ("alle 9 e mezzo", {"09:30", "21:30"}),
        ("le 9", {"09:00", "21:00"}),
        ("le 9 e un quarto", {"09:15", "21:15"}),
        ("alle 9 e tre quarti", {"09:45", "21:45"}),
        ("alle 10 meno un quarto", {"09:45", "21:45"}),
        ("alle nove", {"09:00", "21:00"}),
        ("all'una", {"01:00", "13:00"}),
        ("l’una e mezza", {"01:30", "13:30"}),
        # ca
        ("a les 9 i mitja", {"09:30", "21:30"}),
        ("les 9 i quart", {"09:15", "21:15"}),
        ("a les 10 menys quart", {"09:45", "21:45"}),
        ("a les nou", {"09:00", "21:00"}),
        # de: "halb 10" is half an hour before 10
        ("halb 10", {"09:30", "21:30"}),
        ("um halb zehn", {"09:30", "21:30"}),
        ("viertel nach 9", {"09:15", "21:15"}),
        ("um viertel vor 10", {"09:45", "21:45"}),
        ("um neun Uhr", {"09:00", "21:00"}),
        # hour and minutes apart, four digits
        ("21 30", {"21:30"}),
        ("9 30", {"09:30", "21:30"}),
        ("2130", {"21:30"}),
        ("0930", {"09:30"}),  # a leading zero: a 24-hour clock's morning
        ("930pm", {"21:30"}),
        ("a las 930", {"09:30", "21:30"}),
    ],
)
def test_a_time_said_in_words_reads_as_that_time(said: str, times: set[str]) -> None:
    assert read(said) == times


@pytest.mark.parametrize(
    ("said", "times"),
    [
        ("9 de la noche", {"21:00"}),
        ("10 de la noche", {"22:00"}),
        ("12 de la noche", {"00:00"}),  # midnight
        ("3 de la noche", {"03:00"}),  # the small hours
        ("a las 10 menos cuarto de la noche", {"21:45"}),
        ("9 de la mañana", {"09:00"}),
        ("1 de la tarde", {"13:00"}),
        ("12 de la tarde", {"12:00"}),
        ("8 de la tarde", {"20:00"}),
        ("3 de la madrugada", {"03:00"}),
        ("esta noche a las 9", {"21:00"}),
        ("a las 9 por la noche", {"21:00"}),
        ("21 de la noche", {"21:00"}),
        ("9 da noite", {"21:00"}),
        ("às 3 da tarde", {"15:00"}),
        ("10 da manhã", {"10:00"}),
        ("9h du soir", {"21:00"}),
        ("3h de l’après-midi", {"15:00"}),
        ("8h du matin", {"08:00"}),
        ("at 9 in the evening", {"21:00"}),
        ("9 in the morning", {"09:00"}),
        ("9 tonight", {"21:00"}),
        ("tonight at 9", {"21:00"}),
        ("at 2 at night", {"02:00"}),
        ("um 9 Uhr abends", {"21:00"}),
        ("abends um 9", {"21:00"}),
        ("3 Uhr nachmittags", {"15:00"}),
        ("alle 9 di sera", {"21:00"}),
        ("alle 3 del pomeriggio", {"15:00"}),
        ("stasera alle 9", {"21:00"}),
        ("a les 9 del vespre", {"21:00"}),
        ("a les 12 de la nit", {"00:00"}),
        ("les 10 del matí", {"10:00"}),
        ("half past nine in the evening", {"21:30"}),
        ("nueve y media de la noche", {"21:30"}),
        ("9 y media pm", {"21:30"}),
    ],
)
def test_a_part_of_the_day_settles_am_or_pm(said: str, times: set[str]) -> None:
    assert read(said) == times


@pytest.mark.parametrize(
    "said",
    [
        "9",  # a position
        "21",
        "nueve",  # a bare number in words, as a bare number, is no time
        "nine",
        "neun",
        "930",  # three digits alone: no time (four are)
        "y media",
        "menos cuarto",
        "half past",
        "de la noche",
        "la 25",
        "la 5",  # "la" is said of one o'clock only: "la 5" is the fifth option
        "las 25",
        "25 30",
        "2175",
        "2430",
        "12345",
        "at once",  # English, not "at" and the Spanish "once" (11)
        "as one",
        "once in the evening",
        "seth",  # "set" (7 in Catalan) and "h": a name
        "ninepm",
        "12 de la mañana",  # noon to some, midnight to others
        "21 de la mañana",
        "13 de la noche",
        "13pm",
        "half past 9:30",
        "2130 y media",
        "9 y media y cuarto",
        "esta noche 9 de la noche",
        "9pm de la mañana",
        "around noon",  # noon and midnight in words are not read (see the docs)
        "a medianoche",
        "y media 9",
        "a las nueve and a half",  # a number in words with words of another language
        "9-10",  # a range, not 9:10
    ],
)
def test_what_is_still_no_time(said: str) -> None:
    assert read(said) == set()


@pytest.mark.parametrize(
    ("said", "payload"),
    [
        ("a las 9 y media", "hour_2130"),
        ("9 y media", "hour_2130"),
        ("las 21", "hour_2100"),
        ("las 21:30", "hour_2130"),
        ("9 de la noche", "hour_2100"),
        ("a las nueve", "hour_2100"),
        ("a las diez menos cuarto", None),  # 21:45 is not served
        ("21 30", "hour_2130"),
        ("2130", "hour_2130"),
        ("halb 10", "hour_2130"),
        ("half past 10", "hour_2230"),
        ("às 10 e meia", "hour_2230"),
        ("à 22h", "hour_2200"),
        ("alle 11", "hour_2300"),
        ("a les 8 i mitja", "hour_2030"),
        ("9 de la mañana", None),  # 09:00 is not served
    ],
)
def test_a_time_said_picks_the_dinner_slot(said: str, payload: str | None) -> None:
    result = as_option_choice(text(said), DINNER, from_list=True)
    if payload is None:
        assert result.type is MessageType.TEXT
    else:
        assert (result.type, result.payload) == (MessageType.LIST_REPLY, payload)


def test_a_number_of_one_or_two_digits_is_still_a_position() -> None:
    assert as_option_choice(text("3"), DINNER).payload == "hour_2100"
    assert as_option_choice(text("21"), DINNER).type is MessageType.TEXT


def test_a_long_sentence_around_a_time_is_no_time() -> None:
    # Every word of it is one of a time's, but 41 characters is no answer typed to a list.
    assert read("a las nueve y media de la noche esta noche") == set()


@given(
    hour=st.integers(1, 12),
    half=st.sampled_from([("y media", 30), ("e meia", 30), ("et demie", 30), ("i mitja", 30)]),
)
def test_half_past_any_hour_is_half_an_hour_after_it(hour: int, half: tuple[str, int]) -> None:
    words, minutes = half
    assert read(f"{hour} {words}") == {
        f"{h:02d}:{minutes:02d}" for h in ({hour, hour + 12} if hour < 12 else {12})
    }


@given(hour=st.integers(1, 12))
def test_german_halb_is_half_an_hour_before_the_hour(hour: int) -> None:
    before = {(h * 60 - 30) % (24 * 60) for h in ({hour, hour + 12} if hour < 12 else {12})}
    assert read(f"halb {hour}") == {f"{m // 60:02d}:{m % 60:02d}" for m in before}
