"""The widget's browser tests' two sides: a bot behind the web chat that tells how many
characters it got, and the business's own site with the widget's tag as docs/channels.md shows
it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Text, output_to_dict
from botfleet.ports.channels import TurnResult

CHANNELS_DOC = Path(__file__).parents[3] / "docs" / "channels.md"


class EchoBot:
    """Answers "You said <n> characters", keeps every text."""

    def __init__(self, outbox: InMemoryOutbox) -> None:
        self.outbox = outbox
        self.texts: list[str] = []

    async def handle(self, message: InboundMessage) -> TurnResult:
        self.texts.append(message.text or "")
        reply = Text(f"You said {len(message.text or '')} characters")
        seq = await self.outbox.append(message.contact_id, output_to_dict(reply), datetime.now(UTC))
        return TurnResult(message.message_id, (reply,), seqs=(seq,))

    async def accept(self, message: InboundMessage) -> bool:
        raise AssertionError("the page always waits for the answer")


def documented_tag(chat_url: str) -> str:
    """The embed snippet of docs/channels.md ("Web chat"), with the data plane's address."""
    text = CHANNELS_DOC.read_text(encoding="utf-8")
    found = re.search(r'<script src="https://<data plane host>/widget\.js"[^\n]*</script>', text)
    assert found, "docs/channels.md no longer shows the widget's tag"
    return found[0].replace("https://<data plane host>/", chat_url)


def salon_page(chat_url: str, head: str = "") -> str:
    """Bella Salon's home page: `head`, a link of its own, then the documented tag."""
    return (
        f"<!doctype html><html lang='en'>{head}<title>Bella Salon</title>"
        "<link rel='icon' href='data:,'><h1>Bella Salon</h1><a href='#prices'>Prices</a>"
        + documented_tag(chat_url)
        + "</html>"
    )
