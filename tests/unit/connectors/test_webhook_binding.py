"""The `webhook` binding: built by the catalog, checked at boot (errors name the key, never a
value), known to the flow check, and accepted by the control plane with its secrets stored as
credentials."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from botfleet.adapters.connectors.notification.webhook import WebhookConnector
from botfleet.adapters.registry import (
    build_connectors,
    check_flow_connectors,
    connector_json_schemas,
)
from botfleet.control_plane.binding_schemas import (
    binding_json_schemas,
    check_credential_names,
    credential_target,
    validate_connectors,
)
from botfleet.control_plane.errors import InvalidInput
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.testing.engine import flow_from_yaml

SOURCE = "tenants/salon.yaml"
URL = "https://hooks.example.com/botfleet/salon"
SECRET = "whsec-S3cr3t-never-shown"


class FixedClock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, 7, tzinfo=UTC)


def tenant(**connectors: Any) -> TenantConfig:
    raw = {"tenant_id": "salon", "timezone": "Europe/Madrid", "flow_path": "x.yaml"}
    return tenant_config_from_mapping({**raw, "connectors": connectors}, source=SOURCE)


def boot_error(**connectors: Any) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        build_connectors(tenant(**connectors), clock=FixedClock())
    return raised.value


def hook(**settings: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": URL, **settings}


# ---------------------------------------------------------------- the catalog


def test_the_notification_category_builds_a_webhook_without_touching_the_network() -> None:
    built = build_connectors(
        tenant(notification=hook(secret=SECRET, format="slack", resilience={"max_attempts": 2})),
        clock=FixedClock(),
    )

    connector = built["notification"]
    assert isinstance(connector, WebhookConnector)
    assert connector.category == "notification"
    assert connector.operations() == frozenset({"send"})
    assert connector.settings.format == "slack"
    assert connector.settings.secret is not None
    assert connector.settings.secret.get_secret_value() == SECRET


def test_a_webhook_bound_under_another_category_is_a_boot_error() -> None:
    error = boot_error(crm=hook())

    assert error.key == "connectors.crm.type"
    assert error.detail == (
        "type 'webhook' is a notification connector: bind it under connectors.notification "
        "(another one beside it as connectors.notification.crm)"
    )


@pytest.mark.parametrize(
    ("binding", "key", "detail"),
    [
        ({"type": "webhook"}, "connectors.notification.url",
         "missing required setting for type 'webhook'"),
        (hook(retries=3), "connectors.notification.retries",
         "unknown setting for type 'webhook'"),
        (hook(format="teams"), "connectors.notification.format", "'json' or 'slack'"),
        (hook(url="ftp://files.example.com/hook"), "connectors.notification.url",
         "not an http(s) URL"),
        (hook(url=f"https://bob:{SECRET}@hooks.example.com/x"), "connectors.notification.url",
         "must not carry credentials"),
        (hook(url="https:///no-host"), "connectors.notification.url", "has no host"),
        (hook(request_timeout_s=0), "connectors.notification.request_timeout_s",
         "greater than 0"),
        (hook(headers={"Authorization": f"Bearer {SECRET}"}), "connectors.notification.headers",
         "looks like it carries a secret"),
        (hook(headers={"X-Api-Key": SECRET}), "connectors.notification.headers",
         "token_header: X-Api-Key"),
        (hook(headers={"Idempotency-Key": SECRET}), "connectors.notification.headers",
         "a header the connector sets itself"),
        (hook(headers={"X-Botfleet-Signature": SECRET}), "connectors.notification.headers",
         "a header the connector sets itself"),
        (hook(headers={"X-Shop": f"a\r\nX-Evil: {SECRET}"}), "connectors.notification.headers",
         "printable ASCII on one line"),
        (hook(headers={"Bad Name": "x"}), "connectors.notification.headers",
         "not a valid HTTP header name"),
        (hook(token=f"{SECRET}\r\nX-Evil: 1"), "connectors.notification.token",
         "printable ASCII on one line"),
        (hook(token_header="Content-Type"), "connectors.notification.token_header",
         "a header the connector sets itself"),
        (hook(secret=""), "connectors.notification.secret", "is empty"),
        (hook(token=SECRET, token_header="X-Shop", headers={"x-shop": "a"}),
         "connectors.notification", "also token_header"),
        (hook(secret=12345678987654321), "connectors.notification.secret",
         "valid string"),
    ],
)  # fmt: skip
def test_binding_problems_name_the_key_and_never_the_value(
    binding: dict[str, Any], key: str, detail: str
) -> None:
    error = boot_error(notification=binding)

    assert error.key == key
    assert detail in error.detail
    for value in (SECRET, "12345678987654321", "hooks.example.com", "files.example.com"):
        assert value not in str(error)


def test_the_flow_check_knows_send_and_refuses_other_operations() -> None:
    config = tenant(notification=hook())
    connectors = build_connectors(config, clock=FixedClock())

    check_flow_connectors(config, flow_calling("send"), connectors)
    with pytest.raises(ConfigError) as raised:
        check_flow_connectors(config, flow_calling("sned"), connectors)
    assert raised.value.key == "connectors.notification"
    assert "calls notification.sned, an operation 'notification' does not have (known: send)" in (
        raised.value.detail
    )
    # A binding that failed to build is checked against the category's operations.
    with pytest.raises(ConfigError, match=r"notification.sned.*\(known: send\)"):
        check_flow_connectors(
            config, flow_calling("sned"), {}, unchecked=frozenset({"notification"})
        )


def flow_calling(operation: str) -> Any:
    text = f"""
