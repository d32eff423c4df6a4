"""`digits`: the decimal digits of a text as ASCII `0`-`9` (any script's, Unicode Nd), every
other character left out; through the sandbox's budget and size limit like every filter."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.flows._sandbox_limits import MAX_OUTPUT, MAX_STEPS, TEXT_PER_STEP
from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import Renderer, condition_syntax_error, template_syntax_error
from botfleet.testing.engine import Conversation, answer_with, flow_from_yaml, output_texts


def rendered(value: Any, source: str = "{{ data.v | digits }}") -> tuple[str, list[Diagnostic]]:
    sink: list[Diagnostic] = []
    text = Renderer({"data": {"v": value}}, sink=sink).text(source, "states.S.text")
    return text, sink


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("n° 10 423", "10423"),
        ("10\u00a0423", "10423"),  # a no-break space between thousands
        ("10\u202f423", "10423"),  # a narrow no-break space (French typing)
        ("10423.", "10423"),
        ("commande 10423", "10423"),
        ("# 10-423 !", "10423"),
        ("\uff11\uff10\uff14\uff12\uff13", "10423"),  # full-width
        ("\u0661\u0660\u0664\u0662\u0663", "10423"),  # Arabic-Indic
        ("\u06f1\u06f0\u06f4\u06f2\u06f3", "10423"),  # Extended Arabic-Indic (Persian)
        ("\u0967\u0966\u096a\u0968\u0969", "10423"),  # Devanagari
        ("1042\u00b2", "1042"),  # a superscript is no decimal digit
        ("\u00bd 3\u2463", "3"),  # nor a fraction or a circled number
        ("01423", "01423"),  # leading zeros are kept
        ("no number", ""),
        ("", ""),
    ],
)
def test_the_digits_of_a_text_as_ascii(typed: str, expected: str) -> None:
    assert rendered(typed) == (expected, [])


@pytest.mark.parametrize(("value", "expected"), [(10423, "10423"), (-7, "7"), (0, "0")])
def test_a_whole_number_gives_its_digits(value: int, expected: str) -> None:
    assert rendered(value) == (expected, [])


@pytest.mark.parametrize("value", [None, True, 10.5, ["1", "2"], {"a": "1"}])
def test_other_values_give_nothing(value: Any) -> None:
    assert rendered(value) == ("", [])


def test_a_missing_value_gives_nothing_and_is_warned_about() -> None:
    sink: list[Diagnostic] = []
    text = Renderer({"data": {}}, sink=sink).text("{{ data.order | digits }}", "states.S.text")
    assert text == ""
    assert [(d.event, d.detail) for d in sink] == [
        ("template_missing_value", "missing value 'order'")
    ]


def test_a_lone_expression_keeps_the_number_as_text() -> None:
    """`set_data: {order: "{{ message.text | digits }}"}` stores "01423", not 1423."""
    sink: list[Diagnostic] = []
    renderer = Renderer({"message": {"text": "n° 01 423"}}, sink=sink)
    assert renderer.value("{{ message.text | digits }}", "set_data.order") == "01423"
    assert sink == []


def test_a_condition_counts_the_digits() -> None:
    condition = "(message.text | digits | length) == 5"
    sink: list[Diagnostic] = []
    for typed, taken in (
        ("10 423", True),
        ("10\u202f423", True),
        ("commande 10423", True),
        ("\uff11\uff10\uff14\uff12\uff13", True),
        ("1042\u00b2", False),
        ("1048", False),
        ("hello", False),
    ):
        renderer = Renderer({"message": {"text": typed}}, sink=sink)
        assert renderer.condition(condition, "states.S.transitions[0].condition") is taken, typed
    assert sink == []


def test_a_long_text_within_the_limits_is_read_whole() -> None:
    text = "x" * 100_000 + " 10423 " + "y" * 100_000
    assert rendered(text) == ("10423", [])


def test_more_digits_than_the_size_limit_fail_the_template() -> None:
    text, sink = rendered("\uff11" * (MAX_OUTPUT + 1))
    assert text == ""
    assert [d.event for d in sink] == ["template_failed"]
    assert "the digits filter's result would be over the size limit" in sink[0].detail


def test_its_input_is_charged_to_the_budget_before_it_runs() -> None:
    """A text too long for the render's budget fails before any of it is read."""
    text, sink = rendered("1" * (TEXT_PER_STEP * (MAX_STEPS + 1)))
    assert text == ""
    assert [d.event for d in sink] == ["template_failed"]
    assert "too much work" in sink[0].detail


def test_the_validator_knows_it() -> None:
    assert template_syntax_error("{{ message.text | digits }}") is None
    assert condition_syntax_error("(message.text | digits | length) >= 5") is None
    assert template_syntax_error("{{ message.text | digit }}") == (
        "template syntax error: unknown filter 'digit' (did you mean 'digits'?)"
    )


FLOW = flow_from_yaml(
    """
    id: order_status
    initial_state: ASK
    states:
      ASK:
        on_enter: [{action: send_text, text: "Your order number?"}]
        transitions:
          - on_type: text
            condition: "(message.text | digits | length) == 5"
            set_data: {order: "{{ message.text | digits }}"}
            target: LOOK_UP
        fallback: ASK
      LOOK_UP:
        on_enter:
          - action: invoke_connector
            connector: notification.orders
            operation: send
            params: {event: order_status_requested, order_number: "{{ data.order }}"}
            result_key: found
        next: FOUND
      FOUND:
        on_enter: [{action: send_text, text: "Order {{ data.order }}: {{ data.found.status }}"}]
        next: ASK
    """
)


@pytest.mark.parametrize(
    "typed",
    ["n° 10 423", "10\u202f423", "10423.", "commande 10423", "\uff11\uff10\uff14\uff12\uff13"],
)
def test_a_flow_takes_the_number_however_it_is_typed_and_sends_it_clean(typed: str) -> None:
    chat = Conversation(FLOW, answer=answer_with({"send": {"status": "shipped"}}))
    chat.send("hi")
    exchange = chat.send(typed)
    assert [call.params["order_number"] for call in exchange.calls] == ["10423"]
    assert exchange.texts == ["Order 10423: shipped", "Your order number?"]
    assert chat.state.data["order"] == "10423"
    assert exchange.diagnostics == ()


@pytest.mark.parametrize("typed", ["1042\u00b2", "my order from last week", "104231"])
def test_a_flow_asks_again_for_what_is_no_number_of_five_digits(typed: str) -> None:
    chat = Conversation(FLOW, answer=answer_with({"send": {"status": "shipped"}}))
    chat.send("hi")
    exchange = chat.send(typed)
    assert exchange.calls == ()
    assert output_texts(exchange.outputs) == ["Your order number?"]
    assert "order" not in chat.state.data
