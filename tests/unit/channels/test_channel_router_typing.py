"""`ChannelRouter` and "typing…": the contact's channel's rule, shown through that channel with
the ids its provider knows; a channel without an indicator (the web chat) shows none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from botfleet.adapters.channels.several import Channel, ChannelRouter
from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES
from botfleet.domain.outputs import Capabilities, Output
from botfleet.ports.channels import SendOutcome, TypingIndicator, TypingRule


@dataclass
class Plain:
    capabilities: Capabilities = WEBCHAT_CAPABILITIES

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        return SendOutcome(sent=len(outputs), failed=0)


@dataclass
class Typing(Plain):
    rule: TypingRule = TypingRule(1.0, 5.0)  # noqa: RUF009 (frozen: shared safely)
    asked: list[str] = field(default_factory=list)
    shown: list[tuple[str, str]] = field(default_factory=list)

    def typing_rule(self, contact_id: str) -> TypingRule | None:
        self.asked.append(contact_id)
        return self.rule

    async def show_typing(self, contact_id: str, message_id: str) -> bool:
        self.shown.append((contact_id, message_id))
        return True


async def test_typing_follows_the_contacts_channel() -> None:
    web, telegram = Plain(), Typing(rule=TypingRule(0.5, 5.0))
    channels = ChannelRouter(
        Channel("", web, confirms=False), [Channel("telegram:", telegram, True)]
    )
    assert isinstance(channels, TypingIndicator)
    assert channels.typing_rule("page-7") is None  # the web chat's page shows its own
    assert channels.typing_rule("telegram:4242") == TypingRule(0.5, 5.0)
    assert telegram.asked == ["4242"]
    assert await channels.show_typing("page-7", "m1") is False
    assert await channels.show_typing("telegram:4242", "telegram:88") is True
    assert telegram.shown == [("4242", "88")]
