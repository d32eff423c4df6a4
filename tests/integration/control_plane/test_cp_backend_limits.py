"""Inputs the API accepts must fit the PostgreSQL columns too: a value only PostgreSQL refuses
used to be a vague 422 there and a 200 on SQLite. Both back ends now answer the same."""

from __future__ import annotations

import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane

INT32_MAX = 2**31 - 1


async def test_audit_before_id_is_bounded_by_the_32_bit_column(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    largest = await cp.client.get("/v1/audit", params={"before_id": INT32_MAX}, headers=cp.admin)
    assert largest.status_code == 200
    assert [e["action"] for e in largest.json()] == ["tenant.create"]
    above = await cp.client.get("/v1/audit", params={"before_id": 2**31}, headers=cp.admin)
    assert above.status_code == 422
    assert "before_id" in above.text
    assert str(INT32_MAX) in above.text


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_data_plane_url_too_long_once_percent_encoded_names_the_field(
    cp: ControlPlane, method: str
) -> None:
    # 218 characters as sent; 1,218 once each "é" is percent-encoded (the column holds 500).
    url = "http://dp.example/" + "é" * 200
    if method == "POST":
        body = {"id": "acme", "name": "A", "data_plane_url": url}
        response = await cp.client.post("/v1/tenants", json=body, headers=cp.admin)
    else:
        await cp.create_tenant("acme")
        response = await cp.client.patch(
            "/v1/tenants/acme", json={"data_plane_url": url}, headers=cp.admin
        )
    assert response.status_code == 422
    assert "data_plane_url" in response.text
    assert "1218 characters once normalised" in response.text


async def test_a_data_plane_url_that_fits_once_encoded_is_stored(cp: ControlPlane) -> None:
    url = "http://dp.example/" + "é" * 80  # 18 + 80 * 6 = 498 characters encoded
    await cp.create_tenant("acme", data_plane_url=url)
    stored = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
    assert stored["data_plane_url"] == "http://dp.example/" + "%C3%A9" * 80


@pytest.mark.parametrize("sslmode", ["disable", "prefer"])
async def test_a_postgres_url_with_libpq_sslmode_starts_and_migrates(
    database: Database, sslmode: str
) -> None:
    """Managed providers hand out `...?sslmode=require`; asyncpg has no `sslmode` argument,
    which used to stop the control plane with a TypeError. (The test server has no TLS, so
    the modes it can serve are used; the translation of each mode is unit-tested.)"""
    if database.kind != "postgres":
        pytest.skip("sslmode is a PostgreSQL URL parameter")
    url = database.url.replace("postgresql+asyncpg://", "postgresql://") + f"?sslmode={sslmode}"
    async with running_control_plane(make_settings(database, database_url=url)) as cp:
        health = await cp.client.get("/health")
        assert health.status_code == 200, health.text
        assert health.json()["database"] == "ok"
        await cp.create_tenant("acme")
