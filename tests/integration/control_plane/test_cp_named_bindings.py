"""Named bindings through the control plane's API (SQLite, PostgreSQL): a tenant binds several
connectors of one category (`connectors.notification.crm`), each checked against its
category's types and settings, with credentials of its own (`connector:notification.crm`:
put, listed, deleted, checked against a changed binding, under the tenant URL policy) that the
boot payload merges into that binding only, and that a data plane boots. A flow calling a name
the tenant does not bind is not published, and the answer names the binding most likely meant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane
from cryptography.fernet import Fernet

from botfleet.adapters.connectors.notification.webhook import WebhookConnector
from botfleet.adapters.registry import build_connectors, check_flow_connectors
from botfleet.data_plane.bootstrap import load_tenant_flow
from botfleet.data_plane.config_source import CACHE_FILE, pull_boot_config
from botfleet.data_plane.config_source.convert import tenant_config_from_boot
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.tenants import BootPayload

SLACK = {
    "type": "webhook",
    "url": "https://hooks.slack.example.org/services/T0/B0",
    "format": "slack",
}
CRM = {"type": "webhook", "format": "json", "headers": {"X-Shop": "downtown"}}
CRM_URL = "https://crm.example.org/hooks/botfleet"
CRM_SECRET = "whsec-crm-named-S3cr3t"
SLACK_SECRET = "whsec-slack-default-S3cr3t"
CRM_SCOPE = "connector:notification.crm"


def _flow(name: str) -> str:
    return f"""\
id: named_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: invoke_connector
        connector: notification
        operation: send
        params: {{event: said_hi, contact_id: "{{{{ contact.id }}}}"}}
        on_error: {{text: "Noted."}}
      - action: invoke_connector
        connector: {name}
        operation: send
        params: {{event: lead_created, contact_id: "{{{{ contact.id }}}}"}}
        on_error: {{text: "Noted."}}
    fallback: MENU
