"""Contract of OutboxStore: what the bot sent, readable by contact and sequence number."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.domain.errors import StoreError
from botfleet.ports.stores import OutboxStore
from botfleet.testing.stores import SAMPLE_TIME, sample_state

T0 = SAMPLE_TIME


def text(body: str) -> dict[str, str]:
    return {"type": "text", "text": body}


async def fill(outbox: OutboxStore) -> list[int]:
    """Five messages: a, b, a, c, a (contact ids), one second apart."""
    return [
        await outbox.append(contact, text(f"{contact}{i}"), T0 + timedelta(seconds=i))
        for i, contact in enumerate(["a", "b", "a", "c", "a"])
    ]


async def test_sequence_numbers_start_above_zero_and_increase(outbox: OutboxStore) -> None:
    seqs = await fill(outbox)
    assert seqs[0] > 0
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5


async def test_since_returns_everything_oldest_first(outbox: OutboxStore) -> None:
    seqs = await fill(outbox)
    rows = await outbox.since()
    assert [r["seq"] for r in rows] == seqs
    assert rows[1] == {
        "seq": seqs[1],
        "contact_id": "b",
        "at": (T0 + timedelta(seconds=1)).isoformat(),
        "output": text("b1"),
    }


async def test_since_skips_sequence_numbers_already_seen(outbox: OutboxStore) -> None:
    seqs = await fill(outbox)
    rows = await outbox.since(since=seqs[2])
    assert [r["output"]["text"] for r in rows] == ["c3", "a4"]
    assert await outbox.since(since=seqs[-1]) == []


async def test_since_filters_by_contact(outbox: OutboxStore) -> None:
    seqs = await fill(outbox)
    assert [r["output"]["text"] for r in await outbox.since(contact_id="a")] == ["a0", "a2", "a4"]
    later = await outbox.since(contact_id="a", since=seqs[0])
    assert [r["output"]["text"] for r in later] == ["a2", "a4"]
    assert await outbox.since(contact_id="nobody") == []


async def test_since_returns_at_most_limit_rows(outbox: OutboxStore) -> None:
    await fill(outbox)
    assert [r["output"]["text"] for r in await outbox.since(limit=2)] == ["a0", "b1"]
    assert [r["output"]["text"] for r in await outbox.since(contact_id="a", limit=2)] == [
        "a0",
        "a2",
    ]
    assert await outbox.since(limit=0) == []
    with pytest.raises(ValueError, match="limit must be >= 0"):
        await outbox.since(limit=-1)


async def test_outputs_come_back_exactly(outbox: OutboxStore) -> None:
    output = {
        "type": "list",
        "text": "Elige ✂️",
        "sections": [{"title": "Mañana", "rows": [{"id": "10", "title": "10:00"}]}],
        "meta": {"n": 1, "x": 0.25, "ok": False, "none": None},
    }
    await outbox.append("a", output, T0)
    [row] = await outbox.since()
    assert row["output"] == output


async def test_outputs_that_are_not_json_are_refused(outbox: OutboxStore) -> None:
    with pytest.raises(StoreError, match=r"output for 'a'\.when: a datetime is not JSON-able"):
        await outbox.append("a", {"when": T0}, T0)
    assert await outbox.since() == []


async def test_prune_forgets_old_delivered_outputs_and_keeps_undelivered_ones(
    tenant_store: InMemoryTenantStore | SqliteTenantStore,
) -> None:
    """Delivered rows older than the cut go (the disk must not grow forever); a row still
    waiting for its delivery (a provider channel's, before the send is confirmed) never does."""
    state = sample_state("a")
    plus_two = timezone(timedelta(hours=2))
    old = (T0 - timedelta(days=9)).astimezone(plus_two)  # another offset, the same instant rule
    sent = await tenant_store.commit_turn(
        state, expected_version=0, message_id=None, outputs=[text("old-sent")], at=old
    )
    await tenant_store.commit_turn(
        sent,
        expected_version=sent.version,
        message_id=None,
        outputs=[text("old-unsent")],
        at=old + timedelta(seconds=1),
        undelivered=True,
    )
    await tenant_store.outbox.append("b", text("new"), T0)

    assert await tenant_store.prune_outbox(T0 - timedelta(days=8)) == 1

    assert [r["output"]["text"] for r in await tenant_store.outbox.since()] == [
        "old-unsent",
        "new",
    ]
    assert [r["output"]["text"] for r in await tenant_store.pending_deliveries()] == ["old-unsent"]
    assert await tenant_store.prune_outbox(T0 - timedelta(days=8)) == 0
    # Once delivered (and as old), it goes too; sequence numbers are never reused.
    await tenant_store.confirm_delivered("a")
    assert await tenant_store.prune_outbox(T0 - timedelta(days=8)) == 1
    assert await tenant_store.outbox.append("b", text("newer"), T0) == 4
    assert [r["seq"] for r in await tenant_store.outbox.since()] == [3, 4]


async def test_prune_cuts_at_the_instant_given(
    tenant_store: InMemoryTenantStore | SqliteTenantStore,
) -> None:
    for i in range(3):
        await tenant_store.outbox.append("a", text(f"a{i}"), T0 + timedelta(seconds=i))
    assert await tenant_store.prune_outbox(T0 + timedelta(seconds=1)) == 1
    assert [r["output"]["text"] for r in await tenant_store.outbox.since()] == ["a1", "a2"]
