"""Contract of `TurnStore.commit_turn`'s `seqs`: each output's outbox sequence number, the one
`OutboxStore.since` shows it under, kept by the journal for a retry's answer. Every adapter,
the testing fake (`GatedStore`) included, is held to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.domain.errors import StoreError
from botfleet.flows.state import ConversationState
from botfleet.ports.stores import ReceivedMessage
from botfleet.testing.stores import SAMPLE_TIME, GatedStore, sample_message, sample_state

T0 = SAMPLE_TIME
Store = InMemoryTenantStore | SqliteTenantStore


@pytest.fixture(params=["memory", "sqlite", "gated"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        async with SqliteTenantStore.open(tmp_path / "tenant.db") as sqlite:
            yield sqlite
    else:
        async with GatedStore() if request.param == "gated" else InMemoryTenantStore() as memory:
            yield memory


def texts(*bodies: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": body} for body in bodies]


async def shown(store: Store) -> dict[int, dict[str, Any]]:
    """What `since` shows, by seq."""
    return {row["seq"]: row["output"] for row in await store.outbox.since()}


async def commit(
    store: Store,
    contact_id: str,
    outputs: list[dict[str, Any]],
    seqs: list[int],
    *,
    message_id: str | None = None,
    **fields: Any,
) -> ConversationState:
    return await store.commit_turn(
        sample_state(contact_id),
        expected_version=0,
        message_id=message_id,
        outputs=outputs,
        at=T0,
        seqs=seqs,
        unrecorded=[ReceivedMessage(sample_message(message_id, contact_id), T0)]
        if message_id
        else (),
        **fields,
    )


async def test_each_output_gets_the_seq_the_outbox_shows_it_under(store: Store) -> None:
    await store.outbox.append("other", texts("before")[0], T0)  # seqs need not start at 1
    seqs: list[int] = []
    await commit(store, "c1", texts("one", "two", "three"), seqs, message_id="m1")
    rows = await shown(store)
    assert [rows[seq] for seq in seqs] == texts("one", "two", "three")
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    entry = await store.journal.get("m1")
    assert entry is not None and entry.reply_seqs == tuple(seqs)
    # A contact's records (export) say the same.
    assert [e.reply_seqs for e in await store.contacts.received("c1", limit=10)] == [tuple(seqs)]


async def test_a_pending_message_completed_by_its_turn_keeps_its_seqs(store: Store) -> None:
    assert await store.journal.record(sample_message("m1", "c1"), T0)
    assert (await store.journal.get("m1")).reply_seqs == ()  # type: ignore[union-attr]
    seqs: list[int] = []
    await store.commit_turn(
        sample_state("c1"),
        expected_version=0,
        message_id="m1",
        outputs=texts("hi"),
        at=T0,
        seqs=seqs,
    )
    entry = await store.journal.get("m1")
    assert entry is not None and entry.reply_seqs == tuple(seqs)
    assert (await shown(store))[seqs[0]] == texts("hi")[0]


async def test_merged_messages_and_silent_turns_number_no_replies(store: Store) -> None:
    for message_id in ("m1", "m2"):
        assert await store.journal.record(sample_message(message_id, "c1"), T0)
    seqs: list[int] = []
    await store.commit_turn(
        sample_state("c1"),
        expected_version=0,
        message_id="m2",
        merged_ids=["m1"],
        outputs=texts("both"),
        at=T0,
        seqs=seqs,
    )
    merged, answered = await store.journal.get("m1"), await store.journal.get("m2")
    assert merged is not None and (merged.replies, merged.reply_seqs) == ((), ())
    assert answered is not None and answered.reply_seqs == tuple(seqs) and len(seqs) == 1
    silent: list[int] = []
    await commit(store, "c2", [], silent, message_id="m3")
    assert silent == [] and (await store.journal.get("m3")).reply_seqs == ()  # type: ignore[union-attr]


async def test_a_task_turn_numbers_its_outputs_too(store: Store) -> None:
    seqs: list[int] = []
    await commit(store, "c1", texts("reminder"), seqs, task_run="job-1@2024-05-06T09:30:00")
    assert (await shown(store))[seqs[0]] == texts("reminder")[0]


async def test_turns_committed_together_each_get_their_own_rows(store: Store) -> None:
    """Turns reaching the store in one loop iteration share a transaction (SQLite's group
    commit). One refused after its outbox rows were written (its message is in the journal
    already) is rolled back to its savepoint: the turn after it takes the seqs it had used."""
    assert await store.journal.record(sample_message("m-refused", "refused"), T0)
    groups = store.group_commit.groups if isinstance(store, SqliteTenantStore) else 0
    contacts = ["c1", "refused", "c2", "c3"]
    outputs = {c: texts(*(f"{c}-{n}" for n in range(1 + i % 3))) for i, c in enumerate(contacts)}
    seqs: dict[str, list[int]] = {c: [] for c in contacts}
    turns = [commit(store, c, outputs[c], seqs[c], message_id=f"m-{c}") for c in contacts]
    results = await asyncio.gather(*turns, return_exceptions=True)
    assert isinstance(results[1], StoreError), results[1]
    assert [isinstance(r, ConversationState) for r in results] == [True, False, True, True]
    if isinstance(store, SqliteTenantStore):
        assert store.group_commit.groups == groups + 1  # one transaction for the four
    rows = await shown(store)
    for contact in ("c1", "c2", "c3"):
        assert [rows[seq] for seq in seqs[contact]] == outputs[contact], contact
        entry = await store.journal.get(f"m-{contact}")
        assert entry is not None and entry.reply_seqs == tuple(seqs[contact])
    assert seqs["refused"] == []  # a refused turn numbers nothing
    every = [seq for contact in ("c1", "c2", "c3") for seq in seqs[contact]]
    assert sorted(every) == sorted(rows) and len(set(every)) == len(every)


async def test_a_refused_turn_leaves_the_list_as_it_was(store: Store) -> None:
    await commit(store, "c1", texts("first"), [], message_id="m1")
    seqs = [42]
    with pytest.raises(StoreError):  # m1 is in the journal already
        await commit(store, "c2", texts("again"), seqs, message_id="m1")
    assert seqs == [42]


async def test_replies_completed_without_a_turn_have_no_seqs(store: Store) -> None:
    for message_id in ("m1", "m2"):
        assert await store.journal.record(sample_message(message_id, "c1"), T0)
    await store.journal.complete("m1", texts("by hand"))
    await store.journal.complete("m2", [], status="failed")
    by_hand, failed = await store.journal.get("m1"), await store.journal.get("m2")
    assert by_hand is not None and by_hand.reply_seqs is None  # no outbox rows: none known
    assert failed is not None and failed.reply_seqs == ()
    assert await store.journal.record_failed(sample_message("m3", "c1"), T0 + timedelta(1))
    assert (await store.journal.get("m3")).reply_seqs == ()  # type: ignore[union-attr]
