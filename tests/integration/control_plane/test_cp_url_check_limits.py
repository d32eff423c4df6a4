"""The tenant URL policy at its limits (SQLite, PostgreSQL): a URL nested as deep as a request
body may go is checked, what nests deeper (a JSON text inside a credential) is refused rather
than skipped, and a change naming many hosts gets each looked up on a resolver of four
threads, every lookup's timeout starting when the lookup does."""

from __future__ import annotations

import json
from typing import Any

import httpx
from cp_harness import ControlPlane, Database, FakeDns, make_settings, running_control_plane
from service_account_key import service_account

from botfleet.http_guards import MAX_DEPTH

INTERNAL = "http://127.0.0.1:9000/x"
CALENDAR_PATH = "/v1/tenants/acme/credentials/connector:calendar"


def _nested(depth: int, bottom: object) -> object:
    value = bottom
    for _ in range(depth):
        value = {"a": value}
    return value


async def _tenant_key(cp: ControlPlane, **fields: Any) -> dict[str, str]:
    await cp.create_tenant("acme", **fields)
    return cp.auth(await cp.tenant_key("acme"))


async def test_a_url_nested_as_deep_as_a_body_may_go_is_checked(cp: ControlPlane) -> None:
    key = await _tenant_key(cp)
    # connectors -> crm -> fixtures -> op: the URL below 50 more levels, under the body's 64.
    fixtures = {"op": _nested(50, INTERNAL)}
    body = {"connectors": {"crm": {"type": "mock", "fixtures": fixtures}}}
    refused = await cp.client.patch("/v1/tenants/acme", json=body, headers=key)
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    assert detail.startswith(f"connectors.crm.fixtures.op{'.a' * 50}: the URL's host is a loopback")
    assert "127.0.0.1" not in refused.text
    admin = await cp.client.patch("/v1/tenants/acme", json=body, headers=cp.admin)
    assert admin.status_code == 200, admin.text


async def test_a_credential_nesting_deeper_than_any_body_is_refused_not_skipped(
    cp: ControlPlane,
) -> None:
    key = await _tenant_key(cp, connectors={"calendar": {"type": "google_calendar"}})
    # A key google-auth loads (the data plane's boot refuses any other), with a deep extra.
    account = service_account(token_uri=INTERNAL, more=_nested(70, INTERNAL))
    # As a JSON text a body holds it in one string, past the body's depth guard.
    answer = await cp.client.put(
        CALENDAR_PATH, json={"service_account_info": json.dumps(account)}, headers=key
    )
    assert answer.status_code == 422, answer.text
    # The shallow URL is refused for its host; with a public one, the deep part is.
    account["token_uri"] = "https://oauth2.googleapis.com/token"
    deep = await cp.client.put(
        CALENDAR_PATH, json={"service_account_info": json.dumps(account)}, headers=key
    )
    assert deep.status_code == 422, deep.text
    detail = deep.json()["detail"]
    assert detail.startswith("body.service_account_info.more.a"), detail
    assert f"nests deeper than {MAX_DEPTH} levels, too deep for the URLs in it to be checked" in (
        detail
    )
    assert "CP_TENANT_URL_POLICY=public" in detail
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=key)
    assert listed.json() == []
    admin = await cp.client.put(
        CALENDAR_PATH, json={"service_account_info": json.dumps(account)}, headers=cp.admin
    )
    assert admin.status_code == 200, admin.text
    report = await cp.client.get("/v1/admin/tenant-urls", headers=cp.admin)
    (flagged,) = report.json()["refused"]
    assert flagged["place"].startswith("credentials.connector:calendar.service_account_info.more")
    assert flagged["problem"].startswith(f"nests deeper than {MAX_DEPTH} levels")


async def test_many_hosts_on_a_four_thread_resolver_each_get_their_full_timeout(
    database: Database,
) -> None:
    """Each lookup takes 0.1 s, each may take 0.25 s: twelve at once on four threads would
    leave the last four queued past their timeout, refused though DNS answers."""
    dns = FakeDns(delay_s=0.1, threads=4)
    settings = make_settings(database, tenant_url_dns_timeout_s=0.25)
    async with running_control_plane(settings, dns=dns) as cp:
        key = await _tenant_key(cp)
        replies = [f"https://h{i}.example.org/page" for i in range(12)]
        llm = {"enabled": True, "provider": "mock_llm", "replies": replies}
        answer: httpx.Response = await cp.client.patch(
            "/v1/tenants/acme", json={"llm": llm}, headers=key
        )
        assert answer.status_code == 200, answer.text
        assert sorted(dns.asked) == sorted(f"h{i}.example.org" for i in range(12))
        assert dns.most_at_once == 4
