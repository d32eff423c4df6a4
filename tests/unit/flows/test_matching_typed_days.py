"""A day typed to a list of days ("tomorrow", "el viernes", "next monday", "10/5", "10 May")
picks that day (docs/flow-dsl.md, "Numbered and typed answers", step 6), in every language the
calendar titles its days in, counted from the turn's today in the tenant's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.connectors.calendar import formatting
from botfleet.adapters.connectors.calendar.texts import CALENDAR_TEXTS, LANGUAGES
from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.engine import TenantInfo
from botfleet.flows.matching import as_option_choice
from botfleet.flows.typed_days import option_day
from botfleet.testing.clock import FrozenClock
from botfleet.testing.engine import Conversation, flow_from_yaml, text

#: Monday 6 May 2024; the list runs to the next Monday, so Monday is listed twice and every
#: other weekday once.
TODAY = date(2024, 5, 6)
LISTED = tuple(TODAY + timedelta(days=n) for n in range(8))


def day_list(language: str, days: tuple[date, ...] = LISTED) -> tuple[Option, ...]:
    """The calendar's day list (`get_available_days`), titled in `language`."""
    items = formatting.day_items(days, CALENDAR_TEXTS[language])
    return tuple(Option(item["id"], item["title"]) for item in items)


def chosen(said: str, options: tuple[Option, ...], today: date | None = TODAY) -> str | None:
    result = as_option_choice(text(said), options, today=today)
    return None if result.type is MessageType.TEXT else result.payload


def day(n: int) -> str:
    return f"day_2024-05-{n:02d}"


#: (language, typed, the day of May picked or None). Monday is listed twice (6 and 13): a bare
#: "monday" picks the nearer from today on.
CASES = [
    ("en", "tomorrow", 7),
    ("en", "Tomorrow!", 7),
    ("en", "today", 6),
    ("en", "the day after tomorrow", 8),
    ("en", "friday", 10),
    ("en", "on Friday", 10),
    ("en", "next monday", 13),
    ("en", "this monday", 6),
    ("en", "this coming monday", 13),
    ("en", "monday", 6),  # listed twice: the nearer from today on
    ("en", "10/5", 10),
    ("en", "10 May", 10),
    ("en", "May 10th", 10),
    ("en", "the 10th of May", 10),
    ("en", "Friday 10 May", 10),
    ("en", "Thursday 10 May", None),  # 10 May is a Friday
    ("en", "friday the 10th", 10),
    ("en", "10 May 2025", None),  # not listed
    ("en", "31/06", None),  # no such day
    ("es", "mañana", 7),
    ("es", "manana", 7),
    ("es", "para mañana", 7),
    ("es", "hoy", 6),
    ("es", "pasado mañana", 8),
    ("es", "el viernes", 10),
    ("es", "viernes", 10),
    ("es", "el próximo lunes", 13),
    ("es", "el lunes que viene", 13),
    ("es", "este lunes", 6),
    ("es", "el lunes", 6),
    ("es", "el 10 de mayo", 10),
    ("es", "viernes 10", 10),
    ("es", "el 10", None),  # a number, however said
    ("es", "la sexta", None),  # "the sixth one", not Friday
    ("es", "por la mañana", None),  # "in the morning"
    ("pt", "amanhã", 7),
    ("pt", "hoje", 6),
    ("pt", "depois de amanhã", 8),
    ("pt", "sexta", 10),
    ("pt", "sexta-feira", 10),
    ("pt", "na sexta", 10),
    ("pt", "na quinta-feira", 9),
    ("pt", "próxima segunda", 13),
    ("pt", "10 de maio", 10),
    ("fr", "demain", 7),
    ("fr", "aujourd'hui", 6),
    ("fr", "aujourd’hui", 6),
    ("fr", "après-demain", 8),
    ("fr", "vendredi", 10),
    ("fr", "le vendredi", 10),
    ("fr", "lundi prochain", 13),
    ("fr", "ce lundi", 6),
    ("fr", "le 10 mai", 10),
    ("fr", "10 mai", 10),
    ("de", "morgen", 7),
    ("de", "Heute", 6),
    ("de", "übermorgen", 8),
    ("de", "Freitag", 10),
    ("de", "am Freitag", 10),
    ("de", "nächsten Montag", 13),
    ("de", "10. Mai", 10),
    ("de", "10.5.", 10),
    ("de", "am morgen", None),  # "in the morning"
    ("it", "domani", 7),
    ("it", "oggi", 6),
    ("it", "dopodomani", 8),
    ("it", "venerdì", 10),
    ("it", "il venerdì", 10),
    ("it", "lunedì prossimo", 13),
    ("it", "il prossimo lunedì", 13),
    ("it", "10 maggio", 10),
    ("it", "la quinta", None),  # "the fifth one", not Thursday
    ("ca", "demà", 7),
    ("ca", "avui", 6),
    ("ca", "demà passat", 8),
    ("ca", "divendres", 10),
    ("ca", "el divendres", 10),
    ("ca", "el proper dilluns", 13),
    ("ca", "dilluns que ve", 13),
    ("ca", "10 de maig", 10),
    ("ca", "11 d'abril", None),  # not listed
]


