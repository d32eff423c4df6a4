"""One tenant on several channels: the runtime sees one sender and one id space.

Outbound, `ChannelRouter` is the runtime's sender: a contact id's prefix (`telegram:`, from
`botfleet.domain.channel_ids`) picks the channel, which gets the id as its provider knows it.
Inbound, each channel's routes talk to a `ChannelSide` of the runtime, which prefixes the ids of
what it passes on and strips them from what it gives back, and hands the webhooks their own
channel's sender (read receipts, callback answers). Written here rather than in each adapter:
the adapters stay unaware that they share a runtime.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Output
from botfleet.ports.channels import (
    Capabilities,
    ReadReceipts,
    SendOutcome,
    TurnResult,
    TypingIndicator,
    TypingRule,
)
from botfleet.web import InvalidRequest


@dataclass(frozen=True, slots=True)
class Channel:
    """One of a tenant's channels as the router sends through it."""

    #: "" for the tenant's own `channel` (its ids as the provider gives them), else `kind:`.
    prefix: str
    sender: Any
    #: Whether its sends are confirmed (a provider channel: outputs committed just before a
    #: crash are sent at start); the web chat's page reads the outbox instead.
    confirms: bool


class ChannelRouter:
    """The runtime's `OutboundSender` (and `ReadReceipts`) for a tenant on several channels."""

    def __init__(self, primary: Channel, more: Sequence[Channel]) -> None:
        self.primary = primary
        self.more = tuple(more)
        # The tenant's own channel's: what a caller that does not ask per contact gets.
        self.capabilities: Capabilities = primary.sender.capabilities

    def channel_of(self, contact_id: str) -> Channel:
        """The channel of a (stored) contact id."""
        for channel in self.more:
            if contact_id.startswith(channel.prefix):
                return channel
        return self.primary

    def sender_of(self, prefix: str) -> Any:
        """The sender of the channel whose ids start with `prefix` ("": the tenant's own)."""
        return next((c.sender for c in self.more if c.prefix == prefix), self.primary.sender)

    def capabilities_for(self, contact_id: str) -> Capabilities:
        capabilities: Capabilities = self.channel_of(contact_id).sender.capabilities
        return capabilities

    def confirms_delivery(self, contact_id: str) -> bool:
        return self.channel_of(contact_id).confirms

    @property
    def smallest_text(self) -> int:
        """The shortest text any of the channels takes in one message (the LLM's answers fit
        all)."""
        channels = (self.primary, *self.more)
        return min(int(c.sender.capabilities.max_text) for c in channels)

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome | None:
        channel = self.channel_of(contact_id)
        sent: SendOutcome | None = await channel.sender.send(
            contact_id.removeprefix(channel.prefix), outputs
        )
        return sent

    @property
    def marks_read(self) -> bool:
        return any(_reads(c.sender) for c in (self.primary, *self.more))

    async def mark_read(self, message_id: str, *, contact_id: str | None = None) -> bool:
        """Through the contact's channel, when it sends read receipts."""
        channel = self.primary if contact_id is None else self.channel_of(contact_id)
        if not _reads(channel.sender):
            return False
        native = None if contact_id is None else contact_id.removeprefix(channel.prefix)
        marked: bool = await channel.sender.mark_read(
            message_id.removeprefix(channel.prefix), contact_id=native
        )
        return marked

    def typing_rule(self, contact_id: str) -> TypingRule | None:
        """`TypingIndicator`: the contact's channel's rule; None for one that shows none."""
        channel = self.channel_of(contact_id)
        if not isinstance(channel.sender, TypingIndicator):
            return None
        return channel.sender.typing_rule(contact_id.removeprefix(channel.prefix))

    async def show_typing(self, contact_id: str, message_id: str) -> bool:
        """Through the contact's channel, with the ids as its provider knows them."""
        channel = self.channel_of(contact_id)
        if not isinstance(channel.sender, TypingIndicator):
            return False
        shown: bool = await channel.sender.show_typing(
            contact_id.removeprefix(channel.prefix), message_id.removeprefix(channel.prefix)
        )
        return shown


def _reads(sender: object) -> bool:
    return isinstance(sender, ReadReceipts) and sender.marks_read


class ChannelSide:
    """The runtime as one channel's routes see it: `prefix` on every id they pass, stripped
    from every id they get back; `reserved` (other channel kinds' prefixes) refused from a web
    chat page, which chooses its own ids."""

    def __init__(self, runtime: Any, prefix: str, *, reserved: Sequence[str] = ()) -> None:
        self.runtime = runtime
        self.prefix = prefix
        self.reserved = tuple(reserved)

    @property
    def sender(self) -> object:
        """This channel's own sender (webhooks send read receipts and callback answers)."""
        sender = self.runtime.sender
        return sender.sender_of(self.prefix) if isinstance(sender, ChannelRouter) else sender

    def _stored(self, message: InboundMessage) -> InboundMessage:
        self._check(message.contact_id, "contact_id")
        self._check(message.message_id, "message_id")
        if not self.prefix:
            return message
        extra = message.extra
        replied = extra.get("reply_to") if extra else None
        if isinstance(replied, str) and replied:
            # The message quoted, named as its own message id is: `message.extra.reply_to`
            # equals `message.id` of the contact's message it quotes.
            extra = {**extra, "reply_to": self.prefix + replied}
        return replace(
            message,
            contact_id=self.prefix + message.contact_id,
            message_id=self.prefix + message.message_id,
            extra=extra,
        )

    def _check(self, value: str, field: str, where: str = "body") -> None:
        for prefix in self.reserved:
            if value.startswith(prefix):
                raise InvalidRequest(
                    [
                        {
                            "type": "value_error",
                            "loc": (where, field),
                            "msg": f"Value error, must not start with {prefix!r}: such ids are "
                            f"{prefix[:-1]} contacts' on a tenant with several channels",
                            "input": None,
                        }
                    ]
                )

    async def handle(self, message: InboundMessage) -> TurnResult:
        result: TurnResult = await self.runtime.handle(self._stored(message))
        # The tenant's own channel (the web chat alone, on every web chat turn) keeps its ids.
        return replace(result, message_id=message.message_id) if self.prefix else result

    async def accept(self, message: InboundMessage, *, admitted: bool = False) -> bool:
        accepted: bool = await self.runtime.accept(self._stored(message), admitted=admitted)
        return accepted

    def after_turns(self, contact_id: str, job: Callable[[], Awaitable[object]]) -> None:
        self.runtime.after_turns(self.prefix + contact_id, job)

    def move_contact(self, old_contact_id: str, new_contact_id: str) -> asyncio.Future[Any]:
        moving: asyncio.Future[Any] = self.runtime.move_contact(
            self.prefix + old_contact_id, self.prefix + new_contact_id
        )
        return moving

    async def append(self, contact_id: str, output: dict[str, Any], at: datetime) -> int:
        self._check(contact_id, "contact_id")
        seq: int = await self.runtime.append(self.prefix + contact_id, output, at)
        return seq

    async def since(
        self, *, contact_id: str | None = None, since: int = 0, limit: int = 200
    ) -> list[dict[str, Any]]:
        if contact_id is None:  # every contact's: only the seed's http_dev, never beside others
            rows: list[dict[str, Any]] = await self.runtime.since(since=since, limit=limit)
            return rows
        self._check(contact_id, "contact_id", where="query")
        rows = await self.runtime.since(
            contact_id=self.prefix + contact_id, since=since, limit=limit
        )
        if not self.prefix:
            return rows
        return [{**row, "contact_id": contact_id} for row in rows]
