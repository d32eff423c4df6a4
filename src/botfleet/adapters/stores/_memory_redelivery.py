"""`RedeliveryQueue` in memory (`InMemoryTenantStore.redelivery`): tests and the in-memory
demo. Lost with the process, as the rest of the in-memory stores."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from botfleet.adapters.stores import codec
from botfleet.ports.redelivery import QueuedCall


class InMemoryRedeliveryQueue:
    def __init__(self) -> None:
        self._calls: dict[str, QueuedCall] = {}

    async def add(self, call: QueuedCall) -> bool:
        if call.key in self._calls:
            return False
        # As the SQLite table keeps them: JSON, read back as new values.
        params = codec.loads(codec.checked_dumps(dict(call.params), "params"))
        self._calls[call.key] = dataclasses.replace(call, params=params)
        return True

    async def due(self, now: datetime, *, limit: int) -> list[QueuedCall]:
        due = [c for c in self._calls.values() if c.next_at <= now]
        return sorted(due, key=lambda c: (c.next_at, c.key))[:limit]

    async def retry_later(
        self, key: str, *, next_at: datetime, attempts: int, last_error: str
    ) -> None:
        call = self._calls.get(key)
        if call is not None:
            self._calls[key] = dataclasses.replace(
                call, next_at=next_at, attempts=attempts, last_error=last_error
            )

    async def remove(self, key: str) -> None:
        self._calls.pop(key, None)

    async def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self._calls.values():
            counts[call.connector] = counts.get(call.connector, 0) + 1
        return counts

    async def of_contact(self, contact_id: str) -> list[QueuedCall]:
        calls = [c for c in self._calls.values() if c.contact_id == contact_id]
        return sorted(calls, key=lambda c: (c.next_at, c.key))

    def move_contact(self, old_contact_id: str, new_contact_id: str) -> None:
        """The contact's calls under its new id (part of `move_conversation`)."""
        for key, call in list(self._calls.items()):
            if call.contact_id == old_contact_id:
                self._calls[key] = dataclasses.replace(call, contact_id=new_contact_id)

    def erase_contact(self, contact_id: str) -> int:
        """Forget the contact's calls, at once (part of `InMemoryContactRecords.erase`)."""
        keys = [k for k, c in self._calls.items() if c.contact_id == contact_id]
        for key in keys:
            del self._calls[key]
        return len(keys)
