"""The control plane keeps a tenant's daily LLM budgets and refuses bad ones naming the key."""

from __future__ import annotations

from cp_harness import ControlPlane

DAILY = {"enabled": True, "quota_daily_tokens": 50_000, "quota_daily_questions_per_contact": 20}


async def test_the_daily_budgets_are_stored_and_bad_ones_refused(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", llm=DAILY)
    tenant = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
    assert tenant["llm"] == DAILY
    for key, value in (("quota_daily_tokens", -5), ("quota_daily_questions_per_contact", 2.5)):
        response = await cp.client.patch(
            "/v1/tenants/acme", json={"llm": {**DAILY, key: value}}, headers=cp.admin
        )
        assert response.status_code == 422
        assert response.json()["detail"].startswith(f"llm.{key}: ")
    after = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
    assert after["llm"] == DAILY
