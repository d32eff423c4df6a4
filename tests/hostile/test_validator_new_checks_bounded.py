"""The validator's constant-condition and data-key typo checks on hostile flows: nothing is
computed to fold a condition (`10**10000000 == 1` is no constant to them), a chain of thousands
of `or` is no crash, and thousands of keys read and set cost a bounded number of comparisons."""

from __future__ import annotations

import pytest

from botfleet.flows import _template_checks
from botfleet.flows._constant_conditions import constant_truth
from botfleet.flows.load import load_flow_text


@pytest.mark.parametrize(
    "condition",
    [
        "10**10000000 == 1",  # computed, it took seconds; bigger, minutes
        "'a' | center(500000000) == 'b'",  # half a gigabyte
        "(2 * 3) == 6",
        "range(10) | length == 10",
    ],
)
def test_nothing_is_computed_to_fold_a_condition(condition: str) -> None:
    assert constant_truth(condition) is None


def test_thousands_of_ors_are_no_crash() -> None:
    assert constant_truth(" or ".join(["data.x"] * 3000)) is None
    assert constant_truth(" or ".join(["data.x"] * 3000) + " or true") is None


def test_a_flow_of_thousands_of_keys_costs_a_bounded_number_of_comparisons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0
    real = _template_checks.osa_distance

    def counted(first: str, second: str, bound: int) -> int:
        nonlocal calls
        calls += 1
        return real(first, second, bound)

    monkeypatch.setattr(_template_checks, "osa_distance", counted)
    keys = 2000
    written = ", ".join(f"k{n:05d}a: 1" for n in range(keys))
    reads = " ".join(f"{{{{ data.k{n:05d}b }}}}" for n in range(keys))
    flow = (
        "id: many\ninitial_state: A\nstates:\n  A:\n    on_enter:\n"
        f"      - {{action: set_data, values: {{{written}}}}}\n"
        f'      - {{action: send_text, text: "{reads}"}}\n'
        "    fallback: A\n"
    )
    load_flow_text(flow, "many.yaml")
    assert calls <= keys * _template_checks.MAX_TYPO_CANDIDATES
