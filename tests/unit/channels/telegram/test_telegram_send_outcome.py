"""What `send` returns, a `SendOutcome`: the outputs of that one send Telegram accepted (`sent`)
and the others (`failed`): refused in whole or in part, not tried after an error that makes the
chat unreachable, or not sent at all to a chat known to be unreachable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import respx

from botfleet.adapters.channels.telegram import TelegramBotSender
from botfleet.domain.outputs import Text
from botfleet.ports.channels import SendOutcome

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
CHAT = "111111111"


def answer(status: int, name: str) -> httpx.Response:
    body: Any = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return httpx.Response(status, json=body)


OK = answer(200, "api_send_ok")
BAD_REQUEST = httpx.Response(
    400, json={"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities"}
)


async def test_each_send_reports_its_own_outputs(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    assert await sender.send(CHAT, [Text("a"), Text("b")]) == SendOutcome(sent=2, failed=0)
    assert await sender.send(CHAT, [Text("c")]) == SendOutcome(sent=1, failed=0)
    assert await sender.send(CHAT, []) == SendOutcome(sent=0, failed=0)


async def test_a_blocked_bot_fails_the_output_and_those_not_tried_after_it(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    route = api["sendMessage"].mock(side_effect=[OK, answer(403, "api_error_403_blocked")])
    outcome = await sender.send(CHAT, [Text("a"), Text("b"), Text("c")])
    assert route.call_count == 2  # "c" is not tried
    assert outcome == SendOutcome(sent=1, failed=2)
    # Remembered as unreachable: the next send tries nothing, and reports it all failed.
    assert await sender.send(CHAT, [Text("d"), Text("e")]) == SendOutcome(sent=0, failed=2)
    assert route.call_count == 2


async def test_a_bad_request_fails_its_output_alone(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    route = api["sendMessage"].mock(side_effect=[BAD_REQUEST, OK])
    assert await sender.send(CHAT, [Text("a"), Text("b")]) == SendOutcome(sent=1, failed=1)
    assert route.call_count == 2


async def test_a_message_sent_again_to_the_supergroup_a_group_became_is_sent(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    route = api["sendMessage"].mock(side_effect=[answer(400, "api_error_400_migrated"), OK, OK])
    outcome = await sender.send("-4012345678", [Text("one"), Text("two")])
    assert route.call_count == 3
    assert outcome == SendOutcome(sent=2, failed=0)
