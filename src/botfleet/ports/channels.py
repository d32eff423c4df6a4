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


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What became of the outputs of one `OutboundSender.send`.

    `sent`: delivered to the channel (accepted by the provider; for the web chat, in the outbox
    its page reads). `failed`: not delivered (refused, or not tried after an error that made the
    contact unreachable). Together they are the outputs the send was given.
    """

    sent: int
    failed: int


#: No outputs: nothing was sent, nothing failed.
NOTHING_SENT = SendOutcome(sent=0, failed=0)


class OutboundSender(Protocol):
    capabilities: Capabilities

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome | None:
        """Deliver outputs (already degraded to `capabilities`) to the contact.

        The provider's refusals are not raised: the outcome says what became of the outputs,
        None when the sender cannot tell (a sender declared `-> None` fits this port). An
        error raised leaves it unknown too (the runtime logs it; the turn stays committed).
        """
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


@dataclass(frozen=True, slots=True)
class TypingRule:
    """When a channel shows a contact "typing…" while their reply is being prepared."""

    #: A message's turn still running after this long shows it (a slow calendar, the LLM).
    after_s: float
    #: How long one showing lasts on the provider's side unless a message ends it first; a
    #: turn still running is shown it again a little before.
    lasts_s: float


@runtime_checkable
class TypingIndicator(Protocol):
    """A sender that can show a contact that a reply is on its way (WhatsApp, Telegram)."""

    def typing_rule(self, contact_id: str) -> TypingRule | None:
        """When to show it to the contact; None: never (the tenant turned it off)."""
        ...

    async def show_typing(self, contact_id: str, message_id: str) -> bool:
        """Show it once, in answer to the message `message_id`; one attempt (it is only a
        courtesy, and a late one would outlast the reply); failures are logged, never raised."""
        ...


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What processing one inbound message produced (already degraded for the channel)."""

    message_id: str
    outputs: tuple[Output, ...]
    duplicate: bool = False
    #: The outbox sequence number of each of `outputs`, in order (`TurnStore.commit_turn`'s
    #: `seqs`); None when not known (a message journaled before the store kept them).
    seqs: tuple[int, ...] | None = None
    #: The language of the platform's own words for this conversation on this turn, as the
    #: flow chose it (`StepOutcome.language`: its `settings.language` as rendered, else the
    #: contact's when the channel gives one); "" when there is none, and for a duplicate (the
    #: journal keeps no language): the tenant's `language` applies. A channel whose own
    #: frame has words (the web chat page) follows it.
    language: str = ""


class InboundHandler(Protocol):
    """The data plane runtime as channels see it: persist, process in order, reply."""

    async def handle(self, message: InboundMessage) -> TurnResult:
        """Persist the message, run the turn (per-contact order), return its outputs."""
        ...

    async def accept(self, message: InboundMessage) -> bool:
        """Persist the message and process it in the background; False for a duplicate."""
        ...
