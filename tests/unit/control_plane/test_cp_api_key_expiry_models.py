"""`ApiKeyCreate`'s expiry fields, the expired key's message, and the client's key calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from pydantic import ValidationError

from botfleet.control_plane.client import ControlPlaneClient
from botfleet.control_plane.errors import ApiKeyExpired, AuthenticationFailed
from botfleet.control_plane.models import (
    MAX_API_KEY_LIFETIME_DAYS,
    ApiKeyCreate,
    ApiKeyView,
    utc_instant,
)


def _refusal(**fields: object) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        ApiKeyCreate.model_validate({"name": "ci", **fields})
    [error] = caught.value.errors()
    return error["loc"], error["msg"]


def test_no_expiry_is_the_default() -> None:
    body = ApiKeyCreate(name="ci")
    assert body.expires_at is None and body.expires_in_days is None
    assert body.expiry(datetime.now(UTC)) is None


def test_expires_at_is_kept_in_utc() -> None:
    madrid = timezone(timedelta(hours=2))
    local = (datetime.now(madrid) + timedelta(days=10)).replace(microsecond=0)
    body = ApiKeyCreate.model_validate({"name": "ci", "expires_at": local.isoformat()})
    assert body.expires_at == local and body.expires_at is not None
    assert body.expires_at.utcoffset() == timedelta(0)
    assert body.expiry(datetime.now(UTC)) == local


def test_expires_in_days_counts_from_the_given_now_to_the_second() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, 987654, tzinfo=UTC)
    body = ApiKeyCreate(name="ci", expires_in_days=90)
    assert body.expiry(now) == datetime(2026, 5, 30, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at", "must be in the future"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at", "timezone"),
        ({"expires_at": "0001-01-01T00:00:00+01:00"}, "expires_at", "must be in the future"),
        ({"expires_at": "9999-12-31T23:59:59-01:00"}, "expires_at", "at most 730 days"),
        ({"expires_in_days": 0}, "expires_in_days", "greater than or equal to 1"),
        ({"expires_in_days": 731}, "expires_in_days", "less than or equal to 730"),
    ],
)
def test_an_expiry_out_of_bounds_names_its_field(
    fields: dict[str, object], field: str, message: str
) -> None:
    loc, msg = _refusal(**fields)
    assert loc == (field,)
    assert message in msg


def test_the_bounds_are_two_years_from_now() -> None:
    now = datetime.now(UTC)
    limit = now + timedelta(days=MAX_API_KEY_LIFETIME_DAYS)
    ApiKeyCreate(name="ci", expires_at=limit - timedelta(minutes=1))
    ApiKeyCreate(name="ci", expires_at=now + timedelta(seconds=30))
    assert "at most" in _refusal(expires_at=(limit + timedelta(minutes=1)).isoformat())[1]
    ApiKeyCreate(name="ci", expires_in_days=MAX_API_KEY_LIFETIME_DAYS)


def test_both_expiries_are_refused() -> None:
    at = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    loc, msg = _refusal(expires_at=at, expires_in_days=3)
    assert loc == ()
    assert "give expires_at or expires_in_days, not both" in msg


def test_the_expired_message_names_the_key_and_the_date_only() -> None:
    error = ApiKeyExpired("deploy bot", "0123456789ab", "2027-01-31T10:00:00Z")
    assert isinstance(error, AuthenticationFailed) and error.status_code == 401
    assert str(error).startswith("API key 'deploy bot' expired at 2027-01-31T10:00:00Z; ")
    assert utc_instant(datetime(2027, 1, 31, 11, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))) == (
        "2027-01-31T10:00:00Z"
    )


def test_the_client_sends_the_expiry_and_reads_an_older_servers_keys() -> None:
    sent: list[dict[str, object]] = []
    at = datetime(2027, 2, 1, 8, 30, tzinfo=UTC)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            # A control plane from before expiry existed: no expires_at, no last_used_at.
            old = {"id": "0123456789ab", "tenant_id": "acme", "name": "ci",
                   "created_at": "2026-01-01T00:00:00Z", "created_by": "admin",
                   "revoked_at": None}  # fmt: skip
            return httpx.Response(200, json=[old])
        body = json.loads(request.content)
        sent.append(body)
        view = {"id": "0123456789ab", "tenant_id": "acme", "name": body["name"],
                "created_at": "2026-01-01T00:00:00Z", "created_by": "admin", "revoked_at": None,
                "expires_at": body.get("expires_at"), "last_used_at": None,
                "key": "bfk_0123456789ab_secret"}  # fmt: skip
        return httpx.Response(201, json=view)

    with ControlPlaneClient("http://cp", "k", transport=httpx.MockTransport(handle)) as client:
        created = client.create_api_key("acme", "ci", expires_at=at)
        client.create_api_key("acme", "ci", expires_in_days=30)
        client.create_api_key("acme", "ci")
        [listed] = client.list_api_keys("acme")
    assert sent == [
        {"name": "ci", "expires_at": "2027-02-01T08:30:00+00:00"},
        {"name": "ci", "expires_in_days": 30},
        {"name": "ci"},
    ]
    assert created.expires_at == at
    assert isinstance(listed, ApiKeyView)
    assert listed.expires_at is None and listed.last_used_at is None
