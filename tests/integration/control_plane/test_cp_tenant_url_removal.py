"""A tenant key may not remove or change a stored binding URL it could not set again.

A bike shop's owner, with a tenant key, sent `--llm '{"quota_monthly_tokens": 1000}'`: the
update dropped the operator's `base_url: http://127.0.0.1:18403/v1` (the warning said to give
it back in `--llm`), and sending it back was then refused (a tenant key may not point a
binding at a loopback host): locked out of its own LLM until an operator came. Now such an
update is refused instead, naming the field; the URL sent back unchanged passes, the admin key
may do anything, and URLs the key could set are its own to change or remove.

Only a URL the key positively could not set is held: one whose name does not resolve (a
webhook's domain that lapsed), whose lookup times out or waits behind a busy resolver may go."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
from cp_harness import ControlPlane, Database, FakeDns, make_settings, running_control_plane

LOOPBACK = "http://127.0.0.1:18403/v1"
LLM = {
    "enabled": True,
    "provider": "openai_compatible",
    "base_url": LOOPBACK,
    "model": "qwen2.5:7b",
}


async def _bicis(cp: ControlPlane, **fields: Any) -> dict[str, str]:
    await cp.create_tenant("bicis", **fields)
    return cp.auth(await cp.tenant_key("bicis"))


async def _patch(cp: ControlPlane, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return await cp.client.patch("/v1/tenants/bicis", json=body, headers=headers)


def _held(response: httpx.Response, field: str, why: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}: holds a URL this API key could not set again ("), detail
    assert why in detail, detail
    assert "send it unchanged to keep it" in detail and "admin API key" in detail, detail


async def test_a_tenant_key_cannot_drop_a_url_it_could_not_send_back(cp: ControlPlane) -> None:
    key = await _bicis(cp, llm=LLM)

    dropped = await _patch(cp, key, {"llm": {"quota_monthly_tokens": 1000}})

    _held(dropped, "llm.base_url", "the URL's host is a loopback address")
    assert "127.0.0.1" not in dropped.text  # the URL is never repeated
    stored = (await cp.client.get("/v1/tenants/bicis", headers=key)).json()
    assert stored["llm"] == LLM
    kept = await _patch(cp, key, {"llm": {**LLM, "quota_monthly_tokens": 1000}})
    assert kept.status_code == 200, kept.text
    assert kept.json()["llm"] == {**LLM, "quota_monthly_tokens": 1000}
    assert cp.dns.asked == []


async def test_changing_it_is_refused_too_even_to_a_public_host(cp: ControlPlane) -> None:
    key = await _bicis(cp, llm=LLM)
    moved = await _patch(cp, key, {"llm": {**LLM, "base_url": "https://api.openai.com/v1"}})
    _held(moved, "llm.base_url", "loopback address")
    admin = await _patch(cp, cp.admin, {"llm": {"quota_monthly_tokens": 1000}})
    assert admin.status_code == 200, admin.text
    assert admin.json()["llm"] == {"quota_monthly_tokens": 1000}


async def test_a_url_the_key_could_set_may_be_changed_or_removed(cp: ControlPlane) -> None:
    cp.dns.table.update({"llm.bicis-shop.com": ["93.184.215.14"],
                         "api.openai.com": ["162.159.140.245"]})  # fmt: skip
    key = await _bicis(cp, llm={**LLM, "base_url": "https://llm.bicis-shop.com/v1"})

    changed = await _patch(cp, key, {"llm": {**LLM, "base_url": "https://api.openai.com/v1"}})

    assert changed.status_code == 200, changed.text
    assert sorted(cp.dns.asked) == ["api.openai.com", "llm.bicis-shop.com"]
    removed = await _patch(cp, key, {"llm": {"enabled": False}})
    assert removed.status_code == 200, removed.text
    assert removed.json()["llm"] == {"enabled": False}


async def test_a_name_that_resolves_to_a_private_address_is_held_too(cp: ControlPlane) -> None:
    cp.dns.table["llm.bicis-shop.com"] = ["10.0.0.7"]
    key = await _bicis(cp, llm={**LLM, "base_url": "https://llm.bicis-shop.com/v1"})
    dropped = await _patch(cp, key, {"llm": {"enabled": True}})
    _held(dropped, "llm.base_url", "resolves to a private-network address")
    assert "bicis-shop" not in dropped.text


async def test_unbinding_a_connector_or_changing_the_channel_type_counts(
    cp: ControlPlane,
) -> None:
    key = await _bicis(
        cp,
        connectors={"calendar": {"type": "caldav", "url": "http://10.0.0.5/dav/"}},
        channel={"type": "telegram", "api_base_url": "http://127.0.0.1:8081/"},
    )
    unbound = await _patch(cp, key, {"connectors": {}})
    _held(unbound, "connectors.calendar.url", "private-network address")
    retyped = await _patch(cp, key, {"channel": {"type": "webchat"}})
    _held(retyped, "channel.api_base_url", "loopback address")
    other = await _patch(cp, key, {"name": "Bicis Pepe", "language": "es"})
    assert other.status_code == 200, other.text


async def test_with_policy_any_a_tenant_key_may_drop_it(database: Database) -> None:
    settings = make_settings(database, tenant_url_policy="any")
    async with running_control_plane(settings) as cp:
        key = await _bicis(cp, llm=LLM)
        dropped = await _patch(cp, key, {"llm": {"quota_monthly_tokens": 1000}})
        assert dropped.status_code == 200, dropped.text


LAPSED = "https://llm.lapsed-bicis.com/v1"


async def test_a_url_whose_name_no_longer_resolves_may_be_removed(cp: ControlPlane) -> None:
    cp.dns.table["llm.lapsed-bicis.com"] = socket.gaierror(socket.EAI_NONAME, "not known")
    key = await _bicis(cp, llm={**LLM, "base_url": LAPSED})

    removed = await _patch(cp, key, {"llm": {"enabled": False}})

    assert removed.status_code == 200, removed.text
    assert removed.json()["llm"] == {"enabled": False}
    assert cp.dns.asked == ["llm.lapsed-bicis.com"]
    # Setting it is still refused: only removing a URL the key cannot check is let through.
    again = await _patch(cp, key, {"llm": {**LLM, "base_url": LAPSED}})
    assert again.status_code == 422, again.text
    assert "does not resolve from the control plane" in again.json()["detail"]


async def test_a_url_whose_lookup_times_out_may_be_removed(database: Database) -> None:
    settings = make_settings(database, tenant_url_dns_timeout_s=0.05)
    async with running_control_plane(settings, dns=FakeDns(delay_s=2)) as cp:
        key = await _bicis(cp, llm={**LLM, "base_url": LAPSED})
        changed = await _patch(cp, key, {"llm": {**LLM, "base_url": "https://93.184.215.14/v1"}})
        assert changed.status_code == 200, changed.text
        assert cp.dns.asked == ["llm.lapsed-bicis.com"]
        again = await _patch(cp, key, {"llm": {**LLM, "base_url": LAPSED}})
        assert again.status_code == 422, again.text
        assert "took longer than 0.05s" in again.json()["detail"]


async def test_a_url_the_busy_resolver_has_no_turn_for_may_be_removed(database: Database) -> None:
    """An admin's review of 40 slow names keeps the four lookup threads busy for a second;
    a change's lookup waits at most 4 x 0.05 s for a turn."""
    settings = make_settings(database, tenant_url_dns_timeout_s=0.05)
    async with running_control_plane(settings, dns=FakeDns(delay_s=2)) as cp:
        key = await _bicis(cp, llm={**LLM, "base_url": LAPSED})
        replies = [f"https://h{i}.bicis-shop.com/" for i in range(40)]
        await cp.create_tenant("other", llm={"enabled": True, "provider": "mock_llm",
                                             "replies": replies})  # fmt: skip

        async def after_the_review_started(body: dict[str, Any]) -> httpx.Response:
            await asyncio.sleep(0.02)
            return await _patch(cp, key, body)

        review, refused, removed = await asyncio.gather(
            cp.client.get("/v1/admin/tenant-urls", headers=cp.admin),
            after_the_review_started({"llm": {**LLM, "base_url": "https://llm.bicis.org/v1"}}),
            after_the_review_started({"llm": {"enabled": False}}),
        )

        assert review.status_code == 200, review.text
        assert refused.status_code == 422, refused.text
        assert "busy looking up other names" in refused.json()["detail"]
        assert removed.status_code == 200, removed.text
        assert removed.json()["llm"] == {"enabled": False}
