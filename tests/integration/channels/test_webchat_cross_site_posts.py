"""A web page of any site can make its visitors' browsers POST to `/inbound` without CORS
asking anything, as long as the body is not typed as JSON (`text/plain`, a form's types, no
type: a "simple" request). The route read such a body as JSON all the same, so every visitor
of that site sent the bot messages from their own address (a rate-limit bucket each) and spent
the tenant's LLM quota: what `allowed_origins` keeps to the business's own sites. Such a POST,
recognised by its `Origin`, is refused unless the site is listed; the chat page's own JSON
posts, listed sites and clients that are not browser pages (no `Origin`) are answered."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app

SHOP = "https://shop.example"
EVIL = "https://evil.example"
BODY = json.dumps({"contact_id": "web-visitor-1", "text": "hola"})


@pytest.fixture
async def chat() -> AsyncIterator[ChatClient]:
    config = make_tenant_config(channel={"type": "webchat", "allowed_origins": [SHOP]})
    async with running_app(config) as app:
        yield app


async def _outbox(chat: ChatClient) -> list[object]:
    page = await chat.http.get("/messages", params={"contact_id": "web-visitor-1"})
    return list(page.json()["messages"])


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ],
)
@pytest.mark.parametrize("path", ["/inbound", "/inbound?wait=false"])
async def test_an_unlisted_sites_page_cannot_post_without_a_preflight(
    chat: ChatClient, content_type: str | None, path: str
) -> None:
    headers = {"Origin": EVIL}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await chat.http.post(path, content=BODY, headers=headers)
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"]
    assert "access-control-allow-origin" not in response.headers
    assert await _outbox(chat) == []


@pytest.mark.parametrize("origin", ["null", "http://localhost:9999"])
async def test_a_sandboxed_or_local_page_is_refused_too(chat: ChatClient, origin: str) -> None:
    response = await chat.http.post(
        "/inbound", content=BODY, headers={"Origin": origin, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415


async def test_a_listed_sites_page_may_post_plain_text(chat: ChatClient) -> None:
    response = await chat.http.post(
        "/inbound", content=BODY, headers={"Origin": SHOP, "Content-Type": "text/plain"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.json()["replies"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
async def test_the_chat_pages_own_json_post_is_answered(
    chat: ChatClient, content_type: str
) -> None:
    own = str(chat.http.base_url).rstrip("/")
    response = await chat.http.post(
        "/inbound", content=BODY, headers={"Origin": own, "Content-Type": content_type}
    )
    assert response.status_code == 200, response.text
    assert response.json()["replies"]


async def test_a_client_that_is_no_browser_page_may_post_any_type(chat: ChatClient) -> None:
    """curl's `-d` sends a form type; the body is still read as JSON (docs/channels.md)."""
    response = await chat.http.post(
        "/inbound",
        content=BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["replies"]
