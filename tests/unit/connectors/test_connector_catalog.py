"""Connector registry: types per category, boot-time errors naming file and key, JSON Schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.connectors.calendar import InMemoryCalendar
from botfleet.adapters.connectors.catalog import CATEGORY_OPERATIONS
from botfleet.adapters.connectors.scripted import ScriptedConnector
from botfleet.adapters.registry import (
    build_connectors,
    check_flow_connectors,
    connector_json_schemas,
    connector_policies,
)
from botfleet.domain.errors import ConfigError, UnknownAdapterError
from botfleet.domain.tenant_config import (
    TenantConfig,
    load_tenant_config,
    tenant_config_from_mapping,
)
from botfleet.testing.engine import flow_from_yaml

SOURCE = "tenants/salon.yaml"


class FixedClock:
    def now(self) -> datetime:
        return datetime(2024, 1, 5, 12, tzinfo=UTC)


def tenant(**connectors: Any) -> TenantConfig:
    raw = {"tenant_id": "salon", "timezone": "Europe/Madrid", "flow_path": "x.yaml"}
    return tenant_config_from_mapping({**raw, "connectors": connectors}, source=SOURCE)


def boot_error(**connectors: Any) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        build_connectors(tenant(**connectors), clock=FixedClock())
    return raised.value


# ---------------------------------------------------------------- building


def test_each_category_gets_the_type_its_binding_names() -> None:
    built = build_connectors(
        tenant(
            calendar={"type": "mock_calendar", "schedule": {"mon": ["10:00-14:00"]}},
            crm={"type": "mock", "operations": {"ping": {"result": "pong"}}},
            llm={"type": "mock_llm"},  # built elsewhere, never a connector
        ),
        clock=FixedClock(),
    )
    assert set(built) == {"calendar", "crm"}
    assert isinstance(built["calendar"], InMemoryCalendar)
    assert built["calendar"].settings.timezone == "Europe/Madrid"  # the tenant's
    assert isinstance(built["crm"], ScriptedConnector)
    assert built["crm"].category == "crm"


def test_the_seeds_mock_calendar_is_open_on_weekdays() -> None:
    built = build_connectors(tenant(calendar={"type": "mock"}), clock=FixedClock())
    calendar = built["calendar"]
    assert isinstance(calendar, InMemoryCalendar)
    assert calendar.settings.schedule["mon"] == ["10:00-14:00", "17:00-20:00"]


def test_the_real_back_ends_are_built_without_touching_the_network() -> None:
    built = build_connectors(
        tenant(
            calendar={
                "type": "caldav",
                "url": "https://dav.example.com/",
                "username": "salon",
                "password": "app-password",
            }
        ),
        clock=FixedClock(),
    )
    assert built["calendar"].operations() == CATEGORY_OPERATIONS["calendar"]
    google = build_connectors(
        tenant(calendar={"type": "google_calendar", "api_base_url": "http://127.0.0.1:9/"}),
        clock=FixedClock(),
    )
    assert google["calendar"].operations() == CATEGORY_OPERATIONS["calendar"]


def test_every_calendar_type_offers_every_calendar_operation() -> None:
    for kind, extra in [
        ("mock_calendar", {}),
        ("mock", {}),
        ("caldav", {"url": "http://127.0.0.1:9/"}),
        ("google_calendar", {"api_base_url": "http://127.0.0.1:9/"}),
    ]:
        built = build_connectors(tenant(calendar={"type": kind, **extra}), clock=FixedClock())
        assert built["calendar"].operations() == CATEGORY_OPERATIONS["calendar"], kind


# ---------------------------------------------------------------- boot-time errors


def test_an_unknown_type_names_file_key_and_known_types() -> None:
    error = boot_error(calendar={"type": "outlook"})
    assert isinstance(error, UnknownAdapterError)
    assert str(error).startswith(f"{SOURCE}: connectors.calendar.type: unknown type 'outlook'")
    assert "caldav" in str(error)
    assert "google_calendar" in str(error)


def test_a_type_of_another_category_is_refused() -> None:
    error = boot_error(agenda={"type": "caldav", "url": "http://x/"})
    assert error.key == "connectors.agenda.type"
    assert "bind it under connectors.calendar" in str(error)


def test_a_missing_required_setting_names_the_key() -> None:
    error = boot_error(calendar={"type": "caldav", "username": "salon"})
    assert error.source == SOURCE
    assert error.key == "connectors.calendar.url"
    assert str(error) == (
        f"{SOURCE}: connectors.calendar.url: missing required setting for type 'caldav'"
    )


def test_an_unknown_setting_names_the_key() -> None:
    error = boot_error(calendar={"type": "mock_calendar", "slot_minutes": 30})
    assert error.key == "connectors.calendar.slot_minutes"
    assert "unknown setting" in str(error)


def test_google_without_credentials_is_a_boot_error_without_secrets() -> None:
    error = boot_error(calendar={"type": "google_calendar"})
    assert error.key == "connectors.calendar"
    assert "missing credentials" in str(error)
    bad_key = boot_error(
        calendar={"type": "google_calendar", "service_account_info": {"private_key": "S3CRET"}}
    )
    assert "S3CRET" not in str(bad_key)


def test_a_url_that_is_not_http_is_refused_without_its_password() -> None:
    error = str(boot_error(calendar={"type": "caldav", "url": "htps://salon:pw-123@dav.example/"}))
    assert "connectors.calendar.url" in error
    assert "not an http(s) URL" in error
    assert "'htps://'" in error
    assert "pw-123" not in error
    assert "pw-123" not in str(boot_error(calendar={"type": "caldav", "url": "salon:pw-123@dav/"}))


@pytest.mark.parametrize("info", [["KEY-123"], 12345])
def test_a_service_account_key_of_the_wrong_shape_gets_one_plain_error(info: Any) -> None:
    error = str(boot_error(calendar={"type": "google_calendar", "service_account_info": info}))
    assert "connectors.calendar.service_account_info" in error
    assert "key file's JSON object" in error
    assert "KEY-123" not in error and "12345" not in error
    assert "lax-or-strict" not in error and ";" not in error


def test_the_error_names_the_tenant_file_it_came_from(tmp_path: Path) -> None:
    path = tmp_path / "tenant.yaml"
    path.write_text(
        "tenant_id: t\nflow_path: f.yaml\nconnectors:\n  calendar:\n    type: caldav\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=rf"^{path}: connectors\.calendar\.url: missing"):
        build_connectors(load_tenant_config(path), clock=FixedClock())


# ---------------------------------------------------------------- resilience policies


def test_policies_come_from_the_binding_and_never_reach_the_adapter() -> None:
    config = tenant(
        calendar={"type": "mock_calendar", "resilience": {"max_attempts": 2, "timeout_s": 3}},
        crm={"type": "mock", "operations": {"ping": {}}},
    )
    built = build_connectors(config, clock=FixedClock())  # `resilience` is not a setting
    policies = connector_policies(config, timeout_s=7.0)
    assert set(built) == {"calendar", "crm"}
    assert policies["calendar"].max_attempts == 2
    assert policies["calendar"].timeout_s == 3
    assert policies["crm"].timeout_s == 7.0  # the process default


def test_a_bad_policy_is_a_boot_error_naming_the_key() -> None:
    config = tenant(calendar={"type": "mock_calendar", "resilience": {"max_attempts": 0}})
    with pytest.raises(ConfigError) as raised:
        connector_policies(config, timeout_s=10)
    assert raised.value.key == "connectors.calendar.resilience.max_attempts"
    config = tenant(calendar={"type": "mock_calendar", "resilience": {"retries": 3}})
    with pytest.raises(ConfigError, match=r"resilience\.retries: unknown setting of the policy"):
        connector_policies(config, timeout_s=10)


# ---------------------------------------------------------------- the flow's operations


FLOW = """
id: f
initial_state: A
states:
  A:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: {operation}
        result_key: r
    fallback: A
