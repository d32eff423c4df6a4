"""`botfleet chat` and `botfleet test` refuse a binding's `resilience` policy the data plane
would refuse at boot, with the line `botfleet validate` gives, also for the bindings the
sandbox replaces with mocks (a remote calendar, a webhook, a binding a test's fixture stands
in for)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import Invoke

from botfleet.domain.errors import ConfigError
from botfleet.testing.runtime import make_tenant_config
from botfleet.testing.sandbox import TEST_RESILIENCE, sandbox_config, tenant_flow

Write = Callable[[str, str], Path]

#: Calls both the calendar and the notification hook, so each binding is one the flow needs.
FLOW: dict[str, Any] = {
    "id": "policy_v1",
    "initial_state": "HOME",
    "states": {
        "HOME": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "get_available_days",
                    "result_key": "days",
                },
                {
                    "action": "invoke_connector",
                    "connector": "notification",
                    "operation": "send",
                    "params": {"event": "visited"},
                },
                {"action": "send_text", "text": "hello"},
            ],
            "fallback": "HOME",
        }
    },
}
GOOD_CALENDAR = {"type": "mock_calendar", "schedule": {"tue": ["09:00-18:00"]}}
GOOD_HOOK = {"type": "webhook", "url": "https://hooks.example.com/in"}
BAD_POLICY = {"max_attempts": 0}
#: The message the policy model gives for it (`botfleet validate` words it so).
BAD_POLICY_MESSAGE = "input should be greater than or equal to 1"


def _connectors(name: str, binding: dict[str, Any]) -> dict[str, Any]:
    connectors: dict[str, Any] = {"calendar": GOOD_CALENDAR, "notification": GOOD_HOOK}
    connectors[name] = binding
    return connectors


@pytest.mark.parametrize(
    ("name", "binding"),
    [
        pytest.param("calendar", {"type": "google_calendar", "calendar_id": "x"}, id="google"),
        pytest.param("calendar", {"type": "caldav", "url": "https://dav.example/"}, id="caldav"),
        pytest.param("calendar", {"type": "mock_calendar"}, id="mock_calendar"),
        pytest.param("notification", {"type": "webhook"}, id="webhook"),
        pytest.param("notification", {"type": "mock", "operations": {}}, id="scripted-mock"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_binding(name: str, binding: dict[str, Any]) -> None:
    config = make_tenant_config(
        FLOW, connectors=_connectors(name, {**binding, "resilience": BAD_POLICY})
    )
    with pytest.raises(ConfigError) as caught:
        sandbox_config(config, tenant_flow(config).spec, unmocked="fail")
    assert caught.value.problems == (
        (f"connectors.{name}.resilience.max_attempts", BAD_POLICY_MESSAGE),
    )


def test_a_binding_a_fixture_replaces_keeps_its_policy_checked() -> None:
    config = make_tenant_config(
        FLOW, connectors=_connectors("notification", {**GOOD_HOOK, "resilience": BAD_POLICY})
    )
    fixture = {"notification": {"operations": {"send": {"result": {"delivered": True}}}}}
    with pytest.raises(ConfigError) as caught:
        sandbox_config(config, tenant_flow(config).spec, fixture)
    assert caught.value.key == "connectors.notification.resilience.max_attempts"


def test_a_remote_calendars_settings_and_policy_are_said_together_as_at_boot() -> None:
    calendar = {"type": "caldav", "slot_minutes": 30, "resilience": {"timeout_s": 0}}
    config = make_tenant_config(FLOW, connectors=_connectors("calendar", calendar))
    with pytest.raises(ConfigError) as caught:
        sandbox_config(config, tenant_flow(config).spec)
    keys = [key for key, _ in caught.value.problems]
    assert keys == ["connectors.calendar.slot_minutes", "connectors.calendar.resilience.timeout_s"]


def test_a_good_policy_is_accepted_and_the_mocks_still_run_without_retries() -> None:
    policy = {"timeout_s": 5, "max_attempts": 4}
    calendar = {"type": "google_calendar", "calendar_id": "x", "resilience": policy}
    hook = {**GOOD_HOOK, "resilience": policy}
    config = make_tenant_config(FLOW, connectors={"calendar": calendar, "notification": hook})
    mocked = sandbox_config(config, tenant_flow(config).spec)
    for name in ("calendar", "notification"):
        assert mocked.connectors[name].settings()["resilience"] == TEST_RESILIENCE


# ---------------------------------------------------------------- the same line as validate


@pytest.fixture
def tenant(write: Write) -> Path:
    write("policy.yaml", yaml.safe_dump(FLOW))
    calendar = {"type": "google_calendar", "calendar_id": "primary", "resilience": BAD_POLICY}
    tenant = {
        "tenant_id": "clinic",
        "timezone": "Europe/Madrid",
        "flow_path": "policy.yaml",
        "connectors": {"calendar": calendar, "notification": GOOD_HOOK},
    }
    return write("tenant.yaml", yaml.safe_dump(tenant, sort_keys=False))


def _validate_line(invoke: Invoke, tenant: Path) -> str:
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if ".resilience." in line]
    return line


def test_chat_refuses_it_with_validates_line(invoke: Invoke, tenant: Path) -> None:
    line = _validate_line(invoke, tenant)
    assert line.endswith(f"connectors.calendar.resilience.max_attempts: {BAD_POLICY_MESSAGE}")
    result = invoke("chat", tenant, input="hi\n")
    assert result.exit_code == 1
    assert result.stderr == f"{line}\n"
    assert "bot>" not in result.stdout


def test_a_conversation_test_is_an_error_with_validates_line(
    invoke: Invoke, tenant: Path, write: Write
) -> None:
    line = _validate_line(invoke, tenant)
    test = write("test_policy.yaml", "tenant: tenant.yaml\nsteps: [{say: hi}]\n")
    result = invoke("test", test)
    assert result.exit_code == 1
    assert f"ERROR test_policy  ({test}, 0 steps)\n      {line}\n" in result.stdout
