"""The bakery example is valid without warnings, and its conversation tests pass in full.

`examples/bakery/` is the third worked example of docs/authoring.md: cake orders with a
quantity, a pickup date typed as the contact writes dates (read with `parse_date`) and a
pickup time from the calendar, a reminder the day before, the order sent to the staff,
"my orders" with cancel, LLM answers and a hand-over to the staff. These tests keep it working
as the platform changes, run as a newcomer would run it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_helpers import REPO, Invoke

BAKERY = REPO / "examples" / "bakery"
TEST_FILES = sorted((BAKERY / "tests").glob("*.yaml"))


def test_the_bakery_flow_and_tenant_are_valid_without_warnings(invoke: Invoke) -> None:
    result = invoke("validate", BAKERY)
    assert result.exit_code == 0, result.output
    assert f"{BAKERY / 'bakery.yaml'}: ok (flow)" in result.stdout
    assert f"{BAKERY / 'tenant.yaml'}: ok (tenant)" in result.stdout
    assert "0 error(s), 0 warning(s) in 2 file(s)" in result.stdout


def test_the_bakery_conversation_tests_pass_and_cover_the_whole_flow(invoke: Invoke) -> None:
    result = invoke("test", BAKERY / "tests", "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert f"{len(TEST_FILES)} passed, 0 failed, 0 error(s)" in result.stdout
    assert "states        24/24  100.0%" in result.stdout
    assert "transitions   49/49  100.0%" in result.stdout


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.stem)
def test_each_bakery_conversation_passes_on_its_own(invoke: Invoke, test_file: Path) -> None:
    result = invoke("test", test_file)
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed, 0 error(s)" in result.stdout


def test_the_scenarios_the_example_promises_are_there() -> None:
    # An order with its reminder, stopping and cancelling, a taken or refused time, a calendar
    # down, the LLM, and the hand-over with the staff's hook up and down.
    names = {path.stem for path in TEST_FILES}
    assert {
        "order",
        "cancel",
        "slot_taken",
        "order_refused",
        "calendar_down",
        "questions",
        "staff",
        "staff_unreachable",
    } <= names


def test_the_pickup_date_is_typed_in_every_form_parse_date_reads() -> None:
    # The example is the one docs/authoring.md points to for `parse_date`: its tests must keep
    # typing the date as contacts do (day/month, dotted with a year, ISO), an impossible day and
    # one too soon to bake, or it no longer shows what it is listed for.
    typed = {
        str(step["say"])
        for path in TEST_FILES
        for step in yaml.safe_load(path.read_text(encoding="utf-8"))["steps"]
        if "say" in step
    }
    assert {"12/5", "10.05.2024", "2024-05-08", "31/06", "7/5"} <= typed
    assert "parse_date" in (BAKERY / "bakery.yaml").read_text(encoding="utf-8")
