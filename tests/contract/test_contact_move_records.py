"""Contract of the unfinished-move records of `MovesConversations`, against every store adapter:
written by the commit that moves a conversation, read back in order, gone once finished or
when either contact is erased."""

from __future__ import annotations

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.ports.stores import MovesConversations
from botfleet.testing.stores import SAMPLE_TIME, sample_state

TenantStore = InMemoryTenantStore | SqliteTenantStore


def mover(store: TenantStore) -> MovesConversations:
    contacts = store.contacts
    assert isinstance(contacts, MovesConversations)
    return contacts


async def converse(store: TenantStore, contact: str) -> None:
    await store.commit_turn(
        sample_state(contact), expected_version=0, message_id=None, outputs=[], at=SAMPLE_TIME
    )


async def test_a_moved_conversation_leaves_its_move_unfinished_until_told(
    tenant_store: TenantStore,
) -> None:
    moves = mover(tenant_store)
    assert await moves.unfinished_moves() == []  # none ever made (no table in a SQLite file)
    await converse(tenant_store, "a")
    assert await moves.move_conversation("a", "b") == "moved"
    assert await moves.move_conversation("b", "c") == "moved"
    assert await moves.unfinished_moves() == [("a", "b"), ("b", "c")]
    await moves.move_finished("a", "b")
    await moves.move_finished("a", "b")  # again: nothing left to finish
    assert await moves.unfinished_moves() == [("b", "c")]


async def test_absent_and_taken_moves_record_nothing(tenant_store: TenantStore) -> None:
    moves = mover(tenant_store)
    await moves.move_finished("a", "b")  # nothing recorded yet: nothing happens
    assert await moves.move_conversation("a", "b") == "absent"
    await converse(tenant_store, "a")
    await converse(tenant_store, "b")
    assert await moves.move_conversation("a", "b") == "taken"
    assert await moves.unfinished_moves() == []


async def test_an_erasure_forgets_the_moves_naming_the_contact(tenant_store: TenantStore) -> None:
    moves = mover(tenant_store)
    for contact in ("a", "x"):
        await converse(tenant_store, contact)
    await moves.move_conversation("a", "b")
    await moves.move_conversation("x", "y")
    await tenant_store.contacts.erase("b")
    assert await moves.unfinished_moves() == [("x", "y")]
