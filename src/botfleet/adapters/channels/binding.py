"""A channel binding's settings, validated by the channel's own model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from botfleet.domain.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def channel_settings(model: type[M], raw: Mapping[str, Any], *, source: str, channel: str) -> M:
    """`raw` (the `channel:` binding, `type` aside) as `model`. Errors name the file and the
    key, and never echo a value: bindings hold secrets."""
    values = {k: v for k, v in raw.items() if k != "type"}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = "channel." + ".".join(str(p) for p in first["loc"])
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '-'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(source, key, f"{channel} channel: {detail}") from None
