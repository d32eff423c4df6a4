"""Transition matching and precedence: globals, then the state's in order; exactly one fires."""

from __future__ import annotations

from pathlib import Path

import pytest

from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.messages import InboundMessage
from botfleet.testing.engine import (
    Conversation,
    Exchange,
    button,
    flow_from_file,
    list_reply,
    message,
    text,
)

FLOW = flow_from_file(Path(__file__).parents[2] / "fixtures/flows/engine/routing.yaml")


def send(msg: InboundMessage) -> Exchange:
    return Conversation(FLOW).send(msg)


@pytest.mark.parametrize(
    ("msg", "target", "fired"),
    [
        # Global transitions are tried before the state's, in their own order.
        (button("go_home"), "HOME", "global_transitions[0]"),
        (text("go_home"), "HOME", "global_transitions[0]"),
        (text("two globals"), "GLOBAL_A", "global_transitions[1]"),
        (text("global b"), "GLOBAL_B", "global_transitions[2]"),
        # on_payload: button, list and a text that spells the payload.
        (button("exact"), "PAYLOAD", "states.ROUTER.transitions[0]"),
        (list_reply("exact"), "PAYLOAD", "states.ROUTER.transitions[0]"),
        (text("exact"), "PAYLOAD", "states.ROUTER.transitions[0]"),
        (text("  exact \n"), "PAYLOAD", "states.ROUTER.transitions[0]"),
        # Two transitions match: the first in file order fires.
        (button("twice"), "FIRST", "states.ROUTER.transitions[1]"),
        # Prefixes: with and without extraction; text can spell them too.
        (button("service_corte"), "SERVICE", "states.ROUTER.transitions[5]"),
        (text("service_tinte"), "SERVICE", "states.ROUTER.transitions[5]"),
        (list_reply("raw_42"), "PREFIX", "states.ROUTER.transitions[6]"),
        # Every trigger present must match: `both` as a list reply, not as a button.
        (list_reply("both"), "LIST_AND_PAYLOAD", "states.ROUTER.transitions[7]"),
        # A type trigger with a condition.
        (button("pressed"), "BUTTON_WITH_CONDITION", "states.ROUTER.transitions[8]"),
        (message("image"), "IMAGE", "states.ROUTER.transitions[9]"),
        # Trigger-less transitions match any message whose condition holds; first wins.
        (text("HeLLo"), "HELLO", "states.ROUTER.transitions[10]"),
        (text("hello"), "HELLO", "states.ROUTER.transitions[10]"),
    ],
)
def test_the_first_matching_transition_fires(msg: InboundMessage, target: str, fired: str) -> None:
    exchange = send(msg)
    assert exchange.state.node == target
    assert exchange.fired == (fired,)
    assert exchange.entered == (target,)
    assert exchange.texts[0].startswith(f"@{target}")


@pytest.mark.parametrize(
    "msg",
    [
        button("both"),  # payload matches, type does not
        button("not pressed"),  # type matches, condition does not
        button("service_"),  # the prefix alone has no suffix
        text("exactly"),  # payloads match exactly, not by prefix
        text("EXACT"),  # ... and case-sensitively
        list_reply("pressed"),  # condition holds, type does not
        message("location"),
        text(""),
    ],
)
def test_a_message_matching_nothing_takes_the_fallback(msg: InboundMessage) -> None:
    exchange = send(msg)
    assert exchange.state.node == "ROUTER"
    assert exchange.fired == ("states.ROUTER.fallback",)
    assert exchange.texts == ["@ROUTER"]


def test_a_voice_note_matching_nothing_is_told_so_before_the_fallback() -> None:
    exchange = send(message("audio"))
    assert exchange.fired == ("states.ROUTER.fallback",)
    assert exchange.texts == [BUILT_IN_TEXTS["en"].media, "@ROUTER"]


def test_exactly_one_transition_fires_even_when_several_match() -> None:
    # "go_home" matches the global and ROUTER.transitions[3]; "twice" matches [1] and [2].
    for payload, target in [("go_home", "HOME"), ("twice", "FIRST")]:
        exchange = send(button(payload))
        assert len(exchange.fired) == 1
        assert exchange.entered == (target,)
        assert len(exchange.outputs) == 1


def test_suffix_extraction_overwrites_a_set_data_key_of_the_same_name() -> None:
    exchange = send(button("service_corte"))
    data = exchange.state.data
    assert data["selected_service"] == "corte"
    assert data["note"] == "set by the transition"
    assert exchange.texts == ["@SERVICE corte"]


def test_services_expansion_copies_every_property_keeping_its_yaml_type() -> None:
    data = send(button("service_corte")).state.data
    assert data["service_name"] == "Corte"
    assert data["service_price"] == 18
    assert data["service_duracion_min"] == 30
    assert isinstance(data["service_duracion_min"], int)
    assert data["service_vip"] is True
    assert data["service_extras"] == ["lavado", "secado"]
    tinte = send(button("service_tinte")).state.data
    assert tinte["service_price"] == 45.5
    assert "service_vip" not in tinte  # only the chosen service's properties


def test_a_suffix_that_is_not_a_service_is_stored_without_expansion() -> None:
    data = send(button("service_unknown")).state.data
    assert data["selected_service"] == "unknown"
    assert not any(key.startswith("service_") for key in data)


def test_a_prefix_without_extraction_stores_nothing() -> None:
    data = send(button("raw_42")).state.data
    assert "42" not in data.values()
    assert set(data) == {"today"}


def test_globals_apply_in_every_state() -> None:
    chat = Conversation(FLOW)
    chat.press("exact")
    assert chat.state.node == "PAYLOAD"
    assert chat.press("go_home").state.node == "HOME"
    assert chat.send("global b").state.node == "GLOBAL_B"


def test_a_state_with_neither_transition_nor_fallback_keeps_the_user_there() -> None:
    chat = Conversation(FLOW)
    chat.press("exact")
    exchange = chat.send("anything")
    assert exchange.state.node == "PAYLOAD"
    assert exchange.outputs == ()  # the flow sets no error_text
    assert exchange.fired == ()
