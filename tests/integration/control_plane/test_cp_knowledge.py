"""Knowledge documents: versioned markdown, published and rolled back like flows."""

from __future__ import annotations

from typing import Any

import pytest
from cp_harness import ControlPlane

from botfleet.control_plane.errors import Conflict
from botfleet.control_plane.services import versions


async def _upload(cp: ControlPlane, text: str, *, publish: bool = False) -> int:
    response = await cp.client.post(
        "/v1/tenants/acme/knowledge",
        params={"publish": str(publish).lower()},
        content=text,
        headers={**cp.admin, "Content-Type": "text/markdown; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    version: int = response.json()["version"]
    return version


async def test_knowledge_versions_publish_rollback_and_boot(cp: ControlPlane) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    assert await _upload(cp, "# Prices\nCut: 15 EUR\n", publish=True) == 1
    assert await _upload(cp, "# Prices\nCut: 18 EUR\n", publish=True) == 2
    boot = (await cp.client.get("/v1/boot/acme", headers=cp.auth(token))).json()
    assert boot["knowledge"]["version"] == 2
    assert "18 EUR" in boot["knowledge"]["text"]

    back = await cp.client.post("/v1/tenants/acme/knowledge/rollback", headers=cp.admin)
    assert back.json()["version"] == 1
    boot = (await cp.client.get("/v1/boot/acme", headers=cp.auth(token))).json()
    assert "15 EUR" in boot["knowledge"]["text"]

    listed = (await cp.client.get("/v1/tenants/acme/knowledge", headers=cp.admin)).json()
    assert listed["published_version"] == 1
    assert [(v["version"], v["published"]) for v in listed["versions"]] == [(1, True), (2, False)]
    detail = (await cp.client.get("/v1/tenants/acme/knowledge/2", headers=cp.admin)).json()
    assert detail["text"] == "# Prices\nCut: 18 EUR\n"
    diff = await cp.client.get(
        "/v1/tenants/acme/knowledge/diff", params={"from": 1, "to": 2}, headers=cp.admin
    )
    assert "-Cut: 15 EUR\n+Cut: 18 EUR\n" in diff.text
    audit = (await cp.client.get("/v1/audit?action=knowledge.rollback", headers=cp.admin)).json()
    assert audit[0]["details"] == {"from_version": 2, "to_version": 1}


async def test_empty_or_binary_knowledge_is_refused(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    empty = await cp.client.post(
        "/v1/tenants/acme/knowledge", json={"text": "  \n"}, headers=cp.admin
    )
    assert empty.status_code == 422
    binary = await cp.client.post(
        "/v1/tenants/acme/knowledge",
        content=b"\xff\xfe\x00",
        headers={**cp.admin, "Content-Type": "text/plain"},
    )
    assert binary.status_code == 422
    assert "UTF-8" in binary.json()["detail"]


async def test_an_upload_whose_publish_fails_stores_nothing(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upload and publish are one transaction (as for flows): when the publish fails, the
    version is not stored either, nor audited, and its number is not taken."""
    await cp.create_tenant("acme")

    async def refuse(*args: Any) -> None:
        raise Conflict("the publish failed (test)")

    monkeypatch.setattr(versions, "_publish", refuse)
    failed = await cp.client.post(
        "/v1/tenants/acme/knowledge?publish=true", json={"text": "# FAQ"}, headers=cp.admin
    )
    assert failed.status_code == 409, failed.text
    listed = (await cp.client.get("/v1/tenants/acme/knowledge", headers=cp.admin)).json()
    assert (listed["published_version"], listed["versions"]) == (None, [])
    audit = (await cp.client.get("/v1/audit?tenant_id=acme", headers=cp.admin)).json()
    assert [e["action"] for e in audit if e["action"].startswith("knowledge.")] == []

    monkeypatch.undo()
    assert await _upload(cp, "# FAQ", publish=True) == 1
    audit = (await cp.client.get("/v1/audit?tenant_id=acme", headers=cp.admin)).json()
    assert [e["action"] for e in audit if e["action"].startswith("knowledge.")] == [
        "knowledge.publish",
        "knowledge.upload",
    ]
