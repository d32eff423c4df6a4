"""`by_event`: a scripted operation answering each `event` param with a script of its own, so
one `notification.send` binding stands for a whole back end (`list_slots`, `book_slot`...)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from botfleet.adapters.connectors.scripted import ScriptedConnector, ScriptedSettings, build
from botfleet.domain.errors import ConnectorRejected, ConnectorUnavailable
from botfleet.testing.scripted_problems import scripted_problems

BACK_END: dict[str, Any] = {
    "operations": {
        "send": {
            "by_event": {
                "list_slots": {"results": [{"response": {"slots": ["s10"]}}, {"response": {}}]},
                "book_slot": {"fail_always": True, "error": "rejected", "status": 409},
                "cancel": {"fail_times": 1, "result": {"response": {"cancelled": True}}},
            }
        }
    }
}


def _bookings(settings: dict[str, Any] | None = None) -> ScriptedConnector:
    return build(settings or BACK_END, category="notification.bookings")


async def _send(connector: ScriptedConnector, **params: Any) -> Any:
    return await connector.call("send", params, idempotency_key="k")


async def test_each_event_gets_its_own_answer_and_its_own_count() -> None:
    connector = _bookings()
    assert await _send(connector, event="list_slots") == {"response": {"slots": ["s10"]}}
    with pytest.raises(ConnectorRejected, match="scripted rejected") as refused:
        await _send(connector, event="book_slot", slot_id="s10")
    assert refused.value.status == 409
    # `cancel`'s first call fails although other events were called before it: counts are
    # per event, so `list_slots` goes on with its second answer, not its first.
    with pytest.raises(ConnectorUnavailable):
        await _send(connector, event="cancel")
    assert await _send(connector, event="cancel") == {"response": {"cancelled": True}}
    assert await _send(connector, event="list_slots") == {"response": {}}
    assert [c.params.get("event") for c in connector.calls] == [
        "list_slots",
        "book_slot",
        "cancel",
        "cancel",
        "list_slots",
    ]
    assert connector.unscripted == []


async def test_an_event_not_listed_is_refused_naming_it_and_the_events_scripted() -> None:
    connector = _bookings()
    with pytest.raises(ConnectorRejected) as refused:
        await _send(connector, event="reschedule")
    message = str(refused.value)
    assert message.startswith(
        "notification.bookings.send: no answer scripted for event 'reschedule' "
        "(by_event scripts: book_slot, cancel, list_slots)"
    )
    assert refused.value.status is None
    assert connector.unscripted == [message]
    with pytest.raises(ConnectorRejected, match="no answer scripted without an event"):
        await _send(connector, contact_id="c1")
    assert len(connector.unscripted) == 2


async def test_the_operations_own_keys_answer_the_events_not_listed() -> None:
    settings = {
        "operations": {
            "send": {"result": {"delivered": True}, "by_event": {"list_slots": {"result": []}}}
        }
    }
    connector = _bookings(settings)
    assert await _send(connector, event="list_slots") == []
    assert await _send(connector, event="handoff") == {"delivered": True}
    assert await _send(connector) == {"delivered": True}
    # Written, `result: null` is meant: the other events answer null rather than fail.
    nulls = _bookings({"operations": {"send": {"result": None, "by_event": {"a": {}}}}})
    assert await _send(nulls, event="b") is None
    assert nulls.unscripted == []


async def test_scripting_an_operation_again_restarts_its_events_counts() -> None:
    connector = ScriptedConnector(category="notification")
    connector.script("send", by_event={"a": {"fail_times": 1, "result": "ok"}})
    with pytest.raises(ConnectorUnavailable):
        await _send(connector, event="a")
    assert await _send(connector, event="a") == "ok"
    connector.script("send", by_event={"a": {"fail_times": 1, "result": "again"}})
    with pytest.raises(ConnectorUnavailable):
        await _send(connector, event="a")


def _problems(send: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as invalid:
        ScriptedSettings.model_validate({"operations": {"send": send}})
    return scripted_problems(invalid.value, "connectors.notification")


def test_an_unknown_key_of_an_events_script_is_named_with_the_keys_known_there() -> None:
    assert _problems({"by_event": {"book_slot": {"fail_alwyas": True}}}) == [
        (
            "connectors.notification.operations.send.by_event.book_slot.fail_alwyas",
            "unknown key 'fail_alwyas' (did you mean 'fail_always'?) (known: result, results, "
            "fail_times, fail_always, error, error_message, status, delay_ms)",
        )
    ]


@pytest.mark.parametrize(
    ("send", "message"),
    [
        ({"by_event": {}}, "must not be empty"),
        ({"by_event": {" ": {}}}, "an event name is empty"),
        (
            {"by_event": {"a": {"by_event": {"b": {}}}}},
            "a: an event's script cannot have a by_event of its own",
        ),
    ],
)
def test_a_wrong_by_event_is_named_at_its_place(send: Any, message: str) -> None:
    assert _problems(send) == [("connectors.notification.operations.send.by_event", message)]


def test_an_events_script_is_checked_as_an_operations() -> None:
    send = {"by_event": {"book_slot": {"status": 409}}}
    assert _problems(send) == [
        (
            "connectors.notification.operations.send.by_event.book_slot",
            "status is the HTTP status of a refusal: give error: rejected too",
        )
    ]
