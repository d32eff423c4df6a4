"""`botfleet.web`: Starlette routes with FastAPI's error shapes and a generated OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from botfleet.web import JsonApi, Operation, json_body, query_of, read_body, under
from botfleet.web.openapi import SWAGGER_UI_VERSION

LIMIT = 64


class Page(BaseModel):
    since: int = Field(default=0, ge=0, description="Cursor already seen")
    name: str | None = Field(default=None, alias="hub.name", max_length=5)


class Item(BaseModel):
    sku: str
    qty: int = Field(ge=1)


class Order(BaseModel):
    items: list[Item]
    secret_note: str = ""


class Placed(BaseModel):
    count: int


async def page(request: Request) -> Response:
    """Items after the cursor."""
    query = query_of(Page, request)
    return JSONResponse({"since": query.since, "name": query.name})


async def place(request: Request) -> Response:
    order = json_body(Order, await read_body(request, LIMIT))
    return JSONResponse(Placed(count=len(order.items)).model_dump())


async def guarded(request: Request) -> Response:
    raise HTTPException(401, "token needed", headers={"WWW-Authenticate": "Bearer"})


async def hidden(request: Request) -> Response:
    return Response("<p>page</p>", media_type="text/html")


OPERATIONS = [
    Operation("GET", "/items", page, summary="List", tags=("shop",), query=Page),
    Operation("POST", "/orders", place, body=Order, answer=Placed, responses={413: "Too large"}),
    Operation("GET", "/guarded", guarded),
    Operation("GET", "/", hidden, in_schema=False),
]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = JsonApi(OPERATIONS, title="Shop <&>")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_query_parameters_are_validated_by_alias_and_the_last_repeat_wins(
    client: httpx.AsyncClient,
) -> None:
    got = await client.get("/items?since=3&since=7&hub.name=ana&unknown=1")
    assert got.status_code == 200
    assert got.json() == {"since": 7, "name": "ana"}


async def test_a_bad_query_parameter_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    got = await client.get("/items", params={"since": "-1", "hub.name": "toolong"})
    assert got.status_code == 422
    detail = got.json()["detail"]
    assert [e["loc"] for e in detail] == [["query", "since"], ["query", "hub.name"]]
    assert detail[0]["type"] == "greater_than_equal"
    assert detail[0]["input"] == "-1"


async def test_a_bad_body_is_a_422_naming_each_field_without_echoing_values(
    client: httpx.AsyncClient,
) -> None:
    got = await client.post("/orders", json={"items": [{"sku": "a", "qty": 0}], "secret_note": 5})
    assert got.status_code == 422
    detail = got.json()["detail"]
    assert sorted(tuple(e["loc"]) for e in detail) == [
        ("body", "items", 0, "qty"),
        ("body", "secret_note"),
    ]
    assert all("input" not in e for e in detail)
    broken = await client.post("/orders", content=b"{")
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"items": [], "secret_note": "x\\ud800"}', "is half of a surrogate pair (a lone"),
        (b'{"items": [], "secret_note": "\\udc00"}', "is half of a surrogate pair (a lone"),
        (b'{"items": [], "secret_note": "\xff"}', "Invalid JSON: the body is not UTF-8 text at"),
    ],
)
async def test_a_lone_surrogate_or_bytes_not_utf8_are_said_as_such(
    client: httpx.AsyncClient, body: bytes, said: str
) -> None:
    """pydantic says `unexpected end of hex escape` and `invalid unicode code point`."""
    got = await client.post("/orders", content=body)
    assert got.status_code == 422
    (error,) = got.json()["detail"]
    assert error["type"] == "json_invalid" and said in error["msg"]
    assert "line 1 column" in error["msg"]


async def test_bodies_over_the_limit_are_413_whether_declared_or_not(
    client: httpx.AsyncClient,
) -> None:
    big = b'{"items": []' + b" " * LIMIT + b"}"
    declared = await client.post("/orders", content=big)
    assert declared.status_code == 413
    assert "limit of 64 bytes" in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read until over the limit
        for _ in range(10):
            yield b" " * 16

    streamed = await client.post("/orders", content=chunks())
    assert streamed.status_code == 413
    lying = await client.post("/orders", content=b"{}", headers={"content-length": "x2"})
    assert lying.status_code == 400


async def test_http_errors_unknown_paths_and_methods_answer_json(
    client: httpx.AsyncClient,
) -> None:
    guarded = await client.get("/guarded")
    assert (guarded.status_code, guarded.json()) == (401, {"detail": "token needed"})
    assert guarded.headers["www-authenticate"] == "Bearer"
    missing = await client.get("/nowhere")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    wrong = await client.delete("/orders")
    assert (wrong.status_code, wrong.json()) == (405, {"detail": "Method Not Allowed"})
    assert wrong.headers["allow"] == "POST"
    assert (await client.head("/items")).status_code == 200  # HEAD comes with GET


async def test_openapi_document_describes_the_operations(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] == "Shop <&>"
    assert set(spec["paths"]) == {"/items", "/orders", "/guarded"}  # "/" is left out
    items = spec["paths"]["/items"]["get"]
    assert (items["summary"], items["tags"]) == ("List", ["shop"])
    assert items["description"] == "Items after the cursor."
    since, name = items["parameters"]
    assert (since["name"], since["in"], since["required"]) == ("since", "query", False)
    assert since["description"] == "Cursor already seen"
    assert since["schema"]["minimum"] == 0
    assert name["name"] == "hub.name"
    assert "422" in items["responses"]

    orders = spec["paths"]["/orders"]["post"]
    body = orders["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Order"}
    schemas = spec["components"]["schemas"]
    # nested models are shared components, referenced from the outer model
    assert schemas["Order"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Item"}
    assert schemas["Item"]["required"] == ["sku", "qty"]
    answer = orders["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/Placed"}
    assert orders["responses"]["413"] == {"description": "Too large"}
    assert "422" not in spec["paths"]["/guarded"]["get"]["responses"]  # nothing to validate
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))


async def test_no_docs_page_unless_asked_for(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 404
    assert (await client.get("/openapi.json")).status_code == 200


async def test_docs_page_shows_the_document_with_the_title_escaped() -> None:
    app = JsonApi(OPERATIONS, title="Shop <&>", docs=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        docs = await c.get("/docs")
    assert docs.status_code == 200
    assert "<title>Shop &lt;&amp;&gt; - API</title>" in docs.text
    assert '"/openapi.json"' in docs.text
    assert f"swagger-ui-dist@{SWAGGER_UI_VERSION}/swagger-ui-bundle.js" in docs.text


async def test_operations_can_be_served_under_a_prefix() -> None:
    app = JsonApi(under("/shop/", OPERATIONS), title="Shop")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        assert (await c.get("/shop/items")).json() == {"since": 0, "name": None}
        assert (await c.get("/items")).status_code == 404
        assert "/shop/orders" in (await c.get("/openapi.json")).json()["paths"]


def test_two_different_models_of_one_name_are_refused() -> None:
    def named_item() -> type[BaseModel]:
        class Item(BaseModel):  # another model called Item
            colour: str

        return Item

    other = Operation("POST", "/paint", place, body=named_item())
    app = JsonApi([*OPERATIONS, other], title="Shop")
    with pytest.raises(ValueError, match="'Item'"):
        app.openapi()
