"""A flow alone knows the categories it may call and their operations: an operation a category
lacks is an error on the flow's line, with the one meant, before any tenant file is read. The
list is the one the boot checks a tenant's bindings with (one source, kept with the flows)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from botfleet.adapters.connectors import catalog
from botfleet.cli.validation import validate_file
from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.connector_categories import (
    CATEGORY_OPERATIONS,
    FLOW_CATEGORIES,
    NOT_CONNECTORS,
)
from botfleet.flows.load import load_flow, load_flow_text
from botfleet.flows.validate import DEFAULT_CONNECTOR_CATEGORIES

DOCS = Path(__file__).parents[3] / "docs"


def calling(connector: str, operation: str) -> str:
    return dedent(
        f"""\
        id: x
        initial_state: A
        states:
          A:
            on_enter:
              - action: invoke_connector
                connector: {connector}
                operation: {operation}
            fallback: A
        """
    )


def errors(text: str) -> list[FlowIssue]:
    try:
        load_flow_text(text, "flows/x.yaml")
    except FlowValidationError as exc:
        return [i for i in exc.issues if i.severity == "error"]
    return []


def test_a_named_bindings_unknown_operation_is_an_error_of_the_flow_alone() -> None:
    (issue,) = errors(calling("notification.orders", "sned"))
    assert str(issue) == (
        "flows/x.yaml:8 states.A.on_enter[0].operation: unknown operation 'sned' for connector "
        "'notification.orders' (did you mean 'send'?) (known: send)"
    )


def test_a_calendar_operation_misspelt_suggests_the_one_meant() -> None:
    (issue,) = errors(calling("calendar", "book_apointment"))
    assert issue.path == "states.A.on_enter[0].operation"
    assert issue.message.startswith(
        "unknown operation 'book_apointment' for connector 'calendar' (did you mean "
        "'book_appointment'?) (known: book_appointment, cancel_appointment, "
    )


@pytest.mark.parametrize(
    ("connector", "operation"),
    [(c, op) for c, ops in CATEGORY_OPERATIONS.items() for op in sorted(ops)]
    + [("calendar.chair_2", "get_slots_for_day"), ("notification.crm", "send")],
)
def test_every_operation_of_a_category_is_accepted(connector: str, operation: str) -> None:
    assert errors(calling(connector, operation)) == []


def test_the_scripted_mock_calls_whatever_it_scripts() -> None:
    assert errors(calling("mock", "lookup_order")) == []
    assert errors(calling("mock.crm", "anything")) == []


def test_validate_on_a_flow_file_reports_it(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(calling("notification.orders", "sned"), encoding="utf-8")
    with pytest.raises(FlowValidationError):
        load_flow(flow)
    (finding,) = validate_file(flow).findings
    assert (finding.line, finding.path) == (8, "states.A.on_enter[0].operation")
    assert "(did you mean 'send'?)" in finding.message


def test_the_boot_checks_bindings_with_the_same_lists() -> None:
    assert catalog.CATEGORY_OPERATIONS is CATEGORY_OPERATIONS
    assert catalog.NOT_CONNECTORS is NOT_CONNECTORS


# ---------------------------------------------------------------- the categories listed


def test_the_known_categories_are_those_a_flow_can_call() -> None:
    assert DEFAULT_CONNECTOR_CATEGORIES == FLOW_CATEGORIES == {"calendar", "notification", "mock"}
    (issue,) = errors(calling("calendr", "get_available_days"))
    assert issue.message == (
        "unknown connector 'calendr' (did you mean 'calendar'?) (known: calendar, mock, "
        "notification)"
    )


def test_http_is_no_category() -> None:
    (issue,) = errors(calling("http", "get"))
    assert issue.message.startswith("unknown connector 'http' (known: calendar, mock, notification")


@pytest.mark.parametrize("connector", ["llm", "llm.backup"])
def test_llm_is_said_not_to_be_a_connector(connector: str) -> None:
    (issue,) = errors(calling(connector, "ask"))
    assert issue.path == "states.A.on_enter[0].connector"
    assert issue.message == (
        "'llm' is not a connector a flow calls: the LLM answers free text that no transition "
        "matches, in a state with `llm_fallback: true`"
    )


def test_the_categories_with_operations_are_documented() -> None:
    connectors = (DOCS / "connectors.md").read_text(encoding="utf-8")
    for category in CATEGORY_OPERATIONS:
        assert f"## {category.capitalize()} category" in connectors
    assert "`llm` is not a connector" in connectors
