"""Registry of channel and connector binding schemas (non-secret settings only).

A binding is ``{type: <kind>, ...settings}``. Secrets (tokens, passwords, API keys) are refused
here: they belong in the tenant's credentials (``PUT /v1/tenants/{id}/credentials/{scope}``) and
are merged into the boot payload only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from botfleet.control_plane.errors import InvalidInput

# Field names that always hold secrets, whatever the binding type.
SECRET_FIELD_NAMES = frozenset(
    {"access_token", "app_secret", "verify_token", "bot_token", "webhook_secret", "api_key",
     "password", "secret", "token", "client_secret", "private_key", "service_account_info",
     "service_account_json", "refresh_token"}
)  # fmt: skip

_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def check_timezone(name: str) -> str:
    """Raise ValueError unless `name` is an IANA time zone such as ``Europe/Madrid``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Madrid')"
        ) from None
    return name


class _Binding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- channels


class WebChatChannel(_Binding):
    """``http_dev`` (the seed's name) and ``webchat``: the built-in web chat."""

    type: Literal["http_dev", "webchat"]
    allowed_origins: list[str] = Field(default_factory=list)
    title: str | None = None


class WhatsAppChannel(_Binding):
    """WhatsApp Cloud API. Secrets: ``access_token``, ``app_secret``, ``verify_token``."""

    type: Literal["whatsapp"]
    phone_number_id: str = Field(min_length=1)
    business_account_id: str | None = None
    api_version: str = "v19.0"
    graph_base_url: str | None = None


class TelegramChannel(_Binding):
    """Telegram Bot API. Secrets: ``bot_token``, ``webhook_secret``."""

    type: Literal["telegram"]
    bot_username: str | None = None
    api_base_url: str | None = None


# ---------------------------------------------------------------- connectors


class _CalendarSettings(_Binding):
    timezone: str | None = None
    slot_duration_min: int = Field(default=30, gt=0)
    lookahead_days_client: int = Field(default=14, gt=0)
    lookahead_days_manual: int = Field(default=60, gt=0)
    min_notice_min: int = Field(default=0, ge=0)
    schedule: dict[Weekday, list[str]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            check_timezone(value)
        return value

    @field_validator("schedule")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, windows in value.items():
            for window in windows:
                if not _HOURS.match(window):
                    raise ValueError(f"schedule.{day}: {window!r} is not 'HH:MM-HH:MM'")
        return value


class MockConnector(_Binding):
    type: Literal["mock"]
    fixtures: dict[str, Any] = Field(default_factory=dict)


class MockCalendarConnector(_CalendarSettings):
    type: Literal["mock_calendar"]
    events: list[dict[str, Any]] = Field(default_factory=list)


class GoogleCalendarConnector(_CalendarSettings):
    """Google Calendar. Secret: ``service_account_info`` (the service-account JSON)."""

    type: Literal["google_calendar"]
    calendar_id: str = Field(min_length=1)
    credentials_path: str | None = None


class CalDavConnector(_CalendarSettings):
    """CalDAV. Secret: ``password``."""

    type: Literal["caldav"]
    url: str = Field(min_length=1)
    username: str | None = None
    calendar_name: str | None = None


class MockLLMConnector(_Binding):
    type: Literal["mock_llm"]
    replies: list[str] = Field(default_factory=list)
    default_reply: str | None = None


class AnthropicConnector(_Binding):
    """Anthropic. Secret: ``api_key``."""

    type: Literal["anthropic"]
    model: str | None = None
    max_tokens: int = Field(default=512, gt=0)
    base_url: str | None = None


class OpenAICompatibleConnector(_Binding):
    """Any OpenAI-compatible endpoint. Secret: ``api_key``."""

    type: Literal["openai_compatible"]
    model: str | None = None
    max_tokens: int = Field(default=512, gt=0)
    base_url: str | None = None


class LlmSettings(_Binding):
    """A tenant's LLM settings (the provider's secret goes to the ``llm`` credentials)."""

    enabled: bool = False
    provider: Literal["mock_llm", "anthropic", "openai_compatible"] | None = None
    model: str | None = None
    quota_monthly_tokens: int | None = Field(default=None, ge=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    base_url: str | None = None
    fallback_text: str | None = None


CHANNEL_TYPES: Mapping[str, type[_Binding]] = {
    "http_dev": WebChatChannel,
    "webchat": WebChatChannel,
    "whatsapp": WhatsAppChannel,
    "telegram": TelegramChannel,
}

CONNECTOR_TYPES: Mapping[str, type[_Binding]] = {
    "mock": MockConnector,
    "mock_calendar": MockCalendarConnector,
    "google_calendar": GoogleCalendarConnector,
    "caldav": CalDavConnector,
    "mock_llm": MockLLMConnector,
    "anthropic": AnthropicConnector,
    "openai_compatible": OpenAICompatibleConnector,
}

_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _validate(where: str, value: object, table: Mapping[str, type[_Binding]]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(where, "must be an object with a 'type'")
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in table:
        raise InvalidInput(
            f"{where}.type", f"unknown type {kind!r} (known: {', '.join(sorted(table))})"
        )
    for key in value:
        if str(key).lower() in SECRET_FIELD_NAMES:
            raise InvalidInput(
                f"{where}.{key}", "secrets are not allowed in bindings; store them as credentials"
            )
    return _checked(where, table[kind], value)


def _checked(where: str, model: type[_Binding], value: Mapping[str, Any]) -> dict[str, Any]:
    try:
        parsed = model.model_validate(dict(value))
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        detail = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        raise InvalidInput(f"{where}.{path}" if path else where, detail) from None
    # Keep only what the caller set, so defaults can change without rewriting stored bindings.
    return parsed.model_dump(mode="json", exclude_unset=True)


def validate_channel(value: object) -> dict[str, Any]:
    """Check a channel binding; returns it normalised. Raises `InvalidInput` naming the key."""
    return _validate("channel", value, CHANNEL_TYPES)


def validate_connectors(value: object) -> dict[str, dict[str, Any]]:
    """Check ``{category: binding}``; returns it normalised."""
    if not isinstance(value, Mapping):
        raise InvalidInput("connectors", "must be an object mapping a category to a binding")
    checked: dict[str, dict[str, Any]] = {}
    for category, binding in value.items():
        if not isinstance(category, str) or not _CATEGORY.match(category):
            raise InvalidInput(f"connectors.{category}", "category must be lower_snake_case")
        checked[category] = _validate(f"connectors.{category}", binding, CONNECTOR_TYPES)
    return checked


def validate_llm(value: object) -> dict[str, Any]:
    """Check the LLM settings object."""
    if not isinstance(value, Mapping):
        raise InvalidInput("llm", "must be an object")
    for key in value:
        if str(key).lower() in SECRET_FIELD_NAMES:
            raise InvalidInput(
                f"llm.{key}", "secrets are not allowed here; store them as 'llm' credentials"
            )
    return _checked("llm", LlmSettings, value)


def binding_json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of every known binding type, for clients and editors."""
    return {
        "channel": {kind: model.model_json_schema() for kind, model in CHANNEL_TYPES.items()},
        "connector": {kind: model.model_json_schema() for kind, model in CONNECTOR_TYPES.items()},
        "llm": {"settings": LlmSettings.model_json_schema()},
    }
