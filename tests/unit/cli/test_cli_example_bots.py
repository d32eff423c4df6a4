"""The bike shop and the bakery examples are valid without warnings, and their conversation
tests pass in full, each alone too.

`examples/bike_shop/` is the second worked example of docs/authoring.md (a menu with static
texts, an order look-up through a webhook's JSON answer, workshop bookings with a reminder, LLM
answers and a hand-over, in English and Spanish); `examples/bakery/` the third (cake orders with
a pickup date typed as contacts write dates, read with `parse_date`, a pickup time from the
calendar, a reminder the day before, the order sent to the staff, "my orders" with cancel, LLM
answers and a hand-over). These tests keep them working as the platform changes, run as a
newcomer would run them. The dental clinic, the first, is `test_cli_examples.py`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cli_helpers import REPO, Invoke


@dataclass(frozen=True)
class Example:
    folder: Path
    flow: str
    states: str  # the coverage report's line, e.g. "25/25"
    transitions: str
    #: The scenarios the example is listed for: its tests must keep them.
    scenarios: frozenset[str]

    @property
    def tests(self) -> list[Path]:
        return sorted((self.folder / "tests").glob("*.yaml"))


BIKE_SHOP = Example(
    REPO / "examples" / "bike_shop",
    "bike_shop.yaml",
    "25/25",
    "57/57",
    # A menu branch each, a bad order number, failing hooks, bookings in both languages, the LLM.
    frozenset(
        {"menu_info", "order_found", "order_not_found", "order_failing", "booking_en"}
        | {"booking_es", "questions", "handover", "handover_failing"}
    ),
)
BAKERY = Example(
    REPO / "examples" / "bakery",
    "bakery.yaml",
    "25/25",
    "53/53",
    # An order with its reminder, stopping and cancelling, a taken or refused time, a calendar
    # down, the LLM, and the hand-over with the staff's hook up and down.
    frozenset(
        {"order", "cancel", "slot_taken", "order_refused", "calendar_down", "questions"}
        | {"staff", "staff_unreachable"}
    ),
)
EXAMPLES = [BIKE_SHOP, BAKERY]
BY_NAME = pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.folder.name)


@BY_NAME
def test_the_flow_and_tenant_are_valid_without_warnings(invoke: Invoke, example: Example) -> None:
    result = invoke("validate", example.folder)
    assert result.exit_code == 0, result.output
    assert f"{example.folder / example.flow}: ok (flow)" in result.stdout
    assert f"{example.folder / 'tenant.yaml'}: ok (tenant)" in result.stdout
    assert "0 error(s), 0 warning(s) in 2 file(s)" in result.stdout


@BY_NAME
def test_the_conversation_tests_pass_and_cover_the_whole_flow(
    invoke: Invoke, example: Example
) -> None:
    result = invoke("test", example.folder / "tests", "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert f"{len(example.tests)} passed, 0 failed, 0 error(s)" in result.stdout
    assert f"states        {example.states}  100.0%" in result.stdout
    assert f"transitions   {example.transitions}  100.0%" in result.stdout


@pytest.mark.parametrize(
    "test_file",
    [path for example in EXAMPLES for path in example.tests],
    ids=lambda path: f"{path.parent.parent.name}/{path.stem}",
)
def test_each_conversation_passes_on_its_own(invoke: Invoke, test_file: Path) -> None:
    result = invoke("test", test_file)
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed, 0 error(s)" in result.stdout


@BY_NAME
def test_the_scenarios_the_example_promises_are_there(example: Example) -> None:
    assert example.scenarios <= {path.stem for path in example.tests}


def test_the_bakery_types_the_pickup_date_in_every_form_parse_date_reads() -> None:
    # The example is the one docs/authoring.md points to for `parse_date`: its tests must keep
    # typing the date as contacts do (day/month, dotted with a year, ISO), an impossible day and
    # one too soon to bake, or it no longer shows what it is listed for.
    typed = {
        str(step["say"])
        for path in BAKERY.tests
        for step in yaml.safe_load(path.read_text(encoding="utf-8"))["steps"]
        if "say" in step
    }
    assert {"12/5", "10.05.2024", "2024-05-08", "31/06", "7/5"} <= typed
    assert "parse_date" in (BAKERY.folder / BAKERY.flow).read_text(encoding="utf-8")
