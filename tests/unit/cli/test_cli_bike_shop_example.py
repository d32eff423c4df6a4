"""The bike shop example is valid without warnings, and its conversation tests pass in full.

`examples/bike_shop/` is the second worked example of docs/authoring.md: a menu with static
texts, an order look-up through a webhook's JSON answer, workshop bookings with a reminder, LLM
answers and a hand-over, in English and Spanish. These tests keep it working as the platform
changes, run as a newcomer would run it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import REPO, Invoke

SHOP = REPO / "examples" / "bike_shop"
TEST_FILES = sorted((SHOP / "tests").glob("*.yaml"))


def test_the_shop_flow_and_tenant_are_valid_without_warnings(invoke: Invoke) -> None:
    result = invoke("validate", SHOP)
    assert result.exit_code == 0, result.output
    assert f"{SHOP / 'bike_shop.yaml'}: ok (flow)" in result.stdout
    assert f"{SHOP / 'tenant.yaml'}: ok (tenant)" in result.stdout
    assert "0 error(s), 0 warning(s) in 2 file(s)" in result.stdout


def test_the_shop_conversation_tests_pass_and_cover_the_whole_flow(invoke: Invoke) -> None:
    result = invoke("test", SHOP / "tests", "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert f"{len(TEST_FILES)} passed, 0 failed, 0 error(s)" in result.stdout
    assert "states        25/25  100.0%" in result.stdout
    assert "transitions   57/57  100.0%" in result.stdout


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.stem)
def test_each_shop_conversation_passes_on_its_own(invoke: Invoke, test_file: Path) -> None:
    result = invoke("test", test_file)
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed, 0 error(s)" in result.stdout


def test_the_scenarios_the_example_promises_are_there() -> None:
    # A menu branch each, a bad order number, failing hooks, bookings in both languages, the LLM.
    names = {path.stem for path in TEST_FILES}
    assert {
        "menu_info",
        "order_found",
        "order_not_found",
        "order_failing",
        "booking_en",
        "booking_es",
        "questions",
        "handover",
        "handover_failing",
    } <= names
