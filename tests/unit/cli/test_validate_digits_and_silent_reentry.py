"""`botfleet validate`: the `digits` filter is a known one, and a `$current` that enters again
a state sending nothing is a warning by file:line and path (the flow still passes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_helpers import Invoke

Write = Callable[[str, str], Path]


def test_a_flow_reading_a_typed_number_with_digits_is_valid(invoke: Invoke, write: Write) -> None:
    flow = write(
        "orders.yaml",
        """\
        id: orders_v1
        initial_state: ASK
        states:
          ASK:
            on_enter: [{action: send_text, text: "Your order number?"}]
            transitions:
              - on_type: text
                condition: "(message.text | digits | length) >= 5"
                set_data: {order: "{{ message.text | digits }}"}
                target: DONE
            fallback: ASK
          DONE:
            on_enter: [{action: send_text, text: "Order {{ data.order | digits }}"}]
            next: ASK
        """,
    )
    result = invoke("validate", flow)
    assert result.exit_code == 0, result.output
    assert f"{flow}: ok (flow)" in result.stdout
    assert "0 error(s), 0 warning(s) in 1 file(s)" in result.stdout


def test_current_into_a_silent_state_is_a_warning(invoke: Invoke, write: Write) -> None:
    flow = write(
        "shop.yaml",
        """\
        id: shop_v1
        initial_state: START
        global_transitions:
          - condition: "message.text == 'français'"
            set_data: {lang: fr}
            target: $current
        states:
          START:
            transitions:
              - target: MENU
          MENU:
            on_enter: [{action: send_text, text: "Menu"}]
            fallback: MENU
        """,
    )
    result = invoke("validate", flow)
    assert result.exit_code == 0, result.output
    assert (
        f"{flow}:6 global_transitions[0].target: [warning] $current enters again the state "
        "the contact is in, and entering state 'START' sends nothing"
    ) in result.stdout
    assert "0 error(s), 1 warning(s) in 1 file(s)" in result.stdout
