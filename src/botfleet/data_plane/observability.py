"""Which tenant and contact the current turn serves, for log lines of code that is handed no
`ContactLog` (the connector resilience layer, the LLM fallback).

A `ContextVar` and not structlog's bound contextvars: asyncio copies the context into every
callback and task created during a turn (APScheduler's wake-up timer, scheduled in a turn's
`schedule_task`, re-arms itself from that copy for ever), so a binding would tag later lines of
unrelated code with a contact that is not theirs. The value names the task that set it, and
counts only in that task: a copied context elsewhere reads as "no turn".
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol


class _HashedContact(Protocol):
    @property
    def contact_hash(self) -> str: ...


_turn: ContextVar[tuple[asyncio.Task[Any] | None, str, _HashedContact] | None] = ContextVar(
    "botfleet_turn_log", default=None
)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop (a synchronous caller)
        return None


@contextmanager
def turn_identity(tenant_id: str, contact: _HashedContact) -> Iterator[None]:
    """Within the block, `turn_fields()` names `tenant_id` and `contact`'s hash. The hash is
    computed only when a line is written (most turns write none at info)."""
    token = _turn.set((_current_task(), tenant_id, contact))
    try:
        yield
    finally:
        _turn.reset(token)


def turn_fields() -> dict[str, str]:
    """`tenant` and the hashed `contact` of the turn running in this task; empty outside one."""
    current = _turn.get()
    if current is None or current[0] is not _current_task():
        return {}
    return {"tenant": current[1], "contact": current[2].contact_hash}
