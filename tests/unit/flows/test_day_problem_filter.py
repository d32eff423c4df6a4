"""`parse_day(past=true)` and `day_problem`: a day typed before today ("ayer", "el lunes
pasado", "1/12" on 7 December) and a date no calendar has ("31 de febrero", "31/02") are told
from text that is no day at all, which `parse_day` alone gives `""` for alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.date_filter import nearest_date
from botfleet.flows.effects import Diagnostic
from botfleet.flows.matching import as_option_choice
from botfleet.flows.render import Renderer
from botfleet.flows.typed_days import typed_day
from botfleet.testing.clock import FrozenClock
from botfleet.testing.engine import Conversation, flow_from_yaml, output_texts, text

MONDAY = "2026-12-07"


def rendered(template: str, value: Any, today: str = MONDAY) -> str:
    sink: list[Diagnostic] = []
    renderer = Renderer({"today": today, "message": {"text": value}}, sink=sink)
    text = renderer.text(template, "states.S.text")
    assert sink == []
    return text


def past_day(value: Any, today: str = MONDAY) -> str:
    return rendered("{{ message.text | parse_day(past=true) }}", value, today)


def forward_day(value: Any, today: str = MONDAY) -> str:
    return rendered("{{ message.text | parse_day }}", value, today)


def problem(value: Any, today: str = MONDAY) -> str:
    return rendered("{{ message.text | day_problem }}", value, today)


YESTERDAY = ["yesterday", "ayer", "ontem", "hier", "gestern", "ieri", "ahir", "Ayer."]
DAY_BEFORE = [
    "the day before yesterday",
    "anteayer",
    "antes de ayer",
    "anteontem",
    "avant-hier",
    "vorgestern",
    "l'altro ieri",
    "abans d'ahir",
]
#: Each language's "last Friday": Friday 4 December 2026, from Monday 7 December.
LAST_FRIDAY = [
    "last friday",
    "el viernes pasado",
    "el pasado viernes",
    "sexta passada",
    "na sexta-feira passada",
    "vendredi dernier",
    "letzten Freitag",
    "am vergangenen Freitag",
    "venerdì scorso",
    "divendres passat",
]


@pytest.mark.parametrize("typed", YESTERDAY)
def test_yesterday_in_each_language_is_a_past_day(typed: str) -> None:
    assert past_day(typed) == "2026-12-06"
    assert problem(typed) == "past"
    assert forward_day(typed) == ""  # unchanged without past=true


@pytest.mark.parametrize("typed", DAY_BEFORE)
def test_the_day_before_yesterday_in_each_language(typed: str) -> None:
    assert past_day(typed) == "2026-12-05"
    assert problem(typed) == "past"
    assert forward_day(typed) == ""


@pytest.mark.parametrize("typed", LAST_FRIDAY)
def test_last_weekday_in_each_language(typed: str) -> None:
    assert past_day(typed) == "2026-12-04"
    assert problem(typed) == "past"
    assert forward_day(typed) == ""


def test_last_weekday_on_that_weekday_is_a_week_ago() -> None:
    assert past_day("el lunes pasado") == "2026-11-30"  # today is a Monday
    assert past_day("el lunes") == MONDAY  # a weekday alone is still the next one
    assert problem("el lunes") == ""


@pytest.mark.parametrize(
    "typed",
    [
        "31/02",
        "31/2",
        "30/2/2027",
        "30.02.27",
        "2027-02-30",
        "31/06",
        "el 31 de febrero",
        "30 febrero",
        "31 june 2027",
        "the 31st of April",
        "le 31 septembre",
        "31. November",
        "31 di novembre",
        "31 de juny",
        "31 de setembro",
        "lunes 31 de febrero",
    ],
)
def test_impossible_dates_in_digits_and_words_are_no_such_day(typed: str) -> None:
    assert problem(typed) == "no_such_day"
    assert forward_day(typed) == ""  # unchanged: no day
    assert past_day(typed) == ""


def test_a_weekday_its_date_is_not_is_no_such_day() -> None:
    assert problem("viernes 10 de mayo") == "no_such_day"  # 10 May 2027 is a Monday
    assert problem("lunes 10 de mayo") == ""
    assert forward_day("viernes 10 de mayo") == ""


@pytest.mark.parametrize(
    "typed", ["hola", "10", "el 10", "45/13", "32/01", "3.45", "next week", "", 12, None]
)
def test_what_is_no_date_at_all_is_no_problem(typed: Any) -> None:
    assert problem(typed) == ""
    assert past_day(typed) == ""


def test_a_date_earlier_this_year_is_past_not_next_years() -> None:
    assert forward_day("1/12") == "2027-12-01"  # unchanged: the first from today on
    assert past_day("1/12") == "2026-12-01"
    assert past_day("1 de diciembre") == "2026-12-01"
    assert problem("1/12") == "past"
    assert problem("1 de diciembre") == "past"
    assert problem("7/12") == ""  # today
    assert problem("2026-12-01") == "past"


def test_the_year_turns_to_the_nearest_date() -> None:
    assert past_day("2/1", today="2026-12-31") == "2027-01-02"
    assert problem("2/1", today="2026-12-31") == ""
    assert past_day("28/12", today="2027-01-05") == "2026-12-28"
    assert problem("28/12", today="2027-01-05") == "past"
    assert forward_day("28/12", today="2027-01-05") == "2027-12-28"


def test_29_february_is_read_in_the_nearest_february() -> None:
    assert problem("29/02", today="2026-12-07") == "no_such_day"  # 2026 and 2027: 28 days
    assert past_day("29/02", today="2027-12-07") == "2028-02-29"
    assert problem("29/02", today="2027-12-07") == ""
    assert problem("29/02", today="2028-03-10") == "past"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.dates())
def test_nearest_date_is_within_half_a_year(today: date, written: date) -> None:
    found = nearest_date(written.month, written.day, today)
    if found is None:
        assert (written.month, written.day) == (2, 29)
        return
    assert (found.month, found.day) == (written.month, written.day)
    assert abs((found - today).days) <= 183


def test_a_list_of_days_still_reads_no_past_words() -> None:
    assert typed_day("ayer", date(2026, 12, 7)) is None
    assert typed_day("el viernes pasado", date(2026, 12, 7)) is None
    assert typed_day("31/02", date(2026, 12, 7)) is None


def test_a_past_day_typed_to_a_list_of_days_picks_nothing() -> None:
    today = date(2026, 12, 7)
    days = (today - timedelta(days=1), today, today + timedelta(days=1))
    options = tuple(Option(f"day_{day.isoformat()}", day.isoformat()) for day in days)
    for typed in ("ayer", "el lunes pasado", "31/02"):
        result = as_option_choice(text(typed), options, today=today)
        assert result.type is MessageType.TEXT  # no option picked, as before
    assert as_option_choice(text("mañana"), options, today=today).payload == options[2].id


FLOW = flow_from_yaml(
    """
    id: clinic_day
    initial_state: ASK_DAY
    states:
      ASK_DAY:
        on_enter:
          - action: send_text
            text: "¿Qué día quiere la cita? Por ejemplo: mañana, el viernes, 12/5."
        transitions:
          - on_type: text
            condition: "(message.text | day_problem) == 'no_such_day'"
            target: NO_SUCH_DAY
          - on_type: text
            condition: "(message.text | day_problem) == 'past'"
            target: DAY_PASSED
          - on_type: text
            condition: "message.text | parse_day"
            set_data: {day: "{{ message.text | parse_day }}"}
            target: PICK_TIME
        fallback: DAY_INVALID
      NO_SUCH_DAY:
        on_enter:
          - action: send_text
            text: "Esa fecha no existe en el calendario: revise el día y el mes."
        next: ASK_DAY
      DAY_PASSED:
        on_enter:
          - action: send_text
            text: "Ese día ya ha pasado: elija uno a partir de hoy."
        next: ASK_DAY
      DAY_INVALID:
        on_enter:
          - action: send_text
            text: "No he entendido el día. Escríbalo como «mañana», «el viernes» o «12/5»."
        next: ASK_DAY
      PICK_TIME:
        on_enter:
          - action: send_text
            text: "Cita el {{ data.day }}"
    """
)
ASK = "¿Qué día quiere la cita? Por ejemplo: mañana, el viernes, 12/5."


def test_a_flow_answers_each_case_in_its_own_words() -> None:
    clock = FrozenClock(datetime(2026, 12, 7, 10, 0, tzinfo=UTC))  # Monday 7 December
    chat = Conversation(FLOW, clock=clock)
    assert output_texts(chat.send("hola").outputs) == [
        "No he entendido el día. Escríbalo como «mañana», «el viernes» o «12/5».",
        ASK,
    ]
    assert output_texts(chat.send("el 31 de febrero").outputs) == [
        "Esa fecha no existe en el calendario: revise el día y el mes.",
        ASK,
    ]
    assert output_texts(chat.send("31/02").outputs)[0].startswith("Esa fecha no existe")
    assert output_texts(chat.send("ayer").outputs) == [
        "Ese día ya ha pasado: elija uno a partir de hoy.",
        ASK,
    ]
    passed = output_texts(chat.send("1/12").outputs)  # not next year's 1 December
    assert passed[0] == "Ese día ya ha pasado: elija uno a partir de hoy."
    assert "day" not in chat.state.data
    assert output_texts(chat.send("el viernes").outputs) == ["Cita el 2026-12-11"]
    assert chat.state.data["day"] == "2026-12-11"
