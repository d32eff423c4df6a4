"""The "where is my order?" example of docs/connectors.md ("Answers the flow can use"), end to
end: the documented flow and binding booted by the real `bootstrap`, the data plane's own HTTP
client POSTing to a receiver on 127.0.0.1 that answers as the shop's system does. The shop's
answer reaches the contact through a template; an answer the connector does not keep sends the
flow to its not-found branch; the answer never shows in a log line. Under `botfleet test`'s
sandbox the recorder answers `response: null` and a scripted `send` gives the shop's answer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from structlog.testing import capture_logs
from webhook_receiver import Receiver, Reply, running_receiver

from botfleet.adapters.connectors.notification.answer import MAX_RESPONSE_BYTES
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.outputs import Output, Text
from botfleet.testing.runtime import bootstrap_test_runtime, make_tenant_config, text_message
from botfleet.testing.sandbox import open_sandbox, sandbox_config, tenant_flow

DOCS = Path(__file__).parents[3] / "docs" / "connectors.md"
CONTACT = "+34600111222"
#: What the contact types: the flow sends its digits only (`digits`), ORDER_NUMBER.
TYPED = "n° 10\u202f423."
ORDER_NUMBER = "10423"
#: Stands for the personal data in a shop's answer: never rendered by the flow, never logged.
PRIVATE = "ana.lopez@example.com"
SHOP_ANSWER = {"status": "shipped", "eta": "Tuesday", "email": PRIVATE}
FOUND = f"Order {ORDER_NUMBER} is shipped; it should arrive Tuesday."
NOT_FOUND = f"We have asked the team about order {ORDER_NUMBER}; they will write to you here."
JSON = {"Content-Type": "application/json"}


def docs_block(marker: str) -> dict[str, Any]:
    found = re.search(
        rf"<!-- example: {re.escape(marker)} -->\s*```[a-z]*\n(.*?)\n```",
        DOCS.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert found, f"docs/connectors.md has no block marked {marker!r}"
    loaded: dict[str, Any] = yaml.safe_load(found.group(1))
    return loaded


def documented_connectors(url: str) -> dict[str, Any]:
    connectors: dict[str, Any] = docs_block("order-status-tenant")["connectors"]
    connectors["notification.orders"]["url"] = url
    return connectors


@pytest.fixture
def shop() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@asynccontextmanager
async def order_bot(shop: Receiver) -> AsyncIterator[ConversationRuntime]:
    config = make_tenant_config(
        docs_block("order-status-flow"),
        tenant_id="shop",
        connectors=documented_connectors(shop.url),
    )
    async with bootstrap_test_runtime(config) as runtime:
        yield runtime


def texts(outputs: tuple[Output, ...] | list[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


async def ask_about_the_order(runtime: ConversationRuntime) -> list[str]:
    asked = (await runtime.handle(text_message(CONTACT, "hi"))).outputs
    assert texts(asked) == ["Hi! What is your order number?"]
    return texts((await runtime.handle(text_message(CONTACT, TYPED))).outputs)


async def test_the_shops_answer_reaches_the_contact_through_the_template(
    shop: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    shop.script = [Reply(200, JSON, body=json.dumps(SHOP_ANSWER).encode())]
    caplog.set_level(logging.DEBUG)

    with capture_logs() as logs:
        async with order_bot(shop) as runtime:
            said = await ask_about_the_order(runtime)
            state = await runtime.states.load(CONTACT)

    assert said == [FOUND]
    assert state is not None
    assert state.data["order"]["response"] == SHOP_ANSWER
    (request,) = shop.requests
    assert request.json()["event"] == "order_status_requested"
    assert request.json()["data"] == {"order_number": ORDER_NUMBER}
    shown = repr(logs) + caplog.text
    assert PRIVATE not in shown


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(200, {"Content-Type": "text/plain"}, body=b"ok"), id="plain text"),
        pytest.param(
            Reply(200, {"Content-Type": "text/html"}, body=json.dumps(SHOP_ANSWER).encode()),
            id="JSON text sent as html",
        ),
        pytest.param(Reply(200, JSON, body=b'"shipped"'), id="a JSON string"),
    ],
)
async def test_an_answer_that_is_not_a_json_object_goes_to_not_found(
    shop: Receiver, reply: Reply
) -> None:
    shop.script = [reply]

    async with order_bot(shop) as runtime:
        said = await ask_about_the_order(runtime)
        state = await runtime.states.load(CONTACT)

    assert said == [NOT_FOUND]
    assert state is not None
    assert state.data["order"]["delivered"] is True
    assert state.data["order"]["response"] is None


async def test_an_oversized_answer_gives_none_a_warning_and_never_its_content(
    shop: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    oversized = {**SHOP_ANSWER, "pad": "x" * MAX_RESPONSE_BYTES}
    shop.script = [Reply(200, JSON, body=json.dumps(oversized).encode())]
    caplog.set_level(logging.DEBUG)

    with capture_logs() as logs:
        async with order_bot(shop) as runtime:
            said = await ask_about_the_order(runtime)
            state = await runtime.states.load(CONTACT)

    assert said == [NOT_FOUND]
    assert state is not None
    assert state.data["order"]["response"] is None
    assert len(shop.requests) == 1  # delivered: not retried
    (warning,) = [e for e in logs if e["event"] == "webhook_response_too_large"]
    assert warning["log_level"] == "warning"
    assert warning["size_bytes"] > MAX_RESPONSE_BYTES
    shown = repr(logs) + caplog.text
    for part in (PRIVATE, "shipped", "xxxx"):
        assert part not in shown


async def sandbox_says(fixtures: dict[str, Any] | None = None) -> tuple[list[str], int]:
    """What the documented bot says under `botfleet test`'s sandbox, and how many notifications
    it recorded."""
    config = make_tenant_config(
        docs_block("order-status-flow"),
        tenant_id="shop",
        connectors=documented_connectors("https://shop.example.com/botfleet/orders"),
    )
    mocked = sandbox_config(config, tenant_flow(config).spec, fixtures)
    async with open_sandbox(mocked, strict=True) as bot:
        await bot.say("hi")
        said = texts(await bot.say(TYPED))
        return said, len(bot.notifications)


async def test_the_sandbox_records_the_call_and_answers_no_response() -> None:
    assert await sandbox_says() == ([NOT_FOUND], 1)


async def test_a_scripted_send_as_documented_gives_the_flow_the_shops_answer() -> None:
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"wants the shop's answer scripts.*?```yaml\n(.*?)\n```", text, re.DOTALL)
    assert found, "docs/connectors.md shows no scripted send for the order example"
    fixtures = yaml.safe_load(found.group(1))["connectors"]

    assert await sandbox_says(fixtures) == ([FOUND], 0)
