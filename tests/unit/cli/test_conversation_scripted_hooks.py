"""A conversation test against a business's own back end bound as one webhook
(`notification.bookings`): its answers scripted per event (`by_event`), and what the flow sent
it checked with `notified:` as a recorded webhook's notifications are, in order with them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from botfleet.testing.conversation import ConversationResult, run_conversation_test

#: Lists the slots, books the one typed; a 409 is "taken" (the staff hook is told), another
#: failure goes back to the list.
FLOW = """\
id: bookings_v1
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
        params: {event: book_slot, contact_id: "{{ contact.id }}", slot_id: "{{ data.slot_id }}"}
        result_key: booking
        on_error: {continue: true}
    next:
      - condition: "data.booking.failed is defined and (data.booking.status | default(0)) == 409"
        target: TAKEN
      - condition: "data.booking.failed is defined"
        target: PICK
      - target: BOOKED
  TAKEN:
    on_enter:
      - action: send_text
        text: "Slot {{ data.slot_id }} was just taken."
      - action: invoke_connector
        connector: notification
        operation: send
        params: {event: slot_taken, contact_id: "{{ contact.id }}", slot_id: "{{ data.slot_id }}"}
    transitions:
      - target: SLOTS
  BOOKED:
    on_enter:
      - action: send_text
        text: "Booked {{ data.slot_id }} (ref {{ data.booking.response.ref }})."
    transitions:
      - target: SLOTS
"""

TENANT = """\
tenant_id: shop
timezone: Europe/Madrid
flow_path: bookings.yaml
connectors:
  notification: {type: webhook, url: https://hooks.example.com/staff}
  notification.bookings: {type: webhook, url: https://bookings.example.com/hook}
"""

#: The back end's answers: slots listed, the booking refused as taken.
TAKEN = """\
tenant: tenant.yaml
connectors:
  notification.bookings:
    operations:
      send:
        by_event:
          list_slots: {result: {response: {slots: [s10, s11]}}}
          book_slot: {fail_always: true, error: rejected, status: 409}
"""


@pytest.fixture
def shop(write: Callable[[str, str], Path]) -> Callable[[str], Path]:
    """Writes the shop's flow and tenant; returns what writes a test beside them."""
    write("bookings.yaml", FLOW)
    write("tenant.yaml", TENANT)
    return lambda text: write("test.yaml", text)


def _run(path: Path) -> ConversationResult:
    return asyncio.run(run_conversation_test(path))


def test_each_event_is_answered_by_its_script_and_checked_with_notified(
    shop: Callable[[str], Path],
) -> None:
    test = shop(
        TAKEN
        + """\
steps:
  - say: hi
    expect: "Free: s10, s11. Which one?"
    notified: [{connector: notification.bookings, event: list_slots}]
  - say: s11
    expect: "Slot s11 was just taken."
    notified:
      - connector: notification.bookings
        event: book_slot
        contact_id: contact-1
        data: {slot_id: s11}
      - {connector: notification, event: slot_taken, data_include: {slot_id: s11}}
  - say: again
    expect: "Free: s10, s11. Which one?"
    notified: list_slots
"""
    )
    result = _run(test)
    assert result.passed, result.message


def test_the_events_own_answer_reaches_the_flow(shop: Callable[[str], Path]) -> None:
    test = shop(
        """\
tenant: tenant.yaml
connectors:
  notification.bookings:
    operations:
      send:
        by_event:
          list_slots: {result: {response: {slots: [s10]}}}
          book_slot: {result: {delivered: true, status: 200, response: {ref: B-7}}}
steps:
  - say: hi
  - say: s10
    expect: "Booked s10 (ref B-7)."
    notified: [{event: book_slot, data: {slot_id: s10}}]
"""
    )
    result = _run(test)
    assert result.passed, result.message


def test_a_failed_notified_check_lists_the_scripted_calls_in_order(
    shop: Callable[[str], Path],
) -> None:
    test = shop(
        TAKEN
        + """\
steps:
  - say: hi
  - say: s11
    notified: [{event: book_slot, data: {slot_id: s10}}]
"""
    )
    result = _run(test)
    assert result.status == "failed"
    for line in (
        "notified: expected 1 notification(s), the flow sent 2",
        "notification 1 data.slot_id: expected 's10' (str), got 's11' (str)",
        "the flow notified:\n"
        '    1) notification.bookings: book_slot {"contact_id": "contact-1", "slot_id": "s11"}\n'
        '    2) slot_taken {"contact_id": "contact-1", "slot_id": "s11"}',
    ):
        assert line in result.message, result.message


def test_a_send_scripted_without_by_event_is_seen_by_notified_too(
    shop: Callable[[str], Path],
) -> None:
    test = shop(
        """\
tenant: tenant.yaml
connectors:
  notification.bookings:
    fixtures:
      send: {delivered: true, response: {slots: [s10]}}
steps:
  - say: hi
    expect: "Free: s10. Which one?"
    notified: [{connector: notification.bookings, event: list_slots, data: {}}]
"""
    )
    result = _run(test)
    assert result.passed, result.message


def test_an_event_the_fixture_does_not_script_fails_the_step_naming_it(
    shop: Callable[[str], Path],
) -> None:
    # The flow's `on_error` takes the refusal as "not 409" and lists again: the step's checks
    # hold, but the test is wrong, not the flow.
    test = shop(
        """\
tenant: tenant.yaml
connectors:
  notification.bookings:
    operations:
      send:
        by_event:
          list_slots: {result: {response: {slots: [s10]}}}
steps:
  - say: hi
  - say: s10
    expect: "Free: s10. Which one?"
"""
    )
    result = _run(test)
    assert result.status == "failed"
    assert f"{test}:10: step 2 (say: 's10')" in result.message
    assert (
        "unscripted call: notification.bookings.send: no answer scripted for event 'book_slot' "
        "(by_event scripts: list_slots): add it under by_event, or give send a script of its "
        "own besides by_event for the other events"
    ) in result.message, result.message


def test_an_unknown_key_under_by_event_is_an_error_on_the_tests_line(
    shop: Callable[[str], Path],
) -> None:
    test = shop(TAKEN.replace("fail_always", "fail_alwyas") + "steps:\n  - say: hi\n")
    result = _run(test)
    assert result.status == "error"
    assert result.message == (
        f"{test}:8 connectors.notification.bookings.operations.send.by_event.book_slot."
        "fail_alwyas: unknown key 'fail_alwyas' (did you mean 'fail_always'?) (known: result, "
        "results, fail_times, fail_always, error, error_message, status, delay_ms)"
    )


def test_a_flow_tests_scripted_notification_is_seen_by_notified(
    write: Callable[[str, str], Path],
) -> None:
    write("bookings.yaml", FLOW)
    test = write(
        "test.yaml",
        TAKEN.replace("tenant: tenant.yaml", "flow: bookings.yaml")
        + """\
steps:
  - say: hi
  - say: s10
    notified:
      - {connector: notification.bookings, event: book_slot}
      - {connector: notification, event: slot_taken}
""",
    )
    result = _run(test)
    assert result.passed, result.message
