"""The webhook's URL as a credential of `connector:notification`, through the control plane's API
(SQLite, PostgreSQL): a binding without `url` is accepted, the URL (a Teams/Power Automate one,
its key in `?sig=`) is stored as a credential, never returned nor logged, merged into the boot
payload and booted into the connector. It is kept in one place (binding or credentials), and a
tenant key can only point it at a public host, as a binding URL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane
from cryptography.fernet import Fernet

from botfleet.adapters.connectors.notification.webhook import WebhookConnector
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.adapters.registry import build_connectors, check_flow_connectors
from botfleet.data_plane.bootstrap import load_tenant_flow
from botfleet.data_plane.config_source.convert import tenant_config_from_boot
from botfleet.domain.tenants import BootPayload

SIG = "sig-cp-S3cr3t-9Qw"
HOST = "prod-12.westeurope.logic.azure.com"
TEAMS_URL = (
    f"https://{HOST}:443/workflows/7ab2/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
)
SECRET = "whsec-cp-url-S3cr3t"
HOOK = {"type": "webhook", "format": "json", "headers": {"X-Shop": "downtown"}}
PATH = "/v1/tenants/acme/credentials/connector:notification"
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


def _hidden(text: str) -> None:
    assert SIG not in text
    assert "workflows/7ab2" not in text
    assert SECRET not in text


async def _put(cp: ControlPlane, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return await cp.client.put(PATH, json=body, headers=headers)


async def _patch(
    cp: ControlPlane, binding: dict[str, Any], *, params: dict[str, str] | None = None
) -> httpx.Response:
    return await cp.client.patch(
        "/v1/tenants/acme",
        json={"connectors": {"notification": binding}},
        params=params,
        headers=cp.admin,
    )


async def test_a_hook_url_stored_as_a_credential_boots_and_is_never_shown(
    cp: ControlPlane, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await cp.create_tenant("acme", connectors={"notification": HOOK})
    uploaded = await cp.client.post(
        "/v1/tenants/acme/flows",
        params={"publish": "true"},
        content=NOTIFY_FLOW,
        headers={**cp.admin, "Content-Type": "application/yaml"},
    )
    assert uploaded.status_code == 201, uploaded.text
    bodies: list[str] = []

    # The binding has no url: a put must hold it (it replaces all of the scope's secrets).
    missing = await _put(cp, {"secret": SECRET}, cp.admin)
    assert missing.status_code == 422, missing.text
    assert missing.json()["detail"].startswith("body: missing required secret(s) url; ")
    assert "the binding has no url, so the credentials must hold it" in missing.json()["detail"]
    stored = await _put(cp, {"url": TEAMS_URL, "secret": SECRET}, cp.admin)
    assert stored.status_code == 200, stored.text
    assert stored.json()["key_names"] == ["secret", "url"]
    bodies += [missing.text, stored.text]
    for path in ("/v1/tenants/acme", "/v1/tenants/acme/credentials", "/v1/audit",
                 "/v1/tenants/acme/export", "/v1/tenants", "/v1/binding-schemas"):  # fmt: skip
        shown = await cp.client.get(path, headers=cp.admin)
        assert shown.status_code == 200, (path, shown.text)
        bodies.append(shown.text)
    tenant = await cp.client.get("/v1/tenants/acme", headers=cp.admin)
    assert tenant.json()["connectors"] == {"notification": HOOK}

    # The boot payload merges it (as a secret path); the data plane boots the connector on it.
    booted = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert booted.status_code == 200, booted.text
    payload = BootPayload.model_validate(booted.json())
    assert payload.connectors["notification"] == {**HOOK, "url": TEAMS_URL, "secret": SECRET}
    assert "connectors.notification.url" in payload.secret_paths
    config = tenant_config_from_boot(payload)
    connectors = build_connectors(config, clock=FixedClock())
    check_flow_connectors(config, load_tenant_flow(config), connectors)
    webhook = connectors["notification"]
    assert isinstance(webhook, WebhookConnector)
    assert webhook.settings.url == TEAMS_URL
    _hidden(repr(webhook))

    # It posts there, query included.
    requests: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(202)

    client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    posting = WebhookConnector(webhook.settings, clock=FixedClock(), http=HttpxProvider(client))
    answer = await posting.call("send", {"event": "e"}, idempotency_key="acme:c1:m1")
    assert answer["status"] == 202
    (request,) = requests
    assert request.url.host == HOST and request.url.params["sig"] == SIG

    logged = caplog.text + "".join(capsys.readouterr())
    assert "boot served" in caplog.text, "the logs were captured"
    for text in (logged, *bodies):
        _hidden(text)


async def test_the_url_is_kept_in_one_place(cp: ControlPlane) -> None:
    bound = {**HOOK, "url": f"https://{HOST}/hooks/in-the-binding"}
    await cp.create_tenant("acme", connectors={"notification": bound})

    # In the binding already: refused as a credential, naming it, never echoing it.
    twice = await _put(cp, {"url": TEAMS_URL}, cp.admin)
    assert twice.status_code == 422, twice.text
    assert twice.json()["detail"].startswith(
        "body.url: set in the binding already: keep it in one place"
    )
    # A query in the binding is refused, pointing to the credentials.
    query = await _patch(cp, {**HOOK, "url": TEAMS_URL})
    assert query.status_code == 422, query.text
    assert query.json()["detail"].startswith(
        "connectors.notification.url: give the URL without a query"
    )
    assert "store it as 'url' in connector:notification" in query.json()["detail"]

    # Moved: the binding without it, then the credentials with it.
    unbound = await _patch(cp, HOOK)
    assert unbound.status_code == 200, unbound.text
    moved = await _put(cp, {"url": TEAMS_URL}, cp.admin)
    assert moved.status_code == 200, moved.text

    # A binding that gains a url again no longer fits the stored one: 409 saying where it is
    # and how to move it, or drop the stored one.
    again = await _patch(cp, bound)
    assert again.status_code == 409, again.text
    detail = again.json()["detail"]
    assert (
        "credentials 'connector:notification' hold url, which the new binding of "
        "connectors.notification (type 'webhook') sets itself: url is already stored as a "
        "credential, and it is kept in one place. To move it into the binding, repeat the "
        "PATCH with ?drop_stale_credentials=true (it removes only url from the stored "
        "credentials); to keep it as a credential, leave url out of the binding"
    ) in detail, detail
    assert "does not take" not in detail and "put the new binding's secrets" not in detail
    dropped = await _patch(cp, bound, params={"drop_stale_credentials": "true"})
    assert dropped.status_code == 200, dropped.text
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)
    assert listed.json() == []
    for response in (twice, query, unbound, moved, again, dropped, listed):
        _hidden(response.text)


async def test_a_tenant_key_can_only_store_a_public_hook_url(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", connectors={"notification": HOOK})
    key = cp.auth(await cp.tenant_key("acme"))

    for url, why in (
        (f"http://169.254.169.254/latest/meta-data?sig={SIG}", "link-local address"),
        (f"http://127.0.0.1:8080/hook?sig={SIG}", "is a loopback address"),
        (f"https://n8n.internal/webhook/abc?sig={SIG}", "is in .internal"),
    ):
        refused = await _put(cp, {"url": url}, key)
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert detail.startswith("body.url: the URL's host "), detail
        assert why in detail and "CP_TENANT_URL_POLICY" in detail
        assert SIG not in refused.text and "169.254" not in refused.text
    # The value's form is checked first: user information is refused by the binding's rules
    # (for the admin key too) before its host is looked at.
    refused = await _put(cp, {"url": f"https://{HOST}@10.0.0.5/hook?sig={SIG}"}, key)
    assert refused.json()["detail"].startswith("body.url: a URL must not carry credentials")
    assert SIG not in refused.text
    assert (await cp.client.get("/v1/tenants/acme/credentials", headers=key)).json() == []
    assert cp.dns.asked == []

    fine = await _put(cp, {"url": TEAMS_URL}, key)
    assert fine.status_code == 200, fine.text
    assert cp.dns.asked == [HOST]
    # The operator may point it anywhere (a local receiver in a demo).
    admin = await _put(cp, {"url": f"http://127.0.0.1:8080/hook?sig={SIG}"}, cp.admin)
    assert admin.status_code == 200, admin.text


async def test_a_stored_hook_url_follows_the_binding_url_rules(cp: ControlPlane) -> None:
    """What the data plane would refuse at boot is refused when stored, for the admin key too,
    naming `body.url` as the binding names its `url`, never echoing the value."""
    await cp.create_tenant("acme", connectors={"notification": HOOK})
    key = cp.auth(await cp.tenant_key("acme"))

    for url, why in (
        (f"ftp://{HOST}/hook?sig={SIG}", "not an http(s) URL"),
        (f"{HOST}/workflows/7ab2?sig={SIG}", "not an http(s) URL"),
        (f"https:///workflows/7ab2?sig={SIG}", "the URL has no host"),
        (
            f"https://{HOST}/workflows/7ab2 x?sig={SIG}",
            "the URL holds spaces or control characters",
        ),
        (f"https://{HOST}:port/workflows/7ab2?sig={SIG}", "cannot be read as a URL"),
    ):
        refused = await _put(cp, {"url": url, "secret": SECRET}, cp.admin)
        assert refused.status_code == 422, (url, refused.text)
        assert refused.json()["detail"].startswith(f"body.url: {why}"), refused.text
        # A tenant key's may be refused by CP_TENANT_URL_POLICY first (its host cannot be read).
        by_tenant = await _put(cp, {"url": url, "secret": SECRET}, key)
        assert by_tenant.status_code == 422, (url, by_tenant.text)
        assert by_tenant.json()["detail"].startswith("body.url: "), by_tenant.text
        for response in (refused, by_tenant):
            _hidden(response.text)
        # The same value in the binding is refused the same way (there, also for its query).
        bound = await _patch(cp, {**HOOK, "url": url.partition("?")[0]})
        assert bound.status_code == 422, bound.text
        assert bound.json()["detail"].startswith(f"connectors.notification.url: {why}")
    # No scheme: not a URL to the policy, which leaves it to the binding's rules.
    bare = await _put(cp, {"url": f"{HOST}/workflows/7ab2?sig={SIG}"}, key)
    assert bare.json()["detail"].startswith("body.url: not an http(s) URL"), bare.text
    not_text = await _put(cp, {"url": 12345}, cp.admin)
    assert not_text.status_code == 422, not_text.text
    assert not_text.json()["detail"] == "body.url: Input should be a valid string"
    assert (await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)).json() == []

    # A good one is stored; the secret next to it is not the binding's business here.
    fine = await _put(cp, {"url": TEAMS_URL, "secret": SECRET}, key)
    assert fine.status_code == 200, fine.text


async def test_moving_the_url_into_the_binding_keeps_the_other_secrets(cp: ControlPlane) -> None:
    """`?drop_stale_credentials=true` removes only the names the new binding does not take:
    the signing secret stored next to the hook URL stays, sealed again without it."""
    token = await cp.create_tenant("acme", connectors={"notification": HOOK})
    uploaded = await cp.client.post(
        "/v1/tenants/acme/flows",
        params={"publish": "true"},
        content=NOTIFY_FLOW,
        headers={**cp.admin, "Content-Type": "application/yaml"},
    )
    assert uploaded.status_code == 201, uploaded.text
    stored = await _put(cp, {"url": TEAMS_URL, "secret": SECRET}, cp.admin)
    assert stored.status_code == 200, stored.text
    bound = {**HOOK, "url": f"https://{HOST}/hooks/in-the-binding"}

    refused = await _patch(cp, bound)
    assert refused.status_code == 409, refused.text
    assert (
        "(it removes only url from the stored credentials; its other secrets (secret) stay)"
        in refused.text
    )

    moved = await _patch(cp, bound, params={"drop_stale_credentials": "true"})
    assert moved.status_code == 200, moved.text
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)
    assert [(c["scope"], c["key_names"]) for c in listed.json()] == [
        ("connector:notification", ["secret"])
    ]
    audit = await cp.client.get("/v1/audit?action=credentials.delete", headers=cp.admin)
    assert [(e["target"], e["details"]) for e in audit.json()] == [
        (
            "connector:notification",
            {"keys": ["url"], "kept": ["secret"], "reason": "stale after tenant.update"},
        )
    ]
    booted = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert booted.status_code == 200, booted.text
    payload = BootPayload.model_validate(booted.json())
    assert payload.connectors["notification"] == {**bound, "secret": SECRET}
    assert "connectors.notification.url" not in payload.secret_paths
    for response in (refused, moved, listed, audit):
        _hidden(response.text)


async def test_secrets_no_key_opens_are_dropped_whole(database: Database) -> None:
    """Without a configured key that opens them, the stale name cannot be taken out of the
    sealed secrets: the scope goes as a whole, as before (it could not be used anyway)."""
    bound = {**HOOK, "url": f"https://{HOST}/hooks/in-the-binding"}
    async with running_control_plane(make_settings(database)) as cp:
        await cp.create_tenant("acme", connectors={"notification": HOOK})
        stored = await _put(cp, {"url": TEAMS_URL, "secret": SECRET}, cp.admin)
        assert stored.status_code == 200, stored.text
    other = Fernet.generate_key().decode()
    async with running_control_plane(make_settings(database, fernet_keys=other)) as cp:
        moved = await _patch(cp, bound, params={"drop_stale_credentials": "true"})
        assert moved.status_code == 200, moved.text
        listed = await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)
        assert listed.json() == []
        audit = await cp.client.get("/v1/audit?action=credentials.delete", headers=cp.admin)
        assert [e["details"] for e in audit.json()] == [
            {"keys": ["secret", "url"], "reason": "stale after tenant.update"}
        ]
