"""Where the calendar's language comes from: the binding's `language`, else the tenant's (when
the calendar writes it), else English; a language it cannot write is a boot error."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from botfleet.adapters.connectors.calendar import MockCalendarSettings
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.adapters.connectors.catalog import build_connectors
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.testing.clock import FrozenClock

FLOW = {"id": "f", "initial_state": "A", "states": {"A": {"fallback": "A"}}}
SCHEDULE = {"mon": ["10:00-14:00"]}


def connectors(language: str, **bindings: dict[str, Any]) -> dict[str, Any]:
    config = tenant_config_from_mapping(
        {"tenant_id": "t", "flow": FLOW, "language": language, "connectors": bindings},
        source="tenant.yaml",
    )
    return build_connectors(config, clock=FrozenClock())


def calendar_language(language: str, binding: dict[str, Any], name: str = "calendar") -> str:
    calendar = connectors(language, **{name: binding})[name]
    assert isinstance(calendar, CalendarService)
    return calendar.texts.language


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [("es", "es"), ("pt-BR", "pt"), ("ca_ES", "ca"), ("DE", "de"), ("en", "en"), ("nl", "en")],
)
def test_a_calendar_writes_in_the_tenants_language_when_it_knows_it(
    tenant: str, expected: str
) -> None:
    binding = {"type": "mock_calendar", "schedule": SCHEDULE}
    assert calendar_language(tenant, binding) == expected


@pytest.mark.parametrize("kind", ["mock_calendar", "mock"])
def test_the_bindings_language_wins_over_the_tenants(kind: str) -> None:
    assert calendar_language("es", {"type": kind, "language": "fr"}) == "fr"
    assert calendar_language("es", {"type": kind, "language": "en"}) == "en"


def test_a_named_calendar_binding_follows_the_tenant_too() -> None:
    binding = {"type": "mock_calendar", "schedule": SCHEDULE}
    assert calendar_language("it", binding, name="calendar.chair_2") == "it"


def test_other_categories_get_no_language_setting() -> None:
    built = connectors("es", notification={"type": "mock"})
    assert "notification" in built  # a scripted mock refuses settings it does not know


def test_a_language_the_calendar_cannot_write_is_a_boot_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        connectors("es", calendar={"type": "mock_calendar", "language": "nl"})
    assert caught.value.key == "connectors.calendar.language"
    assert "the calendar has no texts in 'nl'; languages: ca, de, en, es, fr, it, pt" in str(
        caught.value
    )


def test_language_tags_are_read_as_their_language() -> None:
    settings = MockCalendarSettings.model_validate({"timezone": "UTC", "language": " es-ES "})
    assert settings.language == "es"
    assert MockCalendarSettings.model_validate({"timezone": "UTC"}).language == "en"
    with pytest.raises(ValidationError, match="no texts in 'klingon'"):
        MockCalendarSettings.model_validate({"timezone": "UTC", "language": "klingon"})


def test_the_schema_names_the_languages_and_claims_no_default() -> None:
    field = MockCalendarSettings.model_json_schema()["properties"]["language"]
    assert "default" not in field  # the tenant's, not "en"
    assert "ca, de, en, es, fr, it, pt" in field["description"]