"""


class FixedClock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, 7, tzinfo=UTC)


async def _patch(cp: ControlPlane, connectors: dict[str, Any], **params: str) -> httpx.Response:
    return await cp.client.patch(
        "/v1/tenants/acme", json={"connectors": connectors}, params=params, headers=cp.admin
    )


async def _put(
    cp: ControlPlane, scope: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await cp.client.put(
        f"/v1/tenants/acme/credentials/{scope}", json=body, headers=headers or cp.admin
    )


async def _publish(cp: ControlPlane, text: str) -> httpx.Response:
    return await cp.client.post(
        "/v1/tenants/acme/flows",
        params={"publish": "true"},
        content=text,
        headers={**cp.admin, "Content-Type": "application/yaml"},
    )


def _refused(response: httpx.Response, detail_start: str) -> str:
    assert response.status_code == 422, response.text
    detail: str = response.json()["detail"]
    assert detail.startswith(detail_start), detail
    return detail


async def test_a_named_binding_gets_its_own_credentials_into_the_booted_connector(
    cp: ControlPlane,
) -> None:
    token = await cp.create_tenant(
        "acme", connectors={"notification": SLACK, "notification.crm": CRM}
    )
    assert (await _publish(cp, _flow("notification.crm"))).status_code == 201

    # Its secrets are checked against its own binding (a webhook without url: url required).
    missing = await _put(cp, CRM_SCOPE, {"secret": CRM_SECRET})
    assert "missing required secret(s) url" in _refused(missing, "body: ")
    unknown = await _put(cp, CRM_SCOPE, {"url": CRM_URL, "password": "x"})
    assert "connectors.notification.crm (type 'webhook') takes the secrets" in (
        _refused(unknown, "body.password: unknown field")
    )
    stored = await _put(cp, CRM_SCOPE, {"url": CRM_URL, "secret": CRM_SECRET})
    assert stored.status_code == 200, stored.text
    assert stored.json()["scope"] == CRM_SCOPE
    assert stored.json()["key_names"] == ["secret", "url"]
    # The default binding holds its url itself: its scope is another one.
    default = await _put(cp, "connector:notification", {"secret": SLACK_SECRET})
    assert default.status_code == 200, default.text
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)
    assert [(c["scope"], c["key_names"]) for c in listed.json()] == [
        ("connector:notification", ["secret"]),
        (CRM_SCOPE, ["secret", "url"]),
    ]

    booted = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert booted.status_code == 200, booted.text
    payload = BootPayload.model_validate(booted.json())
    assert payload.connectors["notification.crm"] == {**CRM, "url": CRM_URL, "secret": CRM_SECRET}
    assert payload.connectors["notification"] == {**SLACK, "secret": SLACK_SECRET}
    assert sorted(payload.secret_paths) == [
        "connectors.notification.crm.secret",
        "connectors.notification.crm.url",
        "connectors.notification.secret",
    ]
    config = tenant_config_from_boot(payload)
    connectors = build_connectors(config, clock=FixedClock())
    check_flow_connectors(config, load_tenant_flow(config), connectors)
    crm, slack = connectors["notification.crm"], connectors["notification"]
    assert isinstance(crm, WebhookConnector) and isinstance(slack, WebhookConnector)
    assert crm.settings.url == CRM_URL and crm.settings.secret is not None
    assert crm.settings.secret.get_secret_value() == CRM_SECRET
    assert slack.settings.url == SLACK["url"]

    # The named binding takes its url from its credentials: they are kept unless forced.
    crm_scope = f"/v1/tenants/acme/credentials/{CRM_SCOPE}"
    kept = await cp.client.delete(crm_scope, headers=cp.admin)
    assert kept.status_code == 409, kept.text
    assert "requires url from credentials 'connector:notification.crm'" in kept.text
    assert "?force=true" in kept.text
    # Deleting the named scope leaves the default binding's secrets in the payload.
    force = {"force": "true"}
    deleted = await cp.client.delete(crm_scope, params=force, headers=cp.admin)
    assert deleted.status_code == 204, deleted.text
    again = await cp.client.delete(crm_scope, params=force, headers=cp.admin)
    assert again.status_code == 404
    after = (await cp.client.get("/v1/boot/acme", headers=cp.auth(token))).json()
    assert after["connectors"]["notification.crm"] == CRM
    assert after["secret_paths"] == ["connectors.notification.secret"]


async def test_a_named_binding_is_checked_by_its_category(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    fine = await _patch(
        cp,
        {
            "notification.front_desk": SLACK,
            "notification.crm": {**CRM, "resilience": {"timeout_s": 5, "max_attempts": 5}},
            "calendar.chair_2": {"type": "mock"},  # the in-memory calendar, as under calendar
            "calendar.chair_3": {"type": "caldav", "url": "https://dav.example.org/c3"},
        },
    )
    assert fine.status_code == 200, fine.text
    assert sorted(fine.json()["connectors"]) == [
        "calendar.chair_2", "calendar.chair_3", "notification.crm", "notification.front_desk",
    ]  # fmt: skip

    refused = [
        ({"notification.crm": {"type": "caldav", "url": "https://dav.example.org/c"}},
         "connectors.notification.crm.type: type 'caldav' is a calendar connector: bind it "
         "under connectors.calendar (another one beside it as connectors.calendar.crm)"),
        ({"notification.crm": {**CRM, "colour": "red"}},
         "connectors.notification.crm.colour: unknown field"),
        ({"notification.crm": {**CRM, "secret": CRM_SECRET}},
         "connectors.notification.crm.secret: secrets are not allowed in bindings"),
        ({"notification.crm": {**CRM, "url": f"{CRM_URL}?sig=abc"}},
         "connectors.notification.crm.url: give the URL without a query"),
        ({"calendar.chair_2": {"type": "mock", "slot_minutes": 30}},
         "connectors.calendar.chair_2.slot_minutes: unknown setting for type 'mock' (did you "
         "mean 'slot_duration_min'?)"),
        ({"llm.backup": {"type": "anthropic"}},
         "connectors.llm.backup: 'llm.backup': llm has no named bindings"),
        ({"notification.CRM": CRM},
         "connectors.notification.CRM: 'notification.CRM': the name after 'notification.' "
         "must be lower_snake_case"),
        ({"notification.crm.eu": CRM},
         "connectors.notification.crm.eu: 'notification.crm.eu' has more than one '.'"),
        ({".crm": CRM}, "connectors..crm: '.crm' names no category"),
        ({"Notification.crm": CRM},
         "connectors.Notification.crm: 'Notification.crm': the category before '.' must be "
         "lower_snake_case"),
        ({f"{'c' * 40}.{'n' * 55}": {"type": "mock"}},  # each part fine, too long together
         f"connectors.{'c' * 40}.{'n' * 55}: a binding's name is at most 90 characters"),
    ]  # fmt: skip
    for connectors, detail in refused:
        answer = await _patch(cp, connectors)
        _refused(answer, detail)
        assert CRM_SECRET not in answer.text
    # The query's message names the scope the URL belongs in.
    query = await _patch(cp, {"notification.crm": {**CRM, "url": f"{CRM_URL}?sig=abc"}})
    assert f"store it as 'url' in {CRM_SCOPE} instead" in query.json()["detail"]
    kept = await cp.client.get("/v1/tenants/acme", headers=cp.admin)
    assert sorted(kept.json()["connectors"]) == sorted(fine.json()["connectors"])


async def test_malformed_connector_scopes_are_refused_naming_the_scope(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", connectors={"notification.crm": CRM})
    for scope, detail in [
        ("connector:llm.backup", "scope: 'llm.backup': llm has no named bindings"),
        ("connector:notification.CRM", "scope: 'notification.CRM': the name after"),
        ("connector:notification.crm.eu", "scope: 'notification.crm.eu' has more than one '.'"),
        ("connector:Notification", "scope: category must be lower_snake_case"),
        # Lower snake case, but longer than a category may be: said so, not "snake case".
        ("connector:" + "a" * 64, "scope: a category is at most 63 characters"),
        ("connector:.crm", "scope: '.crm' names no category"),
        ("connectors:notification.crm", "scope: must be 'channel', 'llm', 'data_plane' or"),
    ]:
        _refused(await _put(cp, scope, {"url": CRM_URL}), detail)
        deleted = await cp.client.delete(f"/v1/tenants/acme/credentials/{scope}", headers=cp.admin)
        _refused(deleted, detail)
    # Well formed, but not bound: bind it first.
    unbound = await _put(cp, "connector:notification.front_desk", {"url": CRM_URL})
    assert unbound.status_code == 409, unbound.text
    assert "bind connectors.notification.front_desk first" in unbound.json()["detail"]
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)
    assert listed.json() == []


async def test_a_changed_named_binding_is_checked_against_its_own_credentials(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme", connectors={"notification": SLACK, "notification.crm": CRM})
    stored = await _put(cp, CRM_SCOPE, {"url": CRM_URL, "secret": CRM_SECRET})
    assert stored.status_code == 200, stored.text

    # Another default binding leaves the named binding's credentials alone.
    other_default = await _patch(
        cp, {"notification": {**SLACK, "format": "json"}, "notification.crm": CRM}
    )
    assert other_default.status_code == 200, other_default.text
    # The named binding moving to a type without secrets: its stored names do not fit.
    scripted = {"notification": SLACK, "notification.crm": {"type": "mock"}}
    stale = await _patch(cp, scripted)
    assert stale.status_code == 409, stale.text
    detail = stale.json()["detail"]
    assert f"credentials {CRM_SCOPE!r} hold secret, url, which connectors.notification.crm " in (
        detail
    )
    assert f"DELETE /v1/tenants/acme/credentials/{CRM_SCOPE}" in detail
    # Its url moving into the binding: moved, not replaced, and the secret stays.
    moved = await _patch(cp, {"notification": SLACK, "notification.crm": {**CRM, "url": CRM_URL}})
    assert moved.status_code == 409, moved.text
    assert (
        "which the new binding of connectors.notification.crm (type 'webhook') sets itself"
        in (moved.json()["detail"])
    )
    dropped = await _patch(
        cp,
        {"notification": SLACK, "notification.crm": {**CRM, "url": CRM_URL}},
        drop_stale_credentials="true",
    )
    assert dropped.status_code == 200, dropped.text
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)
    assert [(c["scope"], c["key_names"]) for c in listed.json()] == [(CRM_SCOPE, ["secret"])]


async def test_a_tenant_key_points_a_named_binding_at_public_hosts_only(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", connectors={"notification.crm": CRM})
    key = cp.auth(await cp.tenant_key("acme"))
    in_binding = await cp.client.patch(
        "/v1/tenants/acme",
        json={"connectors": {"notification.crm": {**CRM, "url": "http://10.0.0.5/hook"}}},
        headers=key,
    )
    _refused(in_binding, "connectors.notification.crm.url: the URL's host is a private-network")
    as_credential = await _put(cp, CRM_SCOPE, {"url": "http://127.0.0.1:9000/hook"}, key)
    _refused(as_credential, "body.url: the URL's host is a loopback address")
    public = await _put(cp, CRM_SCOPE, {"url": CRM_URL}, key)
    assert public.status_code == 200, public.text
    assert "crm.example.org" in cp.dns.asked

    # Stored by the admin, it is listed among the stored URLs the policy refuses.
    internal = await _put(cp, CRM_SCOPE, {"url": "http://127.0.0.1:9000/hook"})
    assert internal.status_code == 200, internal.text
    report = await cp.client.get("/v1/admin/tenant-urls", headers=cp.admin)
    assert report.status_code == 200, report.text
    assert [(r["place"], r["problem"]) for r in report.json()["refused"]] == [
        (f"credentials.{CRM_SCOPE}.url", "the URL's host is a loopback address")
    ]


@pytest.mark.parametrize("publish_later", [False, True])
async def test_publishing_a_call_to_an_unbound_name_suggests_the_binding_meant(
    cp: ControlPlane, publish_later: bool
) -> None:
    await cp.create_tenant("acme", connectors={"notification": SLACK, "notification.crm": CRM})
    text = _flow("notification.cmr")
    if publish_later:
        uploaded = await cp.client.post(
            "/v1/tenants/acme/flows",
            content=text,
            headers={**cp.admin, "Content-Type": "application/yaml"},
        )
        assert uploaded.status_code == 201, uploaded.text
        answer = await cp.client.post(
            f"/v1/tenants/acme/flows/{uploaded.json()['version']}/publish", headers=cp.admin
        )
    else:
        answer = await _publish(cp, text)
    assert answer.status_code == 409, answer.text
    detail = answer.json()["detail"]
    assert (
        "states.MENU.on_enter[1] calls 'notification.cmr' (did you mean 'notification.crm'?); "
        "it binds notification, notification.crm)"
    ) in detail, detail

    # Spelt right, it is published; the binding it calls cannot be dropped then.
    assert (await _publish(cp, _flow("notification.crm"))).status_code == 201
    dropping = await _patch(cp, {"notification": SLACK})
    assert dropping.status_code == 409, dropping.text
    assert "calls 'notification.crm'" in dropping.json()["detail"]


async def _pulled_tenant(cp: ControlPlane, tmp_path: Path) -> DataPlaneSettings:
    token = await cp.create_tenant(
        "acme", connectors={"notification": SLACK, "notification.crm": CRM}
    )
    assert (await _publish(cp, _flow("notification.crm"))).status_code == 201
    assert (await _put(cp, CRM_SCOPE, {"url": CRM_URL, "secret": CRM_SECRET})).status_code == 200
    return DataPlaneSettings.model_validate(
        {
            "control_plane_url": "http://cp.test",
            "tenant_id": "acme",
            "boot_token": token,
            "data_dir": tmp_path / "dp",
            "state_db_path": None,
            "tenant_config_path": None,
            "cache_key": Fernet.generate_key().decode(),
            "config_poll_s": 0,
            "log_json": False,
        }
    )


async def test_a_data_plane_pulls_a_named_binding_with_its_credentials(
    cp: ControlPlane, tmp_path: Path
) -> None:
    settings = await _pulled_tenant(cp, tmp_path)
    booted = await pull_boot_config(settings, transport=httpx.ASGITransport(app=cp.app))
    assert booted.origin == "control_plane"
    crm = booted.config.connectors["notification.crm"].settings()
    assert crm["url"] == CRM_URL and crm["secret"] == CRM_SECRET
    assert "secret" not in booted.config.connectors["notification"].settings()


async def test_the_boot_cache_seals_a_named_bindings_secrets(
    cp: ControlPlane, tmp_path: Path
) -> None:
    settings = await _pulled_tenant(cp, tmp_path)
    booted = await pull_boot_config(settings, transport=httpx.ASGITransport(app=cp.app))
    assert booted.cache_saved
    path = booted.target.cache.path
    assert path.name == CACHE_FILE
    cached = path.read_text(encoding="utf-8")
    assert "sealed_secrets" in cached
    assert CRM_SECRET not in cached
    assert "crm.example.org" not in cached