def test_the_cases_cover_every_language_the_calendar_titles_days_in() -> None:
    assert {language for language, _, _ in CASES} == set(LANGUAGES)
    assert set(LANGUAGES) <= set(BUILT_IN_TEXTS)


@pytest.mark.parametrize(("language", "said", "picked"), CASES)
def test_a_typed_day_picks_that_day_of_the_list(
    language: str, said: str, picked: int | None
) -> None:
    """The words of every language are read whatever language the list is titled in: a
    contact may answer a Spanish list in Portuguese."""
    expected = None if picked is None else day(picked)
    assert chosen(said, day_list(language)) == expected
    assert chosen(said, day_list("en")) == expected


@pytest.mark.parametrize("said", ["tomorrow", "friday", "10/5", "10 May", "mañana"])
def test_a_typed_day_picks_a_row_of_a_list_as_a_list_reply(said: str) -> None:
    result = as_option_choice(text(said), day_list("en"), from_list=True, today=TODAY)
    assert result.type is MessageType.LIST_REPLY
    assert result.text == said  # what was typed stays the message's text


@pytest.mark.parametrize("said", ["5", "13", "10", "2024", "1."])
def test_a_bare_number_is_a_position_or_nothing_never_a_date(said: str) -> None:
    options = day_list("en")
    position = int(said.rstrip("."))
    expected = options[position - 1].id if position <= len(options) else None
    assert chosen(said, options) == expected


def test_without_the_turn_s_today_no_day_is_read() -> None:
    assert chosen("friday", day_list("en"), today=None) is None
    assert chosen("tomorrow", day_list("en"), today=None) is None


def test_two_options_of_one_date_pick_neither() -> None:
    options = (Option("day_2024-05-07", "Tue 7 May"), Option("x", "2024-05-07"))
    assert chosen("tomorrow", options) is None


def test_a_title_earlier_steps_read_wins_over_a_day() -> None:
    """ "Mañana" is the title of a row of periods, not tomorrow's list row."""
    options = (Option("period_am", "☀️ Mañana"), Option("day_2024-05-08", "Wed 8 May"))
    assert chosen("mañana", options) == "period_am"
    assert chosen("pasado mañana", options) == "day_2024-05-08"


def test_only_the_day_options_of_a_mixed_menu_are_days() -> None:
    options = (
        Option("day_2024-05-07", "Tue 7 May"),
        Option("day_off", "Friday"),  # the flow's own id: no date
        Option("menu", "Back to menu"),
    )
    assert chosen("tomorrow", options) == "day_2024-05-07"
    assert chosen("friday", options) == "day_off"  # its title, typed (step 2)
    assert chosen("next friday", options) is None


