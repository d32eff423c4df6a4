"""ContactLog: tenant and hashed contact on every line, the raw contact id scrubbed from text."""

from __future__ import annotations

import structlog

from botfleet.contact_hash import hash_contact
from botfleet.data_plane.runtime.contact_log import ContactLog

PHONE = "+34600123456"


def test_the_hash_is_short_stable_and_differs_by_tenant() -> None:
    assert hash_contact("t1", PHONE) == hash_contact("t1", PHONE)
    assert len(hash_contact("t1", PHONE)) == 12
    assert hash_contact("t1", PHONE) != hash_contact("t2", PHONE)
    assert PHONE not in hash_contact("t1", PHONE)


def test_every_line_names_tenant_and_hash_and_scrubs_fields() -> None:
    log = ContactLog(structlog.get_logger("test"), "t1", PHONE)
    with structlog.testing.capture_logs() as logs:
        log.warning("lookup_failed", detail=f"no customer {PHONE}", count=3)
    [entry] = logs
    assert entry["tenant"] == "t1"
    assert entry["contact"] == hash_contact("t1", PHONE)
    assert entry["detail"] == f"no customer <contact {hash_contact('t1', PHONE)}>"
    assert entry["count"] == 3
    assert entry["log_level"] == "warning"


def test_failures_carry_a_scrubbed_traceback() -> None:
    log = ContactLog(structlog.get_logger("test"), "t1", PHONE)
    try:
        raise KeyError(f"conversation {PHONE}")
    except KeyError as exc:
        with structlog.testing.capture_logs() as logs:
            log.failure("turn_failed", exc)
    [entry] = logs
    assert entry["error"] == "KeyError"
    assert "Traceback" in entry["traceback"]
    assert PHONE not in repr(entry)


def test_very_short_ids_are_not_scrubbed_out_of_every_word() -> None:
    log = ContactLog(structlog.get_logger("test"), "t1", "a")
    assert log.scrub("calendar") == "calendar"


def test_error_texts_name_numbers_by_hash_however_written() -> None:
    """A connector's error quotes the contact's number as people write it, or another one."""
    log = ContactLog(structlog.get_logger("test"), "t1", PHONE)
    with structlog.testing.capture_logs() as logs:
        log.warning(
            "connector_failed",
            detail="refused for +34 600 123 456 (also booked by 34 611 222 333), code 131000",
            customer="+34 611 222 333",  # not an error text: left to the caller
        )
    [entry] = logs
    other = hash_contact("t1", "34611222333")
    assert entry["detail"] == (
        f"refused for <contact {hash_contact('t1', PHONE)}> "
        f"(also booked by <number {other}>), code 131000"
    )
    assert entry["customer"] == "+34 611 222 333"
