"""Tenant API keys may expire (`expires_at` / `expires_in_days`): an expired key is a 401 that
names it and the date (never the key), logged once as ``api_key_expired``; keys without expiry
work as before; `last_used_at` is written at most once an hour per key."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cp_harness import ControlPlane
from sqlalchemy import event

from botfleet.control_plane.services import identity

KEYS = "/v1/tenants/acme/api-keys"
EXPIRED_HINT = "create a new key (with the admin key or another of the tenant's keys)"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def _create(cp: ControlPlane, **fields: Any) -> dict[str, Any]:
    response = await cp.client.post(KEYS, json={"name": "ci", **fields}, headers=cp.admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _listed(cp: ControlPlane) -> dict[str, dict[str, Any]]:
    response = await cp.client.get(KEYS, headers=cp.admin)
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()}


@contextmanager
def _clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> Iterator[None]:
    """The control plane's clock when it checks a key (the rest of the world keeps time)."""
    with monkeypatch.context() as patched:
        patched.setattr(identity, "utcnow", lambda: now)
        yield


async def test_a_key_works_until_it_expires_then_is_401_naming_it_and_logged_once(
    cp: ControlPlane,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    await cp.create_tenant("acme")
    expires = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    created = await _create(cp, expires_at=expires.isoformat())
    key, key_id = created["key"], created["id"]
    assert _at(created["expires_at"]) == expires
    assert _at((await _listed(cp))[key_id]["expires_at"]) == expires

    # Not yet expired, up to the last microsecond.
    with _clock(monkeypatch, expires - timedelta(microseconds=1)):
        still = await cp.client.get("/v1/tenants/acme", headers=cp.auth(key))
    assert still.status_code == 200, still.text

    caplog.clear()
    with _clock(monkeypatch, expires):
        expired = await cp.client.get("/v1/tenants/acme", headers=cp.auth(key))
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == "Bearer"
    assert expired.json()["detail"] == (
        f"API key 'ci' expired at {_iso(expires)}; {EXPIRED_HINT} and use it instead"
    )
    events = [json.loads(r.getMessage()) for r in caplog.records if "api_key_expired" in r.message]
    assert len(events) == 1, "logged once per request"
    assert events[0] == {
        **events[0],
        "event": "api_key_expired",
        "key_id": key_id,
        "tenant_id": "acme",
        "key_name": "ci",
        "expired_at": _iso(expires),
        "level": "warning",
    }
    secret = key.split("_", 2)[2]
    logged = caplog.text + "".join(capsys.readouterr())
    assert secret not in logged and secret not in expired.text

    # Every route refuses it (also with X-API-Key, also a change); the admin still sees it.
    with _clock(monkeypatch, expires + timedelta(days=1)):
        for response in (
            await cp.client.get(KEYS, headers={"X-API-Key": key}),
            await cp.client.post(KEYS, json={"name": "self-renew"}, headers=cp.auth(key)),
        ):
            assert response.status_code == 401
            assert response.json()["detail"].startswith("API key 'ci' expired at ")
    assert list(await _listed(cp)) == [key_id], "the expired key did not make another one"


async def test_a_wrong_secret_for_an_expired_key_does_not_learn_its_name(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    await cp.create_tenant("acme")
    created = await _create(cp, expires_in_days=1)
    forged = f"bfk_{created['id']}_not-the-secret"
    with _clock(monkeypatch, datetime.now(UTC) + timedelta(days=2)):
        response = await cp.client.get("/v1/tenants/acme", headers=cp.auth(forged))
    assert (response.status_code, response.json()["detail"]) == (401, "invalid API key")


async def test_expires_in_days_counts_from_now_and_keys_without_expiry_keep_working(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    await cp.create_tenant("acme")
    before = datetime.now(UTC)
    dated = await _create(cp, expires_in_days=30)
    forever = await _create(cp)
    after = datetime.now(UTC)
    expires = _at(dated["expires_at"])
    assert before.replace(microsecond=0) + timedelta(days=30) <= expires
    assert expires <= after + timedelta(days=30) and expires.microsecond == 0
    assert forever["expires_at"] is None

    audit = (await cp.client.get("/v1/audit?action=api_key.create", headers=cp.admin)).json()
    expiries = {entry["target"]: entry["details"]["expires_at"] for entry in audit}
    assert expiries == {forever["id"]: None, dated["id"]: expires.isoformat()}

    # Ten years on, the dated key is refused and the one without expiry still works.
    with _clock(monkeypatch, datetime.now(UTC) + timedelta(days=3650)):
        gone = await cp.client.get("/v1/tenants/acme", headers=cp.auth(dated["key"]))
        kept = await cp.client.get("/v1/tenants/acme", headers=cp.auth(forever["key"]))
    assert gone.status_code == 401 and "expired at" in gone.json()["detail"]
    assert kept.status_code == 200, kept.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "past"}, "expires_at"),  # replaced by a time just gone
        ({"expires_at": "2099-01-01T00:00:00Z"}, "expires_at"),  # over 2 years away
        ({"expires_at": "0001-01-01T00:00:00+01:00"}, "expires_at"),
        ({"expires_at": "9999-12-31T23:59:59-01:00"}, "expires_at"),
        ({"expires_at": "2027-01-01T00:00:00"}, "expires_at"),  # no offset: whose midnight?
        ({"expires_at": "next tuesday"}, "expires_at"),
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": -5}, "expires_in_days"),
        ({"expires_in_days": 731}, "expires_in_days"),
        ({"expires_in_days": 1.5}, "expires_in_days"),
        ({"expires_in_days": 10**30}, "expires_in_days"),
    ],
)
async def test_an_expiry_in_the_past_or_too_far_is_422_naming_the_field(
    cp: ControlPlane, body: dict[str, Any], field: str
) -> None:
    await cp.create_tenant("acme")
    if body.get("expires_at") == "past":
        body = {"expires_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}
    response = await cp.client.post(KEYS, json={"name": "ci", **body}, headers=cp.admin)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert await _listed(cp) == {}, "no key was made"


async def test_both_expiries_at_once_is_422(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    at = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    response = await cp.client.post(
        KEYS, json={"name": "ci", "expires_at": at, "expires_in_days": 5}, headers=cp.admin
    )
    assert response.status_code == 422
    assert "expires_at or expires_in_days, not both" in response.json()["detail"][0]["msg"]
    past = await cp.client.post(
        KEYS, json={"name": "ci", "expires_at": "2020-01-01T00:00:00Z"}, headers=cp.admin
    )
    assert "must be in the future" in past.json()["detail"][0]["msg"]
    assert await _listed(cp) == {}


async def test_last_used_at_is_written_at_most_once_an_hour_per_key(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    await cp.create_tenant("acme")
    created = await _create(cp)
    key, key_id = created["key"], created["id"]
    assert created["last_used_at"] is None
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
            updates.append(statement)

    engine = cp.app.state.container.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        start = datetime.now(UTC) + timedelta(minutes=1)
        with _clock(monkeypatch, start):
            for _ in range(5):
                assert (await cp.client.get(KEYS, headers=cp.auth(key))).status_code == 200
        assert len(updates) == 1, "five requests in the hour, one write"
        assert _at((await _listed(cp))[key_id]["last_used_at"]) == start

        with _clock(monkeypatch, start + timedelta(minutes=59)):
            assert (await cp.client.get(KEYS, headers=cp.auth(key))).status_code == 200
        assert len(updates) == 1
        later = start + timedelta(hours=1)
        with _clock(monkeypatch, later):
            assert (await cp.client.get(KEYS, headers=cp.auth(key))).status_code == 200
            assert (await cp.client.get(KEYS, headers=cp.auth(key))).status_code == 200
        assert len(updates) == 2
        assert _at((await _listed(cp))[key_id]["last_used_at"]) == later
        # The admin key has no row to write.
        assert (await cp.client.get(KEYS, headers=cp.admin)).status_code == 200
        assert len(updates) == 2
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_export_lists_the_keys_expiry(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    created = await _create(cp, expires_in_days=7)
    exported = (await cp.client.get("/v1/tenants/acme/export", headers=cp.admin)).json()
    [row] = exported["api_keys"]
    assert _at(row["expires_at"]) == _at(created["expires_at"])
    assert created["key"] not in json.dumps(exported)
