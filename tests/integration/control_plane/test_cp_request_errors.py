"""Refused request bodies: 4xx answers that name the place and never repeat the values (a
credentials body is nothing but secrets), and no error path that prints a request."""

from __future__ import annotations

from cp_harness import ControlPlane

SECRET = "LEAKEDSECRET_9f3k"


async def test_validation_errors_name_the_place_without_echoing_values(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    json_headers = {**cp.admin, "Content-Type": "application/json"}
    answers = [
        await cp.client.post(
            "/v1/tenants", json={"id": "Not A Slug", "name": SECRET}, headers=cp.admin
        ),
        await cp.client.patch(
            "/v1/tenants/acme", json={"channel": SECRET, "name": 7}, headers=cp.admin
        ),
        await cp.client.post("/v1/tenants", content=f'{{"id": "{SECRET}', headers=json_headers),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert SECRET not in answer.text
        for error in answer.json()["detail"]:
            assert set(error) == {"type", "loc", "msg"}
            assert error["loc"][0] == "body"
    assert ["body", "id"] in [e["loc"] for e in answers[0].json()["detail"]]
    assert ["body", "channel"] in [e["loc"] for e in answers[1].json()["detail"]]
