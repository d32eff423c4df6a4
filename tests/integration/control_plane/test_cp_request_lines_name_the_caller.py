"""Each request's log line names the caller as the audit does (`actor`: ``admin``,
``apikey:<key id>``, never the key) and the tenant its path names (`tenant_id`), the refused
ones included, and `botfleet_cp_requests_refused_total{status}` counts the 401, 403 and 404
answers on tenants' routes: an operator sees one customer's key probing another's tenant.

The line had the route's template and the status only: a key poking at another tenant's
routes left nothing that said which key, nor which tenant it tried.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cp_harness import ControlPlane

from botfleet.control_plane.services import identity

PHONE = "34600111222"


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        if record.name != "botfleet.control_plane.http":
            continue
        line = json.loads(record.getMessage())
        if line["event"] == "request":
            lines.append(line)
    return lines


def _refused(metrics: str) -> dict[str, float]:
    found = re.findall(
        r'^botfleet_cp_requests_refused_total\{status="(\d+)"\} (\S+)$', metrics, re.MULTILINE
    )
    return {status: float(n) for status, n in found}


async def _key(cp: ControlPlane, tenant_id: str, role: str) -> dict[str, Any]:
    response = await cp.client.post(
        f"/v1/tenants/{tenant_id}/api-keys", json={"name": role, "role": role}, headers=cp.admin
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_key_probing_another_tenant_is_named_in_each_line_and_counted(
    cp: ControlPlane, caplog: pytest.LogCaptureFixture
) -> None:
    await cp.create_tenant("acme")
    globex_boot = await cp.create_tenant("globex")
    editor = await _key(cp, "acme", "editor")
    key = cp.auth(editor["key"])
    before = _refused((await cp.client.get("/metrics")).text)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="botfleet.control_plane")

    statuses = [
        (await cp.client.get("/v1/tenants/acme", headers=key)).status_code,  # its own: 200
        (await cp.client.get("/v1/tenants/globex", headers=key)).status_code,  # another's: 404
        (await cp.client.get("/v1/tenants/globex/flows", headers=key)).status_code,  # 404
        # Contacts need the owner role: 403 before the tenant is looked at.
        (await cp.client.get(f"/v1/tenants/globex/contacts/{PHONE}", headers=key)).status_code,
        (
            await cp.client.post("/v1/tenants/acme/api-keys", json={"name": "x"}, headers=key)
        ).status_code,  # an editor may not make keys: 403
        (await cp.client.get("/v1/tenants/globex")).status_code,  # no key: 401
        (
            await cp.client.get("/v1/tenants/globex", headers=cp.auth("bfk_0123456789ab_nope"))
        ).status_code,  # a key that does not authenticate: 401, not named
        (await cp.client.get("/v1/tenants/globex", headers=cp.admin)).status_code,  # admin: 200
        (await cp.client.get("/v1/fleet", headers=key)).status_code,  # admin only: 403
        (await cp.client.get("/v1/boot/globex", headers=cp.auth("bfb_wrong"))).status_code,
    ]
    metrics = (await cp.client.get("/metrics")).text

    assert statuses == [200, 404, 404, 403, 403, 401, 401, 200, 403, 401]
    lines = _request_lines(caplog)[: len(statuses)]
    actor = f"apikey:{editor['id']}"
    assert [(line["status"], line["actor"], line["tenant_id"]) for line in lines] == [
        (200, actor, "acme"),
        (404, actor, "globex"),
        (404, actor, "globex"),
        (403, actor, "globex"),
        (403, actor, "acme"),
        (401, None, "globex"),
        (401, None, "globex"),
        (200, "admin", "globex"),
        (403, actor, None),  # no tenant in its path
        (401, None, "globex"),  # the boot route: a boot token names no key
    ]
    assert lines[3]["route"] == "/v1/tenants/{tenant_id}/contacts/{contact_id:path}"
    # Never a key, a token, nor the rest of a path (a contact's phone number).
    written = "".join(record.getMessage() for record in caplog.records)
    for secret in (editor["key"], "bfk_0123456789ab_nope", "bfb_wrong", globex_boot, PHONE):
        assert secret not in written

    # The 401, 403 and 404 answers on tenants' routes, by status; not /v1/fleet's 403 (no
    # tenant's route), nor the boot route's 401 (a refused boot pull, counted as such).
    after = _refused(metrics)
    assert {status: after[status] - before[status] for status in after} == {
        "401": 2.0,
        "403": 2.0,
        "404": 2.0,
    }
    assert 'botfleet_cp_boot_pulls_total{result="refused"} 1.0' in metrics


async def test_refusal_series_start_at_zero(cp: ControlPlane) -> None:
    """Each status is a series from the start, so `increase()` sees the first refusal."""
    metrics = (await cp.client.get("/metrics")).text
    assert _refused(metrics) == {"401": 0.0, "403": 0.0, "404": 0.0}


async def test_an_expired_key_is_named_a_wrong_secret_is_not(
    cp: ControlPlane, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An expired key presented with its right secret is that key (its 401 says so): its line
    names it. The same id with a wrong secret proves nothing, and is not named."""
    await cp.create_tenant("acme")
    expires = datetime.now(UTC) + timedelta(days=1)
    created = await cp.client.post(
        "/v1/tenants/acme/api-keys",
        json={"name": "ci", "expires_at": expires.isoformat()},
        headers=cp.admin,
    )
    assert created.status_code == 201, created.text
    key_id, key = created.json()["id"], created.json()["key"]
    forged = f"bfk_{key_id}_not-its-secret"
    caplog.clear()
    caplog.set_level(logging.INFO, logger="botfleet.control_plane")
    monkeypatch.setattr(identity, "utcnow", lambda: expires + timedelta(seconds=1))

    expired = await cp.client.get("/v1/tenants/acme", headers=cp.auth(key))
    wrong = await cp.client.get("/v1/tenants/acme", headers=cp.auth(forged))

    assert (expired.status_code, wrong.status_code) == (401, 401)
    first, second = _request_lines(caplog)[:2]
    assert (first["actor"], first["tenant_id"]) == (f"apikey:{key_id}", "acme")
    assert (second["actor"], second["tenant_id"]) == (None, "acme")


async def test_a_malformed_tenant_id_in_the_path_is_not_written(
    cp: ControlPlane, caplog: pytest.LogCaptureFixture
) -> None:
    """The path's value is the caller's: only a well-formed tenant id is written."""
    caplog.set_level(logging.INFO, logger="botfleet.control_plane")
    for path in ("/v1/tenants/Not%20A%20Tenant%0A/flows", "/v1/tenants/acme%0A"):
        # ("acme\n": a well-formed id but for a line break, which `$` alone would let by)
        caplog.clear()
        answer = await cp.client.get(path, headers=cp.admin)
        assert answer.status_code in (404, 422)
        [line] = [line for line in _request_lines(caplog) if line["status"] == answer.status_code]
        assert (line["actor"], line["tenant_id"]) == ("admin", None)
