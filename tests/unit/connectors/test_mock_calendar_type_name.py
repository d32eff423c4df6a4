"""The seed's `calendar: {type: mock}` is the in-memory calendar, and its errors name the type the
tenant wrote, `mock`, not `mock_calendar` (the catalog's name for the same calendar): at boot,
under `botfleet validate` and in the sandbox of `chat` and `test`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from botfleet.adapters.connectors.calendar.memory import InMemoryCalendar
from botfleet.adapters.connectors.catalog import build_connectors
from botfleet.cli.main import app
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.testing.clock import FrozenClock
from botfleet.testing.sandbox import sandbox_config, tenant_flow

FLOW = {"id": "f", "initial_state": "A", "states": {"A": {"fallback": "A"}}}
KNOWN = (
    "known settings: timezone, slot_duration_min, lookahead_days_client, lookahead_days_manual, "
    "min_notice_min, schedule, closed_dates, capacity, default_service_duration_min, language, "
    "busy, events, resilience"
)


def _config(calendar: dict[str, Any]) -> Any:
    return tenant_config_from_mapping(
        {"tenant_id": "t", "flow": FLOW, "connectors": {"calendar": calendar}},
        source="tenant.yaml",
    )


@pytest.mark.parametrize("kind", ["mock", "mock_calendar"])
def test_an_unknown_setting_names_the_type_as_written(kind: str) -> None:
    config = _config({"type": kind, "slot_minutes": 30})

    with pytest.raises(ConfigError) as at_boot:
        build_connectors(config, clock=FrozenClock())
    with pytest.raises(ConfigError) as in_the_sandbox:
        sandbox_config(config, tenant_flow(config).spec)

    for error in (at_boot.value, in_the_sandbox.value):
        assert error.key == "connectors.calendar.slot_minutes"
        assert error.detail == (
            f"unknown setting for type {kind!r} (did you mean 'slot_duration_min'?); {KNOWN}"
        )


def test_the_seeds_mock_still_builds_the_in_memory_calendar_open_on_weekdays() -> None:
    calendar = build_connectors(_config({"type": "mock"}), clock=FrozenClock())["calendar"]
    assert isinstance(calendar, InMemoryCalendar)
    assert calendar.settings.schedule["mon"] == ["10:00-14:00", "17:00-20:00"]
    assert calendar.settings.type == "mock"


def test_validate_names_mock(tmp_path: Path) -> None:
    (tmp_path / "flow.yaml").write_text(
        "id: f\ninitial_state: A\nstates:\n  A:\n    fallback: A\n", encoding="utf-8"
    )
    tenant = tmp_path / "tenant.yaml"
    tenant.write_text(
        "tenant_id: t\nflow_path: flow.yaml\nconnectors:\n  calendar:\n"
        "    type: mock\n    slot_minutes: 30\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["validate", str(tenant)])
    assert result.exit_code == 1
    assert (
        f"{tenant}:6 connectors.calendar.slot_minutes: unknown setting for type 'mock' "
        "(did you mean 'slot_duration_min'?)"
    ) in result.stderr
    assert "mock_calendar" not in result.stderr


def test_an_unknown_key_of_a_seeded_event_names_the_event_keys() -> None:
    """It said `unknown setting for type 'mock_calendar'`: an event's key is no setting."""
    event = {"start": "2027-01-04T09:00", "end": "2027-01-04T10:00", "contact_id": "x"}
    config = _config(
        {"type": "mock_calendar", "busy": [{"day": "2027-01-05", "titel": "x"}, event]}
    )
    with pytest.raises(ConfigError) as raised:
        build_connectors(config, clock=FrozenClock())
    assert [(key, detail) for key, detail in raised.value.problems] == [
        (
            "connectors.calendar.busy[0].titel",
            "unknown key (did you mean 'title'?); it takes title, start, end, day, end_day",
        ),
        (
            "connectors.calendar.busy[1].contact_id",
            "unknown key; it takes title, start, end, day, end_day",
        ),
    ]


def test_a_day_written_as_people_write_one_says_how_to_write_it() -> None:
    """pydantic said `invalid character in year` for `06/01/2027`."""
    config = _config(
        {
            "type": "mock_calendar",
            "closed_dates": ["06/01/2027", "2027-01-07", "25/12/2027", "2027/1/6"],
            "busy": [{"day": "7.1.2027"}],
        }
    )
    with pytest.raises(ConfigError) as raised:
        build_connectors(config, clock=FrozenClock())
    assert [(key, detail) for key, detail in raised.value.problems] == [
        (
            "connectors.calendar.closed_dates[0]",
            "write the day as YYYY-MM-DD (2027-01-06 or 2027-06-01), not '06/01/2027'",
        ),
        (
            "connectors.calendar.closed_dates[2]",
            "write the day as YYYY-MM-DD (2027-12-25), not '25/12/2027'",
        ),
        (
            "connectors.calendar.closed_dates[3]",
            "write the day as YYYY-MM-DD (2027-01-06), not '2027/1/6'",
        ),
        (
            "connectors.calendar.busy[0].day",
            "write the day as YYYY-MM-DD (2027-01-07 or 2027-07-01), not '7.1.2027'",
        ),
    ]
