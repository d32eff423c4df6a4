"""Calendar settings: defaults, schedule validation, per-type keys, JSON Schema."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from botfleet.adapters.connectors.calendar.config import (
    CalDavSettings,
    CalendarSettings,
    GoogleCalendarSettings,
    MockCalendarSettings,
    calendar_settings_json_schema,
    parse_calendar_settings,
)
from botfleet.domain.calendar import TimeWindow


def parse(**raw: Any) -> Any:
    return parse_calendar_settings({"type": "mock_calendar", **raw}, timezone="Europe/Madrid")


def error_text(**raw: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        parse(**raw)
    return str(caught.value)


def test_defaults_follow_the_spec_and_the_tenant_timezone() -> None:
    settings = parse()
    assert isinstance(settings, MockCalendarSettings)
    assert settings.timezone == "Europe/Madrid"
    assert settings.slot_duration_min == 30
    assert settings.lookahead_days_client == 14
    assert settings.lookahead_days_manual == 60
    assert settings.min_notice_min == 0
    assert settings.schedule == {}
    assert settings.closed_dates == []
    assert settings.fallback_duration_min == 30


def test_connector_timezone_overrides_the_tenants() -> None:
    assert parse(timezone="America/Bogota").tz.key == "America/Bogota"


def test_seed_example_parses_and_windows_are_sorted() -> None:
    settings = parse(
        schedule={"mon": ["17:00-21:00", "10:00-14:00"], "sat": ["10:00-14:00"]},
        closed_dates=["2024-12-25"],
        default_service_duration_min=45,
    )
    assert settings.weekly_windows[0] == (TimeWindow(600, 840), TimeWindow(1020, 1260))
    assert settings.weekly_windows[1] == ()
    assert settings.weekly_windows[5] == (TimeWindow(600, 840),)
    assert settings.closed_dates == [date(2024, 12, 25)]
    assert settings.fallback_duration_min == 45


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"mon": ["10:00-09:00"]}, "schedule.mon[0]: '10:00-09:00': start must be before end"),
        ({"tue": ["10:00-14:00", "9-12"]}, "expected opening hours as 'HH:MM-HH:MM'"),
        ({"wed": ["25:00-26:00"]}, "'25:00' is not a valid time of day"),
        ({"thu": ["10:00-12:00", "11:00-13:00"]}, "windows 10:00-12:00 and 11:00-13:00 overlap"),
        ({"monday": ["10:00-12:00"]}, "monday"),
    ],
)
def test_bad_schedules_are_rejected_with_the_day_and_entry(
    schedule: dict[str, list[str]], expected: str
) -> None:
    assert expected in error_text(schedule=schedule)


def test_window_may_close_at_midnight() -> None:
    assert parse(schedule={"fri": ["20:00-24:00"]}).weekly_windows[4] == (TimeWindow(1200, 1440),)


def test_unknown_timezone_is_named() -> None:
    assert "unknown time zone 'Europe/Madird'" in error_text(timezone="Europe/Madird")


def test_unknown_keys_are_rejected() -> None:
    assert "slot_duration" in error_text(slot_duration=30)


def test_durations_must_be_positive() -> None:
    assert "slot_duration_min" in error_text(slot_duration_min=0)
    assert "min_notice_min" in error_text(min_notice_min=-5)


def test_each_type_has_its_own_keys() -> None:
    google = parse_calendar_settings(
        {"type": "google_calendar", "calendar_id": "shop@group", "credentials_path": "/sa.json"},
        timezone="Europe/Madrid",
    )
    assert isinstance(google, GoogleCalendarSettings)
    caldav = parse_calendar_settings(
        {"type": "caldav", "url": "http://127.0.0.1:5232/", "username": "u", "password": "hunter2"},
        timezone="Europe/Madrid",
    )
    assert isinstance(caldav, CalDavSettings)
    assert "hunter2" not in repr(caldav)  # the password is a SecretStr
    assert "url" in error_text(type="google_calendar", url="http://x")  # not a google key
    with_secret = parse_calendar_settings(
        {"type": "google_calendar", "service_account_info": {"private_key": "KEY-123"}},
        timezone="UTC",
    )
    assert "KEY-123" not in repr(with_secret)


def test_unknown_type_is_rejected() -> None:
    assert "outlook" in error_text(type="outlook")


def test_seed_events_take_one_form() -> None:
    settings = parse(busy=[{"day": "2024-01-08", "title": "[CFG] CERRADO"}])
    assert settings.busy[0].day == date(2024, 1, 8)
    assert "not both" in error_text(busy=[{"day": "2024-01-08", "start": "2024-01-08T10:00"}])
    assert "needs both start and end" in error_text(busy=[{"start": "2024-01-08T10:00"}])
    # `events` is accepted too (the control plane's name for the same list).
    assert parse(events=[{"day": "2024-01-08"}]).busy[0].day == date(2024, 1, 8)


def test_json_schema_lists_every_type_and_the_schedule() -> None:
    schema = calendar_settings_json_schema()
    text = str(schema)
    for kind in ("mock_calendar", "google_calendar", "caldav"):
        assert kind in text
    mock = MockCalendarSettings.model_json_schema()
    assert mock["additionalProperties"] is False
    assert "schedule" in mock["properties"]
    assert set(mock["required"]) == {"timezone"}


def test_base_settings_can_be_built_directly() -> None:
    settings = CalendarSettings(type="any", timezone="UTC", schedule={"sun": ["09:00-10:00"]})
    assert settings.weekly_windows[6] == (TimeWindow(540, 600),)


def test_a_caldav_username_without_its_password_is_a_setting_missing() -> None:
    # The HTTP client failed each request with a TypeError, read as "calendar unavailable".
    problem = error_text(type="caldav", url="https://dav.example/", username="shop")
    assert "no password" in problem
    assert "credentials" in problem
    anonymous = parse_calendar_settings(
        {"type": "caldav", "url": "https://dav.example/"}, timezone="UTC"
    )
    assert isinstance(anonymous, CalDavSettings)
    assert anonymous.username is None


def test_the_control_plane_takes_a_caldav_login_whose_password_comes_as_a_credential() -> None:
    from botfleet.control_plane.binding_schemas import validate_connectors

    binding = {"type": "caldav", "url": "https://dav.example/", "username": "shop"}
    assert validate_connectors({"calendar": binding})["calendar"]["username"] == "shop"