"""


def check(operation: str, **connectors: Any) -> None:
    config = tenant(**connectors)
    # Schema only: loading the flow would refuse an operation of its category it lacks first
    # (`flows.validate`); this is the boot's own check, for a flow that got past that one.
    flow = flow_from_yaml(FLOW.format(operation=operation), validate=False)
    check_flow_connectors(config, flow, build_connectors(config, clock=FixedClock()))


def test_a_flow_calling_known_operations_boots() -> None:
    check("get_slots_for_day", calendar={"type": "mock_calendar"})


def test_an_operation_the_category_lacks_is_a_boot_error() -> None:
    with pytest.raises(ConfigError) as raised:
        check("book_apointment", calendar={"type": "mock_calendar"})
    message = str(raised.value)
    assert message.startswith(f"{SOURCE}: connectors.calendar:")
    assert "states.A.on_enter[0]" in message
    assert "calendar.book_apointment" in message
    assert "book_appointment" in message  # the known ones are listed


def test_a_flow_calling_an_unconfigured_category_is_a_boot_error() -> None:
    with pytest.raises(ConfigError, match=r"calls connector 'calendar'.*does not configure"):
        check("get_slots_for_day")


# ---------------------------------------------------------------- JSON Schemas


def test_json_schemas_cover_every_type_by_category() -> None:
    schemas = connector_json_schemas()
    assert set(schemas["calendar"]) == {
        "mock_calendar",
        "mock",
        "google_calendar",
        "caldav",
        "calendar_pool",
    }
    assert set(schemas["any"]) == {"mock"}
    caldav = schemas["calendar"]["caldav"]
    assert "url" in caldav["required"]
    assert "timezone" not in caldav["required"]  # defaults to the tenant's
    assert "max_attempts" in caldav["properties"]["resilience"]["properties"]
    google = schemas["calendar"]["google_calendar"]["properties"]
    assert google["api_base_url"]["default"] == "https://www.googleapis.com/calendar/v3/"
    json.dumps(schemas)  # plain JSON