id: notify_v1
initial_state: A
states:
  A:
    on_enter:
      - action: invoke_connector
        connector: notification
        operation: {operation}
        params: {{event: handoff_requested, contact_id: "{{{{ contact.id }}}}"}}
    fallback: A
"""
    # Schema only: loading the flow would refuse `sned` first (`flows.validate`); this is the
    # boot's own check, for a flow that got past that one.
    return flow_from_yaml(text, validate=False)


def test_the_json_schema_lists_webhook_under_notification() -> None:
    schemas = connector_json_schemas()

    webhook = schemas["notification"]["webhook"]
    assert webhook["required"] == ["url"]
    assert set(webhook["properties"]) >= {"url", "secret", "token", "headers", "format",
                                          "resilience"}  # fmt: skip
    assert webhook["properties"]["format"]["default"] == "json"
    assert "webhook" not in schemas["any"]


# ---------------------------------------------------------------- the control plane


def test_the_control_plane_accepts_the_binding_without_its_secrets() -> None:
    binding = hook(headers={"X-Shop": "downtown"}, format="slack", resilience={"timeout_s": 5})

    assert validate_connectors({"notification": binding}) == {"notification": binding}


@pytest.mark.parametrize("secret_key", ["secret", "token"])
def test_the_control_plane_refuses_a_secret_in_the_binding(secret_key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_connectors({"notification": hook(**{secret_key: SECRET})})

    assert refused.value.field == f"connectors.notification.{secret_key}"
    assert "store them as credentials" in refused.value.detail
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    ("binding", "field", "detail"),
    [
        (hook(headers={"Authorization": "Bearer x"}), "connectors.notification.headers",
         "looks like it carries a secret"),
        (hook(url="https://hooks.example.com/x?sig=abc"), "connectors.notification.url",
         "without a query"),
        (hook(url="https://u:p@hooks.example.com/x"), "connectors.notification.url",
         "must not carry credentials"),
        ({"type": "webhook", "url": URL, "secret": "x"}, "connectors.notification.secret",
         "store them as credentials"),
    ],
)  # fmt: skip
def test_the_control_plane_applies_the_data_planes_rules(
    binding: dict[str, Any], field: str, detail: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_connectors({"notification": binding})
    assert refused.value.field == field
    assert detail in refused.value.detail


def test_the_secrets_are_the_credentials_of_connector_notification() -> None:
    connectors = {"notification": hook()}
    target = credential_target("connector:notification", None, connectors)

    assert target is not None
    assert dict(target.fields) == {"secret": "secret", "token": "token"}
    assert target.required == frozenset()  # both optional: an unsigned hook is fine
    check_credential_names(target, ["secret", "token"])
    with pytest.raises(InvalidInput) as refused:
        check_credential_names(target, ["url"])
    # The binding holds the url: the credentials may hold it only instead of the binding.
    assert "set in the binding already: keep it in one place" in refused.value.detail
    public = binding_json_schemas()["connector"]["webhook"]["properties"]
    assert "secret" not in public and "token" not in public and "url" in public
