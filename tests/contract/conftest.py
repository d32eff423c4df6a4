"""Store fixtures for the contract suites: every test runs against each store adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeAlias

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.ports.stores import MessageJournal, OutboxStore, StateStore

STORE_KINDS = ["memory", "sqlite"]

TenantStore: TypeAlias = InMemoryTenantStore | SqliteTenantStore


@pytest.fixture(params=STORE_KINDS)
async def tenant_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[TenantStore]:
    """A fresh tenant store of each kind (memory; SQLite file in `tmp_path`)."""
    if request.param == "memory":
        async with InMemoryTenantStore() as memory:
            yield memory
    else:
        async with SqliteTenantStore.open(tmp_path / "tenant.db") as sqlite:
            yield sqlite


@pytest.fixture
def state_store(tenant_store: TenantStore) -> StateStore:
    return tenant_store.states


@pytest.fixture
def journal(tenant_store: TenantStore) -> MessageJournal:
    return tenant_store.journal


@pytest.fixture
def outbox(tenant_store: TenantStore) -> OutboxStore:
    return tenant_store.outbox
