"""The `webhook` notification binding through the control plane's API (SQLite, PostgreSQL): the
binding is accepted without its secrets, which are refused in it and stored as the credentials
of `connector:notification`; the boot payload merges them back and the data plane builds the
connector from it. A tenant key cannot point the hook at an internal host."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from cp_harness import ControlPlane

from botfleet.adapters.connectors.notification.webhook import WebhookConnector
from botfleet.adapters.registry import build_connectors, check_flow_connectors
from botfleet.data_plane.bootstrap import load_tenant_flow
from botfleet.data_plane.config_source.convert import tenant_config_from_boot
from botfleet.domain.tenants import BootPayload

URL = "https://hooks.example.com/botfleet/acme"
HOOK = {"type": "webhook", "url": URL, "format": "slack", "headers": {"X-Shop": "downtown"}}
SECRET = "whsec-cp-S3cr3t-111"
TOKEN = "tok-cp-S3cr3t-222"
NOTIFY_FLOW = """\
id: notify_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: invoke_connector
        connector: notification
        operation: send
        params: {event: contact_said_hi, contact_id: "{{ contact.id }}"}
        on_error: {text: "Noted."}
    fallback: MENU
"""


class FixedClock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, 7, tzinfo=UTC)


async def _patch(cp: ControlPlane, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return await cp.client.patch("/v1/tenants/acme", json=body, headers=headers)


async def _put(cp: ControlPlane, body: dict[str, Any]) -> httpx.Response:
    return await cp.client.put(
        "/v1/tenants/acme/credentials/connector:notification", json=body, headers=cp.admin
    )


def _no_secret_in(response: httpx.Response) -> None:
    assert SECRET not in response.text
    assert TOKEN not in response.text


async def test_the_binding_boots_with_its_secrets_stored_as_credentials(cp: ControlPlane) -> None:
    token = await cp.create_tenant("acme", connectors={"notification": HOOK})
    uploaded = await cp.client.post(
        "/v1/tenants/acme/flows",
        params={"publish": "true"},
        content=NOTIFY_FLOW,
        headers={**cp.admin, "Content-Type": "application/yaml"},
    )
    assert uploaded.status_code == 201, uploaded.text

    # A secret in the binding is refused, naming it, never echoing it.
    for name, value in (("secret", SECRET), ("token", TOKEN)):
        refused = await _patch(
            cp, {"connectors": {"notification": {**HOOK, name: value}}}, cp.admin
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"] == (
            f"connectors.notification.{name}: secrets are not allowed in bindings; store them "
            "as credentials"
        )
        _no_secret_in(refused)

    # Stored as the scope's credentials instead; a name the binding does not take is refused.
    wrong = await _put(cp, {"password": SECRET})
    assert wrong.status_code == 422, wrong.text
    detail = wrong.json()["detail"]
    assert "connectors.notification (type 'webhook') takes the secrets secret, token" in detail
    _no_secret_in(wrong)
    stored = await _put(cp, {"secret": SECRET, "token": TOKEN})
    assert stored.status_code == 200, stored.text
    _no_secret_in(stored)
    shown = await cp.client.get("/v1/tenants/acme", headers=cp.admin)
    assert shown.json()["connectors"] == {"notification": HOOK}
    _no_secret_in(shown)

    # The boot payload merges them; the data plane builds the connector and checks the flow.
    booted = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert booted.status_code == 200, booted.text
    payload = BootPayload.model_validate(booted.json())
    assert payload.connectors["notification"] == {**HOOK, "secret": SECRET, "token": TOKEN}
    config = tenant_config_from_boot(payload)
    connectors = build_connectors(config, clock=FixedClock())
    check_flow_connectors(config, load_tenant_flow(config), connectors)
    webhook = connectors["notification"]
    assert isinstance(webhook, WebhookConnector)
    assert webhook.settings.format == "slack"
    assert webhook.settings.secret is not None
    assert webhook.settings.secret.get_secret_value() == SECRET
    assert webhook.settings.token is not None
    assert webhook.settings.token.get_secret_value() == TOKEN


async def test_a_tenant_key_cannot_point_the_hook_at_an_internal_host(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    key = cp.auth(await cp.tenant_key("acme"))

    for url, why in (
        ("http://127.0.0.1:8080/hook", "is a loopback address"),
        ("http://169.254.169.254/latest/meta-data", "link-local address"),
        ("http://n8n.internal/webhook/abc", "is in .internal"),
    ):
        refused = await _patch(cp, {"connectors": {"notification": {**HOOK, "url": url}}}, key)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith("connectors.notification.url: the URL's host ")
        assert why in refused.json()["detail"]

    accepted = await _patch(cp, {"connectors": {"notification": HOOK}}, key)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["connectors"] == {"notification": HOOK}
