"""Credential formats as bindings come and go (SQLite, PostgreSQL): secrets put before the
channel's type is set, a type changed under stored secrets, and a binding change that would
make stored secrets ones the data plane refuses at boot."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane
from pydantic import BaseModel, SecretStr, field_validator
from sqlalchemy import text, update

from botfleet.adapters.channels.whatsapp.settings import whatsapp_settings
from botfleet.control_plane.binding_schemas import CredentialTarget
from botfleet.control_plane.db.tables import Tenant
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.services.credential_values import check_credential_values

GOOD_TELEGRAM = {"bot_token": "123456:AAH" + "y" * 30, "webhook_secret": "hook_secret-7"}
BAD_TELEGRAM = {"bot_token": "123:short", "webhook_secret": "has spaces and !"}
GOOD_WHATSAPP = {
    "access_token": "EAA-bindings-111",
    "app_secret": "bindings-app-222",
    "verify_token": "bindings-verify-333",
}
HOOK = {
    "type": "webhook",
    "url": "https://hooks.example.com/botfleet",
    "headers": {"X-Shop": "downtown"},
}
TOKEN = "tok-bindings-444"


async def _put(cp: ControlPlane, scope: str, body: dict[str, Any]) -> httpx.Response:
    return await cp.client.put(
        f"/v1/tenants/shopw/credentials/{scope}", json=body, headers=cp.admin
    )


async def _patch(cp: ControlPlane, body: dict[str, Any], **params: str) -> httpx.Response:
    return await cp.client.patch("/v1/tenants/shopw", json=body, params=params, headers=cp.admin)


async def _stored(cp: ControlPlane) -> dict[str, list[str]]:
    listed = (await cp.client.get("/v1/tenants/shopw/credentials", headers=cp.admin)).json()
    return {c["scope"]: c["key_names"] for c in listed}


async def test_secrets_put_before_the_channel_type_is_set_say_to_set_it(cp: ControlPlane) -> None:
    await cp.create_tenant("shopw")  # a new tenant's channel is http_dev: no secrets

    early = await _put(cp, "channel", GOOD_TELEGRAM)

    assert early.status_code == 422, early.text
    detail = early.json()["detail"]
    assert "channel (type 'http_dev') takes no secrets" in detail
    assert detail.endswith(
        "; set the type whose secrets they are first (PATCH the tenant), then store them"
    )
    assert GOOD_TELEGRAM["bot_token"] not in early.text
    assert await _stored(cp) == {}
    assert (await _patch(cp, {"channel": {"type": "telegram"}})).status_code == 200
    # From now on the secrets are checked against Telegram's rules.
    assert (await _put(cp, "channel", BAD_TELEGRAM)).status_code == 422
    assert (await _put(cp, "channel", GOOD_TELEGRAM)).status_code == 200
    assert await _stored(cp) == {"channel": ["bot_token", "webhook_secret"]}


async def test_a_channel_of_a_type_this_version_does_not_know_takes_no_secrets(
    cp: ControlPlane,
) -> None:
    """A row written by another version (a type since removed): its rules are unknown here."""
    await cp.create_tenant("shopw", channel={"type": "telegram"})
    async with cp.app.state.container.engine.begin() as conn:
        await conn.execute(update(Tenant).values(channel={"type": "signal"}))

    refused = await _put(cp, "channel", GOOD_TELEGRAM)

    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == (
        "tenant 'shopw' has a channel of no known type, so its secrets could not be checked "
        "nor used: set the channel's type first (PATCH the tenant), then store them"
    )
    assert await _stored(cp) == {}


async def test_after_a_type_change_the_new_types_rules_apply(cp: ControlPlane) -> None:
    boot_token = await cp.create_tenant("shopw", channel={"type": "telegram"})
    await cp.upload_flow("shopw", publish=True)
    assert (await _put(cp, "channel", GOOD_TELEGRAM)).status_code == 200
    whatsapp = {"channel": {"type": "whatsapp", "phone_number_id": "42"}}
    # Telegram's names do not fit WhatsApp: refused until they are dropped.
    assert (await _patch(cp, whatsapp)).status_code == 409
    dropped = await _patch(cp, whatsapp, drop_stale_credentials="true")
    assert dropped.status_code == 200, dropped.text
    assert await _stored(cp) == {}

    blank = await _put(cp, "channel", {**GOOD_WHATSAPP, "access_token": " EAA-bindings-111"})
    assert blank.status_code == 422, blank.text
    assert blank.json()["detail"].startswith("body.access_token: starts or ends")
    assert (await _put(cp, "channel", GOOD_WHATSAPP)).status_code == 200
    boot = await cp.client.get("/v1/boot/shopw", headers=cp.auth(boot_token))
    assert whatsapp_settings(boot.json()["channel"]).phone_number_id == "42"


async def test_a_binding_change_that_would_break_stored_secrets_is_refused(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("shopw", connectors={"notification": HOOK})
    assert (await _put(cp, "connector:notification", {"token": TOKEN})).status_code == 200
    # The token would now go in a header the binding already sends: the boot refuses that.
    clashing = {"notification": {**HOOK, "token_header": "X-Shop"}}

    for params in ({}, {"drop_stale_credentials": "true"}):  # no name is stale: nothing to drop
        refused = await _patch(cp, {"connectors": clashing}, **params)
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == (
            "the new bindings of tenant 'shopw' do not fit its stored secrets: "
            "connectors.notification (type 'webhook') would refuse them at boot: "
            "credentials.connector:notification: headers.X-Shop: also "
            "token_header; the token is sent in it, leave it out of headers. Leave the "
            "binding as it is, or delete them (DELETE /v1/tenants/shopw/credentials/"
            "connector:notification), change it, then put secrets that fit"
        )
        assert TOKEN not in refused.text
    tenant = (await cp.client.get("/v1/tenants/shopw", headers=cp.admin)).json()
    assert tenant["connectors"]["notification"] == HOOK
    assert await _stored(cp) == {"connector:notification": ["token"]}

    slower = {"notification": {**HOOK, "request_timeout_s": 5}}
    assert (await _patch(cp, {"connectors": slower})).status_code == 200


async def test_secrets_stored_unfit_before_do_not_block_a_binding_change(
    cp: ControlPlane,
) -> None:
    """Secrets stored before puts were checked may be ones the boot refuses already: a change
    of the binding does not make that worse, and putting good ones is the fix either way."""
    await cp.create_tenant("shopw", channel={"type": "telegram"})
    assert (await _put(cp, "channel", GOOD_TELEGRAM)).status_code == 200
    container = cp.app.state.container
    async with container.engine.begin() as conn:
        await conn.execute(
            text("UPDATE credentials SET ciphertext = :sealed"),
            {"sealed": container.box.seal(BAD_TELEGRAM)},
        )

    named = await _patch(cp, {"channel": {"type": "telegram", "bot_username": "shopw_bot"}})

    assert named.status_code == 200, named.text
    assert (await _put(cp, "channel", BAD_TELEGRAM)).status_code == 422


class _Echoing(BaseModel):
    """A settings model whose messages repeat the value, as no adapter's may."""

    password: SecretStr | None = None
    info: dict[str, Any] | None = None

    @field_validator("password")
    @classmethod
    def _weak(cls, value: SecretStr) -> SecretStr:
        raise ValueError(f"{value.get_secret_value()!r} is too weak")

    @field_validator("info")
    @classmethod
    def _unreadable(cls, value: dict[str, Any]) -> dict[str, Any]:
        raise ValueError(f"cannot read {json.dumps(value)}")


_ECHOING = CredentialTarget("test", {"password": "password", "info": "info"}, model=_Echoing)


@pytest.mark.parametrize(
    ("name", "secret"),
    [("password", "hunter2-secret"), ("info", {"nested": ["x", "hunter2-secret"]})],
)
def test_a_message_that_would_repeat_a_secret_is_not_shown(name: str, secret: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_credential_values(_ECHOING, {name: secret})

    assert str(refused.value) == (
        f"body.{name}: refused (the reason is not shown: it would repeat the value)"
    )


def test_a_value_too_short_to_be_a_secret_may_be_shown() -> None:
    with pytest.raises(InvalidInput, match="'abc' is too weak"):
        check_credential_values(_ECHOING, {"password": "abc"})
