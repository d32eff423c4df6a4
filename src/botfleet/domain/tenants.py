"""Tenant configuration published by the control plane: the boot payload a data plane pulls.

`BootPayload` is the whole contract between the planes. Bindings are plain JSON objects with a
``type`` key (``{"type": "whatsapp", "phone_number_id": ..., "access_token": ...}``): the
control plane has already validated their non-secret settings and merged the decrypted
credentials into them. `secret_paths` lists which fields came from credentials, so a data plane
knows what to encrypt in its cached copy. The ETag is a hash of the content (`etag()`), so both
planes compute the same value from the same payload.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

BOOT_SCHEMA_VERSION = 1


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantInfo(_Value):
    id: str
    name: str
    timezone: str = "UTC"
    language: str = "en"


class PublishedFlow(_Value):
    """The tenant's published flow version, as uploaded (YAML text)."""

    version: int = Field(ge=1)
    flow_id: str
    yaml: str
    sha256: str


class PublishedKnowledge(_Value):
    """The tenant's published knowledge document (markdown) for the LLM fallback."""

    version: int = Field(ge=1)
    text: str
    sha256: str


def _require_type(where: str, binding: dict[str, Any]) -> None:
    if not isinstance(binding.get("type"), str):
        raise ValueError(f"{where} binding needs a string 'type'")


class BootPayload(_Value):
    """Everything a tenant's data plane needs to run, as served by ``GET /v1/boot/{tenant}``."""

    schema_version: int = BOOT_SCHEMA_VERSION
    tenant: TenantInfo
    flow: PublishedFlow
    # Bindings hold decrypted secrets: keep them out of repr() so they never reach a log.
    channel: dict[str, Any] = Field(repr=False)
    #: The tenant's further channels (`more_channels`), full bindings like `channel`. Left out
    #: of the JSON when empty, so a tenant without them keeps its payload and ETag, and a data
    #: plane that predates them can still read it.
    more_channels: list[dict[str, Any]] = Field(default_factory=list, repr=False)
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict, repr=False)
    knowledge: PublishedKnowledge | None = None
    llm: dict[str, Any] = Field(default_factory=dict, repr=False)
    #: Dotted paths of the fields that came from credentials, e.g. ``channel.access_token``.
    secret_paths: tuple[str, ...] = ()

    @field_validator("channel")
    @classmethod
    def _channel_typed(cls, value: dict[str, Any]) -> dict[str, Any]:
        _require_type("channel", value)
        return value

    @field_validator("more_channels")
    @classmethod
    def _more_channels_typed(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, binding in enumerate(value):
            _require_type(f"more_channels[{index}]", binding)
        return value

    @field_validator("connectors")
    @classmethod
    def _connectors_typed(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for category, binding in value.items():
            _require_type(f"connectors.{category}", binding)
        return value

    def wire_data(self) -> dict[str, Any]:
        """The payload as JSON data, as served and cached: `more_channels` left out when empty,
        so a tenant on one channel has the payload (and ETag) of releases before it, and a
        data plane of such a release reads it, a cached copy included (after a rollback)."""
        data = self.model_dump(mode="json")
        if not data["more_channels"]:
            del data["more_channels"]
        return data

    def canonical_json(self) -> str:
        """Stable JSON text of the payload (sorted keys), the input of `etag`."""
        return json.dumps(self.wire_data(), sort_keys=True, separators=(",", ":"))

    def etag(self) -> str:
        """Content hash (hex SHA-256); the HTTP ``ETag`` is this value in double quotes."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()
