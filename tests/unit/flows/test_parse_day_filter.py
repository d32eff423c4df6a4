"""`parse_day`: a day the contact typed, in words ("amanhã", "el viernes", "10 de mayo") or
digits, as `YYYY-MM-DD` from the turn's `today` on, or `""` when it is none."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.flows.day_filter import read_day
from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import Renderer
from botfleet.testing.engine import Conversation, flow_from_yaml, output_texts

WEDNESDAY = "2024-05-08"


def parsed(value: Any, today: str = WEDNESDAY) -> str:
    sink: list[Diagnostic] = []
    renderer = Renderer({"today": today, "data": {"v": value}}, sink=sink)
    text = renderer.text("{{ data.v | parse_day }}", "states.S.text")
    assert sink == []
    return text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("amanhã", "2024-05-09"),
        ("Mañana", "2024-05-09"),
        ("pasado mañana", "2024-05-10"),
        ("today", "2024-05-08"),
        ("domingo", "2024-05-12"),
        ("na sexta-feira", "2024-05-10"),
        ("quarta", "2024-05-08"),  # today is a Wednesday: this one, as "this wednesday"
        ("next wednesday", "2024-05-15"),
        ("viernes 10", "2024-05-10"),
        ("viernes 13", "2024-09-13"),  # the first Friday that is the 13th
        ("10 de mayo", "2024-05-10"),
        ("le 2 janvier", "2025-01-02"),  # without a year: the first from today on
        ("12/12", "2024-12-12"),
        ("2024-05-12", "2024-05-12"),
    ],
)
def test_days_in_words_and_digits(typed: str, expected: str) -> None:
    assert parsed(typed) == expected


@pytest.mark.parametrize(
    "typed", ["hola", "10", "el 10", "31/06", "monday 10 may", "quiero cita", "", 12, None]
)
def test_what_is_no_day_is_empty(typed: Any) -> None:
    assert parsed(typed) == ""  # "monday 10 may": 10 May 2024 is a Friday


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 6))
def test_a_weekday_is_the_first_such_day_from_today_on(today: date, weekday: int) -> None:
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    found = read_day(names[weekday], today)
    assert found is not None
    assert found.weekday() == weekday
    assert today <= found < today + timedelta(days=7)


FLOW = flow_from_yaml(
    """
    id: typed_day
    initial_state: ASK
    states:
      ASK:
        on_enter: [{action: send_text, text: "Which day?"}]
        transitions:
          - on_type: text
            condition: "message.text | parse_day"
            set_data: {day: "{{ message.text | parse_day }}"}
            target: CHECK
        fallback: ASK
      CHECK:
        next:
          - condition: "data.day > (today | shift_time(days=30))[:10]"
            target: TOO_FAR
          - target: DONE
      TOO_FAR:
        on_enter: [{action: send_text, text: "Too far: {{ data.day }}"}]
        next: ASK
      DONE:
        on_enter: [{action: send_text, text: "Booked for {{ data.day }}"}]
    """
)


def test_a_flow_reads_a_day_typed_in_words_and_checks_it() -> None:
    chat = Conversation(FLOW)  # the frozen clock's today
    chat.send("hi")
    today = chat.clock.now().date()
    assert output_texts(chat.send("quiero cita").outputs) == ["Which day?"]
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert output_texts(chat.send("amanhã").outputs) == [f"Booked for {tomorrow}"]
    chat = Conversation(FLOW)
    chat.send("hi")
    far = read_day("12/12", today) if today.month < 11 else read_day("12/6", today)
    assert far is not None and far > today + timedelta(days=30)
    typed = "12/12" if today.month < 11 else "12/6"
    assert output_texts(chat.send(typed).outputs) == [f"Too far: {far.isoformat()}", "Which day?"]


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
    st.integers(0, 6),
    st.integers(1, 31),
)
def test_a_weekday_with_a_day_is_the_first_date_that_is_both(
    today: date, weekday: int, day: int
) -> None:
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    found = read_day(f"{names[weekday]} {day}", today)
    expected = next(
        (
            d
            for d in (today + timedelta(days=n) for n in range(366 * 3))
            if d.weekday() == weekday and d.day == day
        ),
        None,
    )
    assert found == expected


def test_long_text_is_no_day_and_is_not_folded() -> None:
    assert parsed("\ufdfa" * 4000) == ""
    assert parsed("tomorrow " + "x" * 100) == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-05-12", "6"), ("2024-05-06T10:00:00+02:00", "0"), ("12/05", ""), ("", ""), (3, "")],
)
def test_weekday_of_an_iso_date(value: Any, expected: str) -> None:
    sink: list[Diagnostic] = []
    renderer = Renderer({"data": {"v": value}}, sink=sink)
    assert renderer.text("{{ data.v | weekday }}", "states.S.text") == expected


def test_a_closed_sunday_typed_in_words_is_refused() -> None:
    condition = "(message.text | parse_day) and (message.text | parse_day | weekday) != 6"
    sink: list[Diagnostic] = []
    for typed, open_day in (("domingo", False), ("el viernes", True), ("hola", False)):
        renderer = Renderer({"today": WEDNESDAY, "message": {"text": typed}}, sink=sink)
        assert renderer.condition(condition, "states.S.condition") is open_day
