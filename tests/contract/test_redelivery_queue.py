"""`RedeliveryQueue`: connector calls kept to be made again later, one per idempotency key,
the due ones earliest first; erased with their contact. Every store adapter."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import TypeAlias

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.ports.redelivery import QueuedCall, RedeliveryQueue
from botfleet.testing.stores import SAMPLE_TIME

# The `tenant_store` fixture's (conftest.py); not imported: `conftest` is not a package here.
TenantStore: TypeAlias = InMemoryTenantStore | SqliteTenantStore
CONTACT = "+34600111222"


def queue_of(store: TenantStore) -> RedeliveryQueue:
    return store.redelivery  # mypy checks that both satisfy the port


def call(key: str, *, minutes: int = 1, contact: str | None = CONTACT) -> QueuedCall:
    return QueuedCall(
        key=key,
        connector="notification.crm",
        operation="send",
        params={"event": "booking_created", "contact_id": contact, "data": {"slot": [1, "x"]}},
        contact_id=contact,
        queued_at=SAMPLE_TIME,
        next_at=SAMPLE_TIME + timedelta(minutes=minutes),
        last_error="unavailable: the webhook answered HTTP 503",
    )


async def test_a_kept_call_comes_back_as_it_was_kept_once_due(tenant_store: TenantStore) -> None:
    queue = queue_of(tenant_store)
    assert await queue.due(SAMPLE_TIME + timedelta(days=1), limit=10) == []  # nothing kept yet
    assert await queue.add(call("k1"))

    assert await queue.due(SAMPLE_TIME, limit=10) == []  # not due before its next_at
    (due,) = await queue.due(SAMPLE_TIME + timedelta(minutes=1), limit=10)
    assert due == call("k1")
    assert await queue.counts() == {"notification.crm": 1}


async def test_one_call_per_key(tenant_store: TenantStore) -> None:
    queue = queue_of(tenant_store)
    assert await queue.add(call("k1", minutes=1))
    assert not await queue.add(call("k1", minutes=9))  # a replayed turn keeps it once

    (due,) = await queue.due(SAMPLE_TIME + timedelta(hours=1), limit=10)
    assert due.next_at == SAMPLE_TIME + timedelta(minutes=1)


async def test_due_calls_come_earliest_first_up_to_the_limit(tenant_store: TenantStore) -> None:
    queue = queue_of(tenant_store)
    for key, minutes in (("late", 30), ("early", 2), ("middle", 10)):
        await queue.add(call(key, minutes=minutes))

    due = await queue.due(SAMPLE_TIME + timedelta(hours=1), limit=2)
    assert [c.key for c in due] == ["early", "middle"]


async def test_an_attempt_moves_the_call_and_remove_forgets_it(tenant_store: TenantStore) -> None:
    queue = queue_of(tenant_store)
    await queue.add(call("k1"))
    later = SAMPLE_TIME + timedelta(minutes=5)
    await queue.retry_later("k1", next_at=later, attempts=2, last_error="timeout: slow")

    assert await queue.due(later - timedelta(seconds=1), limit=10) == []
    (due,) = await queue.due(later, limit=10)
    assert (due.attempts, due.last_error, due.next_at) == (2, "timeout: slow", later)

    await queue.remove("k1")
    await queue.remove("k1")  # twice: nothing to forget, no error
    assert await queue.due(later, limit=10) == []
    assert await queue.counts() == {}


async def test_a_contacts_calls_are_listed_and_erased_with_the_contact(
    tenant_store: TenantStore,
) -> None:
    queue = queue_of(tenant_store)
    await queue.add(call("mine-1"))
    await queue.add(call("mine-2", minutes=3))
    await queue.add(call("theirs", contact="+34600999888"))
    await queue.add(call("standing", contact=None))
    assert [c.key for c in await queue.of_contact(CONTACT)] == ["mine-1", "mine-2"]

    erased = await tenant_store.contacts.erase(CONTACT)

    assert erased.calls_kept == 2
    assert await queue.of_contact(CONTACT) == []
    assert await queue.counts() == {"notification.crm": 2}


async def test_erasing_a_contact_before_any_call_was_kept(tenant_store: TenantStore) -> None:
    erased = await tenant_store.contacts.erase(CONTACT)
    assert erased.calls_kept == 0
    assert await queue_of(tenant_store).of_contact(CONTACT) == []


async def test_kept_calls_outlive_the_process(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path) as store:
        await store.redelivery.add(call("k1"))
    async with SqliteTenantStore.open(path) as store:
        (due,) = await store.redelivery.due(SAMPLE_TIME + timedelta(hours=1), limit=10)
    assert due == call("k1")


async def test_the_table_is_made_when_first_needed(tmp_path: Path) -> None:
    # Not by a migration: a file never holding a kept call stays as earlier releases wrote it.
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path) as store:
        assert await store.redelivery.counts() == {}
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "redelivery" not in tables


async def test_a_moved_conversation_takes_its_kept_calls(tenant_store: TenantStore) -> None:
    # A Telegram group become a supergroup: erasing the new id must reach them.
    from botfleet.testing.stores import sample_state

    group, supergroup = "-4001", "-1004001"
    await tenant_store.states.save(sample_state(contact_id=group), expected_version=0)
    await queue_of(tenant_store).add(call("k1", contact=group))

    assert await tenant_store.contacts.move_conversation(group, supergroup) == "moved"

    assert [c.key for c in await queue_of(tenant_store).of_contact(supergroup)] == ["k1"]
    assert await queue_of(tenant_store).of_contact(group) == []
    assert (await tenant_store.contacts.erase(supergroup)).calls_kept == 1
