"""Web chat API through its Starlette app and httpx: inbound validation, replies, outbox reads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette

from botfleet.adapters.channels.webchat import (
    MAX_BODY_BYTES,
    WEBCHAT_CAPABILITIES,
    InboundFastPath,
    build_routes,
)
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.data_plane.api.errors import install_error_handlers
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Buttons, Option, Output, Text, output_to_dict
from botfleet.ports.channels import Capabilities, TurnResult
from botfleet.web import JsonApi, under

NOW = datetime(2024, 5, 6, 9, 30, tzinfo=UTC)
MENU = Buttons("Pick one", (Option("book", "Book"), Option("cancel", "Cancel")))


class FixedClock:
    def now(self) -> datetime:
        return NOW


class EchoHandler:
    """Plays the runtime: echoes text with a menu, acknowledges choices, writes the outbox."""

    def __init__(self, outbox: InMemoryOutbox) -> None:
        self.outbox = outbox
        self.received: list[InboundMessage] = []
        self.replies: dict[str, tuple[Output, ...]] = {}
        self.script: tuple[Output, ...] | None = None  # replaces the echo when set

    async def handle(self, message: InboundMessage) -> TurnResult:
        if message.message_id in self.replies:
            return TurnResult(message.message_id, self.replies[message.message_id], True)
        self.received.append(message)
        outputs = self.script or self._echo(message)
        for output in outputs:
            await self.outbox.append(message.contact_id, output_to_dict(output), NOW)
        self.replies[message.message_id] = outputs
        return TurnResult(message.message_id, outputs)

    async def accept(self, message: InboundMessage) -> bool:
        raise AssertionError("the web chat answers in the request: it must call handle()")

    @staticmethod
    def _echo(message: InboundMessage) -> tuple[Output, ...]:
        if message.type is MessageType.TEXT:
            return (Text(f"echo: {message.text}"), MENU)
        return (Text(f"chose {message.payload}"),)


@pytest.fixture
def outbox() -> InMemoryOutbox:
    return InMemoryOutbox()


@pytest.fixture
def handler(outbox: InMemoryOutbox) -> EchoHandler:
    return EchoHandler(outbox)


def make_client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def make_app(
    handler: EchoHandler,
    outbox: InMemoryOutbox,
    *,
    prefix: str = "",
    capabilities: Capabilities | None = None,
    list_all_contacts: bool = False,
    fast: bool = False,
) -> JsonApi:
    """The routes on an app; `fast`: with `InboundFastPath` in front, as the data plane has."""
    routes = build_routes(
        handler,
        outbox,
        title="Peluquería Ana & <Co>",
        clock=FixedClock(),
        capabilities=capabilities,
        list_all_contacts=list_all_contacts,
    )
    app = JsonApi(under(prefix, routes), title="web chat")
    install_error_handlers(app)
    if fast:
        app.add_middleware(
            InboundFastPath,
            handler=handler,
            clock=FixedClock(),
            exception_handlers=app.exception_handlers,
            capabilities=capabilities,
            path=f"{prefix}/inbound",
        )
    return app


@pytest.fixture(params=[False, True], ids=["route", "fast-path"])
def fast(request: pytest.FixtureRequest) -> bool:
    """Every test runs against the route alone and with the fast path in front of it."""
    return bool(request.param)


@pytest.fixture
async def client(
    handler: EchoHandler, outbox: InMemoryOutbox, fast: bool
) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(make_app(handler, outbox, fast=fast)) as c:
        yield c


# ---------------------------------------------------------------- POST /inbound


async def test_text_message_reaches_the_handler_and_replies_come_back(
    client: httpx.AsyncClient, handler: EchoHandler
) -> None:
    response = await client.post(
        "/inbound", json={"contact_id": "web-1", "text": "hola", "contact_name": "Ana"}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["duplicate"] is False
    assert data["replies"] == [output_to_dict(Text("echo: hola")), output_to_dict(MENU)]
    (message,) = handler.received
    assert data["message_id"] == message.message_id
    assert len(message.message_id) == 32  # a uuid4 hex when the client sends none
    assert message.type is MessageType.TEXT
    assert (message.contact_id, message.text, message.contact_name) == ("web-1", "hola", "Ana")
    assert message.timestamp == NOW


@pytest.mark.parametrize("kind", ["button_reply", "list_reply"])
async def test_a_pressed_option_flows_through_as_its_payload(
    client: httpx.AsyncClient, handler: EchoHandler, kind: str
) -> None:
    body = {"contact_id": "web-1", "type": kind, "payload": "book", "title": "Book"}
    response = await client.post("/inbound", json=body)
    assert response.status_code == 200
    assert response.json()["replies"] == [{"type": "text", "text": "chose book"}]
    (message,) = handler.received
    assert message.type is MessageType(kind)
    assert (message.payload, message.text) == ("book", "Book")


async def test_an_option_with_a_long_id_can_be_pressed(
    client: httpx.AsyncClient, handler: EchoHandler
) -> None:
    # Flows and connector data put no bound on ids, and the page sends the id it was given.
    option_id = "slot_" + "x" * 400
    body = {"contact_id": "web-1", "type": "list_reply", "payload": option_id, "title": "10:00"}
    response = await client.post("/inbound", json=body)
    assert response.status_code == 200
    (message,) = handler.received
    assert message.payload == option_id


async def test_same_message_id_twice_is_flagged_duplicate_and_handled_once(
    client: httpx.AsyncClient, handler: EchoHandler
) -> None:
    body = {"contact_id": "web-1", "text": "hola", "message_id": "m-1"}
    first = (await client.post("/inbound", json=body)).json()
    second = (await client.post("/inbound", json=body)).json()
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert first["message_id"] == second["message_id"] == "m-1"
    assert second["replies"] == first["replies"]
    assert len(handler.received) == 1


async def test_replies_are_fitted_to_the_channel(
    handler: EchoHandler, outbox: InMemoryOutbox, fast: bool
) -> None:
    handler.script = (Buttons("Day?", tuple(Option(f"d{i}", f"Day {i}") for i in range(7))),)
    async with make_client(make_app(handler, outbox, fast=fast)) as c:
        (reply,) = (await c.post("/inbound", json={"contact_id": "a", "text": "x"})).json()[
            "replies"
        ]
    assert WEBCHAT_CAPABILITIES.max_buttons < 7 <= WEBCHAT_CAPABILITIES.max_list_rows
    assert reply["type"] == "list"
    assert [r["id"] for r in reply["sections"][0]["rows"]] == [f"d{i}" for i in range(7)]

    plain = Capabilities(buttons=False, lists=False)
    async with make_client(make_app(handler, outbox, capabilities=plain, fast=fast)) as c:
        (reply,) = (await c.post("/inbound", json={"contact_id": "b", "text": "x"})).json()[
            "replies"
        ]
    assert reply["type"] == "text"
    assert "1. Day 0\n2. Day 1" in reply["text"]


async def test_body_over_the_limit_is_refused_before_parsing(
    client: httpx.AsyncClient, handler: EchoHandler
) -> None:
    big = json.dumps({"contact_id": "a", "text": "x" * MAX_BODY_BYTES}).encode()
    response = await client.post(
        "/inbound", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["detail"]
    assert handler.received == []


@pytest.mark.parametrize(("size", "status"), [(MAX_BODY_BYTES, 200), (MAX_BODY_BYTES + 1, 413)])
async def test_body_size_limit_is_exact(client: httpx.AsyncClient, size: int, status: int) -> None:
    head, tail = b'{"contact_id": "a", "text": "hi"', b"}"
    body = head + b" " * (size - len(head) - len(tail)) + tail  # JSON allows the padding
    assert len(body) == size
    response = await client.post("/inbound", content=body)
    assert response.status_code == status


async def test_body_over_the_limit_without_honest_content_length_is_refused(
    client: httpx.AsyncClient, handler: EchoHandler
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 8192

    streamed = await client.post("/inbound", content=chunks())  # chunked: no Content-Length
    assert streamed.status_code == 413
    lying = await client.post(
        "/inbound", content=b"y" * (MAX_BODY_BYTES + 10), headers={"content-length": "10"}
    )
    assert lying.status_code == 413
    assert handler.received == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"text": "hola"}, ["body", "contact_id"]),
        ({"contact_id": "", "text": "hola"}, ["body", "contact_id"]),
        ({"contact_id": "x" * 129, "text": "hola"}, ["body", "contact_id"]),
        ({"contact_id": "bad id/../", "text": "hola"}, ["body", "contact_id"]),
        ({"contact_id": "a", "text": "x" * 4097}, ["body", "text"]),
        ({"contact_id": "a", "text": ""}, ["body", "text"]),
        ({"contact_id": "a", "text": "  \n"}, ["body", "text"]),
        ({"contact_id": "a"}, ["body", "text"]),
        ({"contact_id": "a", "text": 5}, ["body", "text"]),
        ({"contact_id": "a", "text": "hi", "payload": "book"}, ["body", "payload"]),
        ({"contact_id": "a", "text": "hi", "title": "Book"}, ["body", "title"]),
        ({"contact_id": "a", "type": "button_reply"}, ["body", "payload"]),
        ({"contact_id": "a", "type": "list_reply", "payload": ""}, ["body", "payload"]),
        (
            {"contact_id": "a", "type": "button_reply", "payload": "p", "text": "t"},
            ["body", "text"],
        ),
        ({"contact_id": "a", "type": "button_reply", "payload": "p" * 4097}, ["body", "payload"]),
        ({"contact_id": "a", "type": "image", "text": "hi"}, ["body", "type"]),
        ({"contact_id": "a", "text": "hi", "message_id": "has space"}, ["body", "message_id"]),
        ({"contact_id": "a", "text": "hi", "contact_name": "n" * 129}, ["body", "contact_name"]),
        ({"contact_id": "a", "text": "hi", "admin": True}, ["body", "admin"]),
        ([{"contact_id": "a", "text": "hi"}], ["body"]),
    ],
)
async def test_invalid_bodies_get_422_naming_the_field(
    client: httpx.AsyncClient, handler: EchoHandler, body: object, loc: list[str]
) -> None:
    response = await client.post("/inbound", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [e["loc"] for e in detail] == [loc]
    assert detail[0]["msg"]
    assert handler.received == []


async def test_combination_errors_say_what_to_send(client: httpx.AsyncClient) -> None:
    response = await client.post("/inbound", json={"contact_id": "a", "type": "button_reply"})
    assert "payload" in response.json()["detail"][0]["msg"]


async def test_broken_json_gets_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/inbound", content=b'{"contact_id": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert error["type"] == "json_invalid"


# ---------------------------------------------------------------- GET /messages


async def fill(outbox: InMemoryOutbox, rows: Sequence[tuple[str, str]]) -> None:
    for contact, text in rows:
        await outbox.append(contact, output_to_dict(Text(text)), NOW)


async def test_messages_are_read_per_contact_after_a_cursor(
    client: httpx.AsyncClient, outbox: InMemoryOutbox
) -> None:
    await fill(outbox, [("a", "a1"), ("b", "b1"), ("a", "a2"), ("a", "a3"), ("b", "b2")])
    page = (await client.get("/messages", params={"contact_id": "a"})).json()
    assert [m["output"]["text"] for m in page["messages"]] == ["a1", "a2", "a3"]
    assert [m["seq"] for m in page["messages"]] == [1, 3, 4]
    assert page["last"] == 4
    first = page["messages"][0]
    assert first["contact_id"] == "a"
    assert datetime.fromisoformat(first["at"]) == NOW

    later = (await client.get("/messages", params={"contact_id": "a", "since": 3})).json()
    assert [m["output"]["text"] for m in later["messages"]] == ["a3"]

    limited = (await client.get("/messages", params={"contact_id": "a", "limit": 2})).json()
    assert [m["seq"] for m in limited["messages"]] == [1, 3]
    assert limited["last"] == 3


async def test_an_empty_page_keeps_the_cursor(
    client: httpx.AsyncClient, outbox: InMemoryOutbox
) -> None:
    await fill(outbox, [("a", "a1")])
    page = (await client.get("/messages", params={"contact_id": "a", "since": 7})).json()
    assert page == {"messages": [], "last": 7}


async def test_replies_to_inbound_are_in_the_outbox_too(client: httpx.AsyncClient) -> None:
    await client.post("/inbound", json={"contact_id": "web-9", "text": "hola"})
    page = (await client.get("/messages", params={"contact_id": "web-9"})).json()
    assert [m["output"]["type"] for m in page["messages"]] == ["text", "buttons"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"contact_id": "a", "since": -1}, ["query", "since"]),
        ({"contact_id": "a", "since": "abc"}, ["query", "since"]),
        ({"contact_id": "a", "limit": 0}, ["query", "limit"]),
        ({"contact_id": "a", "limit": 501}, ["query", "limit"]),
        ({"contact_id": "bad id"}, ["query", "contact_id"]),
        ({}, ["query", "contact_id"]),
    ],
)
async def test_bad_message_queries_get_422(
    client: httpx.AsyncClient, params: dict[str, object], loc: list[str]
) -> None:
    response = await client.get("/messages", params=params)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [loc]


async def test_all_contacts_can_be_listed_only_when_enabled(
    handler: EchoHandler, outbox: InMemoryOutbox
) -> None:
    await fill(outbox, [("a", "a1"), ("b", "b1")])
    async with make_client(make_app(handler, outbox, list_all_contacts=True)) as c:
        # asked as localhost: a DNS name may be a rebound page's (tests/hostile)
        page = (await c.get("http://localhost/messages")).json()
    assert [m["contact_id"] for m in page["messages"]] == ["a", "b"]


# ---------------------------------------------------------------- mounting


async def test_router_works_under_a_prefix(
    handler: EchoHandler, outbox: InMemoryOutbox, fast: bool
) -> None:
    async with make_client(make_app(handler, outbox, prefix="/chat", fast=fast)) as c:
        assert (await c.get("/chat/")).status_code == 200
        assert (await c.get("/chat/chat.js")).status_code == 200
        sent = await c.post("/chat/inbound", json={"contact_id": "a", "text": "hi"})
        assert sent.status_code == 200
        read = await c.get("/chat/messages", params={"contact_id": "a"})
        assert len(read.json()["messages"]) == 2


def test_openapi_describes_the_inbound_body(handler: EchoHandler, outbox: InMemoryOutbox) -> None:
    spec = make_app(handler, outbox).openapi()
    body = spec["paths"]["/inbound"]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"]
    assert ref == "#/components/schemas/InboundBody"
    schema = spec["components"]["schemas"]["InboundBody"]
    assert set(schema["properties"]) >= {"contact_id", "text", "type", "payload"}
    assert "/messages" in spec["paths"]
    assert "/" not in spec["paths"]  # the page and scripts are not API


WAIT_VALUES = ["true", "false", "1", "0", "yes", "no", "on", "off", "TRUE", "False", "t", "f"]
WAIT_VALUES += ["y", "n", "", "maybe", "2", "truee", " true"]


@pytest.mark.parametrize("value", WAIT_VALUES)
async def test_wait_is_read_exactly_as_a_declared_bool_query_parameter(
    value: str, client: httpx.AsyncClient, handler: EchoHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`wait` is parsed by hand (cheaper per turn); FastAPI's own parsing is the reference."""

    async def accept(message: InboundMessage) -> bool:
        return True

    monkeypatch.setattr(handler, "accept", accept)
    reference = FastAPI()

    @reference.post("/inbound")
    async def declared(wait: bool = True) -> dict[str, bool]:
        return {"wait": wait}

    async with make_client(reference) as ref:
        expected = await ref.post("/inbound", params={"wait": value})
    got = await client.post(
        "/inbound", params={"wait": value}, json={"contact_id": "w", "text": "hi"}
    )
    if expected.status_code == 422:
        assert got.status_code == 422
        assert [e["loc"] for e in got.json()["detail"]] == [["query", "wait"]]
        assert got.json()["detail"][0]["type"] == expected.json()["detail"][0]["type"]
    else:
        assert got.status_code == (200 if expected.json()["wait"] else 202)


async def test_wait_defaults_to_true(client: httpx.AsyncClient) -> None:
    response = await client.post("/inbound", json={"contact_id": "w", "text": "hi"})
    assert response.status_code == 200
    assert response.json()["replies"]


def test_openapi_describes_the_wait_parameter(handler: EchoHandler, outbox: InMemoryOutbox) -> None:
    spec = make_app(handler, outbox).openapi()
    [wait] = spec["paths"]["/inbound"]["post"]["parameters"]
    assert (wait["name"], wait["in"], wait["required"]) == ("wait", "query", False)
    assert wait["schema"]["type"] == "boolean"
    assert wait["schema"]["default"] is True
