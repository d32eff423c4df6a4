"""How old a WhatsApp message or status may be: older than Meta's retries is a replay and is
left out, logged by id and age, never by content; the bound stays inside the journal's memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import structlog

from botfleet.adapters.channels.log_contacts import LogContacts
from botfleet.adapters.channels.whatsapp.freshness import (
    MAX_MESSAGE_AGE,
    META_RETRY_WINDOW,
    fresh_messages,
    fresh_statuses,
)
from botfleet.adapters.channels.whatsapp.parse import StatusUpdate, parse_webhook
from botfleet.contact_hash import hash_contact
from botfleet.data_plane.runtime.housekeeping import DEFAULT_JOURNAL_RETENTION
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.ports.stores import JOURNAL_RETENTION

NOW = datetime(2025, 6, 20, 12, 0, tzinfo=UTC)
CONTACT = "34600111222"
TEXT = "mi DNI es 12345678Z"


def sent(age: timedelta, message_id: str = "wamid.a") -> InboundMessage:
    return InboundMessage(
        message_id=message_id,
        contact_id=CONTACT,
        type=MessageType.TEXT,
        timestamp=NOW - age,
        text=TEXT,
    )


def test_the_bound_lets_meta_s_retries_through_and_stays_inside_the_journal_s_memory() -> None:
    # One retention for the journal's pruning and this bound (ports/stores.py). A message that
    # passes the check must still be in the journal when it comes again, with room for clocks
    # that disagree.
    assert JOURNAL_RETENTION == DEFAULT_JOURNAL_RETENTION
    assert META_RETRY_WINDOW + timedelta(hours=12) <= MAX_MESSAGE_AGE
    assert DEFAULT_JOURNAL_RETENTION - timedelta(hours=12) >= MAX_MESSAGE_AGE


@pytest.mark.parametrize(
    "age",
    [
        timedelta(0),
        timedelta(days=7),  # Meta's last retry
        MAX_MESSAGE_AGE,  # the bound itself is still fresh
        -timedelta(minutes=5),  # our clock behind Meta's
    ],
)
def test_messages_within_the_bound_are_kept(age: timedelta) -> None:
    messages = (sent(age),)
    with structlog.testing.capture_logs() as logs:
        assert list(fresh_messages(messages, NOW)) == list(messages)
    assert logs == []


def test_an_older_message_is_left_out_and_logged_by_id_and_age_only() -> None:
    old, new = sent(MAX_MESSAGE_AGE + timedelta(seconds=1), "wamid.old"), sent(timedelta(0))
    contacts = LogContacts("clinic")
    with structlog.testing.capture_logs() as logs:
        assert list(fresh_messages((old, new), NOW, contacts)) == [new]
    (line,) = logs
    assert line["event"] == "whatsapp_stale_message_ignored"
    assert line["log_level"] == "warning"
    assert line["message_id"] == "wamid.old"
    assert line["age_s"] == int(MAX_MESSAGE_AGE.total_seconds()) + 1
    assert line["max_age_s"] == int(MAX_MESSAGE_AGE.total_seconds())
    assert line["contact"] == hash_contact("clinic", CONTACT)
    assert TEXT not in repr(line)
    assert CONTACT not in repr(line)


def test_a_message_without_a_time_of_its_own_is_fresh() -> None:
    # The parser gives it the receive time: nothing says it is old.
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "1"},
                            "messages": [
                                {"from": CONTACT, "id": "wamid.x", "type": "text", "text": {}}
                            ],
                        },
                    }
                ]
            }
        ],
    }
    batch = parse_webhook(payload, phone_number_id="1", received_at=NOW)
    assert list(fresh_messages(batch.messages, NOW)) == list(batch.messages)


def status(age: timedelta | None, message_id: str = "wamid.s") -> StatusUpdate:
    at = None if age is None else NOW - age
    return StatusUpdate(message_id=message_id, status="failed", recipient_id=CONTACT, timestamp=at)


@pytest.mark.parametrize(
    "age", [None, timedelta(0), timedelta(days=7), MAX_MESSAGE_AGE, -timedelta(minutes=5)]
)
def test_statuses_within_the_bound_or_without_a_time_are_kept(age: timedelta | None) -> None:
    statuses = (status(age),)
    with structlog.testing.capture_logs() as logs:
        assert list(fresh_statuses(statuses, NOW)) == list(statuses)
    assert logs == []


def test_an_older_status_is_left_out_and_logged_by_id_and_age_with_its_recipient_hashed() -> None:
    old = status(MAX_MESSAGE_AGE + timedelta(seconds=1), "wamid.old")
    new = status(timedelta(hours=1))
    with structlog.testing.capture_logs() as logs:
        assert list(fresh_statuses((old, new), NOW, LogContacts("clinic"))) == [new]
    (line,) = logs
    assert line["event"] == "whatsapp_stale_status_ignored"
    assert line["log_level"] == "warning"
    assert line["message_id"] == "wamid.old"
    assert line["status"] == "failed"
    assert line["status_at"] == (NOW - MAX_MESSAGE_AGE - timedelta(seconds=1)).isoformat()
    assert line["age_s"] == int(MAX_MESSAGE_AGE.total_seconds()) + 1
    assert line["max_age_s"] == int(MAX_MESSAGE_AGE.total_seconds())
    assert line["contact"] == hash_contact("clinic", CONTACT)
    assert CONTACT not in repr(line)
