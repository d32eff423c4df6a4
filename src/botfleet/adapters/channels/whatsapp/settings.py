"""WhatsApp Cloud API channel settings, read from the tenant's `channel:` binding."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    SecretStr,
    field_validator,
)

from botfleet.adapters.channels.binding import (
    PROVIDER_BASE_URL,
    channel_settings,
    provider_base_url,
)

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v19.0"
# Checked whole (`fullmatch`) by validators that say in words what is expected: pydantic's
# `pattern` would answer "string should match pattern '^[0-9]+$'". The JSON schema keeps them.
_DIGITS = re.compile(r"[0-9]+")
_VERSION = re.compile(r"v[0-9]+\.[0-9]+")


class WhatsAppSettings(BaseModel):
    """The seed's `channel: {type: whatsapp, ...}` keys, plus the Graph API version and base URL.

    Secrets are `SecretStr`: they print as `**********` in reprs, errors and logs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    phone_number_id: str = Field(
        min_length=1, max_length=64, json_schema_extra={"pattern": f"^{_DIGITS.pattern}$"}
    )
    access_token: SecretStr
    app_secret: SecretStr
    verify_token: SecretStr
    api_version: str = Field(
        default=DEFAULT_API_VERSION, json_schema_extra={"pattern": f"^{_VERSION.pattern}$"}
    )
    #: Where the Graph API lives; a local fake server in tests and demos.
    graph_base_url: str = Field(
        default=DEFAULT_GRAPH_URL,
        validation_alias=AliasChoices("graph_base_url", "base_url"),
        json_schema_extra={"pattern": f"^{PROVIDER_BASE_URL.pattern}$"},
    )
    #: For the operator's records (Meta's WhatsApp Business Account id); sending needs only
    #: `phone_number_id`, so the adapter never reads it.
    business_account_id: str | None = None
    #: Send read receipts (blue ticks) once a message has been processed.
    mark_as_read: bool = True
    #: Show "typing…" to a contact whose message's turn is still running after this many
    #: milliseconds (a slow calendar, the LLM); null: never. Only with `mark_as_read`: Graph
    #: shows it by marking the message read.
    typing_after_ms: int | None = Field(default=1000, ge=0, le=60_000)
    timeout_s: PositiveFloat = 10.0
    #: Attempts per API call when Meta answers 429/5xx or the connection fails.
    max_attempts: int = Field(default=4, ge=1, le=10)
    #: First backoff delay; doubles per attempt (with jitter), capped at 30 s.
    retry_base_s: float = Field(default=0.5, ge=0, le=30)
    #: Body of an interactive message whose text is empty (WhatsApp requires one).
    empty_body_text: str = Field(default="👇", min_length=1, max_length=1024)

    @field_validator("phone_number_id", "business_account_id", mode="before")
    @classmethod
    def _digits_as_text(cls, value: Any) -> Any:
        # YAML reads an unquoted 1234567890 as an int; ids are text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("phone_number_id")
    @classmethod
    def _digits_only(cls, value: str) -> str:
        if not _DIGITS.fullmatch(value):
            raise ValueError("digits only, as WhatsApp Manager shows it")
        return value

    @field_validator("api_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        if not _VERSION.fullmatch(value):
            raise ValueError("a Graph API version such as v19.0 (v, digits, a dot, digits)")
        return value

    @field_validator("graph_base_url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        url = provider_base_url(value)
        if _VERSION.fullmatch(url.rsplit("/", 1)[-1]):
            # Meta's docs write the root with its version (graph.facebook.com/v19.0); the
            # version is added to every call, so a copied one would call /v19.0/v19.0/...
            raise ValueError("leave the Graph version out of the URL: it goes in api_version")
        return url

    @field_validator("access_token", "app_secret", "verify_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if not secret.strip():
            raise ValueError("must not be empty")
        if secret != secret.strip():
            # An app secret copied with its line break signs nothing Meta sends: every delivery
            # would be refused as wrongly signed (and a token would break every request).
            raise ValueError("starts or ends with a space or line break (copied with it?)")
        return value

    @field_validator("access_token", "app_secret")
    @classmethod
    def _one_word(cls, value: SecretStr) -> SecretStr:
        # Meta's tokens and app secrets hold no spaces: one inside was pasted across lines
        # (or with a note), and every request would be refused (401) or every delivery
        # taken as wrongly signed. A `verify_token` is the operator's own words: left alone.
        if any(c.isspace() for c in value.get_secret_value()):
            raise ValueError("holds a space or line break inside (pasted across lines?)")
        return value

    @property
    def messages_url(self) -> str:
        return f"{self.graph_base_url}/{self.api_version}/{self.phone_number_id}/messages"


def whatsapp_settings(raw: Mapping[str, Any], *, source: str = "<tenant>") -> WhatsAppSettings:
    """Validate a channel binding; errors name the key but never echo a value (secrets)."""
    return channel_settings(WhatsAppSettings, raw, source=source, channel="whatsapp")
