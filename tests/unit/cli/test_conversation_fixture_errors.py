"""A problem in a conversation test's connector fixture is reported in the test file, on its
line, with its full key and the keys known there; a problem of the tenant's own binding in the
tenant file. Never pydantic's text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from botfleet.testing.conversation import run_conversation_test

Write = Callable[[str, str], Path]

FLOW = """\
id: book_v1
initial_state: START
states:
  START:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: book_appointment
        result_key: booked
        on_error: {text: "down", target: START}
      - action: invoke_connector
        connector: mock
        operation: find
        result_key: found
        on_error: {text: "lookup down", target: START}
      - action: send_text
        text: "booked"
    fallback: START
"""
TENANT = """\
tenant_id: shop
flow_path: book.yaml
connectors:
  calendar: {type: mock_calendar, schedule: {mon: ["10:00-14:00"]}}
  mock: LOOKUP
"""
KNOWN = "result, results, fail_times, fail_always, error, error_message, status, delay_ms, by_event"


def write_tenant(write: Write, lookup: str = "{type: mock, fixtures: {find: 1}}") -> Path:
    write("book.yaml", FLOW)
    return write("tenant.yaml", TENANT.replace("LOOKUP", lookup))


async def test_an_unknown_key_of_an_operation_names_the_test_line_and_the_known_keys(
    write: Write,
) -> None:
    write_tenant(write)
    test = write(
        "case.yaml",
        """\
        tenant: tenant.yaml
        connectors:
          calendar:
            operations:
              book_appointment:
                results: [{ok: true}]
                then: {result: 1}
        steps:
          - say: hi
        """,
    )
    result = await run_conversation_test(test)
    assert result.status == "error"
    assert result.message == (
        f"{test}:7 connectors.calendar.operations.book_appointment.then: unknown key 'then' "
        f"(known: {KNOWN})"
    )


async def test_a_misspelt_key_is_suggested_in_a_named_fixture(write: Write) -> None:
    write_tenant(write)
    test = write(
        "case.yaml",
        """\
        tenant: tenant.yaml
        connectors:
          mock:
            fixture: {find: 1}
            operations: {find: {fail_time: 2}}
        steps:
          - say: hi
        """,
    )
    result = await run_conversation_test(test)
    assert result.status == "error"
    assert result.message.splitlines() == [
        f"{test}:4 connectors.mock.fixture: unknown key 'fixture' (did you mean 'fixtures'?) "
        "(known: category, operations, fixtures)",
        f"{test}:5 connectors.mock.operations.find.fail_time: unknown key 'fail_time' (did you "
        f"mean 'fail_times'?) (known: {KNOWN})",
    ]


async def test_a_calendar_setting_of_the_fixture_is_the_tests(write: Write) -> None:
    write_tenant(write)
    test = write(
        "case.yaml",
        "tenant: tenant.yaml\nconnectors:\n  calendar:\n    busyy: []\nsteps:\n  - say: hi\n",
    )
    result = await run_conversation_test(test)
    assert result.status == "error"
    assert result.message.startswith(
        f"{test}:4 connectors.calendar.busyy: unknown setting for type 'mock_calendar' (did you "
        "mean 'busy'?)"
    )


async def test_the_tenants_own_mock_binding_is_reported_in_the_tenant_file(
    write: Write,
) -> None:
    tenant = write_tenant(write, lookup="{type: mock, operations: {find: {then: 1}}}")
    test = write("case.yaml", "tenant: tenant.yaml\nsteps:\n  - say: hi\n")
    result = await run_conversation_test(test)
    assert result.status == "error"
    assert result.message == (
        f"{tenant}:5 connectors.mock.operations.find.then: unknown key 'then' (known: {KNOWN})"
    )
    assert "pydantic" not in result.message


async def test_a_broken_flow_is_the_error_of_the_test_named_by_its_name(write: Write) -> None:
    """Its header read `ERROR booking` (the file) where every other line names the test."""
    write("book.yaml", "id: book_v1\ninitial_state: STRAT\nstates:\n  START: {fallback: START}\n")
    write("tenant.yaml", "tenant_id: shop\nflow_path: book.yaml\n")
    test = write(
        "booking.yaml", "name: books a haircut\ntenant: tenant.yaml\nsteps:\n  - say: hi\n"
    )
    result = await run_conversation_test(test)
    assert (result.status, result.name) == ("error", "books a haircut")
    assert "STRAT" in result.message
