"""`CP_API_KEY_MAX_DAYS` bounds how long a new tenant key lives (a key asked for without an
expiry gets one that far away, a later one is FastAPI's 422 naming the field), and key lists
leave expired keys out unless `?include_expired=true` (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane

from botfleet.control_plane.services import identity

KEYS = "/v1/tenants/acme/api-keys"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
async def capped(database: Database) -> AsyncIterator[ControlPlane]:
    async with running_control_plane(make_settings(database, api_key_max_days=30)) as plane:
        yield plane


async def _create(cp: ControlPlane, headers: dict[str, str], **fields: Any) -> Any:
    return await cp.client.post(KEYS, json={"name": "ci", **fields}, headers=headers)


async def test_a_key_without_expiry_gets_the_longest_one_allowed(capped: ControlPlane) -> None:
    await capped.create_tenant("acme")
    before = datetime.now(UTC).replace(microsecond=0)
    for headers in (capped.admin, capped.auth(await capped.tenant_key("acme", "first"))):
        created = await _create(capped, headers)
        assert created.status_code == 201, created.text
        expires = _at(created.json()["expires_at"])
        assert before + timedelta(days=30) <= expires <= datetime.now(UTC) + timedelta(days=30)
        assert expires.microsecond == 0
    audit = await capped.client.get("/v1/audit?action=api_key.create", headers=capped.admin)
    assert all(entry["details"]["expires_at"] for entry in audit.json())


async def test_an_expiry_within_the_limit_is_kept_and_a_later_one_is_422(
    capped: ControlPlane,
) -> None:
    await capped.create_tenant("acme")
    soon = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    kept = await _create(capped, capped.admin, expires_at=soon.isoformat())
    assert _at(kept.json()["expires_at"]) == soon
    assert (await _create(capped, capped.admin, expires_in_days=30)).status_code == 201

    late = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    for body, field in (({"expires_in_days": 31}, "expires_in_days"),
                        ({"expires_at": late}, "expires_at")):  # fmt: skip
        refused = await _create(capped, capped.admin, **body)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["detail"]
        assert error["loc"] == ["body", field]
        assert error["msg"].startswith("must be at most 30 days from now")
        assert "CP_API_KEY_MAX_DAYS=30" in error["msg"]
        assert set(error) == {"type", "loc", "msg"}
    listed = await capped.client.get(KEYS, headers=capped.admin)
    assert len(listed.json()) == 2, "no key was made by the refused requests"


async def test_without_the_setting_a_key_never_expires(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    created = await _create(cp, cp.admin)
    assert created.status_code == 201 and created.json()["expires_at"] is None


async def test_lists_leave_expired_keys_out_unless_asked(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    await cp.create_tenant("acme")
    short = (await _create(cp, cp.admin, expires_in_days=1)).json()
    forever = (await _create(cp, cp.admin, name="forever")).json()
    revoked = (await _create(cp, cp.admin, name="revoked")).json()
    gone = await cp.client.delete(f"{KEYS}/{revoked['id']}", headers=cp.admin)
    assert gone.status_code == 204
    key = cp.auth(forever["key"])

    async def listed(headers: dict[str, str], **params: str) -> list[str]:
        answer = await cp.client.get(KEYS, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return [row["name"] for row in answer.json()]

    assert await listed(cp.admin) == ["ci", "forever", "revoked"]
    expiry = _at(short["expires_at"])
    # The clock the keys are checked with, at the short key's expiry.
    monkeypatch.setattr(identity, "utcnow", lambda: expiry)
    for headers in (cp.admin, key):
        assert await listed(headers) == ["forever", "revoked"], "revoked keys are still shown"
        assert await listed(headers, include_expired="true") == ["ci", "forever", "revoked"]
        assert await listed(headers, include_expired="false") == ["forever", "revoked"]
    monkeypatch.setattr(identity, "utcnow", lambda: expiry - timedelta(microseconds=1))
    assert await listed(cp.admin) == ["ci", "forever", "revoked"]
    exported = await cp.client.get("/v1/tenants/acme/export", headers=cp.admin)
    assert len(exported.json()["api_keys"]) == 3, "the export keeps every key"


async def test_a_key_made_by_a_capped_key_later_gets_its_makers_expiry(
    capped: ControlPlane,
) -> None:
    """A tenant key made a while after its maker: the default (30 days from now) would outlive
    the maker, which expires 30 days after it was made; it gets the maker's expiry instead."""
    await capped.create_tenant("acme")
    soon = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    made = await _create(capped, capped.admin, expires_at=soon.isoformat(), role="owner")
    assert made.status_code == 201, made.text
    maker = capped.auth(made.json()["key"])
    created = await _create(capped, maker)
    assert created.status_code == 201, created.text
    assert _at(created.json()["expires_at"]) == soon
