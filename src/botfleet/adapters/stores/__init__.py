"""Store adapters: in-memory (dev and tests) and one SQLite file per tenant.

Both kinds implement `botfleet.ports.stores` (StateStore, MessageJournal, OutboxStore, and
TurnStore on the tenant store itself) with the same behaviour; `tests/contract/` runs one
suite against each.
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
    SqliteTurnStore,
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
    "SqliteTurnStore",
]