@pytest.mark.parametrize(
    ("option_id", "title", "expected"),
    [
        ("day_2024-05-10", "Fri 10 May", date(2024, 5, 10)),
        ("day_2024-05-10", "anything", date(2024, 5, 10)),
        ("pick_1", "2024-05-10", date(2024, 5, 10)),  # a title written year first
        ("pick_1", " 2024-05-10 ", date(2024, 5, 10)),
        ("pick_1", "Fri 10 May", None),  # its words depend on the language
        ("pick_1", "10/05/2024", None),  # either order
        ("2024-05-10", "Friday", None),  # only the calendar's id says a date
        ("slot_2024-05-10", "Friday", None),
        ("day_off", "Day off", None),
        ("day_2024-02-30", "Fri 30 Feb", None),  # no such day
        ("day_2024-5-1", "Wed 1 May", None),
    ],
)
def test_which_options_are_days(option_id: str, title: str, expected: date | None) -> None:
    assert option_day(option_id, title) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_calendar_s_day_items_are_days_in_every_language(language: str) -> None:
    assert formatting.DAY_PREFIX == "day_"
    assert [option_day(o.id, o.title) for o in day_list(language)] == list(LISTED)


#: A weekday typed in each language, Monday to Sunday, with or without its article.
WEEKDAY_WORDS = [
    ["monday", "lunes", "el lunes", "segunda-feira", "lundi", "am Montag", "lunedì", "dilluns"],
    ["on tuesday", "martes", "terça", "mardi", "Dienstag", "martedì", "el dimarts"],
    ["wednesday", "el miércoles", "na quarta", "le mercredi", "Mittwoch", "mercoledì", "dimecres"],
    ["thursday", "jueves", "quinta-feira", "jeudi", "Donnerstag", "il giovedì", "dijous"],
    ["friday", "el viernes", "sexta", "vendredi", "am Freitag", "venerdì", "divendres"],
    ["saturday", "sábado", "no sábado", "samedi", "Samstag", "sabato", "dissabte"],
    ["sunday", "domingo", "le dimanche", "Sonntag", "domenica", "el diumenge"],
]


@given(
    today=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
    offsets=st.sets(st.integers(0, 30), max_size=14),
    weekday=st.integers(0, 6),
    data=st.data(),
)
def test_a_weekday_picks_the_nearest_listed_day_of_that_weekday_or_none(
    today: date, offsets: set[int], weekday: int, data: st.DataObject
) -> None:
    listed = tuple(today + timedelta(days=n) for n in sorted(offsets))
    options = tuple(Option(f"day_{d.isoformat()}", f"row {n}") for n, d in enumerate(listed))
    said = data.draw(st.sampled_from(WEEKDAY_WORDS[weekday]))
    that_weekday = [d for d in listed if d.weekday() == weekday]
    picked = chosen(said, options, today)
    if that_weekday:  # every listed day is from today on: the first of them
        assert picked == f"day_{min(that_weekday).isoformat()}"
    else:
        assert picked is None


@given(
    today=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
    offsets=st.sets(st.integers(0, 30), max_size=14),
    weekday=st.integers(0, 6),
)
def test_next_weekday_is_the_first_of_that_weekday_after_today(
    today: date, offsets: set[int], weekday: int
) -> None:
    listed = tuple(today + timedelta(days=n) for n in sorted(offsets))
    options = tuple(Option(f"day_{d.isoformat()}", f"row {n}") for n, d in enumerate(listed))
    said = "next " + WEEKDAY_WORDS[weekday][0].removeprefix("on ")
    first_after = next(
        today + timedelta(days=n)
        for n in range(1, 8)
        if (today + timedelta(days=n)).weekday() == weekday
    )
    picked = chosen(said, options, today)
    assert picked == (f"day_{first_after.isoformat()}" if first_after in listed else None)


