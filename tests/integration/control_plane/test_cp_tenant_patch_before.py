"""`PATCH /v1/tenants/{id}` answers with what it replaced (`before`), read under the tenant's
lock: `botfleet cp tenants apply` and `update` say what they changed from it, with no GET
beforehand that a concurrent change could make stale."""

from __future__ import annotations

import asyncio

from cp_harness import ControlPlane

LLM = {"enabled": True, "model": "qwen2.5:7b", "quota_monthly_tokens": 100_000}


async def test_the_answer_holds_the_changed_fields_before_the_change(cp: ControlPlane) -> None:
    await cp.create_tenant("bicis", llm=LLM, timezone="UTC")

    patched = await cp.client.patch(
        "/v1/tenants/bicis",
        json={"llm": {"enabled": True, "model": "llama3.1:8b"}, "timezone": "Europe/Madrid",
              "language": "en"},
        headers=cp.admin,
    )  # fmt: skip

    assert patched.status_code == 200, patched.text
    answer = patched.json()
    assert answer["before"] == {"llm": LLM, "timezone": "UTC"}  # language: unchanged
    assert answer["llm"] == {"enabled": True, "model": "llama3.1:8b"}
    again = await cp.client.patch("/v1/tenants/bicis", json={"language": "en"}, headers=cp.admin)
    assert again.json()["before"] == {}


async def test_concurrent_changes_each_answer_what_they_replaced(cp: ControlPlane) -> None:
    await cp.create_tenant("bicis", llm=LLM)
    bodies = [{"llm": {**LLM, "model": f"model-{n}"}} for n in range(3)]

    answers = await asyncio.gather(
        *(cp.client.patch("/v1/tenants/bicis", json=body, headers=cp.admin) for body in bodies)
    )

    assert [a.status_code for a in answers] == [200, 200, 200]
    # One after the other under the lock: each replaced the model another one left (or the
    # first), never one it did not see.
    replaced = sorted(a.json()["before"]["llm"]["model"] for a in answers)
    left = sorted(a.json()["llm"]["model"] for a in answers)
    assert len(set(replaced)) == 3
    assert set(replaced) - set(left) == {"qwen2.5:7b"}
