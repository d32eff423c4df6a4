"""A channel binding's settings, validated by the channel's own model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from botfleet.domain.config_problems import config_problems
from botfleet.domain.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


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
