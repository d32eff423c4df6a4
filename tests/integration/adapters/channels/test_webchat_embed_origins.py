"""`embed_origins`: the sites that may show a tenant's web chat. Set, the chat page may be
framed by them only (its CSP's `frame-ancestors`), the widget knows them, and a browser request
to the API from a page of another site is refused with 403 and logged; not set, any site may
embed the chat, as before. Against the real data plane (`create_app`)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import structlog

from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app

SALON = "https://www.salon.example"
SHOP = "https://shop.salon.example"  # the business's own front end (allowed_origins)
LOOK_ALIKE = "https://www.sal0n.example"
TURN = {"contact_id": "c1", "text": "hi"}


def config(**channel: Any) -> Any:
    return make_tenant_config(channel={"type": "webchat", **channel})


def frame_ancestors(response: httpx.Response) -> str:
    policy = response.headers["content-security-policy"]
    found = re.search(r"frame-ancestors ([^;]*)", policy)
    assert found is not None, policy
    return found[1]


def widget_sites(widget: str) -> Any:
    found = re.search(r"const SITES = (.*);", widget)
    assert found is not None
    return json.loads(found[1])


def from_page_of(origin: str, site: str = "cross-site") -> dict[str, str]:
    """The headers a browser adds to a page's fetch from `origin`."""
    return {"Origin": origin, "Sec-Fetch-Site": site, "Sec-Fetch-Mode": "cors"}


# ---------------------------------------------------------------- the page and the widget


async def test_the_listed_sites_alone_may_frame_the_chat_page() -> None:
    channel = config(embed_origins=[SALON, "https://*.Bella.example:443"])
    async with running_app(channel) as chat:
        page = await chat.http.get("/")
        embedded = await chat.http.get("/", params={"embed": "1"})
        widget = await chat.http.get("/widget.js")
    assert frame_ancestors(page) == f"'self' {SALON} https://*.bella.example"
    assert frame_ancestors(embedded) == frame_ancestors(page)
    assert widget_sites(widget.text) == [SALON, "https://*.bella.example"]


async def test_without_embed_origins_any_site_may_frame_the_chat_page() -> None:
    async with running_app(config(allowed_origins=[SHOP])) as chat:
        page = await chat.http.get("/")
        widget = await chat.http.get("/widget.js")
    assert frame_ancestors(page) == "*"
    assert widget_sites(widget.text) is None


# ---------------------------------------------------------------- the API


async def test_a_page_of_another_site_is_refused_naming_the_site_and_the_setting() -> None:
    async with running_app(config(embed_origins=[SALON])) as chat:
        with structlog.testing.capture_logs() as logs:
            turn = await chat.http.post("/inbound", json=TURN, headers=from_page_of(LOOK_ALIKE))
            read = await chat.http.get(
                "/messages", params={"contact_id": "c1"}, headers=from_page_of(LOOK_ALIKE)
            )
            # another subdomain of the data plane's own site is another site's page too
            sibling = await chat.http.get(
                "/messages", params={"contact_id": "c1"}, headers=from_page_of(SHOP, "same-site")
            )
        outbox = await chat.http.get("/messages", params={"contact_id": "c1"})
    for refused in (turn, read):
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/json"
        detail = refused.json()["detail"]
        assert LOOK_ALIKE in detail
        assert "embed_origins" in detail and "allowed_origins" in detail
        assert "access-control-allow-origin" not in refused.headers
    assert sibling.status_code == 403
    assert SHOP in sibling.json()["detail"]
    assert outbox.json()["messages"] == [], "the refused message never reached the bot"
    refusals = [line for line in logs if line["event"] == "webchat_origin_refused"]
    # at most one line a minute: the three refusals are one event
    assert refusals == [
        {
            "event": "webchat_origin_refused",
            "log_level": "warning",
            "origin": LOOK_ALIKE,
            "path": "/inbound",
            "refused": 1,
        }
    ]


