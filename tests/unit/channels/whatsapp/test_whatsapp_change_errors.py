"""Errors Meta reports for a whole change (`value.errors`) have no id: a stable fingerprint lets
Meta's redeliveries of the webhook count and log them once."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.whatsapp import WhatsAppMetrics, parse_webhook
from botfleet.adapters.channels.whatsapp.parse import ChangeError, GraphErrorInfo

FIXTURES = Path(__file__).parents[3] / "fixtures" / "whatsapp"
PHONE_NUMBER_ID = "106540352242922"
RECEIVED = datetime(2025, 6, 9, 9, 0, tzinfo=UTC)


def load() -> Any:
    return json.loads((FIXTURES / "change_errors.json").read_text(encoding="utf-8"))


def errors_of(payload: Any, received_at: datetime = RECEIVED) -> tuple[ChangeError, ...]:
    return parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID, received_at=received_at).errors


def value_of(payload: Any) -> dict[str, Any]:
    value: dict[str, Any] = payload["entry"][0]["changes"][0]["value"]
    return value


def test_a_change_error_is_parsed_with_a_fingerprint() -> None:
    (error,) = errors_of(load())
    assert error.error == GraphErrorInfo(
        131042,
        "Business eligibility payment issue",
        "Business eligibility payment issue",
        "Message failed to send because there were one or more errors related to your payment "
        "method.",
    )
    assert len(error.fingerprint) == 24


def test_a_redelivery_has_the_same_fingerprint() -> None:
    later = datetime(2025, 6, 10, 9, 0, tzinfo=UTC)  # Meta redelivers hours later
    assert errors_of(load()) == errors_of(load(), later)


def edit(path: str, value: Any) -> Any:
    payload = load()
    target: Any = payload
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[last] = value
    return payload


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("entry.0.id", "999999999999999"),  # another account
        ("entry.0.changes.0.value.errors.0.code", 131000),
        ("entry.0.changes.0.value.errors.0.title", "Something went wrong"),
        ("entry.0.changes.0.value.errors.0.error_data.details", "another detail"),
        ("entry.0.changes.0.value.errors.0.timestamp", "1749416400"),  # a time, when given
        ("entry.0.changes.0.value.timestamp", "1749416400"),
        ("entry.0.time", 1749416400),
    ],
)
def test_another_error_has_another_fingerprint(path: str, value: Any) -> None:
    (original,) = errors_of(load())
    (changed,) = errors_of(edit(path, value))
    assert changed.fingerprint != original.fingerprint


def test_the_same_error_at_another_time_has_another_fingerprint() -> None:
    first = edit("entry.0.changes.0.value.errors.0.timestamp", "1749416400")
    second = edit("entry.0.changes.0.value.errors.0.timestamp", "1749416460")
    assert errors_of(first)[0].fingerprint != errors_of(second)[0].fingerprint


def test_two_errors_of_one_change_each_have_their_own() -> None:
    payload = load()
    errors = value_of(payload)["errors"]
    errors.append({**copy.deepcopy(errors[0]), "code": 131000})
    first, second = errors_of(payload)
    assert first.fingerprint != second.fingerprint


def test_a_redelivered_change_error_is_counted_and_logged_once() -> None:
    registry = CollectorRegistry()
    metrics = WhatsAppMetrics(registry)
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            for error in errors_of(load()):
                metrics.record_change_error(error)
    assert [e["event"] for e in logs] == ["whatsapp_payment_issue"]
    assert logs[0]["source"] == "webhook"
    count = registry.get_sample_value(
        "botfleet_whatsapp_errors_total", {"event": "whatsapp_payment_issue"}
    )
    assert count == 1


def test_change_errors_share_the_status_memory_and_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("botfleet.adapters.channels.whatsapp.metrics.SEEN_STATUSES", 2)
    registry = CollectorRegistry()
    metrics = WhatsAppMetrics(registry)
    (error,) = errors_of(load())
    other = [
        ChangeError(GraphErrorInfo(131000, "x"), "a"),
        ChangeError(GraphErrorInfo(131000, "x"), "b"),
    ]
    metrics.record_change_error(error)
    for seen in other:  # the memory holds two: the first error falls out
        metrics.record_change_error(seen)
    metrics.record_change_error(error)
    count = registry.get_sample_value(
        "botfleet_whatsapp_errors_total", {"event": "whatsapp_payment_issue"}
    )
    assert count == 2
