"""Contract of `forget_inactive` (the flow's `settings.conversation_retention`): the states last
updated before a moment go, whatever their offsets, and nothing else."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore, _sqlite_tables
from botfleet.testing.stores import SAMPLE_TIME, sample_state

TenantStore = InMemoryTenantStore | SqliteTenantStore
T0 = SAMPLE_TIME
MADRID_SUMMER = timezone(timedelta(hours=2))


async def save(
    store: TenantStore, contact: str, updated: timedelta, *, zone: timezone | None = None
) -> None:
    at = T0 + updated
    if zone is not None:
        at = at.astimezone(zone)
    await store.states.save(sample_state(contact, updated_at=at), expected_version=0)


async def test_states_older_than_the_moment_go(tenant_store: TenantStore) -> None:
    await save(tenant_store, "old", timedelta(days=-200))
    await save(tenant_store, "edge", timedelta(days=-180))  # exactly at the moment: kept
    await save(tenant_store, "recent", timedelta(days=-3))
    # An hour older than the moment, written in another offset (its wall time reads later).
    await save(tenant_store, "zoned", timedelta(days=-180, hours=-1), zone=MADRID_SUMMER)

    forgotten = await tenant_store.forget_inactive(T0 - timedelta(days=180))

    assert sorted(forgotten) == ["old", "zoned"]
    assert await tenant_store.states.load("old") is None
    assert await tenant_store.states.load("zoned") is None
    assert await tenant_store.states.load("edge") is not None
    assert await tenant_store.states.load("recent") is not None
    assert await tenant_store.forget_inactive(T0 - timedelta(days=180)) == []


async def test_an_empty_store_forgets_nothing(tenant_store: TenantStore) -> None:
    assert await tenant_store.forget_inactive(T0) == []


async def test_many_rows_across_batches(
    tenant_store: TenantStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_tables, "FORGET_BATCH", 7)
    for n in range(50):
        await save(tenant_store, f"c{n:02}", timedelta(days=-10 if n % 3 else -1))
    forgotten = await tenant_store.forget_inactive(T0 - timedelta(days=5))
    assert sorted(forgotten) == [f"c{n:02}" for n in range(50) if n % 3]
    assert await tenant_store.states.count() == len([n for n in range(50) if not n % 3])
