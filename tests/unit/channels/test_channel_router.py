"""`ChannelRouter`: a contact id's prefix picks its channel, which gets the id its provider
knows; read receipts and delivery confirmation follow the contact's channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from botfleet.adapters.channels.several import Channel, ChannelRouter
from botfleet.adapters.channels.telegram.payloads import TELEGRAM_CAPABILITIES
from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.whatsapp.payloads import WHATSAPP_CAPABILITIES
from botfleet.domain.outputs import Capabilities, Output, Text
from botfleet.ports.channels import SendOutcome


@dataclass
class Recording:
    capabilities: Capabilities
    reads: bool = False
    sends: list[tuple[str, int]] = field(default_factory=list)
    marked: list[tuple[str, str | None]] = field(default_factory=list)

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        self.sends.append((contact_id, len(outputs)))
        return SendOutcome(sent=len(outputs), failed=0)

    @property
    def marks_read(self) -> bool:
        return self.reads

    async def mark_read(self, message_id: str, *, contact_id: str | None = None) -> bool:
        self.marked.append((message_id, contact_id))
        return True


@pytest.fixture
def senders() -> tuple[Recording, Recording, Recording]:
    return (
        Recording(WEBCHAT_CAPABILITIES),
        Recording(TELEGRAM_CAPABILITIES),
        Recording(WHATSAPP_CAPABILITIES, reads=True),
    )


def router(senders: tuple[Recording, Recording, Recording]) -> ChannelRouter:
    web, telegram, whatsapp = senders
    return ChannelRouter(
        Channel("", web, confirms=False),
        [Channel("telegram:", telegram, confirms=True), Channel("whatsapp:", whatsapp, True)],
    )


async def test_each_send_goes_to_its_contacts_channel_with_the_providers_id(
    senders: tuple[Recording, Recording, Recording],
) -> None:
    web, telegram, whatsapp = senders
    channels = router(senders)
    await channels.send("telegram:111", [Text("a")])
    await channels.send("whatsapp:34600", [Text("b"), Text("c")])
    await channels.send("page-1", [Text("d")])
    # A web chat id that merely contains a prefix further on is the web chat's.
    await channels.send("x-telegram:1", [Text("e")])
    assert telegram.sends == [("111", 1)]
    assert whatsapp.sends == [("34600", 2)]
    assert web.sends == [("page-1", 1), ("x-telegram:1", 1)]


def test_capabilities_and_confirmation_follow_the_contact(
    senders: tuple[Recording, Recording, Recording],
) -> None:
    channels = router(senders)
    assert channels.capabilities is WEBCHAT_CAPABILITIES
    assert channels.capabilities_for("whatsapp:34600") is WHATSAPP_CAPABILITIES
    assert channels.capabilities_for("telegram:1") is TELEGRAM_CAPABILITIES
    assert channels.capabilities_for("page-1") is WEBCHAT_CAPABILITIES
    assert channels.confirms_delivery("telegram:1") is True
    assert channels.confirms_delivery("page-1") is False
    texts = (WEBCHAT_CAPABILITIES, TELEGRAM_CAPABILITIES, WHATSAPP_CAPABILITIES)
    assert channels.smallest_text == min(c.max_text for c in texts)


async def test_read_receipts_go_to_the_channel_that_sends_them(
    senders: tuple[Recording, Recording, Recording],
) -> None:
    web, telegram, whatsapp = senders
    channels = router(senders)
    assert channels.marks_read is True
    assert await channels.mark_read("whatsapp:wamid.1", contact_id="whatsapp:34600") is True
    assert whatsapp.marked == [("wamid.1", "34600")]
    # Channels without receipts (or with them off) are never asked.
    assert await channels.mark_read("telegram:1:2", contact_id="telegram:1") is False
    assert await channels.mark_read("m-1", contact_id="page-1") is False
    assert telegram.marked == [] and web.marked == []


def test_sender_of_names_each_channels_own_sender(
    senders: tuple[Recording, Recording, Recording],
) -> None:
    web, telegram, whatsapp = senders
    channels = router(senders)
    assert channels.sender_of("") is web
    assert channels.sender_of("telegram:") is telegram
    assert channels.sender_of("whatsapp:") is whatsapp