async def test_a_listed_embedding_site_calling_the_api_is_told_what_is_missing() -> None:
    """The owner's own site, in embed_origins, calling /inbound from its scripts: the answer
    says that embed_origins lets it show the chat, and allowed_origins is what it lacks."""
    async with running_app(config(embed_origins=[SALON])) as chat:
        refused = await chat.http.post("/inbound", json=TURN, headers=from_page_of(SALON))
    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert detail.startswith(f"{SALON} is in the channel's embed_origins")
    assert "list it in allowed_origins too" in detail


async def test_the_chat_pages_own_requests_and_listed_front_ends_go_through() -> None:
    async with running_app(config(embed_origins=[SALON], allowed_origins=[SHOP])) as chat:
        own = await chat.http.post(
            "/inbound", json=TURN, headers=from_page_of("http://localhost", "same-origin")
        )
        shop = await chat.http.post(
            "/inbound", json=TURN | {"contact_id": "c2"}, headers=from_page_of(SHOP)
        )
        shop_read = await chat.http.get(
            "/messages", params={"contact_id": "c2"}, headers=from_page_of(SHOP)
        )
        # a server, curl, or a browser that does not say where the page is from: CORS decides
        server = await chat.http.post(
            "/inbound", json=TURN | {"contact_id": "c3"}, headers={"Origin": LOOK_ALIKE}
        )
        preflight = await chat.http.options(
            "/inbound",
            headers=from_page_of(SHOP) | {"Access-Control-Request-Method": "POST"},
        )
    assert own.status_code == 200 and own.json()["replies"]
    assert shop.status_code == 200 and shop.json()["replies"]
    assert shop.headers["access-control-allow-origin"] == SHOP
    assert shop_read.status_code == 200 and shop_read.json()["messages"]
    assert server.status_code == 200
    assert "access-control-allow-origin" not in server.headers
    assert preflight.status_code == 200


