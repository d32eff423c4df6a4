"""A Bot API error text that quotes the bot token back never reaches the log: the sender cuts
its secrets out of every provider text it logs (`LogContacts(secrets=...)`)."""

from __future__ import annotations

import json

import httpx
import respx
from structlog.testing import capture_logs

from botfleet.adapters.channels.log_contacts import LogContacts
from botfleet.adapters.channels.telegram import TelegramBotSender
from botfleet.domain.outputs import Text

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the conftest sender's


async def test_an_error_text_quoting_the_bot_token_is_redacted(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    key = TOKEN.partition(":")[2]
    echo = {
        "ok": False,
        "error_code": 400,
        "description": f"Bad Request: token {TOKEN} and its key {key} are wrong",
    }
    api["sendMessage"].mock(return_value=httpx.Response(400, json=echo))
    with capture_logs() as logs:
        await sender.send("111111111", [Text("hi")])
    written = json.dumps(logs, default=str)
    assert "telegram_bad_request" in written
    assert TOKEN not in written and key not in written
    assert "[redacted]" in written


def test_a_secret_holding_another_goes_whole() -> None:
    contacts = LogContacts("t", secrets=("123:abcdefghij", "abcdefghij", ""))
    assert contacts.scrub("bad 123:abcdefghij, abcdefghij") == "bad [redacted], [redacted]"
