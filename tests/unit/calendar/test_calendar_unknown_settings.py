"""An unknown calendar setting says which settings the type has, and the one most likely meant,
wherever it is reported: the data plane's boot error, `botfleet validate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from botfleet.adapters.connectors.calendar.config import (
    CalDavSettings,
    GoogleCalendarSettings,
    MockCalendarSettings,
    known_settings,
    parse_calendar_settings,
)
from botfleet.adapters.connectors.catalog import build_connectors
from botfleet.cli.main import app
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.testing.clock import FrozenClock

FLOW = {"id": "f", "initial_state": "A", "states": {"A": {"fallback": "A"}}}


def boot_error(calendar: dict[str, Any]) -> ConfigError:
    config = tenant_config_from_mapping(
        {"tenant_id": "t", "flow": FLOW, "connectors": {"calendar": calendar}},
        source="tenant.yaml",
    )
    with pytest.raises(ConfigError) as caught:
        build_connectors(config, clock=FrozenClock())
    return caught.value


def test_the_boot_error_lists_the_known_settings_and_the_one_meant() -> None:
    error = boot_error({"type": "mock_calendar", "slot_minutes": 30})
    assert error.key == "connectors.calendar.slot_minutes"
    assert error.detail == (
        "unknown setting for type 'mock_calendar' (did you mean 'slot_duration_min'?); "
        "known settings: timezone, slot_duration_min, lookahead_days_client, "
        "lookahead_days_manual, min_notice_min, schedule, closed_dates, capacity, "
        "default_service_duration_min, language, busy, events, resilience"
    )


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        (MockCalendarSettings, "mock_calendar"),
        (GoogleCalendarSettings, "google_calendar"),
        (CalDavSettings, "caldav"),
    ],
)
def test_each_type_lists_its_own_settings(model: Any, kind: str) -> None:
    settings = known_settings(model)
    assert set(model.model_fields) - {"type"} <= set(settings)
    assert "resilience" in settings
    with pytest.raises(ValidationError) as caught:
        parse_calendar_settings({"type": kind, "closed_days": []}, timezone="UTC")
    unknown = [e for e in caught.value.errors() if e["loc"][-1] == "closed_days"]
    assert len(unknown) == 1
    message = unknown[0]["msg"]
    assert message.startswith(f"unknown setting for type {kind!r} (did you mean 'closed_dates'?)")
    assert message.endswith("known settings: " + ", ".join(settings))


def test_other_problems_keep_their_messages() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_calendar_settings(
            {"type": "caldav", "url": "ftp://x", "slot_duration_min": 0, "colour": "red"},
            timezone="UTC",
        )
    kinds = {str(e["loc"][-1]): e["type"] for e in caught.value.errors()}
    assert kinds == {
        "url": "value_error",
        "slot_duration_min": "greater_than",
        "colour": "unknown_setting",
    }
    text = str(caught.value)
    assert "not an http(s) URL" in text
    assert "unknown setting for type 'caldav'; known settings:" in text  # nothing close


def test_a_nested_unknown_key_is_left_as_it_was() -> None:
    error = boot_error({"type": "mock_calendar", "busy": [{"day": "2024-05-07", "colour": 1}]})
    assert error.key == "connectors.calendar.busy[0].colour"
    assert "known settings" not in error.detail


def test_validate_prints_the_known_settings(tmp_path: Path) -> None:
    (tmp_path / "flow.yaml").write_text(
        "id: f\ninitial_state: A\nstates:\n  A:\n    fallback: A\n", encoding="utf-8"
    )
    tenant = tmp_path / "tenant.yaml"
    tenant.write_text(
        "tenant_id: t\nflow_path: flow.yaml\nconnectors:\n  calendar:\n"
        "    type: mock_calendar\n    slot_minutes: 30\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["validate", str(tenant)])
    assert result.exit_code == 1
    assert (
        f"{tenant}:6 connectors.calendar.slot_minutes: unknown setting for type 'mock_calendar' "
        "(did you mean 'slot_duration_min'?); known settings: timezone, slot_duration_min,"
    ) in result.stderr
