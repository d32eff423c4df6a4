"""`POST /v1/admin/rotate-keys` racing a tenant's deletion or a change of its secrets, made between
the rotation's listing of the secrets and its update of them. The rotation takes each tenant's
lock before it reads that tenant's rows, so the deleted tenant's secrets (gone with it) are
simply not rotated, and a secret put meanwhile is the one rotated. Without the lock the update
of the vanished rows failed (a 500 on SQLite; a wrong count on PostgreSQL), and the older
secret, re-encrypted, replaced the newer one."""

from __future__ import annotations

from typing import Any

import pytest
from cp_harness import FERNET_KEY, Database, make_settings, running_control_plane
from cryptography.fernet import Fernet
from sqlalchemy import text

from botfleet.control_plane.db.repositories import CredentialRepository

LLM = {"api_key": "sk-llm-secret-444"}
NEWER = {"api_key": "sk-llm-secret-555"}


async def test_a_tenant_deleted_while_the_keys_rotate_is_left_out(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_control_plane(make_settings(database)) as cp:
        for tenant in ("acme", "beta"):
            await cp.create_tenant(tenant)
            put = await cp.client.put(
                f"/v1/tenants/{tenant}/credentials/llm", json=LLM, headers=cp.admin
            )
            assert put.status_code == 200, put.text

    new_key = Fernet.generate_key().decode()
    settings = make_settings(database, fernet_keys=f"{new_key},{FERNET_KEY}")
    async with running_control_plane(settings) as cp:
        listed = CredentialRepository.list
        deleted: list[int] = []

        async def list_then_delete(self: CredentialRepository, tenant_id: str | None = None) -> Any:
            rows = await listed(self, tenant_id)
            if tenant_id is None and not deleted:
                # Every tenant's rows listed: beta goes before any of them is updated.
                gone = await cp.client.delete("/v1/tenants/beta", headers=cp.admin)
                deleted.append(gone.status_code)
            return rows

        monkeypatch.setattr(CredentialRepository, "list", list_then_delete)
        result = await cp.client.post("/v1/admin/rotate-keys", headers=cp.admin)
        monkeypatch.undo()

        assert deleted == [204]
        assert result.status_code == 200, result.text
        assert result.json() == {"rotated": 1, "skipped": []}
        async with cp.app.state.container.engine.connect() as conn:
            stored = (
                await conn.execute(text("SELECT tenant_id, ciphertext FROM credentials"))
            ).all()
        assert [tenant for tenant, _ in stored] == ["acme"]
        assert Fernet(new_key.encode()).decrypt(stored[0][1].encode())
        audit = await cp.client.get("/v1/audit?action=credentials.rotate_keys", headers=cp.admin)
        assert audit.json()[0]["details"] == {"rows": 1}


async def test_a_secret_put_while_the_keys_rotate_is_kept(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The secret put between the listing and the update is the one rotated, not the older
    one it replaced (re-encrypted over it)."""
    async with running_control_plane(make_settings(database)) as cp:
        await cp.create_tenant("acme")
        put = await cp.client.put("/v1/tenants/acme/credentials/llm", json=LLM, headers=cp.admin)
        assert put.status_code == 200, put.text

    new_key = Fernet.generate_key().decode()
    settings = make_settings(database, fernet_keys=f"{new_key},{FERNET_KEY}")
    async with running_control_plane(settings) as cp:
        listed = CredentialRepository.list
        replaced: list[int] = []

        async def list_then_put(self: CredentialRepository, tenant_id: str | None = None) -> Any:
            rows = await listed(self, tenant_id)
            if tenant_id is None and not replaced:
                newer = await cp.client.put(
                    "/v1/tenants/acme/credentials/llm", json=NEWER, headers=cp.admin
                )
                replaced.append(newer.status_code)
            return rows

        monkeypatch.setattr(CredentialRepository, "list", list_then_put)
        result = await cp.client.post("/v1/admin/rotate-keys", headers=cp.admin)
        monkeypatch.undo()

        assert replaced == [200]
        assert result.json() == {"rotated": 1, "skipped": []}
        async with cp.app.state.container.engine.connect() as conn:
            stored = (await conn.execute(text("SELECT ciphertext FROM credentials"))).scalar_one()
        assert NEWER["api_key"].encode() in Fernet(new_key.encode()).decrypt(stored.encode())
