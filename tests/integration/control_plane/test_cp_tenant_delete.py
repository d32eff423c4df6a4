"""Deleting a tenant while other requests change it (SQLite and PostgreSQL): the delete takes the
tenant's lock like every change, so the requests run one after the other and no row of the
deleted tenant is left behind (nor a 409 "retry" or a 500 from a deadlock)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane
from sqlalchemy import text

from botfleet.control_plane.db.repositories import CredentialRepository, TenantRepository
from botfleet.control_plane.services import versions

#: How long the first request holds the tenant; the second starts WINDOW_S / 3 into it.
WINDOW_S = 0.3
TABLES = ("api_keys", "boot_tokens", "flow_versions", "knowledge_versions", "credentials")


async def _rows_left(cp: ControlPlane, tenant_id: str) -> dict[str, int]:
    """Rows of `tenant_id` in every table (the audit log included), by table; empty: none."""
    counts: dict[str, int] = {}
    async with cp.app.state.container.engine.connect() as conn:
        for table in (*TABLES, "audit_log", "tenants"):
            column = "id" if table == "tenants" else "tenant_id"
            query = text(f"SELECT count(*) FROM {table} WHERE {column} = :t")
            count = (await conn.execute(query, {"t": tenant_id})).scalar_one()
            if count:
                counts[table] = count
    return counts


async def _delete(cp: ControlPlane) -> httpx.Response:
    return await cp.client.delete("/v1/tenants/acme", headers=cp.admin)


async def _tenant_with_a_flow(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    await cp.tenant_key("acme")
    assert (await cp.upload_flow("acme", "one")).status_code == 201


async def test_a_delete_racing_a_publish_waits_and_removes_everything(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The publish holds the tenant; the delete waits for it, then removes the tenant with the
    publish's audit entry (it used to purge first and leave that entry behind on PostgreSQL)."""
    await _tenant_with_a_flow(cp)
    publish_locked = versions._publish

    async def slow_publish(*args: Any) -> Any:
        await asyncio.sleep(WINDOW_S)
        return await publish_locked(*args)

    monkeypatch.setattr(versions, "_publish", slow_publish)
    publish = asyncio.create_task(
        cp.client.post("/v1/tenants/acme/flows/1/publish", headers=cp.admin)
    )
    await asyncio.sleep(WINDOW_S / 3)
    deleted = await _delete(cp)
    published = await publish

    assert (published.status_code, deleted.status_code) == (200, 204), (
        published.text,
        deleted.text,
    )
    assert await _rows_left(cp, "acme") == {}


async def test_a_delete_racing_an_upload_waits_and_removes_the_new_version(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload holds the tenant while it numbers and stores the version; the delete used to
    purge, then fail on the new version's foreign key (409 "retry") on PostgreSQL."""
    await _tenant_with_a_flow(cp)
    numbered = versions.next_version

    async def slow_next_version(*args: Any) -> int:
        number = await numbered(*args)
        await asyncio.sleep(WINDOW_S)
        return number

    monkeypatch.setattr(versions, "next_version", slow_next_version)
    upload = asyncio.create_task(cp.upload_flow("acme", "two", publish=True))
    await asyncio.sleep(WINDOW_S / 3)
    deleted = await _delete(cp)
    uploaded = await upload

    assert (uploaded.status_code, deleted.status_code) == (201, 204), (uploaded.text, deleted.text)
    assert await _rows_left(cp, "acme") == {}


async def test_a_delete_racing_a_credentials_put_waits_instead_of_deadlocking(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The put holds the tenant, then rewrites the scope's row, which the delete used to lock
    first: each waited for the other (a PostgreSQL deadlock, answered 500)."""
    await cp.create_tenant("acme")
    put = await cp.client.put(
        "/v1/tenants/acme/credentials/llm", json={"api_key": "sk-old"}, headers=cp.admin
    )
    assert put.status_code == 200
    read_row = CredentialRepository.get

    async def slow_get(self: CredentialRepository, tenant_id: str, scope: str) -> Any:
        await asyncio.sleep(WINDOW_S)  # the put has locked the tenant by now
        return await read_row(self, tenant_id, scope)

    monkeypatch.setattr(CredentialRepository, "get", slow_get)
    replace = asyncio.create_task(
        cp.client.put(
            "/v1/tenants/acme/credentials/llm", json={"api_key": "sk-new"}, headers=cp.admin
        )
    )
    await asyncio.sleep(WINDOW_S / 3)
    deleted = await _delete(cp)
    replaced = await replace

    assert (replaced.status_code, deleted.status_code) == (200, 204), (replaced.text, deleted.text)
    assert await _rows_left(cp, "acme") == {}


async def test_a_publish_arriving_during_a_delete_waits_and_finds_no_tenant(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other order: the delete holds the tenant; the publish waits, then answers 404 (it
    used to publish in between and the delete then removed the version it had published)."""
    await _tenant_with_a_flow(cp)
    purge = TenantRepository.purge

    async def slow_purge(self: TenantRepository, tenant_id: str) -> None:
        await asyncio.sleep(WINDOW_S)
        await purge(self, tenant_id)

    monkeypatch.setattr(TenantRepository, "purge", slow_purge)
    delete = asyncio.create_task(_delete(cp))
    await asyncio.sleep(WINDOW_S / 3)
    published = await cp.client.post("/v1/tenants/acme/flows/1/publish", headers=cp.admin)
    deleted = await delete

    assert deleted.status_code == 204, deleted.text
    assert published.status_code == 404, published.text
    assert await _rows_left(cp, "acme") == {}
