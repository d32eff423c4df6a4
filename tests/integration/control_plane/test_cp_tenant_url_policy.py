"""`CP_TENANT_URL_POLICY=public` (the default): a tenant API key cannot point the URLs its data
plane calls (LLM `base_url`, CalDAV `url`, Google Calendar `api_base_url`, WhatsApp and
Telegram base URLs, a service account's `token_uri`) at internal hosts. The admin key can;
with `any` a tenant key can too. No test makes a real DNS lookup: the control plane resolves
through the harness' `FakeDns`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane, Database, FakeDns, make_settings, running_control_plane
from service_account_key import service_account

PUBLIC = "https://api.openai.com/v1"


def _llm(base_url: str, **more: Any) -> dict[str, Any]:
    return {"llm": {"enabled": True, "provider": "openai_compatible", "base_url": base_url, **more}}


async def _acme(cp: ControlPlane, **fields: Any) -> dict[str, str]:
    await cp.create_tenant("acme", **fields)
    return cp.auth(await cp.tenant_key("acme"))


async def _patch(cp: ControlPlane, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return await cp.client.patch("/v1/tenants/acme", json=body, headers=headers)


def _refused(response: httpx.Response, field: str, why: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}: the URL's host "), detail
    assert why in detail, detail
    assert "CP_TENANT_URL_POLICY" in detail


# Each form of an internal host, and the reason the answer gives.
REFUSED_HOSTS = [
    ("http://127.0.0.1:8080/v1", "is a loopback address"),
    ("HTTP://127.0.0.1/", "is a loopback address"),
    ("http://[::1]:8080/", "is a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "loopback address, carried in an IPv6 address"),
    ("http://2130706433/", "is a loopback address"),
    ("http://0x7f.1/", "is a loopback address"),
    ("http://0177.0.0.1/", "is a loopback address"),
    ("http://127.1/", "is a loopback address"),
    ("http://１２７.０.０.１/", "is a loopback address"),
    ("http://169.254.169.254/latest/meta-data", "link-local address"),
    ("http://[fe80::1]/", "link-local address"),
    ("http://10.0.0.5/", "private-network address"),
    ("http://172.16.3.4/", "private-network address"),
    ("http://192.168.1.10/", "private-network address"),
    ("http://[fc00::1]/", "private-network address"),
    ("http://[fec0::1]/", "site-local IPv6 address"),
    ("http://[::ffff:0a00:0005]/", "private-network address, carried in an IPv6 address"),
    ("http://100.100.100.200/", "shared (carrier-grade NAT) address"),
    ("http://0.0.0.0:8000/", "unspecified address"),
    ("http://[::]/", "unspecified address"),
    ("http://localhost:8000/v1", "is localhost"),
    ("http://LOCALHOST./v1", "is localhost"),
    ("http://ｌｏｃａｌｈｏｓｔ/", "is localhost"),
    ("http://api.localhost/", "is localhost"),
    ("http://redis:6379/", "single-label name"),
    ("http://dp-bravo.bots.svc.cluster.local:8002/", "is in .local"),
    ("http://control-plane.bots.svc:8001/", "is in .svc"),
    ("http://metadata.google.internal/", "is in .internal"),
    ("http://nas.local/", "is in .local"),
    ("http://010.0.0.1/", "another form than four decimal numbers"),
    ("http://127.0.0.1\\.evil.example.com/", "is not a valid host name"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED_HOSTS)
async def test_a_tenant_key_cannot_point_a_binding_at_an_internal_host(
    cp: ControlPlane, url: str, why: str
) -> None:
    key = await _acme(cp)
    response = await _patch(cp, key, _llm(url))
    _refused(response, "llm.base_url", why)
    assert cp.dns.asked == []  # told from the URL alone: nothing looked up
    stored = (await cp.client.get("/v1/tenants/acme", headers=key)).json()
    assert stored["llm"] == {}


# Every URL the data plane calls, under each name the binding models accept.
URL_FIELDS = [
    ({"llm": {"enabled": True, "base_url": "{url}"}}, "llm.base_url"),
    ({"connectors": {"llm": {"type": "openai_compatible", "base_url": "{url}"}}},
     "connectors.llm.base_url"),
    ({"connectors": {"calendar": {"type": "caldav", "url": "{url}"}}},
     "connectors.calendar.url"),
    ({"connectors": {"calendar": {"type": "caldav", "url": "https://dav.example.com/",
                                  "calendar_id": "{url}"}}},
     "connectors.calendar.calendar_id"),
    ({"connectors": {"calendar": {"type": "google_calendar", "api_base_url": "{url}"}}},
     "connectors.calendar.api_base_url"),
    ({"channel": {"type": "whatsapp", "phone_number_id": "1", "graph_base_url": "{url}"}},
     "channel.graph_base_url"),
    ({"channel": {"type": "whatsapp", "phone_number_id": "1", "base_url": "{url}"}},
     "channel.base_url"),
    ({"channel": {"type": "telegram", "api_base_url": "{url}"}}, "channel.api_base_url"),
    ({"channel": {"type": "telegram", "base_url": "{url}"}}, "channel.base_url"),
]  # fmt: skip


def _with_url(body: Any, url: str) -> Any:
    if isinstance(body, dict):
        return {k: _with_url(v, url) for k, v in body.items()}
    return url if body == "{url}" else body


@pytest.mark.parametrize(("body", "field"), URL_FIELDS)
async def test_every_url_field_is_checked_and_named(
    cp: ControlPlane, body: dict[str, Any], field: str
) -> None:
    key = await _acme(cp)
    metadata = "http://169.254.169.254/computeMetadata/v1/"
    response = await _patch(cp, key, _with_url(body, metadata))
    _refused(response, field, "link-local address")
    assert "169.254" not in response.text  # the URL is never repeated
    scheme_relative = await _patch(cp, key, _with_url(body, "//10.0.0.5/x"))
    assert scheme_relative.status_code == 422  # the data plane's model or the policy refuses it
    admin = await _patch(cp, cp.admin, _with_url(body, metadata))
    assert admin.status_code == 200, admin.text


async def test_public_hosts_pass_after_a_lookup(cp: ControlPlane) -> None:
    key = await _acme(cp)
    cp.dns.table.update({"api.openai.com": ["162.159.140.245"],
                         "caldav.icloud.com": ["17.248.131.1", "2620:149:a44::1"]})  # fmt: skip
    response = await _patch(
        cp,
        key,
        {**_llm(PUBLIC), "connectors": {"calendar": {"type": "caldav",
                                                     "url": "https://caldav.icloud.com/"}}},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert sorted(cp.dns.asked) == ["api.openai.com", "caldav.icloud.com"]
    literal = await _patch(cp, key, _llm("https://[2606:4700:4700::1111]/v1"))
    assert literal.status_code == 200, literal.text


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (["10.1.2.3"], "resolves to a private-network address"),
        (["93.184.215.14", "127.0.0.1"], "resolves to a loopback address"),
        (["::ffff:169.254.169.254"], "resolves to a link-local address"),
        (["2606:4700::1", "fec0::5"], "resolves to a site-local IPv6 address"),
        (None, "does not resolve from the control plane"),
    ],
)
async def test_a_name_is_refused_by_what_it_resolves_to(
    database: Database, answer: list[str] | None, why: str
) -> None:
    table = {} if answer is None else {"llm.evil.example.com": answer}
    dns = FakeDns(table, default=None)
    async with running_control_plane(make_settings(database), dns=dns) as cp:
        key = await _acme(cp)
        response = await _patch(cp, key, _llm("https://llm.evil.example.com/v1"))
        _refused(response, "llm.base_url", why)
        assert "evil" not in response.text
        assert dns.asked == ["llm.evil.example.com"]


async def test_a_lookup_that_takes_too_long_is_refused(database: Database) -> None:
    settings = make_settings(database, tenant_url_dns_timeout_s=0.05)
    async with running_control_plane(settings, dns=FakeDns(delay_s=5)) as cp:
        key = await _acme(cp)
        started = asyncio.get_running_loop().time()
        response = await _patch(cp, key, _llm(PUBLIC))
        assert asyncio.get_running_loop().time() - started < 3
        _refused(response, "llm.base_url", "took longer than 0.05s")


async def test_the_admin_key_may_set_any_url(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", **_llm("http://127.0.0.1:8080/v1"))
    response = await _patch(cp, cp.admin, _llm("http://169.254.169.254/"))
    assert response.status_code == 200, response.text
    assert cp.dns.asked == []


async def test_with_policy_any_a_tenant_key_may_too(database: Database) -> None:
    settings = make_settings(database, tenant_url_policy="any")
    async with running_control_plane(settings) as cp:
        key = await _acme(cp)
        for url in ("http://127.0.0.1:8080/v1", "http://redis:6379/", "http://10.0.0.5/"):
            response = await _patch(cp, key, _llm(url))
            assert response.status_code == 200, response.text
        assert cp.dns.asked == []


async def test_an_admin_set_url_may_be_sent_back_unchanged_not_moved(cp: ControlPlane) -> None:
    """A tenant key changing its model resends the LLM settings whole, with the operator's
    local server in them: that passes. Copying that URL to another field does not."""
    internal = "http://10.0.0.5:8000/v1"
    key = await _acme(cp, **_llm(internal))
    kept = await _patch(cp, key, _llm(internal, model="llama-3.1-8b"))
    assert kept.status_code == 200, kept.text
    assert kept.json()["llm"]["model"] == "llama-3.1-8b"
    moved = await _patch(
        cp, key, {"connectors": {"llm": {"type": "openai_compatible", "base_url": internal}}}
    )
    _refused(moved, "connectors.llm.base_url", "private-network address")
    changed = await _patch(cp, key, _llm("http://10.0.0.6:8000/v1", model="llama-3.1-8b"))
    _refused(changed, "llm.base_url", "private-network address")


async def test_other_changes_of_a_tenant_key_make_no_lookup(cp: ControlPlane) -> None:
    key = await _acme(cp, **_llm("http://10.0.0.5:8000/v1"))
    response = await _patch(cp, key, {"name": "Acme Hair", "language": "en"})
    assert response.status_code == 200, response.text
    assert cp.dns.asked == []


async def test_a_disabled_tenant_or_another_tenant_is_refused_before_any_lookup(
    cp: ControlPlane,
) -> None:
    key = await _acme(cp)
    await cp.create_tenant("bravo")
    other = await cp.client.patch("/v1/tenants/bravo", json=_llm(PUBLIC), headers=key)
    assert other.status_code == 404
    assert (await cp.client.post("/v1/tenants/acme/disable", headers=cp.admin)).status_code == 200
    frozen = await _patch(cp, key, _llm("http://127.0.0.1/"))
    assert frozen.status_code == 403, frozen.text
    assert (await _patch(cp, key, _llm(PUBLIC))).status_code == 403
    assert cp.dns.asked == []


async def test_a_service_account_token_uri_is_checked_too(cp: ControlPlane) -> None:
    """google-auth posts the signed assertion to the key file's `token_uri`: a tenant's
    credentials could otherwise send its data plane to the metadata service."""
    key = await _acme(cp, connectors={"calendar": {"type": "google_calendar"}})
    # A key google-auth loads: the data plane's boot refuses any other (and so does a put).
    account = service_account(token_uri="http://169.254.169.254/token")
    path = "/v1/tenants/acme/credentials/connector:calendar"
    for given in (account, json.dumps(account)):
        put = await cp.client.put(path, json={"service_account_info": given}, headers=key)
        _refused(put, "body.service_account_info.token_uri", "link-local address")
        assert account["private_key"] not in put.text and "169.254" not in put.text
    assert (await cp.client.get("/v1/tenants/acme/credentials", headers=key)).json() == []
    public = {**account, "token_uri": "https://oauth2.googleapis.com/token"}
    fine = await cp.client.put(path, json={"service_account_info": public}, headers=key)
    assert fine.status_code == 200, fine.text
    assert cp.dns.asked == ["oauth2.googleapis.com"]
    admin = await cp.client.put(path, json={"service_account_info": account}, headers=cp.admin)
    assert admin.status_code == 200, admin.text


@pytest.mark.parametrize("setting", ["allowed_origins", "embed_origins"])
async def test_web_chat_origins_are_not_urls_the_data_plane_calls(
    cp: ControlPlane, setting: str
) -> None:
    key = await _acme(cp)
    channel = {"type": "webchat", setting: ["http://localhost:3000"]}
    response = await _patch(cp, key, {"channel": channel})
    assert response.status_code == 200, response.text
