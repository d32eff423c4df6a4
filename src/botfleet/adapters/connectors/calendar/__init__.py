"""Calendar category: settings, pure slot rules, item formatting and the in-memory back end."""

from __future__ import annotations

from botfleet.adapters.connectors.calendar.config import (
    CalDavSettings,
    CalendarSettings,
    GoogleCalendarSettings,
    MockCalendarSettings,
    calendar_settings_json_schema,
    parse_calendar_settings,
)
from botfleet.adapters.connectors.calendar.memory import InMemoryCalendar, build
from botfleet.adapters.connectors.calendar.slots import (
    available_days,
    day_windows,
    in_period,
    slots_for_day,
)

__all__ = [
    "CalDavSettings",
    "CalendarSettings",
    "GoogleCalendarSettings",
    "InMemoryCalendar",
    "MockCalendarSettings",
    "available_days",
    "build",
    "calendar_settings_json_schema",
    "day_windows",
    "in_period",
    "parse_calendar_settings",
    "slots_for_day",
]
