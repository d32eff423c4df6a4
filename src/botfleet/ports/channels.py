"""Channel ports: outbound senders and their capabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from botfleet.domain.messages import InboundMessage

# A domain value (degrading outputs to fit is pure domain logic), named here as well: a sender
# declares its `capabilities` through this port.
from botfleet.domain.outputs import Capabilities as Capabilities
from botfleet.domain.outputs import Output


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

    async def mark_read(self, message_id: str, *, contact_id: str | None = None) -> bool:
        """Mark the message read; failures are logged (naming `contact_id` by its hash when
        given), never raised."""
        ...


@runtime_checkable
class SendTotals(Protocol):
    """A sender that keeps running totals of what it delivered to each contact (WhatsApp's):
    the sends themselves never raise, so this is how a caller learns what became of them."""

    def sends_to(self, contact_id: str) -> tuple[int, int]:
        """(outputs delivered, outputs not delivered) to the contact so far."""
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
