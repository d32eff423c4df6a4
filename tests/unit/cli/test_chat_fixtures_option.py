"""`botfleet chat --fixtures FILE`: chat against scripted connector answers, given as a
conversation test's `connectors:` mapping and checked as a test's fixtures are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

#: Reads the back end's answer: without one (a recorded webhook's `response: null`) it can
#: only say there are no slots.
FLOW = """\
id: slots_v1
initial_state: WELCOME
states:
  WELCOME:
    transitions:
      - target: SLOTS
  SLOTS:
    on_enter:
      - action: invoke_connector
        connector: notification.bookings
        operation: send
        params: {event: list_slots, contact_id: "{{ contact.id }}"}
        result_key: slots
        on_error: {text: "We cannot list the slots now.", target: WELCOME}
    next:
      - condition: "data.slots.response.slots is defined"
        target: PICK
      - target: NO_SLOTS
  NO_SLOTS:
    on_enter:
      - action: send_text
        text: "No free slots."
    transitions:
      - target: SLOTS
  PICK:
    on_enter:
      - action: send_text
        text: "Free: {{ data.slots.response.slots | join(', ') }}. Which one?"
    transitions:
      - on_type: text
        set_data: {slot_id: "{{ message.text }}"}
        target: BOOK
    fallback: PICK
  BOOK:
    on_enter:
      - action: invoke_connector
        connector: notification.bookings
        operation: send
        params: {event: book_slot, slot_id: "{{ data.slot_id }}"}
        result_key: booking
        on_error: {text: "Sorry, {{ data.slot_id }} is gone.", target: WELCOME}
      - action: send_text
        text: "Booked {{ data.slot_id }} (ref {{ data.booking.response.ref }})."
    transitions:
      - target: SLOTS
"""

TENANT = """\
tenant_id: shop
timezone: Europe/Madrid
flow_path: slots.yaml
connectors:
  notification.bookings: {type: webhook, url: https://bookings.example.com/hook}
"""

FIXTURES = """\
connectors:
  notification.bookings:
    operations:
      send:
        by_event:
          list_slots: {result: {response: {slots: [s10, s11]}}}
          book_slot: {result: {delivered: true, status: 200, response: {ref: B-7}}}
"""


@pytest.fixture
def tenant(write: Callable[[str, str], Path]) -> Path:
    write("slots.yaml", FLOW)
    return write("tenant.yaml", TENANT)


def _chat(invoke: Invoke, tenant: Path, *options: str | Path, input: str = "hi\ns10\n") -> str:
    chat = invoke("chat", tenant, "--at", "2024-05-06T09:00", *options, input=input)
    assert chat.exit_code == 0, chat.output
    return str(chat.stdout)


def test_the_flow_reads_the_scripted_answers_and_each_send_is_shown(
    tenant: Path, write: Callable[[str, str], Path], invoke: Invoke
) -> None:
    fixtures = write("fixtures.yaml", FIXTURES)
    assert (
        "you> hi\n"
        '(notification.bookings: list_slots {"contact_id": "terminal"})\n'
        "bot> Free: s10, s11. Which one?\n"
        "you> s10\n"
        '(notification.bookings: book_slot {"slot_id": "s10"})\n'
        "bot> Booked s10 (ref B-7).\n"
    ) in _chat(invoke, tenant, "--fixtures", fixtures)
    # Without them the webhook is recorded, answering `response: null`.
    assert "bot> No free slots.\n" in _chat(invoke, tenant, input="hi\n")


def test_a_conversation_tests_fixtures_are_taken_from_the_test(
    tenant: Path, write: Callable[[str, str], Path], invoke: Invoke
) -> None:
    test = write("test_slots.yaml", "tenant: tenant.yaml\n" + FIXTURES + "steps:\n  - say: hi\n")
    assert "bot> Booked s10 (ref B-7).\n" in _chat(invoke, tenant, "--fixtures", test)


def test_a_connector_the_fixtures_script_is_not_noted_as_unmocked(
    write: Callable[[str, str], Path], invoke: Invoke
) -> None:
    flow = write(
        "lookup.yaml",
        """\
        id: lookup_v1
        initial_state: LOOK
        states:
          LOOK:
            on_enter:
              - action: invoke_connector
                connector: mock
                operation: lookup
                result_key: found
                on_error: {text: "Down.", target: LOOK}
              - action: send_text
                text: "Found {{ data.found.name }}."
            transitions:
              - target: LOOK
        """,
    )
    note = "note: connector 'mock' has no mock here: its calls fail"
    assert note in _chat(invoke, flow, input="hi\n")
    fixtures = write("fixtures.yaml", "connectors:\n  mock: {fixtures: {lookup: {name: Ana}}}\n")
    out = _chat(invoke, flow, "--fixtures", fixtures, input="hi\n")
    assert note not in out
    assert "bot> Found Ana.\n" in out


def test_an_event_not_scripted_is_said_in_the_transcript(
    tenant: Path, write: Callable[[str, str], Path], invoke: Invoke
) -> None:
    fixtures = write("fixtures.yaml", FIXTURES.split("          book_slot")[0])
    out = _chat(invoke, tenant, "--fixtures", fixtures)
    assert "no answer scripted for event 'book_slot' (by_event scripts: list_slots)" in out
    assert "bot> Sorry, s10 is gone.\n" in out


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            FIXTURES.replace("book_slot: {result", "book_slot: {reslt"),
            "{file}:7 connectors.notification.bookings.operations.send.by_event.book_slot.reslt: "
            "unknown key 'reslt' (did you mean 'result'?) (known: result, results, fail_times, "
            "fail_always, error, error_message, status, delay_ms)",
        ),
        (
            FIXTURES.replace("by_event:\n", "by_event: {}\n").split("          list_slots")[0],
            "{file}:5 connectors.notification.bookings.operations.send.by_event: must not be empty",
        ),
        ("connectors:\n  calendar: {busyy: []}\n", "{file}:2 connectors.calendar.busyy: unknown"),
        ("conectors: {}\n", "{file}:1 conectors: unknown key 'conectors'"),
        ("- a\n", "{file}: expected a mapping with a `connectors:` key"),
    ],
)
def test_a_broken_fixtures_file_is_said_before_the_chat_starts(
    tenant: Path, write: Callable[[str, str], Path], invoke: Invoke, text: str, problem: str
) -> None:
    fixtures = write("fixtures.yaml", text)
    chat = invoke("chat", tenant, "--fixtures", fixtures, input="hi\n")
    assert chat.exit_code == 1
    assert problem.format(file=fixtures) in chat.stderr
    assert "Chatting with" not in chat.stdout


def test_a_missing_fixtures_file_is_said(tenant: Path, invoke: Invoke) -> None:
    chat = invoke("chat", tenant, "--fixtures", tenant.parent / "nope.yaml", input="hi\n")
    assert chat.exit_code == 1
    assert "nope.yaml: cannot read: No such file or directory" in chat.stderr