FLOW = flow_from_yaml(
    """
    id: typed_days
    initial_state: DAY
    states:
      DAY:
        on_enter:
          - action: send_interactive_list
            body: "Which day?"
            sections:
              - rows:
                  - {id: day_2024-05-06, title: "Mon 6 May"}
                  - {id: day_2024-05-07, title: "Tue 7 May"}
                  - {id: day_2024-05-08, title: "Wed 8 May"}
        transitions:
          - on_payload_prefix: "day_"
            extract_suffix_as: chosen_day
            target: CHOSEN
        fallback: DAY
      CHOSEN:
        on_enter: [{action: send_text, text: "{{ data.chosen_day }}"}]
    """
)


@pytest.mark.parametrize(
    ("zone", "tomorrow"),
    [("UTC", "2024-05-07"), ("Europe/Madrid", "2024-05-08"), ("America/New_York", "2024-05-07")],
)
def test_tomorrow_counts_from_the_tenant_s_today(zone: str, tomorrow: str) -> None:
    """At 23:30 UTC on 6 May it is already the 7th in Madrid, still the 6th in New York."""
    clock = FrozenClock(datetime(2024, 5, 6, 23, 30, tzinfo=UTC))
    chat = Conversation(FLOW, tenant=TenantInfo(timezone=zone), clock=clock)
    chat.send("hi")
    assert chat.send("tomorrow").texts == [tomorrow]


def test_a_weekday_listed_twice_picks_the_nearer_from_today_on() -> None:
    """A studio lists two weeks of classes, every weekday twice: "saturday" is this Saturday,
    as a receptionist hears it, not a question asked again."""
    two_weeks = tuple(TODAY + timedelta(days=n) for n in range(14))
    assert chosen("saturday", day_list("en", two_weeks)) == day(11)
    assert chosen("el sábado", day_list("es", two_weeks)) == day(11)
    # This week's Saturday full (not listed): the one listed.
    without = tuple(d for d in two_weeks if d != date(2024, 5, 11))
    assert chosen("saturday", day_list("en", without)) == day(18)


def test_a_weekday_listed_twice_picks_neither_when_no_listed_one_is_from_today_on() -> None:
    """A menu left on screen for weeks lists only past days: no guess among them."""
    old = (date(2024, 4, 22), date(2024, 4, 29))  # two Mondays before TODAY
    assert chosen("monday", day_list("en", old)) is None


def test_a_weekday_whose_nearest_day_is_listed_twice_picks_neither() -> None:
    twice = (Option(day(6), "Mon 6 May"), Option("again", "2024-05-06"), Option(day(13), "x"))
    assert chosen("monday", twice) is None


@pytest.mark.parametrize(
    ("language", "said"),
    [("pt", "sáb"), ("pt", "Sab"), ("en", "sat"), ("en", "Sat."), ("fr", "sam."), ("es", "el sáb"),
     ("it", "sab")],
)  # fmt: skip
def test_a_weekday_abbreviated_as_the_list_shows_it_picks_the_nearer(
    language: str, said: str
) -> None:
    """The list shows "Sáb 11 mai" and "Sáb 18 mai": a contact types "sáb" (walk-through)."""
    two_weeks = tuple(TODAY + timedelta(days=n) for n in range(14))
    assert chosen(said, day_list(language, two_weeks)) == day(11)


def test_abbreviations_keep_dates_and_months_what_they_were() -> None:
    two_weeks = tuple(TODAY + timedelta(days=n) for n in range(14))
    assert chosen("seg", day_list("pt", two_weeks)) == day(6)  # today, a Monday
    assert chosen("qua 15", day_list("pt", two_weeks)) == day(15)
    assert chosen("10 mar", day_list("es", two_weeks)) is None  # 10 March: not listed
    assert chosen("thu", day_list("en", two_weeks)) == day(9)
