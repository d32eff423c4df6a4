"""The control plane records who stored each credential scope (`stored_by`: ``operator`` with the
admin key, ``tenant`` with one of its own keys) and shows it with the key names, never a value.
A tenant key may move the host that only secrets it stored itself are sent to; the operator's
stay where the operator pointed them (test_cp_credential_host_moves.py). The last put decides:
it replaces the scope's secrets as a whole."""

from __future__ import annotations

from typing import Any

from cp_harness import ControlPlane

LLM_BASE = "https://llm.operator-example.com/v1"
HOOK = "https://hooks.operator-example.com/botfleet"
ELSEWHERE = "https://tenant-own-host.example.net"
OPERATOR_SECRET = "sk-operator-secret-123"
TENANT_SECRET = "sk-tenant-secret-456"


def _llm(base_url: str) -> dict[str, Any]:
    return {"llm": {"enabled": True, "provider": "openai_compatible", "base_url": base_url}}


async def _tenant(cp: ControlPlane, **fields: Any) -> dict[str, str]:
    await cp.create_tenant("acme", **(fields or _llm(LLM_BASE)))
    return cp.auth(await cp.tenant_key("acme"))


async def _put(
    cp: ControlPlane, scope: str, values: dict[str, Any], headers: dict[str, str]
) -> Any:
    put = await cp.client.put(f"/v1/tenants/acme/credentials/{scope}", json=values, headers=headers)
    assert put.status_code == 200, put.text
    return put.json()


async def _stored_by(cp: ControlPlane, headers: dict[str, str]) -> dict[str, str]:
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=headers)
    assert listed.status_code == 200, listed.text
    return {c["scope"]: c["stored_by"] for c in listed.json()}


async def _patch(cp: ControlPlane, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return await cp.client.patch("/v1/tenants/acme", json=body, headers=headers)


async def test_the_put_the_listing_and_the_export_say_who_stored_each_scope(
    cp: ControlPlane,
) -> None:
    key = await _tenant(
        cp, **_llm(LLM_BASE), connectors={"notification": {"type": "webhook", "url": HOOK}}
    )
    assert (await _put(cp, "llm", {"api_key": OPERATOR_SECRET}, cp.admin))["stored_by"] == (
        "operator"
    )
    put = await _put(cp, "connector:notification", {"token": TENANT_SECRET}, key)
    assert put["stored_by"] == "tenant"

    expected = {"llm": "operator", "connector:notification": "tenant"}
    assert await _stored_by(cp, cp.admin) == expected
    assert await _stored_by(cp, key) == expected
    exported = await cp.client.get("/v1/tenants/acme/export", headers=key)
    assert {c["scope"]: c["stored_by"] for c in exported.json()["credentials"]} == expected
    for secret in (OPERATOR_SECRET, TENANT_SECRET):
        assert secret not in exported.text


async def test_a_tenant_moves_the_host_of_secrets_it_stored_itself(cp: ControlPlane) -> None:
    key = await _tenant(
        cp, **_llm(LLM_BASE), connectors={"notification": {"type": "webhook", "url": HOOK}}
    )
    await _put(cp, "llm", {"api_key": TENANT_SECRET}, key)
    await _put(cp, "connector:notification", {"token": TENANT_SECRET}, key)

    moved = await _patch(cp, _llm(f"{ELSEWHERE}/v1"), key)
    assert moved.status_code == 200, moved.text
    hook = {"connectors": {"notification": {"type": "webhook", "url": f"{ELSEWHERE}/hook"}}}
    assert (await _patch(cp, hook, key)).status_code == 200


async def test_a_tenant_storing_over_the_operators_secrets_makes_them_its_own(
    cp: ControlPlane,
) -> None:
    key = await _tenant(cp)
    await _put(cp, "llm", {"api_key": OPERATOR_SECRET}, cp.admin)
    refused = await _patch(cp, _llm(f"{ELSEWHERE}/v1"), key)
    assert refused.status_code == 409, refused.text
    assert "were stored by an operator" in refused.json()["detail"]
    assert "PUT /v1/tenants/acme/credentials/llm" in refused.json()["detail"]

    await _put(cp, "llm", {"api_key": TENANT_SECRET}, key)  # the operator's key is gone
    assert await _stored_by(cp, key) == {"llm": "tenant"}
    assert (await _patch(cp, _llm(f"{ELSEWHERE}/v1"), key)).status_code == 200


async def test_an_operator_storing_over_the_tenants_secrets_makes_them_the_operators(
    cp: ControlPlane,
) -> None:
    key = await _tenant(cp)
    await _put(cp, "llm", {"api_key": TENANT_SECRET}, key)
    await _put(cp, "llm", {"api_key": OPERATOR_SECRET}, cp.admin)
    assert await _stored_by(cp, key) == {"llm": "operator"}

    refused = await _patch(cp, _llm(f"{ELSEWHERE}/v1"), key)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"].startswith(
        "llm.base_url: credentials 'llm' were stored by an operator (admin API key)"
    )
    assert "tenant-own-host" not in refused.text
    assert OPERATOR_SECRET not in refused.text


async def test_the_llm_host_stays_while_either_llm_scope_is_the_operators(
    cp: ControlPlane,
) -> None:
    """The data plane merges `llm` and `connectors.llm`, so both scopes' secrets go to the one
    base_url: the tenant's own `llm` key does not free the operator's `connector:llm` one."""
    key = await _tenant(
        cp,
        **_llm(LLM_BASE),
        connectors={"llm": {"type": "openai_compatible", "base_url": LLM_BASE}},
    )
    await _put(cp, "llm", {"api_key": TENANT_SECRET}, key)
    await _put(cp, "connector:llm", {"api_key": OPERATOR_SECRET}, cp.admin)

    refused = await _patch(cp, _llm(f"{ELSEWHERE}/v1"), key)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"].startswith(
        "llm.base_url: credentials 'connector:llm' were stored by an operator"
    )


async def test_dropping_stale_names_keeps_who_stored_the_rest(cp: ControlPlane) -> None:
    """The secrets left after `?drop_stale_credentials=true` are still the ones the tenant put,
    so the scope stays the tenant's even when the admin key makes the change."""
    key = await _tenant(cp, connectors={"notification": {"type": "webhook"}})
    await _put(cp, "connector:notification", {"url": f"{HOOK}?sig=abc", "secret": "s3cr3t"}, key)

    bound = {"connectors": {"notification": {"type": "webhook", "url": HOOK}}}
    moved = await cp.client.patch(
        "/v1/tenants/acme",
        json=bound,
        params={"drop_stale_credentials": "true"},
        headers=cp.admin,
    )
    assert moved.status_code == 200, moved.text
    listed = (await cp.client.get("/v1/tenants/acme/credentials", headers=key)).json()
    assert [(c["scope"], c["key_names"], c["stored_by"]) for c in listed] == [
        ("connector:notification", ["secret"], "tenant")
    ]
