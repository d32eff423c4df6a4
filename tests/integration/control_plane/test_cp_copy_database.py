"""`python -m botfleet.control_plane.db.copy`: a SQLite control plane moved to another database
keeps its versions (and which one is published after a rollback), audit log, API keys, boot
tokens and sealed credentials, and the target's new rows do not collide with the copied ones."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane

from botfleet.control_plane.db.copy import CopyRefused, copy_database, main

LLM_SECRET = {"api_key": "sk-copied-secret-123"}


async def _fill(cp: ControlPlane) -> dict[str, Any]:
    token = await cp.create_tenant("acme", llm={"enabled": True, "provider": "anthropic"})
    key = await cp.tenant_key("acme")
    put = await cp.client.put("/v1/tenants/acme/credentials/llm", json=LLM_SECRET, headers=cp.admin)
    assert put.status_code == 200, put.text
    for label in ("1", "2"):
        assert (await cp.upload_flow("acme", label, publish=True)).status_code == 201
    back = await cp.client.post("/v1/tenants/acme/flows/rollback", headers=cp.admin)
    assert back.status_code == 200, back.text
    return {"token": token, "key": key}


async def _seen(cp: ControlPlane, token: str, key: str) -> dict[str, Any]:
    flows = (await cp.client.get("/v1/tenants/acme/flows", headers=cp.auth(key))).json()
    boot = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    audit = (await cp.client.get("/v1/audit", headers=cp.admin)).json()
    keys = (await cp.client.get("/v1/tenants/acme/api-keys", headers=cp.admin)).json()
    return {
        "flows": flows,
        "boot_status": boot.status_code,
        "boot_flow": boot.json()["flow"]["version"],
        "llm_key": boot.json()["llm"].get("api_key"),
        "audit": [(e["id"], e["action"], e["target"]) for e in audit],
        "keys": [(k["id"], k["name"], k["expires_at"]) for k in keys],
    }


async def test_copy_keeps_everything_and_the_target_carries_on(
    database: Database, tmp_path: Path
) -> None:
    source = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with running_control_plane(make_settings(source)) as old:
        issued = await _fill(old)
        before = await _seen(old, **issued)
    assert before["boot_flow"] == 1  # the rollback's: a re-registration would publish 2

    copied = await copy_database(source.url, database.url, target_schema=database.schema)
    assert copied["tenants"] == 1
    assert copied["flow_versions"] == 2
    assert copied["audit_log"] == len(before["audit"])

    async with running_control_plane(make_settings(database)) as new:
        assert await _seen(new, **issued) == before
        assert before["llm_key"] == LLM_SECRET["api_key"]
        # Serial ids continue after the copied rows (PostgreSQL's sequences moved on).
        third = await new.upload_flow("acme", "3")
        assert third.status_code == 201, third.text
        assert third.json()["version"] == 3
        audit = (await new.client.get("/v1/audit?limit=1", headers=new.admin)).json()
        assert audit[0]["action"] == "flow.upload"
        assert audit[0]["id"] > max(entry[0] for entry in before["audit"])


async def test_copy_refuses_a_target_with_rows_and_a_missing_source(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    async with running_control_plane(make_settings(source)) as old:
        await old.create_tenant("acme")
    async with running_control_plane(make_settings(database)) as new:
        await new.create_tenant("other")

    with pytest.raises(CopyRefused, match=r"already holds rows: .*tenants \(1\)"):
        await copy_database(source.url, database.url, target_schema=database.schema)

    missing = tmp_path / "typo.db"
    argv = [f"sqlite:///{missing}", database.url]
    if database.schema:
        argv += ["--target-schema", database.schema]
    assert await asyncio.to_thread(main, argv) == 2  # main runs its own event loop
    assert f"cannot copy: the source, the SQLite database {missing} does not exist" in (
        capsys.readouterr().err
    )
    assert not missing.exists()
