"""A web chat binding's settings: the page title, and the origins allowed to call the API."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.adapters.channels.webchat.settings import webchat_settings
from botfleet.domain.errors import ConfigError
from botfleet.testing.runtime import make_tenant_config, running_app

SITE = "https://www.salon.example"


def config(**channel: Any) -> Any:
    return make_tenant_config(channel={"type": "webchat", **channel})


def test_settings_default_to_none() -> None:
    settings = webchat_settings({"type": "webchat"})
    assert (settings.title, settings.allowed_origins) == (None, [])


@pytest.mark.parametrize(
    ("raw", "key", "detail"),
    [
        ({"titel": "Bella"}, "channel.titel", "unknown key 'titel' (did you mean 'title'?)"),
        ({"title": ""}, "channel.title", "at least 1 character"),
        ({"allowed_origins": ["salon.example"]}, "channel.allowed_origins", "is not an origin"),
        ({"allowed_origins": [f"{SITE}/"]}, "channel.allowed_origins", "no path"),
    ],
)
def test_bad_settings_name_the_file_and_the_key(raw: dict[str, Any], key: str, detail: str) -> None:
    with pytest.raises(ConfigError) as caught:
        webchat_settings({"type": "webchat", **raw}, source="tenants/bella.yaml")
    message = str(caught.value)
    assert "tenants/bella.yaml" in message
    assert key in message
    assert detail in message


async def test_the_title_is_the_pages_and_the_widgets() -> None:
    async with running_app(config(title="Bella <Hair>")) as chat:
        page = await chat.http.get("/")
        widget = await chat.http.get("/widget.js")
    assert "<title>Bella &lt;Hair&gt;</title>" in page.text
    assert '"Bella <Hair>"' in widget.text


async def test_an_allowed_origin_may_call_the_api_from_its_pages() -> None:
    async with running_app(config(allowed_origins=[SITE])) as chat:
        preflight = await chat.http.options(
            "/inbound",
            headers={
                "Origin": SITE,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        turn = await chat.http.post(
            "/inbound", json={"contact_id": "c1", "text": "hi"}, headers={"Origin": SITE}
        )
        read = await chat.http.get(
            "/messages", params={"contact_id": "c1"}, headers={"Origin": SITE}
        )
        other = await chat.http.post(
            "/inbound",
            json={"contact_id": "c2", "text": "hi"},
            headers={"Origin": "https://evil.example"},
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == SITE
    assert "POST" in preflight.headers["access-control-allow-methods"]
    # the turn went through the fast path, and still carries the header
    assert turn.status_code == 200
    assert turn.json()["replies"]
    assert turn.headers["access-control-allow-origin"] == SITE
    assert read.headers["access-control-allow-origin"] == SITE
    assert "access-control-allow-origin" not in other.headers  # the browser will refuse it


async def test_without_allowed_origins_no_page_elsewhere_may_read_the_answers() -> None:
    async with running_app(config()) as chat:
        turn = await chat.http.post(
            "/inbound", json={"contact_id": "c1", "text": "hi"}, headers={"Origin": SITE}
        )
        preflight = await chat.http.options(
            "/inbound", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"}
        )
    assert turn.status_code == 200
    assert "access-control-allow-origin" not in turn.headers
    assert "access-control-allow-origin" not in preflight.headers
