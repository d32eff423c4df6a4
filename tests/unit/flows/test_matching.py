"""Matching helpers on their own: effective payloads, suffixes, numbered and titled answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.effects import Diagnostic
from botfleet.flows.matching import as_option_choice, effective_payload, matches, suffix_of
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
