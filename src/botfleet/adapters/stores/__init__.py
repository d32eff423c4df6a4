"""Store adapters: in-memory (dev and tests) and one SQLite file per tenant.

Both kinds implement `botfleet.ports.stores` (StateStore, MessageJournal, OutboxStore) with the
same behaviour; `tests/contract/` runs one suite against each.
"""

from __future__ import annotations

from botfleet.adapters.stores.memory import (
    InMemoryMessageJournal,
    InMemoryOutbox,
    InMemoryStateStore,
    InMemoryTenantStore,
)
from botfleet.adapters.stores.sqlite import (
    OpeningTenantStore,
    SqliteMessageJournal,
    SqliteOutbox,
    SqliteStateStore,
    SqliteTenantStore,
)

__all__ = [
    "InMemoryMessageJournal",
    "InMemoryOutbox",
    "InMemoryStateStore",
    "InMemoryTenantStore",
    "OpeningTenantStore",
    "SqliteMessageJournal",
    "SqliteOutbox",
    "SqliteStateStore",
    "SqliteTenantStore",
]
