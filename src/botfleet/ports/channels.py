"""Channel ports: outbound senders and their capabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Output


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can show; outputs beyond these limits are degraded to fit."""

    buttons: bool = True
    max_buttons: int = 3
    max_button_title: int = 20
    lists: bool = True
    max_list_rows: int = 10
    max_row_title: int = 24
    max_row_description: int = 72
    max_text: int = 4096
    templates: bool = False


class OutboundSender(Protocol):
    capabilities: Capabilities

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> None:
        """Deliver outputs (already degraded to `capabilities`) to the contact."""
        ...


@runtime_checkable
class ReadReceipts(Protocol):
    """A sender that can tell the provider an inbound message was read (WhatsApp's ticks)."""

    @property
    def marks_read(self) -> bool:
        """Whether the tenant wants read receipts sent."""
        ...

    async def mark_read(self, message_id: str) -> bool:
        """Mark the message read; failures are logged, never raised."""
        ...


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What processing one inbound message produced (already degraded for the channel)."""

    message_id: str
    outputs: tuple[Output, ...]
    duplicate: bool = False


class InboundHandler(Protocol):
    """The data plane runtime as channels see it: persist, process in order, reply."""

    async def handle(self, message: InboundMessage) -> TurnResult:
        """Persist the message, run the turn (per-contact order), return its outputs."""
        ...

    async def accept(self, message: InboundMessage) -> bool:
        """Persist the message and process it in the background; False for a duplicate."""
        ...
