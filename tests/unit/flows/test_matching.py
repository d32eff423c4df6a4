"""Matching helpers on their own: effective payloads, suffixes, numbered and titled answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.effects import Diagnostic
from botfleet.flows.matching import (
    _fold,
    _loose,
    _words,
    as_option_choice,
    effective_payload,
    matches,
    suffix_of,
)
from botfleet.flows.render import Renderer
from botfleet.flows.schema import Transition
from botfleet.testing.engine import button, list_reply, message, text

OPTIONS = (Option("opt_a", "Café con leche"), Option("opt_b", "Té"), Option("opt_c", "2"))


def test_the_effective_payload_of_each_message_type() -> None:
    assert effective_payload(button("p1")) == "p1"
    assert effective_payload(list_reply("p2")) == "p2"
    assert effective_payload(text("  typed_payload \n")) == "typed_payload"
    assert effective_payload(text("words", payload="explicit")) == "explicit"
    assert effective_payload(message("image", text="caption")) == ""


def test_the_message_namespace_shows_the_effective_payload() -> None:
    for sent in (button("p1"), text("  typed_payload \n"), message("image", text="caption")):
        assert sent.as_namespace()["payload"] == effective_payload(sent)
    assert text("  typed_payload \n").as_namespace()["text"] == "  typed_payload \n"


def test_suffix_of_needs_a_prefix_and_something_after_it() -> None:
    rule = Transition(target="X", on_payload_prefix="day_", extract_suffix_as="day")
    assert suffix_of(rule, button("day_2024-01-09")) == "2024-01-09"
    assert suffix_of(rule, text("day_monday")) == "monday"
    assert suffix_of(rule, button("day_")) is None
    assert suffix_of(rule, button("hour_1")) is None
    assert suffix_of(Transition(target="X"), button("day_1")) is None


def test_matches_needs_every_trigger_and_then_the_condition() -> None:
    sink: list[Diagnostic] = []
    r = Renderer({"data": {"ok": True}}, sink=sink)
    rule = Transition(target="X", on_payload="go", on_type="button", condition="data.ok")
    assert matches(rule, button("go"), r, "w")
    assert not matches(rule, list_reply("go"), r, "w")
    assert not matches(rule, button("stop"), r, "w")
    blocked = Renderer({"data": {"ok": False}}, sink=sink)
    assert not matches(rule, button("go"), blocked, "w")
    assert sink == []


def test_a_number_picks_by_position_before_a_title_that_is_a_number() -> None:
    chosen = as_option_choice(text("2"), OPTIONS)
    assert (chosen.type, chosen.payload) == (MessageType.BUTTON_REPLY, "opt_b")


def test_a_typed_choice_among_list_rows_is_a_list_reply() -> None:
    by_number = as_option_choice(text("2"), OPTIONS, from_list=True)
    by_title = as_option_choice(text("te"), OPTIONS, from_list=True)
    for chosen in (by_number, by_title):
        assert (chosen.type, chosen.payload) == (MessageType.LIST_REPLY, "opt_b")


def test_titles_match_without_case_or_accents() -> None:
    for said in ("café con leche", "CAFE CON LECHE", " Cafe con leche "):
        assert as_option_choice(text(said), OPTIONS).payload == "opt_a"
    assert as_option_choice(text("te"), OPTIONS).payload == "opt_b"


def test_the_mapped_message_keeps_its_text_and_identity() -> None:
    original = text("1", message_id="wamid.9", contact_name="Ana")
    chosen = as_option_choice(original, OPTIONS)
    assert (chosen.message_id, chosen.text, chosen.contact_name) == ("wamid.9", "1", "Ana")


def test_nothing_is_mapped_without_options_or_for_non_text() -> None:
    plain = text("1")
    assert as_option_choice(plain, ()) is plain
    pressed = button("1")
    assert as_option_choice(pressed, OPTIONS) is pressed
    photo = message("image", text="1")
    assert as_option_choice(photo, OPTIONS) is photo


@given(said=st.text(max_size=50), titles=st.lists(st.text(max_size=20), max_size=12))
def test_any_answer_maps_to_one_of_the_options_or_stays_as_it_was(
    said: str, titles: list[str]
) -> None:
    options = tuple(Option(f"id{i}", title) for i, title in enumerate(titles))
    original = text(said)
    result = as_option_choice(original, options)
    if result is not original:
        assert result.type is MessageType.BUTTON_REPLY
        assert result.payload in {o.id for o in options}


@given(number=st.integers(min_value=1, max_value=12), count=st.integers(min_value=1, max_value=12))
def test_a_number_in_range_always_picks_that_position(number: int, count: int) -> None:
    options = tuple(Option(f"id{i}", f"Title {i}") for i in range(count))
    result = as_option_choice(text(str(number)), options)
    if number <= count:
        assert result.payload == f"id{number - 1}"
    else:
        assert result.type is MessageType.TEXT


# ---------------------------------------------------------------- loosely typed titles

CLINIC = (
    Option("pm", "🌇 Tarde"),
    Option("am", "☀️ Mañana"),
    Option("book", "📅 Pedir cita"),
    Option("check", "1️⃣ Revisión"),
    Option("es", "🇪🇸 Español"),
    Option("doc", "👩🏽‍⚕️ Doctora"),
    Option("ok", "👍"),
    Option("faq", "¿Preguntas?"),
)


@pytest.mark.parametrize(
    ("said", "chosen"),
    [
        ("tarde", "pm"),
        ("TARDE!", "pm"),
        ("  tarde. ", "pm"),
        ("manana", "am"),
        ("Mañana 😊", "am"),
        ("📅 pedir  cita", "book"),
        ("pedir cita", "book"),
        ("Pedir\tcita.", "book"),
        ("revision", "check"),
        ("español", "es"),
        ("doctora", "doc"),
        ("👍", "ok"),  # a title that is only an emoji is typed as shown
        ("preguntas", "faq"),
        ("¿preguntas?", "faq"),
    ],
)
def test_titles_match_without_emoji_punctuation_or_extra_blanks(said: str, chosen: str) -> None:
    result = as_option_choice(text(said), CLINIC)
    assert (result.type, result.payload) == (MessageType.BUTTON_REPLY, chosen)
    assert result.text == said


@pytest.mark.parametrize("said", ["pedircita", "cita pedir", "pedir 📅 cita", "!", "🌇", "tar de"])
def test_what_is_inside_a_title_must_still_be_typed(said: str) -> None:
    original = text(said)
    assert as_option_choice(original, CLINIC) is original


def test_a_title_typed_as_shown_wins_over_one_that_reads_the_same_without_emoji() -> None:
    options = (Option("plain", "Tarde"), Option("sunset", "🌇 Tarde"))
    assert as_option_choice(text("tarde"), options).payload == "plain"
    assert as_option_choice(text("🌇 TARDE"), options).payload == "sunset"
    ambiguous = text("tarde!")  # both read "tarde" without the ends: the contact did not say
    assert as_option_choice(ambiguous, options) is ambiguous


@pytest.mark.parametrize(
    "titles",
    [
        ("🌇 Tarde", "🌙 Tarde"),  # the same once emoji are left out
        ("Tarde", "TARDE"),  # the same as typed (the first used to win)
        ("📅 Pedir cita", "pedir  cita!"),
    ],
)
def test_a_text_two_titles_answer_picks_neither(titles: tuple[str, str]) -> None:
    options = (Option("one", titles[0]), Option("two", titles[1]), Option("x", "Otra"))
    for said in ("tarde", "pedir cita"):
        original = text(said)
        assert as_option_choice(original, options).type is MessageType.TEXT
    assert as_option_choice(text("otra"), options).payload == "x"


def test_a_number_is_read_before_a_title_that_is_a_number_once_emoji_are_left_out() -> None:
    options = (Option("first", "2️⃣ Dos"), Option("second", "🕑 2"))
    assert as_option_choice(text("2"), options).payload == "second"  # the second option
    assert as_option_choice(text("1"), options).payload == "first"


def test_a_typed_option_id_stays_that_id_not_a_title_read_without_emoji() -> None:
    options = (Option("tarde", "Mañana"), Option("pm", "🌇 Tarde"))
    original = text("tarde")
    typed = as_option_choice(original, options)
    # The typed payload it is, naming its option ("Mañana"), not the title "Tarde" loosely.
    assert (typed.type, typed.text, typed.option_title) == (MessageType.TEXT, "tarde", "Mañana")
    assert effective_payload(typed) == "tarde"
    assert as_option_choice(text("tarde!"), options).payload == "pm"


# Titles of words (letters and blanks) that differ once case and blanks are left out, and
# what may surround a title when it is typed.
plain_titles = st.lists(
    st.text(alphabet="abcdeñé ", min_size=1, max_size=12).filter(lambda t: t.strip()),
    min_size=1,
    max_size=8,
    unique_by=lambda t: _loose(_fold(t)),
)
edges = st.sampled_from(["", "🌇 ", "📅", "¡", "1️⃣ ", "👩🏽‍⚕️", "🇪🇸 ", "  ", "* "])
ends = st.sampled_from(["", "!", ".", " 🙂", "?", "…", " 👍🏽", "  "])


@given(titles=plain_titles, data=st.data())
def test_a_title_typed_with_other_case_blanks_emoji_or_punctuation_at_its_ends_picks_it(
    titles: list[str], data: st.DataObject
) -> None:
    options = tuple(Option(f"id{i}", f"{data.draw(edges)}{t}") for i, t in enumerate(titles))
    index = data.draw(st.integers(0, len(titles) - 1))
    word = titles[index].replace(" ", data.draw(st.sampled_from([" ", "  ", " \t"])))
    said = f"{data.draw(edges)}{word.upper() if data.draw(st.booleans()) else word}"
    result = as_option_choice(text(said + data.draw(ends)), options, from_list=True)
    assert (result.type, result.payload) == (MessageType.LIST_REPLY, f"id{index}")


shared_titles = st.sampled_from(
    ["Tarde", "🌇 Tarde", "tarde!", "TARDE", "Mañana", "📅 Pedir cita", "pedir  cita", "👍", "1"]
)


@given(
    said=st.one_of(shared_titles, st.text(alphabet="tardeTARDE 🌇!.", max_size=10)),
    titles=st.lists(shared_titles, max_size=6),
)
def test_a_title_picks_an_option_only_when_no_other_reads_the_same(
    said: str, titles: list[str]
) -> None:
    options = tuple(Option(f"id{i}", title) for i, title in enumerate(titles))
    result = as_option_choice(text(said), options)
    if result.type is MessageType.TEXT or said.strip().rstrip(".)").isdecimal():
        return
    exact = [o.id for o in options if _fold(o.title) == _fold(said)]
    loose = [o.id for o in options if _loose(_fold(o.title)) == _loose(_fold(said))]
    typed = _words(_loose(_fold(said)))
    first = [o.id for o in options if _words(_loose(_fold(o.title)))[: len(typed)] == typed]
    assert (
        exact == [result.payload]
        or (not exact and loose == [result.payload])
        or (not exact and not loose and first == [result.payload])
    )
