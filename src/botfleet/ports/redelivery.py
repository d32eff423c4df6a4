"""Redelivery port: connector calls kept to be made again later, when their back end was down.

A notification the business must get (a booking for its CRM, a message to its Slack) that
fails after its retries, because the receiver is down, slow or refused by an open breaker, is
kept here instead of lost, and made again later with the same idempotency key (the receiver
sees the same `Idempotency-Key`) until it is delivered or its binding's `redeliver_for` runs
out. Only connectors that say so (`Redeliverable`) are redelivered: a calendar booking made an
hour late would not be the booking the contact confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class QueuedCall:
    """One call waiting to be made again."""

    #: The call's idempotency key: one queued call per key (a turn replayed after a crash
    #: queues the same call once).
    key: str
    #: The binding (`notification`, `notification.crm`).
    connector: str
    operation: str
    #: The call's params as the flow rendered them (JSON values).
    params: Mapping[str, Any]
    #: The contact whose turn made the call (erased with them); None for a standing task's.
    contact_id: str | None
    #: When the call first failed: `redeliver_for` counts from it.
    queued_at: datetime
    #: When it is next tried.
    next_at: datetime
    #: Attempts made since it was queued (each with the policy's own retries).
    attempts: int = 0
    #: The last failure: its kind and message (no params, no URL).
    last_error: str = ""


class RedeliveryQueue(Protocol):
    """Durable storage of `QueuedCall`s (the tenant's state file)."""

    async def add(self, call: QueuedCall) -> bool:
        """Keep `call`; False (and nothing changed) when its key is kept already."""
        ...

    async def due(self, now: datetime, *, limit: int) -> list[QueuedCall]:
        """The calls whose `next_at` is not after `now`, the earliest first, at most `limit`."""
        ...

    async def retry_later(
        self, key: str, *, next_at: datetime, attempts: int, last_error: str
    ) -> None:
        """Record a failed attempt of the call `key` and when to try it next."""
        ...

    async def remove(self, key: str) -> None:
        """Forget the call `key` (delivered, or given up); nothing when it is not kept."""
        ...

    async def counts(self) -> dict[str, int]:
        """binding -> calls waiting."""
        ...

    async def of_contact(self, contact_id: str) -> list[QueuedCall]:
        """The contact's calls waiting (a person's request to see their data)."""
        ...


@runtime_checkable
class Redeliverable(Protocol):
    """A connector whose failed calls may be made again later (the webhook's `send`)."""

    #: How long a failed call is kept trying; None: not redelivered (the binding's choice).
    redeliver_for: timedelta | None
    #: The operations that may be.
    redeliverable_operations: frozenset[str]

    def queued_answer(self, operation: str, params: Mapping[str, Any], key: str) -> Any:
        """What the flow gets for a call kept for later (`result_key`), in place of the
        back end's answer."""
        ...
