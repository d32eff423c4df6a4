"""Every answer of the control plane carries `X-Content-Type-Options: nosniff`: its JSON
errors repeat what a request sent (a route, a field name), which a browser must not run."""

from __future__ import annotations

from cp_harness import ControlPlane


async def test_every_answer_of_the_control_plane_is_nosniff(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    answers = [
        await cp.client.get("/v1/tenants/acme", headers=cp.admin),  # 200
        await cp.client.get("/v1/tenants/acme"),  # 401, no key
        await cp.client.get("/v1/tenants/nobody", headers=cp.admin),  # 404
        await cp.client.post(
            "/v1/tenants",
            content=b"{" * 100_000,
            headers={**cp.admin, "Content-Type": "application/json"},
        ),  # refused by the body guard, outside the routes
        await cp.client.get("/health"),
    ]
    assert [a.status_code for a in answers][:3] == [200, 401, 404]
    assert answers[3].status_code in (400, 413, 422)
    assert [a.headers.get_list("x-content-type-options") for a in answers] == [["nosniff"]] * 5