def loaded_by_page_of(destination: str, mode: str = "no-cors") -> dict[str, str]:
    """The headers a browser adds to a request a tag (`<img>`, `<script>`, `<iframe>`) or a
    `no-cors` fetch of another site's page makes: no `Origin`."""
    return {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": destination}


async def test_another_sites_request_without_origin_is_refused_too() -> None:
    async with running_app(config(embed_origins=[SALON], allowed_origins=[SHOP])) as chat:
        await chat.http.post("/inbound", json=TURN)
        with structlog.testing.capture_logs() as logs:
            image = await chat.http.get(
                "/messages", params={"contact_id": "c1"}, headers=loaded_by_page_of("image")
            )
            sibling = await chat.http.get(
                "/messages",
                params={"contact_id": "c1"},
                headers=loaded_by_page_of("empty") | {"Sec-Fetch-Site": "same-site"},
            )
            link = await chat.http.get(
                "/messages",
                params={"contact_id": "c1"},
                headers=loaded_by_page_of("document", "navigate"),
            )
            post = await chat.http.post(
                "/inbound", json=TURN | {"text": "again"}, headers=loaded_by_page_of("empty")
            )
        own = await chat.http.get(
            "/messages",
            params={"contact_id": "c1"},
            headers={"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"},
        )
    for refused in (image, sibling, link, post):
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"].startswith("pages of another site may not use this chat")
        assert "access-control-allow-origin" not in refused.headers
    assert own.status_code == 200
    assert len(own.json()["messages"]) == 1, "the refused message never reached the bot"
    assert [line["origin"] for line in logs if line["event"] == "webchat_origin_refused"] == [
        "another site"
    ]


async def test_other_sites_pages_still_load_the_chat_page_and_the_widget() -> None:
    async with running_app(config(embed_origins=[SALON])) as chat:
        script = await chat.http.get("/widget.js", headers=loaded_by_page_of("script"))
        frame = await chat.http.get(
            "/", params={"embed": "1"}, headers=loaded_by_page_of("iframe", "navigate")
        )
        page_script = await chat.http.get(
            "/chat.js",
            headers={"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "script"},
        )
    assert script.status_code == 200 and "const SITES" in script.text
    assert frame.status_code == 200
    assert frame_ancestors(frame) == f"'self' {SALON}", "the CSP decides where it is shown"
    assert page_script.status_code == 200


async def test_without_embed_origins_another_sites_page_is_left_to_cors() -> None:
    async with running_app(config(allowed_origins=[SHOP])) as chat:
        turn = await chat.http.post("/inbound", json=TURN, headers=from_page_of(LOOK_ALIKE))
    assert turn.status_code == 200
    assert "access-control-allow-origin" not in turn.headers  # the browser hides the answer


async def test_refusals_are_logged_once_a_minute_with_their_count() -> None:
    from botfleet.adapters.channels.webchat.edge import LOG_EVERY_S, WebChatEdge

    now = [100.0]
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("a refused request reaches nothing")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    edge = WebChatEdge(app, embed_origins=[SALON], clock=lambda: now[0])
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/messages",
        "headers": [(b"origin", LOOK_ALIKE.encode()), (b"sec-fetch-site", b"cross-site")],
    }
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            await edge(scope, None, send)
        now[0] += LOG_EVERY_S
        await edge(scope, None, send)
    assert [line["refused"] for line in logs] == [1, 3]
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [403] * 4


# ---------------------------------------------------------------- nosniff


async def every_kind_of_answer(chat: ChatClient) -> dict[str, httpx.Response]:
    """A web chat tenant's JSON answers, one of each path that writes them."""
    faraway = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=chat.app, client=("203.0.113.7", 40000)),
        base_url="http://localhost",
    )
    async with faraway:
        limited = [await faraway.post("/inbound", json=TURN) for _ in range(2)]
    return {
        "turn (fast path)": await chat.http.post("/inbound", json=TURN),
        "stored (202)": await chat.http.post(
            "/inbound?wait=false", json=TURN | {"message_id": "m2"}
        ),
        "messages": await chat.http.get("/messages", params={"contact_id": "c1"}),
        "invalid (422)": await chat.http.post("/inbound", json={"contact_id": "c 1", "text": "x"}),
        "unasked post (415)": await chat.http.post(
            "/inbound", content=json.dumps(TURN), headers={"Origin": LOOK_ALIKE}
        ),
        "too large (413)": await chat.http.post("/inbound", content=b"x" * 70_000),
        "rate limited (429)": limited[-1],
        "unknown path (404)": await chat.http.get("/nothing-here"),
        "health": await chat.http.get("/health"),
    }


@pytest.mark.parametrize(
    "channel",
    [
        {"message_burst": 1},
        {"message_burst": 1, "embed_origins": [SALON], "allowed_origins": [SHOP]},
    ],
    ids=["any site", "listed sites"],
)
async def test_every_json_answer_says_nosniff(channel: dict[str, Any]) -> None:
    async with running_app(config(**channel)) as chat:
        answers = await every_kind_of_answer(chat)
        if "embed_origins" in channel:
            answers["refused (403)"] = await chat.http.get(
                "/messages", params={"contact_id": "c1"}, headers=from_page_of(LOOK_ALIKE)
            )
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses["rate limited (429)"] == 429, statuses
    assert statuses["too large (413)"] == 413, statuses
    assert statuses["unasked post (415)"] == 415, statuses
    for name, answer in answers.items():
        assert answer.headers["content-type"].startswith("application/json"), name
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"], name


async def test_the_page_and_the_scripts_say_nosniff_once() -> None:
    async with running_app(config()) as chat:
        for path in ("/", "/chat.js", "/widget.js"):
            answer = await chat.http.get(path)
            assert answer.headers.get_list("x-content-type-options") == ["nosniff"], path
