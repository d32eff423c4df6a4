"""Several connectors of one category: `connectors.notification.crm` beside
`connectors.notification`, each built, checked and given a policy of its own, the flow calling
each by its name (docs/connectors.md, "Several connectors of one category")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.adapters.connectors.notification.webhook import WebhookConnector
from botfleet.adapters.connectors.scripted import ScriptedConnector
from botfleet.adapters.registry import (
    build_connectors,
    check_flow_connectors,
    connector_policies,
)
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.flows.schema import FlowSpec
from botfleet.testing.engine import flow_from_yaml

SOURCE = "tenants/salon.yaml"
SLACK = {"type": "webhook", "url": "https://hooks.slack.com/services/T0/B0/X", "format": "slack"}
CRM = {"type": "webhook", "url": "https://crm.example.com/hooks/botfleet"}


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


def flow_calling(*names: str, operation: str = "send") -> FlowSpec:
    actions = "".join(
        f"      - {{action: invoke_connector, connector: {name}, operation: {operation}}}\n"
        for name in names
    )
    text = f"id: f\ninitial_state: A\nstates:\n  A:\n    on_enter:\n{actions}    fallback: A\n"
    # Schema only: loading the flow would refuse an operation of its category it lacks first
    # (`flows.validate`); these are the boot's own checks, for a flow that got past that one.
    return flow_from_yaml(text, validate=False)


def boot_check(flow: FlowSpec, **connectors: Any) -> None:
    config = tenant(**connectors)
    check_flow_connectors(config, flow, build_connectors(config, clock=FixedClock()))


# ---------------------------------------------------------------- building


def test_two_webhooks_beside_each_other_are_two_connectors() -> None:
    built = build_connectors(
        tenant(notification=SLACK, **{"notification.crm": CRM}), clock=FixedClock()
    )

    slack, crm = built["notification"], built["notification.crm"]
    assert isinstance(slack, WebhookConnector) and isinstance(crm, WebhookConnector)
    assert slack is not crm
    assert (slack.settings.format, crm.settings.format) == ("slack", "json")
    # Its calls are named by the binding (`connector_failed`: `notification.crm.send: ...`).
    assert crm.category == "notification.crm"


def test_named_bindings_need_no_default_binding() -> None:
    built = build_connectors(
        tenant(**{"notification.front_desk": SLACK, "notification.crm": CRM}), clock=FixedClock()
    )

    assert set(built) == {"notification.front_desk", "notification.crm"}
    boot_check(
        flow_calling("notification.front_desk", "notification.crm"),
        **{"notification.front_desk": SLACK, "notification.crm": CRM},
    )


def test_a_named_binding_takes_its_categorys_types() -> None:
    built = build_connectors(
        tenant(
            calendar={"type": "mock_calendar"},
            **{
                "calendar.chair_2": {"type": "mock"},  # the seed's in-memory calendar, named
                "crm.eu": {"type": "mock", "operations": {"ping": {}}},
            },
        ),
        clock=FixedClock(),
    )

    assert isinstance(built["calendar.chair_2"], CalendarService)
    assert isinstance(built["crm.eu"], ScriptedConnector)
    assert built["crm.eu"].operations() == frozenset({"ping"})


def test_a_type_of_another_category_says_how_a_second_one_is_named() -> None:
    error = boot_error(notification=SLACK, crm=CRM)

    assert error.key == "connectors.crm.type"
    assert error.detail == (
        "type 'webhook' is a notification connector: bind it under connectors.notification "
        "(another one beside it as connectors.notification.crm)"
    )
    named = boot_error(**{"calendar.crm": CRM})
    assert named.key == "connectors.calendar.crm.type"
    assert "another one beside it as connectors.notification.crm" in named.detail


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("notification.CRM", "must be lower_snake_case"),
        ("notification.crm.eu", "has more than one '.'"),
        (".crm", "names no category"),
    ],
)
def test_a_malformed_name_is_a_boot_error_naming_the_key(name: str, problem: str) -> None:
    error = boot_error(**{name: CRM})

    assert error.key == f"connectors.{name}"
    assert problem in error.detail


def test_the_llm_has_no_named_bindings() -> None:
    error = boot_error(**{"llm.backup": {"type": "mock"}})

    assert error.key == "connectors.llm.backup"
    assert "'llm' is not a connector" in error.detail


def test_settings_errors_name_the_named_binding() -> None:
    error = boot_error(**{"notification.crm": {**CRM, "format": "teams"}})

    assert error.key == "connectors.notification.crm.format"


def test_each_binding_has_its_own_policy() -> None:
    config = tenant(
        notification={**SLACK, "resilience": {"max_attempts": 2}},
        **{"notification.crm": {**CRM, "resilience": {"max_attempts": 5, "timeout_s": 4}}},
    )

    policies = connector_policies(config, timeout_s=7.0)

    assert policies["notification"].max_attempts == 2
    assert policies["notification"].timeout_s == 7.0
    assert policies["notification.crm"].max_attempts == 5
    assert policies["notification.crm"].timeout_s == 4


# ---------------------------------------------------------------- the flow's calls


def test_a_flow_calling_both_hooks_boots() -> None:
    boot_check(
        flow_calling("notification", "notification.crm"),
        notification=SLACK,
        **{"notification.crm": CRM},
    )


def test_an_unbound_name_is_a_boot_error_with_the_binding_meant() -> None:
    with pytest.raises(ConfigError) as raised:
        boot_check(
            flow_calling("notification.cmr"), notification=SLACK, **{"notification.crm": CRM}
        )

    assert raised.value.key == "connectors.notification.cmr"
    assert raised.value.detail == (
        "the flow (states.A.on_enter[0]) calls connector 'notification.cmr', which the tenant "
        "does not configure (did you mean 'notification.crm'?)"
    )


def test_a_named_bindings_operations_are_checked() -> None:
    with pytest.raises(ConfigError) as raised:
        boot_check(flow_calling("notification.crm", operation="post"), **{"notification.crm": CRM})

    assert "calls notification.crm.post, an operation 'notification.crm' does not have" in str(
        raised.value
    )


def test_a_broken_named_binding_is_checked_against_its_categorys_operations() -> None:
    config = tenant(**{"notification.crm": {**CRM, "format": "teams"}})
    flow = flow_calling("notification.crm", operation="post")

    with pytest.raises(ConfigError, match=r"calls notification\.crm\.post.*known: send"):
        check_flow_connectors(config, flow, {}, unchecked=frozenset({"notification.crm"}))
