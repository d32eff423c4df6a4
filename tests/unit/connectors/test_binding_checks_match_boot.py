"""What `botfleet validate` says about a binding is what the data plane refuses at boot, with
the same message: a bad `resilience` policy (it passed `validate` and only stopped the boot),
the credential scope of a named CalDAV binding, and the types an unknown `type` lists (only
the category's own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from botfleet.adapters.connectors.catalog import (
    build_connector,
    build_connectors,
    connector_policies,
    types_of,
)
from botfleet.cli.validation import Finding, validate_file
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.ports.clock import SystemClock

FLOW = """\
id: f
initial_state: A
states:
  A:
    on_enter:
      - {action: send_text, text: hi}
    fallback: A
"""
CALENDAR = {"type": "mock_calendar", "schedule": {"mon": ["10:00-14:00"]}}
HOOK = {"type": "webhook", "url": "https://crm.example.com/hooks/botfleet"}
CALDAV = {"type": "caldav", "url": "https://cloud.example.com/remote.php/dav/"}


def tenant_file(tmp_path: Path, connectors: dict[str, Any]) -> Path:
    (tmp_path / "flow.yaml").write_text(FLOW, encoding="utf-8")
    tenant = {"tenant_id": "salon", "flow_path": "flow.yaml", "connectors": connectors}
    path = tmp_path / "salon.yaml"
    path.write_text(yaml.safe_dump(tenant, sort_keys=False), encoding="utf-8")
    return path


def validated(path: Path) -> list[Finding]:
    report = validate_file(path)
    assert report.kind == "tenant"
    return [f for f in report.findings if f.severity == "error"]


def at_boot(path: Path) -> ConfigError:
    """The error the data plane's boot raises (connectors, then their policies)."""
    config = tenant(path)
    with pytest.raises(ConfigError) as refused:
        build_connectors(config, clock=SystemClock())
        connector_policies(config, timeout_s=10)
    return refused.value


def tenant(path: Path) -> TenantConfig:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tenant_config_from_mapping(raw, source=str(path), base_dir=path.parent)


# ---------------------------------------------------------------- resilience


@pytest.mark.parametrize(
    ("policy", "key", "message"),
    [
        (
            {"max_attempts": 0},
            "connectors.calendar.resilience.max_attempts",
            "input should be greater than or equal to 1",
        ),
        ({"timeout": 3}, "connectors.calendar.resilience.timeout", "unknown setting of the policy"),
        ("fast", "connectors.calendar.resilience", "must be a mapping of policy settings"),
    ],
)
def test_validate_refuses_the_policy_the_boot_refuses(
    tmp_path: Path, policy: Any, key: str, message: str
) -> None:
    path = tenant_file(tmp_path, {"calendar": {**CALENDAR, "resilience": policy}})

    (finding,) = validated(path)
    assert (finding.path, finding.message) == (key, message)
    assert finding.line is not None  # located in the file, as every other binding problem
    assert str(at_boot(path)) == f"{path}: {key}: {message}"


def test_a_named_bindings_policy_is_checked_too(tmp_path: Path) -> None:
    path = tenant_file(
        tmp_path,
        {"notification.crm": {**HOOK, "resilience": {"timeout_s": 5, "failure_threshold": 0}}},
    )

    (finding,) = validated(path)
    assert finding.path == "connectors.notification.crm.resilience.failure_threshold"
    assert str(at_boot(path)) == f"{path}: {finding.path}: {finding.message}"


def test_a_bad_setting_and_a_bad_policy_are_both_reported(tmp_path: Path) -> None:
    path = tenant_file(
        tmp_path, {"calendar": {**CALENDAR, "slot_minutes": 20, "resilience": {"timeout": 3}}}
    )

    assert [f.path for f in validated(path)] == [
        "connectors.calendar.slot_minutes",
        "connectors.calendar.resilience.timeout",
    ]


def test_a_good_policy_passes(tmp_path: Path) -> None:
    path = tenant_file(
        tmp_path, {"calendar": {**CALENDAR, "resilience": {"timeout_s": 8, "max_attempts": 3}}}
    )
    assert validated(path) == []
    config = tenant(path)
    build_connector(config, "calendar", config.connectors["calendar"], clock=SystemClock())
    assert connector_policies(config, timeout_s=10)["calendar"].timeout_s == 8


# ---------------------------------------------------------------- CalDAV credentials


@pytest.mark.parametrize(
    ("name", "scope"),
    [("calendar", "connector:calendar"), ("calendar.caldav", "connector:calendar.caldav")],
)
def test_a_username_without_password_names_the_bindings_own_scope(
    tmp_path: Path, name: str, scope: str
) -> None:
    path = tenant_file(tmp_path, {name: {**CALDAV, "username": "salon"}})

    # A warning for validate (the password may be stored as a credential before the tenant is
    # served), the boot's refusal when it is served without one: the same words first.
    assert validated(path) == []
    (finding,) = [f for f in validate_file(path).findings if f.severity == "warning"]
    expected = (
        "username is set but no password: store the calendar's password in the tenant's "
        f"credentials (scope {scope}, name 'password')"
    )
    assert finding.path == f"connectors.{name}"
    assert finding.message.startswith(expected)
    assert str(at_boot(path)) == f"{path}: connectors.{name}: {expected}"


# ---------------------------------------------------------------- unknown types


def test_an_unknown_calendar_type_lists_the_calendar_types_only(tmp_path: Path) -> None:
    path = tenant_file(tmp_path, {"calendar": {"type": "outlook"}})

    known = "caldav, calendar_pool, google_calendar, mock, mock_calendar"
    message = f"unknown type 'outlook' (known: {known})"
    (finding,) = validated(path)
    assert (finding.path, finding.message) == ("connectors.calendar.type", message)
    assert str(at_boot(path)) == f"{path}: connectors.calendar.type: {message}"


@pytest.mark.parametrize(
    ("name", "known"),
    [
        ("notification", "mock, webhook"),
        ("notification.crm", "mock, webhook"),
        ("calendar.chair_2", "caldav, calendar_pool, google_calendar, mock, mock_calendar"),
        ("crm", "mock"),
    ],
)
def test_each_category_lists_its_own_types(tmp_path: Path, name: str, known: str) -> None:
    path = tenant_file(tmp_path, {name: {"type": "outlook"}})

    (finding,) = validated(path)
    assert finding.message == f"unknown type 'outlook' (known: {known})"
    assert ", ".join(types_of(name.partition(".")[0])) == known
