"""In-memory stores for tests and the simulator, plus builders of sample stored values."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from botfleet.adapters.stores.memory import (
    InMemoryMessageJournal,
    InMemoryOutbox,
    InMemoryStateStore,
    InMemoryTenantStore,
)
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.flows.state import ConversationState

__all__ = [
    "SAMPLE_TIME",
    "GatedStore",
    "InMemoryMessageJournal",
    "InMemoryOutbox",
    "InMemoryStateStore",
    "InMemoryTenantStore",
    "sample_message",
    "sample_state",
]

SAMPLE_TIME = datetime(2024, 5, 6, 9, 30, tzinfo=UTC)


class GatedStore(InMemoryTenantStore):
    """In-memory stores whose turn commits wait at `gate` while it is closed: a turn caught
    between its step and its commit, as a crash would leave it. `waiting` is set once a commit
    waits there."""

    def __init__(self, *, closed: bool = False) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        if not closed:
            self.gate.set()
        self.waiting = asyncio.Event()

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        if not self.gate.is_set():
            self.waiting.set()
            await self.gate.wait()
        return await super().commit_turn(state, **fields)


def sample_state(
    contact_id: str = "contact-1", *, tenant_id: str = "tenant-1", **changes: Any
) -> ConversationState:
    """A minimal state at node `MENU`, created and updated at `SAMPLE_TIME`; override fields."""
    state = ConversationState(
        tenant_id=tenant_id,
        contact_id=contact_id,
        node="MENU",
        created_at=SAMPLE_TIME,
        updated_at=SAMPLE_TIME,
        flow_id="booking",
    )
    return replace(state, **changes)


def sample_message(
    message_id: str = "msg-1", contact_id: str = "contact-1", **changes: Any
) -> InboundMessage:
    """A text message "hola" sent at `SAMPLE_TIME`; override fields."""
    message = InboundMessage(
        message_id=message_id,
        contact_id=contact_id,
        type=MessageType.TEXT,
        timestamp=SAMPLE_TIME,
        text="hola",
    )
    return replace(message, **changes)
