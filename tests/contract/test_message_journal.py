"""Contract of MessageJournal: inbound messages persisted once, replayable after a crash."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.domain.errors import StoreError
from botfleet.domain.messages import MessageType
from botfleet.ports.stores import JournalEntry, MessageJournal
from botfleet.testing.stores import SAMPLE_TIME, sample_message

T0 = SAMPLE_TIME


async def test_a_new_message_is_recorded_and_a_repeat_is_a_duplicate(
    journal: MessageJournal,
) -> None:
    assert await journal.record(sample_message("m1", text="first"), T0) is True
    assert await journal.record(sample_message("m1", text="retry"), T0 + timedelta(1)) is False
    entry = await journal.get("m1")
    assert entry is not None
    assert (entry.message.text, entry.received_at) == ("first", T0)


async def test_concurrent_records_of_one_message_accept_exactly_one(
    journal: MessageJournal,
) -> None:
    results = await asyncio.gather(*(journal.record(sample_message("m1"), T0) for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    assert len(await journal.pending()) == 1


async def test_an_unknown_message_id_gives_none(journal: MessageJournal) -> None:
    assert await journal.get("nope") is None


async def test_the_whole_message_is_kept_for_reprocessing(journal: MessageJournal) -> None:
    message = sample_message(
        "wamid.HBgL",
        "34600111222",
        type=MessageType.BUTTON_REPLY,
        timestamp=datetime(2024, 5, 6, 11, 29, 59, 5, tzinfo=timezone(timedelta(hours=2))),
        text="Reservar",
        payload="BOOK",
        contact_name="Ana María",
        language="es",
        extra={"context": {"id": "wamid.prev"}, "raw": [1, 2.5, None, True]},
    )
    received = datetime(2024, 5, 6, 9, 30, 0, 1, tzinfo=UTC)
    await journal.record(message, received)
    assert await journal.get("wamid.HBgL") == JournalEntry(message, received, "pending", ())


async def test_pending_lists_unprocessed_messages_oldest_first_in_the_order_recorded(
    journal: MessageJournal,
) -> None:
    """Oldest first is the order in which they were recorded, not their received times: those
    come from the wall clock, which can step back (NTP), and a contact's messages must be
    answered in the order they came."""
    plus_two = timezone(timedelta(hours=2))
    await journal.record(sample_message("first"), datetime(2024, 5, 6, 10, 0, tzinfo=plus_two))
    # The clock stepped back an hour: "second" looks older than "first" (08:00 UTC).
    await journal.record(sample_message("second"), datetime(2024, 5, 6, 7, 0, tzinfo=UTC))
    await journal.record(sample_message("tie-1"), datetime(2024, 5, 6, 7, 30, tzinfo=UTC))
    await journal.record(sample_message("tie-2"), datetime(2024, 5, 6, 7, 30, tzinfo=UTC))
    await journal.record(sample_message("done"), datetime(2024, 5, 6, 6, 0, tzinfo=UTC))
    await journal.complete("done", [])
    ids = [entry.message.message_id for entry in await journal.pending()]
    assert ids == ["first", "second", "tie-1", "tie-2"]


async def test_complete_stores_replies_and_status(journal: MessageJournal) -> None:
    await journal.record(sample_message("m1"), T0)
    await journal.record(sample_message("m2"), T0)
    replies: list[dict[str, Any]] = [
        {"type": "text", "text": "¡Hola!"},
        {"type": "buttons", "buttons": [{"id": "a"}]},
    ]
    await journal.complete("m1", replies)
    await journal.complete("m2", [], status="failed")
    done = await journal.get("m1")
    failed = await journal.get("m2")
    assert done is not None
    assert failed is not None
    assert (done.status, done.replies) == ("done", tuple(replies))
    assert (failed.status, failed.replies) == ("failed", ())
    assert await journal.pending() == []


async def test_completing_twice_keeps_the_last_outcome(journal: MessageJournal) -> None:
    await journal.record(sample_message("m1"), T0)
    await journal.complete("m1", [], status="failed")
    await journal.complete("m1", [{"type": "text", "text": "retried"}])
    entry = await journal.get("m1")
    assert entry is not None
    assert (entry.status, entry.replies) == ("done", ({"type": "text", "text": "retried"},))


async def test_completing_an_unknown_message_is_an_error(journal: MessageJournal) -> None:
    with pytest.raises(StoreError, match="no message 'ghost'"):
        await journal.complete("ghost", [])


async def test_completing_with_an_unknown_status_is_refused(journal: MessageJournal) -> None:
    await journal.record(sample_message("m1"), T0)
    with pytest.raises(ValueError, match="status must be one of"):
        await journal.complete("m1", [], status="pending")
    assert [e.message.message_id for e in await journal.pending()] == ["m1"]


async def test_replies_that_are_not_json_are_refused(journal: MessageJournal) -> None:
    await journal.record(sample_message("m1"), T0)
    with pytest.raises(StoreError, match=r"replies\[0\]\.at: a datetime is not JSON-able"):
        await journal.complete("m1", [{"at": T0}])


async def test_a_naive_received_at_is_refused(journal: MessageJournal) -> None:
    with pytest.raises(StoreError, match="received_at: datetime must be timezone-aware"):
        await journal.record(sample_message("m1"), datetime(2024, 5, 6, 9, 0))
    assert await journal.get("m1") is None


async def test_a_message_recorded_failed_is_processed_at_once(journal: MessageJournal) -> None:
    assert await journal.record_failed(sample_message("m1", text="boom"), T0) is True
    assert await journal.get("m1") == JournalEntry(sample_message("m1", text="boom"), T0, "failed")
    assert await journal.pending() == []
    # A copy sent again is a duplicate, as for any recorded message.
    assert await journal.record(sample_message("m1"), T0) is False


async def test_recording_failed_a_message_already_recorded_leaves_its_entry(
    journal: MessageJournal,
) -> None:
    await journal.record(sample_message("pending"), T0)
    await journal.record(sample_message("done"), T0)
    await journal.complete("done", [{"type": "text", "text": "hi"}])
    assert await journal.record_failed(sample_message("pending"), T0 + timedelta(1)) is False
    assert await journal.record_failed(sample_message("done"), T0 + timedelta(1)) is False
    pending, done = await journal.get("pending"), await journal.get("done")
    assert pending is not None and (pending.status, pending.received_at) == ("pending", T0)
    assert done is not None and (done.status, len(done.replies)) == ("done", 1)


async def test_recording_failed_refuses_a_naive_received_at(journal: MessageJournal) -> None:
    with pytest.raises(StoreError, match="received_at: datetime must be timezone-aware"):
        await journal.record_failed(sample_message("m1"), datetime(2024, 5, 6, 9, 0))
    assert await journal.get("m1") is None


async def test_prune_forgets_old_processed_messages_only(
    tenant_store: InMemoryTenantStore | SqliteTenantStore,
) -> None:
    journal = tenant_store.journal
    for name, hours_ago in [("old-done", 50), ("old-failed", 49), ("old-pending", 48)]:
        await journal.record(sample_message(name), T0 - timedelta(hours=hours_ago))
    await journal.record(sample_message("new-done"), T0)
    await journal.complete("old-done", [])
    await journal.complete("old-failed", [], status="failed")
    await journal.complete("new-done", [])

    assert await tenant_store.prune_journal(T0 - timedelta(hours=24)) == 2

    assert await journal.get("old-done") is None
    assert await journal.get("old-failed") is None
    assert await journal.get("old-pending") is not None
    assert await journal.get("new-done") is not None
    # A pruned id is no longer remembered as seen.
    assert await journal.record(sample_message("old-done"), T0) is True
