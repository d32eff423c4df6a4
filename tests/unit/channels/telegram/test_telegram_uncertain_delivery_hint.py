"""As for WhatsApp: a Bot API call sent without an answer (a read timeout) may have been
delivered and is not retried; its line says so, not "Telegram could not be reached"."""

from __future__ import annotations

import httpx
import respx
import structlog

from botfleet.adapters.channels.telegram import TelegramBotSender
from botfleet.domain.outputs import Text

CHAT = "111111111"


async def test_a_read_timeout_says_the_message_may_have_been_delivered(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    route = api["sendMessage"].mock(side_effect=httpx.ReadTimeout("slow"))
    with structlog.testing.capture_logs() as logs:
        await sender.send(CHAT, [Text("hi")])

    assert route.call_count == 1
    (line,) = [e for e in logs if e["event"] == "telegram_delivery_uncertain"]
    assert line["hint"] == (
        "the request was sent but no answer came back: the message may have been delivered; "
        "it is not retried, to avoid sending it twice"
    )


async def test_a_refused_connection_says_telegram_could_not_be_reached(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    api["sendMessage"].mock(side_effect=httpx.ConnectError("refused"))
    with structlog.testing.capture_logs() as logs:
        await sender.send(CHAT, [Text("hi")])

    (line,) = [e for e in logs if e["event"] == "telegram_unreachable"]
    assert line["hint"] == "Telegram could not be reached: the request was not sent"
