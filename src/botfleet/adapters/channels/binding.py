"""A channel binding's settings, validated by the channel's own model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from botfleet.domain.config_problems import config_problems
from botfleet.domain.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

#: A provider's API root as a channel's settings take it (a local fake's in tests and demos).
PROVIDER_BASE_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


def provider_base_url(value: str) -> str:
    """`value` as a provider's base URL, without its trailing "/"; refused in words (the
    pattern would say nothing to the operator who typed it)."""
    if not PROVIDER_BASE_URL.fullmatch(value):
        raise ValueError(
            "an http:// or https:// URL: a host and an optional path, no query, no spaces"
        )
    return value.rstrip("/")


def channel_settings(model: type[M], raw: Mapping[str, Any], *, source: str, channel: str) -> M:
    """`raw` (the `channel:` binding, `type` aside) as `model`. Errors name the file and the
    key, and never echo a value: bindings hold secrets."""
    values = {k: v for k, v in raw.items() if k != "type"}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = config_problems(exc, prefix="channel", model=model)
        raise ConfigError.of(
            source, [(k, f"{channel} channel: {m}") for k, m in problems]
        ) from None
