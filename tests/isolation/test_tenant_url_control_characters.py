"""`CP_TENANT_URL_POLICY=public` against URLs hidden behind control characters.

URL parsers drop C0 control characters and spaces around a URL, and tabs and line breaks
within it, before they read it (WHATWG URL; Python's `urlsplit`, so `urljoin` and httplib2,
which google-auth's token refresh goes through). A tenant key could store
``"\\x00http://127.0.0.1/token"`` as a Google service account's `token_uri`: the policy did not
see a URL in it (it does not start like one) and let it through, and the data plane's token
refresh then POSTed to 127.0.0.1 (server-side request forgery past the policy). The same held
for CalDAV's `calendar_id` (`urljoin` makes ``"\\x00//10.0.0.5/"`` an absolute URL) and any
other URL field. A URL holding a control character is now refused, naming the field and never
repeating the value.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httplib2
import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane
from service_account_key import service_account

from botfleet.control_plane.url_policy import TenantUrlGuard, UrlPlace, url_places

#: Characters `str.strip()` keeps but URL parsers drop: NUL, SOH, backspace, SO, ESC.
HIDING = ("\x00", "\x01", "\x08", "\x0e", "\x1b")
CONTROL_REASON = "holds control characters"
DAV = "https://dav.example.org/dav/"


@pytest.fixture
async def cp(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    database = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}")
    async with running_control_plane(make_settings(database)) as plane:
        await plane.create_tenant("acme")
        yield plane


async def _tenant_key(cp: ControlPlane) -> dict[str, str]:
    return cp.auth(await cp.tenant_key("acme"))


def _refused(response: Any, field: str, value: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}: "), detail
    assert CONTROL_REASON in detail
    assert "CP_TENANT_URL_POLICY=public" in detail
    assert value.strip("\x00\x01\x08\x0e\x1b") not in response.text  # never the URL


def test_url_parsers_read_these_values_as_internal_urls() -> None:
    """Why they matter: the clients behind the data plane's connectors see internal hosts."""
    for hide in HIDING:
        assert urlsplit(f"{hide}http://127.0.0.1/token").hostname == "127.0.0.1"
        assert urlsplit(urljoin(DAV, f"{hide}//10.0.0.5/cal/")).hostname == "10.0.0.5"
        assert httplib2.urlnorm(f"{hide}http://127.0.0.1/token")[1] == "127.0.0.1"
    assert urlsplit(urljoin(DAV, "/\t/10.0.0.5/cal/")).hostname == "10.0.0.5"


@pytest.mark.parametrize("hide", HIDING)
async def test_a_service_account_token_uri_behind_a_control_character_is_refused(
    cp: ControlPlane, hide: str
) -> None:
    key = await _tenant_key(cp)
    binding = {"connectors": {"calendar": {"type": "google_calendar", "calendar_id": "primary"}}}
    assert (await cp.client.patch("/v1/tenants/acme", json=binding, headers=key)).status_code == 200
    token_uri = f"{hide}http://127.0.0.1:18599/token"
    # A key that loads (the key's format is checked before its URLs): only the URL is wrong.
    info = service_account(token_uri=token_uri)
    for given in (info, json.dumps(info)):
        response = await cp.client.put(
            "/v1/tenants/acme/credentials/connector:calendar",
            json={"service_account_info": given},
            headers=key,
        )
        _refused(response, "body.service_account_info.token_uri", token_uri)
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=key)
    assert listed.json() == []  # nothing was stored


@pytest.mark.parametrize(
    ("field", "section", "value"),
    [
        *[
            ("connectors.calendar.calendar_id", "connectors", f"{hide}//10.0.0.5/cal/")
            for hide in HIDING
        ],
        ("connectors.calendar.calendar_id", "connectors", "/\t/10.0.0.5/cal/"),
        ("llm.base_url", "llm", "\x00http://169.254.169.254/v1"),
        ("llm.base_url", "llm", "h\ttp://127.0.0.1/v1"),
        # Refused whatever the host: which one a client reaches cannot be told.
        ("llm.base_url", "llm", "\x00https://api.example.org/v1"),
    ],
)
async def test_a_binding_url_behind_a_control_character_is_refused(
    cp: ControlPlane, field: str, section: str, value: str
) -> None:
    key = await _tenant_key(cp)
    if section == "connectors":
        calendar = {"type": "caldav", "url": DAV, "calendar_id": value}
        body: dict[str, Any] = {"connectors": {"calendar": calendar}}
    else:
        body = {"llm": {"enabled": True, "provider": "openai_compatible", "base_url": value}}
    response = await cp.client.patch("/v1/tenants/acme", json=body, headers=key)
    _refused(response, field, value)
    tenant = (await cp.client.get("/v1/tenants/acme", headers=key)).json()
    assert tenant["connectors"] == {} and tenant["llm"] == {}


async def test_the_same_urls_without_control_characters_still_pass(cp: ControlPlane) -> None:
    key = await _tenant_key(cp)
    calendar = {"type": "caldav", "url": DAV, "calendar_id": "/dav/acme/bookings/"}
    llm = {
        "enabled": True,
        "provider": "openai_compatible",
        "base_url": "https://api.example.org/v1",
    }
    response = await cp.client.patch(
        "/v1/tenants/acme", json={"connectors": {"calendar": calendar}, "llm": llm}, headers=key
    )
    assert response.status_code == 200, response.text


async def test_stored_urls_behind_control_characters_are_reported() -> None:
    """The review of stored URLs (`GET /v1/admin/tenant-urls`) finds them too."""
    stored = {"connectors": {"calendar": {"type": "caldav", "url": DAV, "calendar_id": "\x00//x/"}}}
    places = url_places("connectors", stored["connectors"])
    assert [p.path for p in places] == [
        "connectors.calendar.url",
        "connectors.calendar.calendar_id",
    ]
    refused = await TenantUrlGuard("public", resolve=None).review(places, look_up=False)
    assert list(refused) == [UrlPlace("connectors.calendar.calendar_id", "\x00//x/")]
    assert CONTROL_REASON in refused[places[1]]
