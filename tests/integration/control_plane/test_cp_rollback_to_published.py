"""A rollback without a version returns to the version published before the current one.

It went to the version numbered just before, even when that one was a draft never published:
a user who uploaded a stray file, then published a fix and rolled back, found the stray
upload live. The publish history is the audit log (`flow.publish` / `flow.rollback` entries,
written in the transaction of each publish), so drafts are skipped, successive rollbacks walk
back through what was live, and when nothing earlier was published the answer is a 409 that
says so. A rollback to a given version still goes to any earlier one.
"""

from __future__ import annotations

from typing import Any

import pytest
from cp_harness import ControlPlane

KINDS = ["flows", "knowledge"]


async def _upload(cp: ControlPlane, kind: str, label: str, *, publish: bool = False) -> int:
    if kind == "flows":
        response = await cp.upload_flow("acme", label, publish=publish)
    else:
        response = await cp.client.post(
            "/v1/tenants/acme/knowledge",
            params={"publish": str(publish).lower()},
            json={"text": f"# Facts {label}\n"},
            headers=cp.admin,
        )
    assert response.status_code == 201, response.text
    version: int = response.json()["version"]
    return version


async def _publish(cp: ControlPlane, kind: str, version: int) -> None:
    response = await cp.client.post(f"/v1/tenants/acme/{kind}/{version}/publish", headers=cp.admin)
    assert response.status_code == 200, response.text


async def _rollback(cp: ControlPlane, kind: str, version: int | None = None) -> Any:
    body = None if version is None else {"version": version}
    return await cp.client.post(f"/v1/tenants/acme/{kind}/rollback", json=body, headers=cp.admin)


async def _published(cp: ControlPlane, kind: str) -> int | None:
    listed = (await cp.client.get(f"/v1/tenants/acme/{kind}", headers=cp.admin)).json()
    version: int | None = listed["published_version"]
    return version


@pytest.mark.parametrize("kind", KINDS)
async def test_a_rollback_skips_a_draft_that_was_never_published(
    cp: ControlPlane, kind: str
) -> None:
    await cp.create_tenant("acme")
    first = await _upload(cp, kind, "live", publish=True)
    stray = await _upload(cp, kind, "stray upload")  # a draft, never published
    fix = await _upload(cp, kind, "fix", publish=True)
    assert (first, stray, fix) == (1, 2, 3)

    back = await _rollback(cp, kind)

    assert back.status_code == 200, back.text
    assert (back.json()["version"], back.json()["published"]) == (1, True)
    assert await _published(cp, kind) == 1
    singular = "flow" if kind == "flows" else "knowledge"
    audit = (
        await cp.client.get(
            "/v1/audit", params={"action": f"{singular}.rollback"}, headers=cp.admin
        )
    ).json()
    assert audit[0]["details"] == {"from_version": 3, "to_version": 1}


@pytest.mark.parametrize("kind", KINDS)
async def test_successive_rollbacks_walk_back_through_what_was_published(
    cp: ControlPlane, kind: str
) -> None:
    await cp.create_tenant("acme")
    for label in ("one", "two", "three", "four", "five"):
        await _upload(cp, kind, label)
    for version in (1, 3, 5):  # 2 and 4 stay drafts
        await _publish(cp, kind, version)

    assert (await _rollback(cp, kind)).json()["version"] == 3
    assert (await _rollback(cp, kind)).json()["version"] == 1
    refused = await _rollback(cp, kind)

    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert "no " in detail and "before version 1 was ever published" in detail
    assert '{"version": n}' in detail
    assert await _published(cp, kind) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_the_first_published_version_has_nothing_to_roll_back_to(
    cp: ControlPlane, kind: str
) -> None:
    await cp.create_tenant("acme")
    await _upload(cp, kind, "draft one")
    await _upload(cp, kind, "draft two")
    await _upload(cp, kind, "live", publish=True)

    refused = await _rollback(cp, kind)

    assert refused.status_code == 409, refused.text
    assert "nothing to roll back to" in refused.json()["detail"]
    assert "before version 3 was ever published for tenant 'acme'" in refused.json()["detail"]
    group = "flows" if kind == "flows" else "knowledge"
    assert f"`--to n` to `botfleet cp {group} rollback`" in refused.json()["detail"]
    assert await _published(cp, kind) == 3
    # A version given explicitly still goes to any earlier one, draft or not.
    explicit = await _rollback(cp, kind, 2)
    assert (explicit.status_code, explicit.json()["version"]) == (200, 2)
    assert await _published(cp, kind) == 2


async def test_a_rollback_returns_to_the_version_live_before_a_republish(
    cp: ControlPlane,
) -> None:
    """1, 2, 3 published; rolled back to 2, then to 1; 3 published again: what was live before
    it is 1, so the next rollback goes to 1, not to 2."""
    await cp.create_tenant("acme")
    for label in ("one", "two", "three"):
        await _upload(cp, "flows", label, publish=True)
    assert (await _rollback(cp, "flows")).json()["version"] == 2
    assert (await _rollback(cp, "flows")).json()["version"] == 1
    await _publish(cp, "flows", 3)

    assert (await _rollback(cp, "flows")).json()["version"] == 1


async def test_a_version_published_after_the_current_one_is_not_a_rollback_target(
    cp: ControlPlane,
) -> None:
    """Published 1, then 4, then 3 by hand: the rollback from 3 goes to 1 (4 is later)."""
    await cp.create_tenant("acme")
    for label in ("one", "two", "three", "four"):
        await _upload(cp, "flows", label)
    for version in (1, 4, 3):
        await _publish(cp, "flows", version)

    assert (await _rollback(cp, "flows")).json()["version"] == 1


async def test_the_history_of_one_tenant_does_not_leak_into_another(cp: ControlPlane) -> None:
    """Another tenant's publishes (and the other kind's) are not this one's history."""
    await cp.create_tenant("acme")
    await cp.create_tenant("other")
    for label in ("one", "two"):
        await cp.upload_flow("other", label, publish=True)
    await _upload(cp, "knowledge", "k1", publish=True)
    await _upload(cp, "flows", "draft")
    await _upload(cp, "flows", "live", publish=True)

    refused = await _rollback(cp, "flows")

    assert refused.status_code == 409, refused.text
    assert await _published(cp, "flows") == 2


@pytest.mark.parametrize("kind", KINDS)
def test_the_rollback_help_says_drafts_are_skipped(kind: str) -> None:
    from typer.testing import CliRunner

    from botfleet.cli.main import app

    result = CliRunner().invoke(app, ["cp", kind, "rollback", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "the version that was published before the current one" in text
    assert "versions uploaded but never published are skipped" in text
