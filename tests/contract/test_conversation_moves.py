"""Contract of MovesConversations: a conversation follows its contact to a new id, against
every store adapter (the `contacts` of the in-memory and the SQLite tenant stores)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.ports.stores import MovesConversations
from botfleet.testing.stores import SAMPLE_TIME, sample_message, sample_state

TenantStore = InMemoryTenantStore | SqliteTenantStore

OLD, NEW = "-4012345678", "-1001234567890"


def mover(store: TenantStore) -> MovesConversations:
    contacts = store.contacts
    assert isinstance(contacts, MovesConversations)
    return contacts


async def talk(store: TenantStore, contact: str, node: str, turns: int) -> None:
    """`turns` answered messages of `contact`, ending in `node`."""
    version = 0
    for n in range(turns):
        message = sample_message(f"{contact}-{n}", contact)
        assert await store.journal.record(message, SAMPLE_TIME + timedelta(seconds=n))
        saved = await store.commit_turn(
            sample_state(contact, node=node, data={"turn": n}),
            expected_version=version,
            message_id=message.message_id,
            outputs=[{"type": "text", "text": f"reply {n}"}],
            at=SAMPLE_TIME + timedelta(seconds=n),
        )
        version = saved.version


async def test_the_state_moves_with_its_version_and_content(tenant_store: TenantStore) -> None:
    await talk(tenant_store, OLD, "ASK_DAY", 3)
    before = await tenant_store.states.load(OLD)
    assert before is not None and before.version == 3

    assert await mover(tenant_store).move_conversation(OLD, NEW) == "moved"

    assert await tenant_store.states.load(OLD) is None
    moved = await tenant_store.states.load(NEW)
    assert moved is not None
    assert moved.contact_id == NEW
    assert (moved.node, moved.version, dict(moved.data)) == ("ASK_DAY", 3, {"turn": 2})
    assert (moved.created_at, moved.updated_at) == (before.created_at, before.updated_at)
    # The next turn of the new id commits on the moved version.
    saved = await tenant_store.commit_turn(
        sample_state(NEW, node="BOOKED"),
        expected_version=3,
        message_id=None,
        outputs=[],
        at=SAMPLE_TIME,
    )
    assert saved.version == 4
    assert await tenant_store.states.count() == 1


async def test_history_stays_under_the_old_id(tenant_store: TenantStore) -> None:
    await talk(tenant_store, OLD, "MENU", 2)
    await mover(tenant_store).move_conversation(OLD, NEW)
    assert [r["contact_id"] for r in await tenant_store.outbox.since()] == [OLD, OLD]
    received = await tenant_store.contacts.received(OLD, limit=10)
    assert [e.message.message_id for e in received] == [f"{OLD}-0", f"{OLD}-1"]
    assert await tenant_store.contacts.received(NEW, limit=10) == []


async def test_a_second_move_finds_nothing_to_move(tenant_store: TenantStore) -> None:
    await talk(tenant_store, OLD, "ASK_DAY", 1)
    assert await mover(tenant_store).move_conversation(OLD, NEW) == "moved"
    moved = await tenant_store.states.load(NEW)
    assert await mover(tenant_store).move_conversation(OLD, NEW) == "absent"
    assert await tenant_store.states.load(NEW) == moved


async def test_a_conversation_the_new_id_has_is_never_overwritten(
    tenant_store: TenantStore,
) -> None:
    await talk(tenant_store, OLD, "ASK_DAY", 2)
    await talk(tenant_store, NEW, "MENU", 1)
    old, new = await tenant_store.states.load(OLD), await tenant_store.states.load(NEW)

    assert await mover(tenant_store).move_conversation(OLD, NEW) == "taken"

    assert await tenant_store.states.load(OLD) == old
    assert await tenant_store.states.load(NEW) == new


async def test_nothing_under_the_old_id_is_absent(tenant_store: TenantStore) -> None:
    await talk(tenant_store, NEW, "MENU", 1)
    assert await mover(tenant_store).move_conversation(OLD, NEW) == "absent"
    assert await mover(tenant_store).move_conversation("nobody", "somebody") == "absent"
    assert await tenant_store.states.load("somebody") is None


async def test_other_conversations_are_left_alone(tenant_store: TenantStore) -> None:
    await talk(tenant_store, OLD, "ASK_DAY", 1)
    await talk(tenant_store, "ana", "MENU", 2)
    ana = await tenant_store.states.load("ana")
    await mover(tenant_store).move_conversation(OLD, NEW)
    assert await tenant_store.states.load("ana") == ana


async def test_a_conversation_is_not_moved_onto_itself(tenant_store: TenantStore) -> None:
    await talk(tenant_store, OLD, "ASK_DAY", 1)
    with pytest.raises(ValueError, match="onto itself"):
        await mover(tenant_store).move_conversation(OLD, OLD)
    assert await tenant_store.states.load(OLD) is not None
